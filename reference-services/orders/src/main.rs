//! `orders`: the reference service that owns orders.
//!
//! - `POST /orders` writes the order and an outbox row in one PostgreSQL
//!   transaction, through the HA endpoint. The client chooses the order id, so
//!   a replayed request (a retry after a timeout) is deduplicated, not doubled.
//! - `GET /orders/{id}` reads Redis first, then PostgreSQL; a missing or slow
//!   Redis degrades the read (counted in metrics), never fails it.
//! - An outbox relay publishes `OrderCreated` to Kafka with `acks=all`.

mod api;
mod cache;
mod relay;
mod store;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use svc_common::{config, db, http, logging};

/// Everything `orders` reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    listen: String,
    zone: String,
    db: db::DbConfig,
    redis_url: String,
    cache_timeout: Duration,
    cache_ttl: Duration,
    kafka_brokers: String,
    topic: String,
    topic_partitions: i32,
    relay_batch: i64,
    relay_idle: Duration,
}

impl Config {
    fn from_env() -> Result<Self, config::ConfigError> {
        Ok(Config {
            listen: config::string("LISTEN_ADDR", "0.0.0.0:8080"),
            zone: config::string("ZONE", "local"),
            db: db::DbConfig {
                url: config::string("DATABASE_URL", "postgres://app:app@postgres:5432/orders"),
                max_size: config::parse("DB_POOL_SIZE", 16)?,
                acquire_timeout: config::duration("DB_TIMEOUT", Duration::from_secs(2))?,
            },
            redis_url: config::string("REDIS_URL", "redis://redis:6379"),
            cache_timeout: config::duration("CACHE_TIMEOUT", Duration::from_millis(100))?,
            cache_ttl: config::duration("CACHE_TTL", Duration::from_secs(300))?,
            kafka_brokers: config::string("KAFKA_BROKERS", "kafka:9092"),
            topic: config::string("ORDERS_TOPIC", "orders"),
            topic_partitions: config::parse("TOPIC_PARTITIONS", 3)?,
            relay_batch: config::parse("RELAY_BATCH", 200)?,
            relay_idle: config::duration("RELAY_IDLE", Duration::from_millis(50))?,
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    logging::init("orders");
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
    let cache = match cache::Cache::new(&cfg.redis_url, cfg.cache_timeout, cfg.cache_ttl) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "bad REDIS_URL");
            return ExitCode::from(2);
        }
    };
    let state = Arc::new(api::State::new(cfg.clone(), pool.clone(), cache));
    tokio::spawn(store::migrate_until_done(pool.clone(), state.clone()));
    match relay::Relay::new(&cfg) {
        Ok(relay) => {
            tokio::spawn(relay.run(pool));
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot configure the Kafka producer");
            return ExitCode::from(2);
        }
    }
    let app = http::instrument(api::routes(state), metrics);
    if let Err(e) = http::serve(app, &cfg.listen).await {
        tracing::error!(error = %e, "server failed");
        return ExitCode::FAILURE;
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}
