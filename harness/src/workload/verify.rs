//! After the load: what the database really holds. Reads go straight to
//! the current PostgreSQL leader (found through Patroni), never through the
//! services or the cache, so a lost write cannot be masked by a cached copy.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::measure::{check_writes, FaultSpan, LedgerEntry, WriteCheck, WriteOutcome};
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
    let started = Instant::now();
    loop {
        if let Some(leader) = ready::leader(stack).await {
            match stack.pg_connect(&leader, database).await {
                Ok(c) => return Ok((leader, c)),
                Err(e) => tracing::debug!(%leader, error = %e, "leader not accepting yet"),
            }
        }
        if started.elapsed() > timeout {
            return Err(VerifyError::NoLeader(timeout));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
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

/// Whether every stored order's event reached analytics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventCheck {
    /// Orders that must have an event (every order the database holds).
    pub expected: u64,
    /// Of which analytics stored.
    pub delivered: u64,
    /// Of which analytics never stored within the settle time.
    pub lost: u64,
    /// Extra distinct messages for orders already stored (at-least-once
    /// delivery made visible).
    pub duplicated: u64,
    /// How long it took for the events to settle (or the settle limit).
    pub settle_ms: u64,
}

/// Polls the analytics table on the leader until every order in `orders`
/// has its event, or `settle` passes.
pub async fn verify_events(
    stack: &Stack,
    orders: &HashSet<Uuid>,
    settle: Duration,
) -> Result<EventCheck, VerifyError> {
    let started = Instant::now();
    let ids: Vec<Uuid> = orders.iter().copied().collect();
    loop {
        let (leader, client) =
            leader_client(stack, "analytics", settle.max(Duration::from_secs(30))).await?;
        let mut seen: HashMap<Uuid, i32> = HashMap::with_capacity(ids.len());
        let mut failed = None;
        for chunk in ids.chunks(CHUNK) {
            match client
                .query(
                    "SELECT order_id, deliveries FROM events WHERE order_id = ANY($1)",
                    &[&chunk],
                )
                .await
            {
                Ok(rows) => seen.extend(
                    rows.iter()
                        .map(|r| (r.get::<_, Uuid>(0), r.get::<_, i32>(1))),
                ),
                Err(source) => {
                    failed = Some(VerifyError::Query {
                        what: "analytics events",
                        leader: leader.clone(),
                        source,
                    });
                    break;
                }
            }
        }
        let done = failed.is_none() && seen.len() == ids.len();
        if done || started.elapsed() >= settle {
            if let Some(e) = failed {
                return Err(e);
            }
            let duplicated = seen.values().map(|d| (*d as i64 - 1).max(0) as u64).sum();
            return Ok(EventCheck {
                expected: ids.len() as u64,
                delivered: seen.len() as u64,
                lost: (ids.len() - seen.len()) as u64,
                duplicated,
                settle_ms: started.elapsed().as_millis() as u64,
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
