//! Faults: one file per kind, each with `inject` and `revert`, acting
//! through the stack's [`Platform`](crate::platform::Platform) only. The
//! files are those of the core's registry
//! ([`with_fault_kinds!`](faultline_core::with_fault_kinds)): each
//! `<kind>.rs` here carries out what `faultline_core::faults::kinds::<kind>`
//! declares, and the dispatch below is generated from the same list.
//!
//! Injecting returns a [`Revert`]: everything needed to undo the fault
//! (nodes to start again, to thaw, network cuts to heal, toxics to
//! remove). Reverts are few and shared — a pod kill, an AZ outage and a
//! broker loss all end by starting containers — so they live here, once.
//! Every injection and revert is written to the [`journal`] with both
//! clocks (the run's monotonic offset and the wall clock).

pub mod journal;
pub mod select;
pub mod toxics;

pub use faultline_core::faults::{kinds, spec};

use std::sync::Mutex;

use rand::rngs::StdRng;

pub use crate::measure::Step;
use crate::platform::{CpuRestore, PlatformError};
use crate::stack::{Service, Stack};
use crate::workload::RunClock;
pub use journal::{Journal, JournalEntry};
pub use spec::{Action, FaultKind, FaultSpec};

/// A fault that could not be injected or reverted.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// The platform failed.
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// The selector matched no container.
    #[error("{fault}: its target matches no container of the stack")]
    NoTarget {
        /// The fault's label.
        fault: String,
    },
    /// A hop name the stack does not have.
    #[error("unknown hop {hop:?}; the stack has: {known}")]
    UnknownHop {
        /// The name given.
        hop: String,
        /// The names it has.
        known: String,
    },
    /// The fault proxy's API refused or did not answer.
    #[error("the fault proxy {proxy} failed: {reason}")]
    Proxy {
        /// Which proxy node.
        proxy: String,
        /// What happened.
        reason: String,
    },
    /// Rebuilding a node of the stack failed.
    #[error(transparent)]
    Stack(#[from] crate::stack::StackError),
    /// Restoring from the backup region failed.
    #[error("restore from backup failed: {0}")]
    Restore(String),
    /// Patroni refused the operation.
    #[error("Patroni {operation} failed: {reason}")]
    Patroni {
        /// What was asked.
        operation: &'static str,
        /// Why it failed.
        reason: String,
    },
}

/// What a fault needs to act: the stack, the run's clock and seeded
/// randomness (which container "any" picks).
pub struct FaultContext {
    /// The stack under test.
    pub stack: Stack,
    /// The run's clock (journal timestamps).
    pub clock: RunClock,
    /// Seeded choices.
    pub rng: Mutex<StdRng>,
}

/// How to undo an injected fault.
#[derive(Debug, Clone, PartialEq)]
pub enum Revert {
    /// Start these containers again (after kills).
    Start(Vec<String>),
    /// Thaw these containers.
    Unpause(Vec<String>),
    /// Heal these network cuts: (node, fault id).
    Heal(Vec<(String, usize)>),
    /// Put these CPU limits back: (node, the limit it had).
    CpuLimits(Vec<(String, CpuRestore)>),
    /// Remove these toxics: (proxy API address, proxy, toxic).
    Toxics(Vec<(String, String, String)>),
    /// Restore the database from the backup region (after a region loss).
    Restore(region_loss::RestorePlan),
    /// Nothing to undo (a switchover).
    Nothing,
}

/// A fault in force.
#[derive(Debug, Clone)]
pub struct Injected {
    /// Its number in the scenario (0-based).
    pub id: usize,
    /// What was asked.
    pub spec: FaultSpec,
    /// The containers or hop it acted on.
    pub targets: Vec<String>,
    /// How to undo it.
    pub revert: Revert,
}

macro_rules! carry_out_kinds {
    ($($variant:ident: $module:ident,)*) => {
        $(pub mod $module;)*

        /// Injects one fault. Nothing is left half-done: a failure part-way
        /// undoes what was done.
        pub async fn inject(
            ctx: &FaultContext,
            id: usize,
            spec: &FaultSpec,
        ) -> Result<Injected, FaultError> {
            let label = spec.label();
            let (targets, revert) = match &spec.action {
                $(Action::$variant(fault) => $module::inject(ctx, id, fault, &label).await?,)*
            };
            Ok(Injected {
                id,
                spec: spec.clone(),
                targets,
                revert,
            })
        }

        /// Undoes a fault. Safe to call twice, and after the containers it
        /// touched are gone.
        pub async fn revert(ctx: &FaultContext, fault: &Injected) -> Result<Reverted, FaultError> {
            match &fault.spec.action {
                $(Action::$variant(_) => $module::revert(ctx, &fault.revert).await,)*
            }
        }
    };
}
faultline_core::with_fault_kinds!(carry_out_kinds);

/// What a revert reports beyond success.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reverted {
    /// The steps of a long revert (a restore), on the run's clock.
    pub steps: Vec<Step>,
    /// For a restore: the newest commit the restored database holds, ms
    /// since the epoch.
    pub recovered_to_unix_ms: Option<u64>,
}

/// Carries out a [`Revert`].
pub async fn undo(stack: &Stack, revert: &Revert) -> Result<(), FaultError> {
    let platform = stack.platform();
    match revert {
        Revert::Start(containers) => {
            for c in containers {
                match platform.start(c).await {
                    Ok(()) => {}
                    // Already running (started by hand, or twice), or gone:
                    // fine.
                    Err(e) if e.is_already_in_state() || e.is_not_found() => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(())
        }
        Revert::Unpause(containers) => {
            for c in containers {
                match platform.unpause(c).await {
                    Ok(()) => {}
                    Err(e) if e.is_not_found() || e.is_already_in_state() => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(())
        }
        Revert::Heal(cuts) => {
            let results = futures_util::future::join_all(
                cuts.iter().map(|(node, fault)| platform.heal(node, *fault)),
            )
            .await;
            results
                .into_iter()
                .collect::<Result<Vec<_>, _>>()
                .map(|_| ())
                .map_err(FaultError::from)
        }
        Revert::CpuLimits(limits) => {
            for (node, before) in limits {
                match platform.restore_cpu(node, before).await {
                    Ok(()) => {}
                    // Gone: nothing to give back.
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(())
        }
        Revert::Toxics(toxics) => {
            for (api, proxy, name) in toxics {
                toxics::remove(api, proxy, name).await?;
            }
            Ok(())
        }
        Revert::Nothing => Ok(()),
        // A restore needs the run's clock for its steps: `revert` runs it.
        Revert::Restore(_) => Err(FaultError::Restore(
            "a restore runs through faults::revert".into(),
        )),
    }
}

/// Kills `containers` at once (a power cut) and returns the revert that
/// starts them again.
pub(crate) async fn kill_all(stack: &Stack, containers: &[String]) -> Result<Revert, FaultError> {
    let platform = stack.platform();
    let results = futures_util::future::join_all(containers.iter().map(|c| platform.kill(c))).await;
    start_again(results, containers)
}

/// Crashes `containers` at once (their main processes SIGKILLed) and
/// returns the revert that starts again whichever their own restart policy
/// has not brought back by then.
pub(crate) async fn crash_all(stack: &Stack, containers: &[String]) -> Result<Revert, FaultError> {
    let platform = stack.platform();
    let results =
        futures_util::future::join_all(containers.iter().map(|c| platform.crash(c))).await;
    start_again(results, containers)
}

/// The revert of stopping `containers`, once every stop succeeded (or
/// found its container not running already: killed by an earlier fault).
fn start_again(
    results: Vec<Result<(), PlatformError>>,
    containers: &[String],
) -> Result<Revert, FaultError> {
    for r in results {
        match r {
            Ok(()) => {}
            Err(e) if e.is_already_in_state() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Revert::Start(containers.to_vec()))
}

/// The container of the single node of `service`.
pub(crate) fn only(stack: &Stack, service: Service, label: &str) -> Result<String, FaultError> {
    stack
        .nodes_of(service)
        .next()
        .map(|n| n.container.clone())
        .ok_or_else(|| FaultError::NoTarget {
            fault: label.to_string(),
        })
}
