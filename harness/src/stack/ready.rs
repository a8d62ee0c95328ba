//! Real readiness, and the small probes it is made of. A stack is ready
//! when Patroni has a leader and a streaming replica, every service answers
//! `/ready`, the ingress routes, and an order written through the ingress
//! reaches analytics through the broker (which proves the broker accepts a
//! produce and the consumer group is consuming).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::topology::{HTTP_PORT, PATRONI_PORT};
use super::{Service, Stack, StackError};
use crate::poll::{self, Attempt};

/// What `GET /patroni` says about one node.
#[derive(Debug, Clone, PartialEq)]
pub struct PatroniNode {
    /// `primary` (Patroni 3.0 says `master`), `replica`, `standby_leader`…
    pub role: String,
    /// `running`, `starting`, `stopped`…
    pub state: String,
    /// On a leader: application names of replicas whose state is
    /// `streaming`. A `pg_basebackup` in progress also streams WAL, under
    /// its own name; it is not a replica yet and is left out.
    pub streaming: Vec<String>,
    /// The node's timeline.
    pub timeline: Option<i64>,
}

impl PatroniNode {
    /// Whether this node is the running leader.
    pub fn is_leader(&self) -> bool {
        matches!(self.role.as_str(), "master" | "primary") && self.state == "running"
    }

    /// Parses the body of `GET /patroni`.
    pub fn from_json(v: &Value) -> PatroniNode {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let streaming = v
            .get("replication")
            .and_then(Value::as_array)
            .map(|reps| {
                reps.iter()
                    .filter(|r| r.get("state").and_then(Value::as_str) == Some("streaming"))
                    .filter_map(|r| r.get("application_name").and_then(Value::as_str))
                    .filter(|name| *name != "pg_basebackup")
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        PatroniNode {
            role: s("role"),
            state: s("state"),
            streaming,
            timeline: v.get("timeline").and_then(Value::as_i64),
        }
    }
}

/// An HTTP client for probes: short timeouts, no retries, no pooling
/// surprises across restarts.
pub fn probe_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .connect_timeout(Duration::from_millis(500))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap_or_default()
}

/// `GET /patroni` of a node, if it answers.
pub async fn patroni(client: &reqwest::Client, addr: &str) -> Option<PatroniNode> {
    let v: Value = client
        .get(format!("http://{addr}/patroni"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    Some(PatroniNode::from_json(&v))
}

/// Status code of `GET url`, if anything answered.
pub async fn http_status(client: &reqwest::Client, url: &str) -> Option<u16> {
    client
        .get(url)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// The Patroni leader's logical name and state of every node.
pub async fn patroni_cluster(stack: &Stack) -> Vec<(String, Option<PatroniNode>)> {
    let client = probe_client();
    let mut out = Vec::new();
    for n in stack.nodes_of(Service::Postgres) {
        let state = match n.addr(PATRONI_PORT) {
            Some(a) => patroni(&client, &a).await,
            None => None,
        };
        out.push((n.name.clone(), state));
    }
    out
}

/// The current leader's logical name, found through Patroni.
pub async fn leader(stack: &Stack) -> Option<String> {
    patroni_cluster(stack)
        .await
        .into_iter()
        .find(|(_, s)| s.as_ref().is_some_and(PatroniNode::is_leader))
        .map(|(n, _)| n)
}

/// The leader changes Patroni recorded (`GET /history` on the leader):
/// when each promotion happened, ms since the epoch, and the node promoted.
/// Entries without a time or a name are left out.
pub async fn leader_history(stack: &Stack) -> Option<Vec<(u64, String)>> {
    let leader = leader(stack).await?;
    let addr = stack.node(&leader)?.addr(PATRONI_PORT)?;
    let v: Value = probe_client()
        .get(format!("http://{addr}/history"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    Some(parse_history(&v))
}

/// Parses Patroni's history: `[timeline, lsn, reason, timestamp, new_leader]`.
pub fn parse_history(v: &Value) -> Vec<(u64, String)> {
    v.as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| {
                    let at = e.get(3)?.as_str()?;
                    let node = e.get(4)?.as_str()?;
                    let at = humantime::parse_rfc3339_weak(
                        at.split('+').next().unwrap_or(at).trim_end_matches('Z'),
                    )
                    .ok()?;
                    // Patroni writes local time with an offset; its containers run in UTC.
                    let ms = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as u64;
                    Some((ms, node.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn pending_checks(stack: &Stack, client: &reqwest::Client) -> Vec<String> {
    let mut pending = Vec::new();
    let cluster = patroni_cluster(stack).await;
    match cluster
        .iter()
        .find(|(_, s)| s.as_ref().is_some_and(PatroniNode::is_leader))
    {
        None => pending.push("a Patroni leader".to_string()),
        Some((name, Some(state))) if state.streaming.is_empty() => {
            pending.push(format!("a replica streaming from {name}"))
        }
        Some((name, _)) => {
            if base_backups(stack, name).await.unwrap_or(0) == 0 {
                pending.push("a base backup in the backup region".to_string());
            }
        }
    }
    for n in &stack.nodes {
        if !matches!(
            n.reference,
            Some(
                Service::Gateway
                    | Service::Orders
                    | Service::Analytics
                    | Service::Ingress
                    | Service::LagExporter
            )
        ) {
            continue;
        }
        let Some(addr) = n.addr(HTTP_PORT) else {
            continue;
        };
        if http_status(client, &format!("http://{addr}/ready")).await != Some(200) {
            pending.push(format!("{} /ready", n.name));
        }
    }
    pending
}

/// How many base backups the backup region holds, asked of pgBackRest on
/// `node` (`None`: it could not be asked).
pub async fn base_backups(stack: &Stack, node: &str) -> Option<usize> {
    let n = stack.node(node)?;
    let cmd = [
        "pgbackrest",
        "--stanza",
        super::configs::STANZA,
        "info",
        "--output=json",
    ];
    let (code, out) = stack
        .platform()
        .exec(&n.container, "postgres", &cmd)
        .await
        .ok()?;
    if code != 0 {
        return None;
    }
    let v: Value = serde_json::from_str(out.trim()).ok()?;
    Some(v.get(0)?.get("backup")?.as_array()?.len())
}

/// Writes one order through the ingress and waits until analytics has its
/// event. Returns what is still missing, if anything.
async fn pipeline_check(
    stack: &Stack,
    client: &reqwest::Client,
    order: uuid::Uuid,
) -> Option<String> {
    let ingress = stack.ingress_url()?;
    let body =
        serde_json::json!({"id": order, "customer": "faultline-readiness", "amount_cents": 0});
    let created = client
        .post(format!("{ingress}/orders"))
        .json(&body)
        .send()
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false);
    if !created {
        return Some("an order written through the ingress".into());
    }
    for n in stack.nodes_of(Service::Analytics) {
        if let Some(addr) = n.addr(HTTP_PORT) {
            if http_status(client, &format!("http://{addr}/events/{order}")).await == Some(200) {
                return None;
            }
        }
    }
    Some("the readiness order's event in analytics (broker produce + consumer group)".into())
}

/// Waits until the stack is ready or `timeout` passes.
pub async fn wait_ready(stack: &Stack, timeout: Duration) -> Result<Duration, StackError> {
    let started = Instant::now();
    let client = probe_client();
    let order = uuid::Uuid::new_v4();
    poll::until(poll::EVERY, timeout, || async {
        let mut pending = pending_checks(stack, &client).await;
        if pending.is_empty() {
            if let Some(p) = pipeline_check(stack, &client, order).await {
                pending.push(p);
            }
        }
        if pending.is_empty() {
            Attempt::Done(started.elapsed())
        } else {
            Attempt::NotYet(pending)
        }
    })
    .await
    .map_err(|t| StackError::NotReady {
        waited: t.waited,
        pending: t.last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_leader_with_a_streaming_replica() {
        let v = serde_json::json!({
            "state": "running", "role": "master", "timeline": 2,
            "replication": [
                {"application_name": "pg-b", "state": "streaming"},
                {"application_name": "pg-c", "state": "catchup"},
                {"application_name": "pg_basebackup", "state": "streaming"}
            ]
        });
        let n = PatroniNode::from_json(&v);
        assert!(n.is_leader());
        assert_eq!(n.streaming, ["pg-b"]);
        assert_eq!(n.timeline, Some(2));
    }

    #[test]
    fn reads_patronis_history_of_promotions() {
        let v = serde_json::json!([
            [
                1,
                25623960,
                "no recovery target specified",
                "2026-12-02T13:00:05.123456+00:00",
                "pg-b"
            ],
            [
                2,
                25624100,
                "no recovery target specified",
                "2026-12-02T13:01:00+00:00"
            ],
        ]);
        let h = parse_history(&v);
        assert_eq!(h.len(), 1, "an entry without a new leader is left out");
        assert_eq!(h[0].1, "pg-b");
        let t = humantime::parse_rfc3339("2026-12-02T13:00:05.123Z").unwrap();
        let ms = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
        assert_eq!(h[0].0, ms);
    }

    #[test]
    fn a_replica_or_a_stopped_primary_is_not_leader() {
        let r = PatroniNode::from_json(&serde_json::json!({"state": "running", "role": "replica"}));
        assert!(!r.is_leader());
        let p = PatroniNode::from_json(&serde_json::json!({"state": "stopped", "role": "primary"}));
        assert!(!p.is_leader());
        let new =
            PatroniNode::from_json(&serde_json::json!({"state": "running", "role": "primary"}));
        assert!(new.is_leader(), "Patroni ≥ 3 says primary");
    }
}
