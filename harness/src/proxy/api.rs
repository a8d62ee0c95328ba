//! The Toxiproxy-compatible HTTP API over a [`Registry`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::toxic::ToxicJson;
use super::{ProxyConfig, ProxyError, Registry};

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let status = match self {
            ProxyError::NotFound(_) => StatusCode::NOT_FOUND,
            ProxyError::Conflict(_) => StatusCode::CONFLICT,
            ProxyError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ProxyError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (
            status,
            Json(json!({"error": self.to_string(), "status": status.as_u16()})),
        )
            .into_response()
    }
}

/// A JSON body whatever its `Content-Type` says: Toxiproxy accepts that,
/// and so do the clients and scripts written against it (`curl -d`).
struct Body<T>(T);

impl<S, T> axum::extract::FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ProxyError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ProxyError::BadRequest(e.to_string()))?;
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| ProxyError::BadRequest(format!("bad request body: {e}")))
    }
}

/// The body of `POST /proxies/{name}`.
#[derive(Debug, Deserialize)]
struct ProxyUpdate {
    listen: Option<String>,
    upstream: Option<String>,
    enabled: Option<bool>,
}

/// The routes of Toxiproxy's API.
pub fn router(registry: Registry) -> Router {
    Router::new()
        .route(
            "/version",
            get(|| async {
                Json(json!({"version": concat!("faultline-proxy ", env!("CARGO_PKG_VERSION"))}))
            }),
        )
        .route("/reset", post(reset))
        .route("/populate", post(populate))
        .route("/proxies", get(list).post(create))
        .route(
            "/proxies/{proxy}",
            get(get_proxy).post(update).delete(delete),
        )
        .route("/proxies/{proxy}/toxics", get(toxics).post(add_toxic))
        .route(
            "/proxies/{proxy}/toxics/{toxic}",
            get(get_toxic).post(update_toxic).delete(remove_toxic),
        )
        .with_state(registry)
}

async fn reset(State(r): State<Registry>) -> Result<StatusCode, ProxyError> {
    r.reset().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn populate(
    State(r): State<Registry>,
    Body(configs): Body<Vec<ProxyConfig>>,
) -> Result<Response, ProxyError> {
    let proxies = r.populate(configs).await?;
    Ok((StatusCode::CREATED, Json(json!({"proxies": proxies}))).into_response())
}

async fn list(State(r): State<Registry>) -> Response {
    Json(r.list().await).into_response()
}

async fn create(
    State(r): State<Registry>,
    Body(config): Body<ProxyConfig>,
) -> Result<Response, ProxyError> {
    Ok((StatusCode::CREATED, Json(r.create(config).await?)).into_response())
}

async fn get_proxy(
    State(r): State<Registry>,
    Path(proxy): Path<String>,
) -> Result<Response, ProxyError> {
    Ok(Json(r.get(&proxy).await?).into_response())
}

async fn update(
    State(r): State<Registry>,
    Path(proxy): Path<String>,
    Body(u): Body<ProxyUpdate>,
) -> Result<Response, ProxyError> {
    Ok(Json(r.update(&proxy, u.listen, u.upstream, u.enabled).await?).into_response())
}

async fn delete(
    State(r): State<Registry>,
    Path(proxy): Path<String>,
) -> Result<StatusCode, ProxyError> {
    r.delete(&proxy).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn toxics(
    State(r): State<Registry>,
    Path(proxy): Path<String>,
) -> Result<Response, ProxyError> {
    Ok(Json(r.toxics(&proxy).await?).into_response())
}

async fn add_toxic(
    State(r): State<Registry>,
    Path(proxy): Path<String>,
    Body(t): Body<ToxicJson>,
) -> Result<Response, ProxyError> {
    Ok(Json(r.add_toxic(&proxy, t).await?).into_response())
}

async fn get_toxic(
    State(r): State<Registry>,
    Path((proxy, toxic)): Path<(String, String)>,
) -> Result<Response, ProxyError> {
    Ok(Json(r.get_toxic(&proxy, &toxic).await?).into_response())
}

async fn update_toxic(
    State(r): State<Registry>,
    Path((proxy, toxic)): Path<(String, String)>,
    Body(t): Body<ToxicJson>,
) -> Result<Response, ProxyError> {
    Ok(Json(r.update_toxic(&proxy, &toxic, t).await?).into_response())
}

async fn remove_toxic(
    State(r): State<Registry>,
    Path((proxy, toxic)): Path<(String, String)>,
) -> Result<StatusCode, ProxyError> {
    r.remove_toxic(&proxy, &toxic).await?;
    Ok(StatusCode::NO_CONTENT)
}
