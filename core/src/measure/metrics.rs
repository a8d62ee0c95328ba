//! Metrics over a timeline: per-phase availability, error rates and
//! percentiles; RTO per fault; error-budget burn.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::record::Outcome;
use super::timeline::{new_histogram, Timeline, FINE_US};
use super::SECOND_US;
use crate::faults::spec::FaultKind;

/// A timed step of a long revert (a restore from backup).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// What had just finished (`restored`, `replayed`, `rejoined`…).
    pub name: String,
    /// When, µs from the run's start.
    pub at_us: u64,
}

/// A fault as measurement sees it: when it went in and when it was taken
/// out, on the timeline's clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSpan {
    /// Its number in the scenario (0-based): reports name it `fault {id + 1}`.
    #[serde(default)]
    pub id: usize,
    /// A label for reports (`pod-kill orders-a`).
    pub label: String,
    /// Injection time, µs from the run's start.
    pub injected_us: u64,
    /// Revert time, if it was reverted.
    pub reverted_us: Option<u64>,
    /// Its kind (its scenario name when serialised).
    pub kind: FaultKind,
    /// Why injecting or reverting failed.
    #[serde(default)]
    pub error: Option<String>,
    /// The steps of its revert.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// For a restore: the newest commit the restored database holds, ms
    /// since the epoch.
    #[serde(default)]
    pub recovered_to_unix_ms: Option<u64>,
}

impl FaultSpan {
    /// Fault 1, of `kind`, labelled `label`, in force from `injected_us` to
    /// `reverted_us`, with nothing else known yet.
    pub fn new(kind: FaultKind, label: &str, injected_us: u64, reverted_us: Option<u64>) -> Self {
        FaultSpan {
            id: 0,
            label: label.into(),
            injected_us,
            reverted_us,
            kind,
            error: None,
            steps: Vec::new(),
            recovered_to_unix_ms: None,
        }
    }
}

/// A named interval of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// `steady`, `fault 1: …`, `recovery`, `whole run`.
    pub name: String,
    /// Start, µs.
    pub start_us: u64,
    /// End, µs (exclusive).
    pub end_us: u64,
}

impl Phase {
    /// Whether window `second` belongs to this phase: its midpoint lies in
    /// `[start, end)`, so a partition of the run into phases puts every
    /// window in exactly one of them.
    pub fn contains_window(&self, second: u64) -> bool {
        let mid = second * SECOND_US + SECOND_US / 2;
        mid >= self.start_us && mid < self.end_us
    }
}

/// The phases of a run: steady state (until the first fault), one per fault
/// (from its injection until it is both reverted and recovered from), the
/// recovery after the last fault, and the whole run. `recovered_us[i]` is
/// fault i's recovery time (injection + RTO), `None` if it never recovered.
pub fn phases(faults: &[FaultSpan], recovered_us: &[Option<u64>], end_us: u64) -> Vec<Phase> {
    let mut out = Vec::new();
    let first = faults.iter().map(|f| f.injected_us).min().unwrap_or(end_us);
    out.push(Phase {
        name: "steady".into(),
        start_us: 0,
        end_us: first,
    });
    let mut last_end = first;
    for (i, f) in faults.iter().enumerate() {
        let recovered = recovered_us.get(i).copied().flatten().unwrap_or(end_us);
        let end = recovered
            .max(f.reverted_us.unwrap_or(f.injected_us))
            .min(end_us);
        last_end = last_end.max(end);
        out.push(Phase {
            name: format!("fault {}: {}", f.id + 1, f.label),
            start_us: f.injected_us,
            end_us: end.max(f.injected_us),
        });
    }
    if !faults.is_empty() {
        out.push(Phase {
            name: "recovery".into(),
            start_us: last_end,
            end_us: end_us.max(last_end),
        });
    }
    out.push(Phase {
        name: "whole run".into(),
        start_us: 0,
        end_us,
    });
    out
}

/// Latency percentiles, milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
}

/// What one phase measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseMetrics {
    /// The phase.
    pub phase: Phase,
    /// Requests scheduled in it.
    pub attempts: u64,
    /// Of which succeeded.
    pub ok: u64,
    /// Of which were good (succeeded within the latency bound).
    pub good: u64,
    /// ok / attempts; `None` when the phase holds no request (an empty
    /// phase says so rather than look perfect).
    pub availability: Option<f64>,
    /// 1 − availability (`None` when empty).
    pub error_rate: Option<f64>,
    /// Failures by kind.
    pub errors: BTreeMap<String, u64>,
    /// Latency of every request, failures included (`None` when empty).
    pub latency_ms: Option<LatencySummary>,
    /// Windows whose good ratio fell below the RTO threshold.
    pub outage_seconds: u64,
}

/// Measures one phase. `threshold` is the good ratio below which a second
/// counts as outage.
pub fn phase_metrics(t: &Timeline, phase: &Phase, threshold: f64) -> PhaseMetrics {
    let mut attempts = 0;
    let mut ok = 0;
    let mut good = 0;
    let mut failures = [0u64; 6];
    let mut outage_seconds = 0;
    let mut hist = new_histogram();
    for w in t.windows.iter().filter(|w| phase.contains_window(w.second)) {
        attempts += w.attempts;
        ok += w.ok;
        good += w.good;
        for (sum, n) in failures.iter_mut().zip(w.failures) {
            *sum += n;
        }
        if w.attempts > 0 && w.good_ratio() < threshold {
            outage_seconds += 1;
        }
        let _ = hist.add(&w.latency);
    }
    let ms = |us: u64| us as f64 / 1000.0;
    let latency_ms = (!hist.is_empty()).then(|| LatencySummary {
        p50: ms(hist.value_at_quantile(0.50)),
        p95: ms(hist.value_at_quantile(0.95)),
        p99: ms(hist.value_at_quantile(0.99)),
        max: ms(hist.max()),
    });
    let availability = (attempts > 0).then(|| ok as f64 / attempts as f64);
    PhaseMetrics {
        phase: phase.clone(),
        attempts,
        ok,
        good,
        availability,
        error_rate: availability.map(|a| 1.0 - a),
        errors: Outcome::FAILURES
            .iter()
            .zip(failures)
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| (k.name().to_string(), n))
            .collect(),
        latency_ms,
        outage_seconds,
    }
}

/// How RTO is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RtoParams {
    /// How long the good period must last, µs (default 5 s).
    pub sustain_us: u64,
    /// How far below the steady-state good ratio a second may fall and
    /// still count as good (default 0.05).
    pub tolerance: f64,
    /// The steady-state good ratio (measured before the first fault).
    pub steady_good_ratio: f64,
}

impl RtoParams {
    /// The good ratio a second needs.
    pub fn threshold(&self) -> f64 {
        (self.steady_good_ratio - self.tolerance).max(0.0)
    }
}

/// Where a sustained-good check starts, in 10 ms buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpanStart {
    /// At an injection: from the bucket holding it, so that no request sent
    /// after the injection is left out (those sent up to 10 ms before it,
    /// in the same bucket, are counted too). Rounding up here once skipped
    /// the first 10 ms after a fault, where a short freeze's bad requests
    /// are.
    Injection,
    /// At a recovery candidate (a good answer's completion): from the next
    /// bucket boundary, so requests still inside the outage do not count
    /// against the recovery.
    Candidate,
}

/// Whether the 10 ms buckets from `from_us` (its bucket for an injection,
/// the next one for a candidate) to `to_us` (rounded up) reach the
/// threshold together (true when they hold no request).
fn fine_span_good(
    t: &Timeline,
    from_us: u64,
    start: SpanStart,
    to_us: u64,
    threshold: f64,
) -> bool {
    let first = match start {
        SpanStart::Injection => from_us / FINE_US,
        SpanStart::Candidate => from_us.div_ceil(FINE_US),
    } as usize;
    let last = to_us.div_ceil(FINE_US) as usize;
    let (attempts, good) = t
        .fine
        .iter()
        .take(last)
        .skip(first)
        .fold((0u64, 0u64), |(a, g), b| {
            (a + u64::from(b.attempts), g + u64::from(b.good))
        });
    attempts == 0 || good as f64 >= threshold * attempts as f64
}

/// The short span checked right after a recovery candidate: an outage this
/// long or longer cannot hide behind the tolerance of a whole second.
pub const RECOVERY_PROBE_US: u64 = 100_000;

/// Whether the requests scheduled from `from_us` on form a sustained good
/// period: the next 100 ms and the next second (from 10 ms buckets), and
/// every whole second until `sustain_us` has passed, each reach the
/// threshold. A period cut short by the run's end counts if at least one
/// whole second of it was observed and all of it was good.
fn sustained(t: &Timeline, from_us: u64, start: SpanStart, p: &RtoParams) -> bool {
    let threshold = p.threshold();
    if !fine_span_good(t, from_us, start, from_us + RECOVERY_PROBE_US, threshold)
        || !fine_span_good(t, from_us, start, from_us + SECOND_US, threshold)
    {
        return false;
    }
    let until = from_us + p.sustain_us;
    let mut whole_seconds_seen = 0;
    let mut second = from_us.div_ceil(SECOND_US);
    while second * SECOND_US < until {
        match t.windows.get(second as usize) {
            Some(w) => {
                if w.attempts > 0 && w.good_ratio() < threshold {
                    return false;
                }
                if (second + 1) * SECOND_US <= t.span_us() {
                    whole_seconds_seen += 1;
                }
            }
            None => break,
        }
        second += 1;
    }
    whole_seconds_seen >= 1
}

/// How the service came back from a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recovery {
    /// The requests sent from the injection on already formed a sustained
    /// good period: the fault made no request bad beyond the tolerance, so
    /// there was no outage to recover from (RTO 0, reported as such —
    /// never a number that depends on which request happened to be sent
    /// first after the injection).
    NoOutage,
    /// Recovered this many µs after the injection.
    After(u64),
    /// Not within the run.
    Never,
}

impl Recovery {
    /// The RTO in µs: 0 without an outage, `None` when never recovered.
    pub fn rto_us(self) -> Option<u64> {
        match self {
            Recovery::NoOutage => Some(0),
            Recovery::After(us) => Some(us),
            Recovery::Never => None,
        }
    }

    /// Whether the fault caused an outage (never recovering counts).
    pub fn outage(self) -> bool {
        self != Recovery::NoOutage
    }
}

/// How the service came back from a fault injected (in effect) at
/// `injected_us`: no outage, recovered after an RTO, or never.
///
/// *No outage* when the requests scheduled from the injection on form a
/// sustained good period by themselves (the test [`rto`] applies to a
/// recovery candidate, applied at the injection). Otherwise the RTO is the
/// time from the injection to the completion of the first good request
/// that starts a sustained good period (see [`RtoParams`]).
///
/// Only answers to requests sent at or after the injection count: a
/// request sent just before the fault and answered just after it says
/// nothing about recovery (with a loose good-latency bound, a freeze would
/// otherwise read as recovered within microseconds).
///
/// Resolution is the request's own completion time (µs), found through
/// 10 ms buckets: a bucket counts when a good request sent at or after the
/// injection completed in it; its earliest good completion is the
/// candidate, or, when that came before the fault, its latest (an error of
/// at most 10 ms, and only when the system was healthy at the fault). An
/// outage shorter than `tolerance` × 100 ms (5 ms by default) can pass the
/// first check and read as no outage.
pub fn recovery(t: &Timeline, injected_us: u64, p: &RtoParams) -> Recovery {
    if sustained(t, injected_us, SpanStart::Injection, p) {
        return Recovery::NoOutage;
    }
    let start = (injected_us / FINE_US) as usize;
    for b in t.fine.iter().skip(start) {
        if b.last_good_scheduled.is_none_or(|s| s < injected_us) {
            continue;
        }
        let candidate = match (b.first_good_done, b.last_good_done) {
            (Some(first), _) if first >= injected_us => first,
            (_, Some(last)) if last >= injected_us => last,
            _ => continue,
        };
        if sustained(t, candidate, SpanStart::Candidate, p) {
            return Recovery::After(candidate - injected_us);
        }
    }
    Recovery::Never
}

/// Recovery time objective *as measured*, µs: 0 when the fault caused no
/// outage, `None` when the service never recovered within the run (see
/// [`recovery`]).
pub fn rto(t: &Timeline, injected_us: u64, p: &RtoParams) -> Option<u64> {
    recovery(t, injected_us, p).rto_us()
}

/// A drill's failures as a share of the monthly error budget.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BudgetBurn {
    /// The monthly availability target (0.995).
    pub monthly_availability: f64,
    /// The budget: (1 − target) × 30 days, seconds.
    pub budget_seconds: f64,
    /// The failed requests as seconds of full downtime: failed / attempts ×
    /// the measured span.
    pub downtime_equivalent_seconds: f64,
    /// downtime_equivalent / budget: the share one occurrence of this fault
    /// consumes.
    pub share: f64,
}

/// Seconds in the 30-day month error budgets are stated over.
pub const MONTH_SECONDS: f64 = 30.0 * 24.0 * 3600.0;

/// Converts failures over a span into error-budget burn.
pub fn budget_burn(
    attempts: u64,
    failed: u64,
    span_s: f64,
    monthly_availability: f64,
) -> BudgetBurn {
    let budget_seconds = (1.0 - monthly_availability).max(0.0) * MONTH_SECONDS;
    let downtime = if attempts == 0 {
        0.0
    } else {
        failed as f64 / attempts as f64 * span_s
    };
    BudgetBurn {
        monthly_availability,
        budget_seconds,
        downtime_equivalent_seconds: downtime,
        share: if budget_seconds > 0.0 {
            downtime / budget_seconds
        } else if downtime > 0.0 {
            f64::INFINITY
        } else {
            0.0
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_monthly_budget_of_99_5_percent_is_3h36m() {
        let b = budget_burn(1000, 10, 100.0, 0.995);
        assert!((b.budget_seconds - 12_960.0).abs() < 1e-6);
        assert!((b.downtime_equivalent_seconds - 1.0).abs() < 1e-9);
        assert!((b.share - 1.0 / 12_960.0).abs() < 1e-12);
    }

    #[test]
    fn phases_partition_steady_fault_and_recovery() {
        let faults = vec![FaultSpan::new(
            FaultKind::PodPause,
            "pause",
            30 * SECOND_US + 400_000,
            Some(40 * SECOND_US),
        )];
        let p = phases(&faults, &[Some(42 * SECOND_US)], 90 * SECOND_US);
        let names: Vec<_> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["steady", "fault 1: pause", "recovery", "whole run"]);
        assert!(p[0].contains_window(29) && !p[0].contains_window(30));
        assert!(p[1].contains_window(30) && p[1].contains_window(41) && !p[1].contains_window(42));
        assert!(p[2].contains_window(42) && p[2].contains_window(89));
    }
}
