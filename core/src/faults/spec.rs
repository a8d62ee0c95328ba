//! What a fault is, as plain data (pure): its kind, what it targets, its
//! parameters and when it ends. Scenario files are parsed into these; the
//! fault files under this module carry them out.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::stack::Service;

/// The scenario vocabulary of fault kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// SIGKILL containers; the harness starts them again after a delay.
    PodKill,
    /// Freeze containers (docker pause) for a duration.
    PodPause,
    /// Kill every container of a zone at once.
    AzOutage,
    /// Cut a zone off from every other zone, containers still running.
    AzIsolation,
    /// Add latency (with jitter) on a hop.
    Latency,
    /// Limit a hop's bandwidth.
    Bandwidth,
    /// Hold every byte on a hop (a black hole).
    Blackhole,
    /// Reset every connection on a hop.
    Reset,
    /// Two groups (zones or services) cannot reach each other.
    Partition,
    /// Fail the PostgreSQL leader over (kill it, or a planned switchover).
    DbFailover,
    /// Kill the broker.
    BrokerLoss,
    /// Kill Redis.
    CacheLoss,
    /// Destroy every database node and its disk at once; recover from the
    /// backup region.
    RegionLoss,
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FaultKind {
    /// Every kind.
    pub const ALL: [FaultKind; 13] = [
        FaultKind::PodKill,
        FaultKind::PodPause,
        FaultKind::AzOutage,
        FaultKind::AzIsolation,
        FaultKind::Latency,
        FaultKind::Bandwidth,
        FaultKind::Blackhole,
        FaultKind::Reset,
        FaultKind::Partition,
        FaultKind::DbFailover,
        FaultKind::BrokerLoss,
        FaultKind::CacheLoss,
        FaultKind::RegionLoss,
    ];

    /// Its scenario name.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::PodKill => "pod-kill",
            FaultKind::PodPause => "pod-pause",
            FaultKind::AzOutage => "az-outage",
            FaultKind::AzIsolation => "az-isolation",
            FaultKind::Latency => "latency",
            FaultKind::Bandwidth => "bandwidth",
            FaultKind::Blackhole => "blackhole",
            FaultKind::Reset => "reset",
            FaultKind::Partition => "partition",
            FaultKind::DbFailover => "db-failover",
            FaultKind::BrokerLoss => "broker-loss",
            FaultKind::CacheLoss => "cache-loss",
            FaultKind::RegionLoss => "region-loss",
        }
    }

    /// The kind with this scenario name.
    pub fn from_name(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

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

/// How the database fails over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailoverMode {
    /// Unplanned: SIGKILL the leader (started again when the fault ends).
    KillLeader,
    /// Planned: Patroni's switchover to a replica.
    Switchover,
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Action {
    /// `pod-kill`.
    Kill(Selector),
    /// `pod-pause`.
    Pause(Selector),
    /// `az-outage`.
    ZoneOutage {
        /// The zone.
        zone: String,
    },
    /// `az-isolation`.
    ZoneIsolation {
        /// The zone.
        zone: String,
    },
    /// `latency`.
    Latency {
        /// The hop (`orders->postgres`).
        hop: String,
        /// Added delay.
        latency: Duration,
        /// Spread around it.
        jitter: Duration,
        /// Which direction.
        direction: Direction,
    },
    /// `bandwidth`.
    Bandwidth {
        /// The hop.
        hop: String,
        /// KB per second.
        rate_kbps: u64,
        /// Which direction.
        direction: Direction,
    },
    /// `blackhole`.
    Blackhole {
        /// The hop.
        hop: String,
        /// Which direction.
        direction: Direction,
    },
    /// `reset`.
    Reset {
        /// The hop.
        hop: String,
    },
    /// `partition`.
    Partition {
        /// One side.
        a: Group,
        /// The other.
        b: Group,
    },
    /// `db-failover`.
    DbFailover {
        /// Kill or switch over.
        mode: FailoverMode,
    },
    /// `broker-loss`.
    BrokerLoss,
    /// `cache-loss`.
    CacheLoss,
    /// `region-loss`: every database node and its volume destroyed; the
    /// fault's end is the restore from backup.
    RegionLoss {
        /// Also destroy the broker and its store.
        broker_store: bool,
        /// Also kill Redis.
        cache: bool,
    },
}

impl Action {
    /// The kind this action belongs to.
    pub fn kind(&self) -> FaultKind {
        match self {
            Action::Kill(_) => FaultKind::PodKill,
            Action::Pause(_) => FaultKind::PodPause,
            Action::ZoneOutage { .. } => FaultKind::AzOutage,
            Action::ZoneIsolation { .. } => FaultKind::AzIsolation,
            Action::Latency { .. } => FaultKind::Latency,
            Action::Bandwidth { .. } => FaultKind::Bandwidth,
            Action::Blackhole { .. } => FaultKind::Blackhole,
            Action::Reset { .. } => FaultKind::Reset,
            Action::Partition { .. } => FaultKind::Partition,
            Action::DbFailover { .. } => FaultKind::DbFailover,
            Action::BrokerLoss => FaultKind::BrokerLoss,
            Action::CacheLoss => FaultKind::CacheLoss,
            Action::RegionLoss { .. } => FaultKind::RegionLoss,
        }
    }

    /// Whether the action is over the moment it is done (a switchover),
    /// so it needs no end.
    pub fn is_instant(&self) -> bool {
        matches!(
            self,
            Action::DbFailover {
                mode: FailoverMode::Switchover
            }
        )
    }
}

/// One fault of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// What it does.
    pub action: Action,
    /// How long until it is reverted (containers started again, frozen
    /// ones thawed, rules or toxics removed). `None` only when `permanent`
    /// or the action is instant.
    pub duration: Option<Duration>,
    /// The scenario said this fault has no end.
    pub permanent: bool,
}

impl FaultSpec {
    /// Its kind.
    pub fn kind(&self) -> FaultKind {
        self.action.kind()
    }

    /// A short label for reports (`pod-kill orders a`).
    pub fn label(&self) -> String {
        let k = self.kind().name();
        match &self.action {
            Action::Kill(s) | Action::Pause(s) => {
                let mut parts = vec![k.to_string()];
                if let Some(n) = &s.name {
                    parts.push(n.clone());
                }
                if let Some(sv) = s.service {
                    parts.push(sv.name().to_string());
                }
                if let Some(r) = &s.role {
                    parts.push(match r {
                        Role::Leader => "leader".into(),
                        Role::Replica => "replica".into(),
                        Role::Label(l) => l.clone(),
                    });
                }
                if let Some(z) = &s.zone {
                    parts.push(format!("zone {z}"));
                }
                parts.join(" ")
            }
            Action::ZoneOutage { zone } | Action::ZoneIsolation { zone } => {
                format!("{k} zone {zone}")
            }
            Action::Latency { hop, latency, .. } => {
                format!("{k} {} on {hop}", humantime::format_duration(*latency))
            }
            Action::Bandwidth { hop, rate_kbps, .. } => format!("{k} {rate_kbps} KB/s on {hop}"),
            Action::Blackhole { hop, .. } | Action::Reset { hop } => format!("{k} {hop}"),
            Action::Partition { a, b } => {
                let side = |g: &Group| {
                    let mut v: Vec<String> = g.zones.iter().map(|z| format!("zone {z}")).collect();
                    v.extend(g.services.iter().map(|s| s.name().to_string()));
                    v.join("+")
                };
                format!("{k} {} | {}", side(a), side(b))
            }
            Action::DbFailover { mode } => match mode {
                FailoverMode::KillLeader => format!("{k} kill-leader"),
                FailoverMode::Switchover => format!("{k} switchover"),
            },
            Action::BrokerLoss | Action::CacheLoss => k.to_string(),
            Action::RegionLoss {
                broker_store,
                cache,
            } => {
                let mut what = vec!["databases"];
                if *broker_store {
                    what.push("broker store");
                }
                if *cache {
                    what.push("cache");
                }
                format!("{k} ({})", what.join(", "))
            }
        }
    }

    /// Whether the fault has an end, as the safety rule requires.
    pub fn is_bounded(&self) -> bool {
        self.duration.is_some() || self.permanent || self.action.is_instant()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        for k in FaultKind::ALL {
            assert_eq!(FaultKind::from_name(k.name()), Some(k));
        }
    }

    #[test]
    fn a_fault_without_an_end_is_unbounded_unless_permanent_or_instant() {
        let mut f = FaultSpec {
            action: Action::CacheLoss,
            duration: None,
            permanent: false,
        };
        assert!(!f.is_bounded());
        f.permanent = true;
        assert!(f.is_bounded());
        let s = FaultSpec {
            action: Action::DbFailover {
                mode: FailoverMode::Switchover,
            },
            duration: None,
            permanent: false,
        };
        assert!(s.is_bounded());
        assert_eq!(s.label(), "db-failover switchover");
    }
}
