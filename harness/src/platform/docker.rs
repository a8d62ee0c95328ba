//! The Docker engine, through bollard. Every call that fails names the
//! operation and its target, so an error reads like "starting container
//! fl-3f2a-pg-a failed: …".

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummary, EndpointSettings, HostConfig,
    Mount, MountType, NetworkCreateRequest, NetworkingConfig, PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bollard::Docker;

use super::LABEL_RUN;

/// A failure talking to the engine; faultline exits 3 on these.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No engine answered.
    #[error("cannot reach a Docker engine at {host}: {reason}. Start the Docker daemon or set DOCKER_HOST to a reachable engine.")]
    Unreachable {
        /// Where faultline looked.
        host: String,
        /// What went wrong.
        reason: String,
    },
    /// `DOCKER_HOST` points at another machine and `--allow-remote` was not given.
    #[error("DOCKER_HOST={host} is not a local engine; faultline only breaks what runs on this machine unless --allow-remote is given")]
    RemoteRefused {
        /// The refused address.
        host: String,
    },
    /// The object is not there (Docker's 404).
    #[error("{operation} {target} failed: no such object")]
    NotFound {
        /// What was being done.
        operation: &'static str,
        /// To what.
        target: String,
    },
    /// The object is already in the state asked for: starting a running
    /// container (Docker's 304), killing a stopped one or thawing one that
    /// is not frozen (409 from those two calls).
    #[error("{operation} {target}: already so")]
    AlreadyInState {
        /// What was being done.
        operation: &'static str,
        /// To what.
        target: String,
    },
    /// One engine call failed.
    #[error("{operation} {target} failed: {source}")]
    Call {
        /// What was being done ("starting container").
        operation: &'static str,
        /// To what.
        target: String,
        /// The engine's answer.
        #[source]
        source: bollard::errors::Error,
    },
}

impl EngineError {
    fn call(
        operation: &'static str,
        target: impl Into<String>,
    ) -> impl FnOnce(bollard::errors::Error) -> Self {
        let target = target.into();
        move |source| match source {
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            } => EngineError::NotFound { operation, target },
            bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            } => EngineError::AlreadyInState { operation, target },
            source => EngineError::Call {
                operation,
                target,
                source,
            },
        }
    }

    /// Like [`EngineError::call`], for a call whose 409 ("conflict") can
    /// only mean the object is already in the state asked for (killing a
    /// stopped container, thawing one that is not frozen).
    fn state_change(
        operation: &'static str,
        target: impl Into<String>,
    ) -> impl FnOnce(bollard::errors::Error) -> Self {
        let target = target.into();
        move |source| match source {
            bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            } => EngineError::AlreadyInState { operation, target },
            source => EngineError::call(operation, target)(source),
        }
    }

    /// Whether the engine said "no such object".
    pub fn is_not_found(&self) -> bool {
        matches!(self, EngineError::NotFound { .. })
    }

    /// Whether the object was already in the state asked for.
    pub fn is_already_in_state(&self) -> bool {
        matches!(self, EngineError::AlreadyInState { .. })
    }
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
    /// Container port → host port on 127.0.0.1.
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
}

impl Engine {
    /// Connects to the engine named by `DOCKER_HOST` (default: the local
    /// socket) and checks that it answers. A non-local engine is refused
    /// unless `allow_remote`.
    pub async fn connect(allow_remote: bool) -> Result<Self, EngineError> {
        let host = std::env::var("DOCKER_HOST").unwrap_or_default();
        if !allow_remote && !is_local_docker_host(&host) {
            return Err(EngineError::RemoteRefused { host });
        }
        let shown = if host.is_empty() {
            "unix:///var/run/docker.sock".to_string()
        } else {
            host.clone()
        };
        let docker = Docker::connect_with_defaults().map_err(|e| EngineError::Unreachable {
            host: shown.clone(),
            reason: e.to_string(),
        })?;
        match tokio::time::timeout(Duration::from_secs(5), docker.ping()).await {
            Ok(Ok(_)) => Ok(Engine { docker }),
            Ok(Err(e)) => Err(EngineError::Unreachable {
                host: shown,
                reason: e.to_string(),
            }),
            Err(_) => Err(EngineError::Unreachable {
                host: shown,
                reason: "no answer within 5 s".into(),
            }),
        }
    }

    /// The bollard client, for the image builder.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Whether an image with this reference exists locally.
    pub async fn image_exists(&self, reference: &str) -> Result<bool, EngineError> {
        match self.docker.inspect_image(reference).await {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(EngineError::call("inspecting image", reference)(e)),
        }
    }

    /// Creates a bridge network with labels.
    pub async fn create_network(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        self.docker
            .create_network(NetworkCreateRequest {
                name: name.into(),
                driver: Some("bridge".into()),
                labels: Some(labels),
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(EngineError::call("creating network", name))
    }

    /// Creates a named volume with labels.
    pub async fn create_volume(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        self.docker
            .create_volume(VolumeCreateRequest {
                name: Some(name.into()),
                labels: Some(labels),
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(EngineError::call("creating volume", name))
    }

    /// Creates (but does not start) a container.
    pub async fn create_container(&self, cfg: &ContainerConfig) -> Result<(), EngineError> {
        let port_bindings = cfg
            .publish
            .iter()
            .map(|(container, host)| {
                (
                    format!("{container}/tcp"),
                    Some(vec![PortBinding {
                        host_ip: Some("127.0.0.1".into()),
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
            .map_err(EngineError::call("creating container", &cfg.name))
    }

    /// Copies files into a container (works before it starts). Each entry is
    /// (absolute path, contents, mode).
    pub async fn upload_files(
        &self,
        container: &str,
        files: &[(String, Vec<u8>, u32)],
    ) -> Result<(), EngineError> {
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
                .map_err(|e| EngineError::Call {
                    operation: "packing files for",
                    target: container.into(),
                    source: bollard::errors::Error::IOError { err: e },
                })?;
        }
        let tarball = builder.into_inner().map_err(|e| EngineError::Call {
            operation: "packing files for",
            target: container.into(),
            source: bollard::errors::Error::IOError { err: e },
        })?;
        self.docker
            .upload_to_container(
                container,
                Some(UploadToContainerOptionsBuilder::new().path("/").build()),
                bollard::body_full(tarball.into()),
            )
            .await
            .map_err(EngineError::call("uploading files to container", container))
    }

    /// Starts a created or stopped container.
    pub async fn start(&self, container: &str) -> Result<(), EngineError> {
        self.docker
            .start_container(container, None)
            .await
            .map_err(EngineError::call("starting container", container))
    }

    /// Sends SIGKILL (a power cut, not a shutdown).
    pub async fn kill(&self, container: &str) -> Result<(), EngineError> {
        self.docker
            .kill_container(
                container,
                Some(KillContainerOptionsBuilder::new().signal("SIGKILL").build()),
            )
            .await
            .map_err(EngineError::state_change("killing container", container))
    }

    /// Freezes every process of a container.
    pub async fn pause(&self, container: &str) -> Result<(), EngineError> {
        self.docker
            .pause_container(container)
            .await
            .map_err(EngineError::call("pausing container", container))
    }

    /// Thaws a paused container.
    pub async fn unpause(&self, container: &str) -> Result<(), EngineError> {
        self.docker
            .unpause_container(container)
            .await
            .map_err(EngineError::state_change("unpausing container", container))
    }

    /// Full details of one container.
    pub async fn inspect(&self, container: &str) -> Result<ContainerInspectResponse, EngineError> {
        self.docker
            .inspect_container(container, None)
            .await
            .map_err(EngineError::call("inspecting container", container))
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
    ) -> Result<(i64, String), EngineError> {
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
            .map_err(EngineError::call("starting a command in", container))?;
        let mut output = String::new();
        if let StartExecResults::Attached {
            output: mut stream, ..
        } = self
            .docker
            .start_exec(&created.id, None)
            .await
            .map_err(EngineError::call("running a command in", container))?
        {
            while let Some(Ok(chunk)) = stream.next().await {
                output.push_str(&chunk.to_string());
            }
        }
        let code = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(EngineError::call("inspecting a command in", container))?
            .exit_code
            .unwrap_or(-1);
        Ok((code, output))
    }

    /// Removes a container (running or not) and its anonymous volumes.
    pub async fn remove_container(&self, container: &str) -> Result<(), EngineError> {
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
        already_gone_is_done(removed).map_err(EngineError::call("removing container", container))
    }

    /// Removes a named volume (its data is gone).
    pub async fn remove_volume(&self, volume: &str) -> Result<(), EngineError> {
        let removed = self
            .docker
            .remove_volume(
                volume,
                Some(RemoveVolumeOptionsBuilder::new().force(true).build()),
            )
            .await;
        already_gone_is_done(removed).map_err(EngineError::call("removing volume", volume))
    }

    /// A running container's address on a network.
    pub async fn ip_address(&self, container: &str, network: &str) -> Result<String, EngineError> {
        let inspect = self.inspect(container).await?;
        inspect
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|mut nets| nets.remove(network))
            .and_then(|e| e.ip_address)
            .filter(|ip| !ip.is_empty())
            .ok_or_else(|| EngineError::NotFound {
                operation: "finding the address on the stack's network of",
                target: container.to_string(),
            })
    }

    /// Containers (running or not) whose labels match every `key=value`
    /// filter (or bare `key`, for "has this label").
    pub async fn containers(
        &self,
        labels: &[String],
    ) -> Result<Vec<ContainerSummary>, EngineError> {
        let filters = HashMap::from([("label".to_string(), labels.to_vec())]);
        self.docker
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(EngineError::call("listing containers", labels.join(",")))
    }

    /// Removes containers, networks and volumes carrying the run label
    /// `faultline.run=<run>` (or every run's, when `run` is `None`). Returns
    /// how many objects were removed.
    pub async fn remove_labelled(&self, run: Option<&str>) -> Result<usize, EngineError> {
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
            .map_err(EngineError::call("listing networks", &label))?;
        for n in networks {
            let Some(name) = n.name else { continue };
            already_gone_is_done(self.docker.remove_network(&name).await)
                .map_err(EngineError::call("removing network", &name))?;
            removed += 1;
        }
        let volumes = self
            .docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(EngineError::call("listing volumes", &label))?;
        for v in volumes.volumes.unwrap_or_default() {
            self.remove_volume(&v.name).await?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Every run id that has a container, network or volume on this engine,
    /// with the owner label of its objects.
    pub async fn runs(&self) -> Result<Vec<(String, String)>, EngineError> {
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
            .map_err(EngineError::call("listing networks", LABEL_RUN))?;
        for n in &networks {
            add(n.labels.as_ref());
        }
        let volumes = self
            .docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(EngineError::call("listing volumes", LABEL_RUN))?;
        for v in volumes.volumes.unwrap_or_default() {
            add(Some(&v.labels));
        }
        Ok(runs)
    }
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
