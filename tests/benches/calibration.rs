//! Calibration: the measurement's false positives and spread, on the real
//! stack. Every fault kind alone, and no fault at all, each run N times
//! (`CALIBRATION_RUNS`, 10 by default) on one stack; a table of what each
//! measured. The no-fault runs must lose no write and no event, and must
//! be measured (a run whose database could not be read counts as *not
//! measured*, never as zero loss): anything else is the harness's own
//! error, and the bench fails.
//!
//! `cargo bench -p faultline-tests --bench calibration` (about 90 minutes on
//! two cores; not part of `make test`). `CALIBRATION_ONLY=steady,pod-kill`
//! runs a subset; `CALIBRATION_FAULT_RUNS` sets the runs of the fault cases
//! apart from the no-fault one (default: `CALIBRATION_RUNS`);
//! `CALIBRATION_KEEP=1` keeps every run's report folder (to explain a
//! figure). The table is printed and written to `reports/calibration.md`.

#[path = "../support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::time::Instant;

use faultline::stack::StackSettings;

/// One calibration case: its name and the `[[fault]]` table (empty: none).
const CASES: &[(&str, &str)] = &[
    ("steady", ""),
    (
        "pod-kill",
        r#"kind = "pod-kill"
at = "10s"
target = { service = "orders", zone = "a" }
restart_after = "5s""#,
    ),
    (
        "pod-pause",
        r#"kind = "pod-pause"
at = "10s"
target = { service = "gateway", zone = "b" }
duration = "5s""#,
    ),
    (
        "az-outage",
        r#"kind = "az-outage"
at = "10s"
target = { zone = "c" }
restart_after = "8s""#,
    ),
    (
        "az-isolation",
        r#"kind = "az-isolation"
at = "10s"
target = { zone = "a" }
duration = "10s""#,
    ),
    (
        "latency",
        r#"kind = "latency"
at = "10s"
duration = "8s"
target = { hop = "orders->postgres" }
latency = "150ms"
jitter = "30ms""#,
    ),
    (
        "bandwidth",
        r#"kind = "bandwidth"
at = "10s"
duration = "8s"
target = { hop = "gateway->orders" }
rate = 32
direction = "both""#,
    ),
    (
        "blackhole",
        r#"kind = "blackhole"
at = "10s"
duration = "8s"
target = { hop = "orders->redis" }"#,
    ),
    (
        "reset",
        r#"kind = "reset"
at = "10s"
duration = "8s"
target = { hop = "orders->kafka" }"#,
    ),
    (
        "partition",
        r#"kind = "partition"
at = "10s"
duration = "8s"
a = { zones = ["a"] }
b = { zones = ["b"] }"#,
    ),
    (
        "db-failover",
        r#"kind = "db-failover"
mode = "kill-leader"
at = "10s"
restart_after = "15s""#,
    ),
    (
        "db-switchover",
        r#"kind = "db-failover"
mode = "switchover"
at = "10s""#,
    ),
    (
        "broker-loss",
        r#"kind = "broker-loss"
at = "10s"
restart_after = "8s""#,
    ),
    (
        "cache-loss",
        r#"kind = "cache-loss"
at = "10s"
restart_after = "8s""#,
    ),
    (
        "region-loss",
        r#"kind = "region-loss"
at = "10s"
restore_after = "5s""#,
    ),
];

/// The scenario of a case: 100 req/s for 30 s (60 s for a region loss,
/// whose restore takes half a minute), judged by ias's profile (every
/// limit a faultline default).
fn scenario(name: &str, fault: &str) -> String {
    let duration = if name == "region-loss" { "60s" } else { "30s" };
    let mut s = format!(
        "name = \"calibration-{name}\"\nsystem = \"ias\"\n\n[load]\nrate = 100\nduration = \"{duration}\"\ntimeout = \"2s\"\n"
    );
    if !fault.is_empty() {
        s.push_str("\n[[fault]]\n");
        s.push_str(fault);
        s.push('\n');
    }
    s
}

/// What one case measured over its runs.
#[derive(Default)]
struct Tally {
    runs: u32,
    errors: Vec<String>,
    /// Why writes or events could not be counted in a run (the database
    /// could not be read): such a run counts no loss, not zero loss.
    not_measured: Vec<String>,
    lost_writes: Vec<u64>,
    lost_events: Vec<u64>,
    late_events: Vec<u64>,
    acked: u64,
    rto_ms: Vec<f64>,
    no_outage: u32,
    never_recovered: u32,
}

fn spread(v: &[f64]) -> String {
    if v.is_empty() {
        return "—".into();
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let ms = |x: f64| {
        if x >= 1000.0 {
            format!("{:.2} s", x / 1000.0)
        } else {
            format!("{x:.0} ms")
        }
    };
    format!(
        "{} / {} / {}",
        ms(s[0]),
        ms(s[s.len() / 2]),
        ms(s[s.len() - 1])
    )
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let runs: u32 = std::env::var("CALIBRATION_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let fault_runs: u32 = std::env::var("CALIBRATION_FAULT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(runs);
    let keep = std::env::var_os("CALIBRATION_KEEP").is_some();
    let only: Option<Vec<String>> = std::env::var("CALIBRATION_ONLY")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let started = Instant::now();
    let table = rt.block_on(async {
        let stack = support::start_stack(StackSettings::default()).await;
        let dir = std::env::temp_dir().join(format!("faultline-calibration-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        let mut tallies = Vec::new();
        for (name, fault) in CASES {
            if only.as_ref().is_some_and(|o| !o.iter().any(|n| n == name)) {
                continue;
            }
            let path = dir.join(format!("{name}.toml"));
            std::fs::write(&path, scenario(name, fault)).expect("the scenario file");
            let mut t = Tally::default();
            let rounds = if fault.is_empty() { runs } else { fault_runs };
            for round in 0..rounds {
                let out = dir.join(format!("{name}-{round}"));
                let outcome = match faultline::Prepared::load(&path) {
                    Ok(p) => p.seed(1000 + u64::from(round)).out_dir(&out).run(&stack).await,
                    Err(e) => panic!("{name}: {e}"),
                };
                t.runs += 1;
                match outcome {
                    Err(e) => t.errors.push(e.to_string()),
                    Ok(o) => {
                        let m = &o.report.metrics;
                        let unmeasured = m
                            .rpo
                            .not_measured
                            .clone()
                            .or_else(|| m.events.not_measured.clone());
                        if let Some(why) = &unmeasured {
                            t.not_measured.push(why.clone());
                        } else {
                            t.acked += m.rpo.acked;
                            t.lost_writes.push(m.rpo.lost);
                            t.lost_events.push(m.events.lost);
                            t.late_events.push(m.events.late);
                        }
                        for f in &o.report.faults {
                            match f.rto_ms {
                                Some(_) if !f.outage => t.no_outage += 1,
                                Some(ms) => t.rto_ms.push(ms),
                                None => t.never_recovered += 1,
                            }
                        }
                        if let Some(why) = &unmeasured {
                            eprintln!("{name} {round}: writes and events not measured: {why}");
                        }
                        eprintln!(
                            "{name} {round}: lost writes {}, lost events {}, late {}, RTO {:?} (outage {}), {:.0} s so far",
                            m.rpo.lost,
                            m.events.lost,
                            m.events.late,
                            o.report.faults.first().and_then(|f| f.rto_ms),
                            o.report.faults.first().is_none_or(|f| f.outage),
                            started.elapsed().as_secs_f64()
                        );
                    }
                }
                if !keep {
                    let _ = std::fs::remove_dir_all(&out);
                }
            }
            tallies.push((*name, t));
        }
        if keep {
            eprintln!("every run's report folder is kept under {}", dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&dir);
        }
        tallies
    });
    let mut md = String::from(
        "| case | runs | writes and events not measured (runs) | acknowledged writes | lost writes (runs with any) | lost events (runs with any) | late events | RTO min / median / max | no outage | never recovered | harness errors |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut false_positives = Vec::new();
    for (name, t) in &table {
        let total = |v: &[u64]| v.iter().sum::<u64>();
        let with_any = |v: &[u64]| v.iter().filter(|n| **n > 0).count();
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {} ({}) | {} ({}) | {} | {} | {} | {} | {} |",
            t.runs,
            t.not_measured.len(),
            t.acked,
            total(&t.lost_writes),
            with_any(&t.lost_writes),
            total(&t.lost_events),
            with_any(&t.lost_events),
            total(&t.late_events),
            spread(&t.rto_ms),
            t.no_outage,
            t.never_recovered,
            t.errors.len()
        );
        if *name == "steady"
            && (total(&t.lost_writes) > 0
                || total(&t.lost_events) > 0
                || !t.errors.is_empty()
                || !t.not_measured.is_empty())
        {
            false_positives.push(format!(
                "no-fault runs lost {} writes and {} events ({} harness errors: {:?}; {} not measured: {:?})",
                total(&t.lost_writes),
                total(&t.lost_events),
                t.errors.len(),
                t.errors,
                t.not_measured.len(),
                t.not_measured
            ));
        }
    }
    let steady_runs = table
        .iter()
        .find(|(name, _)| *name == "steady")
        .map_or(0, |(_, t)| t.runs);
    let _ = writeln!(
        md,
        "\n{steady_runs} runs without a fault, {fault_runs} per fault case, 100 req/s for 30 s (60 s for region-loss), one stack, in {:.0} min.",
        started.elapsed().as_secs_f64() / 60.0
    );
    println!("{md}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let _ = std::fs::write(root.join("reports/calibration.md"), &md);
    assert!(false_positives.is_empty(), "{}", false_positives.join("; "));
}
