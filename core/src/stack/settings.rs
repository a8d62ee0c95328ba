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

/// The analytics consumer group's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerSettings {
    /// The group session timeout: a member silent this long is expired.
    #[serde(with = "humantime_serde")]
    pub session_timeout: Duration,
    /// How long a partition no live member holds may stall, messages
    /// waiting, before a member forces a rebalance (the analytics watchdog,
    /// a workaround for the broker: docs/findings/).
    #[serde(with = "humantime_serde")]
    pub stall_limit: Duration,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        ConsumerSettings {
            session_timeout: Duration::from_secs(10),
            stall_limit: Duration::from_secs(20),
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
    /// The analytics consumer group's timers.
    #[serde(default)]
    pub consumer: ConsumerSettings,
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
            consumer: ConsumerSettings::default(),
            archive_interval: Duration::from_secs(30),
            base_backup_interval: Duration::from_secs(600),
        }
    }
}

impl StackSettings {
    /// How long the stack may take to be ready again after a network cut
    /// heals, from its own timers, each of which can hold recovery up in
    /// turn: Patroni's leader TTL and two HA loops (a cut-off node rejoins,
    /// rewound if it led); the consumer group's session timeout, the
    /// watchdog's stall limit and a rebalance (a member that lost its
    /// session rejoins; a partition left to a vanished member is taken
    /// back); the gateway breaker's reset timeout (a circuit opened during
    /// the cut tries again); the ingress's health checks (a gateway is put
    /// back after `fall + rise` checks); the services' 10 s TCP user timeout
    /// (a connection cut mid-statement fails).
    pub fn heal_bound(&self) -> Duration {
        let patroni = Duration::from_secs(u64::from(self.patroni.ttl + 2 * self.patroni.loop_wait));
        let rebalance = Duration::from_secs(5);
        let consumer = self.consumer.session_timeout + self.consumer.stall_limit + rebalance;
        let ingress = self.health_check_interval * (self.health_check_fall + 2);
        let tcp_user_timeout = Duration::from_secs(10);
        patroni + consumer + self.gateway.breaker_reset_timeout + ingress + tcp_user_timeout
    }

    /// A short hash identifying these settings (labels a stack so that a
    /// run can tell whether an existing stack fits its profile).
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        crate::hash::content_hash([("settings", json.as_slice())])
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
    fn the_heal_bound_adds_up_the_stacks_own_timers() {
        // 14 s Patroni + 35 s consumer group + 30 s breaker + 10 s ingress
        // + 10 s TCP user timeout.
        assert_eq!(
            StackSettings::default().heal_bound(),
            Duration::from_secs(99)
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
