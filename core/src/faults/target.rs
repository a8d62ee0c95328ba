//! What faults act on, shared by the kinds: containers picked by service,
//! zone, role, name and count; groups of zones or services; the direction
//! of a hop.

use serde::{Deserialize, Serialize};

use crate::stack::Service;

/// A role to select, beyond the static role labels: PostgreSQL's current
/// leader or replicas, found through Patroni at injection time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The Patroni leader.
    Leader,
    /// A Patroni replica.
    Replica,
    /// A static role label (`app`, `dcs`, `cache`…).
    #[serde(untagged)]
    Label(String),
}

/// Which containers a fault acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selector {
    /// Only this service.
    pub service: Option<Service>,
    /// Only this zone.
    pub zone: Option<String>,
    /// Only this role.
    pub role: Option<Role>,
    /// Only the container with this logical name.
    pub name: Option<String>,
    /// How many of the matches (picked with the run's seed); `None`: 1.
    pub count: Option<Count>,
}

impl Selector {
    /// Whether a node (by logical name, service and zone) matches the
    /// static parts of this selector; leader and replica match every
    /// PostgreSQL node until the platform asks Patroni who leads.
    pub fn matches_static(&self, name: &str, service: Service, zone: &str) -> bool {
        self.service.is_none_or(|s| s == service)
            && self.zone.as_deref().is_none_or(|z| z == zone)
            && self.name.as_deref().is_none_or(|n| n == name)
            && match &self.role {
                Some(Role::Label(l)) => service.role() == l,
                Some(Role::Leader) | Some(Role::Replica) => service == Service::Postgres,
                None => true,
            }
    }
}

/// How many matching containers a fault takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Count {
    /// Every match.
    All,
    /// Exactly this many.
    #[serde(untagged)]
    N(u32),
}

/// A side of a partition: zones or services.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Containers in these zones.
    #[serde(default)]
    pub zones: Vec<String>,
    /// Containers of these services.
    #[serde(default)]
    pub services: Vec<Service>,
}

/// Which direction of a hop a toxic acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Requests (client → dependency).
    Upstream,
    /// Answers (dependency → client).
    Downstream,
    /// Both.
    Both,
}

/// The words of [`Direction`] in scenarios.
pub const DIRECTIONS: &[&str] = &["upstream", "downstream", "both"];
