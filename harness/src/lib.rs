//! faultline: a chaos and disaster-recovery drill harness.
//!
//! It starts a real multi-zone stack (reference services, PostgreSQL with
//! Patroni failover, a Kafka-protocol broker, Redis, an ingress) in Docker,
//! and — in the modules that build on this one — drives open-loop traffic
//! through it, injects faults and measures RTO, RPO, availability and
//! latency against documented targets.
//!
//! The pure parts (scenario, targets, measure, verdict, report, stack
//! topology, fault specs) live in the `faultline-core` crate, which has no
//! async runtime, engine or HTTP client to import; they are re-exported
//! here under their old paths. This crate does the I/O: platform, images,
//! stack, workload, faults, probes, run, drill and the CLI.
//!
//! A scenario as a test of your own, in three lines:
//!
//! ```no_run
//! # async fn example() -> Result<(), faultline::Error> {
//! let stack = faultline::Stack::start("customer-service").await?;
//! faultline::Prepared::load("scenarios/pod-kill.toml")?.run(&stack).await?.assert_pass();
//! stack.down().await?;
//! # Ok(())
//! # }
//! ```

pub mod cli;
pub mod drill;
pub mod error;
pub mod exit;
pub mod faults;
pub mod images;
pub mod platform;
pub mod poll;
pub mod probes;
pub mod proxy;
pub mod run;
pub mod stack;
pub mod userstack;
pub mod workload;

// The pure core, under the paths it always had here.
pub use faultline_core::{
    measure, plan, project, report, scenario, source, stack_file, suite, targets, verdict,
};

pub use error::{Error, Exit};
pub use run::{Prepared, RunOutcome};
pub use scenario::Scenario;
pub use stack::Stack;
