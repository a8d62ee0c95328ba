//! faultline: a chaos and disaster-recovery drill harness.
//!
//! It starts a real multi-zone stack (reference services, PostgreSQL with
//! Patroni failover, a Kafka-protocol broker, Redis, an ingress) in Docker,
//! and — in the modules that build on this one — drives open-loop traffic
//! through it, injects faults and measures RTO, RPO, availability and
//! latency against documented targets.
//!
//! The pure parts (topology, configs, settings) import no tokio or Docker;
//! the platform, images and stack modules do the I/O.

pub mod cli;
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
pub mod targets;
pub mod verdict;
pub mod workload;

pub use error::{Error, Exit};
