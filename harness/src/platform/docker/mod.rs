//! The Docker engine, through bollard. Every call that fails names the
//! operation and its target, so an error reads like "starting container
//! fl-3f2a-pg-a failed: …".

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummary, ContainerUpdateBody,
    EndpointSettings, HostConfig, Mount, MountType, NetworkCreateRequest, NetworkingConfig,
    PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bollard::Docker;

pub mod compose;
pub mod netfilter;

use super::{
    CpuRestore, Found, Node, NodeCreate, NodeState, PlatformError, LABEL_NAME, LABEL_ROLE,
    LABEL_RUN, LABEL_SERVICE, LABEL_ZONE,
};
use faultline_core::stack::topology::{self, Service};

/// The kernel's default CFS period, µs.
const CFS_PERIOD_US: i64 = 100_000;

/// Maps a bollard error to a neutral one: 404 is [`PlatformError::NotFound`],
/// 304 (starting what runs) [`PlatformError::AlreadyInState`].
pub(crate) fn call(
    operation: &'static str,
    target: impl Into<String>,
) -> impl FnOnce(bollard::errors::Error) -> PlatformError {
    let target = target.into();
    move |source| match source {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        } => PlatformError::NotFound { operation, target },
        bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        } => PlatformError::AlreadyInState { operation, target },
        source => PlatformError::Failed {
            operation,
            target,
            reason: source.to_string(),
        },
    }
}

/// Like [`call`], for a call whose 409 ("conflict") can only mean the
/// object is already in the state asked for (killing a stopped container,
/// thawing one that is not frozen).
fn state_change(
    operation: &'static str,
    target: impl Into<String>,
) -> impl FnOnce(bollard::errors::Error) -> PlatformError {
    let target = target.into();
    move |source| match source {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        } => PlatformError::AlreadyInState { operation, target },
        source => call(operation, target)(source),
    }
}

/// The network every container of a run joins.
pub fn network_name(run: &str) -> String {
    format!("fl-{run}")
}

/// Whether a `DOCKER_HOST` value names an engine on this machine.
pub fn is_local_docker_host(host: &str) -> bool {
    if host.is_empty() || host.starts_with("unix://") || host.starts_with("npipe://") {
        return true;
    }
    let rest = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
        .or_else(|| host.strip_prefix("https://"))
        .unwrap_or(host);
    let hostpart = rest.rsplit_once(':').map(|(h, _)| h).unwrap_or(rest);
    let hostpart = hostpart.trim_start_matches('[').trim_end_matches(']');
    hostpart == "localhost"
        || hostpart == "::1"
        || hostpart
            .parse::<std::net::Ipv4Addr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// What a container is made from: the plain values faultline passes to the
/// engine. Built by the stack's pure topology code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerConfig {
    /// The engine-wide container name.
    pub name: String,
    /// Image reference (`faultline/postgres-ha:1a2b…`).
    pub image: String,
    /// Command, or empty for the image's default.
    pub cmd: Vec<String>,
    /// `KEY=value` pairs.
    pub env: Vec<String>,
    /// Labels (always including the run label).
    pub labels: HashMap<String, String>,
    /// Network to join and the aliases to answer to there.
    pub network: String,
    /// DNS aliases on that network.
    pub aliases: Vec<String>,
    /// Container port → published port.
    pub publish: Vec<(u16, u16)>,
    /// Named volume → mount path.
    pub volumes: Vec<(String, String)>,
    /// `host:ip` entries for `/etc/hosts`.
    pub extra_hosts: Vec<String>,
    /// Hostname inside the container.
    pub hostname: String,
}

/// A handle on the Docker engine.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    /// Where published ports are reached from this machine, and the host
    /// address they are bound to on the engine's machine.
    published: Published,
}

/// Where a container's published ports live.
#[derive(Debug, Clone, PartialEq)]
struct Published {
    /// The address faultline dials (`127.0.0.1`, or the remote engine's host).
    reach: String,
    /// The address the engine binds them to (`127.0.0.1`; for a remote
    /// engine its IP when `DOCKER_HOST` gives one, else every interface).
    bind: String,
}

/// The published-port addresses for a `DOCKER_HOST` value.
fn published_for(docker_host: &str) -> Published {
    if is_local_docker_host(docker_host) {
        return Published {
            reach: "127.0.0.1".into(),
            bind: "127.0.0.1".into(),
        };
    }
    let rest = docker_host
        .split_once("://")
        .map_or(docker_host, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let host = match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => rest.split([':', '/']).next().unwrap_or(rest),
    };
    let bind = if host.parse::<std::net::IpAddr>().is_ok() {
        host.to_string()
    } else {
        "0.0.0.0".to_string()
    };
    Published {
        reach: host.to_string(),
        bind,
    }
}

impl Engine {
    /// Connects to the engine named by `DOCKER_HOST` (default: the local
    /// socket) and checks that it answers. A non-local engine is refused
    /// unless `allow_remote`.
    pub async fn connect(allow_remote: bool) -> Result<Self, PlatformError> {
        let host = std::env::var("DOCKER_HOST").unwrap_or_default();
        if !allow_remote && !is_local_docker_host(&host) {
            return Err(PlatformError::RemoteRefused {
                place: format!("DOCKER_HOST={host}"),
            });
        }
        let place = format!(
            "a Docker engine at {}",
            if host.is_empty() {
                "unix:///var/run/docker.sock"
            } else {
                &host
            }
        );
        let unreachable = |reason: String| PlatformError::Unreachable {
            place: place.clone(),
            reason,
            hint: "Start the Docker daemon or set DOCKER_HOST to a reachable engine.",
        };
        let docker = Docker::connect_with_defaults().map_err(|e| unreachable(e.to_string()))?;
        match tokio::time::timeout(Duration::from_secs(5), docker.ping()).await {
            Ok(Ok(_)) => Ok(Engine {
                docker,
                published: published_for(&host),
            }),
            Ok(Err(e)) => Err(unreachable(e.to_string())),
            Err(_) => Err(unreachable("no answer within 5 s".into())),
        }
    }

    /// The bollard client, for the image builder.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Whether an image with this reference exists locally.
    pub async fn image_exists(&self, reference: &str) -> Result<bool, PlatformError> {
        match self.docker.inspect_image(reference).await {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(call("inspecting image", reference)(e)),
        }
    }

    /// Creates a bridge network with labels.
    pub async fn create_network(
        &self,
        name: &str,
        labels: &HashMap<String, String>,
    ) -> Result<(), PlatformError> {
        self.docker
            .create_network(NetworkCreateRequest {
                name: name.into(),
                driver: Some("bridge".into()),
                labels: Some(labels.clone()),
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(call("creating network", name))
    }

    /// Creates a named volume with labels.
    pub async fn create_volume(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<(), PlatformError> {
        self.docker
            .create_volume(VolumeCreateRequest {
                name: Some(name.into()),
                labels: Some(labels),
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(call("creating volume", name))
    }

    /// Creates (but does not start) a container.
    pub async fn create_container(&self, cfg: &ContainerConfig) -> Result<(), PlatformError> {
        let port_bindings = cfg
            .publish
            .iter()
            .map(|(container, host)| {
                (
                    format!("{container}/tcp"),
                    Some(vec![PortBinding {
                        host_ip: Some(self.published.bind.clone()),
                        host_port: Some(host.to_string()),
                    }]),
                )
            })
            .collect();
        let mounts = cfg
            .volumes
            .iter()
            .map(|(volume, path)| Mount {
                target: Some(path.clone()),
                source: Some(volume.clone()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            })
            .collect();
        let body = ContainerCreateBody {
            image: Some(cfg.image.clone()),
            hostname: Some(cfg.hostname.clone()),
            cmd: (!cfg.cmd.is_empty()).then(|| cfg.cmd.clone()),
            env: Some(cfg.env.clone()),
            labels: Some(cfg.labels.clone()),
            exposed_ports: Some(
                cfg.publish
                    .iter()
                    .map(|(container, _)| format!("{container}/tcp"))
                    .collect(),
            ),
            host_config: Some(HostConfig {
                port_bindings: Some(port_bindings),
                mounts: Some(mounts),
                extra_hosts: Some(cfg.extra_hosts.clone()),
                network_mode: Some(cfg.network.clone()),
                init: Some(true),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    cfg.network.clone(),
                    EndpointSettings {
                        aliases: Some(cfg.aliases.clone()),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        };
        self.docker
            .create_container(
                Some(CreateContainerOptionsBuilder::new().name(&cfg.name).build()),
                body,
            )
            .await
            .map(|_| ())
            .map_err(call("creating container", &cfg.name))
    }

    /// Copies files into a container (works before it starts). Each entry is
    /// (absolute path, contents, mode).
    pub async fn upload_files(
        &self,
        container: &str,
        files: &[(String, Vec<u8>, u32)],
    ) -> Result<(), PlatformError> {
        if files.is_empty() {
            return Ok(());
        }
        let mut builder = tar::Builder::new(Vec::new());
        for (path, contents, mode) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(*mode);
            header.set_mtime(0);
            header.set_cksum();
            let rel = path.trim_start_matches('/');
            builder
                .append_data(&mut header, rel, contents.as_slice())
                .map_err(|e| PlatformError::Failed {
                    operation: "packing files for",
                    target: container.into(),
                    reason: e.to_string(),
                })?;
        }
        let tarball = builder.into_inner().map_err(|e| PlatformError::Failed {
            operation: "packing files for",
            target: container.into(),
            reason: e.to_string(),
        })?;
        self.docker
            .upload_to_container(
                container,
                Some(UploadToContainerOptionsBuilder::new().path("/").build()),
                bollard::body_full(tarball.into()),
            )
            .await
            .map_err(call("uploading files to container", container))
    }

    /// Starts a created or stopped container.
    pub async fn start(&self, container: &str) -> Result<(), PlatformError> {
        self.docker
            .start_container(container, None)
            .await
            .map_err(call("starting container", container))
    }

    /// Sends SIGKILL (a power cut, not a shutdown).
    pub async fn kill(&self, container: &str) -> Result<(), PlatformError> {
        self.docker
            .kill_container(
                container,
                Some(KillContainerOptionsBuilder::new().signal("SIGKILL").build()),
            )
            .await
            .map_err(state_change("killing container", container))
    }

    /// SIGKILLs a container's main process from the host, as a crash
    /// would: the engine sees it die (not stopped by hand), so the
    /// container's own restart policy decides whether it comes back — where
    /// [`Engine::kill`] counts as stopped by hand and is never restarted.
    /// Returns once the engine saw the process die (it may already have
    /// restarted it). The process id is the host's: a local engine only.
    pub async fn crash(&self, container: &str) -> Result<(), PlatformError> {
        let before = self.state(container).await?;
        if !before.running {
            return Err(PlatformError::AlreadyInState {
                operation: "crashing container",
                target: container.to_string(),
            });
        }
        let pid = self.pid(container).await?;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .map_err(|e| PlatformError::Failed {
            operation: "crashing container",
            target: container.to_string(),
            reason: format!("SIGKILL to its process {pid}: {e}"),
        })?;
        let died = crate::poll::until(
            Duration::from_millis(10),
            Duration::from_secs(5),
            || async {
                match self.state(container).await {
                    Ok(s) if s.running && s.started_unix_ms == before.started_unix_ms => {
                        crate::poll::Attempt::NotYet(())
                    }
                    _ => crate::poll::Attempt::Done(()),
                }
            },
        )
        .await;
        died.map_err(|_| PlatformError::Failed {
            operation: "crashing container",
            target: container.to_string(),
            reason: "its process was killed but the engine still shows it running after 5 s".into(),
        })
    }

    /// Freezes every process of a container.
    pub async fn pause(&self, container: &str) -> Result<(), PlatformError> {
        self.docker
            .pause_container(container)
            .await
            .map_err(call("pausing container", container))
    }

    /// Limits a container to `cpus` CPUs through the engine's resource
    /// update; returns what restores the limit it had. A container created
    /// with `--cpus` keeps that mechanism (the engine refuses to mix it
    /// with a CFS quota); any other gets a CFS quota over a 100 ms period.
    pub async fn limit_cpu(&self, container: &str, cpus: f64) -> Result<CpuRestore, PlatformError> {
        let host = self
            .inspect(container)
            .await?
            .host_config
            .unwrap_or_default();
        let before = CpuRestore::Docker {
            nano_cpus: host.nano_cpus.unwrap_or(0),
            cpu_quota: host.cpu_quota.unwrap_or(0),
            cpu_period: host.cpu_period.unwrap_or(0),
        };
        let update = if host.nano_cpus.unwrap_or(0) > 0 {
            ContainerUpdateBody {
                nano_cpus: Some((cpus * 1e9).round().max(1.0) as i64),
                ..Default::default()
            }
        } else {
            ContainerUpdateBody {
                cpu_period: Some(CFS_PERIOD_US),
                cpu_quota: Some(((cpus * CFS_PERIOD_US as f64).round() as i64).max(1_000)),
                ..Default::default()
            }
        };
        self.docker
            .update_container(container, update)
            .await
            .map_err(call("limiting the CPU of", container))?;
        Ok(before)
    }

    /// Puts back the CPU limit [`limit_cpu`](Self::limit_cpu) found. The
    /// engine ignores a quota of 0 in an update, so "no limit" is written
    /// as the kernel's own -1 over the default period: the kernel's limit
    /// is then exactly what it was, while the engine's record shows
    /// `-1`/`100000` where it showed `0`/`0`.
    pub async fn restore_cpu(
        &self,
        container: &str,
        before: &CpuRestore,
    ) -> Result<(), PlatformError> {
        let CpuRestore::Docker {
            nano_cpus,
            cpu_quota,
            cpu_period,
        } = *before;
        let update = if nano_cpus > 0 {
            ContainerUpdateBody {
                nano_cpus: Some(nano_cpus),
                ..Default::default()
            }
        } else if cpu_quota > 0 {
            ContainerUpdateBody {
                cpu_quota: Some(cpu_quota),
                cpu_period: Some(if cpu_period > 0 {
                    cpu_period
                } else {
                    CFS_PERIOD_US
                }),
                ..Default::default()
            }
        } else {
            ContainerUpdateBody {
                cpu_quota: Some(-1),
                cpu_period: Some(CFS_PERIOD_US),
                ..Default::default()
            }
        };
        self.docker
            .update_container(container, update)
            .await
            .map_err(call("restoring the CPU limit of", container))
    }

    /// Thaws a paused container.
    pub async fn unpause(&self, container: &str) -> Result<(), PlatformError> {
        self.docker
            .unpause_container(container)
            .await
            .map_err(state_change("unpausing container", container))
    }

    /// Full details of one container.
    pub async fn inspect(
        &self,
        container: &str,
    ) -> Result<ContainerInspectResponse, PlatformError> {
        self.docker
            .inspect_container(container, None)
            .await
            .map_err(call("inspecting container", container))
    }

    /// The last `lines` lines of a container's output (stdout and stderr).
    pub async fn logs_tail(&self, container: &str, lines: usize) -> String {
        self.logs(container, Some(lines), false).await
    }

    /// Every line of a container's output with the engine's own timestamp
    /// (µs since the Unix epoch): when a step inside the container happened,
    /// independent of how often the harness polled.
    pub async fn logs_timestamped(&self, container: &str) -> Vec<(u64, String)> {
        self.logs(container, None, true)
            .await
            .lines()
            .filter_map(|line| {
                let (stamp, text) = line.split_once(' ')?;
                let at = humantime::parse_rfc3339(stamp).ok()?;
                let us = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_micros() as u64;
                Some((us, text.to_string()))
            })
            .collect()
    }

    async fn logs(&self, container: &str, tail: Option<usize>, timestamps: bool) -> String {
        use futures_util::StreamExt;
        let mut opts = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .timestamps(timestamps);
        if let Some(lines) = tail {
            opts = opts.tail(&lines.to_string());
        }
        let mut out = String::new();
        let mut stream = self.docker.logs(container, Some(opts.build()));
        while let Some(Ok(chunk)) = stream.next().await {
            out.push_str(&chunk.to_string());
        }
        out
    }

    /// Runs a command in a running container as `user` (empty: the image's
    /// user) and returns its exit code and combined output.
    pub async fn exec(
        &self,
        container: &str,
        user: &str,
        cmd: &[&str],
    ) -> Result<(i64, String), PlatformError> {
        use bollard::exec::StartExecResults;
        use futures_util::StreamExt;
        let created = self
            .docker
            .create_exec(
                container,
                bollard::models::ExecConfig {
                    cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    user: (!user.is_empty()).then(|| user.to_string()),
                    ..Default::default()
                },
            )
            .await
            .map_err(call("starting a command in", container))?;
        let mut output = String::new();
        if let StartExecResults::Attached {
            output: mut stream, ..
        } = self
            .docker
            .start_exec(&created.id, None)
            .await
            .map_err(call("running a command in", container))?
        {
            while let Some(Ok(chunk)) = stream.next().await {
                output.push_str(&chunk.to_string());
            }
        }
        let code = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(call("inspecting a command in", container))?
            .exit_code
            .unwrap_or(-1);
        Ok((code, output))
    }

    /// Removes a container (running or not) and its anonymous volumes.
    pub async fn remove_container(&self, container: &str) -> Result<(), PlatformError> {
        let removed = self
            .docker
            .remove_container(
                container,
                Some(
                    RemoveContainerOptionsBuilder::new()
                        .force(true)
                        .v(true)
                        .build(),
                ),
            )
            .await;
        already_gone_is_done(removed).map_err(call("removing container", container))
    }

    /// Removes a named volume (its data is gone).
    pub async fn remove_volume(&self, volume: &str) -> Result<(), PlatformError> {
        let removed = self
            .docker
            .remove_volume(
                volume,
                Some(RemoveVolumeOptionsBuilder::new().force(true).build()),
            )
            .await;
        already_gone_is_done(removed).map_err(call("removing volume", volume))
    }

    /// A running container's address on a network.
    pub async fn ip_address(
        &self,
        container: &str,
        network: &str,
    ) -> Result<String, PlatformError> {
        let inspect = self.inspect(container).await?;
        inspect
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|mut nets| nets.remove(network))
            .and_then(|e| e.ip_address)
            .filter(|ip| !ip.is_empty())
            .ok_or_else(|| PlatformError::NotFound {
                operation: "finding the address on the stack's network of",
                target: container.to_string(),
            })
    }

    /// A container's addresses on every network it is on, sorted.
    pub async fn ip_addresses(&self, container: &str) -> Result<Vec<String>, PlatformError> {
        let inspect = self.inspect(container).await?;
        let mut ips: Vec<String> = inspect
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default()
            .into_values()
            .filter_map(|e| e.ip_address)
            .filter(|ip| !ip.is_empty())
            .collect();
        ips.sort();
        if ips.is_empty() {
            return Err(PlatformError::NotFound {
                operation: "finding the network addresses of",
                target: container.to_string(),
            });
        }
        Ok(ips)
    }

    /// Containers (running or not) whose labels match every `key=value`
    /// filter (or bare `key`, for "has this label").
    pub async fn containers(
        &self,
        labels: &[String],
    ) -> Result<Vec<ContainerSummary>, PlatformError> {
        let filters = HashMap::from([("label".to_string(), labels.to_vec())]);
        self.docker
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(call("listing containers", labels.join(",")))
    }

    /// Removes containers, networks and volumes carrying the run label
    /// `faultline.run=<run>` (or every run's, when `run` is `None`). Returns
    /// how many objects were removed.
    pub async fn remove_labelled(&self, run: Option<&str>) -> Result<usize, PlatformError> {
        let label = match run {
            Some(r) => format!("{LABEL_RUN}={r}"),
            None => LABEL_RUN.to_string(),
        };
        let filters = HashMap::from([("label".to_string(), vec![label.clone()])]);
        let mut removed = 0;
        for c in self.containers(std::slice::from_ref(&label)).await? {
            let Some(id) = c.id else { continue };
            self.remove_container(&id).await?;
            removed += 1;
        }
        let networks = self
            .docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(call("listing networks", &label))?;
        for n in networks {
            let Some(name) = n.name else { continue };
            already_gone_is_done(self.docker.remove_network(&name).await)
                .map_err(call("removing network", &name))?;
            removed += 1;
        }
        let volumes = self
            .docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(call("listing volumes", &label))?;
        for v in volumes.volumes.unwrap_or_default() {
            self.remove_volume(&v.name).await?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Every run id that has a container, network or volume on this engine,
    /// with the owner label of its objects.
    pub async fn runs(&self) -> Result<Vec<(String, String)>, PlatformError> {
        let mut runs: Vec<(String, String)> = Vec::new();
        let mut add = |labels: Option<&HashMap<String, String>>| {
            if let Some(labels) = labels {
                if let Some(run) = labels.get(LABEL_RUN) {
                    let owner = labels.get(super::LABEL_OWNER).cloned().unwrap_or_default();
                    if !runs.iter().any(|(r, _)| r == run) {
                        runs.push((run.clone(), owner));
                    }
                }
            }
        };
        for c in self.containers(&[LABEL_RUN.to_string()]).await? {
            add(c.labels.as_ref());
        }
        let filters = HashMap::from([("label".to_string(), vec![LABEL_RUN.to_string()])]);
        let networks = self
            .docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(call("listing networks", LABEL_RUN))?;
        for n in &networks {
            add(n.labels.as_ref());
        }
        let volumes = self
            .docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(call("listing volumes", LABEL_RUN))?;
        for v in volumes.volumes.unwrap_or_default() {
            add(Some(&v.labels));
        }
        Ok(runs)
    }
}

/// The stack's operations in Docker's terms: a node is a container on the
/// run's bridge network, its data named volumes, its ports published on the
/// engine's host.
impl Engine {
    /// Creates (does not start) one node: its volumes, its `/etc/hosts`
    /// entries (the nodes they name must be running), its container, its
    /// files.
    pub async fn create_node(&self, create: &NodeCreate<'_>) -> Result<Node, PlatformError> {
        let (run, spec) = (create.run, create.spec);
        let network = network_name(run);
        let container = super::object_name(run, &spec.name);
        let mut labels = create.labels.clone();
        labels.insert(LABEL_ZONE.into(), spec.zone.clone());
        labels.insert(LABEL_ROLE.into(), spec.service.role().into());
        labels.insert(LABEL_SERVICE.into(), spec.service.name().into());
        labels.insert(LABEL_NAME.into(), spec.name.clone());
        let mut volumes = Vec::new();
        for (suffix, path) in &spec.volumes {
            let volume = super::object_name(run, suffix);
            let mut volume_labels = labels.clone();
            if suffix == topology::BACKUP_VOLUME {
                // The backup region belongs to no zone.
                volume_labels.insert(LABEL_ZONE.into(), "backup".into());
                volume_labels.remove(LABEL_NAME);
            }
            self.create_volume(&volume, volume_labels).await?;
            volumes.push((volume, path.clone()));
        }
        let mut extra_hosts = Vec::new();
        for (hostname, target) in &spec.hosts {
            let ip = self
                .ip_address(&super::object_name(run, target), &network)
                .await?;
            extra_hosts.push(format!("{hostname}:{ip}"));
        }
        let cfg = ContainerConfig {
            name: container.clone(),
            image: create.image.clone(),
            cmd: spec.cmd.clone(),
            env: spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            labels,
            network,
            aliases: topology::aliases(spec),
            publish: create.publish.clone(),
            volumes,
            extra_hosts,
            hostname: spec.name.clone(),
        };
        self.create_container(&cfg).await?;
        let files: Vec<(String, Vec<u8>, u32)> = spec
            .files
            .iter()
            .map(|f| (f.path.clone(), f.contents.clone().into_bytes(), 0o644))
            .collect();
        self.upload_files(&container, &files).await?;
        Ok(Node {
            name: spec.name.clone(),
            container,
            service: spec.service.name().to_string(),
            reference: Some(spec.service),
            zone: spec.zone.clone(),
            host: self.published.reach.clone(),
            ports: create.publish.iter().copied().collect(),
        })
    }

    /// What a container is doing now.
    pub async fn state(&self, container: &str) -> Result<NodeState, PlatformError> {
        let inspect = self.inspect(container).await?;
        let restarts = inspect.restart_count.unwrap_or(0).max(0) as u32;
        let state = inspect.state.unwrap_or_default();
        Ok(NodeState {
            restarts,
            status: state
                .status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "unknown".into()),
            running: state.running.unwrap_or(false),
            started_unix_ms: state.started_at.as_deref().and_then(unix_ms),
        })
    }

    /// The process id of a running container's init, as the host sees it
    /// (to enter its network namespace).
    pub(crate) async fn pid(&self, container: &str) -> Result<i64, PlatformError> {
        self.inspect(container)
            .await?
            .state
            .and_then(|s| s.pid)
            .filter(|p| *p > 0)
            .ok_or_else(|| PlatformError::NotRunning {
                operation: "entering the network of",
                target: container.to_string(),
            })
    }

    /// The containers of a run, read back from their labels and published
    /// ports.
    pub async fn nodes(&self, run: &str) -> Result<Vec<Found>, PlatformError> {
        let containers = self.containers(&[format!("{LABEL_RUN}={run}")]).await?;
        let mut found = Vec::new();
        for c in containers {
            let labels = c.labels.unwrap_or_default();
            let Some(service) = labels
                .get(LABEL_SERVICE)
                .and_then(|s| Service::from_name(s))
            else {
                continue;
            };
            let container = c
                .names
                .and_then(|n| n.first().cloned())
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string();
            let inspect = self.inspect(&container).await?;
            let mut ports = HashMap::new();
            if let Some(bindings) = inspect.host_config.and_then(|h| h.port_bindings) {
                for (key, binding) in bindings {
                    let container_port = key.split('/').next().and_then(|p| p.parse().ok());
                    let host_port = binding
                        .and_then(|b| b.first().and_then(|b| b.host_port.clone()))
                        .and_then(|p| p.parse().ok());
                    if let (Some(c), Some(h)) = (container_port, host_port) {
                        ports.insert(c, h);
                    }
                }
            }
            found.push(Found {
                node: Node {
                    name: labels.get(LABEL_NAME).cloned().unwrap_or_default(),
                    container,
                    service: service.name().to_string(),
                    reference: Some(service),
                    zone: labels.get(LABEL_ZONE).cloned().unwrap_or_default(),
                    host: self.published.reach.clone(),
                    ports,
                },
                labels,
            });
        }
        Ok(found)
    }
}

/// Docker's RFC 3339 time (nanoseconds, `Z`) as ms since the Unix epoch
/// (`None` for its "never": year 1).
fn unix_ms(stamp: &str) -> Option<u64> {
    let at = humantime::parse_rfc3339(stamp).ok()?;
    Some(at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as u64)
}

/// A removal of something already gone (404) has done what it was asked.
fn already_gone_is_done(
    result: Result<(), bollard::errors::Error>,
) -> Result<(), bollard::errors::Error> {
    match result {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_ports_follow_the_engine() {
        let local = published_for("");
        assert_eq!(
            (local.reach.as_str(), local.bind.as_str()),
            ("127.0.0.1", "127.0.0.1")
        );
        let ip = published_for("tcp://10.0.0.5:2375");
        assert_eq!(
            (ip.reach.as_str(), ip.bind.as_str()),
            ("10.0.0.5", "10.0.0.5")
        );
        let named = published_for("ssh://ops@docker.example.com");
        assert_eq!(
            (named.reach.as_str(), named.bind.as_str()),
            ("docker.example.com", "0.0.0.0")
        );
        let v6 = published_for("tcp://[2001:db8::5]:2376");
        assert_eq!(v6.reach, "2001:db8::5");
    }

    #[test]
    fn start_times_keep_their_milliseconds() {
        assert_eq!(unix_ms("1970-01-01T00:00:01.234567891Z"), Some(1_234));
        assert_eq!(unix_ms("1970-01-01T00:00:02Z"), Some(2_000));
        assert_eq!(unix_ms("0001-01-01T00:00:00Z"), None);
    }

    #[test]
    fn local_hosts_are_recognised() {
        for h in [
            "",
            "unix:///var/run/docker.sock",
            "tcp://127.0.0.1:2375",
            "tcp://localhost:2375",
            "tcp://[::1]:2375",
            "tcp://127.3.4.5:2376",
        ] {
            assert!(is_local_docker_host(h), "{h}");
        }
        for h in [
            "tcp://10.0.0.5:2375",
            "tcp://docker.example.com:2376",
            "ssh://user@host",
        ] {
            assert!(!is_local_docker_host(h), "{h}");
        }
    }
}
