//! Compose projects faultline did not create, found by the labels the
//! Compose tool puts on every container it starts. Read only: nothing here
//! changes a container.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};

use faultline_core::stack_file::starter::FoundService;
use faultline_core::stack_file::Zones;

use super::Engine;
use crate::platform::{Node, PlatformError};

/// The Compose tool's label naming a container's project.
pub const LABEL_PROJECT: &str = "com.docker.compose.project";
/// The Compose tool's label naming a container's service.
pub const LABEL_SERVICE: &str = "com.docker.compose.service";
/// The Compose tool's label numbering a service's containers from 1.
pub const LABEL_NUMBER: &str = "com.docker.compose.container-number";

fn is_running(c: &ContainerSummary) -> bool {
    c.state == Some(ContainerSummaryStateEnum::RUNNING)
}

/// The services of Compose project `project`, from its running containers,
/// sorted by name (one entry per service, from its first container).
pub async fn services(engine: &Engine, project: &str) -> Result<Vec<FoundService>, PlatformError> {
    let mut by_name: BTreeMap<String, FoundService> = BTreeMap::new();
    let filter = format!("{LABEL_PROJECT}={project}");
    for c in engine.containers(&[filter]).await? {
        let running = is_running(&c);
        let labels = c.labels.unwrap_or_default();
        let Some(name) = labels.get(LABEL_SERVICE).cloned() else {
            continue;
        };
        if !running || by_name.contains_key(&name) {
            continue;
        }
        let mut published: Vec<(String, u16, u16)> = c
            .ports
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| Some((p.ip.unwrap_or_default(), p.public_port?, p.private_port)))
            .collect();
        // Docker lists a port once per address family; keep one.
        published.sort();
        published.dedup_by_key(|p| (p.1, p.2));
        by_name.insert(
            name.clone(),
            FoundService {
                name,
                image: c.image.unwrap_or_default(),
                labels: labels
                    .into_iter()
                    .filter(|(k, _)| !k.starts_with("com.docker.compose."))
                    .collect(),
                published,
            },
        );
    }
    Ok(by_name.into_values().collect())
}

/// The running containers of Compose project `project` as nodes a fault can
/// act on, sorted by name: each named `<service>-<number>` (the Compose
/// tool's container number, the same in every Compose version), its zone
/// told as `zones` says (empty when it has none). Nothing outside the
/// project is ever listed.
pub async fn nodes(
    engine: &Engine,
    project: &str,
    zones: &Zones,
) -> Result<Vec<Node>, PlatformError> {
    let filter = format!("{LABEL_PROJECT}={project}");
    let mut nodes = Vec::new();
    for c in engine.containers(&[filter]).await? {
        if !is_running(&c) {
            continue;
        }
        let labels = c.labels.clone().unwrap_or_default();
        // Checked again: the label filter is the engine's, and nothing
        // outside the project may ever be a target.
        if labels.get(LABEL_PROJECT).map(String::as_str) != Some(project) {
            continue;
        }
        let Some(service) = labels.get(LABEL_SERVICE).cloned() else {
            continue;
        };
        let number = labels
            .get(LABEL_NUMBER)
            .cloned()
            .unwrap_or_else(|| "1".into());
        let Some(container) = c
            .names
            .as_ref()
            .and_then(|n| n.first())
            .map(|n| n.trim_start_matches('/').to_string())
        else {
            continue;
        };
        let zone = match zones {
            Zones::None => String::new(),
            Zones::Label(key) => labels.get(key).cloned().unwrap_or_default(),
            Zones::Map(map) => map.get(&service).cloned().unwrap_or_default(),
        };
        let ports: HashMap<u16, u16> = c
            .ports
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| Some((p.private_port, p.public_port?)))
            .collect();
        nodes.push(Node {
            name: format!("{service}-{number}"),
            container,
            service,
            reference: None,
            zone,
            host: engine.published.reach.clone(),
            ports,
        });
    }
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(nodes)
}

/// The Compose projects with running containers on the engine, sorted.
pub async fn projects(engine: &Engine) -> Result<Vec<String>, PlatformError> {
    let mut names: Vec<String> = engine
        .containers(&[LABEL_PROJECT.to_string()])
        .await?
        .into_iter()
        .filter_map(|c| c.labels?.get(LABEL_PROJECT).cloned())
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// The running containers of service `service` of Compose project
/// `project`, by name, sorted.
pub async fn service_containers(
    engine: &Engine,
    project: &str,
    service: &str,
) -> Result<Vec<String>, PlatformError> {
    let mut names: Vec<String> = engine
        .containers(&[
            format!("{LABEL_PROJECT}={project}"),
            format!("{LABEL_SERVICE}={service}"),
        ])
        .await?
        .into_iter()
        .filter(is_running)
        .filter_map(|c| {
            c.names?
                .first()
                .map(|n| n.trim_start_matches('/').to_string())
        })
        .collect();
    names.sort();
    Ok(names)
}
