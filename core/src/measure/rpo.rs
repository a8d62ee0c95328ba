//! Lost writes: what the ledger says was acknowledged against what the
//! database holds. Pure: the caller reads the database.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::metrics::FaultSpan;

/// How a write ended, from the client's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteOutcome {
    /// A 2xx answer: the service promised the write is durable.
    Acked {
        /// When the acknowledgement arrived, µs from the run's start.
        at_us: u64,
    },
    /// A timeout, a 5xx or a broken connection: it may or may not be written.
    Unknown,
    /// A 4xx answer: refused, not written.
    Rejected,
}

/// One write the load generator attempted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The id the client chose (an order's; the `{{id}}` of a stack
    /// file's write).
    pub id: Uuid,
    /// The text a stack file's write is stored under, when its
    /// `writes` template is more than `{{id}}` (`order-<id>`); `None`: the
    /// id itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// When it was scheduled, µs from the run's start.
    #[serde(default)]
    pub scheduled_us: u64,
    /// How it ended.
    pub outcome: WriteOutcome,
    /// The database node that acknowledged it, as the service said (an
    /// acknowledged write only; `None` when the answer did not say).
    #[serde(default)]
    pub acked_by: Option<String>,
}

/// The acknowledgement time of the first write scheduled at or after
/// `from_us` that was acknowledged: when writes were served again.
pub fn first_write_after(ledger: &[LedgerEntry], from_us: u64) -> Option<u64> {
    ledger
        .iter()
        .filter(|e| e.scheduled_us >= from_us)
        .filter_map(|e| match e.outcome {
            WriteOutcome::Acked { at_us } => Some(at_us),
            _ => None,
        })
        .min()
}

/// An acknowledged write the database does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostAck {
    /// The order.
    pub id: Uuid,
    /// When it was acknowledged, µs from the run's start.
    pub acked_us: u64,
    /// The node that acknowledged it, if the answer said.
    pub acked_by: Option<String>,
    /// The fault it is attributed to (an index into the faults given).
    pub fault: Option<usize>,
}

/// The comparison of the ledger with the database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteCheck {
    /// Acknowledged writes.
    pub acked: u64,
    /// Acknowledged writes the database does not hold.
    pub lost: u64,
    /// Writes with an unknown outcome that the database holds ("recovered").
    pub recovered: u64,
    /// Writes with an unknown outcome the database does not hold (never
    /// counted as lost).
    pub unknown_absent: u64,
    /// Ids of the lost writes (first 100, for the report).
    pub lost_ids: Vec<Uuid>,
    /// Every lost write — the input of [`explain_lost_writes`].
    #[serde(default, skip_serializing)]
    pub lost_acks: Vec<LostAck>,
    /// Every lost write explained (filled in by the caller, which knows
    /// the leaders and the restores).
    #[serde(default)]
    pub explained: Vec<LostWrite>,
    /// Earliest acknowledgement among lost writes, µs.
    pub earliest_lost_ack_us: Option<u64>,
    /// Latest acknowledgement among lost writes, µs.
    pub latest_lost_ack_us: Option<u64>,
    /// Per fault (in the order given): lost writes attributed to it and its
    /// RPO window, µs — how much acknowledged history around the fault was
    /// lost: fault time − earliest lost ack, or, when every write it lost
    /// was acknowledged after its injection (split brain), latest lost ack −
    /// fault time.
    pub per_fault: Vec<(u64, u64)>,
    /// Per fault: the earliest and latest acknowledgement among its lost
    /// writes, µs.
    #[serde(default)]
    pub per_fault_acks: Vec<Option<(u64, u64)>>,
    /// Why the database could not be read (a failed restore leaves none):
    /// then nothing is known about lost writes, and every check that needs
    /// them fails as not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

impl WriteCheck {
    /// Nothing found lost yet: the start of a comparison.
    fn empty(faults: usize) -> WriteCheck {
        WriteCheck {
            acked: 0,
            lost: 0,
            recovered: 0,
            unknown_absent: 0,
            lost_ids: Vec::new(),
            lost_acks: Vec::new(),
            explained: Vec::new(),
            earliest_lost_ack_us: None,
            latest_lost_ack_us: None,
            per_fault: vec![(0, 0); faults],
            per_fault_acks: vec![None; faults],
            unreadable: None,
        }
    }

    /// The check of a run whose database could not be read: the
    /// acknowledged writes are counted, and `reason` says why nothing more
    /// is known.
    pub fn unreadable(ledger: &[LedgerEntry], faults: usize, reason: String) -> WriteCheck {
        WriteCheck {
            acked: ledger
                .iter()
                .filter(|e| matches!(e.outcome, WriteOutcome::Acked { .. }))
                .count() as u64,
            unreadable: Some(reason),
            ..WriteCheck::empty(faults)
        }
    }
}

/// Attributes a lost write acknowledged at `ack` to a fault: the latest fault
/// active at that moment (injected, not yet reverted), else the first fault
/// injected after it (the one that lost it), else the last fault.
fn attribute(ack: u64, faults: &[FaultSpan]) -> Option<usize> {
    let active = faults
        .iter()
        .enumerate()
        .filter(|(_, f)| f.injected_us <= ack && f.reverted_us.is_none_or(|r| ack <= r))
        .max_by_key(|(_, f)| f.injected_us)
        .map(|(i, _)| i);
    active
        .or_else(|| {
            faults
                .iter()
                .enumerate()
                .filter(|(_, f)| f.injected_us > ack)
                .min_by_key(|(_, f)| f.injected_us)
                .map(|(i, _)| i)
        })
        .or_else(|| faults.len().checked_sub(1))
}

/// Compares the ledger with the ids the database holds.
pub fn check_writes(
    ledger: &[LedgerEntry],
    present: &HashSet<Uuid>,
    faults: &[FaultSpan],
) -> WriteCheck {
    let mut check = WriteCheck::empty(faults.len());
    for entry in ledger {
        let held = present.contains(&entry.id);
        match entry.outcome {
            WriteOutcome::Acked { at_us } => {
                check.acked += 1;
                if !held {
                    check.lost += 1;
                    if check.lost_ids.len() < 100 {
                        check.lost_ids.push(entry.id);
                    }
                    let fault = attribute(at_us, faults);
                    check.lost_acks.push(LostAck {
                        id: entry.id,
                        acked_us: at_us,
                        acked_by: entry.acked_by.clone(),
                        fault,
                    });
                    check.earliest_lost_ack_us =
                        Some(check.earliest_lost_ack_us.map_or(at_us, |e| e.min(at_us)));
                    check.latest_lost_ack_us =
                        Some(check.latest_lost_ack_us.map_or(at_us, |l| l.max(at_us)));
                    if let Some(i) = fault {
                        let f = faults[i].injected_us;
                        let window = f.abs_diff(at_us);
                        let (n, w) = &mut check.per_fault[i];
                        *n += 1;
                        *w = (*w).max(window);
                        let acks = &mut check.per_fault_acks[i];
                        *acks = Some(
                            acks.map_or((at_us, at_us), |(a, b)| (a.min(at_us), b.max(at_us))),
                        );
                    }
                }
            }
            WriteOutcome::Unknown if held => check.recovered += 1,
            WriteOutcome::Unknown => check.unknown_absent += 1,
            WriteOutcome::Rejected => {}
        }
    }
    check
}

/// A node's term as the cluster's leader: from when it led (until the
/// next term began).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderTerm {
    /// The node (`pg-a`).
    pub node: String,
    /// When it became leader, µs from the run's start (0: before the run).
    pub from_us: u64,
}

/// Why an acknowledged write is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossCause {
    /// A node acknowledged it after another had been promoted leader: two
    /// leaders at once, and the old one's writes were thrown away.
    SplitBrain,
    /// The leader of the time acknowledged it, and a failover promoted a
    /// replica that had not received it (asynchronous replication).
    UnreplicatedOnFailover,
    /// It was acknowledged after the point the database was restored to.
    AfterRestorePoint,
    /// Which node acknowledged it is not known.
    Unknown,
}

impl LossCause {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            LossCause::SplitBrain => "split-brain",
            LossCause::UnreplicatedOnFailover => "unreplicated-on-failover",
            LossCause::AfterRestorePoint => "after-restore-point",
            LossCause::Unknown => "unknown",
        }
    }
}

/// One lost write, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostWrite {
    /// The order.
    pub id: Uuid,
    /// When it was acknowledged, µs from the run's start.
    pub acked_us: u64,
    /// The node that acknowledged it, if known.
    pub acked_by: Option<String>,
    /// The fault it is attributed to (an index into the run's faults).
    pub fault: Option<usize>,
    /// Why it is missing.
    pub cause: LossCause,
    /// The evidence, in a sentence.
    pub evidence: String,
}

/// A restore from backup: when the database was lost and the newest
/// commit the restore brought back, µs from the run's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestorePoint {
    /// When the database was lost.
    pub lost_us: u64,
    /// The newest order the restored database holds (negative: before the
    /// run began; `None`: it holds no order at all).
    pub point_us: Option<i64>,
}

fn secs(us: u64) -> String {
    format!("{:.1} s", us as f64 / 1e6)
}

/// Explains each lost write from who acknowledged it, who led the cluster
/// at that moment (`terms`, in time order), and the restores that ran.
pub fn explain_lost_writes(
    lost: &[LostAck],
    terms: &[LeaderTerm],
    restores: &[RestorePoint],
) -> Vec<LostWrite> {
    lost.iter()
        .map(|l| {
            let at = &l.acked_us;
            let by = l.acked_by.clone();
            let explained = |cause, evidence: String| LostWrite {
                id: l.id,
                acked_us: *at,
                acked_by: by.clone(),
                fault: l.fault,
                cause,
                evidence,
            };
            let who = by.as_deref().unwrap_or("an unknown node");
            if let Some(r) = restores
                .iter()
                .find(|r| r.lost_us >= *at && r.point_us.is_none_or(|p| (*at as i64) > p))
            {
                let point = match r.point_us {
                    Some(p) => format!("after the restored point ({:.1} s)", p as f64 / 1e6),
                    None => "and the restored database holds no order at all".to_string(),
                };
                return explained(
                    LossCause::AfterRestorePoint,
                    format!(
                        "acknowledged by {who} at {}, {point}; the database was lost at {}",
                        secs(*at),
                        secs(r.lost_us)
                    ),
                );
            }
            let Some(node) = by.as_deref() else {
                return explained(
                    LossCause::Unknown,
                    format!("acknowledged at {}; the answer did not name the node", secs(*at)),
                );
            };
            let term = terms.iter().rfind(|t| t.from_us <= *at);
            match term {
                Some(t) if t.node != node => explained(
                    LossCause::SplitBrain,
                    format!(
                        "acknowledged by {node} at {}, while {} had been the leader since {}",
                        secs(*at),
                        t.node,
                        secs(t.from_us)
                    ),
                ),
                _ => {
                    let next = terms.iter().find(|t| t.from_us > *at);
                    explained(
                        LossCause::UnreplicatedOnFailover,
                        match next {
                            Some(n) => format!(
                                "acknowledged by {node}, the leader, at {}; {} was promoted at {} without it",
                                secs(*at),
                                n.node,
                                secs(n.from_us)
                            ),
                            None => format!(
                                "acknowledged by {node}, the leader, at {}; it never reached the node that leads now",
                                secs(*at)
                            ),
                        },
                    )
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::spec::FaultKind;

    fn acked(n: u128, at_us: u64) -> LedgerEntry {
        LedgerEntry {
            id: Uuid::from_u128(n),
            scheduled_us: at_us.saturating_sub(10),
            outcome: WriteOutcome::Acked { at_us },
            acked_by: None,
            key: None,
        }
    }

    #[test]
    fn lost_is_acked_minus_present_and_unknowns_are_never_lost() {
        let ledger = vec![
            acked(1, 100),
            acked(2, 200),
            acked(3, 300),
            LedgerEntry {
                id: Uuid::from_u128(4),
                scheduled_us: 400,
                outcome: WriteOutcome::Unknown,
                acked_by: None,
                key: None,
            },
            LedgerEntry {
                id: Uuid::from_u128(5),
                scheduled_us: 500,
                outcome: WriteOutcome::Unknown,
                acked_by: None,
                key: None,
            },
        ];
        let present: HashSet<_> = [1, 4].map(Uuid::from_u128).into_iter().collect();
        let fault = FaultSpan::new(FaultKind::PodKill, "kill", 1_000, None);
        let c = check_writes(&ledger, &present, &[fault]);
        assert_eq!(
            (c.acked, c.lost, c.recovered, c.unknown_absent),
            (3, 2, 1, 1)
        );
        assert_eq!(c.earliest_lost_ack_us, Some(200));
        assert_eq!(
            c.per_fault,
            vec![(2, 800)],
            "window = fault − earliest lost ack"
        );
    }

    #[test]
    fn lost_writes_are_explained_by_who_acknowledged_them_and_who_led() {
        let a: Option<String> = Some("pg-a".into());
        let terms = vec![
            LeaderTerm {
                node: "pg-a".into(),
                from_us: 0,
            },
            LeaderTerm {
                node: "pg-b".into(),
                from_us: 20_000_000,
            },
        ];
        let ack = |n: u128, acked_us: u64, acked_by: Option<String>| LostAck {
            id: Uuid::from_u128(n),
            acked_us,
            acked_by,
            fault: None,
        };
        let lost = vec![
            ack(1, 15_000_000, a.clone()),
            ack(2, 25_000_000, a.clone()),
            ack(3, 26_000_000, None),
            ack(4, 61_000_000, Some("pg-b".into())),
        ];
        let restores = [RestorePoint {
            lost_us: 62_000_000,
            point_us: Some(50_000_000),
        }];
        let e = explain_lost_writes(&lost, &terms, &restores);
        let causes: Vec<LossCause> = e.iter().map(|w| w.cause).collect();
        assert_eq!(
            causes,
            [
                LossCause::UnreplicatedOnFailover,
                LossCause::SplitBrain,
                LossCause::Unknown,
                LossCause::AfterRestorePoint
            ]
        );
        assert!(
            e[0].evidence
                .contains("pg-b was promoted at 20.0 s without it"),
            "{}",
            e[0].evidence
        );
        assert!(
            e[1].evidence
                .contains("while pg-b had been the leader since 20.0 s"),
            "{}",
            e[1].evidence
        );
    }
}
