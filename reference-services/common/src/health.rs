//! The `/health` body: `{"status","service","db"}`, the shape seed 004 documents.

use serde::Serialize;

/// Whether the service's database answered a ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DbStatus {
    /// A `SELECT 1` succeeded.
    Connected,
    /// The ping failed or timed out.
    Disconnected,
    /// The service has no database of its own (the gateway).
    None,
}

/// The JSON returned by `GET /health`.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// `ok` when the service can do its job, else `degraded`.
    pub status: &'static str,
    /// The service's name.
    pub service: &'static str,
    /// Its database's state.
    pub db: DbStatus,
    /// Extra service-specific facts (cache state, upstream circuits…).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Health {
    /// A health report: `ok` unless the database is disconnected.
    pub fn new(service: &'static str, db: DbStatus) -> Self {
        let status = if db == DbStatus::Disconnected {
            "degraded"
        } else {
            "ok"
        };
        Health {
            status,
            service,
            db,
            extra: serde_json::Map::new(),
        }
    }

    /// Adds a service-specific field.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_to_the_documented_shape() {
        let h = Health::new("orders", DbStatus::Connected).with("cache", "up");
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["status"], "ok");
        assert_eq!(v["service"], "orders");
        assert_eq!(v["db"], "connected");
        assert_eq!(v["cache"], "up");
        let down = Health::new("orders", DbStatus::Disconnected);
        assert_eq!(down.status, "degraded");
    }
}
