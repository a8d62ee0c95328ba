//! What a run on a user's stack changed and has not put back yet, kept on
//! disk as it happens, so that what a *killed* run left behind (a stopped
//! or frozen container, a network cut, a CPU limit) is found and undone by
//! `faultline clean` — and by the next run on the same project — rather
//! than left in a stack faultline did not create. (Faultline's own stack
//! needs none of this: everything of it carries labels, and a sweep removes
//! it whole.) An interrupted run reverts everything itself and removes its
//! log; a log whose process is gone is a killed run's.
//!
//! One file per run, `$FAULTLINE_CACHE/undo/<project>.<pid>.jsonl`, one
//! JSON line per injection (with what undoes it) and per revert.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::faults::{self, Revert};
use crate::platform::{CpuRestore, Platform};
use crate::stack::Stack;

/// How to put back what one fault changed in a user's stack (the reverts
/// a fault on a user's stack can need).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Undo {
    /// Start these containers.
    Start(Vec<String>),
    /// Thaw these containers.
    Unpause(Vec<String>),
    /// Remove these cuts: (container, fault id).
    Heal(Vec<(String, usize)>),
    /// Put these CPU limits back.
    CpuLimits(Vec<(String, CpuRestore)>),
}

impl Undo {
    /// The undo of a revert, if it is one a user's stack can need.
    pub fn of(revert: &Revert) -> Option<Undo> {
        match revert {
            Revert::Start(c) => Some(Undo::Start(c.clone())),
            Revert::Unpause(c) => Some(Undo::Unpause(c.clone())),
            Revert::Heal(c) => Some(Undo::Heal(c.clone())),
            Revert::CpuLimits(c) => Some(Undo::CpuLimits(c.clone())),
            Revert::Toxics(_) | Revert::Restore(_) | Revert::Nothing => None,
        }
    }

    fn revert(&self) -> Revert {
        match self {
            Undo::Start(c) => Revert::Start(c.clone()),
            Undo::Unpause(c) => Revert::Unpause(c.clone()),
            Undo::Heal(c) => Revert::Heal(c.clone()),
            Undo::CpuLimits(c) => Revert::CpuLimits(c.clone()),
        }
    }
}

/// One line of a log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "event")]
enum Line {
    /// Fault `fault` is in force; `undo` puts it back.
    Injected { fault: usize, undo: Undo },
    /// Fault `fault` was put back.
    Reverted { fault: usize },
}

/// The folder of the logs.
fn dir() -> PathBuf {
    crate::project::cache_dir().join("undo")
}

/// This run's log, written line by line as faults go in and out.
#[derive(Debug)]
pub struct UndoLog {
    path: PathBuf,
    file: std::fs::File,
}

impl UndoLog {
    /// Opens this process's log for Compose project `project`.
    pub fn create(project: &str) -> std::io::Result<UndoLog> {
        std::fs::create_dir_all(dir())?;
        let path = dir().join(format!("{project}.{}.jsonl", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(UndoLog { path, file })
    }

    fn write(&mut self, line: &Line) -> std::io::Result<()> {
        let mut text = serde_json::to_string(line).map_err(std::io::Error::other)?;
        text.push('\n');
        self.file.write_all(text.as_bytes())?;
        // On disk before the run goes on: a SIGKILL may come next.
        self.file.sync_data()
    }

    /// Records that fault `fault` is in force and how to undo it.
    pub fn injected(&mut self, fault: usize, revert: &Revert) -> std::io::Result<()> {
        match Undo::of(revert) {
            Some(undo) => self.write(&Line::Injected { fault, undo }),
            None => Ok(()),
        }
    }

    /// Records that fault `fault` was put back.
    pub fn reverted(&mut self, fault: usize) -> std::io::Result<()> {
        self.write(&Line::Reverted { fault })
    }

    /// Removes the log: the run ended and put back everything it will.
    pub fn finish(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What a log still holds undone, by fault.
fn pending(path: &Path) -> BTreeMap<usize, Undo> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut open = BTreeMap::new();
    // A line cut short by the kill is skipped: its fault had not been
    // recorded as in force, and the lines before it still count.
    for line in text
        .lines()
        .filter_map(|l| serde_json::from_str::<Line>(l).ok())
    {
        match line {
            Line::Injected { fault, undo } => {
                open.insert(fault, undo);
            }
            Line::Reverted { fault } => {
                open.remove(&fault);
            }
        }
    }
    open
}

/// A log's project and process, from its name.
fn parse_name(path: &Path) -> Option<(String, u32)> {
    let name = path.file_name()?.to_str()?.strip_suffix(".jsonl")?;
    let (project, pid) = name.rsplit_once('.')?;
    Some((project.to_string(), pid.parse().ok()?))
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// What [`recover`] did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Recovered {
    /// (project, faults undone) per killed run's log.
    pub undone: Vec<(String, usize)>,
    /// What could not be undone (the log is kept for another try).
    pub failed: Vec<String>,
}

/// Undoes what killed runs left (logs whose process is gone), in every
/// project or only in `project`, and removes their logs. A log whose
/// process still runs is a run in progress: left alone.
pub async fn recover(platform: &Platform, project: Option<&str>) -> Recovered {
    let mut out = Recovered::default();
    let Ok(entries) = std::fs::read_dir(dir()) else {
        return out;
    };
    let mut logs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    logs.sort();
    for path in logs {
        let Some((owner, pid)) = parse_name(&path) else {
            continue;
        };
        if project.is_some_and(|p| p != owner) || alive(pid) {
            continue;
        }
        let open = pending(&path);
        let stack = Stack::user(platform, &owner, Vec::new());
        let mut failed = false;
        for undo in open.values() {
            if let Err(e) = faults::undo(&stack, &undo.revert()).await {
                out.failed.push(format!("{owner}: {e}"));
                failed = true;
            }
        }
        if !failed {
            let _ = std::fs::remove_file(&path);
            out.undone.push((owner, open.len()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_keeps_what_is_still_in_force_and_skips_a_line_cut_short() {
        let path =
            std::env::temp_dir().join(format!("faultline-undo-test.{}.jsonl", std::process::id()));
        let lines = [
            serde_json::to_string(&Line::Injected {
                fault: 0,
                undo: Undo::Start(vec!["shop_app-a_1".into()]),
            })
            .unwrap(),
            serde_json::to_string(&Line::Injected {
                fault: 1,
                undo: Undo::Heal(vec![("shop_app-b_1".into(), 1)]),
            })
            .unwrap(),
            serde_json::to_string(&Line::Reverted { fault: 0 }).unwrap(),
            "{\"event\":\"injected\",\"fault\":2,\"undo\":{\"unpa".to_string(),
        ];
        std::fs::write(&path, lines.join("\n")).unwrap();
        let open = pending(&path);
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            open.into_iter().collect::<Vec<_>>(),
            vec![(1, Undo::Heal(vec![("shop_app-b_1".into(), 1)]))]
        );
    }

    #[test]
    fn a_logs_name_gives_its_project_and_process() {
        assert_eq!(
            parse_name(Path::new("/x/compose-shop.1234.jsonl")),
            Some(("compose-shop".into(), 1234))
        );
        assert_eq!(parse_name(Path::new("/x/notes.txt")), None);
    }

    #[test]
    fn only_a_users_stacks_reverts_are_logged() {
        assert_eq!(Undo::of(&Revert::Nothing), None);
        let start = Revert::Start(vec!["c".into()]);
        assert_eq!(Undo::of(&start).unwrap().revert(), start);
    }
}
