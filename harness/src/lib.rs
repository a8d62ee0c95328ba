//! faultline: a chaos and disaster-recovery drill harness.
//!
//! It starts a real multi-zone stack (reference services, PostgreSQL with
//! Patroni failover, a Kafka-protocol broker, Redis, an ingress) in Docker,
//! and — in the modules that build on this one — drives open-loop traffic
//! through it, injects faults and measures RTO, RPO, availability and
//! latency against documented targets.
//!
//! The pure parts (scenario, targets, measure, verdict, report, stack
//! topology) import no tokio or Docker; the platform, images, stack,
//! workload, faults, probes and run modules do the I/O.
//!
//! A scenario as a test of your own, in three lines:
//!
//! ```no_run
//! # async fn example() -> Result<(), faultline::Error> {
//! let stack = faultline::Stack::start("customer-service").await?;
//! faultline::Scenario::load("scenarios/pod-kill.toml")?.run(&stack).await?.assert_pass();
//! stack.down().await?;
//! # Ok(())
//! # }
//! ```

pub mod cli;
pub mod drill;
pub mod error;
pub mod faults;
pub mod images;
pub mod measure;
pub mod platform;
pub mod probes;
pub mod project;
pub mod proxy;
pub mod report;
pub mod run;
pub mod scenario;
pub mod source;
pub mod stack;
pub mod suite;
pub mod targets;
pub mod verdict;
pub mod workload;

pub use error::{Error, Exit};
pub use run::{Prepared, RunOutcome};
pub use scenario::Scenario;
pub use stack::Stack;
