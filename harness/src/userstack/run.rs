//! `faultline run SCENARIO --stack FILE`: one scenario against a stack
//! faultline did not create. The same plan, load generator, fault kinds,
//! journal, measurement, verdict and reports as a run on faultline's own
//! stack; what differs is what the stack file says: the requests sent to
//! its entry URL, its health endpoints, how its writes are read back, and
//! its targets. Only the project's containers are ever touched, and only
//! through the faults' own reverts.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use uuid::Uuid;

use faultline_core::faults::target::Inventory;
use faultline_core::stack_file::{Place, StackFile, Targets};

use super::undo::{self, UndoLog};
use super::{engine, present};
use crate::error::Error;
use crate::faults::Action;
use crate::measure::{check_writes, EventSummary, LedgerEntry, WriteCheck, WriteOutcome};
use crate::plan::Plan;
use crate::probes::Probes;
use crate::run::{self, Conclusion, Driven, Interrupt, RunOptions, RunOutcome};
use crate::scenario::Scenario;
use crate::stack::{Node, Stack, StackSettings};
use crate::targets::{self, CheckKind, Profile};
use crate::workload::{LoadOptions, RunClock, Target};

/// Checks about faultline's own event pipeline and its replication
/// probes: they have nothing to read on a user's stack, so its profile
/// leaves them out (and the report says so).
const NOT_ON_A_USER_STACK: [CheckKind; 4] = [
    CheckKind::LostEvents,
    CheckKind::EventDelay,
    CheckKind::ConsumerLag,
    CheckKind::ReplicationLag,
];

/// The profile a user's stack is judged by: its stack file's own targets
/// (with faultline's defaults, marked, where it states none), or the
/// system profile it borrows; without the checks in
/// [`NOT_ON_A_USER_STACK`].
pub fn profile(file: &StackFile) -> Result<Profile, Error> {
    let mut profile = match &file.targets {
        Targets::System(system) => {
            let root = crate::project::root();
            targets::load(&targets::profiles_dir(&root), system)?
        }
        Targets::Own(own) => Profile {
            name: file.name.clone(),
            title: file.name.clone(),
            document: file.path.display().to_string(),
            notes: file.description.clone(),
            targets: own.clone(),
            stack: StackSettings::default(),
            no_numeric_targets: false,
        },
    };
    profile
        .targets
        .retain(|t| !NOT_ON_A_USER_STACK.contains(&t.check));
    Ok(profile)
}

/// The containers a planned fault may act on, as the plan is made (a
/// selector with a `count` picks among these when it runs).
fn candidates<'a>(action: &Action, nodes: &'a [Node], inventory: &Inventory) -> Vec<&'a Node> {
    let in_group = |g: &crate::faults::spec::Group, n: &Node| {
        g.zones.contains(&n.zone) || g.services.contains(&n.service)
    };
    let by_selector = |sel: &crate::faults::spec::Selector| {
        let names: HashSet<&str> = inventory.matching(sel).map(|n| n.name.as_str()).collect();
        nodes
            .iter()
            .filter(|n| names.contains(n.name.as_str()))
            .collect()
    };
    match action {
        Action::PodKill(f) => by_selector(&f.target),
        Action::PodPause(f) => by_selector(&f.target),
        Action::CpuStress(f) => by_selector(&f.target),
        Action::DnsFailure(f) => by_selector(&f.target),
        Action::AzOutage(f) => nodes.iter().filter(|n| n.zone == f.zone).collect(),
        // Every container: the zone's are cut from the rest, and the rest
        // from the zone's.
        Action::AzIsolation(_) => nodes.iter().collect(),
        Action::Partition(f) => nodes
            .iter()
            .filter(|n| in_group(&f.a, n) || in_group(&f.b, n))
            .collect(),
        Action::PacketLoss(f) => nodes
            .iter()
            .filter(|n| in_group(&f.a, n) || in_group(&f.b, n))
            .collect(),
        // Refused on a user's stack when the scenario is read.
        _ => Vec::new(),
    }
}

/// The plan, then each fault's containers by name: what `--dry-run`
/// prints before anything is touched.
pub fn describe(plan: &Plan, stack: &Stack, inventory: &Inventory) -> String {
    let mut out = plan.describe();
    out.push_str(&format!(
        "\nCompose project {}: the containers each fault may touch (nothing else is ever touched)\n",
        stack.run
    ));
    for step in &plan.steps {
        let touched = candidates(&step.spec.action, &stack.nodes, inventory);
        out.push_str(&format!("  fault {} ({}):\n", step.id + 1, step.label));
        for n in touched {
            let zone = if n.zone.is_empty() {
                String::new()
            } else {
                format!(", zone {}", n.zone)
            };
            out.push_str(&format!(
                "    {:<20} container {} (service {}{zone})\n",
                n.name, n.container, n.service
            ));
        }
    }
    out
}

/// Reads which acknowledged (or unanswered) writes the stack's database
/// holds, as the stack file's write check says; without one, lost writes
/// and RPO are not measured, with the reason.
async fn verify_writes(
    stack: &Stack,
    file: &StackFile,
    ledger: &[LedgerEntry],
    faults: &[crate::measure::FaultSpan],
) -> WriteCheck {
    let Some(check) = &file.write_check else {
        return WriteCheck::unreadable(
            ledger,
            faults.len(),
            format!(
                "{} has no [write_check]: lost writes and RPO are not measured",
                file.path.display()
            ),
        );
    };
    let key = |e: &LedgerEntry| e.key.clone().unwrap_or_else(|| e.id.to_string());
    let asked: Vec<&LedgerEntry> = ledger
        .iter()
        .filter(|e| e.outcome != WriteOutcome::Rejected)
        .collect();
    let keys: Vec<String> = asked.iter().map(|e| key(e)).collect();
    let Place::Compose { project, .. } = &file.place;
    match present(engine(stack.platform()), project, check, &keys).await {
        Ok(found) => {
            let found: BTreeSet<String> = found;
            let present: HashSet<Uuid> = asked
                .iter()
                .filter(|e| found.contains(&key(e)))
                .map(|e| e.id)
                .collect();
            check_writes(ledger, &present, faults)
        }
        Err(e) => WriteCheck::unreadable(
            ledger,
            faults.len(),
            format!("the write check could not be read: {e}"),
        ),
    }
}

/// Runs `scenario` (validated against `inventory`) on the user's `stack`,
/// as `file` describes it, judged by `profile`.
#[allow(clippy::too_many_arguments)]
pub async fn execute(
    stack: &Stack,
    inventory: &Inventory,
    file: &StackFile,
    scenario: &Scenario,
    profile: &Profile,
    opts: &RunOptions,
    interrupt: &mut Interrupt,
) -> Result<RunOutcome, Error> {
    let seed = opts.seed.or(scenario.seed).unwrap_or_else(rand::random);
    let plan = run::plan(scenario, profile, seed);
    if opts.dry_run {
        if opts.json {
            let json = serde_json::to_string_pretty(&plan)
                .map_err(|e| Error::Environment(format!("the plan as JSON: {e}")))?;
            println!("{json}");
        } else {
            print!("{}", describe(&plan, stack, inventory));
        }
        return Err(Error::DryRun);
    }
    if !opts.quiet {
        eprint!("{}", describe(&plan, stack, inventory));
    }
    let (dir, journal) = run::open_report(opts, &scenario.name, &plan)?;
    // What faults change in the project is on disk before the run goes on,
    // so that a killed run's leftovers are found and undone.
    let undo = UndoLog::create(&stack.run).map_err(|e| {
        Error::Environment(format!(
            "cannot keep the undo log in {}: {e}",
            crate::project::cache_dir().join("undo").display()
        ))
    })?;
    let good = run::good_latency(scenario, profile);
    let spec = run::load_spec(scenario, seed);
    let target = Target::Requests {
        base: file.entry.clone(),
        requests: Arc::new(file.requests.clone()),
    };
    let clock = RunClock::start_now();
    let started_wall = Instant::now();
    let health: Vec<(String, String)> = file
        .health
        .iter()
        .map(|h| (h.name.clone(), h.url.clone()))
        .collect();
    let probes = Probes::start_with(stack.clone(), clock, Duration::from_secs(1), health);
    let Driven {
        out,
        entries,
        interrupted,
        load_s,
    } = run::drive(
        stack,
        &plan,
        &spec,
        target,
        LoadOptions::new(good),
        clock,
        started_wall,
        journal,
        opts,
        seed,
        interrupt,
        Some(undo),
    )
    .await?;
    let mut notes = vec![format!(
        "a stack faultline did not create ({}, Compose project {}): checks of faultline's own event pipeline and replication probes ({}) do not apply and are left out",
        file.path.display(),
        stack.run,
        NOT_ON_A_USER_STACK.map(CheckKind::name).join(", ")
    )];
    if !interrupted {
        if let Err(e) = super::wait_serving(file, Duration::from_secs(120)).await {
            notes.push(format!("after the load: {e}"));
        }
    }
    let mut timeline = out.timeline;
    for s in probes.finish().await {
        timeline.probe(s);
    }
    let spans: Vec<_> = entries
        .iter()
        .map(crate::faults::JournalEntry::span)
        .collect();
    let writes = verify_writes(stack, file, &out.ledger, &spans).await;
    let events = EventSummary::not_measured(
        0,
        "a stack faultline did not create has no event pipeline faultline reads".into(),
    );
    let command = format!(
        "faultline run {} --stack {} --seed {seed}",
        scenario.path.display(),
        file.path.display()
    );
    run::conclude(Conclusion {
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

/// Everything `faultline run SCENARIO --stack FILE` does: reads the stack
/// file, brings the project up when the file names a compose file (and it
/// is not running), finds its containers, validates the scenario against
/// them, runs it, and takes the project down again if this run brought it
/// up (unless `keep_stack`).
pub async fn run_file(
    scenario: &Path,
    stack_file: &Path,
    opts: &RunOptions,
) -> Result<RunOutcome, Error> {
    let src = crate::source::Source::read(stack_file)?;
    let file = StackFile::parse(&src)?;
    let profile = profile(&file)?;
    let platform = crate::platform::Platform::connect(opts.allow_remote).await?;
    let mut interrupt = Interrupt::install();
    let brought_up = if opts.dry_run {
        false
    } else {
        super::up(engine(&platform), &file, Duration::from_secs(180)).await?
    };
    let result = async {
        let Place::Compose { project, .. } = &file.place;
        // What a killed run on this project left is put back first.
        if !opts.dry_run {
            report_recovered(&undo::recover(&platform, Some(project)).await)?;
        }
        let (stack, inventory) = super::attach(&platform, &file, &src).await?;
        let scenario = Scenario::load_file_for(scenario, &inventory)?;
        execute(
            &stack,
            &inventory,
            &file,
            &scenario,
            &profile,
            opts,
            &mut interrupt,
        )
        .await
    }
    .await;
    if brought_up && !opts.keep_stack {
        if let Err(e) = super::down(&file).await {
            eprintln!("taking the Compose project down failed: {e}");
        }
    }
    result
}

/// Says what [`undo::recover`] put back; an undo that failed stops the run
/// (the project is not as its owner left it).
pub fn report_recovered(r: &undo::Recovered) -> Result<(), Error> {
    for (project, n) in &r.undone {
        eprintln!("put back {n} fault(s) a killed run left in Compose project {project}");
    }
    if r.failed.is_empty() {
        Ok(())
    } else {
        Err(Error::Environment(format!(
            "could not put back what a killed run left: {}",
            r.failed.join("; ")
        )))
    }
}
