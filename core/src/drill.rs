//! A drill's record as the history keeps it (`reports/history.jsonl`, one
//! JSON line per drill: a file-based store that needs no server), and the
//! history file itself.

use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// One scenario's result in a drill.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// Scenario name.
    pub scenario: String,
    /// `pass`, `fail` or `error` (the harness could not run it).
    pub verdict: String,
    /// Worst RTO over its faults, ms (`None`: not recovered, or no fault).
    pub rto_ms: Option<f64>,
    /// Worst RPO window, ms.
    pub rpo_window_ms: f64,
    /// Acknowledged writes lost.
    pub lost_writes: u64,
    /// Availability over the run.
    pub availability: f64,
    /// Share of the monthly error budget consumed, when judged.
    pub budget_share: Option<f64>,
    /// Latency p95, ms.
    pub p95_ms: f64,
    /// Latency p99, ms.
    pub p99_ms: f64,
    /// Failed checks.
    pub failed_checks: Vec<String>,
    /// The run's report folder, relative to the drill folder.
    pub report: String,
    /// Why the harness could not run it, if so.
    pub error: Option<String>,
    /// The timed steps of its restores from backup, if it had any.
    #[serde(default)]
    pub restore: Option<String>,
}

/// One drill, as stored in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillRecord {
    /// System profile.
    pub system: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Start, RFC 3339.
    pub started_at: String,
    /// End, RFC 3339.
    pub finished_at: String,
    /// Suite name.
    pub suite: String,
    /// Every scenario passed.
    pub pass: bool,
    /// Per scenario.
    pub scenarios: Vec<ScenarioResult>,
    /// Where its report is.
    pub folder: String,
}

/// This month, `YYYY-MM` (UTC).
pub fn this_month() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()[..7].to_string()
}

/// The drill history as read: the drills, and every line that could not be
/// read (never fatal — a drill still runs — but always said).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Every readable drill, oldest first.
    pub drills: Vec<DrillRecord>,
    /// `file:line: why` for each line that is not a drill record.
    pub unreadable: Vec<String>,
}

/// Reads every drill of the history file (missing file: none).
pub fn read_history(path: &Path) -> History {
    let mut history = History::default();
    let Ok(text) = std::fs::read_to_string(path) else {
        return history;
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(d) => history.drills.push(d),
            Err(e) => history
                .unreadable
                .push(format!("{}:{}: {e}", path.display(), i + 1)),
        }
    }
    history
}

/// Appends a drill to the history file.
pub fn append_history(path: &Path, record: &DrillRecord) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(
        f,
        "{}",
        serde_json::to_string(record).map_err(std::io::Error::other)?
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_history_line_is_named_not_dropped() {
        let path =
            std::env::temp_dir().join(format!("faultline-history-{}.jsonl", std::process::id()));
        let record = DrillRecord {
            system: "ias".into(),
            month: "2026-11".into(),
            started_at: "2026-11-01T00:00:00Z".into(),
            finished_at: "2026-11-01T01:00:00Z".into(),
            suite: "monthly-dr".into(),
            pass: true,
            scenarios: Vec::new(),
            folder: "2026-11-ias".into(),
        };
        append_history(&path, &record).unwrap();
        std::fs::write(
            &path,
            std::fs::read_to_string(&path).unwrap() + "{\"system\": truncated\n",
        )
        .unwrap();
        append_history(&path, &record).unwrap();
        let h = read_history(&path);
        let _ = std::fs::remove_file(&path);
        assert_eq!(h.drills, vec![record.clone(), record]);
        assert_eq!(h.unreadable.len(), 1);
        assert!(h.unreadable[0].contains(":2: "), "{:?}", h.unreadable);
    }
}
