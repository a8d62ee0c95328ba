//! The fault journal's entry: when each fault went in and came out, on the
//! run's monotonic clock (to align with requests) and the wall clock (for
//! people and other logs). The harness appends them to `faults.jsonl` as
//! they happen.

use serde::{Deserialize, Serialize};

use super::spec::FaultKind;
use crate::measure::FaultSpan;

/// One fault's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Its number in the scenario.
    pub id: usize,
    /// Its kind (its scenario name in `faults.jsonl`).
    pub kind: FaultKind,
    /// Its label.
    pub label: String,
    /// What it acted on.
    pub targets: Vec<String>,
    /// When the harness asked for the injection, µs from the run's start.
    #[serde(default)]
    pub requested_at_us: u64,
    /// When the fault was in effect (the engine's call returned), µs from
    /// the run's start: every measurement counts from here.
    pub injected_at_us: u64,
    /// Injection, ms since the Unix epoch.
    pub injected_unix_ms: u64,
    /// When the harness asked for the revert, µs from the run's start:
    /// the fault was surely in force from `injected_at_us` to here.
    #[serde(default)]
    pub revert_requested_at_us: Option<u64>,
    /// When the revert was done (its call returned), µs from the run's start.
    pub reverted_at_us: Option<u64>,
    /// Revert, ms since the Unix epoch.
    pub reverted_unix_ms: Option<u64>,
    /// Why injecting or reverting failed, if it did.
    pub error: Option<String>,
    /// The timed steps of its revert (a restore).
    #[serde(default)]
    pub steps: Vec<crate::measure::Step>,
    /// For a restore: the newest commit the restored database holds.
    #[serde(default)]
    pub recovered_to_unix_ms: Option<u64>,
}

impl JournalEntry {
    /// The span measurement needs.
    pub fn span(&self) -> FaultSpan {
        FaultSpan {
            id: self.id,
            label: self.label.clone(),
            injected_us: self.injected_at_us,
            reverted_us: self.reverted_at_us,
            kind: self.kind,
            error: self.error.clone(),
            steps: self.steps.clone(),
            recovered_to_unix_ms: self.recovered_to_unix_ms,
        }
    }
}
