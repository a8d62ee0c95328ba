//! The fault journal: when each fault went in and came out, on the run's
//! monotonic clock (to align with requests) and the wall clock (for people
//! and other logs). Appended to `faults.jsonl` as it happens.

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::measure::FaultSpan;

/// One fault's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Its number in the scenario.
    pub id: usize,
    /// Its kind's scenario name.
    pub kind: String,
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
            kind: self.kind.clone(),
            error: self.error.clone(),
            steps: self.steps.clone(),
            recovered_to_unix_ms: self.recovered_to_unix_ms,
        }
    }
}

/// Every fault of a run, optionally mirrored to a JSON-lines file.
#[derive(Debug, Default)]
pub struct Journal {
    /// The entries, in injection order.
    pub entries: Vec<JournalEntry>,
    file: Option<(PathBuf, std::fs::File)>,
}

impl Journal {
    /// A journal that only lives in memory.
    pub fn in_memory() -> Self {
        Journal::default()
    }

    /// A journal that also appends every event to `path`.
    pub fn to_file(path: PathBuf) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(Journal {
            entries: Vec::new(),
            file: Some((path, file)),
        })
    }

    fn append(&mut self, event: &str, entry: &JournalEntry) {
        if let Some((_, f)) = self.file.as_mut() {
            let mut v = serde_json::to_value(entry).unwrap_or_default();
            v["event"] = event.into();
            let _ = writeln!(f, "{v}");
            let _ = f.flush();
        }
    }

    /// Records an injection.
    pub fn injected(&mut self, entry: JournalEntry) {
        self.append("injected", &entry);
        self.entries.push(entry);
    }

    /// Records the revert of fault `id` (asked for at `requested_us`, done
    /// at `at_us`), with the steps of a restore.
    pub fn reverted(
        &mut self,
        id: usize,
        requested_us: u64,
        at_us: u64,
        unix_ms: u64,
        outcome: Result<super::Reverted, String>,
    ) {
        let Some(i) = self.entries.iter().position(|e| e.id == id) else {
            return;
        };
        {
            let e = &mut self.entries[i];
            e.revert_requested_at_us = Some(requested_us);
            e.reverted_at_us = Some(at_us);
            e.reverted_unix_ms = Some(unix_ms);
            match outcome {
                Ok(r) => {
                    e.steps = r.steps;
                    e.recovered_to_unix_ms = r.recovered_to_unix_ms;
                }
                Err(error) => e.error = Some(error),
            }
        }
        let entry = self.entries[i].clone();
        self.append("reverted", &entry);
    }

    /// The spans measurement needs, in injection order.
    pub fn spans(&self) -> Vec<FaultSpan> {
        self.entries.iter().map(JournalEntry::span).collect()
    }
}
