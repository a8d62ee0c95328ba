//! Events: whether every stored order's `OrderCreated` event reached
//! analytics, how late, and — for each one that did not — where it
//! stopped. Pure: the caller reads the databases and the broker and hands
//! the facts over.
//!
//! An event is *on time* when analytics stored it within the delay bound
//! of the order's write, *late* when it stored it later (late is not lost),
//! and *lost* when it never stored it before the consumer group had
//! consumed everything there was (or the settle limit passed). Each lost
//! event is placed at the first stage of the pipeline it did not pass:
//! the outbox row, the relay, the topic, the consumer.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::timeline::{new_histogram, record_value};

/// The outbox row of an order, as the orders database holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outbox {
    /// No outbox row: the order was written without its event.
    Missing,
    /// The relay has not published it.
    Unpublished,
    /// The relay marked it published.
    Published,
}

/// What the orders database says of one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderFact {
    /// The order.
    pub id: Uuid,
    /// When it was written, ms since the epoch (the database's clock).
    pub created_ms: i64,
    /// Its outbox row.
    pub outbox: Outbox,
}

/// What analytics stored for one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredEvent {
    /// When analytics first stored it, ms since the epoch (the database's clock).
    pub first_seen_ms: i64,
    /// Distinct messages seen for it (more than one: duplicates).
    pub deliveries: i32,
}

/// Where a message sits in the topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
}

/// What the broker says of one partition and the analytics group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionFact {
    /// The partition.
    pub partition: i32,
    /// Its end offset (the next offset to be written).
    pub end_offset: i64,
    /// The group's committed offset (the next it will read), if any.
    pub committed_offset: Option<i64>,
    /// The member the coordinator assigned it to; `None` when no member
    /// holds it or the coordinator did not say.
    pub assigned_to: Option<String>,
}

impl PartitionFact {
    /// Messages the group has not consumed yet.
    pub fn lag(&self) -> i64 {
        (self.end_offset - self.committed_offset.unwrap_or(0)).max(0)
    }
}

/// What one consumer-group member says it holds (its own `/health`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    /// The member (`analytics-a`).
    pub member: String,
    /// The partitions it holds.
    pub partitions: Vec<i32>,
    /// Per partition it stored from: the last offset stored and when (ms
    /// since the epoch).
    pub last_stored: BTreeMap<i32, (i64, i64)>,
}

/// The first stage of the pipeline a lost event did not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossStage {
    /// The order has no outbox row: its event was never recorded.
    NoOutboxRow,
    /// The outbox row is still unpublished: the relay never sent it.
    NeverRelayed,
    /// The relay marked it published, but no message for it is in the
    /// topic (read from the earliest offset by a fresh client).
    NotInTopic,
    /// The message is in the topic and the group committed past its
    /// offset, but analytics does not hold it: the consumer skipped it (or
    /// its row was lost after it was stored).
    SkippedByConsumer,
    /// The message is in the topic at or after the group's committed
    /// offset: the group never consumed that far.
    NotConsumed,
    /// The relay published it, and the broker could not be read to place
    /// it further.
    PastRelayUnplaced,
}

impl LossStage {
    /// Every stage, in pipeline order.
    pub const ALL: [LossStage; 6] = [
        LossStage::NoOutboxRow,
        LossStage::NeverRelayed,
        LossStage::NotInTopic,
        LossStage::SkippedByConsumer,
        LossStage::NotConsumed,
        LossStage::PastRelayUnplaced,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            LossStage::NoOutboxRow => "no-outbox-row",
            LossStage::NeverRelayed => "never-relayed",
            LossStage::NotInTopic => "not-in-topic",
            LossStage::SkippedByConsumer => "skipped-by-consumer",
            LossStage::NotConsumed => "not-consumed",
            LossStage::PastRelayUnplaced => "past-relay-unplaced",
        }
    }
}

/// One lost event, with the evidence for its stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostEvent {
    /// The order.
    pub order: Uuid,
    /// Where it stopped.
    pub stage: LossStage,
    /// Its message in the topic, when there is one.
    pub position: Option<Position>,
    /// What the evidence says, in a sentence.
    pub evidence: String,
}

/// How long the check waited for the pipeline to drain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settle {
    /// How long it waited, ms.
    pub waited_ms: u64,
    /// The most it would wait, ms.
    pub limit_ms: u64,
    /// Whether the pipeline drained (outbox published, group lag 0 on every
    /// partition) before the limit.
    pub drained: bool,
}

/// Everything the event check read, for [`judge_events`].
#[derive(Debug, Clone, Default)]
pub struct EventFacts {
    /// Every order the orders database holds among the run's writes.
    pub orders: Vec<OrderFact>,
    /// What analytics stored, by order.
    pub stored: HashMap<Uuid, StoredEvent>,
    /// Where each order's messages sit in the topic (read only when some
    /// event is missing; a relay re-send gives an order two).
    pub topic: HashMap<Uuid, Vec<Position>>,
    /// The broker's view of every partition.
    pub partitions: Vec<PartitionFact>,
    /// What each live member of the group says it holds.
    pub members: Vec<MemberView>,
    /// How the wait ended.
    pub settle: Settle,
    /// Why the broker's side (offsets, topic) could not be read, if it
    /// could not: stages past the relay are then not told apart.
    pub broker_error: Option<String>,
}

/// How many lost events a report lists one by one.
pub const LOST_LISTED: usize = 20;

/// The event check's result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventSummary {
    /// Orders that needed an event (every order the database holds).
    pub expected: u64,
    /// Stored within the delay bound.
    #[serde(default)]
    pub on_time: u64,
    /// Stored, but later than the bound.
    #[serde(default)]
    pub late: u64,
    /// Never stored.
    pub lost: u64,
    /// Extra distinct messages for orders already stored.
    pub duplicated: u64,
    /// The bound between on time and late, ms.
    #[serde(default)]
    pub delay_bound_ms: u64,
    /// The 99th-percentile delay from the order's write to analytics
    /// storing its event, ms (`None`: nothing was stored).
    #[serde(default)]
    pub delay_p99_ms: Option<f64>,
    /// The worst such delay, ms.
    #[serde(default)]
    pub delay_max_ms: Option<f64>,
    /// Lost events per stage.
    #[serde(default)]
    pub lost_by_stage: BTreeMap<LossStage, u64>,
    /// The first [`LOST_LISTED`] lost events, with their evidence.
    #[serde(default)]
    pub lost_events: Vec<LostEvent>,
    /// The broker's view of the partitions when the check ended.
    #[serde(default)]
    pub partitions: Vec<PartitionFact>,
    /// What each live member said it held when the check ended.
    #[serde(default)]
    pub members: Vec<MemberView>,
    /// How the wait for the pipeline ended.
    #[serde(default)]
    pub settle: Settle,
    /// Why the broker could not be read, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_error: Option<String>,
    /// Why the event check could not run at all (the databases could not
    /// be read); every count above is then meaningless.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_measured: Option<String>,
}

impl EventSummary {
    /// The summary of a check that could not run, and why.
    pub fn not_measured(expected: u64, why: String) -> EventSummary {
        EventSummary {
            expected,
            not_measured: Some(why),
            ..EventSummary::default()
        }
    }
}

/// Who holds `partition`: the coordinator's word when it gave one, else
/// what the live members say of themselves.
fn holder(partition: i32, fact: Option<&PartitionFact>, members: &[MemberView]) -> String {
    if let Some(m) = fact.and_then(|p| p.assigned_to.as_deref()) {
        return format!("the coordinator assigns the partition to {m}");
    }
    if members.is_empty() {
        return "no member could be asked which partitions it holds".into();
    }
    match members.iter().find(|m| m.partitions.contains(&partition)) {
        Some(m) => match m.last_stored.get(&partition) {
            Some((offset, at)) => format!(
                "{} holds the partition and last stored offset {offset} (at {at} ms since the epoch)",
                m.member
            ),
            None => format!("{} holds the partition and stored nothing from it", m.member),
        },
        None => {
            let views: Vec<String> = members
                .iter()
                .map(|m| format!("{} holds {:?}", m.member, m.partitions))
                .collect();
            format!("no live member holds the partition ({})", views.join(", "))
        }
    }
}

/// Places a missing event at its stage, with the evidence.
fn classify(order: &OrderFact, facts: &EventFacts) -> LostEvent {
    let lost = |stage, position, evidence: String| LostEvent {
        order: order.id,
        stage,
        position,
        evidence,
    };
    match order.outbox {
        Outbox::Missing => {
            return lost(
                LossStage::NoOutboxRow,
                None,
                "the orders database holds the order but no outbox row for it".into(),
            )
        }
        Outbox::Unpublished => {
            return lost(
                LossStage::NeverRelayed,
                None,
                "its outbox row is still unpublished".into(),
            )
        }
        Outbox::Published => {}
    }
    if let Some(why) = &facts.broker_error {
        return lost(
            LossStage::PastRelayUnplaced,
            None,
            format!(
                "published by the relay; the broker could not be read to place it further ({why})"
            ),
        );
    }
    // The earliest copy is the one the consumer had to pass first.
    let Some(position) = facts
        .topic
        .get(&order.id)
        .and_then(|ps| ps.iter().min_by_key(|p| (p.offset, p.partition)).copied())
    else {
        return lost(
            LossStage::NotInTopic,
            None,
            "the relay marked it published, but the topic holds no message for it".into(),
        );
    };
    let partition = facts
        .partitions
        .iter()
        .find(|p| p.partition == position.partition);
    let committed = partition.and_then(|p| p.committed_offset);
    let at = format!(
        "partition {} offset {}",
        position.partition, position.offset
    );
    match committed {
        Some(c) if c > position.offset => lost(
            LossStage::SkippedByConsumer,
            Some(position),
            format!("{at}: the group committed past it (committed offset {c}), analytics does not hold it"),
        ),
        _ => {
            let end = partition.map_or("unknown".to_string(), |p| p.end_offset.to_string());
            let holder = holder(position.partition, partition, &facts.members);
            let committed = committed.map_or("nothing".to_string(), |c| format!("offset {c}"));
            lost(
                LossStage::NotConsumed,
                Some(position),
                format!(
                    "{at}: the group committed {committed} of end offset {end}; {holder}; the group never consumed that far"
                ),
            )
        }
    }
}

/// Judges the facts: on time, late and lost events, the delay
/// distribution, and the stage of every lost event.
pub fn judge_events(facts: &EventFacts, delay_bound_ms: u64) -> EventSummary {
    let mut summary = EventSummary {
        expected: facts.orders.len() as u64,
        delay_bound_ms,
        partitions: facts.partitions.clone(),
        members: facts.members.clone(),
        settle: facts.settle,
        broker_error: facts.broker_error.clone(),
        ..EventSummary::default()
    };
    let mut delays = new_histogram();
    let mut max_delay: Option<u64> = None;
    for order in &facts.orders {
        match facts.stored.get(&order.id) {
            Some(e) => {
                summary.duplicated += e.deliveries.saturating_sub(1).max(0) as u64;
                // Both clocks are the database's; a negative gap is noise.
                let delay = (e.first_seen_ms - order.created_ms).max(0) as u64;
                record_value(&mut delays, delay.max(1));
                max_delay = Some(max_delay.map_or(delay, |m| m.max(delay)));
                if delay <= delay_bound_ms {
                    summary.on_time += 1;
                } else {
                    summary.late += 1;
                }
            }
            None => {
                let lost = classify(order, facts);
                summary.lost += 1;
                *summary.lost_by_stage.entry(lost.stage).or_default() += 1;
                if summary.lost_events.len() < LOST_LISTED {
                    summary.lost_events.push(lost);
                }
            }
        }
    }
    if let Some(max) = max_delay {
        summary.delay_p99_ms = Some(delays.value_at_quantile(0.99) as f64);
        summary.delay_max_ms = Some(max as f64);
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(n: u128, outbox: Outbox) -> OrderFact {
        OrderFact {
            id: Uuid::from_u128(n),
            created_ms: 1_000,
            outbox,
        }
    }

    fn facts() -> EventFacts {
        let mut f = EventFacts {
            orders: vec![
                order(1, Outbox::Published),
                order(2, Outbox::Published),
                order(3, Outbox::Unpublished),
                order(4, Outbox::Published),
                order(5, Outbox::Published),
                order(6, Outbox::Published),
                order(7, Outbox::Missing),
            ],
            partitions: vec![
                PartitionFact {
                    partition: 0,
                    end_offset: 10,
                    committed_offset: Some(10),
                    assigned_to: Some("analytics-a".into()),
                },
                PartitionFact {
                    partition: 2,
                    end_offset: 900,
                    committed_offset: Some(700),
                    assigned_to: None,
                },
            ],
            members: vec![
                MemberView {
                    member: "analytics-a".into(),
                    partitions: vec![0],
                    last_stored: BTreeMap::new(),
                },
                MemberView {
                    member: "analytics-b".into(),
                    partitions: vec![1],
                    last_stored: BTreeMap::new(),
                },
            ],
            ..Default::default()
        };
        let stored = |first_seen_ms, deliveries| StoredEvent {
            first_seen_ms,
            deliveries,
        };
        f.stored.insert(Uuid::from_u128(1), stored(1_200, 1));
        f.stored.insert(Uuid::from_u128(2), stored(91_000, 2));
        let at = |partition, offset| vec![Position { partition, offset }];
        f.topic.insert(Uuid::from_u128(1), at(0, 1));
        f.topic.insert(Uuid::from_u128(5), at(0, 4));
        f.topic.insert(Uuid::from_u128(6), at(2, 845));
        f
    }

    #[test]
    fn late_is_not_lost_and_each_loss_has_its_stage() {
        let s = judge_events(&facts(), 60_000);
        assert_eq!((s.expected, s.on_time, s.late, s.lost), (7, 1, 1, 5));
        assert_eq!(s.duplicated, 1);
        assert_eq!(s.delay_max_ms, Some(90_000.0));
        let stage_of = |n: u128| {
            s.lost_events
                .iter()
                .find(|e| e.order == Uuid::from_u128(n))
                .map(|e| e.stage)
        };
        assert_eq!(stage_of(3), Some(LossStage::NeverRelayed));
        assert_eq!(stage_of(4), Some(LossStage::NotInTopic));
        assert_eq!(stage_of(5), Some(LossStage::SkippedByConsumer));
        assert_eq!(stage_of(6), Some(LossStage::NotConsumed));
        assert_eq!(stage_of(7), Some(LossStage::NoOutboxRow));
        let six = s
            .lost_events
            .iter()
            .find(|e| e.stage == LossStage::NotConsumed)
            .unwrap();
        assert!(
            six.evidence.contains("partition 2 offset 845")
                && six.evidence.contains("committed offset 700 of end offset 900")
                && six.evidence.contains("no live member holds the partition (analytics-a holds [0], analytics-b holds [1])"),
            "{}",
            six.evidence
        );
        assert_eq!(s.lost_by_stage.values().sum::<u64>(), s.lost);
    }

    #[test]
    fn the_bound_splits_on_time_from_late() {
        let s = judge_events(&facts(), 100_000);
        assert_eq!((s.on_time, s.late), (2, 0));
        assert_eq!(s.delay_bound_ms, 100_000);
    }
}
