//! `faultline run`: one scenario against a real stack — start (or reuse)
//! the stack, drive the load, inject and revert the planned faults on time,
//! verify writes and events in the database, measure, judge, write the
//! reports. Ctrl-C or SIGTERM at any moment reverts every fault in force,
//! tears down a stack this run started (unless `--keep-stack`), writes what
//! it has, and ends as interrupted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use tokio::sync::watch;

use crate::error::Error;
use crate::faults::{self, FaultContext, Injected, Journal, JournalEntry};
use crate::images;
use crate::measure::{
    explain_lost_writes, judge_events, summarise, EventSummary, LeaderTerm, RestorePoint, RtoBasis,
    RtoMeasure, RunData,
};
use crate::plan::Plan;
use crate::platform::Platform;
use crate::probes::Probes;
use crate::report::{self, Report, RunInfo};
use crate::scenario::Scenario;
use crate::source::{FileError, Source};
use crate::stack::{self, ready, Owner, Stack, UpOptions};
use crate::targets::{self, CheckKind, Profile};
use crate::userstack::undo::UndoLog;
use crate::verdict::{self, Verdict};
use crate::workload::{self, verify, LoadOptions, LoadSpec, RunClock, Schedule, Target};

/// How to run a scenario.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// System profile (overrides the scenario's).
    pub system: Option<String>,
    /// Seed (overrides the scenario's).
    pub seed: Option<u64>,
    /// Report folder (default `reports/runs/<time>-<scenario>`).
    pub out_dir: Option<PathBuf>,
    /// Leave a stack this run started running.
    pub keep_stack: bool,
    /// Print the plan and touch nothing.
    pub dry_run: bool,
    /// With `dry_run`: the plan as JSON on stdout instead of text.
    pub json: bool,
    /// Accept a non-local Docker engine.
    pub allow_remote: bool,
    /// Print nothing while running.
    pub quiet: bool,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The report (also written to `dir`).
    pub report: Report,
    /// The verdict.
    pub verdict: Verdict,
    /// Where the reports are.
    pub dir: PathBuf,
    /// Whether it was interrupted.
    pub interrupted: bool,
}

impl RunOutcome {
    /// Panics with the console summary unless every check passed (for
    /// tests: `Prepared::load(..)?.run(..).await?.assert_pass()`).
    pub fn assert_pass(&self) {
        if !self.verdict.pass {
            panic!(
                "scenario {} failed: {}\n{}",
                self.report.scenario,
                self.verdict.failed().join(", "),
                report::console::render(&self.report)
            );
        }
    }
}

/// The `system` a scenario file names, read before it is validated (the
/// profile shapes the validation).
pub fn system_of(path: &Path) -> Result<Option<String>, FileError> {
    let src = Source::read(path)?;
    let v: toml::Value = toml::from_str(&src.text).map_err(|e| {
        src.toml_error(
            &e,
            "see scenarios/pod-kill.toml for the shape of a scenario",
        )
    })?;
    Ok(v.get("system").and_then(|s| s.as_str()).map(String::from))
}

/// Loads the profile and the scenario from `path`, validated together.
pub fn load(path: &Path, system: Option<&str>) -> Result<(Scenario, Profile), FileError> {
    let root = crate::project::root();
    let named = system_of(path)?;
    let system = system
        .map(String::from)
        .or(named)
        .ok_or_else(|| FileError {
            file: path.to_path_buf(),
            line: 1,
            column: 1,
            message: "the scenario names no system".into(),
            hint: format!(
                "add system = \"…\" or pass --system ({})",
                targets::available(&targets::profiles_dir(&root)).join(", ")
            ),
        })?;
    let profile = targets::load(&targets::profiles_dir(&root), &system)?;
    let scenario = Scenario::load_file(path, &profile.stack)?;
    Ok((scenario, profile))
}

/// The bound of a good request: the scenario's `good_latency`, else the
/// system's p99 target (documented or default), else the timeout.
pub fn good_latency(scenario: &Scenario, profile: &Profile) -> Duration {
    scenario
        .load
        .good_latency
        .or_else(|| {
            profile
                .targets
                .iter()
                .find(|t| t.check == CheckKind::P99)
                .map(|t| Duration::from_secs_f64(t.limit / 1000.0))
        })
        .unwrap_or(scenario.load.timeout)
}

/// The delay beyond which an event is late: the `event_delay` limit in
/// force (the profile's, tightened by the scenario), ms.
pub fn event_delay_bound_ms(scenario: &Scenario, profile: &Profile) -> u64 {
    verdict::effective_targets(profile, &scenario.expect)
        .iter()
        .find(|(t, _)| t.check == CheckKind::EventDelay)
        .map_or(60_000, |(t, _)| t.limit as u64)
}

/// The plan of a run: `scenario` judged by `profile`, with `seed`.
pub fn plan(scenario: &Scenario, profile: &Profile, seed: u64) -> Plan {
    Plan::build(
        scenario,
        &profile.name,
        seed,
        good_latency(scenario, profile),
    )
}

/// A flag set on SIGINT or SIGTERM.
#[derive(Clone)]
pub struct Interrupt(watch::Receiver<bool>);

impl Interrupt {
    /// Listens for SIGINT and SIGTERM from now on.
    pub fn install() -> Interrupt {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = signal(SignalKind::terminate()).ok();
            let term_recv = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term_recv => {}
            }
            let _ = tx.send(true);
        });
        Interrupt(rx)
    }

    /// Whether a signal came.
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves when a signal comes.
    pub async fn wait(&mut self) {
        while !*self.0.borrow() {
            if self.0.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

fn say(opts: &RunOptions, line: impl AsRef<str>) {
    if !opts.quiet {
        eprintln!("{}", line.as_ref());
    }
}

fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Finds a running stack built for this profile's settings, or starts one
/// owned by this process. Returns it and whether this run started it.
pub(crate) async fn obtain_stack(
    platform: &Platform,
    profile: &Profile,
    opts: &RunOptions,
    interrupt: &mut Interrupt,
) -> Result<(Stack, bool), Error> {
    let fingerprint = profile.stack.fingerprint();
    for (run, _) in platform.runs().await? {
        if let Ok(s) = Stack::attach(platform, Some(&run)).await {
            if s.settings_fingerprint == fingerprint && !s.nodes.is_empty() {
                say(
                    opts,
                    format!("reusing stack {} (settings of {})", s.run, profile.name),
                );
                ready::wait_ready(&s, Duration::from_secs(120)).await?;
                return Ok((s, false));
            }
        }
    }
    images::check_present(platform).await?;
    let up = UpOptions {
        run: stack::new_run_id(),
        system: profile.name.clone(),
        owner: Owner::current_process(),
        ready_timeout: Duration::from_secs(180),
    };
    say(
        opts,
        format!("starting stack {} for {} …", up.run, profile.name),
    );
    tokio::select! {
        r = stack::up(platform, &profile.stack, &up) => Ok((r?, true)),
        _ = interrupt.wait() => {
            let _ = platform.sweep(Some(&up.run)).await;
            Err(Error::Interrupted)
        }
    }
}

type Active = Arc<Mutex<HashMap<usize, Injected>>>;

/// Runs a validated scenario. Returns the outcome even when checks fail;
/// `Err` when the harness itself could not do its job (or was interrupted
/// before it had anything to report).
pub async fn execute(
    scenario: &Scenario,
    profile: &Profile,
    opts: &RunOptions,
) -> Result<RunOutcome, Error> {
    let seed = opts.seed.or(scenario.seed).unwrap_or_else(rand::random);
    let planned = plan(scenario, profile, seed);
    if opts.dry_run && opts.json {
        let json = serde_json::to_string_pretty(&planned)
            .map_err(|e| Error::Environment(format!("the plan as JSON: {e}")))?;
        println!("{json}");
        return Err(Error::DryRun);
    }
    say(opts, planned.describe().trim_end());
    if opts.dry_run {
        return Err(Error::DryRun);
    }
    let mut interrupt = Interrupt::install();
    let platform = Platform::connect(opts.allow_remote).await?;
    let (stack, owned) = obtain_stack(&platform, profile, opts, &mut interrupt).await?;
    let result = run_on(&stack, scenario, profile, opts, seed, &mut interrupt).await;
    if owned && !opts.keep_stack {
        say(opts, format!("removing stack {}", stack.run));
        let _ = stack.down().await;
    } else if owned {
        say(
            opts,
            format!(
                "keeping stack {} (faultline down --run {})",
                stack.run, stack.run
            ),
        );
    }
    result
}

/// Runs a scenario on a stack that is up (the library entry for tests that
/// bring their own stack).
pub async fn run_on(
    stack: &Stack,
    scenario: &Scenario,
    profile: &Profile,
    opts: &RunOptions,
    seed: u64,
    interrupt: &mut Interrupt,
) -> Result<RunOutcome, Error> {
    let plan = plan(scenario, profile, seed);
    let (dir, journal) = open_report(opts, &scenario.name, &plan)?;
    let good = good_latency(scenario, profile);
    let spec = load_spec(scenario, seed);
    let ingress = stack
        .ingress_url()
        .ok_or_else(|| Error::Environment("the stack has no ingress".into()))?;
    let clock = RunClock::start_now();
    let started_wall = Instant::now();
    let load_opts = LoadOptions::new(good);
    // Who leads the database as the run begins: with Patroni's history of
    // promotions during it, every lost write is put down to a cause.
    let first_leader = ready::leader(stack).await;
    let probes = Probes::start(stack.clone(), clock, Duration::from_secs(1));
    let Driven {
        out,
        entries,
        interrupted,
        load_s,
    } = drive(
        stack,
        &plan,
        &spec,
        Target::Stack { base: ingress },
        load_opts,
        clock,
        started_wall,
        journal,
        opts,
        seed,
        interrupt,
        None,
    )
    .await?;
    say(
        opts,
        "load done: waiting for the stack to recover, then reading the database",
    );
    let mut notes = Vec::new();
    let spans: Vec<_> = entries.iter().map(JournalEntry::span).collect();
    let is_restore = |e: &JournalEntry| {
        plan.step(e.id)
            .is_some_and(|p| p.kind.restores_from_backup())
    };
    // A failed restore leaves no database: nothing to wait for or to read.
    let failed_restore = entries
        .iter()
        .find(|e| is_restore(e) && e.error.is_some())
        .and_then(|e| e.error.clone());
    if failed_restore.is_none() && !interrupted {
        if let Err(e) = ready::wait_ready(stack, Duration::from_secs(120)).await {
            notes.push(format!(
                "the stack was not fully ready within 120 s after the load: {e}"
            ));
        }
    }
    let samples = probes.finish().await;
    let mut timeline = out.timeline;
    for s in samples {
        timeline.probe(s);
    }
    let verified = match &failed_restore {
        Some(e) => Err(format!("the restore failed: {e}")),
        None => verify::verify_writes(stack, &out.ledger, &spans)
            .await
            .map_err(|e| format!("the database could not be read: {e}")),
    };
    let (writes, events) = match verified {
        Ok((mut writes, present)) => {
            if !writes.lost_acks.is_empty() {
                let terms = leader_terms(
                    first_leader.as_deref(),
                    ready::leader_history(stack).await.unwrap_or_default(),
                    clock.start_unix_ms,
                );
                let restores: Vec<RestorePoint> = entries
                    .iter()
                    .filter(|e| is_restore(e) && e.error.is_none())
                    .map(|e| RestorePoint {
                        lost_us: e.injected_at_us,
                        point_us: e
                            .recovered_to_unix_ms
                            .map(|ms| (ms as i64 - clock.start_unix_ms as i64) * 1000),
                    })
                    .collect();
                writes.explained = explain_lost_writes(&writes.lost_acks, &terms, &restores);
            }
            let settle = if interrupted {
                Duration::from_secs(5)
            } else {
                scenario.settle
            };
            let events = match verify::verify_events(stack, &present, settle).await {
                Ok(facts) => {
                    if let Some(why) = &facts.broker_error {
                        notes.push(format!(
                            "the broker could not be read, so lost events past the relay are not placed further: {why}"
                        ));
                    }
                    judge_events(&facts, event_delay_bound_ms(scenario, profile))
                }
                Err(e) => {
                    let why = format!("events could not be read: {e}");
                    notes.push(why.clone());
                    EventSummary::not_measured(present.len() as u64, why)
                }
            };
            (writes, events)
        }
        // After a failed restore there is no database to read: the report
        // says so and every check that needs the writes fails unmeasured.
        Err(reason) => {
            notes.push(format!("lost writes and events not measured: {reason}"));
            (
                crate::measure::WriteCheck::unreadable(&out.ledger, spans.len(), reason.clone()),
                EventSummary::not_measured(0, reason),
            )
        }
    };
    if profile.no_numeric_targets {
        notes.push(format!(
            "{}'s document states no numeric target: every limit here is a faultline default.",
            profile.title
        ));
    }
    let command = format!(
        "faultline run {} --system {} --seed {seed}",
        scenario.path.display(),
        profile.name
    );
    conclude(Conclusion {
        stack,
        plan: &plan,
        scenario,
        profile,
        dir,
        seed,
        clock,
        command,
        timeline,
        ledger: &out.ledger,
        sent: out.sent,
        entries: &entries,
        spans: &spans,
        interrupted,
        load_s,
        writes,
        events,
        notes,
    })
    .await
}

/// What a run has read once its load is over, ready to be measured,
/// judged and written: the same for faultline's stack and a user's.
pub(crate) struct Conclusion<'a> {
    /// The stack it ran on.
    pub stack: &'a Stack,
    /// The plan it carried out.
    pub plan: &'a Plan,
    /// The scenario.
    pub scenario: &'a Scenario,
    /// The profile it is judged by.
    pub profile: &'a Profile,
    /// The report folder.
    pub dir: PathBuf,
    /// The seed.
    pub seed: u64,
    /// The run's clock.
    pub clock: RunClock,
    /// The command that replays it.
    pub command: String,
    /// Per-second windows and probe samples.
    pub timeline: crate::measure::Timeline,
    /// The write ledger.
    pub ledger: &'a [crate::measure::LedgerEntry],
    /// Requests sent.
    pub sent: u64,
    /// The fault journal.
    pub entries: &'a [JournalEntry],
    /// Each journalled fault's span.
    pub spans: &'a [crate::measure::FaultSpan],
    /// Whether a signal stopped it.
    pub interrupted: bool,
    /// How long the load ran, s.
    pub load_s: f64,
    /// Which writes were found.
    pub writes: crate::measure::WriteCheck,
    /// What happened to the events.
    pub events: EventSummary,
    /// Notes for the report.
    pub notes: Vec<String>,
}

/// Measures, judges and writes the reports of a run.
pub(crate) async fn conclude(c: Conclusion<'_>) -> Result<RunOutcome, Error> {
    let restarted = unplanned_restarts(c.stack, c.entries, c.clock.start_unix_ms).await;
    let monthly = c
        .profile
        .targets
        .iter()
        .find(|t| t.check == CheckKind::Availability)
        .map(|t| t.limit);
    let rto_bases = rto_bases(c.plan, c.entries, c.ledger);
    let timeline = c.timeline;
    let measurements = summarise(RunData {
        timeline: &timeline,
        faults: c.spans,
        writes: c.writes,
        events: c.events,
        probes: &timeline.probes,
        unplanned_restarts: restarted,
        monthly_availability: monthly,
        rto_tolerance: 0.05,
        rto_sustain_us: 5_000_000,
        start_unix_ms: c.clock.start_unix_ms,
        rto_bases,
    });
    let verdict = verdict::judge(c.profile, &c.scenario.expect, &measurements, &timeline);
    let report = report::build(
        RunInfo {
            scenario: &c.scenario.name,
            description: &c.scenario.description,
            system: &c.profile.name,
            system_title: &c.profile.title,
            seed: c.seed,
            run_id: &c.stack.run,
            started_unix_ms: c.clock.start_unix_ms,
            command: c.command,
            interrupted: c.interrupted,
            sent: c.sent,
            load_s: if c.load_s > 0.0 { c.load_s } else { 1.0 },
            journal: c.entries,
            notes: c.notes,
        },
        &measurements,
        &verdict,
    );
    let rows = report::seconds(&timeline);
    report::write(&c.dir, &report, &rows).map_err(|e| {
        Error::Environment(format!("writing the reports to {}: {e}", c.dir.display()))
    })?;
    Ok(RunOutcome {
        report,
        verdict,
        dir: c.dir,
        interrupted: c.interrupted,
    })
}

/// Creates the run's report folder, writes the plan into it before
/// anything is touched (its step ids are the ids of the journal entries
/// and of the results), and opens the fault journal there: the journal is
/// evidence, so a run that cannot keep it does not start.
pub(crate) fn open_report(
    opts: &RunOptions,
    scenario: &str,
    plan: &Plan,
) -> Result<(PathBuf, Arc<Mutex<Journal>>), Error> {
    let root = crate::project::root();
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace([':', 'T'], "-")
        .trim_end_matches('Z')
        .to_string();
    let dir = opts.out_dir.clone().unwrap_or_else(|| {
        root.join("reports/runs")
            .join(format!("{stamp}-{}", scenario))
    });
    std::fs::create_dir_all(&dir).map_err(|e| {
        Error::Environment(format!(
            "cannot create the report folder {}: {e}",
            dir.display()
        ))
    })?;
    let plan_json = serde_json::to_string_pretty(plan).unwrap_or_default() + "\n";
    std::fs::write(dir.join("plan.json"), plan_json).map_err(|e| {
        Error::Environment(format!(
            "cannot write {}: {e}",
            dir.join("plan.json").display()
        ))
    })?;
    let journal = Journal::to_file(dir.join("faults.jsonl")).map_err(|e| {
        Error::Environment(format!(
            "cannot open the fault journal {}: {e}",
            dir.join("faults.jsonl").display()
        ))
    })?;
    let journal = Arc::new(Mutex::new(journal));
    Ok((dir, journal))
}

/// The load a scenario drives, with `seed`.
pub(crate) fn load_spec(scenario: &Scenario, seed: u64) -> LoadSpec {
    LoadSpec {
        schedule: Schedule {
            rate: scenario.load.rate,
            ramp: scenario.load.ramp,
            duration: scenario.load.duration,
        },
        timeout: scenario.load.timeout,
        mix: scenario.load.mix,
        seed,
        max_in_flight: 10_000,
        threads: 1,
        timer_resolution: None,
    }
}

/// How each journalled fault's RTO is measured, as its kind says. A
/// first-write RTO (a restore's) ends when the first write scheduled after
/// the recovery began is acknowledged.
pub(crate) fn rto_bases(
    plan: &Plan,
    entries: &[JournalEntry],
    ledger: &[crate::measure::LedgerEntry],
) -> Vec<RtoBasis> {
    entries
        .iter()
        .map(|e| {
            let measure = plan
                .step(e.id)
                .map_or(RtoMeasure::Sustained, |p| p.kind.rto_measure());
            match measure {
                RtoMeasure::Sustained => RtoBasis::Sustained,
                RtoMeasure::FirstWrite => {
                    // The recovery began when the harness asked for it.
                    let began = e.revert_requested_at_us.unwrap_or(e.injected_at_us);
                    RtoBasis::FirstWrite(crate::measure::first_write_after(ledger, began))
                }
            }
        })
        .collect()
}

/// What driving the load and the faults produced.
pub(crate) struct Driven {
    /// The load's records and write ledger.
    pub out: workload::LoadOutput,
    /// The fault journal, in injection order; each entry names its
    /// scenario fault by id, so results never depend on the order faults
    /// finish in.
    pub entries: Vec<JournalEntry>,
    /// Whether a signal stopped it.
    pub interrupted: bool,
    /// How long the load ran, s.
    pub load_s: f64,
}

/// Drives the load at `target` and the plan's faults on `stack`, each
/// injected and reverted on time and journalled; on a signal, stops the
/// load and reverts every fault in force. Whatever is still in force when
/// the load ends is reverted (but a permanent fault).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn drive(
    stack: &Stack,
    plan: &Plan,
    spec: &LoadSpec,
    target: Target,
    load_opts: LoadOptions,
    clock: RunClock,
    started_wall: Instant,
    journal: Arc<Mutex<Journal>>,
    opts: &RunOptions,
    seed: u64,
    interrupt: &mut Interrupt,
    undo: Option<UndoLog>,
) -> Result<Driven, Error> {
    // What is in force, on disk as it happens (a user's stack: see
    // `userstack::undo`); kept when a revert failed, for `faultline clean`.
    let undo: Option<Arc<Mutex<UndoLog>>> = undo.map(|u| Arc::new(Mutex::new(u)));
    let revert_failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let note_revert = {
        let (undo, revert_failed) = (undo.clone(), revert_failed.clone());
        move |id: usize, ok: bool| {
            if !ok {
                revert_failed.store(true, Ordering::Relaxed);
            } else if let Some(u) = &undo {
                if let Ok(mut u) = u.lock() {
                    let _ = u.reverted(id);
                }
            }
        }
    };
    let stop = load_opts.stop.clone();
    let progress = load_opts.progress.clone();
    let load = tokio::spawn({
        let spec = spec.clone();
        async move { workload::run(&spec, target, clock, load_opts).await }
    });
    let ctx = Arc::new(FaultContext {
        stack: stack.clone(),
        clock,
        rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed_fa17)),
    });
    let active: Active = Arc::default();
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let mut fault_tasks = Vec::new();
    for step in plan.steps.iter().cloned() {
        let id = step.id;
        let (ctx, active, journal, mut cancel) = (
            ctx.clone(),
            active.clone(),
            journal.clone(),
            cancel_rx.clone(),
        );
        let (undo, note_revert) = (undo.clone(), note_revert.clone());
        let quiet = opts.quiet;
        fault_tasks.push(tokio::spawn(async move {
            let at = tokio::time::Instant::from_std(clock.start + step.at);
            tokio::select! {
                _ = tokio::time::sleep_until(at) => {}
                _ = cancel.changed() => return,
            }
            let label = step.label.clone();
            let requested_at_us = clock.now_us();
            let result = faults::inject(&ctx, id, &step.spec).await;
            // Stamped once the fault is in effect (the engine's call
            // returned): a request sent between the call and its effect
            // can still be served, and must not count as sent "during" it.
            let injected_at_us = clock.now_us();
            let injected_unix_ms = now_unix_ms();
            let (targets, error) = match &result {
                Ok(f) => (f.targets.clone(), None),
                Err(e) => (Vec::new(), Some(e.to_string())),
            };
            if !quiet {
                match &error {
                    None => eprintln!(
                        "  t={:>6.1}s  injected fault {}: {label} → {}",
                        injected_at_us as f64 / 1e6,
                        id + 1,
                        targets.join(", ")
                    ),
                    Some(e) => eprintln!(
                        "  t={:>6.1}s  fault {} could not be injected: {e}",
                        injected_at_us as f64 / 1e6,
                        id + 1
                    ),
                }
            }
            if let Ok(mut j) = journal.lock() {
                j.injected(JournalEntry {
                    id,
                    kind: step.kind,
                    label: label.clone(),
                    targets,
                    requested_at_us,
                    injected_at_us,
                    injected_unix_ms,
                    revert_requested_at_us: None,
                    reverted_at_us: None,
                    reverted_unix_ms: None,
                    error: error.clone(),
                    steps: Vec::new(),
                    recovered_to_unix_ms: None,
                });
            }
            let Ok(fault) = result else { return };
            if let Some(Ok(mut u)) = undo.as_ref().map(|u| u.lock()) {
                let _ = u.injected(id, &fault.revert);
            }
            if let Ok(mut a) = active.lock() {
                a.insert(id, fault.clone());
            }
            let Some(duration) = step.spec.duration else {
                return;
            };
            tokio::select! {
                _ = tokio::time::sleep_until(at + duration) => {}
                _ = cancel.changed() => return,
            }
            // Taken out of the registry first: an interrupt now finds it
            // gone and does not revert it twice.
            let fault = active.lock().ok().and_then(|mut a| a.remove(&id));
            if let Some(fault) = fault {
                if !quiet && matches!(fault.revert, faults::Revert::Restore(_)) {
                    eprintln!(
                        "  t={:>6.1}s  restoring fault {} from the backup region",
                        clock.now_us() as f64 / 1e6,
                        id + 1
                    );
                }
                let requested_us = clock.now_us();
                let r = faults::revert(&ctx, &fault).await;
                note_revert(id, r.is_ok());
                let at_us = clock.now_us();
                if !quiet {
                    match &r {
                        Ok(_) => eprintln!(
                            "  t={:>6.1}s  reverted fault {}: {label}",
                            at_us as f64 / 1e6,
                            id + 1
                        ),
                        Err(e) => eprintln!(
                            "  t={:>6.1}s  reverting fault {} failed: {e}",
                            at_us as f64 / 1e6,
                            id + 1
                        ),
                    }
                }
                if let Ok(mut j) = journal.lock() {
                    j.reverted(
                        id,
                        requested_us,
                        at_us,
                        now_unix_ms(),
                        r.map_err(|e| e.to_string()),
                    );
                }
            }
        }));
    }
    // Progress every 5 s, until the load ends or a signal comes.
    let total = spec.schedule.len();
    let mut ticker = tokio::time::interval(Duration::from_secs(5));
    ticker.tick().await;
    let mut load = load;
    let mut interrupted = false;
    let load_result = loop {
        tokio::select! {
            r = &mut load => break r,
            _ = ticker.tick() => say(opts, format!(
                "  t={:>6.1}s  {} of {} requests done, {} failed",
                clock.now_us() as f64 / 1e6,
                progress.done.load(Ordering::Relaxed),
                total,
                progress.failed.load(Ordering::Relaxed)
            )),
            _ = interrupt.wait(), if !interrupted => {
                interrupted = true;
                say(opts, "interrupted: stopping the load and reverting every fault in force");
                stop.store(true, Ordering::Relaxed);
                let _ = cancel_tx.send(true);
            }
        }
    };
    // Every fault task ends by itself (validation keeps faults inside the
    // load) or on cancellation; then anything still in force is reverted.
    let _ = cancel_tx.send(interrupted);
    for t in fault_tasks {
        if interrupted {
            t.abort();
        }
        let _ = t.await;
    }
    let leftovers: Vec<Injected> = active
        .lock()
        .map(|mut a| a.drain().map(|(_, f)| f).collect())
        .unwrap_or_default();
    for f in leftovers {
        if f.spec.permanent && !interrupted {
            continue;
        }
        let requested_us = clock.now_us();
        let r = faults::revert(&ctx, &f).await;
        note_revert(f.id, r.is_ok());
        if let Ok(mut j) = journal.lock() {
            j.reverted(
                f.id,
                requested_us,
                clock.now_us(),
                now_unix_ms(),
                r.map_err(|e| e.to_string()),
            );
        }
    }
    let out = load_result
        .map_err(|_| Error::Environment("the load generator task failed".into()))?
        .map_err(|e| Error::Environment(e.to_string()))?;
    let load_s = started_wall
        .elapsed()
        .as_secs_f64()
        .min(spec.schedule.duration.as_secs_f64());
    let entries: Vec<JournalEntry> = journal
        .lock()
        .map(|j| j.entries.clone())
        .unwrap_or_default();
    // Everything is back (a permanent fault stays, as asked): the log has
    // nothing left for `faultline clean`.
    if !revert_failed.load(Ordering::Relaxed) {
        if let Some(u) = undo.and_then(|u| Arc::try_unwrap(u).ok()) {
            if let Ok(u) = u.into_inner() {
                u.finish();
            }
        }
    }
    Ok(Driven {
        out,
        entries,
        interrupted,
        load_s,
    })
}

/// The leaders of the run, in time order: the one at its start, then
/// each promotion Patroni recorded during it (`history`: ms since the
/// epoch, node).
fn leader_terms(
    first: Option<&str>,
    history: Vec<(u64, String)>,
    start_unix_ms: u64,
) -> Vec<LeaderTerm> {
    let mut terms: Vec<LeaderTerm> = first
        .map(|n| LeaderTerm {
            node: n.to_string(),
            from_us: 0,
        })
        .into_iter()
        .collect();
    terms.extend(
        history
            .into_iter()
            .filter(|(ms, _)| *ms > start_unix_ms)
            .map(|(ms, node)| LeaderTerm {
                node,
                from_us: (ms - start_unix_ms) * 1000,
            }),
    );
    terms
}

/// Containers that stopped or (re)started during the run without the
/// harness doing it: started after the run began but not by a fault's
/// revert, or not running now without a permanent fault keeping them down.
pub(crate) async fn unplanned_restarts(
    stack: &Stack,
    journal: &[JournalEntry],
    start_unix_ms: u64,
) -> Vec<String> {
    let touched: Vec<&String> = journal.iter().flat_map(|e| e.targets.iter()).collect();
    let mut out = Vec::new();
    for n in &stack.nodes {
        let Ok(state) = stack.platform().state(&n.container).await else {
            continue;
        };
        let running = state.running;
        let started_ms = state.started_unix_ms;
        let harness_touched = touched.contains(&&n.name);
        let restarted = started_ms.is_some_and(|ms| ms > start_unix_ms + 1_000) && !harness_touched;
        if (!running && !harness_touched) || restarted {
            out.push(n.name.clone());
        }
    }
    out
}

/// A scenario validated against its system's profile, ready to run — the
/// library's entry for tests of one's own (see the crate's example).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The scenario.
    pub scenario: Scenario,
    /// The profile it is judged against.
    pub profile: Profile,
    /// Seed and report folder.
    pub options: RunOptions,
}

impl Prepared {
    /// Loads a scenario file and the profile of the system it names,
    /// validated together.
    pub fn load(path: impl AsRef<Path>) -> Result<Prepared, Error> {
        let (scenario, profile) = load(path.as_ref(), None)?;
        Ok(Prepared {
            scenario,
            profile,
            options: RunOptions {
                quiet: true,
                ..RunOptions::default()
            },
        })
    }

    /// Judges against another system's profile (validating again).
    pub fn system(self, system: &str) -> Result<Prepared, Error> {
        let (scenario, profile) = load(&self.scenario.path, Some(system))?;
        Ok(Prepared {
            scenario,
            profile,
            options: self.options,
        })
    }

    /// Fixes the seed.
    pub fn seed(mut self, seed: u64) -> Prepared {
        self.options.seed = Some(seed);
        self
    }

    /// Writes the reports to `dir`.
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Prepared {
        self.options.out_dir = Some(dir.into());
        self
    }

    /// Prints progress while running.
    pub fn verbose(mut self) -> Prepared {
        self.options.quiet = false;
        self
    }

    /// Runs on `stack`. Ctrl-C reverts the faults in force and returns an
    /// interrupted outcome.
    pub async fn run(&self, stack: &Stack) -> Result<RunOutcome, Error> {
        let seed = self
            .options
            .seed
            .or(self.scenario.seed)
            .unwrap_or_else(rand::random);
        let mut interrupt = Interrupt::install();
        run_on(
            stack,
            &self.scenario,
            &self.profile,
            &self.options,
            seed,
            &mut interrupt,
        )
        .await
    }
}

impl Stack {
    /// Builds any image that is out of date, then starts a stack shaped by
    /// `system`'s profile, owned by this process: [`Stack::down`] removes
    /// it, and if the process dies first, the next `faultline up` or `run`
    /// sweeps it.
    pub async fn start(system: &str) -> Result<Stack, Error> {
        let root = crate::project::root();
        let profile = targets::load(&targets::profiles_dir(&root), system)?;
        // Images are built by a Docker engine, whatever runs them.
        let engine = crate::platform::docker::Engine::connect(false).await?;
        images::build_all(&engine, &images::BuildOptions::default()).await?;
        let platform = Platform::Docker(engine);
        let up = UpOptions {
            run: stack::new_run_id(),
            system: profile.name.clone(),
            owner: Owner::current_process(),
            ready_timeout: Duration::from_secs(180),
        };
        Ok(stack::up(&platform, &profile.stack, &up).await?)
    }
}
