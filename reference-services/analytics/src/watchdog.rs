//! A watchdog for partitions the group stopped consuming.
//!
//! A workaround for the tansu 0.6.0 broker's group coordinator
//! (docs/findings/tansu-0.6-stale-group-assignment.md): after members
//! lose their session and rejoin, it can keep handing out an assignment
//! that gives a partition to a member that no longer exists, and nothing
//! ever reassigns it — the partition's lag grows while every live member
//! consumes the rest. A member that sees a partition it does not hold make
//! no progress for [`STALL`] while messages wait — and whose own partitions
//! are not stuck too, which would point at a shared cause such as the
//! database — leaves the group and joins again: the leave makes the
//! coordinator rebalance among the live members.
//! With a broker whose coordinator expires members and rebalances, this
//! never fires (a live member holding a stuck partition keeps its own
//! partitions; the watchdog only looks at partitions it does not hold).
//!
//! It reads the broker through a client of its own that joins no group,
//! off the consumer loop: a broker call from the loop would wait behind
//! the consumer's own long-polling fetch and hold consumption up. The same
//! readings give this member's own lag for `/health` and `/metrics`.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::{Config, State};

/// The default of how long a partition with messages waiting may make no
/// progress before the member forces a rebalance (`CONSUMER_STALL_LIMIT`):
/// twice the group's session timeout, so that an ordinary member loss —
/// expired after one session timeout, then a rebalance — stays the
/// coordinator's to fix.
pub const STALL: Duration = Duration::from_secs(20);

/// The least time between two forced rebalances by this member, in stall
/// limits.
const COOL_DOWN_STALLS: u32 = 3;

/// One partition as the broker reports it: the group's committed offset and
/// the partition's end offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionState {
    /// The partition.
    pub partition: i32,
    /// The group's committed offset (`None`: nothing committed yet).
    pub committed: Option<i64>,
    /// The end offset.
    pub end: i64,
}

/// Watches the group's progress on every partition.
#[derive(Debug)]
pub struct StallWatch {
    /// How long a partition may make no progress with messages waiting.
    stall: Duration,
    /// Per partition: the committed offset last seen and since when.
    seen: HashMap<i32, (Option<i64>, Instant)>,
    last_forced: Option<Instant>,
}

impl StallWatch {
    /// A watch that calls a partition stalled after `stall`.
    pub fn new(stall: Duration) -> Self {
        StallWatch {
            stall,
            seen: HashMap::new(),
            last_forced: None,
        }
    }

    /// Takes in one reading; returns the partitions that stalled, not held
    /// by this member, when it is time to force a rebalance.
    pub fn observe(
        &mut self,
        now: Instant,
        partitions: &[PartitionState],
        own: &[i32],
    ) -> Option<Vec<i32>> {
        let mut stalled = Vec::new();
        let mut own_stalled = false;
        for p in partitions {
            let entry = self.seen.entry(p.partition).or_insert((p.committed, now));
            if entry.0 != p.committed {
                *entry = (p.committed, now);
            }
            let waiting = p.end > p.committed.unwrap_or(0);
            if waiting && now.duration_since(entry.1) >= self.stall {
                if own.contains(&p.partition) {
                    own_stalled = true;
                } else {
                    stalled.push(p.partition);
                }
            }
        }
        let cooled = self
            .last_forced
            .is_none_or(|at| now.duration_since(at) >= self.stall * COOL_DOWN_STALLS);
        // When this member's own partitions are stuck too, the cause is
        // shared (the database is down, say): a rebalance would not help.
        if stalled.is_empty() || own_stalled || !cooled {
            return None;
        }
        self.last_forced = Some(now);
        // Progress is measured afresh after the rebalance.
        self.seen.clear();
        Some(stalled)
    }
}

/// How often the watchdog reads the broker.
const EVERY: Duration = Duration::from_secs(2);

/// The watchdog task: a broker client of its own and the stall watch.
pub struct Watchdog {
    client: Arc<BaseConsumer>,
    topic: String,
    stall: Duration,
}

impl Watchdog {
    /// A watchdog for `cfg`'s group and topic; connects lazily. Its client
    /// carries the group's id only to read the group's committed offsets.
    pub fn new(cfg: &Config) -> Result<Self, KafkaError> {
        let client: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &cfg.kafka_brokers)
            .set("group.id", &cfg.group_id)
            .set("enable.auto.commit", "false")
            .set("reconnect.backoff.max.ms", "1000")
            .create()?;
        Ok(Watchdog {
            client: Arc::new(client),
            topic: cfg.topic.clone(),
            stall: cfg.stall_limit,
        })
    }

    /// Reads the broker every [`EVERY`]: updates this member's lag and asks
    /// the consumer loop to rejoin when a partition it does not hold stalls
    /// (never, when the stall limit is zero: the watchdog is off).
    pub async fn run(self, state: Arc<State>) {
        let mut watch = StallWatch::new(self.stall);
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let (client, topic) = (self.client.clone(), self.topic.clone());
            let Ok(Some(partitions)) =
                tokio::task::spawn_blocking(move || group_progress(&client, &topic)).await
            else {
                continue;
            };
            let held = state.progress.held();
            let lag: i64 = held
                .iter()
                .filter_map(|(p, position)| {
                    let end = partitions.iter().find(|x| x.partition == *p)?.end;
                    Some((end - position.unwrap_or(0)).max(0))
                })
                .sum();
            state.lag.store(lag, Ordering::Relaxed);
            metrics::gauge!("kafka_consumer_lag").set(lag as f64);
            let own: Vec<i32> = held.iter().map(|(p, _)| *p).collect();
            if self.stall.is_zero() {
                continue;
            }
            if let Some(stalled) = watch.observe(Instant::now(), &partitions, &own) {
                tracing::warn!(
                    ?stalled,
                    held = ?own,
                    "partitions this member does not hold made no progress for {:?} with messages waiting; leaving and rejoining the group to force a rebalance",
                    self.stall
                );
                state.progress.request_rejoin();
            }
        }
    }
}

/// The group's committed offset and the end offset of every partition of
/// `topic`, as the broker reports them (blocking calls).
fn group_progress(client: &BaseConsumer, topic: &str) -> Option<Vec<PartitionState>> {
    let timeout = Duration::from_secs(2);
    let md = client.fetch_metadata(Some(topic), timeout).ok()?;
    let partitions: Vec<i32> = md
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let mut tpl = TopicPartitionList::new();
    for p in &partitions {
        tpl.add_partition(topic, *p);
    }
    let committed = client.committed_offsets(tpl, timeout).ok()?;
    partitions
        .into_iter()
        .map(|p| {
            let (_, end) = client.fetch_watermarks(topic, p, timeout).ok()?;
            let committed = committed
                .find_partition(topic, p)
                .and_then(|e| match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                });
            Some(PartitionState {
                partition: p,
                committed,
                end,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(partition: i32, committed: i64, end: i64) -> PartitionState {
        PartitionState {
            partition,
            committed: Some(committed),
            end,
        }
    }

    #[test]
    fn a_partition_nobody_consumes_forces_one_rebalance_per_cool_down() {
        let t0 = Instant::now();
        let mut w = StallWatch::new(STALL);
        assert_eq!(w.observe(t0, &[p(0, 10, 10), p(1, 280, 300)], &[0]), None);
        let later = t0 + STALL;
        assert_eq!(
            w.observe(later, &[p(0, 20, 20), p(1, 280, 600)], &[0]),
            Some(vec![1])
        );
        // Still stalled right after: the cool-down holds the next one back.
        let soon = later + STALL;
        assert_eq!(w.observe(soon, &[p(1, 280, 700)], &[0]), None);
        let after = later + STALL * COOL_DOWN_STALLS + STALL;
        assert_eq!(w.observe(after, &[p(1, 280, 700)], &[0]), Some(vec![1]));
    }

    #[test]
    fn a_stall_this_member_shares_is_not_a_missing_member() {
        let t0 = Instant::now();
        let mut w = StallWatch::new(STALL);
        w.observe(t0, &[p(0, 5, 9), p(1, 7, 20)], &[1]);
        let later = t0 + STALL;
        assert_eq!(w.observe(later, &[p(0, 5, 9), p(1, 7, 30)], &[1]), None);
        // Its own partition moves again: the other one is someone else's.
        let after = later + STALL;
        assert_eq!(
            w.observe(after, &[p(0, 5, 9), p(1, 30, 30)], &[1]),
            Some(vec![0])
        );
    }

    #[test]
    fn progress_idle_partitions_and_own_partitions_never_fire() {
        let t0 = Instant::now();
        let mut w = StallWatch::new(STALL);
        w.observe(t0, &[p(0, 5, 9), p(1, 7, 7), p(2, 1, 50)], &[2]);
        let later = t0 + STALL * 2;
        // 0 moved on, 1 has nothing waiting, 2 is this member's own.
        assert_eq!(
            w.observe(later, &[p(0, 6, 9), p(1, 7, 7), p(2, 1, 60)], &[2]),
            None
        );
    }
}
