//! A stack faultline did not create (a Compose project), as its stack file
//! describes it: its running containers as the nodes faults may act on
//! (nothing outside the project, ever), the inventory its scenarios are
//! validated against, bringing it up and down with the real Compose tool
//! when the stack file names a compose file, its write check (`check`) and
//! a run against it (`run`).

pub mod check;
pub mod run;
pub mod undo;

pub use check::{present, WriteCheckError};

use std::path::Path;
use std::time::Duration;

use faultline_core::faults::target::{Inventory, InventoryNode};
use faultline_core::stack_file::{Place, StackFile};

use crate::error::{Error, InputError};
use crate::platform::docker::{compose, Engine};
use crate::platform::{Node, Platform};
use crate::source::Source;
use crate::stack::Stack;

/// The engine a platform runs on (the Compose tool's containers live on a
/// Docker engine).
pub fn engine(platform: &Platform) -> &Engine {
    match platform {
        Platform::Docker(e) => e,
    }
}

/// The stack's running containers as a [`Stack`] faults may act on, and
/// the inventory scenarios are checked against. A project with no running
/// container, or a stack file naming a service the project does not have,
/// is bad input (exit 2) that lists what is there.
pub async fn attach(
    platform: &Platform,
    file: &StackFile,
    src: &Source,
) -> Result<(Stack, Inventory), Error> {
    let Place::Compose { project, .. } = &file.place;
    let engine = engine(platform);
    let nodes = compose::nodes(engine, project, &file.zones).await?;
    if nodes.is_empty() {
        let running = compose::projects(engine).await?;
        return Err(InputError::Usage(format!(
            "{}: no running container belongs to the Compose project {project:?}; running projects: {}",
            file.path.display(),
            if running.is_empty() {
                "none".to_string()
            } else {
                running.join(", ")
            }
        ))
        .into());
    }
    let mut services: Vec<String> = nodes.iter().map(|n| n.service.clone()).collect();
    services.sort();
    services.dedup();
    StackFile::check_services(src, &services)?;
    let inventory = inventory(&nodes);
    Ok((Stack::user(platform, project, nodes), inventory))
}

/// What a scenario may name on these nodes: their names, services and
/// zones (no roles: those are faultline's own stack's).
pub fn inventory(nodes: &[Node]) -> Inventory {
    let mut zones: Vec<String> = nodes
        .iter()
        .filter(|n| !n.zone.is_empty())
        .map(|n| n.zone.clone())
        .collect();
    zones.sort();
    zones.dedup();
    Inventory {
        zones,
        nodes: nodes
            .iter()
            .map(|n| InventoryNode {
                name: n.name.clone(),
                service: n.service.clone(),
                role: None,
                zone: n.zone.clone(),
            })
            .collect(),
        reference: None,
    }
}

/// The Compose tool on this machine: `docker compose` (v2) or
/// `docker-compose` (v1), whichever answers `version`.
async fn compose_tool() -> Result<Vec<&'static str>, Error> {
    for tool in [vec!["docker", "compose"], vec!["docker-compose"]] {
        let ok = tokio::process::Command::new(tool[0])
            .args(&tool[1..])
            .arg("version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(tool);
        }
    }
    Err(Error::Environment(
        "the stack file names a compose file, but neither `docker compose` nor `docker-compose` runs here".into(),
    ))
}

/// Runs the Compose tool on `file` as project `project` with `args`.
async fn compose(file: &Path, project: &str, args: &[&str]) -> Result<(), Error> {
    let tool = compose_tool().await?;
    let out = tokio::process::Command::new(tool[0])
        .args(&tool[1..])
        .arg("-f")
        .arg(file)
        .args(["-p", project])
        .args(args)
        .output()
        .await
        .map_err(|e| Error::Environment(format!("running {}: {e}", tool.join(" "))))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
    Err(Error::Environment(format!(
        "`{} -f {} -p {project} {}` failed: {}",
        tool.join(" "),
        file.display(),
        args.join(" "),
        tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
    )))
}

/// Brings the stack up with the Compose tool when its stack file names a
/// compose file, then waits (up to `within`) for its entry and health
/// endpoints to answer. Returns whether it brought it up (and so must take
/// it down): a project already running is left as it is.
pub async fn up(engine: &Engine, file: &StackFile, within: Duration) -> Result<bool, Error> {
    let Place::Compose {
        project,
        file: Some(compose_file),
    } = &file.place
    else {
        return Ok(false);
    };
    // A project already running is the user's: used as it is, and left
    // running afterwards.
    if !compose::services(engine, project).await?.is_empty() {
        return Ok(false);
    }
    compose(compose_file, project, &["up", "-d"]).await?;
    if let Err(e) = wait_serving(file, within).await {
        // Brought up here, so taken down here: a run that cannot start
        // leaves nothing running it started.
        let _ = down(file).await;
        return Err(e);
    }
    Ok(true)
}

/// Takes down a stack [`up`] brought up. Its volumes are kept: they may
/// hold data from before faultline.
pub async fn down(file: &StackFile) -> Result<(), Error> {
    let Place::Compose {
        project,
        file: Some(compose_file),
    } = &file.place
    else {
        return Ok(());
    };
    compose(compose_file, project, &["down"]).await
}

/// Waits until the entry URL answers below 500 and every health endpoint
/// answers 2xx, for at most `within`.
pub async fn wait_serving(file: &StackFile, within: Duration) -> Result<(), Error> {
    let client = crate::stack::ready::probe_client();
    let result = crate::poll::until(crate::poll::EVERY, within, || {
        let client = client.clone();
        async move {
            let entry = client.get(format!("{}/", file.entry)).send().await;
            if !entry.is_ok_and(|r| !r.status().is_server_error()) {
                return crate::poll::Attempt::NotYet(format!("{} to answer", file.entry));
            }
            for h in &file.health {
                let ok = client
                    .get(h.url.as_str())
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if !ok {
                    return crate::poll::Attempt::NotYet(format!("{} to answer 2xx", h.url));
                }
            }
            crate::poll::Attempt::Done(())
        }
    })
    .await;
    result.map_err(|t| {
        Error::Environment(format!(
            "the stack was not serving within {} s: still waiting for {}",
            t.waited.as_secs(),
            t.last
        ))
    })
}
