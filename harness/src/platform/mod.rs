//! Where the stack runs, behind one seam.
//!
//! [`Platform`] is every operation the stack, the faults, readiness, status,
//! the run and the drill need from what runs the containers: create, start,
//! kill, pause and thaw, remove, exec, logs, a node's state, a network cut
//! between nodes, the endpoint of a published port, and listing and sweeping
//! what a run labelled. Errors are neutral ([`PlatformError`]): no caller
//! matches an engine's status code. Today the one implementation is a Docker
//! engine ([`docker`]); DESIGN.md maps each operation to Kubernetes, the
//! next one. Images stay Docker-specific behind their own module
//! (`images`): they are built by a Docker engine whatever runs them.
//!
//! The labels below are how faultline recognises — and only ever touches —
//! what it created.

pub mod docker;

use std::collections::HashMap;

use faultline_core::stack::topology::{NodeSpec, Service};

/// Label holding the run id every faultline object belongs to.
pub const LABEL_RUN: &str = "faultline.run";
/// Label holding a container's zone (`a`, `b`, `c`, or `global`).
pub const LABEL_ZONE: &str = "faultline.zone";
/// Label holding a container's role (`app`, `db`, `dcs`, `ingress`…).
pub const LABEL_ROLE: &str = "faultline.role";
/// Label holding a container's service (`orders`, `postgres`…).
pub const LABEL_SERVICE: &str = "faultline.service";
/// Label holding a container's logical name within its run (`pg-a`).
pub const LABEL_NAME: &str = "faultline.name";
/// Label holding the system profile a stack was started for.
pub const LABEL_SYSTEM: &str = "faultline.system";
/// Label holding who owns a run: `cli` for a stack started by `faultline up`
/// (it lives until `down`), or `pid:<pid>:<start>` for a stack owned by one
/// harness process (swept once that process is gone).
pub const LABEL_OWNER: &str = "faultline.owner";
/// Label holding the hash of the stack settings a stack was started with.
pub const LABEL_SETTINGS: &str = "faultline.settings";
/// Label holding a stack's settings as JSON (so a stack found again can be
/// rebuilt, node by node, exactly as it was started).
pub const LABEL_SETTINGS_JSON: &str = "faultline.settings-json";
/// Label on images faultline built.
pub const LABEL_IMAGE: &str = "faultline.image";

/// The platform-wide name of a run's node or volume (`fl-<run>-<name>`).
pub fn object_name(run: &str, name: &str) -> String {
    format!("fl-{run}-{name}")
}

/// A platform operation that failed, in words no engine owns. faultline
/// exits 3 on these, except [`PlatformError::RemoteRefused`] (2).
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// Nothing answered where the platform was looked for.
    #[error("cannot reach {place}: {reason}. {hint}")]
    Unreachable {
        /// What was looked for, and where ("a Docker engine at unix://…").
        place: String,
        /// What went wrong.
        reason: String,
        /// What the user can do about it.
        hint: &'static str,
    },
    /// The platform is on another machine and `--allow-remote` was not given.
    #[error("{place} is not on this machine; faultline only breaks what runs on this machine unless --allow-remote is given")]
    RemoteRefused {
        /// The refused place (`DOCKER_HOST=tcp://…`).
        place: String,
    },
    /// The object is not there.
    #[error("{operation} {target} failed: no such object")]
    NotFound {
        /// What was being done.
        operation: &'static str,
        /// To what.
        target: String,
    },
    /// The object is already in the state asked for: starting a running
    /// node, killing a stopped one, thawing one that is not frozen.
    #[error("{operation} {target}: already so")]
    AlreadyInState {
        /// What was being done.
        operation: &'static str,
        /// To what.
        target: String,
    },
    /// The node is not running, so what needs a running node cannot be done.
    #[error("{operation} {target} failed: it is not running")]
    NotRunning {
        /// What was being done.
        operation: &'static str,
        /// To what.
        target: String,
    },
    /// Any other failure of one operation.
    #[error("{operation} {target} failed: {reason}")]
    Failed {
        /// What was being done ("starting container").
        operation: &'static str,
        /// To what.
        target: String,
        /// The platform's answer.
        reason: String,
    },
}

impl PlatformError {
    /// Whether the platform said "no such object".
    pub fn is_not_found(&self) -> bool {
        matches!(self, PlatformError::NotFound { .. })
    }

    /// Whether the object was already in the state asked for.
    pub fn is_already_in_state(&self) -> bool {
        matches!(self, PlatformError::AlreadyInState { .. })
    }
}

/// One node of a stack as the platform runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Logical name (`pg-a`).
    pub name: String,
    /// The platform's name for it (the container `fl-1a2b3c-pg-a`).
    pub container: String,
    /// Its service's name: a reference service's (`postgres`), or a
    /// Compose service's on a stack faultline did not create.
    pub service: String,
    /// Which of faultline's reference services it is; `None` on a stack
    /// faultline did not create (a user's service named `postgres` is not
    /// faultline's).
    pub reference: Option<Service>,
    /// Its zone; empty when it has none.
    pub zone: String,
    /// Where its published ports are reached from this machine (the engine's
    /// host: `127.0.0.1` for a local engine).
    pub host: String,
    /// Container port → published port on [`Node::host`].
    pub ports: HashMap<u16, u16>,
}

impl Node {
    /// Whether it is this reference service.
    pub fn is(&self, service: Service) -> bool {
        self.reference == Some(service)
    }

    /// Its static role (`app`, `db`…): a reference service's; `None` on a
    /// stack faultline did not create.
    pub fn role(&self) -> Option<&'static str> {
        self.reference.map(Service::role)
    }
    /// `<host>:<published port>` for a container port (an IPv6 host in
    /// brackets).
    pub fn addr(&self, container_port: u16) -> Option<String> {
        let port = self.ports.get(&container_port)?;
        Some(if self.host.contains(':') {
            format!("[{}]:{port}", self.host)
        } else {
            format!("{}:{port}", self.host)
        })
    }
}

/// What a node is doing now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeState {
    /// The platform's word for it (`running`, `paused`, `exited`…).
    pub status: String,
    /// Its processes run (a paused node is running, and frozen).
    pub running: bool,
    /// When it last started, ms since the Unix epoch.
    pub started_unix_ms: Option<u64>,
    /// How often the platform restarted it by itself.
    pub restarts: u32,
}

/// A node found on the platform with the labels it carries.
#[derive(Debug, Clone)]
pub struct Found {
    /// The node (zone, service and name read from its labels).
    pub node: Node,
    /// Every label on it.
    pub labels: HashMap<String, String>,
}

/// How to create one node: its pure description and what the stack adds.
#[derive(Debug, Clone)]
pub struct NodeCreate<'a> {
    /// The run it belongs to.
    pub run: &'a str,
    /// The labels of every object of the run (the node adds its own).
    pub labels: &'a HashMap<String, String>,
    /// What it is (from the topology).
    pub spec: &'a NodeSpec,
    /// The image reference it runs.
    pub image: String,
    /// Container port → published port.
    pub publish: Vec<(u16, u16)>,
}

/// A network cut inside one node: packets it exchanges with some peers, or
/// with its name resolvers, dropped — every one, or a share at random.
/// Each fault's cut is kept apart, so cuts overlap and heal separately.
#[derive(Debug, Clone, PartialEq)]
pub struct Cut {
    /// The fault (plan step) it belongs to.
    pub fault: usize,
    /// Which packets.
    pub what: Cutting,
    /// The share of those packets dropped, each drawn at random (1.0:
    /// every one, a partition; less: packet loss).
    pub share: f64,
}

impl Cut {
    /// Every packet to and from `peers` dropped: a partition.
    pub fn peers(fault: usize, peers: Vec<String>) -> Cut {
        Cut {
            fault,
            what: Cutting::Peers {
                peers,
                flow: Flow::Both,
            },
            share: 1.0,
        }
    }
}

/// A node's CPU limit as the platform had it, to put back exactly.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CpuRestore {
    /// Docker's three ways to say it (0: not set).
    Docker {
        /// `--cpus` × 10⁹.
        nano_cpus: i64,
        /// The CFS quota, µs per period.
        cpu_quota: i64,
        /// The CFS period, µs.
        cpu_period: i64,
    },
}

/// What a [`Cut`] drops.
#[derive(Debug, Clone, PartialEq)]
pub enum Cutting {
    /// Packets exchanged with these peers (addresses on the stack's
    /// network), in the given direction.
    Peers {
        /// The peers' addresses.
        peers: Vec<String>,
        /// Which direction.
        flow: Flow,
    },
    /// Packets to the node's name resolvers: lookups fail, open
    /// connections live on.
    Resolvers,
}

/// The direction of the packets a cut drops, seen from the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Both ways.
    Both,
    /// Only what the node sends.
    Out,
    /// Only what it receives.
    In,
}

/// Where the stack runs. One variant per platform; every method is one
/// neutral operation (see DESIGN.md, "The platform seam").
#[derive(Clone)]
pub enum Platform {
    /// A Docker engine (local unless `--allow-remote`).
    Docker(docker::Engine),
}

impl Platform {
    /// Connects to the platform: today the Docker engine `DOCKER_HOST`
    /// names (default: the local socket). A non-local one is refused unless
    /// `allow_remote`.
    pub async fn connect(allow_remote: bool) -> Result<Platform, PlatformError> {
        Ok(Platform::Docker(
            docker::Engine::connect(allow_remote).await?,
        ))
    }

    /// Whether the image `reference` is there for nodes to run.
    pub async fn has_image(&self, reference: &str) -> Result<bool, PlatformError> {
        match self {
            Platform::Docker(e) => e.image_exists(reference).await,
        }
    }

    /// Creates what a run's nodes share (Docker: its network).
    pub async fn create_run(
        &self,
        run: &str,
        labels: &HashMap<String, String>,
    ) -> Result<(), PlatformError> {
        match self {
            Platform::Docker(e) => e.create_network(&docker::network_name(run), labels).await,
        }
    }

    /// Creates (does not start) one node with its data, its files and its
    /// name entries; the nodes named in its `hosts` must be running.
    pub async fn create_node(&self, create: &NodeCreate<'_>) -> Result<Node, PlatformError> {
        match self {
            Platform::Docker(e) => e.create_node(create).await,
        }
    }

    /// Starts a created or stopped node.
    pub async fn start(&self, node: &str) -> Result<(), PlatformError> {
        match self {
            Platform::Docker(e) => e.start(node).await,
        }
    }

    /// Kills a node at once (SIGKILL: a power cut, not a shutdown).
    pub async fn kill(&self, node: &str) -> Result<(), PlatformError> {
        match self {
            Platform::Docker(e) => e.kill(node).await,
        }
    }

    /// Kills a node's main process as a crash would, so that the node's own
    /// restart policy decides whether it comes back (a node faultline did
    /// not create: its owner's policy is part of what the drill measures).
    pub async fn crash(&self, node: &str) -> Result<(), PlatformError> {
        match self {
            Platform::Docker(e) => e.crash(node).await,
        }
    }

    /// Freezes every process of a node.
    pub async fn pause(&self, node: &str) -> Result<(), PlatformError> {
        match self {
            Platform::Docker(e) => e.pause(node).await,
        }
    }

    /// Limits a node to `cpus` CPUs (a fraction: `0.1`); returns what puts
    /// its own limit back.
    pub async fn limit_cpu(&self, node: &str, cpus: f64) -> Result<CpuRestore, PlatformError> {
        match self {
            Platform::Docker(e) => e.limit_cpu(node, cpus).await,
        }
    }

    /// Puts back the CPU limit a node had before [`limit_cpu`](Self::limit_cpu).
    pub async fn restore_cpu(&self, node: &str, before: &CpuRestore) -> Result<(), PlatformError> {
        match self {
            Platform::Docker(e) => e.restore_cpu(node, before).await,
        }
    }

    /// Thaws a frozen node.
    pub async fn unpause(&self, node: &str) -> Result<(), PlatformError> {
        match self {
            Platform::Docker(e) => e.unpause(node).await,
        }
    }

    /// Removes a node (running or not); gone already counts as done.
    pub async fn remove_node(&self, node: &str) -> Result<(), PlatformError> {
        match self {
            Platform::Docker(e) => e.remove_container(node).await,
        }
    }

    /// Destroys a named data volume of a run; gone already counts as done.
    pub async fn remove_volume(&self, run: &str, volume: &str) -> Result<(), PlatformError> {
        match self {
            Platform::Docker(e) => e.remove_volume(&object_name(run, volume)).await,
        }
    }

    /// What a node is doing now.
    pub async fn state(&self, node: &str) -> Result<NodeState, PlatformError> {
        match self {
            Platform::Docker(e) => e.state(node).await,
        }
    }

    /// Runs a command in a running node as `user` (empty: the image's user)
    /// and returns its exit code and combined output.
    pub async fn exec(
        &self,
        node: &str,
        user: &str,
        cmd: &[&str],
    ) -> Result<(i64, String), PlatformError> {
        match self {
            Platform::Docker(e) => e.exec(node, user, cmd).await,
        }
    }

    /// The last `lines` lines of a node's output (empty when unreadable).
    pub async fn logs_tail(&self, node: &str, lines: usize) -> String {
        match self {
            Platform::Docker(e) => e.logs_tail(node, lines).await,
        }
    }

    /// Every line of a node's output with the platform's own timestamp (µs
    /// since the Unix epoch).
    pub async fn logs_timestamped(&self, node: &str) -> Vec<(u64, String)> {
        match self {
            Platform::Docker(e) => e.logs_timestamped(node).await,
        }
    }

    /// A running node's addresses on every network it is on (what its
    /// peers see: one network for faultline's own stack, maybe several
    /// in a Compose project).
    pub async fn addresses(&self, node: &str) -> Result<Vec<String>, PlatformError> {
        match self {
            Platform::Docker(e) => e.ip_addresses(node).await,
        }
    }

    /// Drops all traffic between a running node and the cut's peers.
    pub async fn cut(&self, node: &str, cut: &Cut) -> Result<(), PlatformError> {
        match self {
            Platform::Docker(e) => docker::netfilter::cut(e, node, cut).await,
        }
    }

    /// Removes fault `fault`'s cut from a node. A node that is gone, stopped
    /// or restarted since (and so has no such cut) is healed.
    pub async fn heal(&self, node: &str, fault: usize) -> Result<(), PlatformError> {
        match self {
            Platform::Docker(e) => docker::netfilter::heal(e, node, fault).await,
        }
    }

    /// Every run that has an object here, with the owner label of its
    /// objects.
    pub async fn runs(&self) -> Result<Vec<(String, String)>, PlatformError> {
        match self {
            Platform::Docker(e) => e.runs().await,
        }
    }

    /// The nodes of a run, with their labels.
    pub async fn nodes(&self, run: &str) -> Result<Vec<Found>, PlatformError> {
        match self {
            Platform::Docker(e) => e.nodes(run).await,
        }
    }

    /// Removes every object labelled with `run` (every run's, when `None`).
    /// Returns how many went.
    pub async fn sweep(&self, run: Option<&str>) -> Result<usize, PlatformError> {
        match self {
            Platform::Docker(e) => e.remove_labelled(run).await,
        }
    }
}
