//! The orders tables and the statements that touch them.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::State;

/// Schema, applied under an advisory lock so replicas starting together do
/// not race on `CREATE TABLE`.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS orders (
    id           uuid PRIMARY KEY,
    customer     text NOT NULL,
    amount_cents bigint NOT NULL,
    zone         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS outbox (
    id           bigserial PRIMARY KEY,
    order_id     uuid NOT NULL,
    payload      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
";

/// An order as stored and as returned to clients.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Order {
    /// Chosen by the client: the idempotency key.
    pub id: Uuid,
    /// Who ordered.
    pub customer: String,
    /// How much, in cents.
    pub amount_cents: i64,
    /// The zone of the replica that wrote it.
    pub zone: String,
    /// When the database committed it, in Unix milliseconds.
    pub created_at_ms: i64,
}

/// Applies the schema, retrying until the database answers; then marks the
/// service ready.
pub async fn migrate_until_done(pool: Pool, state: Arc<State>) {
    let mut delay = Duration::from_millis(200);
    loop {
        match migrate(&pool).await {
            Ok(()) => {
                state.ready.store(true, Ordering::Release);
                tracing::info!("schema ready");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "schema not applied yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
}

async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock(7201)", &[])
        .await?;
    tx.batch_execute(SCHEMA).await?;
    tx.commit().await?;
    Ok(())
}

/// A database operation that failed; every variant maps to `503`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection within the pool's timeout.
    #[error("no database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A statement failed.
    #[error("database statement failed: {0}")]
    Statement(#[from] tokio_postgres::Error),
}

/// The node that runs the statement: each Patroni member sets the custom
/// setting `faultline.node` to its own name (empty where it is not set).
const DB_NODE: &str = "coalesce(current_setting('faultline.node', true), '')";

const ORDER_COLUMNS: &str =
    "id, customer, amount_cents, zone, (extract(epoch FROM created_at) * 1000)::bigint";

fn order_from_row(row: &tokio_postgres::Row) -> Order {
    Order {
        id: row.get(0),
        customer: row.get(1),
        amount_cents: row.get(2),
        zone: row.get(3),
        created_at_ms: row.get(4),
    }
}

/// What a create did.
#[derive(Debug, Clone)]
pub struct Created {
    /// The stored order.
    pub order: Order,
    /// Whether this call created it (`false` for a replay).
    pub new: bool,
    /// The PostgreSQL node that committed it (the Patroni member's name,
    /// from its `faultline.node` setting; empty where it is not set): which
    /// node acknowledged the write.
    pub db_node: String,
}

/// Inserts the order and its outbox row in one transaction.
pub async fn create_order(
    pool: &Pool,
    id: Uuid,
    customer: &str,
    amount_cents: i64,
    zone: &str,
) -> Result<Created, StoreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let inserted = tx
        .query_opt(
            &format!(
                "INSERT INTO orders (id, customer, amount_cents, zone) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO NOTHING RETURNING {ORDER_COLUMNS}, {DB_NODE}"
            ),
            &[&id, &customer, &amount_cents, &zone],
        )
        .await?;
    let (order, created, db_node) = match inserted {
        Some(row) => {
            let order = order_from_row(&row);
            let db_node: String = row.get(5);
            let payload = serde_json::json!({
                "type": "OrderCreated",
                "order_id": order.id,
                "customer": order.customer,
                "amount_cents": order.amount_cents,
                "zone": order.zone,
                "created_at_ms": order.created_at_ms,
            })
            .to_string();
            tx.execute(
                "INSERT INTO outbox (order_id, payload) VALUES ($1, $2)",
                &[&order.id, &payload],
            )
            .await?;
            (order, true, db_node)
        }
        None => {
            let row = tx
                .query_one(
                    &format!("SELECT {ORDER_COLUMNS}, {DB_NODE} FROM orders WHERE id = $1"),
                    &[&id],
                )
                .await?;
            (order_from_row(&row), false, row.get(5))
        }
    };
    tx.commit().await?;
    Ok(Created {
        order,
        new: created,
        db_node,
    })
}

/// The order with this id, if stored.
pub async fn find_order(pool: &Pool, id: Uuid) -> Result<Option<Order>, StoreError> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"),
            &[&id],
        )
        .await?;
    Ok(row.as_ref().map(order_from_row))
}
