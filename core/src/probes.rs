//! The names of the series the probes sample (`ProbeSample::probe`).

/// Probe name of the replication lag in bytes.
pub const REPLICATION_LAG_BYTES: &str = "replication_lag_bytes";
/// Probe name of the replication lag in seconds.
pub const REPLICATION_LAG_SECONDS: &str = "replication_lag_seconds";
/// Prefix of consumer-lag probes, one per partition (`consumer_lag:p2`).
pub const CONSUMER_LAG: &str = "consumer_lag";
/// Prefix of health probes (`health:orders-a`).
pub const HEALTH: &str = "health";
