//! The fault journal: every fault's [`JournalEntry`], appended to
//! `faults.jsonl` as it happens.

use std::io::Write;
use std::path::PathBuf;

pub use faultline_core::faults::journal::JournalEntry;
use faultline_core::measure::FaultSpan;

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
