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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The order id the client chose.
    pub id: Uuid,
    /// When it was scheduled, µs from the run's start.
    #[serde(default)]
    pub scheduled_us: u64,
    /// How it ended.
    pub outcome: WriteOutcome,
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
                    check.earliest_lost_ack_us =
                        Some(check.earliest_lost_ack_us.map_or(at_us, |e| e.min(at_us)));
                    check.latest_lost_ack_us =
                        Some(check.latest_lost_ack_us.map_or(at_us, |l| l.max(at_us)));
                    if let Some(i) = attribute(at_us, faults) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn acked(n: u128, at_us: u64) -> LedgerEntry {
        LedgerEntry {
            id: Uuid::from_u128(n),
            scheduled_us: at_us.saturating_sub(10),
            outcome: WriteOutcome::Acked { at_us },
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
            },
            LedgerEntry {
                id: Uuid::from_u128(5),
                scheduled_us: 500,
                outcome: WriteOutcome::Unknown,
            },
        ];
        let present: HashSet<_> = [1, 4].map(Uuid::from_u128).into_iter().collect();
        let fault = FaultSpan {
            label: "kill".into(),
            injected_us: 1_000,
            reverted_us: None,
            ..Default::default()
        };
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
}
