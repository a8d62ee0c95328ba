//! Everything a run measured, assembled from the timeline, the fault
//! journal, the write and event checks and the probes — the input of the
//! verdict and the reports. Pure.

use serde::{Deserialize, Serialize};

use super::events::EventSummary;
use super::metrics::{
    budget_burn, phase_metrics, phases, recovery, BudgetBurn, FaultSpan, LatencySummary, Phase,
    PhaseMetrics, Recovery, RtoParams,
};
use super::rpo::WriteCheck;
use super::timeline::{new_histogram, ProbeSample, Timeline};
use super::SECOND_US;

/// One fault's measured effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultResult {
    /// The fault.
    pub span: FaultSpan,
    /// Its RTO, ms, measured as `rto_basis` says (`None`: never recovered
    /// within the run).
    pub rto_ms: Option<f64>,
    /// How `rto_ms` was measured: `sustained` or `first-write`.
    #[serde(default)]
    pub rto_basis: RtoMeasure,
    /// From the injection to sustained recovery of the rolling
    /// availability, ms: `rto_ms` itself unless the basis is `first-write`.
    #[serde(default)]
    pub sustained_rto_ms: Option<f64>,
    /// Whether the fault made requests bad beyond the tolerance at all:
    /// `false` means no outage (and an RTO of 0).
    #[serde(default = "outage_by_default")]
    pub outage: bool,
    /// Acknowledged writes lost to it.
    pub lost_writes: u64,
    /// Its RPO window, ms.
    pub rpo_window_ms: f64,
    /// Earliest and latest acknowledgement among its lost writes, ms since
    /// the epoch.
    pub lost_acks_unix_ms: Option<(u64, u64)>,
}

fn outage_by_default() -> bool {
    true
}

/// How a fault's RTO is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtoBasis {
    /// From the injection until the rolling availability stays within the
    /// tolerance of the steady state for the sustained period (DESIGN, "RTO").
    Sustained,
    /// From the injection to the first write served again: when that was,
    /// µs from the run's start (`None`: never). A restore's RTO, where the
    /// documents count the outage until service resumes.
    FirstWrite(Option<u64>),
}

/// How a fault's RTO was measured, as reports name it (`sustained`,
/// `first-write`): an [`RtoBasis`] without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RtoMeasure {
    /// Until sustained recovery of the rolling availability.
    #[default]
    Sustained,
    /// Until the first write served again.
    FirstWrite,
}

impl RtoBasis {
    /// How reports name it.
    pub fn measure(&self) -> RtoMeasure {
        match self {
            RtoBasis::Sustained => RtoMeasure::Sustained,
            RtoBasis::FirstWrite(_) => RtoMeasure::FirstWrite,
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    /// Requests scheduled.
    pub attempts: u64,
    /// Whole-run availability (ok / attempts).
    pub availability: f64,
    /// 1 − availability.
    pub error_rate: f64,
    /// Whole-run latency.
    pub latency_ms: LatencySummary,
    /// Per phase.
    pub phases: Vec<PhaseMetrics>,
    /// Per fault.
    pub faults: Vec<FaultResult>,
    /// Writes.
    pub writes: WriteCheck,
    /// Events.
    pub events: EventSummary,
    /// The steady-state good ratio RTO was judged against.
    pub steady_good_ratio: f64,
    /// The run's failures as monthly error-budget burn (when a monthly
    /// availability target applies).
    pub budget: Option<BudgetBurn>,
    /// Worst replication lag seen, seconds and bytes.
    pub max_replication_lag_s: Option<f64>,
    /// Worst replication lag in bytes.
    pub max_replication_lag_bytes: Option<f64>,
    /// Worst consumer lag seen (summed over consumers at one sample).
    pub max_consumer_lag: Option<f64>,
    /// Most consecutive failed health probes of one service, and which.
    pub max_consecutive_health_failures: (u64, String),
    /// Containers that stopped or restarted without the harness doing it.
    pub unplanned_restarts: Vec<String>,
    /// The generator's lateness p99, ms.
    pub lateness_p99_ms: f64,
    /// Length of the measured span, seconds.
    pub span_s: f64,
    /// The run's start, ms since the epoch.
    #[serde(default)]
    pub start_unix_ms: u64,
}

/// The worst error rate over any `window_s` consecutive seconds (the whole
/// run when it is shorter).
pub fn worst_error_rate(t: &Timeline, window_s: usize) -> f64 {
    let w = &t.windows;
    if w.is_empty() {
        return 0.0;
    }
    let width = window_s.clamp(1, w.len());
    (0..=w.len() - width)
        .map(|i| {
            let (a, f) = w[i..i + width]
                .iter()
                .fold((0u64, 0u64), |(a, f), x| (a + x.attempts, f + x.failed()));
            if a == 0 {
                0.0
            } else {
                f as f64 / a as f64
            }
        })
        .fold(0.0, f64::max)
}

/// The worst `q` latency quantile (ms) over any `window_s` consecutive
/// seconds (the whole run when it is shorter).
pub fn worst_quantile_ms(t: &Timeline, q: f64, window_s: usize) -> f64 {
    let w = &t.windows;
    if w.is_empty() {
        return 0.0;
    }
    let width = window_s.clamp(1, w.len());
    (0..=w.len() - width)
        .map(|i| {
            let mut h = new_histogram();
            for x in &w[i..i + width] {
                let _ = h.add(&x.latency);
            }
            if h.is_empty() {
                0.0
            } else {
                h.value_at_quantile(q) as f64 / 1000.0
            }
        })
        .fold(0.0, f64::max)
}

/// The most consecutive samples of one `health:<node>` probe below 1
/// (no answer), and the node.
pub fn consecutive_health_failures(probes: &[ProbeSample]) -> (u64, String) {
    let mut runs: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    for p in probes.iter().filter(|p| p.probe.starts_with("health:")) {
        let e = runs.entry(p.probe.as_str()).or_default();
        if p.value <= 0.0 {
            e.0 += 1;
            e.1 = e.1.max(e.0);
        } else {
            e.0 = 0;
        }
    }
    runs.into_iter()
        .max_by_key(|(_, (_, best))| *best)
        .map(|(name, (_, best))| (best, name.trim_start_matches("health:").to_string()))
        .unwrap_or_default()
}

/// The inputs of [`summarise`].
pub struct RunData<'a> {
    /// The timeline.
    pub timeline: &'a Timeline,
    /// The faults, in injection order.
    pub faults: &'a [FaultSpan],
    /// The write check (with per-fault attribution).
    pub writes: WriteCheck,
    /// The event check.
    pub events: EventSummary,
    /// Probe samples.
    pub probes: &'a [ProbeSample],
    /// Containers that stopped without the harness.
    pub unplanned_restarts: Vec<String>,
    /// A monthly availability target, if the profile has one.
    pub monthly_availability: Option<f64>,
    /// RTO's tolerance below the steady ratio.
    pub rto_tolerance: f64,
    /// RTO's sustained period, µs.
    pub rto_sustain_us: u64,
    /// The run's start, ms since the epoch (to place acknowledgements on
    /// the wall clock).
    pub start_unix_ms: u64,
    /// Per fault: how its RTO is measured (missing entries: sustained).
    pub rto_bases: Vec<RtoBasis>,
}

/// Assembles the measurements of a run.
pub fn summarise(d: RunData) -> Measurements {
    let t = d.timeline;
    let end = t.span_us();
    let first_fault = d.faults.iter().map(|f| f.injected_us).min().unwrap_or(end);
    let steady = phase_metrics(
        t,
        &Phase {
            name: "steady".into(),
            start_us: 0,
            end_us: first_fault,
        },
        0.0,
    );
    let steady_good_ratio = if steady.attempts == 0 {
        1.0
    } else {
        steady.good as f64 / steady.attempts as f64
    };
    let params = RtoParams {
        sustain_us: d.rto_sustain_us,
        tolerance: d.rto_tolerance,
        steady_good_ratio,
    };
    let recoveries: Vec<Recovery> = d
        .faults
        .iter()
        .map(|f| recovery(t, f.injected_us, &params))
        .collect();
    let rtos: Vec<Option<u64>> = recoveries.iter().map(|r| r.rto_us()).collect();
    let recovered: Vec<Option<u64>> = d
        .faults
        .iter()
        .zip(&rtos)
        .map(|(f, r)| r.map(|r| f.injected_us + r))
        .collect();
    let phase_list = phases(d.faults, &recovered, end);
    let phase_metrics_list: Vec<PhaseMetrics> = phase_list
        .iter()
        .map(|p| phase_metrics(t, p, params.threshold()))
        .collect();
    let whole = phase_metrics_list.last().cloned().unwrap_or_else(|| {
        phase_metrics(
            t,
            &Phase {
                name: "whole run".into(),
                start_us: 0,
                end_us: end,
            },
            params.threshold(),
        )
    });
    let faults = d
        .faults
        .iter()
        .zip(&rtos)
        .zip(&recoveries)
        .enumerate()
        .map(|(i, ((f, r), recovery))| {
            let (lost, window) = d.writes.per_fault.get(i).copied().unwrap_or((0, 0));
            let basis = d.rto_bases.get(i).copied().unwrap_or(RtoBasis::Sustained);
            let (rto_us, outage) = match basis {
                RtoBasis::Sustained => (*r, recovery.outage()),
                // A restore is an outage by construction.
                RtoBasis::FirstWrite(at) => (at.map(|at| at.saturating_sub(f.injected_us)), true),
            };
            let ms = |us: u64| us as f64 / 1000.0;
            FaultResult {
                span: f.clone(),
                rto_ms: rto_us.map(ms),
                rto_basis: basis.measure(),
                sustained_rto_ms: r.map(ms),
                outage,
                lost_writes: lost,
                rpo_window_ms: window as f64 / 1000.0,
                lost_acks_unix_ms: d
                    .writes
                    .per_fault_acks
                    .get(i)
                    .copied()
                    .flatten()
                    .map(|(a, b)| (d.start_unix_ms + a / 1000, d.start_unix_ms + b / 1000)),
            }
        })
        .collect();
    let span_s = end as f64 / SECOND_US as f64;
    let max_of = |name: &str| {
        d.probes
            .iter()
            .filter(|p| p.probe == name)
            .map(|p| p.value)
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    };
    // Consumer lag: the sum over consumers of one sampling round.
    let mut lag_by_time: std::collections::BTreeMap<u64, f64> = Default::default();
    for p in d
        .probes
        .iter()
        .filter(|p| p.probe.starts_with("consumer_lag"))
    {
        *lag_by_time.entry(p.at_us).or_default() += p.value;
    }
    let max_consumer_lag = lag_by_time
        .values()
        .copied()
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    // A run without a single request measured nothing: it reads as fully
    // unavailable, never as perfect.
    let availability = whole.availability.unwrap_or(0.0);
    Measurements {
        attempts: whole.attempts,
        availability,
        error_rate: 1.0 - availability,
        latency_ms: whole.latency_ms.unwrap_or_default(),
        phases: phase_metrics_list,
        faults,
        writes: d.writes,
        events: d.events,
        steady_good_ratio,
        budget: d
            .monthly_availability
            .map(|a| budget_burn(whole.attempts, whole.attempts - whole.ok, span_s, a)),
        max_replication_lag_s: max_of("replication_lag_seconds"),
        max_replication_lag_bytes: max_of("replication_lag_bytes"),
        max_consumer_lag,
        max_consecutive_health_failures: consecutive_health_failures(d.probes),
        unplanned_restarts: d.unplanned_restarts,
        lateness_p99_ms: t.lateness.value_at_quantile(0.99) as f64 / 1000.0,
        span_s,
        start_unix_ms: d.start_unix_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::{Op, Outcome, RequestRecord, TimelineConfig};

    fn timeline(fail_seconds: &[u64]) -> Timeline {
        let mut t = Timeline::new(TimelineConfig {
            good_latency_us: 100_000,
        });
        for s in 0..10u64 {
            for i in 0..10u64 {
                let outcome = if fail_seconds.contains(&s) {
                    Outcome::Http5xx
                } else {
                    Outcome::Ok
                };
                t.record(&RequestRecord {
                    scheduled_us: s * SECOND_US + i * 100_000,
                    latency_us: 1_000 * (s + 1),
                    lateness_us: 0,
                    op: Op::Plain,
                    outcome,
                });
            }
        }
        t
    }

    #[test]
    fn sliding_windows_find_the_worst_stretch() {
        let t = timeline(&[4, 5]);
        assert!((worst_error_rate(&t, 2) - 1.0).abs() < 1e-9);
        assert!((worst_error_rate(&t, 4) - 0.5).abs() < 1e-9);
        assert!(
            (worst_error_rate(&t, 100) - 0.2).abs() < 1e-9,
            "the whole run when longer"
        );
        assert!((worst_quantile_ms(&t, 0.99, 1) - 10.0).abs() < 0.2);
    }

    #[test]
    fn consecutive_health_failures_count_runs_per_service() {
        let s = |probe: &str, value: f64, at_us: u64| ProbeSample {
            probe: probe.into(),
            value,
            at_us,
        };
        let probes = vec![
            s("health:orders-a", 0.0, 1),
            s("health:orders-b", 0.0, 1),
            s("health:orders-a", 0.0, 2),
            s("health:orders-a", 1.0, 3),
            s("health:orders-b", 0.0, 2),
            s("health:orders-b", 0.0, 3),
            s("health:orders-b", 0.5, 4),
        ];
        assert_eq!(consecutive_health_failures(&probes), (3, "orders-b".into()));
    }
}
