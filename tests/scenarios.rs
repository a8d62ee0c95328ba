//! Scenario suites as cargo tests: every scenario of a suite is a test of
//! its own, so `cargo test --test scenarios -- pod_kill` runs one, and a
//! scenario whose checks fail fails its test with the verdict table.
//!
//! The suite is `FAULTLINE_SUITE` (default `smoke`), judged against its
//! system or `FAULTLINE_SYSTEM`. One stack serves the whole suite: it is
//! started before the first scenario that runs and removed at the end.

mod support;

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use faultline::suite::Suite;
use faultline::{Prepared, Stack};
use libtest_mimic::{Arguments, Failed, Trial};

struct Shared {
    runtime: tokio::runtime::Runtime,
    stack: Mutex<Option<(Stack, support::StackLock)>>,
}

impl Shared {
    fn stack(&self, system: &str) -> Result<Stack, Failed> {
        let mut slot = self
            .stack
            .lock()
            .map_err(|_| Failed::from("stack lock poisoned"))?;
        if let Some((s, _)) = slot.as_ref() {
            return Ok(s.clone());
        }
        let lock = support::StackLock::acquire()
            .map_err(|e| Failed::from(format!("the stack lock: {e}")))?;
        let stack = self
            .runtime
            .block_on(Stack::start(system))
            .map_err(|e| Failed::from(format!("the stack did not start: {e}")))?;
        *slot = Some((stack.clone(), lock));
        Ok(stack)
    }
}

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    // Scenarios share one stack and inject faults into it: one at a time.
    args.test_threads = Some(1);
    let root = faultline::project::root();
    // A suite name (scenarios/suites/<name>.toml) or a path to a suite file.
    let suite_name = std::env::var("FAULTLINE_SUITE").unwrap_or_else(|_| "smoke".into());
    let suite_path = if suite_name.ends_with(".toml") {
        std::path::PathBuf::from(&suite_name)
    } else {
        root.join(format!("scenarios/suites/{suite_name}.toml"))
    };
    let suite = match Suite::load(&suite_path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let system = std::env::var("FAULTLINE_SYSTEM").unwrap_or_else(|_| suite.system.clone());
    let shared = Arc::new(Shared {
        runtime: tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime"),
        stack: Mutex::new(None),
    });
    let trials: Vec<Trial> = suite
        .scenarios
        .iter()
        .map(|path| {
            let (shared, path, system) = (shared.clone(), path.clone(), system.clone());
            Trial::test(suite.test_name(&path), move || {
                let prepared = Prepared::load(&path)
                    .and_then(|p| p.system(&system))
                    .map_err(|e| Failed::from(e.to_string()))?;
                let stack = shared.stack(&system)?;
                let outcome = shared
                    .runtime
                    .block_on(prepared.run(&stack))
                    .map_err(|e| Failed::from(format!("the harness failed: {e}")))?;
                eprintln!(
                    "{}\nreports: {}",
                    faultline::report::console::render(&outcome.report),
                    outcome.dir.display()
                );
                if outcome.verdict.pass {
                    Ok(())
                } else {
                    Err(Failed::from(format!(
                        "failed checks: {}\n{}",
                        outcome.verdict.failed().join(", "),
                        faultline::report::console::render(&outcome.report)
                    )))
                }
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    let taken = shared.stack.lock().ok().and_then(|mut s| s.take());
    if let Some((stack, _lock)) = taken {
        let _ = shared.runtime.block_on(stack.down());
    }
    conclusion.exit_code()
}
