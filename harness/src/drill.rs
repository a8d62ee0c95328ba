//! `faultline drill`: a suite run for one system profile as the monthly DR
//! drill — every scenario on one stack, each with its own report, then a
//! drill report (targets against measured, pass/fail, and the trend against
//! the previous drills of the same system) in
//! `reports/drills/<YYYY-MM>-<system>/`. Drills are remembered in
//! `reports/history.jsonl`, one JSON line per drill: a file-based store
//! that needs no server and survives across runs.

use std::path::PathBuf;
use std::time::SystemTime;

pub use faultline_core::drill::{
    append_history, read_history, this_month, DrillRecord, History, ScenarioResult,
};

use crate::error::Error;
use crate::platform::Platform;
use crate::report::drill as render;
use crate::run::{self, Interrupt, RunOptions};
use crate::stack::Stack;
use crate::suite::Suite;
use crate::targets::{CheckKind, Profile};

/// Options of a drill.
#[derive(Debug, Clone, Default)]
pub struct DrillOptions {
    /// Root of drill folders (default `reports/drills`).
    pub drills_dir: Option<PathBuf>,
    /// History file (default `reports/history.jsonl`).
    pub history: Option<PathBuf>,
    /// Month label (default: this month, UTC).
    pub month: Option<String>,
    /// Seed for every scenario (default: each scenario's own or random).
    pub seed: Option<u64>,
    /// Accept a non-local engine.
    pub allow_remote: bool,
    /// Print nothing while running.
    pub quiet: bool,
    /// Keep a stack the drill started.
    pub keep_stack: bool,
}

/// Runs a drill on a stack that is up.
pub async fn run_on(
    stack: &Stack,
    suite: &Suite,
    profile: &Profile,
    opts: &DrillOptions,
) -> Result<(DrillRecord, PathBuf), Error> {
    let root = crate::project::root();
    let month = opts.month.clone().unwrap_or_else(this_month);
    let drills_dir = opts
        .drills_dir
        .clone()
        .unwrap_or_else(|| root.join("reports/drills"));
    let folder = drills_dir.join(format!("{month}-{}", profile.name));
    let history_path = opts
        .history
        .clone()
        .unwrap_or_else(|| root.join("reports/history.jsonl"));
    let history = read_history(&history_path);
    if !opts.quiet {
        for line in &history.unreadable {
            eprintln!("history: {line} (left out of the trend)");
        }
    }
    let previous: Option<DrillRecord> = history
        .drills
        .into_iter()
        .rfind(|d| d.system == profile.name);
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let mut interrupt = Interrupt::install();
    let mut results = Vec::new();
    for path in &suite.scenarios {
        if interrupt.is_set() {
            return Err(Error::Interrupted);
        }
        let (scenario, profile) = run::load(path, Some(&profile.name))?;
        let rel = format!("runs/{}", scenario.name);
        let ropts = RunOptions {
            out_dir: Some(folder.join(&rel)),
            seed: opts.seed,
            quiet: opts.quiet,
            allow_remote: opts.allow_remote,
            ..RunOptions::default()
        };
        if !opts.quiet {
            eprintln!(
                "== {} ({} of {})",
                scenario.name,
                results.len() + 1,
                suite.scenarios.len()
            );
        }
        let seed = opts.seed.or(scenario.seed).unwrap_or_else(rand::random);
        let outcome = run::run_on(stack, &scenario, &profile, &ropts, seed, &mut interrupt).await;
        results.push(match outcome {
            Ok(o) if o.interrupted => return Err(Error::Interrupted),
            Ok(o) => {
                let m = &o.report.metrics;
                ScenarioResult {
                    scenario: scenario.name.clone(),
                    verdict: o.report.verdict.clone(),
                    rto_ms: m.rto_ms,
                    rpo_window_ms: m.rpo.window_ms,
                    lost_writes: m.rpo.lost,
                    availability: m.availability,
                    budget_share: m.budget.map(|b| b.share),
                    p95_ms: m.latency_ms.p95,
                    p99_ms: m.latency_ms.p99,
                    failed_checks: o.verdict.failed().iter().map(|s| s.to_string()).collect(),
                    report: format!("{rel}/report.html"),
                    error: None,
                    restore: o
                        .report
                        .faults
                        .iter()
                        .find(|f| !f.steps.is_empty())
                        .map(crate::report::fmt_steps),
                }
            }
            Err(Error::Interrupted) => return Err(Error::Interrupted),
            Err(e) => ScenarioResult {
                scenario: scenario.name.clone(),
                verdict: "error".into(),
                error: Some(e.to_string()),
                ..ScenarioResult::default()
            },
        });
    }
    let record = DrillRecord {
        system: profile.name.clone(),
        month,
        started_at,
        finished_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        suite: suite.name.clone(),
        pass: results.iter().all(|r| r.verdict == "pass"),
        scenarios: results,
        folder: folder.display().to_string(),
    };
    let targets: Vec<(CheckKind, String, String)> = profile
        .targets
        .iter()
        .map(|t| (t.check, t.limit_text.clone(), t.source.clone()))
        .collect();
    std::fs::create_dir_all(&folder)
        .map_err(|e| Error::Environment(format!("{}: {e}", folder.display())))?;
    let page = render::Drill {
        record: &record,
        previous: previous.as_ref(),
        profile_title: &profile.title,
        document: &profile.document,
        targets: &targets,
        no_numeric_targets: profile.no_numeric_targets,
    };
    let write = |name: &str, text: String| {
        std::fs::write(folder.join(name), text)
            .map_err(|e| Error::Environment(format!("{}: {e}", folder.join(name).display())))
    };
    write("drill.md", render::markdown(&page))?;
    write("index.html", render::html(&page))?;
    write(
        "drill.json",
        serde_json::to_string_pretty(&record).unwrap_or_default() + "\n",
    )?;
    append_history(&history_path, &record)
        .map_err(|e| Error::Environment(format!("{}: {e}", history_path.display())))?;
    Ok((record, folder))
}

/// `faultline drill`: starts (or reuses) a stack for the profile and runs
/// the suite.
pub async fn execute(
    suite: &Suite,
    profile: &Profile,
    opts: &DrillOptions,
) -> Result<(DrillRecord, PathBuf), Error> {
    // Validate every scenario against this profile before anything starts.
    for path in &suite.scenarios {
        run::load(path, Some(&profile.name))?;
    }
    let platform = Platform::connect(opts.allow_remote).await?;
    let ropts = RunOptions {
        quiet: opts.quiet,
        allow_remote: opts.allow_remote,
        ..RunOptions::default()
    };
    let mut interrupt = Interrupt::install();
    let (stack, owned) = run::obtain_stack(&platform, profile, &ropts, &mut interrupt).await?;
    let result = run_on(&stack, suite, profile, opts).await;
    if owned && !opts.keep_stack {
        let _ = stack.down().await;
    }
    result
}
