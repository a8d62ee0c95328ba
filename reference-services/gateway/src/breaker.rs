//! A circuit breaker per upstream, with the semantics seed 004 documents
//! (opossum's): over a rolling window, once at least `min_requests` calls
//! were made and `failure_ratio` of them failed, the circuit opens; after
//! `reset_timeout` it half-opens and lets one trial call through; the trial's
//! success closes it, its failure opens it again.
//!
//! Written by hand: the Rust circuit-breaker crates model consecutive
//! failures or exponential back-off, not "percentage over a rolling window
//! with a fixed reset timeout", and this one is pure and small enough to test
//! exhaustively.

use std::time::{Duration, Instant};

/// Breaker settings.
#[derive(Debug, Clone, Copy)]
pub struct BreakerConfig {
    /// Share of failed calls (0..=1) that opens the circuit.
    pub failure_ratio: f64,
    /// Fewest calls in the window before the ratio is judged.
    pub min_requests: u32,
    /// Length of the rolling window.
    pub window: Duration,
    /// How long the circuit stays open before a trial call.
    pub reset_timeout: Duration,
}

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls flow.
    Closed,
    /// Calls are refused until the reset timeout passes.
    Open,
    /// One trial call is in flight or allowed.
    HalfOpen,
}

impl BreakerState {
    /// A lowercase name for health output and metrics.
    pub fn name(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

const BUCKETS: usize = 10;

/// One upstream's breaker. Time is passed in, so tests need no clock.
#[derive(Debug)]
pub struct Breaker {
    cfg: BreakerConfig,
    state: BreakerState,
    opened_at: Option<Instant>,
    trial_in_flight: bool,
    /// Ring of (bucket start, successes, failures).
    buckets: [(Option<Instant>, u32, u32); BUCKETS],
}

impl Breaker {
    /// A closed breaker.
    pub fn new(cfg: BreakerConfig) -> Self {
        Breaker {
            cfg,
            state: BreakerState::Closed,
            opened_at: None,
            trial_in_flight: false,
            buckets: [(None, 0, 0); BUCKETS],
        }
    }

    /// The state as of `now` (an open circuit whose timeout passed is half-open).
    pub fn state(&self, now: Instant) -> BreakerState {
        match (self.state, self.opened_at) {
            (BreakerState::Open, Some(at)) if now.duration_since(at) >= self.cfg.reset_timeout => {
                BreakerState::HalfOpen
            }
            (s, _) => s,
        }
    }

    /// Whether a call may go to this upstream now; a half-open breaker admits
    /// one trial at a time.
    pub fn try_acquire(&mut self, now: Instant) -> bool {
        match self.state(now) {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => {
                if self.trial_in_flight {
                    false
                } else {
                    self.state = BreakerState::HalfOpen;
                    self.trial_in_flight = true;
                    true
                }
            }
        }
    }

    /// Gives back a trial call that ended without an outcome (its caller
    /// went away before the upstream answered): the circuit stays
    /// half-open and the next call becomes the trial. Without this, a trial
    /// abandoned mid-flight would leave the circuit refusing every call
    /// forever.
    pub fn abandon_trial(&mut self) {
        if self.state == BreakerState::HalfOpen {
            self.trial_in_flight = false;
        }
    }

    /// Records a call's outcome.
    pub fn record(&mut self, now: Instant, success: bool) {
        if self.state == BreakerState::HalfOpen {
            self.trial_in_flight = false;
            if success {
                self.close();
            } else {
                self.open(now);
            }
            return;
        }
        if self.state == BreakerState::Open {
            return;
        }
        let bucket_len = self.cfg.window / BUCKETS as u32;
        let idx = self.bucket_index(now, bucket_len);
        let b = &mut self.buckets[idx];
        if success {
            b.1 += 1;
        } else {
            b.2 += 1;
        }
        let (ok, failed) = self.totals(now);
        let total = ok + failed;
        if total >= self.cfg.min_requests
            && total > 0
            && f64::from(failed) / f64::from(total) >= self.cfg.failure_ratio
        {
            self.open(now);
        }
    }

    fn bucket_index(&mut self, now: Instant, bucket_len: Duration) -> usize {
        let bucket_len = bucket_len.max(Duration::from_millis(1));
        // Reuse the current bucket while it is young; else take the oldest.
        let mut newest: Option<usize> = None;
        for (i, b) in self.buckets.iter().enumerate() {
            if let Some(start) = b.0 {
                if now.duration_since(start) < bucket_len {
                    newest = Some(i);
                }
            }
        }
        if let Some(i) = newest {
            return i;
        }
        let oldest = self
            .buckets
            .iter()
            .enumerate()
            .min_by_key(|(_, b)| b.0)
            .map(|(i, _)| i)
            .unwrap_or(0);
        self.buckets[oldest] = (Some(now), 0, 0);
        oldest
    }

    fn totals(&self, now: Instant) -> (u32, u32) {
        self.buckets
            .iter()
            .filter(|b| matches!(b.0, Some(start) if now.duration_since(start) < self.cfg.window))
            .fold((0, 0), |(ok, failed), b| (ok + b.1, failed + b.2))
    }

    fn open(&mut self, now: Instant) {
        if self.state != BreakerState::Open {
            metrics::counter!("circuit_breaker_opened_total").increment(1);
        }
        self.state = BreakerState::Open;
        self.opened_at = Some(now);
    }

    fn close(&mut self) {
        self.state = BreakerState::Closed;
        self.opened_at = None;
        self.buckets = [(None, 0, 0); BUCKETS];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BreakerConfig {
        BreakerConfig {
            failure_ratio: 0.5,
            min_requests: 4,
            window: Duration::from_secs(10),
            reset_timeout: Duration::from_secs(30),
        }
    }

    #[test]
    fn opens_at_half_failures_once_volume_is_reached() {
        let t0 = Instant::now();
        let mut b = Breaker::new(cfg());
        b.record(t0, false);
        b.record(t0, false);
        b.record(t0, false);
        assert_eq!(b.state(t0), BreakerState::Closed, "below min_requests");
        b.record(t0, true);
        assert_eq!(b.state(t0), BreakerState::Open, "3 of 4 failed");
        assert!(!b.try_acquire(t0 + Duration::from_secs(29)));
    }

    #[test]
    fn stays_closed_below_the_ratio() {
        let t0 = Instant::now();
        let mut b = Breaker::new(cfg());
        for i in 0..10 {
            b.record(t0, i % 3 != 2);
        }
        assert_eq!(b.state(t0), BreakerState::Closed);
    }

    #[test]
    fn half_opens_after_the_reset_timeout_and_admits_one_trial() {
        let t0 = Instant::now();
        let mut b = Breaker::new(cfg());
        for _ in 0..4 {
            b.record(t0, false);
        }
        let later = t0 + Duration::from_secs(30);
        assert_eq!(b.state(later), BreakerState::HalfOpen);
        assert!(b.try_acquire(later));
        assert!(!b.try_acquire(later), "one trial at a time");
        b.record(later, true);
        assert_eq!(b.state(later), BreakerState::Closed);
    }

    #[test]
    fn an_abandoned_trial_lets_the_next_call_try() {
        let t0 = Instant::now();
        let mut b = Breaker::new(cfg());
        for _ in 0..4 {
            b.record(t0, false);
        }
        let later = t0 + Duration::from_secs(30);
        assert!(b.try_acquire(later));
        assert!(!b.try_acquire(later));
        b.abandon_trial();
        assert_eq!(b.state(later), BreakerState::HalfOpen);
        assert!(b.try_acquire(later), "the next call is the trial");
        b.record(later, true);
        assert_eq!(b.state(later), BreakerState::Closed);
        // Giving back a call of a closed circuit changes nothing.
        b.abandon_trial();
        assert_eq!(b.state(later), BreakerState::Closed);
    }

    #[test]
    fn a_failed_trial_reopens_for_another_full_timeout() {
        let t0 = Instant::now();
        let mut b = Breaker::new(cfg());
        for _ in 0..4 {
            b.record(t0, false);
        }
        let t1 = t0 + Duration::from_secs(31);
        assert!(b.try_acquire(t1));
        b.record(t1, false);
        assert_eq!(b.state(t1 + Duration::from_secs(29)), BreakerState::Open);
        assert_eq!(
            b.state(t1 + Duration::from_secs(30)),
            BreakerState::HalfOpen
        );
    }

    #[test]
    fn old_failures_leave_the_window() {
        let t0 = Instant::now();
        let mut b = Breaker::new(cfg());
        for _ in 0..3 {
            b.record(t0, false);
        }
        let later = t0 + Duration::from_secs(11);
        for _ in 0..4 {
            b.record(later, true);
        }
        b.record(later, false);
        assert_eq!(b.state(later), BreakerState::Closed, "1 of 5 in window");
    }
}
