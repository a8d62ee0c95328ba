//! The consumer loop: store, then commit.
//!
//! Analytics keeps its own record of how far it consumed each partition
//! (`consumer_offsets`), updated in the transaction that stores the event:
//! the database, not the broker, says what has been stored. When the
//! broker hands over a message beyond that point — the database was
//! restored from a backup to an earlier point, while the group's offsets on
//! the broker kept their place — the member seeks back and reads the gap
//! again, so a restore never loses an event that is still in the topic.
//! (This is the pattern Kafka's consumer documentation gives for results
//! stored outside Kafka: keep the offsets with the results.) The broker's
//! committed offsets are still advanced, for the lag the stack reports.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::topic_partition_list::Offset;
use uuid::Uuid;

use crate::{Config, State};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    order_id        uuid PRIMARY KEY,
    first_seen      timestamptz NOT NULL DEFAULT now(),
    last_seen       timestamptz NOT NULL DEFAULT now(),
    deliveries      integer NOT NULL DEFAULT 1,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS consumer_offsets (
    topic       text NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);
";

/// The next offset the database expects on a partition, locked for the
/// rest of the transaction.
const NEXT_OFFSET: &str =
    "SELECT next_offset FROM consumer_offsets WHERE topic = $1 AND partition = $2 FOR UPDATE";

/// Moves the partition's next offset forward (never back: a re-read of an
/// older message leaves it where it is).
const ADVANCE: &str = "
INSERT INTO consumer_offsets (topic, partition, next_offset) VALUES ($1, $2, $3)
ON CONFLICT (topic, partition) DO UPDATE SET
    next_offset = GREATEST(consumer_offsets.next_offset, EXCLUDED.next_offset)
";

/// Stores one event; a second *distinct* message for the same order bumps
/// `deliveries`, a re-read of the same message does not.
const UPSERT: &str = "
INSERT INTO events (order_id, kafka_partition, kafka_offset) VALUES ($1, $2, $3)
ON CONFLICT (order_id) DO UPDATE SET
    last_seen = now(),
    deliveries = events.deliveries + CASE
        WHEN events.kafka_partition = EXCLUDED.kafka_partition
         AND events.kafka_offset = EXCLUDED.kafka_offset THEN 0 ELSE 1 END,
    kafka_partition = EXCLUDED.kafka_partition,
    kafka_offset = EXCLUDED.kafka_offset
";

/// The analytics consumer-group member.
pub struct Consumer {
    consumer: StreamConsumer,
    topic: String,
}

impl Consumer {
    /// A group member for `cfg`; connects lazily.
    pub fn new(cfg: &Config) -> Result<Self, KafkaError> {
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &cfg.kafka_brokers)
            .set("group.id", &cfg.group_id)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set(
                "session.timeout.ms",
                cfg.session_timeout.as_millis().to_string(),
            )
            .set("reconnect.backoff.max.ms", "1000")
            .set("topic.metadata.refresh.interval.ms", "5000");
        let consumer: StreamConsumer = client.create()?;
        Ok(Consumer {
            consumer,
            topic: cfg.topic.clone(),
        })
    }

    /// Applies the schema, subscribes, and consumes forever. Once a second
    /// the loop publishes what it holds and how far it got (local calls,
    /// no broker round trip) for the [`crate::watchdog`] task, and leaves
    /// and rejoins the group when that task asks it to.
    pub async fn run(self, state: Arc<State>) {
        let mut delay = Duration::from_millis(200);
        loop {
            match migrate(&state).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "schema not applied yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
            }
        }
        if let Err(e) = self.consumer.subscribe(&[&self.topic]) {
            tracing::error!(error = %e, "subscribe failed");
            return;
        }
        state.ready.store(true, Ordering::Release);
        tracing::info!(topic = %self.topic, "consuming");
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            // `recv` is cancel-safe: a message is taken off the queue only
            // when it is returned.
            tokio::select! {
                received = self.consumer.recv() => match received {
                    Ok(msg) => {
                        let key = msg.key().and_then(|k| std::str::from_utf8(k).ok());
                        let Some(order_id) = key.and_then(|k| k.parse::<Uuid>().ok()) else {
                            tracing::warn!(
                                offset = msg.offset(),
                                "message without an order id key; skipped"
                            );
                            continue;
                        };
                        let (partition, offset) = (msg.partition(), msg.offset());
                        let mut stored =
                            store_until_done(&state, &self.topic, order_id, partition, offset, false)
                                .await;
                        if let Stored::Gap { expected } = stored {
                            // The database is behind the broker: read the gap
                            // again, from where it stops (or from the earliest
                            // message the broker still has).
                            let earliest = tokio::task::block_in_place(|| {
                                self.consumer
                                    .fetch_watermarks(&self.topic, partition, Duration::from_secs(5))
                                    .map(|(low, _)| low)
                            });
                            let resume = match earliest {
                                Ok(low) => expected.max(low),
                                Err(e) => {
                                    tracing::warn!(error = %e, "the partition's earliest offset could not be read; retrying the message");
                                    continue;
                                }
                            };
                            if offset <= resume {
                                stored = store_until_done(&state, &self.topic, order_id, partition, offset, true).await;
                            } else {
                                tracing::warn!(
                                    partition,
                                    offset,
                                    resume,
                                    "the database has stored this partition only up to an earlier offset (restored from a backup?); reading the gap again"
                                );
                                metrics::counter!("consumer_gap_rereads_total").increment(1);
                                let sought = tokio::task::block_in_place(|| {
                                    self.consumer.seek(
                                        &self.topic,
                                        partition,
                                        Offset::Offset(resume),
                                        Duration::from_secs(5),
                                    )
                                });
                                if let Err(e) = sought {
                                    tracing::warn!(error = %e, partition, resume, "seeking back failed; the message will be read again");
                                }
                                continue;
                            }
                        }
                        debug_assert_eq!(stored, Stored::Stored);
                        if let Err(e) = self.consumer.commit_message(&msg, CommitMode::Async) {
                            tracing::warn!(error = %e, "offset commit failed; the message may be read again");
                        }
                        state.progress.stored(msg.partition(), msg.offset());
                        metrics::counter!("events_consumed_total").increment(1);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "consume failed");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                },
                _ = tick.tick() => {
                    self.publish_holdings(&state);
                    if state.progress.take_rejoin() {
                        self.rejoin();
                    }
                }
            }
        }
    }

    /// Records the partitions this member holds and its position in each
    /// (librdkafka's local state: no broker call).
    fn publish_holdings(&self, state: &State) {
        let Ok(assignment) = self.consumer.assignment() else {
            return;
        };
        let positions = self.consumer.position().ok();
        let held = assignment
            .elements()
            .iter()
            .map(|e| {
                let position = positions
                    .as_ref()
                    .and_then(|p| p.find_partition(e.topic(), e.partition()))
                    .and_then(|p| match p.offset() {
                        Offset::Offset(o) => Some(o),
                        _ => None,
                    });
                (e.partition(), position)
            })
            .collect();
        state.progress.assigned(held);
    }

    /// Leaves the group and joins it again, which makes the coordinator
    /// rebalance among the members that are really there.
    fn rejoin(&self) {
        metrics::counter!("consumer_forced_rebalances_total").increment(1);
        self.consumer.unsubscribe();
        if let Err(e) = self.consumer.subscribe(&[&self.topic]) {
            tracing::error!(error = %e, "subscribing again failed");
        }
    }
}

async fn migrate(state: &State) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock(7202)", &[])
        .await?;
    tx.batch_execute(SCHEMA).await?;
    tx.commit().await?;
    Ok(())
}

/// What storing a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    /// The event and the partition's offset are stored.
    Stored,
    /// Nothing stored: the message lies beyond the offset the database
    /// expects next on its partition (0 when it has none).
    Gap {
        /// The offset the database expects next.
        expected: i64,
    },
}

/// Stores the event and advances the partition's offset in one
/// transaction, retrying until the database answers: a message is never
/// skipped because the database is failing over. Unless `force`, a message
/// beyond the offset the database expects is not stored ([`Stored::Gap`]).
/// Each attempt is bounded, so a statement stuck on a connection whose peer
/// vanished is abandoned and retried on a new one rather than holding the
/// consumer loop (and its partitions).
async fn store_until_done(
    state: &State,
    topic: &str,
    order_id: Uuid,
    partition: i32,
    offset: i64,
    force: bool,
) -> Stored {
    let mut delay = Duration::from_millis(100);
    let bound = state.cfg.db.acquire_timeout * 3;
    loop {
        let attempt = async {
            let mut client = state.pool.get().await?;
            let tx = client.transaction().await?;
            let expected: i64 = tx
                .query_opt(NEXT_OFFSET, &[&topic, &partition])
                .await?
                .map_or(0, |r| r.get(0));
            if offset > expected && !force {
                return Ok(Stored::Gap { expected });
            }
            tx.execute(UPSERT, &[&order_id, &partition, &offset])
                .await?;
            tx.execute(ADVANCE, &[&topic, &partition, &(offset + 1)])
                .await?;
            tx.commit().await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Stored::Stored)
        };
        let result = match tokio::time::timeout(bound, attempt).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {bound:?}").into()),
        };
        match result {
            Ok(stored) => return stored,
            Err(e) => {
                tracing::warn!(error = %e, %order_id, "storing the event failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
}
