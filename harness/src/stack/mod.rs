//! The reference stack: bring it up, find it again, tear it down.
//!
//! [`topology`] says what a stack is made of (pure); this module makes it
//! real on a [`Platform`], labels every object it creates, and waits for
//! real readiness ([`ready`]) before handing back a [`Stack`].

pub mod owner;
pub mod ready;
pub mod status;

pub use faultline_core::stack::{configs, settings, topology};

use std::collections::HashMap;
use std::time::Duration;

use crate::exit::Exit;
use crate::images::{self, ImageError};
pub use crate::platform::{object_name, Node};
use crate::platform::{
    NodeCreate, Platform, PlatformError, LABEL_OWNER, LABEL_RUN, LABEL_SETTINGS,
    LABEL_SETTINGS_JSON, LABEL_SYSTEM,
};
pub use owner::Owner;
pub use settings::StackSettings;
pub use topology::{NodeSpec, Service};

/// A failure to bring up, find or tear down a stack.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The platform failed.
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// Images are missing.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The stack did not become ready in time.
    #[error("the stack was not ready after {waited:?}; still waiting for: {}", pending.join("; "))]
    NotReady {
        /// How long faultline waited.
        waited: Duration,
        /// What was not ready.
        pending: Vec<String>,
    },
    /// No stack is running.
    #[error("no faultline stack is running; start one with `faultline up`")]
    NoStack,
    /// The named run does not exist.
    #[error("no faultline stack with run id {0}; `faultline status` lists the running ones")]
    NoSuchRun(String),
    /// More than one stack runs and none was named.
    #[error("{} faultline stacks are running ({}); name one with --run", .0.len(), .0.join(", "))]
    Ambiguous(Vec<String>),
    /// No free local port could be found.
    #[error("no free port on 127.0.0.1: {0}")]
    NoPort(std::io::Error),
    /// The settings break a rule (such as Patroni's timing rule).
    #[error("invalid stack settings: {0}")]
    InvalidSettings(String),
}

impl StackError {
    /// The exit status this error maps to.
    pub fn exit(&self) -> Exit {
        match self {
            StackError::Ambiguous(_)
            | StackError::NoSuchRun(_)
            | StackError::InvalidSettings(_) => Exit::BadInput,
            StackError::Platform(PlatformError::RemoteRefused { .. }) => Exit::BadInput,
            _ => Exit::Environment,
        }
    }
}

/// A stack faultline started (or found).
#[derive(Clone)]
pub struct Stack {
    platform: Platform,
    /// The run id in every object's `faultline.run` label.
    pub run: String,
    /// The system profile it was started for.
    pub system: String,
    /// Fingerprint of its settings.
    pub settings_fingerprint: String,
    /// Its settings (read back from its labels when attached).
    pub settings: Option<StackSettings>,
    /// Its owner label.
    pub owner: String,
    /// Its containers.
    pub nodes: Vec<Node>,
    /// Whether faultline created it (and so may remove it).
    created: bool,
}

/// Options of [`up`].
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// The run id every object will carry (see [`new_run_id`]).
    pub run: String,
    /// The system profile's name (a label, for `status` and reuse).
    pub system: String,
    /// Who owns the stack.
    pub owner: Owner,
    /// How long to wait for readiness.
    pub ready_timeout: Duration,
}

/// A fresh random run id (six hex digits).
pub fn new_run_id() -> String {
    format!("{:06x}", rand::random::<u32>() & 0xff_ffff)
}

/// Host ports that are free now, all distinct.
fn free_ports(n: usize) -> Result<Vec<u16>, StackError> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(StackError::NoPort)?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(StackError::NoPort)
}

/// Removes the stacks of harness processes that are gone (a SIGKILLed run
/// leaves its stack behind). Returns the runs removed.
pub async fn sweep_dead(platform: &Platform) -> Result<Vec<String>, StackError> {
    let mut swept = Vec::new();
    for (run, owner) in platform.runs().await? {
        if Owner::parse(&owner).is_some_and(|o| !o.is_alive()) {
            platform.sweep(Some(&run)).await?;
            swept.push(run);
        }
    }
    Ok(swept)
}

/// Starts a stack and waits until it is ready. On any failure everything
/// created so far is removed.
pub async fn up(
    platform: &Platform,
    settings: &StackSettings,
    opts: &UpOptions,
) -> Result<Stack, StackError> {
    if !settings.patroni.is_valid() {
        return Err(StackError::InvalidSettings(format!(
            "Patroni needs loop_wait + 2 × retry_timeout ≤ ttl, got {:?}",
            settings.patroni
        )));
    }
    for swept in sweep_dead(platform).await? {
        tracing::info!(run = %swept, "removed the stack of a harness process that is gone");
    }
    images::check_present(platform).await?;
    let run = opts.run.clone();
    let result = create_and_start(platform, settings, opts, &run).await;
    let stack = match result {
        Ok(stack) => stack,
        Err(e) => {
            let _ = platform.sweep(Some(&run)).await;
            return Err(e);
        }
    };
    if let Err(e) = ready::wait_ready(&stack, opts.ready_timeout).await {
        // The containers are about to go: keep what they said.
        for n in &stack.nodes {
            let logs = platform.logs_tail(&n.container, 15).await;
            tracing::warn!(node = %n.name, "last log lines before removal:\n{logs}");
        }
        let _ = platform.sweep(Some(&run)).await;
        return Err(e);
    }
    Ok(stack)
}

/// The labels every object of a run carries.
fn run_labels(
    run: &str,
    owner: &str,
    system: &str,
    settings: &StackSettings,
) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_RUN.to_string(), run.to_string()),
        (LABEL_OWNER.to_string(), owner.to_string()),
        (LABEL_SYSTEM.to_string(), system.to_string()),
        (LABEL_SETTINGS.to_string(), settings.fingerprint()),
        (
            LABEL_SETTINGS_JSON.to_string(),
            serde_json::to_string(settings).unwrap_or_default(),
        ),
    ])
}

async fn create_and_start(
    platform: &Platform,
    settings: &StackSettings,
    opts: &UpOptions,
    run: &str,
) -> Result<Stack, StackError> {
    let owner = opts.owner.to_label();
    let labels = run_labels(run, &owner, &opts.system, settings);
    platform.create_run(run, &labels).await?;
    let specs = topology::nodes(settings);
    let port_count = specs.iter().map(|n| n.ports.len()).sum();
    let mut host_ports = free_ports(port_count)?.into_iter();
    let mut nodes: Vec<Node> = Vec::new();
    // Service by service in start order: a node whose /etc/hosts names
    // another node (the services name their fault proxy) is created once
    // that node runs and has an address.
    for service in Service::ALL {
        let mut started = Vec::new();
        for spec in specs.iter().filter(|n| n.service == service) {
            let publish = spec
                .ports
                .iter()
                .map(|&p| (p, host_ports.next().unwrap_or(0)))
                .collect();
            let node = platform
                .create_node(&NodeCreate {
                    run,
                    labels: &labels,
                    spec,
                    image: images::current(spec.service.image()),
                    publish,
                })
                .await?;
            started.push(node.container.clone());
            nodes.push(node);
        }
        for container in started {
            platform.start(&container).await?;
        }
    }
    Ok(Stack {
        platform: platform.clone(),
        run: run.to_string(),
        system: opts.system.clone(),
        settings_fingerprint: settings.fingerprint(),
        settings: Some(settings.clone()),
        owner,
        nodes,
        created: true,
    })
}

impl Stack {
    /// Finds a running stack: the one named, or the only one.
    pub async fn attach(platform: &Platform, run: Option<&str>) -> Result<Stack, StackError> {
        let runs: Vec<String> = platform.runs().await?.into_iter().map(|(r, _)| r).collect();
        let run = match run {
            Some(r) if runs.iter().any(|x| x == r) => r.to_string(),
            Some(r) => return Err(StackError::NoSuchRun(r.into())),
            None => match runs.as_slice() {
                [] => return Err(StackError::NoStack),
                [one] => one.clone(),
                many => return Err(StackError::Ambiguous(many.to_vec())),
            },
        };
        let mut nodes = Vec::new();
        let mut system = String::new();
        let mut fingerprint = String::new();
        let mut settings = None;
        let mut owner = String::new();
        for found in platform.nodes(&run).await? {
            let labels = &found.labels;
            system = labels.get(LABEL_SYSTEM).cloned().unwrap_or_default();
            fingerprint = labels.get(LABEL_SETTINGS).cloned().unwrap_or_default();
            owner = labels.get(LABEL_OWNER).cloned().unwrap_or_default();
            if settings.is_none() {
                settings = labels
                    .get(LABEL_SETTINGS_JSON)
                    .and_then(|j| serde_json::from_str(j).ok());
            }
            nodes.push(found.node);
        }
        let order = |n: &Node| {
            Service::ALL
                .iter()
                .position(|x| n.is(*x))
                .unwrap_or(Service::ALL.len())
        };
        nodes.sort_by(|a, b| (order(a), &a.name).cmp(&(order(b), &b.name)));
        Ok(Stack {
            platform: platform.clone(),
            run,
            system,
            settings_fingerprint: fingerprint,
            settings,
            owner,
            nodes,
            created: true,
        })
    }

    /// A stack faultline did not create (a Compose project), as its nodes:
    /// faults act on these and nothing else. It has no settings and no
    /// owner, and nothing of faultline's removes it.
    pub fn user(platform: &Platform, name: &str, nodes: Vec<Node>) -> Stack {
        Stack {
            platform: platform.clone(),
            run: name.to_string(),
            system: name.to_string(),
            settings_fingerprint: String::new(),
            settings: None,
            owner: String::new(),
            nodes,
            created: false,
        }
    }

    /// The stack's zones (those of its gateways), sorted.
    pub fn zones(&self) -> Vec<String> {
        let mut z: Vec<String> = self
            .nodes_of(Service::Gateway)
            .map(|n| n.zone.clone())
            .collect();
        z.sort();
        z.dedup();
        z
    }

    /// The platform the stack runs on.
    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    /// The node with this logical name.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The nodes of a service.
    pub fn nodes_of(&self, service: Service) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(move |n| n.is(service))
    }

    /// The ingress's base URL (`http://127.0.0.1:<port>`): the only endpoint
    /// the load generator uses.
    pub fn ingress_url(&self) -> Option<String> {
        self.nodes_of(Service::Ingress)
            .next()
            .and_then(|n| n.addr(topology::HTTP_PORT))
            .map(|a| format!("http://{a}"))
    }

    /// A direct PostgreSQL connection (as superuser) to one Patroni node's
    /// database, bypassing the router, the services and the cache.
    pub async fn pg_connect(
        &self,
        node: &str,
        database: &str,
    ) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (host, port) = self
            .node(node)
            .and_then(|n| Some((n.host.as_str(), *n.ports.get(&topology::PG_PORT)?)))
            .unwrap_or(("127.0.0.1", 0));
        let (user, password) = topology::PG_SUPERUSER;
        let mut cfg = tokio_postgres::Config::new();
        cfg.host(host)
            .port(port)
            .user(user)
            .password(password)
            .dbname(database)
            .connect_timeout(Duration::from_secs(3));
        let (client, connection) = cfg.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    /// Replaces one node of the stack: its container (and, when
    /// `fresh_volumes`, its data volumes) removed, then created again from
    /// `spec` under the same name with the same host ports, and started.
    /// The backup region is never removed.
    pub async fn recreate(&self, spec: &NodeSpec, fresh_volumes: bool) -> Result<(), StackError> {
        let settings = self.settings.clone().unwrap_or_default();
        let labels = run_labels(&self.run, &self.owner, &self.system, &settings);
        let container = object_name(&self.run, &spec.name);
        self.platform.remove_node(&container).await?;
        if fresh_volumes {
            self.remove_data(spec).await?;
        }
        let existing = self.node(&spec.name).ok_or_else(|| {
            StackError::NoSuchRun(format!("{} has no node {}", self.run, spec.name))
        })?;
        let publish: Vec<(u16, u16)> = spec
            .ports
            .iter()
            .map(|p| (*p, existing.ports.get(p).copied().unwrap_or(0)))
            .collect();
        let node = self
            .platform
            .create_node(&NodeCreate {
                run: &self.run,
                labels: &labels,
                spec,
                image: images::current(spec.service.image()),
                publish,
            })
            .await?;
        self.platform.start(&node.container).await?;
        Ok(())
    }

    /// Destroys a node's data volumes (the backup region is never one of
    /// them): its disk is gone.
    pub async fn remove_data(&self, spec: &NodeSpec) -> Result<(), StackError> {
        for (suffix, _) in spec
            .volumes
            .iter()
            .filter(|(s, _)| s != topology::BACKUP_VOLUME)
        {
            self.platform.remove_volume(&self.run, suffix).await?;
        }
        Ok(())
    }

    /// Removes every object of this stack.
    pub async fn down(&self) -> Result<usize, StackError> {
        // A stack faultline did not create is never removed by faultline.
        if !self.created {
            return Ok(0);
        }
        Ok(self.platform.sweep(Some(&self.run)).await?)
    }
}

/// A machine-wide lock for code that starts stacks (test suites): two
/// stacks at once would starve each other on a small machine. Held until
/// dropped; blocks until free.
pub struct MachineLock {
    _file: std::fs::File,
}

impl MachineLock {
    /// Takes the lock (`$TMPDIR/faultline-stack-tests.lock`), waiting for it.
    pub fn acquire() -> std::io::Result<MachineLock> {
        let path = std::env::temp_dir().join("faultline-stack-tests.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        file.lock()?;
        Ok(MachineLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct() {
        let ports = free_ports(20).unwrap();
        let set: std::collections::HashSet<_> = ports.iter().collect();
        assert_eq!(set.len(), 20);
        assert!(ports.iter().all(|&p| p > 0));
    }

    #[test]
    fn names_carry_the_run() {
        assert_eq!(object_name("abc123", "pg-a"), "fl-abc123-pg-a");
        let id = new_run_id();
        assert_eq!(id.len(), 6);
    }
}
