//! `analytics`: a Kafka consumer group that stores each `OrderCreated` event
//! once in its own database (idempotent on the order id) and serves
//! `GET /events/{order_id}`.
//!
//! A message is committed to Kafka only after its row is stored, so delivery
//! is at-least-once. Each row counts the *distinct* messages seen for its
//! order (a re-read of the same partition/offset is not counted), which makes
//! duplicates the relay published visible to the harness.

mod consume;
mod watchdog;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State as Extract};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use deadpool_postgres::Pool;
use serde_json::json;
use svc_common::{config, db, http, logging, DbStatus, Health};
use uuid::Uuid;

/// Everything `analytics` reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    listen: String,
    zone: String,
    db: db::DbConfig,
    kafka_brokers: String,
    topic: String,
    group_id: String,
    /// The group session timeout (`session.timeout.ms`).
    session_timeout: Duration,
    /// How long a partition may stall before the watchdog acts.
    stall_limit: Duration,
}

impl Config {
    fn from_env() -> Result<Self, config::ConfigError> {
        Ok(Config {
            listen: config::string("LISTEN_ADDR", "0.0.0.0:8080"),
            zone: config::string("ZONE", "local"),
            db: db::DbConfig {
                url: config::string("DATABASE_URL", "postgres://app:app@postgres:5432/analytics"),
                max_size: config::parse("DB_POOL_SIZE", 4)?,
                acquire_timeout: config::duration("DB_TIMEOUT", Duration::from_secs(2))?,
            },
            kafka_brokers: config::string("KAFKA_BROKERS", "kafka:9092"),
            topic: config::string("ORDERS_TOPIC", "orders"),
            group_id: config::string("GROUP_ID", "analytics"),
            session_timeout: config::duration("KAFKA_SESSION_TIMEOUT", Duration::from_secs(10))?,
            stall_limit: config::duration("CONSUMER_STALL_LIMIT", watchdog::STALL)?,
        })
    }
}

/// Shared state of the handlers and the consumer.
pub struct State {
    cfg: Config,
    pool: Pool,
    /// Set once the schema is in place.
    ready: AtomicBool,
    /// Messages behind the newest offset, summed over assigned partitions
    /// (-1 until first measured).
    lag: AtomicI64,
    /// What this member holds and how far it got, for `/health`.
    progress: Progress,
}

/// What this member of the group holds and how far it got: its own view,
/// which `/health` reports beside the broker's (the lag exporter's).
#[derive(Default)]
pub struct Progress {
    /// Per partition held: the position (next offset to read), if known.
    held: std::sync::Mutex<Vec<(i32, Option<i64>)>>,
    /// Per partition it stored from: the offset of the last message
    /// stored, and when (ms since the epoch).
    stored: std::sync::Mutex<std::collections::BTreeMap<i32, (i64, i64)>>,
    /// Set by the watchdog: leave and rejoin the group.
    rejoin: AtomicBool,
}

impl Progress {
    /// Records the partitions held and the position in each.
    pub fn assigned(&self, mut held: Vec<(i32, Option<i64>)>) {
        held.sort_unstable();
        if let Ok(mut h) = self.held.lock() {
            *h = held;
        }
    }

    /// The partitions held and the position in each.
    pub fn held(&self) -> Vec<(i32, Option<i64>)> {
        self.held.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// Records a stored message.
    pub fn stored(&self, partition: i32, offset: i64) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        if let Ok(mut s) = self.stored.lock() {
            s.insert(partition, (offset, now));
        }
    }

    /// Asks the consumer loop to leave and rejoin the group.
    pub fn request_rejoin(&self) {
        self.rejoin.store(true, Ordering::Release);
    }

    /// Whether a rejoin was asked for (and clears the request).
    pub fn take_rejoin(&self) -> bool {
        self.rejoin.swap(false, Ordering::AcqRel)
    }

    fn to_json(&self) -> serde_json::Value {
        let assignment: Vec<i32> = self.held().into_iter().map(|(p, _)| p).collect();
        let stored: serde_json::Map<String, serde_json::Value> = self
            .stored
            .lock()
            .map(|s| {
                s.iter()
                    .map(|(p, (offset, at))| {
                        (p.to_string(), json!({"offset": offset, "at_unix_ms": at}))
                    })
                    .collect()
            })
            .unwrap_or_default();
        json!({"assignment": assignment, "last_stored": stored})
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    logging::init("analytics");
    let metrics = http::install_metrics();
    let cfg = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "bad configuration");
            return ExitCode::from(2);
        }
    };
    let pool = match db::pool(&cfg.db) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "bad DATABASE_URL");
            return ExitCode::from(2);
        }
    };
    let state = Arc::new(State {
        cfg: cfg.clone(),
        pool,
        ready: AtomicBool::new(false),
        lag: AtomicI64::new(-1),
        progress: Progress::default(),
    });
    let consumer = match consume::Consumer::new(&cfg) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot configure the Kafka consumer");
            return ExitCode::from(2);
        }
    };
    match watchdog::Watchdog::new(&cfg) {
        Ok(w) => {
            tokio::spawn(w.run(state.clone()));
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot configure the watchdog's Kafka client");
            return ExitCode::from(2);
        }
    }
    tokio::spawn(consumer.run(state.clone()));
    let routes = Router::new()
        .route("/events/{order_id}", get(event))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(state);
    if let Err(e) = http::serve(http::instrument(routes, metrics), &cfg.listen).await {
        tracing::error!(error = %e, "server failed");
        return ExitCode::FAILURE;
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

async fn event(Extract(state): Extract<Arc<State>>, Path(order_id): Path<Uuid>) -> Response {
    let client = match state.pool.get().await {
        Ok(c) => c,
        Err(e) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "database unavailable", "detail": e.to_string()})),
            )
                .into_response()
        }
    };
    let row = client
        .query_opt(
            "SELECT deliveries, (extract(epoch FROM first_seen) * 1000)::bigint \
             FROM events WHERE order_id = $1",
            &[&order_id],
        )
        .await;
    match row {
        Ok(Some(row)) => Json(json!({
            "order_id": order_id,
            "deliveries": row.get::<_, i32>(0),
            "first_seen_ms": row.get::<_, i64>(1),
        }))
        .into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no event for this order", "order_id": order_id})),
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "database unavailable", "detail": e.to_string()})),
        )
            .into_response(),
    }
}

async fn health(Extract(state): Extract<Arc<State>>) -> Json<Health> {
    let db = if db::ping(&state.pool).await {
        DbStatus::Connected
    } else {
        DbStatus::Disconnected
    };
    Json(
        Health::new("analytics", db)
            .with("zone", state.cfg.zone.clone())
            .with("consumer_lag", state.lag.load(Ordering::Relaxed))
            .with("consumer", state.progress.to_json()),
    )
}

async fn ready(Extract(state): Extract<Arc<State>>) -> StatusCode {
    if state.ready.load(Ordering::Acquire) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}
