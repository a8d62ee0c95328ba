//! The broker calls: watermarks, a group's committed offsets and members,
//! and a full read of a topic. librdkafka's calls block, so the handlers
//! run them on tokio's blocking pool.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use serde::Serialize;

use crate::assignment;

/// One partition of a group's view of a topic.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionLag {
    /// The partition.
    pub partition: i32,
    /// The topic's end offset (high watermark): the next offset written.
    pub end_offset: i64,
    /// The group's committed offset (the next it will read), `None` when
    /// the group never committed on this partition.
    pub committed_offset: Option<i64>,
    /// end − committed (the whole partition when nothing is committed).
    pub lag: i64,
    /// The member the group coordinator assigned it to, `None` when no
    /// member holds it (or the coordinator does not say).
    pub assigned_to: Option<String>,
}

/// A member of the group, as the coordinator describes it.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// The coordinator's member id.
    pub member_id: String,
    /// The client's id.
    pub client_id: String,
    /// Where the member connected from.
    pub client_host: String,
    /// Partitions of the topic assigned to it (`None`: the assignment could
    /// not be read).
    pub partitions: Option<Vec<i32>>,
}

/// A group's lag on one topic.
#[derive(Debug, Clone, Serialize)]
pub struct GroupLag {
    /// The group.
    pub group: String,
    /// The topic.
    pub topic: String,
    /// Sum of the partitions' lag.
    pub total_lag: i64,
    /// Per partition, in partition order.
    pub partitions: Vec<PartitionLag>,
    /// The coordinator's state of the group (`Stable`, `PreparingRebalance`,
    /// `Empty`…), `None` when it could not be described.
    pub state: Option<String>,
    /// Its members, `None` when the group could not be described.
    pub members: Option<Vec<Member>>,
    /// Why the group could not be described, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub describe_error: Option<String>,
}

/// One message of a topic.
#[derive(Debug, Clone, Serialize)]
pub struct TopicMessage {
    /// Its key, as text (`None` for a key that is absent or not UTF-8).
    pub key: Option<String>,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Its timestamp (the producer's create time), ms since the epoch.
    pub timestamp_ms: Option<i64>,
}

/// A client of the broker that joins no group.
pub struct Broker {
    brokers: String,
    timeout: Duration,
    metadata: BaseConsumer,
    /// Until when describing groups is not tried again, after the broker
    /// failed to: some brokers (tansu 0.6) cannot, and answer by dropping
    /// the connection — asking every second would churn connections.
    describe_paused_until: std::sync::Mutex<Option<Instant>>,
}

/// How long describing groups is not retried after a failure.
const DESCRIBE_RETRY: Duration = Duration::from_secs(60);

impl Broker {
    /// A client for `brokers`; connects lazily.
    pub fn new(brokers: &str, timeout: Duration) -> Result<Self, KafkaError> {
        let metadata = Self::client(brokers, "faultline-lag-exporter").create()?;
        Ok(Broker {
            brokers: brokers.to_string(),
            timeout,
            metadata,
            describe_paused_until: std::sync::Mutex::new(None),
        })
    }

    fn client(brokers: &str, group: &str) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", brokers)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("reconnect.backoff.max.ms", "1000");
        c
    }

    /// Whether the broker answers a metadata request.
    pub fn reachable(&self) -> bool {
        self.metadata
            .fetch_metadata(None, self.timeout.min(Duration::from_secs(2)))
            .is_ok()
    }

    fn partitions(&self, topic: &str) -> Result<Vec<i32>, KafkaError> {
        let md = self.metadata.fetch_metadata(Some(topic), self.timeout)?;
        let mut out: Vec<i32> = md
            .topics()
            .iter()
            .filter(|t| t.name() == topic)
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// The group's committed offsets against the topic's end offsets, and
    /// what the coordinator says of its members.
    pub fn group_lag(&self, group: &str, topic: &str) -> Result<GroupLag, KafkaError> {
        let partitions = self.partitions(topic)?;
        // A client carrying the group's id reads its committed offsets
        // (OffsetFetch) without joining it.
        let reader: BaseConsumer = Self::client(&self.brokers, group).create()?;
        let mut tpl = TopicPartitionList::new();
        for p in &partitions {
            tpl.add_partition(topic, *p);
        }
        let committed = reader.committed_offsets(tpl, self.timeout)?;
        let (state, members, describe_error) = match self.describe(group) {
            Ok(list) => match list.groups().iter().find(|g| g.name() == group) {
                Some(g) => {
                    let members: Vec<Member> = g
                        .members()
                        .iter()
                        .map(|m| Member {
                            member_id: m.id().to_string(),
                            client_id: m.client_id().to_string(),
                            client_host: m.client_host().to_string(),
                            partitions: m
                                .assignment()
                                .and_then(|a| assignment::partitions_of(a, topic)),
                        })
                        .collect();
                    (Some(g.state().to_string()), Some(members), None)
                }
                None => (
                    None,
                    None,
                    Some("the coordinator knows no such group".into()),
                ),
            },
            Err(e) => (None, None, Some(e)),
        };
        let mut out = Vec::with_capacity(partitions.len());
        for p in partitions {
            let (_, high) = self.metadata.fetch_watermarks(topic, p, self.timeout)?;
            let committed_offset =
                committed
                    .find_partition(topic, p)
                    .and_then(|e| match e.offset() {
                        Offset::Offset(o) => Some(o),
                        _ => None,
                    });
            let assigned_to = members.as_ref().and_then(|ms| {
                ms.iter()
                    .find(|m| m.partitions.as_ref().is_some_and(|ps| ps.contains(&p)))
                    .map(|m| format!("{} ({})", m.client_host, m.member_id))
            });
            out.push(PartitionLag {
                partition: p,
                end_offset: high,
                committed_offset,
                lag: (high - committed_offset.unwrap_or(0)).max(0),
                assigned_to,
            });
        }
        Ok(GroupLag {
            group: group.to_string(),
            topic: topic.to_string(),
            total_lag: out.iter().map(|p| p.lag).sum(),
            partitions: out,
            state,
            members,
            describe_error,
        })
    }

    /// Describes `group`, unless describing failed less than
    /// [`DESCRIBE_RETRY`] ago.
    fn describe(&self, group: &str) -> Result<rdkafka::groups::GroupList, String> {
        let paused = self
            .describe_paused_until
            .lock()
            .ok()
            .and_then(|p| *p)
            .is_some_and(|until| Instant::now() < until);
        if paused {
            return Err(format!(
                "the broker failed to describe groups; not asked again for {DESCRIBE_RETRY:?}"
            ));
        }
        let result = self.metadata.fetch_group_list(Some(group), self.timeout);
        if result.is_err() {
            if let Ok(mut p) = self.describe_paused_until.lock() {
                *p = Some(Instant::now() + DESCRIBE_RETRY);
            }
        }
        result.map_err(|e| e.to_string())
    }

    /// Every message of `topic` up to the end offsets found when the read
    /// began, read from the earliest offset by a client in a group of its
    /// own (so nothing is committed anywhere).
    pub fn read_topic(&self, topic: &str) -> Result<Vec<TopicMessage>, KafkaError> {
        let partitions = self.partitions(topic)?;
        let reader: BaseConsumer = Self::client(
            &self.brokers,
            &format!("faultline-reader-{}", uuid::Uuid::new_v4()),
        )
        .set("auto.offset.reset", "earliest")
        .create()?;
        let mut ends: HashMap<i32, i64> = HashMap::new();
        let mut tpl = TopicPartitionList::new();
        for p in &partitions {
            let (low, high) = self.metadata.fetch_watermarks(topic, *p, self.timeout)?;
            if high > low {
                ends.insert(*p, high);
                tpl.add_partition_offset(topic, *p, Offset::Offset(low))?;
            }
        }
        let mut out = Vec::new();
        if ends.is_empty() {
            return Ok(out);
        }
        reader.assign(&tpl)?;
        let mut next: HashMap<i32, i64> = HashMap::new();
        let deadline = Instant::now() + self.timeout * 6;
        while ends
            .iter()
            .any(|(p, end)| next.get(p).copied().unwrap_or(0) < *end)
        {
            if Instant::now() > deadline {
                return Err(KafkaError::MessageConsumption(
                    rdkafka::types::RDKafkaErrorCode::OperationTimedOut,
                ));
            }
            match reader.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    next.insert(m.partition(), m.offset() + 1);
                    out.push(TopicMessage {
                        key: m
                            .key()
                            .and_then(|k| std::str::from_utf8(k).ok())
                            .map(String::from),
                        partition: m.partition(),
                        offset: m.offset(),
                        timestamp_ms: m.timestamp().to_millis(),
                    });
                }
                Some(Err(e)) => return Err(e),
                None => {}
            }
        }
        out.retain(|m| ends.get(&m.partition).is_some_and(|end| m.offset < *end));
        Ok(out)
    }
}
