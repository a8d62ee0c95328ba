//! The outbox relay: publishes committed `OrderCreated` events to Kafka.
//!
//! Each pass locks a batch of unpublished outbox rows (`FOR UPDATE SKIP
//! LOCKED`, so the relays of all replicas share the work), produces them with
//! `acks=all`, waits for every delivery report, and only then marks the rows
//! published. A failure rolls the pass back: delivery is at-least-once, and
//! the analytics consumer is idempotent on the order id.

use std::time::Duration;

use deadpool_postgres::Pool;
use futures_util::future::join_all;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use uuid::Uuid;

use crate::Config;

/// How long one delivery may take before the pass is abandoned.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a relay pass failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The database part failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A message was not acknowledged by the broker.
    #[error("publishing to Kafka failed: {0}")]
    Publish(KafkaError),
}

impl From<tokio_postgres::Error> for RelayError {
    fn from(e: tokio_postgres::Error) -> Self {
        RelayError::Store(e.into())
    }
}

impl From<deadpool_postgres::PoolError> for RelayError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        RelayError::Store(e.into())
    }
}

/// The relay's producer and settings.
pub struct Relay {
    producer: FutureProducer,
    admin: AdminClient<DefaultClientContext>,
    topic: String,
    partitions: i32,
    batch: i64,
    idle: Duration,
}

impl Relay {
    /// A relay for `cfg`'s brokers and topic; connects lazily.
    pub fn new(cfg: &Config) -> Result<Self, KafkaError> {
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &cfg.kafka_brokers)
            .set("acks", "all")
            .set("enable.idempotence", "false")
            .set(
                "message.timeout.ms",
                DELIVERY_TIMEOUT.as_millis().to_string(),
            )
            .set("linger.ms", "2")
            .set("reconnect.backoff.max.ms", "1000");
        Ok(Relay {
            producer: client.create()?,
            admin: client.create()?,
            topic: cfg.topic.clone(),
            partitions: cfg.topic_partitions,
            batch: cfg.relay_batch,
            idle: cfg.relay_idle,
        })
    }

    /// Creates the topic if it is missing; retries until the broker answers.
    async fn ensure_topic(&self) {
        let topic = NewTopic::new(&self.topic, self.partitions, TopicReplication::Fixed(1));
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(5)));
        let mut delay = Duration::from_millis(200);
        loop {
            match self.admin.create_topics([&topic], &opts).await {
                Ok(results) => {
                    let ok = results.iter().all(|r| match r {
                        Ok(_) => true,
                        Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => true,
                        Err((name, code)) => {
                            tracing::warn!(topic = %name, error = %code, "topic not created yet");
                            false
                        }
                    });
                    if ok {
                        tracing::info!(topic = %self.topic, "topic ready");
                        return;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "broker not reachable yet"),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }

    /// Relays forever.
    pub async fn run(self, pool: Pool) {
        self.ensure_topic().await;
        loop {
            match self.relay_once(&pool).await {
                Ok(0) => tokio::time::sleep(self.idle).await,
                Ok(n) => {
                    metrics::counter!("outbox_published_total").increment(n as u64);
                }
                Err(e) => {
                    metrics::counter!("outbox_relay_errors_total").increment(1);
                    tracing::warn!(error = %e, "relay pass failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    async fn relay_once(&self, pool: &Pool) -> Result<usize, RelayError> {
        let mut client = pool.get().await?;
        let tx = client.transaction().await?;
        let rows = tx
            .query(
                "SELECT id, order_id, payload FROM outbox WHERE published_at IS NULL \
                 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                &[&self.batch],
            )
            .await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let keyed: Vec<(String, String)> = rows
            .iter()
            .map(|r| (r.get::<_, Uuid>(1).to_string(), r.get::<_, String>(2)))
            .collect();
        let deliveries = keyed.iter().map(|(key, payload)| {
            self.producer.send(
                FutureRecord::to(&self.topic).key(key).payload(payload),
                DELIVERY_TIMEOUT,
            )
        });
        for result in join_all(deliveries).await {
            result.map_err(|(e, _)| RelayError::Publish(e))?;
        }
        tx.execute(
            "UPDATE outbox SET published_at = now() WHERE id = ANY($1)",
            &[&ids],
        )
        .await?;
        tx.commit().await?;
        Ok(ids.len())
    }
}
