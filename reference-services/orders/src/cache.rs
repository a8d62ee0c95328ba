//! The Redis read cache. Every call is bounded by a short timeout and every
//! failure is a miss: the cache may make reads faster, never make them fail.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;

use crate::store::Order;

/// A Redis cache that degrades to "always miss" when Redis is gone.
pub struct Cache {
    conn: ConnectionManager,
    timeout: Duration,
    ttl_secs: u64,
    up: AtomicBool,
}

impl Cache {
    /// A cache whose connection is made lazily and re-made after failures.
    pub fn new(url: &str, timeout: Duration, ttl: Duration) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        Ok(Cache {
            conn: ConnectionManager::new_lazy_with_config(client, config)?,
            timeout,
            ttl_secs: ttl.as_secs().max(1),
            up: AtomicBool::new(false),
        })
    }

    /// Whether the last cache call succeeded.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    fn record(&self, ok: bool) {
        self.up.store(ok, Ordering::Relaxed);
        let outcome = if ok { "ok" } else { "error" };
        metrics::counter!("cache_calls_total", "outcome" => outcome).increment(1);
    }

    /// The cached order, or `None` on a miss *or any cache failure*.
    pub async fn get(&self, key: &str) -> Option<Order> {
        let mut conn = self.conn.clone();
        let result = tokio::time::timeout(self.timeout, conn.get::<_, Option<String>>(key)).await;
        match result {
            Ok(Ok(value)) => {
                self.record(true);
                value.and_then(|v| serde_json::from_str(&v).ok())
            }
            Ok(Err(e)) => {
                self.record(false);
                tracing::debug!(error = %e, "cache read failed; reading the database");
                None
            }
            Err(_) => {
                self.record(false);
                tracing::debug!("cache read timed out; reading the database");
                None
            }
        }
    }

    /// Stores the order; failures are logged and otherwise ignored.
    pub async fn put(&self, key: &str, order: &Order) {
        let Ok(value) = serde_json::to_string(order) else {
            return;
        };
        let mut conn = self.conn.clone();
        let result = tokio::time::timeout(
            self.timeout,
            conn.set_ex::<_, _, ()>(key, value, self.ttl_secs),
        )
        .await;
        self.record(matches!(result, Ok(Ok(()))));
    }
}
