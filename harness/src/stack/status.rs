//! `faultline status`: one row per container with its zone, role, engine
//! state and a real health probe.

use std::time::Duration;

use tabled::{Table, Tabled};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ready::{patroni, probe_client};
use super::topology::{
    ETCD_PORT, HTTP_PORT, KAFKA_PORT, PATRONI_PORT, PG_PORT, PROXY_API_PORT, REDIS_PORT, STATS_PORT,
};
use super::{Node, Service, Stack, StackError};

/// One row of `faultline status`.
#[derive(Debug, Clone, PartialEq, Eq, Tabled)]
pub struct NodeStatus {
    /// Logical name.
    #[tabled(rename = "NAME")]
    pub name: String,
    /// Service.
    #[tabled(rename = "SERVICE")]
    pub service: String,
    /// Zone.
    #[tabled(rename = "ZONE")]
    pub zone: String,
    /// Role label.
    #[tabled(rename = "ROLE")]
    pub role: String,
    /// Engine state (`running`, `paused`, `exited`…).
    #[tabled(rename = "STATE")]
    pub state: String,
    /// What the health probe found.
    #[tabled(rename = "HEALTH")]
    pub health: String,
    /// Where it is reachable from this machine.
    #[tabled(rename = "ENDPOINT")]
    pub endpoint: String,
}

/// Whether a row reads as healthy.
pub fn is_healthy(row: &NodeStatus) -> bool {
    row.state == "running"
        && !row.health.starts_with("unreachable")
        && !row.health.starts_with("degraded")
        && !row.health.starts_with("unhealthy")
}

/// Renders rows as a table.
pub fn render(rows: &[NodeStatus]) -> String {
    Table::new(rows)
        .with(tabled::settings::Style::rounded())
        .to_string()
}

/// Probes every container of the stack.
pub async fn collect(stack: &Stack) -> Result<Vec<NodeStatus>, StackError> {
    let probes = stack.nodes.iter().map(|n| row(stack, n));
    let rows = futures_util::future::join_all(probes).await;
    rows.into_iter().collect()
}

async fn row(stack: &Stack, n: &Node) -> Result<NodeStatus, StackError> {
    let state = stack.platform().state(&n.container).await?.status;
    let health = if state == "running" {
        health(n).await
    } else {
        "-".into()
    };
    let endpoint_port = match n.reference {
        Some(Service::Postgres | Service::DbRouter) => PG_PORT,
        Some(Service::Etcd) => ETCD_PORT,
        Some(Service::Redis) => REDIS_PORT,
        Some(Service::Broker) => KAFKA_PORT,
        Some(Service::Proxy) => PROXY_API_PORT,
        _ => HTTP_PORT,
    };
    Ok(NodeStatus {
        name: n.name.clone(),
        service: n.service.clone(),
        zone: n.zone.clone(),
        role: n.role().unwrap_or("-").into(),
        state,
        health,
        endpoint: n.addr(endpoint_port).unwrap_or_default(),
    })
}

async fn tcp_exchange(addr: &str, send: &[u8]) -> Option<Vec<u8>> {
    let io = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        if send.is_empty() {
            return Some(Vec::new());
        }
        s.write_all(send).await.ok()?;
        let mut buf = vec![0u8; 64];
        let n = s.read(&mut buf).await.ok()?;
        buf.truncate(n);
        Some(buf)
    };
    tokio::time::timeout(Duration::from_secs(1), io)
        .await
        .ok()
        .flatten()
}

async fn health(n: &Node) -> String {
    let client = probe_client();
    let Some(service) = n.reference else {
        return "-".into();
    };
    match service {
        Service::Postgres => {
            let Some(addr) = n.addr(PATRONI_PORT) else {
                return "unreachable".into();
            };
            match patroni(&client, &addr).await {
                Some(p) if p.is_leader() && p.streaming.is_empty() => {
                    "leader (no replica streaming)".into()
                }
                Some(p) if p.is_leader() => {
                    format!("leader, streaming to {}", p.streaming.join(","))
                }
                Some(p) if p.state == "running" => p.role,
                Some(p) => format!("unhealthy: {} {}", p.role, p.state),
                None => "unreachable".into(),
            }
        }
        Service::Etcd => {
            let Some(addr) = n.addr(ETCD_PORT) else {
                return "unreachable".into();
            };
            let body = match client.get(format!("http://{addr}/health")).send().await {
                Ok(r) => r.json::<serde_json::Value>().await.ok(),
                Err(_) => None,
            };
            match body {
                Some(v) if v["health"] == "true" => "healthy".into(),
                Some(_) => "unhealthy".into(),
                None => "unreachable".into(),
            }
        }
        Service::DbRouter => {
            let Some(addr) = n.addr(STATS_PORT) else {
                return "unreachable".into();
            };
            let csv = match client.get(format!("http://{addr}/stats;csv")).send().await {
                Ok(r) => r.text().await.ok(),
                Err(_) => None,
            };
            match csv {
                Some(csv) => {
                    let up: Vec<&str> = csv
                        .lines()
                        .filter_map(|l| {
                            let f: Vec<&str> = l.split(',').collect();
                            (f.len() > 17 && f[0] == "postgres" && f[17] == "UP").then_some(f[1])
                        })
                        .filter(|s| *s != "FRONTEND" && *s != "BACKEND")
                        .collect();
                    if up.is_empty() {
                        "unhealthy: no leader routed".into()
                    } else {
                        format!("routing to {}", up.join(","))
                    }
                }
                None => "unreachable".into(),
            }
        }
        Service::Redis => {
            let Some(addr) = n.addr(REDIS_PORT) else {
                return "unreachable".into();
            };
            match tcp_exchange(&addr, b"PING\r\n").await {
                Some(r) if r.starts_with(b"+PONG") => "healthy".into(),
                Some(_) => "unhealthy".into(),
                None => "unreachable".into(),
            }
        }
        Service::Broker => {
            let Some(addr) = n.addr(KAFKA_PORT) else {
                return "unreachable".into();
            };
            match tcp_exchange(&addr, b"").await {
                Some(_) => "accepting connections".into(),
                None => "unreachable".into(),
            }
        }
        Service::Proxy => {
            let Some(addr) = n.addr(PROXY_API_PORT) else {
                return "unreachable".into();
            };
            let proxies = match client.get(format!("http://{addr}/proxies")).send().await {
                Ok(r) => r.json::<serde_json::Value>().await.ok(),
                Err(_) => None,
            };
            match proxies.as_ref().and_then(|p| p.as_object()) {
                Some(map) => {
                    let toxics: usize = map
                        .values()
                        .map(|p| p["toxics"].as_array().map_or(0, Vec::len))
                        .sum();
                    let enabled = map.values().filter(|p| p["enabled"] == true).count();
                    format!("{enabled}/{} proxies, {toxics} toxics", map.len())
                }
                None => "unreachable".into(),
            }
        }
        Service::Gateway
        | Service::Orders
        | Service::Analytics
        | Service::Ingress
        | Service::LagExporter => {
            let Some(addr) = n.addr(HTTP_PORT) else {
                return "unreachable".into();
            };
            let body = match client.get(format!("http://{addr}/health")).send().await {
                Ok(r) => r.json::<serde_json::Value>().await.ok(),
                Err(_) => None,
            };
            match body {
                Some(v) => {
                    let status = v["status"].as_str().unwrap_or("?").to_string();
                    match v["db"].as_str() {
                        Some("none") | None => status,
                        Some(db) => format!("{status} (db {db})"),
                    }
                }
                None => "unreachable".into(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_table_with_every_column() {
        let rows = vec![NodeStatus {
            name: "pg-a".into(),
            service: "postgres".into(),
            zone: "a".into(),
            role: "db".into(),
            state: "running".into(),
            health: "leader, streaming to pg-b".into(),
            endpoint: "127.0.0.1:5432".into(),
        }];
        let t = render(&rows);
        for h in [
            "NAME", "SERVICE", "ZONE", "ROLE", "STATE", "HEALTH", "ENDPOINT", "pg-a",
        ] {
            assert!(t.contains(h), "{h} missing from\n{t}");
        }
        assert!(is_healthy(&rows[0]));
    }
}
