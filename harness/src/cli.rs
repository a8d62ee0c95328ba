//! The command line: flags, dispatch, and the mapping of outcomes to the
//! documented exit codes. `main.rs` only parses and calls [`main`].

use std::process::ExitCode;
use std::time::{Duration, Instant};

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::error::{Error, Exit, InputError};
use crate::images;
use crate::platform::docker::Engine;
use crate::platform::Platform;
use crate::stack::{self, Owner, Stack, UpOptions};

/// faultline: break a real stack on purpose and prove its recovery targets.
#[derive(Debug, Parser)]
#[command(name = "faultline", version, about, propagate_version = true)]
pub struct Cli {
    /// Allow a Docker engine that is not on this machine (DOCKER_HOST).
    #[arg(long, global = true)]
    pub allow_remote: bool,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build or inspect the images the stack runs (no registry needed).
    Images {
        /// What to do with images.
        #[command(subcommand)]
        action: ImagesAction,
    },
    /// Start the reference stack and wait until it is ready.
    Up {
        /// System profile whose stack settings to use.
        #[arg(long, default_value = "customer-service")]
        system: String,
        /// Longest wait for readiness.
        #[arg(long, default_value = "180s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
    /// Show every container of the running stack with its zone, role and health.
    Status {
        /// Run id, when several stacks run.
        #[arg(long)]
        run: Option<String>,
    },
    /// Stop and remove the running stack.
    Down {
        /// Run id, when several stacks run.
        #[arg(long)]
        run: Option<String>,
    },
    /// Run a scenario: stack, load, faults, measurements, verdict, reports.
    Run {
        /// The scenario file.
        scenario: PathBuf,
        /// System profile (overrides the scenario's `system`).
        #[arg(long, conflicts_with = "stack")]
        system: Option<String>,
        /// Run on a stack faultline did not create, as this stack file
        /// describes it (its requests, write check and targets; see
        /// examples/compose-shop/stack.toml).
        #[arg(long)]
        stack: Option<PathBuf>,
        /// Seed (overrides the scenario's; printed and written to the report).
        #[arg(long)]
        seed: Option<u64>,
        /// Report folder (default reports/runs/<time>-<scenario>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Leave a stack this run started running.
        #[arg(long)]
        keep_stack: bool,
        /// Print the plan (faults, targets, times) and touch nothing.
        #[arg(long)]
        dry_run: bool,
        /// With --dry-run: the plan as JSON on stdout (the run writes the
        /// same value to plan.json).
        #[arg(long, requires = "dry_run")]
        json: bool,
    },
    /// Run a suite as a DR drill for one system; writes
    /// reports/drills/<YYYY-MM>-<system>/ and records it in the history.
    Drill {
        /// The suite file.
        #[arg(long, default_value = "scenarios/suites/monthly-dr.toml")]
        suite: PathBuf,
        /// System profile.
        #[arg(long)]
        system: String,
        /// Month label (default: this month).
        #[arg(long)]
        month: Option<String>,
        /// Seed for every scenario.
        #[arg(long)]
        seed: Option<u64>,
        /// Leave a stack the drill started running.
        #[arg(long)]
        keep_stack: bool,
    },
    /// Check scenario and stack files without Docker (exit 2 on the first
    /// mistake).
    Validate {
        /// Scenario files.
        #[arg(required_unless_present = "stack")]
        files: Vec<PathBuf>,
        /// Validate against this system's profile.
        #[arg(long)]
        system: Option<String>,
        /// A stack file (`stacks/<name>.toml`) to check; with scenario
        /// files, they are checked against the services its running
        /// project has.
        #[arg(long, conflicts_with = "system")]
        stack: Option<PathBuf>,
    },
    /// Print the documented targets of one system, or of all.
    Targets {
        /// One system.
        #[arg(long)]
        system: Option<String>,
    },
    /// Re-render a run's reports from its report.json and timeline.csv.
    Report {
        /// The run's report folder.
        dir: PathBuf,
    },
    /// Drive open-loop load at one URL and print what was measured (no
    /// stack needed; the benchmarks use it).
    Load {
        /// The URL to `GET`.
        url: String,
        /// Requests per second.
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
        /// How long.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        duration: Duration,
        /// Per-request timeout, from the due time.
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        timeout: Duration,
        /// Most requests in flight.
        #[arg(long, default_value_t = 10_000)]
        max_in_flight: usize,
        /// Generator threads.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// The pacer's wake-up grid (`0s`: wake for every request; default:
        /// 0 up to 2,000 req/s, 1 ms above).
        #[arg(long, value_parser = humantime::parse_duration)]
        timer_resolution: Option<Duration>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Stream every request to this CSV file.
        #[arg(long)]
        raw: Option<std::path::PathBuf>,
    },
    /// Write a starting stack file (`stacks/<project>.toml`) for a running
    /// Compose project faultline did not create: its services, published
    /// ports, a guessed entry URL and zone label, and TODO where only you
    /// know. Reads containers; changes nothing.
    Init {
        /// The Compose project's name (`docker-compose ls`, or the
        /// `com.docker.compose.project` label).
        #[arg(long)]
        compose: String,
        /// Where to write it (default `stacks/<project>.toml`; `-`: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Overwrite a file that exists.
        #[arg(long)]
        force: bool,
    },
    /// Remove everything faultline created on this engine (every run).
    Clean {
        /// Also remove faultline's images.
        #[arg(long)]
        images: bool,
    },
}

/// `faultline images …`.
#[derive(Debug, Subcommand)]
pub enum ImagesAction {
    /// Build every image that is missing or out of date.
    Build {
        /// Rebuild even if the content hash is present.
        #[arg(long)]
        force: bool,
    },
}

/// Parses nothing: runs `cli` on a fresh runtime and returns the exit code.
pub fn main(cli: Cli) -> ExitCode {
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("faultline: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::Environment.code());
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(e) => {
            eprintln!("faultline: {e}");
            ExitCode::from(e.exit().code())
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs one command; `Ok` carries the exit status of a command that did its
/// job (pass, or a failed check), `Err` the harness failing.
pub async fn dispatch(cli: Cli) -> Result<Exit, Error> {
    match cli.command {
        Command::Images {
            action: ImagesAction::Build { force },
        } => {
            let engine = Engine::connect(cli.allow_remote).await?;
            let started = Instant::now();
            let built = images::build_all(&engine, &images::BuildOptions { force }).await?;
            for b in &built {
                let what = if b.built { "built" } else { "up to date" };
                println!(
                    "{:<12} {:<40} {what} ({:.1}s)",
                    b.name, b.reference, b.seconds
                );
            }
            println!("images ready in {:.1}s", started.elapsed().as_secs_f64());
            Ok(Exit::Pass)
        }
        Command::Up { system, timeout } => {
            let root = crate::project::root();
            let profile = crate::targets::load(&crate::targets::profiles_dir(&root), &system)?;
            let platform = Platform::connect(cli.allow_remote).await?;
            let settings = profile.stack.clone();
            let opts = UpOptions {
                run: stack::new_run_id(),
                system,
                owner: Owner::Cli,
                ready_timeout: timeout,
            };
            let started = Instant::now();
            eprintln!("starting stack {} for system {} …", opts.run, opts.system);
            let up = stack::up(&platform, &settings, &opts);
            let stack = tokio::select! {
                r = up => r?,
                _ = tokio::signal::ctrl_c() => {
                    eprintln!("interrupted: removing stack {}", opts.run);
                    platform.sweep(Some(&opts.run)).await?;
                    return Err(Error::Interrupted);
                }
            };
            println!(
                "stack {} ready in {:.1}s",
                stack.run,
                started.elapsed().as_secs_f64()
            );
            print_endpoints(&stack).await;
            Ok(Exit::Pass)
        }
        Command::Status { run } => {
            let platform = Platform::connect(cli.allow_remote).await?;
            let stack = Stack::attach(&platform, run.as_deref()).await?;
            let rows = stack::status::collect(&stack).await?;
            println!("stack {} (system {})", stack.run, stack.system);
            println!("{}", stack::status::render(&rows));
            let healthy = rows.iter().filter(|r| stack::status::is_healthy(r)).count();
            println!("{healthy} of {} healthy", rows.len());
            Ok(Exit::Pass)
        }
        Command::Down { run } => {
            let platform = Platform::connect(cli.allow_remote).await?;
            let stack = Stack::attach(&platform, run.as_deref()).await?;
            let removed = stack.down().await?;
            println!("stack {} removed ({removed} objects)", stack.run);
            Ok(Exit::Pass)
        }
        Command::Run {
            scenario,
            system,
            stack,
            seed,
            out,
            keep_stack,
            dry_run,
            json,
        } => {
            let opts = crate::run::RunOptions {
                system: system.clone(),
                seed,
                out_dir: out.clone(),
                keep_stack,
                dry_run,
                json,
                allow_remote: cli.allow_remote,
                quiet: false,
            };
            let outcome = match stack {
                Some(stack) => crate::userstack::run::run_file(&scenario, &stack, &opts).await,
                None => {
                    let (sc, profile) = crate::run::load(&scenario, system.as_deref())?;
                    crate::run::execute(&sc, &profile, &opts).await
                }
            };
            let outcome = match outcome {
                Err(Error::DryRun) => return Ok(Exit::Pass),
                other => other?,
            };
            print!("{}", crate::report::console::render(&outcome.report));
            println!("reports: {}", outcome.dir.display());
            Ok(if outcome.interrupted {
                Exit::Interrupted
            } else if outcome.verdict.pass {
                Exit::Pass
            } else {
                Exit::CheckFailed
            })
        }
        Command::Drill {
            suite,
            system,
            month,
            seed,
            keep_stack,
        } => {
            let suite = crate::suite::Suite::load(&suite)?;
            let root = crate::project::root();
            let profile = crate::targets::load(&crate::targets::profiles_dir(&root), &system)?;
            let opts = crate::drill::DrillOptions {
                month,
                seed,
                keep_stack,
                allow_remote: cli.allow_remote,
                ..Default::default()
            };
            let (record, folder) = crate::drill::execute(&suite, &profile, &opts).await?;
            for r in &record.scenarios {
                println!(
                    "{} {:<16} {}",
                    if r.verdict == "pass" { "✓" } else { "✗" },
                    r.scenario,
                    r.error
                        .clone()
                        .unwrap_or_else(|| r.failed_checks.join(", "))
                );
            }
            println!(
                "drill {} for {}: {} — {}",
                record.month,
                record.system,
                if record.pass { "PASS" } else { "FAIL" },
                folder.join("index.html").display()
            );
            Ok(if record.pass {
                Exit::Pass
            } else {
                Exit::CheckFailed
            })
        }
        Command::Validate {
            files,
            system,
            stack,
        } => {
            if let Some(path) = &stack {
                let s = faultline_core::stack_file::StackFile::load_file(path)?;
                println!(
                    "{}: ok — stack {}, {} request kind(s), lost writes {}",
                    path.display(),
                    s.name,
                    s.requests.len(),
                    if s.write_check.is_some() {
                        "read from its database"
                    } else {
                        "not measured (no [write_check])"
                    }
                );
            }
            if let (Some(path), false) = (&stack, files.is_empty()) {
                // Scenarios for a stack of the user's name its services:
                // checked against what the project runs (read only).
                let src = crate::source::Source::read(path)?;
                let file = faultline_core::stack_file::StackFile::parse(&src)?;
                let platform = Platform::connect(cli.allow_remote).await?;
                let (_, inventory) = crate::userstack::attach(&platform, &file, &src).await?;
                for f in &files {
                    let sc = crate::scenario::Scenario::load_file_for(f, &inventory)?;
                    println!("{}", scenario_ok(f, &sc, &file.name));
                }
                return Ok(Exit::Pass);
            }
            for f in &files {
                let (sc, profile) = crate::run::load(f, system.as_deref())?;
                println!("{}", scenario_ok(f, &sc, &profile.name));
            }
            Ok(Exit::Pass)
        }
        Command::Targets { system } => {
            let root = crate::project::root();
            let dir = crate::targets::profiles_dir(&root);
            let names = match system {
                Some(s) => vec![s],
                None => crate::targets::available(&dir),
            };
            let mut rows = Vec::new();
            for n in names {
                rows.extend(crate::targets::rows(&crate::targets::load(&dir, &n)?));
            }
            println!(
                "{}",
                tabled::Table::new(rows).with(tabled::settings::Style::rounded())
            );
            println!("limits whose source starts with \"faultline default\" stand in for numbers the document does not state");
            Ok(Exit::Pass)
        }
        Command::Report { dir } => {
            let read = |name: &str| {
                std::fs::read_to_string(dir.join(name)).map_err(|e| {
                    crate::error::InputError::Usage(format!("{}: {e}", dir.join(name).display()))
                })
            };
            let report: crate::report::Report = serde_json::from_str(&read("report.json")?)
                .map_err(|e| {
                    crate::error::InputError::Usage(format!(
                        "{}: {e}",
                        dir.join("report.json").display()
                    ))
                })?;
            // The charts are drawn from timeline.csv: without it (or with a
            // broken line) the pages would show empty charts as if nothing
            // had happened, so the command refuses and says which file.
            let timeline = dir.join("timeline.csv");
            let rows = crate::report::parse_timeline_csv(&read("timeline.csv")?).map_err(
                |(line, message)| crate::source::FileError {
                    file: timeline.clone(),
                    line,
                    column: 1,
                    message,
                    hint: "timeline.csv is written by the run; re-run it or restore the file"
                        .into(),
                },
            )?;
            crate::report::write(&dir, &report, &rows)
                .map_err(|e| Error::Environment(format!("writing {}: {e}", dir.display())))?;
            print!("{}", crate::report::console::render(&report));
            Ok(if report.verdict == "pass" {
                Exit::Pass
            } else {
                Exit::CheckFailed
            })
        }
        Command::Load {
            url,
            rate,
            duration,
            timeout,
            max_in_flight,
            threads,
            timer_resolution,
            json,
            raw,
        } => {
            let spec = crate::workload::LoadSpec {
                schedule: crate::workload::Schedule {
                    rate,
                    ramp: Duration::ZERO,
                    duration,
                },
                timeout,
                mix: crate::workload::Mix::default(),
                seed: rand::random(),
                max_in_flight,
                threads,
                timer_resolution,
            };
            load_command(url, spec, json, raw).await
        }
        Command::Init {
            compose,
            out,
            force,
        } => init_compose(&compose, out, force, cli.allow_remote).await,
        Command::Clean { images } => {
            let platform = Platform::connect(cli.allow_remote).await?;
            let removed = platform.sweep(None).await?;
            println!("removed {removed} containers, networks and volumes labelled faultline.run");
            // Faults a killed run left in a stack faultline did not create.
            let recovered = crate::userstack::undo::recover(&platform, None).await;
            crate::userstack::run::report_recovered(&recovered)?;
            if images {
                // Images are Docker's, whatever runs them.
                let engine = Engine::connect(cli.allow_remote).await?;
                let n = images::remove_all(&engine).await?;
                println!("removed {n} faultline images");
            }
            Ok(Exit::Pass)
        }
    }
}

/// `validate`'s line for a scenario that is valid on `on`.
fn scenario_ok(path: &std::path::Path, sc: &crate::scenario::Scenario, on: &str) -> String {
    format!(
        "{}: ok — {} on {on}, {} fault(s), {} req/s for {}",
        path.display(),
        sc.name,
        sc.faults.len(),
        sc.load.rate,
        humantime::format_duration(sc.load.duration)
    )
}

/// `faultline init --compose PROJECT`.
async fn init_compose(
    project: &str,
    out: Option<PathBuf>,
    force: bool,
    allow_remote: bool,
) -> Result<Exit, Error> {
    use crate::platform::docker::compose;
    let engine = Engine::connect(allow_remote).await?;
    let services = compose::services(&engine, project).await?;
    if services.is_empty() {
        let running = compose::projects(&engine).await?;
        return Err(InputError::Usage(format!(
            "no running container belongs to the Compose project {project:?}; running projects: {}",
            if running.is_empty() {
                "none".to_string()
            } else {
                running.join(", ")
            }
        ))
        .into());
    }
    let text = faultline_core::stack_file::starter::render(project, &services);
    let path = out.unwrap_or_else(|| {
        crate::project::root()
            .join("stacks")
            .join(format!("{}.toml", project.replace('_', "-")))
    });
    if path.as_os_str() == "-" {
        print!("{text}");
        return Ok(Exit::Pass);
    }
    if path.exists() && !force {
        return Err(
            InputError::Usage(format!("{} exists; --force overwrites it", path.display())).into(),
        );
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Environment(format!("creating {}: {e}", dir.display())))?;
    }
    std::fs::write(&path, text)
        .map_err(|e| Error::Environment(format!("writing {}: {e}", path.display())))?;
    println!(
        "wrote {} ({} services); fill in its TODOs, then check it: faultline validate --stack {}",
        path.display(),
        services.len(),
        path.display()
    );
    Ok(Exit::Pass)
}

async fn print_endpoints(stack: &Stack) {
    use crate::stack::topology::{PATRONI_PORT, PG_PORT};
    if let Some(url) = stack.ingress_url() {
        println!("  ingress        {url}");
    }
    let leader = stack::ready::leader(stack).await;
    for n in stack.nodes_of(stack::Service::Postgres) {
        let role = if leader.as_deref() == Some(n.name.as_str()) {
            "leader"
        } else {
            "replica"
        };
        println!(
            "  {:<14} postgres://{} (patroni http://{}) {role}",
            n.name,
            n.addr(PG_PORT).unwrap_or_default(),
            n.addr(PATRONI_PORT).unwrap_or_default()
        );
    }
    println!("  status         faultline status --run {}", stack.run);
}

/// This process's peak resident memory, MiB, from `/proc/self/status`.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU seconds (user + system) this process has used. `getrusage`'s total
/// is the scheduler's exact run time (only its user/system split is
/// estimated from ticks), unlike the tick counts in `/proc/self/stat`.
pub fn process_cpu_seconds() -> Option<f64> {
    use nix::sys::resource::{getrusage, UsageWho};
    let u = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    Some(secs(u.user_time()) + secs(u.system_time()))
}

async fn load_command(
    url: String,
    spec: crate::workload::LoadSpec,
    json: bool,
    raw: Option<std::path::PathBuf>,
) -> Result<Exit, Error> {
    use crate::error::InputError;
    use crate::measure::{phase_metrics, Phase};
    use crate::workload::{self, LoadOptions, RunClock, Target};
    let (rate, duration, timeout) = (spec.schedule.rate, spec.schedule.duration, spec.timeout);
    if !(rate > 0.0 && rate.is_finite()) {
        return Err(
            InputError::Usage(format!("--rate must be a positive number, got {rate}")).into(),
        );
    }
    let cpu_before = process_cpu_seconds();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopper = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stopper.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let out = workload::run(
        &spec,
        Target::Plain { url },
        RunClock::start_now(),
        LoadOptions {
            raw_csv: raw,
            stop: stop.clone(),
            ..LoadOptions::new(timeout)
        },
    )
    .await
    .map_err(|e| -> Error {
        use crate::workload::WorkloadError;
        match e {
            // What the user gave: the URL, the raw-records path (exit 2).
            WorkloadError::InvalidTarget(_) | WorkloadError::RawFile { .. } => {
                InputError::Usage(e.to_string()).into()
            }
            // The machine failed the generator: its timer or a thread (exit 3).
            WorkloadError::Timer(_) | WorkloadError::Thread(_) => Error::Environment(e.to_string()),
        }
    })?;
    let cpu = match (cpu_before, process_cpu_seconds()) {
        (Some(a), Some(b)) => b - a,
        _ => f64::NAN,
    };
    let all = Phase {
        name: "whole run".into(),
        start_us: 0,
        end_us: u64::MAX,
    };
    let m = phase_metrics(&out.timeline, &all, 0.0);
    let lateness = out.lateness();
    let summary = serde_json::json!({
        "target_rate": rate,
        "achieved_rate": out.achieved_rate(duration),
        "sent": out.sent,
        "ok": m.ok,
        "errors": m.errors,
        "latency_ms": m.latency_ms.unwrap_or_default(),
        "lateness_ms": lateness,
        "cpu_seconds": cpu,
        "cpu_seconds_per_10k": cpu / out.sent.max(1) as f64 * 10_000.0,
        "peak_rss_mib": peak_rss_mib(),
    });
    if json {
        println!("{summary}");
    } else {
        println!(
            "sent {} ({:.1}/s of {rate}/s), ok {}, errors {:?}",
            out.sent,
            out.achieved_rate(duration),
            m.ok,
            m.errors
        );
        let l = m.latency_ms.unwrap_or_default();
        println!(
            "latency ms: p50 {:.3} p95 {:.3} p99 {:.3} max {:.3}",
            l.p50, l.p95, l.p99, l.max
        );
        println!(
            "generator lateness ms: p50 {:.3} p99 {:.3} max {:.3}; cpu {cpu:.2}s",
            lateness.p50_ms, lateness.p99_ms, lateness.max_ms
        );
    }
    if stop.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    Ok(Exit::Pass)
}
