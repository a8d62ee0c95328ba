//! `gateway`: the entry behind the ingress. It routes `/orders` calls to the
//! `orders` replicas of every zone, with the resilience seed 004 documents:
//! a per-attempt timeout (5 s), up to 3 retries with exponential back-off on
//! idempotent calls, a circuit breaker per upstream (opens at 50 % errors,
//! half-opens after 30 s), and a JSON 503 fallback.
//!
//! `POST /orders` counts as idempotent: the client chooses the order id and
//! `orders` deduplicates on it, so a retried create cannot double an order.

mod breaker;

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use breaker::{Breaker, BreakerConfig, BreakerState};
use serde_json::json;
use svc_common::{config, http, logging, DbStatus, Health};

/// Everything `gateway` reads from its environment.
#[derive(Debug, Clone)]
struct Config {
    listen: String,
    zone: String,
    upstreams: Vec<String>,
    timeout: Duration,
    connect_timeout: Duration,
    retries: u32,
    backoff: Duration,
    breaker: BreakerConfig,
}

impl Config {
    fn from_env() -> Result<Self, config::ConfigError> {
        Ok(Config {
            listen: config::string("LISTEN_ADDR", "0.0.0.0:8080"),
            zone: config::string("ZONE", "local"),
            // `name=host:port` entries (the name labels the circuit), or
            // plain `host:port`.
            upstreams: config::list("UPSTREAMS", "orders:8080"),
            timeout: config::duration("REQUEST_TIMEOUT", Duration::from_secs(5))?,
            connect_timeout: config::duration("CONNECT_TIMEOUT", Duration::from_secs(1))?,
            retries: config::parse("RETRIES", 3)?,
            backoff: config::duration("RETRY_BACKOFF", Duration::from_millis(50))?,
            breaker: BreakerConfig {
                failure_ratio: config::parse("CB_FAILURE_RATIO", 0.5)?,
                min_requests: config::parse("CB_MIN_REQUESTS", 10)?,
                window: config::duration("CB_WINDOW", Duration::from_secs(10))?,
                reset_timeout: config::duration("CB_RESET_TIMEOUT", Duration::from_secs(30))?,
            },
        })
    }
}

struct Upstream {
    name: String,
    base: String,
    breaker: Mutex<Breaker>,
}

struct Gateway {
    cfg: Config,
    client: reqwest::Client,
    upstreams: Vec<Upstream>,
    next: AtomicUsize,
}

#[tokio::main]
async fn main() -> ExitCode {
    logging::init("gateway");
    let metrics = http::install_metrics();
    let cfg = match Config::from_env() {
        Ok(c) if !c.upstreams.is_empty() => c,
        Ok(_) => {
            tracing::error!("UPSTREAMS is empty");
            return ExitCode::from(2);
        }
        Err(e) => {
            tracing::error!(error = %e, "bad configuration");
            return ExitCode::from(2);
        }
    };
    let client = match reqwest::Client::builder()
        .connect_timeout(cfg.connect_timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the HTTP client");
            return ExitCode::FAILURE;
        }
    };
    let upstreams = cfg
        .upstreams
        .iter()
        .map(|entry| {
            let (name, addr) = upstream_entry(entry);
            Upstream {
                name,
                base: format!("http://{addr}"),
                breaker: Mutex::new(Breaker::new(cfg.breaker)),
            }
        })
        .collect();
    let gw = Arc::new(Gateway {
        cfg: cfg.clone(),
        client,
        upstreams,
        next: AtomicUsize::new(0),
    });
    let routes = Router::new()
        .route("/orders", any(forward))
        .route("/orders/{id}", any(forward))
        .route("/health", get(health))
        .route("/ready", get(|| async { StatusCode::OK }))
        .with_state(gw);
    if let Err(e) = http::serve(http::instrument(routes, metrics), &cfg.listen).await {
        tracing::error!(error = %e, "server failed");
        return ExitCode::FAILURE;
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// One call to an upstream whose breaker admitted it: records the outcome,
/// or — dropped without one — gives a half-open circuit's trial back.
struct Call<'a> {
    upstream: &'a Upstream,
    recorded: bool,
}

impl<'a> Call<'a> {
    fn new(upstream: &'a Upstream) -> Self {
        Call {
            upstream,
            recorded: false,
        }
    }

    fn record(mut self, ok: bool) {
        if let Ok(mut b) = self.upstream.breaker.lock() {
            b.record(Instant::now(), ok);
        }
        self.recorded = true;
    }
}

impl Drop for Call<'_> {
    fn drop(&mut self) {
        if !self.recorded {
            if let Ok(mut b) = self.upstream.breaker.lock() {
                b.abandon_trial();
            }
            metrics::counter!("gateway_abandoned_calls_total", "upstream" => self.upstream.name.clone())
                .increment(1);
        }
    }
}

/// An `UPSTREAMS` entry: `name=host:port`, or `host:port` named by its host.
fn upstream_entry(entry: &str) -> (String, &str) {
    match entry.split_once('=') {
        Some((name, addr)) => (name.to_string(), addr),
        None => (entry.split(':').next().unwrap_or(entry).to_string(), entry),
    }
}

fn fallback(reason: &str) -> Response {
    metrics::counter!("gateway_fallbacks_total").increment(1);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({
            "success": false,
            "error": "Service temporarily unavailable",
            "reason": reason,
        })),
    )
        .into_response()
}

impl Gateway {
    /// The first upstream at or after `from` (round robin) whose breaker
    /// admits a call.
    fn pick(&self, from: usize) -> Option<&Upstream> {
        let n = self.upstreams.len();
        let now = Instant::now();
        (0..n).map(|i| &self.upstreams[(from + i) % n]).find(|u| {
            u.breaker
                .lock()
                .map(|mut b| b.try_acquire(now))
                .unwrap_or(false)
        })
    }

    async fn attempt(
        &self,
        upstream: &Upstream,
        method: &Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Response, String> {
        let mut req = self
            .client
            .request(
                method.clone(),
                format!("{}{}", upstream.base, path_and_query),
            )
            .timeout(self.cfg.timeout)
            .body(body.clone());
        for name in [header::CONTENT_TYPE, http::REQUEST_ID] {
            if let Some(v) = headers.get(&name) {
                req = req.header(name, v);
            }
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                format!("{}: timed out", upstream.name)
            } else {
                format!("{}: {e}", upstream.name)
            }
        })?;
        let status = resp.status();
        let content_type = resp.headers().get(header::CONTENT_TYPE).cloned();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| format!("{}: reading the body: {e}", upstream.name))?;
        if status.is_server_error() {
            return Err(format!("{}: answered {status}", upstream.name));
        }
        let mut out = (status, bytes).into_response();
        if let Some(ct) = content_type {
            out.headers_mut().insert(header::CONTENT_TYPE, ct);
        }
        if let Ok(v) = HeaderValue::from_str(&upstream.name) {
            out.headers_mut().insert("x-upstream", v);
        }
        Ok(out)
    }
}

async fn forward(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, 1 << 20).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "body over 1 MiB").into_response(),
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string());
    let idempotent = parts.method == Method::GET
        || parts.method == Method::HEAD
        || (parts.method == Method::POST && parts.uri.path() == "/orders");
    let attempts = if idempotent { 1 + gw.cfg.retries } else { 1 };
    let start = gw.next.fetch_add(1, Ordering::Relaxed);
    let mut last_error = String::from("every upstream circuit is open");
    for attempt in 0..attempts {
        if attempt > 0 {
            let backoff = gw.cfg.backoff * 2u32.saturating_pow(attempt - 1);
            tokio::time::sleep(backoff).await;
        }
        let Some(upstream) = gw.pick(start + attempt as usize) else {
            break;
        };
        // If the client goes away mid-call, this future is dropped before
        // the outcome is recorded: the guard gives a half-open circuit's
        // trial back rather than leave it taken forever.
        let call = Call::new(upstream);
        let result = gw
            .attempt(
                upstream,
                &parts.method,
                &path_and_query,
                &parts.headers,
                &body,
            )
            .await;
        let ok = result.is_ok();
        call.record(ok);
        let outcome = if ok { "ok" } else { "error" };
        metrics::counter!("gateway_upstream_requests_total", "upstream" => upstream.name.clone(), "outcome" => outcome)
            .increment(1);
        match result {
            Ok(resp) => return resp,
            Err(e) => {
                tracing::warn!(error = %e, attempt, "upstream call failed");
                last_error = e;
            }
        }
    }
    fallback(&last_error)
}

async fn health(State(gw): State<Arc<Gateway>>) -> Json<Health> {
    let now = Instant::now();
    let circuits: serde_json::Map<String, serde_json::Value> = gw
        .upstreams
        .iter()
        .map(|u| {
            let state = u
                .breaker
                .lock()
                .map(|b| b.state(now))
                .unwrap_or(BreakerState::Open);
            (u.name.clone(), state.name().into())
        })
        .collect();
    Json(
        Health::new("gateway", DbStatus::None)
            .with("zone", gw.cfg.zone.clone())
            .with("upstreams", circuits),
    )
}

#[cfg(test)]
mod tests {
    use super::upstream_entry;

    #[test]
    fn upstream_entries_may_carry_a_name() {
        assert_eq!(
            upstream_entry("orders-a=proxy-gateway:18080"),
            ("orders-a".into(), "proxy-gateway:18080")
        );
        assert_eq!(
            upstream_entry("orders-b:8080"),
            ("orders-b".into(), "orders-b:8080")
        );
    }
}
