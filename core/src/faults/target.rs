//! What faults act on, shared by the kinds: containers picked by service,
//! zone, role, name and count; groups of zones or services; the direction
//! of a hop; and the [`Inventory`] a scenario's targets are checked
//! against (faultline's own stack, or a stack of the user's).

use serde::{Deserialize, Serialize};

use crate::stack::{topology, StackSettings};

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
    /// Only this service (a reference service's name, or a Compose
    /// service's).
    pub service: Option<String>,
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
    /// Whether a node (by logical name, service, static role and zone)
    /// matches the static parts of this selector; leader and replica match
    /// every database node (role `db`) until the platform asks Patroni who
    /// leads. A node without a role (a stack faultline did not create)
    /// matches no role.
    pub fn matches_static(
        &self,
        name: &str,
        service: &str,
        role: Option<&str>,
        zone: &str,
    ) -> bool {
        self.service.as_deref().is_none_or(|s| s == service)
            && self.zone.as_deref().is_none_or(|z| z == zone)
            && self.name.as_deref().is_none_or(|n| n == name)
            && match &self.role {
                Some(Role::Label(l)) => role == Some(l.as_str()),
                Some(Role::Leader) | Some(Role::Replica) => role == Some(DB_ROLE),
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
    pub services: Vec<String>,
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

/// The static role of the reference stack's PostgreSQL nodes, which
/// `leader` and `replica` narrow.
const DB_ROLE: &str = "db";

/// What a scenario's targets may name: a stack's zones and containers,
/// known before anything runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    /// Its zones (empty: a stack without zones, where zone faults are
    /// refused and every other fault applies).
    pub zones: Vec<String>,
    /// Its containers.
    pub nodes: Vec<InventoryNode>,
    /// faultline's own stack's settings, when the scenario runs on it:
    /// hops, Patroni, the broker and the backup region exist only there.
    /// `None`: a stack faultline did not create.
    pub reference: Option<StackSettings>,
}

/// One container a scenario may target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryNode {
    /// Its logical name (`orders-a`, or `<service>-<number>` in a Compose
    /// project).
    pub name: String,
    /// Its service.
    pub service: String,
    /// Its static role (`app`, `db`…); `None` on a user's stack.
    pub role: Option<String>,
    /// Its zone; empty when the stack has none or it has no zone.
    pub zone: String,
}

impl Inventory {
    /// faultline's own stack, shaped by `settings`.
    pub fn reference(settings: &StackSettings) -> Inventory {
        Inventory {
            zones: settings.zones.clone(),
            nodes: topology::nodes(settings)
                .into_iter()
                .map(|n| InventoryNode {
                    name: n.name,
                    service: n.service.name().to_string(),
                    role: Some(n.service.role().to_string()),
                    zone: n.zone,
                })
                .collect(),
            reference: Some(settings.clone()),
        }
    }

    /// The names of its services, sorted, once each.
    pub fn services(&self) -> Vec<String> {
        let mut v: Vec<String> = self.nodes.iter().map(|n| n.service.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// The static roles it has, sorted, once each.
    pub fn roles(&self) -> Vec<String> {
        let mut v: Vec<String> = self.nodes.iter().filter_map(|n| n.role.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// The containers a selector's static parts match.
    pub fn matching<'a>(&'a self, sel: &'a Selector) -> impl Iterator<Item = &'a InventoryNode> {
        self.nodes
            .iter()
            .filter(|n| sel.matches_static(&n.name, &n.service, n.role.as_deref(), &n.zone))
    }
}
