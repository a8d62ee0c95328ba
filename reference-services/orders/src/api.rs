//! The HTTP API of `orders`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{Path, State as Extract};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use deadpool_postgres::Pool;
use serde::Deserialize;
use serde_json::json;
use svc_common::{db, DbStatus, Health};
use uuid::Uuid;

use crate::cache::Cache;
use crate::store::{self, StoreError};
use crate::Config;

/// Shared state of the request handlers.
pub struct State {
    cfg: Config,
    pool: Pool,
    cache: Cache,
    /// Set once the schema is in place.
    pub ready: AtomicBool,
}

impl State {
    /// State for a service that is not ready yet.
    pub fn new(cfg: Config, pool: Pool, cache: Cache) -> Self {
        State {
            cfg,
            pool,
            cache,
            ready: AtomicBool::new(false),
        }
    }
}

/// The routes: `/orders`, `/orders/{id}`, `/health`, `/ready`.
pub fn routes(state: Arc<State>) -> Router {
    Router::new()
        .route("/orders", post(create))
        .route("/orders/{id}", get(read))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(state)
}

/// The body of `POST /orders`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrder {
    id: Uuid,
    customer: String,
    amount_cents: i64,
}

fn unavailable(e: StoreError) -> Response {
    tracing::warn!(error = %e, "database unavailable");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"error": "database unavailable", "detail": e.to_string()})),
    )
        .into_response()
}

async fn create(Extract(state): Extract<Arc<State>>, Json(new): Json<NewOrder>) -> Response {
    if new.customer.is_empty() || new.customer.len() > 200 || new.amount_cents < 0 {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": "customer must be 1-200 bytes and amount_cents >= 0"})),
        )
            .into_response();
    }
    match store::create_order(
        &state.pool,
        new.id,
        &new.customer,
        new.amount_cents,
        &state.cfg.zone,
    )
    .await
    {
        Ok(c) => {
            let status = if c.new {
                metrics::counter!("orders_created_total").increment(1);
                StatusCode::CREATED
            } else {
                metrics::counter!("orders_replayed_total").increment(1);
                StatusCode::OK
            };
            // The order, and which database node acknowledged it.
            let mut body = serde_json::to_value(&c.order).unwrap_or_default();
            if !c.db_node.is_empty() {
                body["db_node"] = c.db_node.into();
            }
            (status, Json(body)).into_response()
        }
        Err(e) => unavailable(e),
    }
}

async fn read(Extract(state): Extract<Arc<State>>, Path(id): Path<Uuid>) -> Response {
    let key = format!("order:{id}");
    if let Some(order) = state.cache.get(&key).await {
        metrics::counter!("orders_reads_total", "source" => "cache").increment(1);
        return Json(json!({"order": order, "source": "cache"})).into_response();
    }
    match store::find_order(&state.pool, id).await {
        Ok(Some(order)) => {
            metrics::counter!("orders_reads_total", "source" => "db").increment(1);
            state.cache.put(&key, &order).await;
            Json(json!({"order": order, "source": "db"})).into_response()
        }
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such order", "id": id})),
        )
            .into_response(),
        Err(e) => unavailable(e),
    }
}

async fn health(Extract(state): Extract<Arc<State>>) -> Json<Health> {
    let db = if db::ping(&state.pool).await {
        DbStatus::Connected
    } else {
        DbStatus::Disconnected
    };
    let cache = if state.cache.is_up() { "up" } else { "down" };
    Json(
        Health::new("orders", db)
            .with("cache", cache)
            .with("zone", state.cfg.zone.clone()),
    )
}

async fn ready(Extract(state): Extract<Arc<State>>) -> StatusCode {
    if state.ready.load(Ordering::Acquire) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}
