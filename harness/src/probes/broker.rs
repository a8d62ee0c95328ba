//! What the broker says, through the stack's lag exporter (the exporter
//! talks Kafka to the broker directly; the harness reaches it over its
//! published HTTP port, as a monitoring system would): the analytics
//! group's committed offsets against the topic's end offsets, per
//! partition, and every message of the topic.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use uuid::Uuid;

use crate::measure::events::{MemberView, PartitionFact, Position};
use crate::stack::topology::{ANALYTICS_GROUP, HTTP_PORT, LAG_EXPORTER, ORDERS_TOPIC};
use crate::stack::{ready, Service, Stack};

/// A failure to read the broker's side.
#[derive(Debug, thiserror::Error)]
pub enum BrokerReadError {
    /// The stack has no lag exporter (a stack started by an older faultline).
    #[error("the stack has no lag exporter to read the broker through")]
    NoExporter,
    /// The exporter did not answer, or answered with an error.
    #[error("the lag exporter could not read {what}: {reason}")]
    Read {
        /// What was asked.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
}

/// The analytics group on the orders topic, as the broker sees it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GroupLag {
    /// Sum of the partitions' lag.
    pub total_lag: i64,
    /// Per partition.
    pub partitions: Vec<PartitionFact>,
    /// The coordinator's state of the group, if it could describe it.
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Deserialize)]
struct TopicMessage {
    key: Option<String>,
    partition: i32,
    offset: i64,
}

fn exporter(stack: &Stack) -> Result<String, BrokerReadError> {
    stack
        .node(LAG_EXPORTER)
        .and_then(|n| n.addr(HTTP_PORT))
        .map(|a| format!("http://{a}"))
        .ok_or(BrokerReadError::NoExporter)
}

async fn get(url: &str, what: &'static str, timeout: Duration) -> Result<String, BrokerReadError> {
    let fail = |reason: String| BrokerReadError::Read { what, reason };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let status = resp.status();
    let body = resp.text().await.map_err(|e| fail(e.to_string()))?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(fail(format!("{status}: {}", body.trim())))
    }
}

/// The analytics group's lag on the orders topic, per partition, asked
/// with a `timeout`.
pub async fn group_lag(stack: &Stack, timeout: Duration) -> Result<GroupLag, BrokerReadError> {
    let url = format!(
        "{}/lag?group={ANALYTICS_GROUP}&topic={ORDERS_TOPIC}",
        exporter(stack)?
    );
    let body = get(&url, "the group's offsets", timeout).await?;
    serde_json::from_str(&body).map_err(|e| BrokerReadError::Read {
        what: "the group's offsets",
        reason: e.to_string(),
    })
}

/// Where every order's messages sit in the orders topic (keyed by order
/// id), read from the earliest offset.
pub async fn topic_index(stack: &Stack) -> Result<HashMap<Uuid, Vec<Position>>, BrokerReadError> {
    let url = format!("{}/messages?topic={ORDERS_TOPIC}", exporter(stack)?);
    let body = get(&url, "the topic", Duration::from_secs(60)).await?;
    let mut out: HashMap<Uuid, Vec<Position>> = HashMap::new();
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        let m: TopicMessage = serde_json::from_str(line).map_err(|e| BrokerReadError::Read {
            what: "the topic",
            reason: e.to_string(),
        })?;
        if let Some(id) = m.key.as_deref().and_then(|k| k.parse::<Uuid>().ok()) {
            out.entry(id).or_default().push(Position {
                partition: m.partition,
                offset: m.offset,
            });
        }
    }
    Ok(out)
}

/// What each analytics member says of itself (`/health`'s `consumer`):
/// the partitions it holds and how far it got in each. Members that do
/// not answer are left out.
pub async fn member_views(stack: &Stack) -> Vec<MemberView> {
    let client = ready::probe_client();
    let mut out = Vec::new();
    for n in stack.nodes_of(Service::Analytics) {
        let Some(addr) = n.addr(HTTP_PORT) else {
            continue;
        };
        let body: Option<serde_json::Value> =
            match client.get(format!("http://{addr}/health")).send().await {
                Ok(r) => r.json().await.ok(),
                Err(_) => None,
            };
        let Some(consumer) = body.as_ref().and_then(|b| b.get("consumer")) else {
            continue;
        };
        let partitions = consumer["assignment"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_i64())
                    .map(|p| p as i32)
                    .collect()
            })
            .unwrap_or_default();
        let last_stored = consumer["last_stored"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(p, v)| {
                        Some((
                            p.parse::<i32>().ok()?,
                            (v["offset"].as_i64()?, v["at_unix_ms"].as_i64()?),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(MemberView {
            member: n.name.clone(),
            partitions,
            last_stored,
        });
    }
    out
}
