//! The verdict: one check per applicable target — documented by the
//! system's profile, filled in by faultline's defaults, tightened (never
//! loosened) by the scenario — each with its limit, what was measured and
//! whether it passed. Pure.

use serde::{Deserialize, Serialize};

use crate::measure::summary::{worst_error_rate, worst_quantile_ms, RtoMeasure};
use crate::measure::{Measurements, Timeline};
use crate::scenario::Expectation;
use crate::targets::{CheckKind, Profile, Target, Unit};

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// `rto: fault 1 (pod-kill orders zone a)`, `p95`, `error_rate (2m window)`.
    pub name: String,
    /// The limit as shown (`≤ 15m`).
    pub limit: String,
    /// The limit in `unit`.
    pub limit_value: f64,
    /// What was measured, in `unit` (`None`: could not be measured).
    pub measured: Option<f64>,
    /// The unit of `limit_value` and `measured`.
    pub unit: String,
    /// Whether it passed.
    pub pass: bool,
    /// Where the limit comes from.
    pub source: String,
    /// Whether the limit is a faultline default rather than documented.
    pub default: bool,
    /// Anything a reader needs to interpret it.
    pub note: String,
}

/// Every check of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Every check passed.
    pub pass: bool,
    /// The checks.
    pub checks: Vec<Check>,
}

impl Verdict {
    /// The names of the failed checks.
    pub fn failed(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| !c.pass)
            .map(|c| c.name.as_str())
            .collect()
    }
}

fn unit_name(u: Unit) -> &'static str {
    match u {
        Unit::Duration => "ms",
        Unit::Ratio => "ratio",
        Unit::Count => "count",
    }
}

/// The targets in force: the profile's, each tightened by a scenario
/// expectation on the same check; expectations on checks the profile lacks
/// are added. Looser expectations are ignored, with a note.
pub fn effective_targets(profile: &Profile, expect: &[Expectation]) -> Vec<(Target, String)> {
    let mut out: Vec<(Target, String)> = profile
        .targets
        .iter()
        .map(|t| (t.clone(), String::new()))
        .collect();
    for e in expect {
        let stricter = |a: f64, b: f64| {
            if e.check.higher_is_better() {
                a > b
            } else {
                a < b
            }
        };
        match out.iter_mut().find(|(t, _)| t.check == e.check) {
            Some((t, note)) if stricter(e.limit, t.limit) => {
                *note = format!("scenario tightens {} to {}", t.limit_text, e.limit_text);
                t.source = format!(
                    "scenario expectation (the document's limit: {}; {})",
                    t.limit_text, t.source
                );
                t.limit = e.limit;
                t.limit_text = e.limit_text.clone();
                t.default = false;
            }
            Some((t, note)) => {
                *note = format!(
                    "the scenario's {} is looser than {} and does not apply",
                    e.limit_text, t.limit_text
                );
            }
            None => out.push((
                Target {
                    check: e.check,
                    limit: e.limit,
                    limit_text: e.limit_text.clone(),
                    window: None,
                    source: "scenario expectation".into(),
                    default: false,
                },
                String::new(),
            )),
        }
    }
    out
}

/// Judges the measurements against the targets in force.
pub fn judge(profile: &Profile, expect: &[Expectation], m: &Measurements, t: &Timeline) -> Verdict {
    let mut checks = Vec::new();
    for (target, note) in effective_targets(profile, expect) {
        let unit = target.check.unit();
        let mk = |name: String, measured: Option<f64>, pass: bool, extra: String| {
            let limit = match (unit, target.check) {
                (_, CheckKind::Availability) => format!("≥ {} monthly", target.limit_text),
                _ => format!("≤ {}", target.limit_text),
            };
            Check {
                name,
                limit,
                limit_value: target.limit,
                measured,
                unit: unit_name(unit).into(),
                pass,
                source: target.source.clone(),
                default: target.default,
                note: [note.as_str(), extra.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; "),
            }
        };
        let le = |v: Option<f64>| v.is_some_and(|v| v <= target.limit + 1e-9);
        let windowed = |base: &str| match target.window {
            Some(w) => format!("{base} ({} window)", humantime::format_duration(w)),
            None => base.to_string(),
        };
        let window_s = target
            .window
            .map_or(usize::MAX, |w| w.as_secs().max(1) as usize);
        match target.check {
            CheckKind::Rto => {
                for f in &m.faults {
                    let extra = match (f.rto_ms, f.rto_basis) {
                        (None, RtoMeasure::FirstWrite) => "no write served again within the run".to_string(),
                        (None, _) => "never recovered within the run".to_string(),
                        (Some(_), RtoMeasure::FirstWrite) => format!(
                            "to the first write served again; sustained recovery {}",
                            f.sustained_rto_ms
                                .map_or("not within the run".to_string(), |ms| secs(
                                    (ms * 1000.0) as u64
                                ))
                        ),
                        (Some(_), _) if !f.outage => "no outage: the requests sent from the injection on stayed within the tolerance of the steady state".to_string(),
                        (Some(_), _) => String::new(),
                    };
                    checks.push(mk(
                        format!("rto: fault {} ({})", f.span.id + 1, f.span.label),
                        f.rto_ms,
                        le(f.rto_ms),
                        extra,
                    ));
                }
            }
            CheckKind::Rpo => {
                for (i, f) in m.faults.iter().enumerate() {
                    let name = format!("rpo: fault {} ({})", f.span.id + 1, f.span.label);
                    if let Some(why) = &m.writes.unreadable {
                        checks.push(mk(name, None, false, format!("not measured: {why}")));
                        continue;
                    }
                    let pass =
                        le(Some(f.rpo_window_ms)) && (target.limit > 0.0 || f.lost_writes == 0);
                    let mut extra = format!("{} acknowledged writes lost", f.lost_writes);
                    let mut causes = std::collections::BTreeMap::new();
                    for w in m.writes.explained.iter().filter(|w| w.fault == Some(i)) {
                        *causes.entry(w.cause.name()).or_insert(0u64) += 1;
                    }
                    if !causes.is_empty() {
                        let causes: Vec<String> =
                            causes.iter().map(|(c, n)| format!("{n} {c}")).collect();
                        extra.push_str(&format!(" ({})", causes.join(", ")));
                    }
                    checks.push(mk(name, Some(f.rpo_window_ms), pass, extra));
                }
            }
            CheckKind::ErrorRate => {
                let v = worst_error_rate(t, window_s);
                checks.push(mk(
                    windowed("error_rate"),
                    Some(v),
                    le(Some(v)),
                    String::new(),
                ));
            }
            CheckKind::P95 | CheckKind::P99 => {
                let q = if target.check == CheckKind::P95 {
                    0.95
                } else {
                    0.99
                };
                let v = worst_quantile_ms(t, q, window_s);
                checks.push(mk(
                    windowed(target.check.name()),
                    Some(v),
                    le(Some(v)),
                    String::new(),
                ));
            }
            CheckKind::Availability => {
                let (measured, pass, extra) = match &m.budget {
                    Some(b) => {
                        let share = b.share;
                        let availability_equivalent = 1.0
                            - b.downtime_equivalent_seconds
                                / crate::measure::metrics::MONTH_SECONDS;
                        (
                            Some(availability_equivalent),
                            share <= 1.0,
                            format!(
                                "this occurrence consumed {:.3} % of the monthly error budget ({:.1} s of {:.0} s)",
                                share * 100.0,
                                b.downtime_equivalent_seconds,
                                b.budget_seconds
                            ),
                        )
                    }
                    None => (None, false, "not measured".into()),
                };
                checks.push(mk(
                    "availability (error budget)".into(),
                    measured,
                    pass,
                    extra,
                ));
            }
            CheckKind::ReplicationLag => {
                let v = m.max_replication_lag_s.map(|s| s * 1000.0);
                let extra = if v.is_none() {
                    "no replication-lag sample was taken".into()
                } else {
                    String::new()
                };
                checks.push(mk("replication_lag".into(), v, le(v), extra));
            }
            CheckKind::ConsumerLag => {
                let v = m.max_consumer_lag;
                let extra = if v.is_none() {
                    "no consumer-lag sample was taken".into()
                } else {
                    String::new()
                };
                checks.push(mk("consumer_lag".into(), v, le(v), extra));
            }
            CheckKind::HealthCheckFailures => {
                let (n, who) = &m.max_consecutive_health_failures;
                let extra = if *n > 0 {
                    format!("worst: {who}")
                } else {
                    String::new()
                };
                checks.push(mk(
                    "health_check_failures (consecutive)".into(),
                    Some(*n as f64),
                    le(Some(*n as f64)),
                    extra,
                ));
            }
            CheckKind::UnplannedRestarts => {
                let n = m.unplanned_restarts.len() as f64;
                checks.push(mk(
                    "unplanned_restarts".into(),
                    Some(n),
                    le(Some(n)),
                    m.unplanned_restarts.join(", "),
                ));
            }
            CheckKind::LostEvents
                if m.writes.unreadable.is_some() || m.events.not_measured.is_some() =>
            {
                let why = m
                    .writes
                    .unreadable
                    .clone()
                    .or_else(|| m.events.not_measured.clone())
                    .unwrap_or_default();
                checks.push(mk(
                    "lost_events".into(),
                    None,
                    false,
                    format!("not measured: {why}"),
                ));
            }
            CheckKind::LostEvents => {
                let e = &m.events;
                let n = e.lost as f64;
                let mut extra = format!(
                    "{} expected: {} on time, {} late, {} lost; {} duplicated",
                    e.expected, e.on_time, e.late, e.lost, e.duplicated
                );
                if !e.lost_by_stage.is_empty() {
                    let stages: Vec<String> = e
                        .lost_by_stage
                        .iter()
                        .map(|(stage, n)| format!("{n} {}", stage.name()))
                        .collect();
                    extra.push_str(&format!("; lost at: {}", stages.join(", ")));
                }
                if !e.settle.drained {
                    extra.push_str(&format!(
                        "; the pipeline had not drained after the settle limit of {}",
                        secs(e.settle.limit_ms * 1000)
                    ));
                }
                checks.push(mk("lost_events".into(), Some(n), le(Some(n)), extra));
            }
            CheckKind::EventDelay
                if m.writes.unreadable.is_some() || m.events.not_measured.is_some() =>
            {
                let why = m
                    .writes
                    .unreadable
                    .clone()
                    .or_else(|| m.events.not_measured.clone())
                    .unwrap_or_default();
                checks.push(mk(
                    "event_delay".into(),
                    None,
                    false,
                    format!("not measured: {why}"),
                ));
            }
            CheckKind::EventDelay => {
                let e = &m.events;
                let extra = match (e.delay_max_ms, e.delay_p99_ms) {
                    (Some(_), Some(p99)) => format!(
                        "worst delay from the write to analytics; p99 {}; {} of {} stored later than {}",
                        secs((p99 * 1000.0) as u64),
                        e.late,
                        e.on_time + e.late,
                        secs(e.delay_bound_ms * 1000)
                    ),
                    _ => "no event was stored".into(),
                };
                checks.push(mk(
                    "event_delay".into(),
                    e.delay_max_ms,
                    le(e.delay_max_ms),
                    extra,
                ));
            }
        }
    }
    checks.extend(fault_checks(m));
    Verdict {
        pass: checks.iter().all(|c| c.pass),
        checks,
    }
}

/// A second, for notes.
fn secs(us: u64) -> String {
    format!("{:.1} s", us as f64 / 1e6)
}

/// The checks every fault brings, whatever the profile: it went in and came
/// out (a fault the harness could not inject measured nothing), and a
/// region loss was restored — with every write older than the restored
/// point present.
fn fault_checks(m: &Measurements) -> Vec<Check> {
    let mut out = Vec::new();
    for f in &m.faults {
        let s = &f.span;
        let n = s.id + 1;
        let mut check = Check {
            name: format!("fault {n} ({}) injected and reverted", s.label),
            limit: "no error".into(),
            limit_value: 0.0,
            measured: Some(if s.error.is_some() { 1.0 } else { 0.0 }),
            unit: "count".into(),
            pass: s.error.is_none(),
            source: "faultline: a fault that did not happen measures nothing".into(),
            default: true,
            note: s.error.clone().unwrap_or_default(),
        };
        if s.kind.restores_from_backup() {
            check.name = format!("restore: fault {n} ({})", s.label);
            check.limit = "restored, every write older than the restored point present".into();
            check.source = "the documented recovery: restore the newest base backup, replay the archived WAL, rejoin a replica".into();
            let mut notes = Vec::new();
            let mut previous = s.injected_us;
            for step in &s.steps {
                notes.push(format!(
                    "{} after {}",
                    step.name,
                    secs(step.at_us.saturating_sub(previous))
                ));
                previous = step.at_us;
            }
            let mut consistent = true;
            if let Some(point) = s.recovered_to_unix_ms {
                // The newest commit may predate the run (nothing archived
                // since): say so rather than clamp it to 0 s.
                let point_text = if point >= m.start_unix_ms {
                    format!(
                        "the commit at {:.1} s",
                        (point - m.start_unix_ms) as f64 / 1000.0
                    )
                } else {
                    format!(
                        "a commit {:.1} s before the run began",
                        (m.start_unix_ms - point) as f64 / 1000.0
                    )
                };
                match f.lost_acks_unix_ms {
                    Some((first, last)) => {
                        // Half a second of slack for the commit-to-ack gap.
                        consistent = first + 500 > point;
                        notes.push(format!(
                            "restored to {point_text}; {} acknowledged writes lost, acknowledged from {:.1} s to {:.1} s{}",
                            f.lost_writes,
                            first.saturating_sub(m.start_unix_ms) as f64 / 1000.0,
                            last.saturating_sub(m.start_unix_ms) as f64 / 1000.0,
                            if consistent { ", all after it" } else { " — some BEFORE it: they should have been restored" }
                        ));
                    }
                    None => notes.push(format!(
                        "restored to {point_text}; no acknowledged write lost"
                    )),
                }
            } else if s.error.is_none() {
                notes.push(format!(
                    "the restored database holds no order: it was restored to a point before the first; {} acknowledged writes lost",
                    f.lost_writes
                ));
            }
            if let Some(e) = &s.error {
                notes.push(e.clone());
            } else if f.rto_ms.is_none() {
                notes.push("no write was served again within the run".into());
            }
            check.pass = s.error.is_none() && consistent && f.rto_ms.is_some();
            check.measured = Some(if check.pass { 0.0 } else { 1.0 });
            check.note = notes.join("; ");
        }
        out.push(check);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::spec::FaultKind;
    use crate::measure::{
        EventSummary, FaultResult, FaultSpan, LatencySummary, TimelineConfig, WriteCheck,
    };
    use crate::stack::StackSettings;

    fn profile(targets: Vec<Target>) -> Profile {
        Profile {
            name: "p".into(),
            title: "p".into(),
            document: String::new(),
            notes: String::new(),
            targets,
            stack: StackSettings::default(),
            no_numeric_targets: false,
        }
    }

    fn target(check: CheckKind, limit: f64, text: &str) -> Target {
        Target {
            check,
            limit,
            limit_text: text.into(),
            window: None,
            source: "doc".into(),
            default: false,
        }
    }

    fn measurements(rto_ms: Option<f64>, lost: u64) -> Measurements {
        Measurements {
            attempts: 100,
            availability: 0.99,
            error_rate: 0.01,
            latency_ms: LatencySummary::default(),
            phases: Vec::new(),
            faults: vec![FaultResult {
                span: FaultSpan::new(FaultKind::PodKill, "pod-kill orders", 0, None),
                rto_ms,
                lost_writes: lost,
                rpo_window_ms: if lost > 0 { 1500.0 } else { 0.0 },
                lost_acks_unix_ms: None,
                rto_basis: RtoMeasure::Sustained,
                sustained_rto_ms: rto_ms,
                outage: true,
            }],
            writes: WriteCheck {
                acked: 10,
                lost,
                recovered: 0,
                unknown_absent: 0,
                lost_ids: Vec::new(),
                lost_acks: Vec::new(),
                explained: Vec::new(),
                earliest_lost_ack_us: None,
                latest_lost_ack_us: None,
                per_fault: vec![],
                per_fault_acks: vec![],
                unreadable: None,
            },
            events: EventSummary::default(),
            steady_good_ratio: 1.0,
            budget: None,
            max_replication_lag_s: None,
            max_replication_lag_bytes: None,
            max_consumer_lag: None,
            max_consecutive_health_failures: (0, String::new()),
            unplanned_restarts: Vec::new(),
            lateness_p99_ms: 0.0,
            span_s: 10.0,
            start_unix_ms: 0,
        }
    }

    fn empty() -> Timeline {
        Timeline::new(TimelineConfig { good_latency_us: 1 })
    }

    #[test]
    fn rto_is_judged_per_fault_and_never_recovering_fails() {
        let p = profile(vec![target(CheckKind::Rto, 30_000.0, "30s")]);
        let v = judge(&p, &[], &measurements(Some(12_000.0), 0), &empty());
        assert!(v.pass);
        assert_eq!(v.checks[0].name, "rto: fault 1 (pod-kill orders)");
        let v = judge(&p, &[], &measurements(None, 0), &empty());
        assert!(!v.pass);
        assert_eq!(v.failed(), ["rto: fault 1 (pod-kill orders)"]);
    }

    #[test]
    fn expectations_tighten_and_never_loosen() {
        let p = profile(vec![target(CheckKind::Rto, 900_000.0, "15m")]);
        let tight = Expectation {
            check: CheckKind::Rto,
            limit: 10_000.0,
            limit_text: "10s".into(),
        };
        let v = judge(&p, &[tight], &measurements(Some(12_000.0), 0), &empty());
        assert!(!v.pass, "12 s breaks the scenario's 10 s");
        assert!(v.checks[0].source.contains("15m"));
        let loose = Expectation {
            check: CheckKind::Rto,
            limit: 3_600_000.0,
            limit_text: "1h".into(),
        };
        let v = judge(&p, &[loose], &measurements(Some(1_000_000.0), 0), &empty());
        assert!(!v.pass, "the documented 15 m still applies");
        assert!(v.checks[0].note.contains("looser"));
    }

    #[test]
    fn a_zero_rpo_fails_on_any_lost_write() {
        let p = profile(vec![target(CheckKind::Rpo, 0.0, "0s")]);
        assert!(judge(&p, &[], &measurements(Some(1.0), 0), &empty()).pass);
        let v = judge(&p, &[], &measurements(Some(1.0), 2), &empty());
        assert!(!v.pass);
        assert!(v.checks[0].note.contains("2 acknowledged writes lost"));
    }

    fn restore_check(v: &Verdict) -> &Check {
        v.checks
            .iter()
            .find(|c| c.name.starts_with("restore:"))
            .expect("a restore check")
    }

    #[test]
    fn a_region_loss_is_judged_on_its_restore() {
        let p = profile(vec![]);
        let mut m = measurements(Some(40_000.0), 3);
        m.start_unix_ms = 1_000_000;
        let f = &mut m.faults[0];
        f.span.kind = FaultKind::RegionLoss;
        f.span.label = "region-loss (databases)".into();
        f.span.injected_us = 10_000_000;
        f.span.steps = vec![
            crate::measure::Step {
                name: "dcs-cleared".into(),
                at_us: 11_000_000,
            },
            crate::measure::Step {
                name: "restored".into(),
                at_us: 20_000_000,
            },
        ];
        f.span.recovered_to_unix_ms = Some(1_009_000);
        f.lost_acks_unix_ms = Some((1_009_100, 1_010_000));
        let v = judge(&p, &[], &m, &empty());
        let c = restore_check(&v);
        assert!(c.pass, "{c:?}");
        assert!(c.note.contains("restored after 9.0 s"), "{}", c.note);
        assert!(
            c.note.contains("3 acknowledged writes lost") && c.note.contains("all after it"),
            "{}",
            c.note
        );
        // A restored point older than the run is named as such, not as 0 s.
        let start = m.start_unix_ms;
        m.faults[0].span.recovered_to_unix_ms = Some(start.saturating_sub(12_500));
        let c = restore_check(&judge(&p, &[], &m, &empty())).clone();
        assert!(
            c.note
                .contains("restored to a commit 12.5 s before the run began"),
            "{}",
            c.note
        );
        m.faults[0].span.recovered_to_unix_ms = Some(1_009_000);
        // A write acknowledged long before the restored point yet missing:
        // the restore is wrong.
        m.faults[0].lost_acks_unix_ms = Some((1_002_000, 1_010_000));
        let v = judge(&p, &[], &m, &empty());
        assert!(!restore_check(&v).pass);
        // A failed restore fails with its reason.
        m.faults[0].lost_acks_unix_ms = None;
        m.faults[0].span.error =
            Some("restore from backup failed: ERROR: [075]: no backup set found".into());
        let v = judge(&p, &[], &m, &empty());
        let c = restore_check(&v);
        assert!(!c.pass && c.note.contains("no backup set found"));
    }

    #[test]
    fn a_restore_is_timed_to_the_first_write_and_names_the_sustained_recovery() {
        let p = profile(vec![target(CheckKind::Rto, 60_000.0, "1m")]);
        let mut m = measurements(Some(34_000.0), 0);
        m.faults[0].rto_basis = RtoMeasure::FirstWrite;
        m.faults[0].sustained_rto_ms = Some(72_000.0);
        let v = judge(&p, &[], &m, &empty());
        assert!(v.checks[0].pass, "{:?}", v.checks[0]);
        assert_eq!(v.checks[0].measured, Some(34_000.0));
        assert!(
            v.checks[0].note.contains("sustained recovery 72.0 s"),
            "{}",
            v.checks[0].note
        );
        m.faults[0].rto_ms = None;
        let v = judge(&p, &[], &m, &empty());
        assert!(!v.checks[0].pass);
        assert_eq!(v.checks[0].note, "no write served again within the run");
    }

    #[test]
    fn an_unreadable_database_fails_rpo_and_events_as_not_measured() {
        let p = profile(vec![
            target(CheckKind::Rpo, 900_000.0, "15m"),
            target(CheckKind::LostEvents, 0.0, "0"),
        ]);
        let mut m = measurements(Some(1.0), 0);
        m.writes.unreadable = Some("the database could not be read: connection refused".into());
        let v = judge(&p, &[], &m, &empty());
        for c in &v.checks[..2] {
            assert!(!c.pass && c.measured.is_none(), "{c:?}");
            assert!(
                c.note
                    .starts_with("not measured: the database could not be read"),
                "{}",
                c.note
            );
        }
    }

    #[test]
    fn unmeasured_checks_fail_rather_than_pass() {
        let p = profile(vec![target(CheckKind::ReplicationLag, 10_000.0, "10s")]);
        let v = judge(&p, &[], &measurements(Some(1.0), 0), &empty());
        assert!(!v.pass);
        assert_eq!(v.checks[0].measured, None);
    }
}
