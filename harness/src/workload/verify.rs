//! After the load: what the database really holds. Reads go straight to
//! the current PostgreSQL leader (found through Patroni), never through the
//! services or the cache, so a lost write cannot be masked by a cached copy.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::measure::events::{EventFacts, OrderFact, Outbox, Settle, StoredEvent};
use crate::measure::{check_writes, FaultSpan, LedgerEntry, WriteCheck, WriteOutcome};
use crate::poll::{self, Attempt};
use crate::probes::broker::{self, BrokerReadError};
use crate::stack::{ready, Stack};

/// Ids per `= ANY($1)` query.
const CHUNK: usize = 5_000;

/// A failure to read what the database holds.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// No Patroni leader answered in time.
    #[error(
        "no PostgreSQL leader was found through Patroni within {0:?}; the write check cannot run"
    )]
    NoLeader(Duration),
    /// A query failed.
    #[error("reading {what} from the leader {leader} failed: {source}")]
    Query {
        /// What was being read.
        what: &'static str,
        /// The leader queried.
        leader: String,
        /// The database's error.
        #[source]
        source: tokio_postgres::Error,
    },
}

/// Waits (up to `timeout`) for a Patroni leader and connects to `database`
/// on it.
pub async fn leader_client(
    stack: &Stack,
    database: &str,
    timeout: Duration,
) -> Result<(String, tokio_postgres::Client), VerifyError> {
    poll::until(poll::EVERY, timeout, || async {
        let Some(leader) = ready::leader(stack).await else {
            return Attempt::NotYet(());
        };
        match stack.pg_connect(&leader, database).await {
            Ok(c) => Attempt::Done((leader, c)),
            Err(e) => {
                tracing::debug!(%leader, error = %e, "leader not accepting yet");
                Attempt::NotYet(())
            }
        }
    })
    .await
    .map_err(|_| VerifyError::NoLeader(timeout))
}

/// The subset of `ids` present in the orders table on the leader.
pub async fn present_orders(stack: &Stack, ids: &[Uuid]) -> Result<HashSet<Uuid>, VerifyError> {
    let (leader, client) = leader_client(stack, "orders", Duration::from_secs(60)).await?;
    let mut present = HashSet::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows = client
            .query("SELECT id FROM orders WHERE id = ANY($1)", &[&chunk])
            .await
            .map_err(|source| VerifyError::Query {
                what: "orders",
                leader: leader.clone(),
                source,
            })?;
        present.extend(rows.iter().map(|r| r.get::<_, Uuid>(0)));
    }
    Ok(present)
}

/// Compares the ledger with the leader's orders table.
pub async fn verify_writes(
    stack: &Stack,
    ledger: &[LedgerEntry],
    faults: &[FaultSpan],
) -> Result<(WriteCheck, HashSet<Uuid>), VerifyError> {
    let ids: Vec<Uuid> = ledger
        .iter()
        .filter(|e| e.outcome != WriteOutcome::Rejected)
        .map(|e| e.id)
        .collect();
    let present = present_orders(stack, &ids).await?;
    Ok((check_writes(ledger, &present, faults), present))
}

/// Reads the orders database's facts about `ids`: when each order was
/// written and the state of its outbox row.
async fn order_facts(
    client: &tokio_postgres::Client,
    leader: &str,
    ids: &[Uuid],
) -> Result<Vec<OrderFact>, VerifyError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows = client
            .query(
                "SELECT o.id, (extract(epoch FROM o.created_at) * 1000)::bigint, \
                        count(x.id), count(x.published_at) \
                 FROM orders o LEFT JOIN outbox x ON x.order_id = o.id \
                 WHERE o.id = ANY($1) GROUP BY o.id, o.created_at",
                &[&chunk],
            )
            .await
            .map_err(|source| VerifyError::Query {
                what: "orders and their outbox rows",
                leader: leader.to_string(),
                source,
            })?;
        out.extend(rows.iter().map(|r| {
            let (rows, published): (i64, i64) = (r.get(2), r.get(3));
            OrderFact {
                id: r.get(0),
                created_ms: r.get(1),
                outbox: match (rows, published) {
                    (0, _) => Outbox::Missing,
                    (_, 0) => Outbox::Unpublished,
                    _ => Outbox::Published,
                },
            }
        }));
    }
    Ok(out)
}

/// Reads what analytics stored for `ids`.
async fn stored_events(
    client: &tokio_postgres::Client,
    leader: &str,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, StoredEvent>, VerifyError> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows = client
            .query(
                "SELECT order_id, (extract(epoch FROM first_seen) * 1000)::bigint, deliveries \
                 FROM events WHERE order_id = ANY($1)",
                &[&chunk],
            )
            .await
            .map_err(|source| VerifyError::Query {
                what: "analytics events",
                leader: leader.to_string(),
                source,
            })?;
        out.extend(rows.iter().map(|r| {
            (
                r.get::<_, Uuid>(0),
                StoredEvent {
                    first_seen_ms: r.get(1),
                    deliveries: r.get(2),
                },
            )
        }));
    }
    Ok(out)
}

/// How often the event check looks again while it waits.
const SETTLE_POLL: Duration = Duration::from_millis(500);

/// Waits until the event pipeline has drained — every outbox row of
/// `orders` published and the analytics group's lag 0 on every partition
/// (the broker's committed offsets against the topic's end offsets) — or
/// until every event is stored, or `settle` passes; then reads the facts:
/// every order's write time and outbox state, when analytics stored each
/// event, the broker's view of every partition, and (when some event is
/// missing) where each order's messages sit in the topic.
pub async fn verify_events(
    stack: &Stack,
    orders: &HashSet<Uuid>,
    settle: Duration,
) -> Result<EventFacts, VerifyError> {
    let started = Instant::now();
    let ids: Vec<Uuid> = orders.iter().copied().collect();
    let wait = settle.max(Duration::from_secs(30));
    let drained = poll::until(SETTLE_POLL, settle, || async {
        let attempt = async {
            let (leader, db) = leader_client(stack, "orders", wait).await?;
            let facts = order_facts(&db, &leader, &ids).await?;
            let relayed = facts.iter().all(|o| o.outbox != Outbox::Unpublished);
            let (leader, db) = leader_client(stack, "analytics", wait).await?;
            let stored = stored_events(&db, &leader, &ids).await?.len();
            let consumed = match broker::group_lag(stack, Duration::from_secs(10)).await {
                Ok(lag) => lag.total_lag == 0,
                Err(e) => {
                    tracing::debug!(error = %e, "the group's lag could not be read");
                    false
                }
            };
            Ok::<_, VerifyError>(stored == ids.len() || (relayed && consumed))
        };
        match attempt.await {
            Ok(false) => Attempt::NotYet(()),
            done => Attempt::Done(done),
        }
    })
    .await
    .unwrap_or(Ok(false))?;
    let waited = started.elapsed();
    let (leader, db) = leader_client(stack, "orders", wait).await?;
    let facts = order_facts(&db, &leader, &ids).await?;
    let (leader, db) = leader_client(stack, "analytics", wait).await?;
    let stored = stored_events(&db, &leader, &ids).await?;
    let mut out = EventFacts {
        orders: facts,
        stored,
        settle: Settle {
            waited_ms: waited.as_millis() as u64,
            limit_ms: settle.as_millis() as u64,
            drained,
        },
        ..EventFacts::default()
    };
    let broker = async {
        let lag = broker::group_lag(stack, Duration::from_secs(10)).await?;
        let topic = if out.stored.len() < out.orders.len() {
            broker::topic_index(stack).await?
        } else {
            HashMap::new()
        };
        Ok::<_, BrokerReadError>((lag, topic))
    };
    match broker.await {
        Ok((lag, topic)) => {
            out.partitions = lag.partitions;
            out.topic = topic;
        }
        Err(e) => out.broker_error = Some(e.to_string()),
    }
    out.members = broker::member_views(stack).await;
    Ok(out)
}
