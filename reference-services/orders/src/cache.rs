//! The Redis read cache. Every call is bounded by a short timeout and every
//! failure is a miss: the cache may make reads faster, never make them fail
//! — nor much slower: after a failure the cache is bypassed for a short
//! back-off, and only one call at a time probes whether Redis is back, so a
//! dead Redis costs reads one timeout per back-off period, not one (or two)
//! per read.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;

use crate::store::Order;

/// A Redis cache that degrades to "always miss" when Redis is gone.
pub struct Cache {
    conn: ConnectionManager,
    timeout: Duration,
    ttl_secs: u64,
    up: AtomicBool,
    gate: Mutex<Gate>,
}

/// Whether calls may go to Redis: after a failure, none until `retry_at`;
/// then one probe at a time until a call succeeds.
#[derive(Debug, Default)]
struct Gate {
    retry_at: Option<Instant>,
    probing: bool,
}

/// How long the cache is bypassed after a failure.
const BACKOFF: Duration = Duration::from_secs(1);

impl Gate {
    /// Whether a call may go to Redis now (and whether it is the probe).
    fn admit(&mut self, now: Instant) -> Option<bool> {
        match self.retry_at {
            None => Some(false),
            Some(at) if now >= at && !self.probing => {
                self.probing = true;
                Some(true)
            }
            Some(_) => None,
        }
    }

    fn outcome(&mut self, ok: bool, probe: bool, now: Instant) {
        if probe {
            self.probing = false;
        }
        if ok {
            self.retry_at = None;
        } else if self.retry_at.is_none() || probe {
            self.retry_at = Some(now + BACKOFF);
        }
    }
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
            gate: Mutex::new(Gate::default()),
        })
    }

    /// Whether the last cache call succeeded.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    fn record(&self, ok: bool, probe: bool) {
        self.up.store(ok, Ordering::Relaxed);
        if let Ok(mut g) = self.gate.lock() {
            g.outcome(ok, probe, Instant::now());
        }
        let outcome = if ok { "ok" } else { "error" };
        metrics::counter!("cache_calls_total", "outcome" => outcome).increment(1);
    }

    /// Whether a call may go to Redis now (`Some(probe)`), or the cache is
    /// being bypassed after a failure (`None`).
    fn admit(&self) -> Option<bool> {
        let admitted = self.gate.lock().ok()?.admit(Instant::now());
        if admitted.is_none() {
            metrics::counter!("cache_calls_total", "outcome" => "bypassed").increment(1);
        }
        admitted
    }

    /// The cached order, or `None` on a miss *or any cache failure*.
    pub async fn get(&self, key: &str) -> Option<Order> {
        let probe = self.admit()?;
        let mut conn = self.conn.clone();
        let result = tokio::time::timeout(self.timeout, conn.get::<_, Option<String>>(key)).await;
        match result {
            Ok(Ok(value)) => {
                self.record(true, probe);
                value.and_then(|v| serde_json::from_str(&v).ok())
            }
            Ok(Err(e)) => {
                self.record(false, probe);
                tracing::debug!(error = %e, "cache read failed; reading the database");
                None
            }
            Err(_) => {
                self.record(false, probe);
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
        let Some(probe) = self.admit() else {
            return;
        };
        let mut conn = self.conn.clone();
        let result = tokio::time::timeout(
            self.timeout,
            conn.set_ex::<_, _, ()>(key, value, self.ttl_secs),
        )
        .await;
        self.record(matches!(result, Ok(Ok(()))), probe);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_bypasses_the_cache_until_one_probe_succeeds() {
        let t0 = Instant::now();
        let mut g = Gate::default();
        assert_eq!(g.admit(t0), Some(false), "healthy: every call goes");
        g.outcome(false, false, t0);
        assert_eq!(g.admit(t0), None, "bypassed right after a failure");
        assert_eq!(g.admit(t0 + BACKOFF / 2), None);
        let later = t0 + BACKOFF;
        assert_eq!(g.admit(later), Some(true), "one probe after the back-off");
        assert_eq!(g.admit(later), None, "and only one at a time");
        g.outcome(false, true, later);
        assert_eq!(g.admit(later), None, "a failed probe backs off again");
        let again = later + BACKOFF;
        assert_eq!(g.admit(again), Some(true));
        g.outcome(true, true, again);
        assert_eq!(
            g.admit(again),
            Some(false),
            "a good probe reopens the cache"
        );
    }
}
