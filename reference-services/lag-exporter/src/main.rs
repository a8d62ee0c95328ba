//! `lag-exporter`: what the broker itself says about a consumer group and a
//! topic, served over HTTP — the role Burrow or kafka-lag-exporter play
//! beside a production cluster. It talks to the broker directly (never
//! through a fault proxy) and takes no part in the group it observes.
//!
//! - `GET /lag?group=G&topic=T`: per partition, the topic's end offset, the
//!   group's committed offset and the lag between them, plus the group's
//!   members and the partitions the coordinator assigned to each;
//! - `GET /messages?topic=T`: every message of the topic, read from the
//!   earliest offset by a fresh client that joins no group, one JSON object
//!   per line (`key`, `partition`, `offset`, `timestamp_ms`);
//! - `GET /metrics`: `kafka_consumergroup_lag{group,topic,partition}` for
//!   the groups and topics last asked about, Prometheus text;
//! - `GET /health`, `GET /ready`.
//!
//! A member's own lag gauge only covers the partitions it holds: a
//! partition no member holds, or one held by a member that stopped
//! consuming, is invisible to it. The broker's committed offsets are not.

mod assignment;
mod broker;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use svc_common::{config, http, logging, DbStatus, Health};

use broker::Broker;

/// The query of `/lag`.
#[derive(Debug, Deserialize)]
struct LagQuery {
    group: String,
    topic: String,
}

/// The query of `/messages`.
#[derive(Debug, Deserialize)]
struct TopicQuery {
    topic: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    logging::init("lag-exporter");
    let metrics = http::install_metrics();
    let listen = config::string("LISTEN_ADDR", "0.0.0.0:8080");
    let brokers = config::string("KAFKA_BROKERS", "broker:9092");
    let timeout = match config::duration("KAFKA_TIMEOUT", Duration::from_secs(5)) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "bad configuration");
            return ExitCode::from(2);
        }
    };
    let broker = match Broker::new(&brokers, timeout) {
        Ok(b) => Arc::new(b),
        Err(e) => {
            tracing::error!(error = %e, "cannot configure the Kafka client");
            return ExitCode::from(2);
        }
    };
    let routes = Router::new()
        .route("/lag", get(lag))
        .route("/messages", get(messages))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(broker);
    if let Err(e) = http::serve(http::instrument(routes, metrics), &listen).await {
        tracing::error!(error = %e, "server failed");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"error": format!("{what}: {e}")})),
    )
        .into_response()
}

async fn lag(State(broker): State<Arc<Broker>>, Query(q): Query<LagQuery>) -> Response {
    let b = broker.clone();
    let result = tokio::task::spawn_blocking(move || b.group_lag(&q.group, &q.topic)).await;
    match result {
        Ok(Ok(lag)) => {
            for p in &lag.partitions {
                metrics::gauge!(
                    "kafka_consumergroup_lag",
                    "group" => lag.group.clone(),
                    "topic" => lag.topic.clone(),
                    "partition" => p.partition.to_string()
                )
                .set(p.lag as f64);
            }
            Json(lag).into_response()
        }
        Ok(Err(e)) => unavailable("reading the group's lag from the broker", e),
        Err(e) => unavailable("the broker call", e),
    }
}

async fn messages(State(broker): State<Arc<Broker>>, Query(q): Query<TopicQuery>) -> Response {
    let b = broker.clone();
    let result = tokio::task::spawn_blocking(move || b.read_topic(&q.topic)).await;
    match result {
        Ok(Ok(messages)) => {
            let mut body = String::with_capacity(messages.len() * 96);
            for m in &messages {
                body.push_str(&json!(m).to_string());
                body.push('\n');
            }
            (
                [(header::CONTENT_TYPE, "application/x-ndjson")],
                Body::from(body),
            )
                .into_response()
        }
        Ok(Err(e)) => unavailable("reading the topic from the broker", e),
        Err(e) => unavailable("the broker call", e),
    }
}

async fn health(State(broker): State<Arc<Broker>>) -> Json<Health> {
    let b = broker.clone();
    let reachable = tokio::task::spawn_blocking(move || b.reachable())
        .await
        .unwrap_or(false);
    let mut h = Health::new("lag-exporter", DbStatus::None).with("broker", reachable);
    if !reachable {
        h.status = "degraded";
    }
    Json(h)
}

async fn ready(State(broker): State<Arc<Broker>>) -> StatusCode {
    let b = broker.clone();
    match tokio::task::spawn_blocking(move || b.reachable()).await {
        Ok(true) => StatusCode::OK,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}
