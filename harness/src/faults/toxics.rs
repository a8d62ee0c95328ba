//! A small client of the fault proxies' Toxiproxy API, and the shared code
//! of the hop faults (latency, bandwidth, blackhole, reset): resolve the hop
//! to its proxies, add one toxic per proxy and direction, and return the
//! revert that removes them.

use std::time::Duration;

use serde_json::{json, Value};

use super::spec::Direction;
use super::{FaultContext, FaultError, Revert};
use crate::stack::topology::{self, PROXY_API_PORT};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default()
}

/// Adds a toxic to `proxy` through the API at `api` (`127.0.0.1:port`).
pub async fn add(api: &str, proxy: &str, toxic: &Value) -> Result<(), FaultError> {
    let fail = |reason: String| FaultError::Proxy {
        proxy: format!("{api} ({proxy})"),
        reason,
    };
    let r = client()
        .post(format!("http://{api}/proxies/{proxy}/toxics"))
        .json(toxic)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if r.status().is_success() {
        Ok(())
    } else {
        let status = r.status();
        Err(fail(format!(
            "{status}: {}",
            r.text().await.unwrap_or_default()
        )))
    }
}

/// Removes a toxic; one already gone is fine.
pub async fn remove(api: &str, proxy: &str, name: &str) -> Result<(), FaultError> {
    let r = client()
        .delete(format!("http://{api}/proxies/{proxy}/toxics/{name}"))
        .send()
        .await
        .map_err(|e| FaultError::Proxy {
            proxy: format!("{api} ({proxy})"),
            reason: e.to_string(),
        })?;
    if r.status().is_success() || r.status().as_u16() == 404 {
        Ok(())
    } else {
        Err(FaultError::Proxy {
            proxy: format!("{api} ({proxy})"),
            reason: r.status().to_string(),
        })
    }
}

/// Removes every toxic of every proxy behind `api`.
pub async fn reset(api: &str) -> Result<(), FaultError> {
    client()
        .post(format!("http://{api}/reset"))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| FaultError::Proxy {
            proxy: api.to_string(),
            reason: e.to_string(),
        })
}

/// The toxics of every proxy behind `api`, by proxy.
pub async fn list(api: &str) -> Result<Vec<(String, Vec<Value>)>, FaultError> {
    let v: Value = client()
        .get(format!("http://{api}/proxies"))
        .send()
        .await
        .map_err(|e| FaultError::Proxy {
            proxy: api.to_string(),
            reason: e.to_string(),
        })?
        .json()
        .await
        .map_err(|e| FaultError::Proxy {
            proxy: api.to_string(),
            reason: e.to_string(),
        })?;
    Ok(v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, p)| {
                    (
                        k.clone(),
                        p["toxics"].as_array().cloned().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Adds a toxic of `type_name` with `attributes` on every proxy of `hop`,
/// in the directions asked; returns the targets and the revert.
pub async fn on_hop(
    ctx: &FaultContext,
    id: usize,
    hop: &str,
    type_name: &str,
    attributes: Value,
    direction: Direction,
) -> Result<(Vec<String>, Revert), FaultError> {
    let zones = ctx.stack.zones();
    let route = topology::hop(hop, &zones).ok_or_else(|| FaultError::UnknownHop {
        hop: hop.to_string(),
        known: topology::hop_names(&zones).join(", "),
    })?;
    let api = ctx
        .stack
        .node(&route.node)
        .and_then(|n| n.addr(PROXY_API_PORT))
        .ok_or_else(|| FaultError::Proxy {
            proxy: route.node.clone(),
            reason: "the stack has no such proxy node".into(),
        })?;
    let streams: &[&str] = match direction {
        Direction::Upstream => &["upstream"],
        Direction::Downstream => &["downstream"],
        Direction::Both => &["upstream", "downstream"],
    };
    let mut added: Vec<(String, String, String)> = Vec::new();
    for proxy in &route.proxies {
        for stream in streams {
            let name = format!("fl-{id}-{stream}");
            let toxic = json!({"name": name, "type": type_name, "stream": stream, "attributes": attributes});
            if let Err(e) = add(&api, proxy, &toxic).await {
                // Leave nothing half-done.
                for (api, proxy, name) in &added {
                    let _ = remove(api, proxy, name).await;
                }
                return Err(e);
            }
            added.push((api.clone(), proxy.clone(), name));
        }
    }
    Ok((vec![hop.to_string()], Revert::Toxics(added)))
}
