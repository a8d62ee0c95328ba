//! The knobs of the reference stack that a system profile sets: replication
//! mode, failover timing, health-check interval, the gateway's resilience
//! values, replica counts.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Patroni's failover timing. Patroni requires
/// `loop_wait + 2 × retry_timeout ≤ ttl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatroniTiming {
    /// Leader key time-to-live, seconds.
    pub ttl: u32,
    /// Seconds between Patroni's HA loops.
    pub loop_wait: u32,
    /// Seconds Patroni retries DCS and PostgreSQL operations.
    pub retry_timeout: u32,
}

impl PatroniTiming {
    /// Whether the timing keeps Patroni's rule.
    pub fn is_valid(&self) -> bool {
        self.loop_wait + 2 * self.retry_timeout <= self.ttl && self.loop_wait >= 1
    }
}

/// The gateway's resilience settings (seed 004's values by default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GatewaySettings {
    /// Timeout of one attempt.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Retries after the first attempt, on idempotent calls.
    pub retries: u32,
    /// First back-off; it doubles per retry.
    #[serde(with = "humantime_serde")]
    pub retry_backoff: Duration,
    /// Error share that opens an upstream's circuit.
    pub breaker_failure_ratio: f64,
    /// Fewest calls in the window before the circuit may open.
    pub breaker_min_requests: u32,
    /// The breaker's rolling window.
    #[serde(with = "humantime_serde")]
    pub breaker_window: Duration,
    /// How long an open circuit waits before a trial call.
    #[serde(with = "humantime_serde")]
    pub breaker_reset_timeout: Duration,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            request_timeout: Duration::from_secs(5),
            retries: 3,
            retry_backoff: Duration::from_millis(50),
            breaker_failure_ratio: 0.5,
            breaker_min_requests: 10,
            breaker_window: Duration::from_secs(10),
            breaker_reset_timeout: Duration::from_secs(30),
        }
    }
}

/// Everything that shapes one stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackSettings {
    /// The zones (one gateway, one orders and one etcd member each).
    pub zones: Vec<String>,
    /// Patroni `synchronous_mode`: a commit waits for the standby.
    pub synchronous_replication: bool,
    /// Failover timing.
    pub patroni: PatroniTiming,
    /// Interval of the ingress's active health checks.
    #[serde(with = "humantime_serde")]
    pub health_check_interval: Duration,
    /// Failed checks before the ingress drops a gateway.
    pub health_check_fall: u32,
    /// The gateway's resilience values.
    pub gateway: GatewaySettings,
    /// Analytics consumers (spread over the zones).
    pub analytics_replicas: u32,
    /// PostgreSQL's `archive_timeout`: a WAL segment is archived to the
    /// backup region at least this often while there are writes. It bounds
    /// what a restore from backup can lose.
    #[serde(with = "humantime_serde")]
    pub archive_interval: Duration,
    /// How often the leader takes a base backup (the first right after the
    /// cluster forms).
    #[serde(with = "humantime_serde")]
    pub base_backup_interval: Duration,
}

impl Default for StackSettings {
    fn default() -> Self {
        StackSettings {
            zones: vec!["a".into(), "b".into(), "c".into()],
            synchronous_replication: false,
            patroni: PatroniTiming {
                ttl: 10,
                loop_wait: 2,
                retry_timeout: 4,
            },
            health_check_interval: Duration::from_secs(2),
            health_check_fall: 3,
            gateway: GatewaySettings::default(),
            analytics_replicas: 2,
            archive_interval: Duration::from_secs(30),
            base_backup_interval: Duration::from_secs(600),
        }
    }
}

impl StackSettings {
    /// A short hash identifying these settings (labels a stack so that a
    /// run can tell whether an existing stack fits its profile).
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        crate::images::content_hash([("settings", json.as_slice())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_timing_keeps_patronis_rule() {
        assert!(StackSettings::default().patroni.is_valid());
        let broken = PatroniTiming {
            ttl: 10,
            loop_wait: 2,
            retry_timeout: 5,
        };
        assert!(
            !broken.is_valid(),
            "the NOTES trial's values break the rule"
        );
    }

    #[test]
    fn fingerprint_follows_the_settings() {
        let a = StackSettings::default();
        let mut b = a.clone();
        assert_eq!(a.fingerprint(), b.fingerprint());
        b.synchronous_replication = true;
        assert_ne!(a.fingerprint(), b.fingerprint());
    }
}
