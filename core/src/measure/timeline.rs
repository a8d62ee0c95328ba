//! The timeline: records folded into per-second windows (by *scheduled*
//! start), plus 10 ms buckets that give RTO its millisecond resolution,
//! plus probe samples. Memory grows with the run's length in seconds, never
//! with its number of requests.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::record::{Outcome, RequestRecord};
use super::SECOND_US;

/// Significant digits of every latency histogram: values are exact to
/// within 1 % (HdrHistogram's guarantee for 2 digits).
pub const HISTOGRAM_SIGFIG: u8 = 2;
/// Width of a fine bucket.
pub const FINE_US: u64 = 10_000;

/// A new auto-resizing latency histogram (µs).
pub fn new_histogram() -> Histogram<u32> {
    Histogram::new(HISTOGRAM_SIGFIG).expect("2 significant digits is a valid histogram")
}

/// Records a value, growing the histogram as needed (`saturating_record`
/// would clamp to the histogram's current size instead of growing it).
pub fn record_value(h: &mut Histogram<u32>, value: u64) {
    let value = value.max(1);
    if h.record(value).is_err() {
        h.saturating_record(value);
    }
}

/// How records are judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimelineConfig {
    /// A request is *good* when it succeeded within this many µs.
    pub good_latency_us: u64,
}

/// One second of scheduled requests.
#[derive(Debug, Clone)]
pub struct Window {
    /// Seconds from the run's start.
    pub second: u64,
    /// Requests scheduled in this second.
    pub attempts: u64,
    /// Of which succeeded.
    pub ok: u64,
    /// Of which succeeded within the good-latency bound.
    pub good: u64,
    /// Failures by kind, indexed like [`Outcome::FAILURES`].
    pub failures: [u64; 6],
    /// Latency of every request (failures included, timeouts at the timeout), µs.
    pub latency: Histogram<u32>,
}

impl Window {
    fn new(second: u64) -> Self {
        Window {
            second,
            attempts: 0,
            ok: 0,
            good: 0,
            failures: [0; 6],
            latency: new_histogram(),
        }
    }

    /// Good requests / attempts (1.0 for an empty window).
    pub fn good_ratio(&self) -> f64 {
        if self.attempts == 0 {
            1.0
        } else {
            self.good as f64 / self.attempts as f64
        }
    }

    /// Failed requests.
    pub fn failed(&self) -> u64 {
        self.attempts - self.ok
    }
}

/// A 10 ms bucket: attempts and good requests by scheduled start, and the
/// earliest and latest completion of a good request completing in it, with
/// the latest scheduled start among those (to tell answers to requests sent
/// before a fault from answers to requests sent after it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FineBucket {
    /// Requests scheduled in this bucket.
    pub attempts: u32,
    /// Of which good.
    pub good: u32,
    /// Earliest completion (µs) of a good request completing here.
    pub first_good_done: Option<u64>,
    /// Latest completion (µs) of a good request completing here.
    pub last_good_done: Option<u64>,
    /// Latest scheduled start (µs) of a good request completing here.
    pub last_good_scheduled: Option<u64>,
}

/// A probe's reading, on the same clock as the requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeSample {
    /// µs from the run's start.
    pub at_us: u64,
    /// What was read (`replication_lag_bytes`, `consumer_lag`, `health:orders-a`…).
    pub probe: String,
    /// The value (for health: 1 healthy, 0.5 degraded, 0 unreachable).
    pub value: f64,
}

/// Every measurement of one run.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// How requests are judged.
    pub config: TimelineConfig,
    /// Per-second windows, index = second.
    pub windows: Vec<Window>,
    /// 10 ms buckets, index = bucket.
    pub fine: Vec<FineBucket>,
    /// The generator's own lateness, µs.
    pub lateness: Histogram<u32>,
    /// Probe samples in arrival order.
    pub probes: Vec<ProbeSample>,
}

impl Timeline {
    /// An empty timeline.
    pub fn new(config: TimelineConfig) -> Self {
        Timeline {
            config,
            windows: Vec::new(),
            fine: Vec::new(),
            lateness: new_histogram(),
            probes: Vec::new(),
        }
    }

    fn window_mut(&mut self, second: u64) -> &mut Window {
        let idx = second as usize;
        while self.windows.len() <= idx {
            let s = self.windows.len() as u64;
            self.windows.push(Window::new(s));
        }
        &mut self.windows[idx]
    }

    fn fine_mut(&mut self, us: u64) -> &mut FineBucket {
        let idx = (us / FINE_US) as usize;
        if self.fine.len() <= idx {
            self.fine.resize(idx + 1, FineBucket::default());
        }
        &mut self.fine[idx]
    }

    /// Whether a record is good under this timeline's bound.
    pub fn is_good(&self, r: &RequestRecord) -> bool {
        r.outcome == Outcome::Ok && r.latency_us <= self.config.good_latency_us
    }

    /// Folds one record in.
    pub fn record(&mut self, r: &RequestRecord) {
        let good = self.is_good(r);
        let w = self.window_mut(r.scheduled_us / SECOND_US);
        w.attempts += 1;
        match r.outcome.failure_index() {
            None => w.ok += 1,
            Some(i) => w.failures[i] += 1,
        }
        if good {
            w.good += 1;
        }
        record_value(&mut w.latency, r.latency_us);
        record_value(&mut self.lateness, r.lateness_us);
        let b = self.fine_mut(r.scheduled_us);
        b.attempts += 1;
        if good {
            b.good += 1;
            let done = r.completed_us();
            let d = self.fine_mut(done);
            d.first_good_done = Some(d.first_good_done.map_or(done, |f| f.min(done)));
            d.last_good_done = Some(d.last_good_done.map_or(done, |l| l.max(done)));
            let sched = r.scheduled_us;
            d.last_good_scheduled = Some(d.last_good_scheduled.map_or(sched, |l| l.max(sched)));
        }
    }

    /// Adds a probe sample.
    pub fn probe(&mut self, sample: ProbeSample) {
        self.probes.push(sample);
    }

    /// Merges another timeline (same config) into this one: the result is
    /// what recording both sets of records into one timeline gives.
    pub fn merge(&mut self, other: &Timeline) {
        for w in &other.windows {
            let mine = self.window_mut(w.second);
            mine.attempts += w.attempts;
            mine.ok += w.ok;
            mine.good += w.good;
            for i in 0..mine.failures.len() {
                mine.failures[i] += w.failures[i];
            }
            let _ = mine.latency.add(&w.latency);
        }
        if self.fine.len() < other.fine.len() {
            self.fine.resize(other.fine.len(), FineBucket::default());
        }
        for (mine, theirs) in self.fine.iter_mut().zip(&other.fine) {
            mine.attempts += theirs.attempts;
            mine.good += theirs.good;
            mine.first_good_done = match (mine.first_good_done, theirs.first_good_done) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            mine.last_good_done = mine.last_good_done.max(theirs.last_good_done);
            mine.last_good_scheduled = mine.last_good_scheduled.max(theirs.last_good_scheduled);
        }
        let _ = self.lateness.add(&other.lateness);
        self.probes.extend(other.probes.iter().cloned());
    }

    /// Requests recorded.
    pub fn attempts(&self) -> u64 {
        self.windows.iter().map(|w| w.attempts).sum()
    }

    /// Length of the run as seen by the timeline, µs (end of its last window).
    pub fn span_us(&self) -> u64 {
        self.windows.len() as u64 * SECOND_US
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::record::Op;

    fn rec(scheduled_us: u64, latency_us: u64, outcome: Outcome) -> RequestRecord {
        RequestRecord {
            scheduled_us,
            latency_us,
            lateness_us: 0,
            op: Op::Plain,
            outcome,
        }
    }

    #[test]
    fn records_land_in_the_window_of_their_scheduled_start() {
        let mut t = Timeline::new(TimelineConfig {
            good_latency_us: 100_000,
        });
        t.record(&rec(999_999, 5_000_000, Outcome::Ok)); // completes in second 5
        t.record(&rec(1_000_000, 1_000, Outcome::Timeout));
        assert_eq!(t.windows[0].attempts, 1);
        assert_eq!(t.windows[0].ok, 1);
        assert_eq!(t.windows[0].good, 0, "too slow to be good");
        assert_eq!(t.windows[1].failures[0], 1);
        assert_eq!(t.windows[1].failed(), 1);
    }
}
