//! Reports: the data a run leaves behind, and its renderings — console
//! table, `report.json` (stable keys, checked-in schema), `report.md`,
//! `report.html` (self-contained, SVG charts, no JavaScript), `junit.xml`,
//! `timeline.csv` and the fault journal. Pure: building and rendering only;
//! [`write`] is the one function that touches the disk.

pub mod console;
pub mod drill;
pub mod escape;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod svg;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::faults::spec::FaultKind;
use crate::measure::summary::RtoMeasure;

use crate::measure::{
    BudgetBurn, EventSummary, LatencySummary, LossCause, LostWrite, Measurements, PhaseMetrics,
    Timeline, SECOND_US,
};
use crate::verdict::{Check, Verdict};

/// `metrics.rpo` of `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpoMetrics {
    /// Acknowledged writes.
    pub acked: u64,
    /// Of which lost.
    pub lost: u64,
    /// The worst RPO window over the faults, ms.
    pub window_ms: f64,
    /// Unknown-outcome writes found in the database.
    pub recovered: u64,
    /// Why lost writes were not measured (the database could not be read);
    /// absent when they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_measured: Option<String>,
    /// Lost writes per cause (`split-brain`, `unreplicated-on-failover`,
    /// `after-restore-point`, `unknown`).
    #[serde(default)]
    pub lost_by_cause: std::collections::BTreeMap<LossCause, u64>,
    /// The first lost writes, each with who acknowledged it and why it is
    /// missing.
    #[serde(default)]
    pub lost_writes: Vec<LostWrite>,
}

/// How many lost writes a report lists one by one.
pub const LOST_WRITES_LISTED: usize = 20;

/// `metrics` of `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// ok / attempted over the run.
    pub availability: f64,
    /// 1 − availability.
    pub error_rate: f64,
    /// Whole-run latency, ms.
    pub latency_ms: LatencySummary,
    /// The worst RTO over the faults, ms (`null`: a fault never recovered,
    /// or there was no fault).
    pub rto_ms: Option<f64>,
    /// Writes.
    pub rpo: RpoMetrics,
    /// Events: on time, late and lost, the delay distribution, and the
    /// stage and evidence of every lost one.
    pub events: EventSummary,
    /// Requests scheduled.
    pub requests: u64,
    /// Requests per second actually started.
    pub achieved_rate: f64,
    /// The generator's own lateness p99, ms.
    pub generator_lateness_p99_ms: f64,
    /// Monthly error-budget burn, when the profile has an availability target.
    pub budget: Option<BudgetBurn>,
    /// Worst replication lag, seconds.
    pub max_replication_lag_s: Option<f64>,
    /// Worst consumer lag, messages.
    pub max_consumer_lag: Option<f64>,
}

/// One fault in `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// The id of the plan step it came from (its place in the scenario
    /// file, from 0), as in `plan.json` and `faults.jsonl`.
    #[serde(default)]
    pub id: usize,
    /// Kind (`pod-kill`).
    pub kind: FaultKind,
    /// What it acted on (containers or hop).
    pub target: String,
    /// Its label.
    pub label: String,
    /// Injection time, RFC 3339.
    pub injected_at: String,
    /// Revert time, RFC 3339 (`null`: not reverted).
    pub reverted_at: Option<String>,
    /// Injection (in effect: the engine's call returned), seconds from the
    /// run's start.
    pub injected_at_s: f64,
    /// How long the engine took to put it in effect, ms.
    #[serde(default)]
    pub inject_call_ms: f64,
    /// Revert, seconds from the run's start.
    pub reverted_at_s: Option<f64>,
    /// Its RTO, ms, measured as `rto_basis` says.
    pub rto_ms: Option<f64>,
    /// `sustained` (availability back and holding) or `first-write` (a
    /// restore: the first write served again).
    #[serde(default)]
    pub rto_basis: RtoMeasure,
    /// Until availability was back and holding, ms (differs from `rto_ms`
    /// only for a `first-write` basis).
    #[serde(default)]
    pub sustained_rto_ms: Option<f64>,
    /// Whether it made requests bad beyond the tolerance: `false` is *no
    /// outage* (and `rto_ms` 0).
    #[serde(default = "outage_by_default")]
    pub outage: bool,
    /// Acknowledged writes lost to it.
    pub lost_writes: u64,
    /// Its RPO window, ms.
    pub rpo_window_ms: f64,
    /// Why injecting or reverting failed.
    pub error: Option<String>,
    /// The timed steps of its revert (a restore), seconds from the start.
    #[serde(default)]
    pub steps: Vec<(String, f64)>,
}

/// One second of the timeline (charts and `timeline.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondRow {
    /// Seconds from the start.
    pub second: u64,
    /// Requests scheduled in it.
    pub attempts: u64,
    /// Succeeded.
    pub ok: u64,
    /// Good (succeeded within the bound).
    pub good: u64,
    /// Failed.
    pub failed: u64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Replication lag sampled in this second, seconds.
    pub replication_lag_s: Option<f64>,
    /// Consumer lag sampled in this second, messages.
    pub consumer_lag: Option<f64>,
}

/// Everything a run's report shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: String,
    /// System profile.
    pub system: String,
    /// Its title.
    pub system_title: String,
    /// The seed (replays the op sequence, order ids and fault targets).
    pub seed: u64,
    /// `pass` or `fail`.
    pub verdict: String,
    /// The checks.
    pub checks: Vec<Check>,
    /// Key metrics.
    pub metrics: Metrics,
    /// The faults.
    pub faults: Vec<FaultRecord>,
    /// Per-phase metrics.
    pub phases: Vec<PhaseMetrics>,
    /// The run id of the stack.
    pub run_id: String,
    /// When the load started, RFC 3339.
    pub started_at: String,
    /// The command that replays the run.
    pub command: String,
    /// Whether the run was interrupted.
    pub interrupted: bool,
    /// Whether any check's limit is a faultline default.
    pub uses_defaults: bool,
    /// Notes for the reader.
    pub notes: Vec<String>,
    /// The faultline version that made it.
    pub faultline_version: String,
}

fn outage_by_default() -> bool {
    true
}

fn rfc3339(unix_ms: u64) -> String {
    humantime::format_rfc3339_millis(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(unix_ms),
    )
    .to_string()
}

/// The facts about a run that are not measurements.
pub struct RunInfo<'a> {
    /// Scenario name.
    pub scenario: &'a str,
    /// Scenario description.
    pub description: &'a str,
    /// Profile name.
    pub system: &'a str,
    /// Profile title.
    pub system_title: &'a str,
    /// Seed.
    pub seed: u64,
    /// Stack run id.
    pub run_id: &'a str,
    /// Load start, ms since the epoch.
    pub started_unix_ms: u64,
    /// Replay command.
    pub command: String,
    /// Interrupted.
    pub interrupted: bool,
    /// Requests started and the target rate's span.
    pub sent: u64,
    /// Load duration, seconds.
    pub load_s: f64,
    /// The fault journal.
    pub journal: &'a [crate::faults::JournalEntry],
    /// Extra notes.
    pub notes: Vec<String>,
}

/// Builds the report of a run.
pub fn build(info: RunInfo, m: &Measurements, verdict: &Verdict) -> Report {
    let faults = info
        .journal
        .iter()
        .map(|j| (j, m.faults.iter().find(|f| f.span.id == j.id)))
        .map(|(j, f)| FaultRecord {
            id: j.id,
            kind: j.kind,
            target: j.targets.join(", "),
            label: j.label.clone(),
            injected_at: rfc3339(j.injected_unix_ms),
            reverted_at: j.reverted_unix_ms.map(rfc3339),
            injected_at_s: j.injected_at_us as f64 / 1e6,
            inject_call_ms: j.injected_at_us.saturating_sub(j.requested_at_us) as f64 / 1e3,
            reverted_at_s: j.reverted_at_us.map(|u| u as f64 / 1e6),
            rto_ms: f.and_then(|f| f.rto_ms),
            rto_basis: f.map_or(RtoMeasure::Sustained, |f| f.rto_basis),
            sustained_rto_ms: f.and_then(|f| f.sustained_rto_ms),
            outage: f.is_none_or(|f| f.outage),
            lost_writes: f.map_or(0, |f| f.lost_writes),
            rpo_window_ms: f.map_or(0.0, |f| f.rpo_window_ms),
            error: j.error.clone(),
            steps: j
                .steps
                .iter()
                .map(|s| (s.name.clone(), s.at_us as f64 / 1e6))
                .collect(),
        })
        .collect::<Vec<_>>();
    let worst_rto = if m.faults.is_empty() || m.faults.iter().any(|f| f.rto_ms.is_none()) {
        None
    } else {
        m.faults
            .iter()
            .filter_map(|f| f.rto_ms)
            .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))))
    };
    let uses_defaults = verdict.checks.iter().any(|c| c.default);
    Report {
        scenario: info.scenario.into(),
        description: info.description.into(),
        system: info.system.into(),
        system_title: info.system_title.into(),
        seed: info.seed,
        verdict: if verdict.pass { "pass" } else { "fail" }.into(),
        checks: verdict.checks.clone(),
        metrics: Metrics {
            availability: m.availability,
            error_rate: m.error_rate,
            latency_ms: m.latency_ms,
            rto_ms: worst_rto,
            rpo: RpoMetrics {
                acked: m.writes.acked,
                lost: m.writes.lost,
                window_ms: m.faults.iter().map(|f| f.rpo_window_ms).fold(0.0, f64::max),
                recovered: m.writes.recovered,
                not_measured: m.writes.unreadable.clone(),
                lost_by_cause: m.writes.explained.iter().fold(
                    std::collections::BTreeMap::new(),
                    |mut by, w| {
                        *by.entry(w.cause).or_default() += 1;
                        by
                    },
                ),
                lost_writes: m
                    .writes
                    .explained
                    .iter()
                    .take(LOST_WRITES_LISTED)
                    .cloned()
                    .collect(),
            },
            events: m.events.clone(),
            requests: m.attempts,
            achieved_rate: info.sent as f64 / info.load_s.max(1e-9),
            generator_lateness_p99_ms: m.lateness_p99_ms,
            budget: m.budget,
            max_replication_lag_s: m.max_replication_lag_s,
            max_consumer_lag: m.max_consumer_lag,
        },
        faults,
        phases: m.phases.clone(),
        run_id: info.run_id.into(),
        started_at: rfc3339(info.started_unix_ms),
        command: info.command,
        interrupted: info.interrupted,
        uses_defaults,
        notes: info.notes,
        faultline_version: env!("CARGO_PKG_VERSION").into(),
    }
}

/// The per-second rows of a timeline, with probe samples folded in.
pub fn seconds(t: &Timeline) -> Vec<SecondRow> {
    let mut rows: Vec<SecondRow> = t
        .windows
        .iter()
        .map(|w| SecondRow {
            second: w.second,
            attempts: w.attempts,
            ok: w.ok,
            good: w.good,
            failed: w.failed(),
            p50_ms: if w.latency.is_empty() {
                0.0
            } else {
                w.latency.value_at_quantile(0.5) as f64 / 1000.0
            },
            p99_ms: if w.latency.is_empty() {
                0.0
            } else {
                w.latency.value_at_quantile(0.99) as f64 / 1000.0
            },
            replication_lag_s: None,
            consumer_lag: None,
        })
        .collect();
    for p in &t.probes {
        let s = (p.at_us / SECOND_US) as usize;
        let Some(row) = rows.get_mut(s) else { continue };
        if p.probe == crate::probes::REPLICATION_LAG_SECONDS {
            row.replication_lag_s = Some(row.replication_lag_s.map_or(p.value, |v| v.max(p.value)));
        } else if p.probe.starts_with(crate::probes::CONSUMER_LAG) {
            row.consumer_lag = Some(row.consumer_lag.unwrap_or(0.0) + p.value);
        }
    }
    rows
}

/// `timeline.csv`.
pub fn timeline_csv(rows: &[SecondRow]) -> String {
    let mut s = String::from(
        "second,attempts,ok,good,failed,p50_ms,p99_ms,replication_lag_s,consumer_lag\n",
    );
    for r in rows {
        let opt = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_default();
        s.push_str(&format!(
            "{},{},{},{},{},{:.3},{:.3},{},{}\n",
            r.second,
            r.attempts,
            r.ok,
            r.good,
            r.failed,
            r.p50_ms,
            r.p99_ms,
            opt(r.replication_lag_s),
            opt(r.consumer_lag)
        ));
    }
    s
}

/// Reads `timeline.csv` back (what [`timeline_csv`] wrote): a line that is
/// not a row is an error at its line, never skipped.
pub fn parse_timeline_csv(text: &str) -> Result<Vec<SecondRow>, (usize, String)> {
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let f: Vec<&str> = l.split(',').collect();
            let bad = |what: &str| (i + 1, format!("{what} in {l:?}"));
            if f.len() < 9 {
                return Err(bad(&format!("{} fields where 9 are expected", f.len())));
            }
            let num = |n: usize, name: &str| -> Result<u64, (usize, String)> {
                f[n].parse()
                    .map_err(|_| bad(&format!("{name} is not a number")))
            };
            let num_f = |n: usize, name: &str| -> Result<f64, (usize, String)> {
                f[n].parse()
                    .map_err(|_| bad(&format!("{name} is not a number")))
            };
            let opt = |n: usize, name: &str| -> Result<Option<f64>, (usize, String)> {
                if f[n].is_empty() {
                    Ok(None)
                } else {
                    num_f(n, name).map(Some)
                }
            };
            Ok(SecondRow {
                second: num(0, "second")?,
                attempts: num(1, "attempts")?,
                ok: num(2, "ok")?,
                good: num(3, "good")?,
                failed: num(4, "failed")?,
                p50_ms: num_f(5, "p50_ms")?,
                p99_ms: num_f(6, "p99_ms")?,
                replication_lag_s: opt(7, "replication_lag_s")?,
                consumer_lag: opt(8, "consumer_lag")?,
            })
        })
        .collect()
}

/// One file of a report folder and how it is rendered.
pub struct Rendering {
    /// Its name in the folder.
    pub file: &'static str,
    /// Renders it from the report and its per-second rows.
    pub render: fn(&Report, &[SecondRow]) -> String,
}

/// Every rendering of a report: the one table `run`, `report DIR` and the
/// drill's runs write from. (`faults.jsonl` is written by the journal as
/// the run goes, `plan.json` before it starts.)
pub const RENDERINGS: &[Rendering] = &[
    Rendering {
        file: "report.json",
        render: |r, _| {
            // A report is plain data: serialising it cannot fail.
            serde_json::to_string_pretty(r).unwrap_or_default() + "\n"
        },
    },
    Rendering {
        file: "report.md",
        render: |r, _| markdown::render(r),
    },
    Rendering {
        file: "report.html",
        render: html::render,
    },
    Rendering {
        file: "junit.xml",
        render: |r, _| junit::render(r),
    },
    Rendering {
        file: "timeline.csv",
        render: |_, rows| timeline_csv(rows),
    },
];

/// Writes every rendering of a report ([`RENDERINGS`]) into `dir`
/// (created if needed).
pub fn write(dir: &Path, report: &Report, rows: &[SecondRow]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for r in RENDERINGS {
        std::fs::write(dir.join(r.file), (r.render)(report, rows))?;
    }
    Ok(())
}

/// A compact duration for tables: `850 ms`, `12.3 s`, `4.5 min`.
pub fn fmt_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.3} ms")
    } else if ms < 1_000.0 {
        format!("{ms:.0} ms")
    } else if ms < 120_000.0 {
        format!("{:.3} s", ms / 1000.0)
    } else {
        format!("{:.1} min", ms / 60_000.0)
    }
}

/// A revert's steps as a reader wants them: `restored +9.0 s, replayed
/// +2.1 s` (each after the one before, the first after the injection).
pub fn fmt_steps(f: &FaultRecord) -> String {
    let mut prev = f.injected_at_s;
    f.steps
        .iter()
        .map(|(name, at)| {
            let s = format!("{name} +{:.1} s", at - prev);
            prev = *at;
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A fault's RTO as a reader wants it: `2.004 s`, `no outage`, or for a
/// restore `34.012 s to the first write (sustained 70.621 s)`.
pub fn fmt_rto(f: &FaultRecord) -> String {
    if !f.outage {
        return "no outage".into();
    }
    match (f.rto_ms, f.rto_basis) {
        (None, RtoMeasure::FirstWrite) => "no write served again".into(),
        (None, _) => "not recovered".into(),
        (Some(ms), RtoMeasure::FirstWrite) => format!(
            "{} to the first write (sustained {})",
            fmt_ms(ms),
            f.sustained_rto_ms
                .map_or_else(|| "not within the run".into(), fmt_ms)
        ),
        (Some(ms), _) => fmt_ms(ms),
    }
}

/// The event check as a reader wants it: `1203 expected: 1190 on time,
/// 10 late (worst 45.2 s, p99 12.0 s), 3 lost (2 not-consumed, 1
/// never-relayed); 0 duplicated`.
pub fn fmt_events(e: &EventSummary) -> String {
    if let Some(why) = &e.not_measured {
        return format!("not measured ({why})");
    }
    let mut s = format!("{} expected: {} on time", e.expected, e.on_time);
    if e.late > 0 {
        s.push_str(&format!(", {} late", e.late));
    }
    if let (Some(max), Some(p99)) = (e.delay_max_ms, e.delay_p99_ms) {
        s.push_str(&format!(
            " (delay worst {}, p99 {}; late beyond {})",
            fmt_ms(max),
            fmt_ms(p99),
            fmt_ms(e.delay_bound_ms as f64)
        ));
    }
    s.push_str(&format!(", {} lost", e.lost));
    if !e.lost_by_stage.is_empty() {
        let stages: Vec<String> = e
            .lost_by_stage
            .iter()
            .map(|(stage, n)| format!("{n} {}", stage.name()))
            .collect();
        s.push_str(&format!(" ({})", stages.join(", ")));
    }
    s.push_str(&format!("; {} duplicated", e.duplicated));
    if !e.settle.drained && e.settle.limit_ms > 0 {
        s.push_str(&format!(
            "; not drained after the {} settle limit",
            fmt_ms(e.settle.limit_ms as f64)
        ));
    }
    s
}

/// Acknowledged / lost / recovered writes as a reader wants them: `1200 /
/// 0 / 3`, or `1200 / not measured (why)`.
pub fn fmt_writes(rpo: &RpoMetrics) -> String {
    match &rpo.not_measured {
        Some(why) => format!("{} / not measured ({why})", rpo.acked),
        None if rpo.lost_by_cause.is_empty() => {
            format!("{} / {} / {}", rpo.acked, rpo.lost, rpo.recovered)
        }
        None => {
            let causes: Vec<String> = rpo
                .lost_by_cause
                .iter()
                .map(|(cause, n)| format!("{n} {}", cause.name()))
                .collect();
            format!(
                "{} / {} ({}) / {}",
                rpo.acked,
                rpo.lost,
                causes.join(", "),
                rpo.recovered
            )
        }
    }
}

/// A check's measured value as a reader wants it.
pub fn fmt_measured(c: &Check) -> String {
    match c.measured {
        None => "not measured".into(),
        Some(v) => match c.unit.as_str() {
            "ms" => fmt_ms(v),
            "ratio" => format!("{:.3} %", v * 100.0),
            _ => format!("{v:.0}"),
        },
    }
}

#[cfg(test)]
pub(crate) mod sample {
    //! A fixed report for the renderers' tests.
    use super::*;

    pub fn report() -> (Report, Vec<SecondRow>) {
        let checks = vec![
            Check {
                name: "rto: fault 1 (pod-kill orders zone a)".into(),
                limit: "≤ 15m".into(),
                limit_value: 900_000.0,
                measured: Some(2_004.0),
                unit: "ms".into(),
                pass: true,
                source: "HA & DR: \"RTO < 15 minutes\"".into(),
                default: false,
                note: String::new(),
            },
            Check {
                name: "p95".into(),
                limit: "≤ 500ms".into(),
                limit_value: 500.0,
                measured: Some(612.5),
                unit: "ms".into(),
                pass: false,
                source: "Alerts: \"Latency p95 > 500ms\"".into(),
                default: false,
                note: String::new(),
            },
            Check {
                name: "lost_events".into(),
                limit: "≤ 0".into(),
                limit_value: 0.0,
                measured: Some(0.0),
                unit: "count".into(),
                pass: true,
                source: "faultline default: every stored order's event reaches analytics".into(),
                default: true,
                note: "120 expected, 0 duplicated".into(),
            },
        ];
        let rows: Vec<SecondRow> = (0..30)
            .map(|s| SecondRow {
                second: s,
                attempts: 100,
                ok: if (10..13).contains(&s) { 40 } else { 100 },
                good: if (10..13).contains(&s) { 30 } else { 99 },
                failed: if (10..13).contains(&s) { 60 } else { 0 },
                p50_ms: 3.0 + (s % 3) as f64,
                p99_ms: if (10..13).contains(&s) { 900.0 } else { 20.0 },
                replication_lag_s: Some(if s == 11 { 2.5 } else { 0.1 }),
                consumer_lag: Some(if s == 12 { 40.0 } else { 0.0 }),
            })
            .collect();
        let report = Report {
            scenario: "orders-pod-kill".into(),
            description: "Kill one orders replica; traffic must shift within seconds.".into(),
            system: "customer-service".into(),
            system_title: "Customer Service".into(),
            seed: 42,
            verdict: "fail".into(),
            checks,
            metrics: Metrics {
                availability: 0.94,
                error_rate: 0.06,
                latency_ms: LatencySummary {
                    p50: 3.9,
                    p95: 612.5,
                    p99: 880.0,
                    max: 1_950.0,
                },
                rto_ms: Some(2_004.0),
                rpo: RpoMetrics {
                    acked: 1_200,
                    lost: 0,
                    window_ms: 0.0,
                    recovered: 3,
                    not_measured: None,
                    lost_by_cause: Default::default(),
                    lost_writes: Vec::new(),
                },
                events: EventSummary {
                    expected: 1_203,
                    on_time: 1_203,
                    delay_bound_ms: 60_000,
                    delay_p99_ms: Some(41.0),
                    delay_max_ms: Some(212.0),
                    ..EventSummary::default()
                },
                requests: 3_000,
                achieved_rate: 100.0,
                generator_lateness_p99_ms: 0.2,
                budget: None,
                max_replication_lag_s: Some(2.5),
                max_consumer_lag: Some(40.0),
            },
            faults: vec![FaultRecord {
                id: 0,
                kind: FaultKind::PodKill,
                target: "orders-a".into(),
                label: "pod-kill orders zone a".into(),
                injected_at: "2026-11-21T10:00:10.000Z".into(),
                reverted_at: Some("2026-11-21T10:00:15.000Z".into()),
                injected_at_s: 10.0,
                inject_call_ms: 12.0,
                reverted_at_s: Some(15.0),
                rto_ms: Some(2_004.0),
                rto_basis: RtoMeasure::Sustained,
                sustained_rto_ms: Some(2_004.0),
                outage: true,
                lost_writes: 0,
                rpo_window_ms: 0.0,
                error: None,
                steps: Vec::new(),
            }],
            phases: Vec::new(),
            run_id: "1a2b3c".into(),
            started_at: "2026-11-21T10:00:00.000Z".into(),
            command: "faultline run scenarios/pod-kill.toml --system customer-service --seed 42"
                .into(),
            interrupted: false,
            uses_defaults: true,
            notes: vec![],
            faultline_version: "0.1.0".into(),
        };
        (report, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_json_matches_its_checked_in_schema() {
        let (r, _) = sample::report();
        let schema_path = crate::project::root().join("reports/schema/report.schema.json");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let instance = serde_json::to_value(&r).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        // And a report missing a stable key does not.
        let mut broken = instance.clone();
        broken["metrics"].as_object_mut().unwrap().remove("rpo");
        assert!(!validator.is_valid(&broken));
        // The schema names exactly the registry's kinds.
        let kinds: Vec<&str> = schema
            .pointer("/properties/faults/items/properties/kind/enum")
            .and_then(|e| e.as_array())
            .expect("the schema lists the fault kinds")
            .iter()
            .filter_map(|k| k.as_str())
            .collect();
        let registry: Vec<&str> = crate::faults::FaultKind::ALL
            .iter()
            .map(|k| k.name())
            .collect();
        assert_eq!(kinds, registry, "reports/schema/report.schema.json's kinds");
    }

    #[test]
    fn the_json_round_trips_for_faultline_report() {
        let (r, rows) = sample::report();
        let back: Report = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        assert_eq!(parse_timeline_csv(&timeline_csv(&rows)), Ok(rows));
        let broken = "second,attempts,ok,good,failed,p50_ms,p99_ms,replication_lag_s,consumer_lag\n0,1,1,1,0,2.0,3.0,,\n1,x,1,1,0,2.0,3.0,,\n";
        assert_eq!(parse_timeline_csv(broken).unwrap_err().0, 3);
    }

    #[test]
    fn console_summary_snapshot() {
        let (r, _) = sample::report();
        insta::with_settings!({filters => vec![
            (r"\d{4}-\d{2}-\d{2}T[0-9:.]+Z", "[time]"),
            (r"stack [0-9a-f]{6}", "stack [run]"),
        ]}, {
            insta::assert_snapshot!(console::render(&r));
        });
    }

    #[test]
    fn markdown_snapshot() {
        let (r, _) = sample::report();
        insta::with_settings!({filters => vec![
            (r"\d{4}-\d{2}-\d{2}T[0-9:.]+Z", "[time]"),
            (r"stack [0-9a-f]{6}", "stack [run]"),
        ]}, {
            insta::assert_snapshot!(markdown::render(&r));
        });
    }
}
