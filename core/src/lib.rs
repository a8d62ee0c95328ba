//! faultline's pure core: everything that can be decided without touching
//! a container, a cluster or the network.
//!
//! Scenario, targets and suite files are parsed and validated here (with
//! file, line and column on every error); the stack's topology and its
//! components' configuration files are described here; fault specs,
//! measurement (timelines, RTO, RPO, events), verdicts and every report
//! renderer live here. The `faultline` crate does the I/O — platforms,
//! workload, fault proxy, probes, the CLI — on top of this one.
//!
//! This crate depends on no async runtime, engine or HTTP client; it reads
//! and writes only the files it is handed (scenarios, profiles, reports,
//! the drill history).

pub mod drill;
pub mod faults;
pub mod hash;
pub mod measure;
pub mod plan;
pub mod probes;
pub mod project;
pub mod report;
pub mod scenario;
pub mod source;
pub mod stack;
pub mod stack_file;
pub mod suite;
pub mod targets;
pub mod verdict;
pub mod workload;

pub use scenario::Scenario;
