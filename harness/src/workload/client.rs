//! The load generator's HTTP/1.1 client (hyper, pooled keep-alive
//! connections) and the requests it sends.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use uuid::Uuid;

use crate::measure::{Op, Outcome};

/// Where the load goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The reference stack's ingress (`http://127.0.0.1:port`): the mix of
    /// order and health requests.
    Stack {
        /// Base URL.
        base: String,
    },
    /// One URL fetched with `GET`; any 2xx is a success (benchmarks).
    Plain {
        /// The URL.
        url: String,
    },
}

/// Why a send failed before an answer arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// No connection could be made.
    Connect,
    /// The connection broke.
    Io,
}

/// A pooled HTTP/1.1 client.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpConnector, Full<Bytes>>,
}

impl HttpClient {
    /// A client whose connection attempts give up after `connect_timeout`.
    pub fn new(connect_timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(connect_timeout));
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(usize::MAX)
            .build(connector);
        HttpClient { inner }
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(
        &self,
        method: Method,
        uri: Uri,
        body: Option<Bytes>,
    ) -> Result<(StatusCode, Bytes), SendError> {
        let mut req = Request::builder().method(method).uri(uri);
        if body.is_some() {
            req = req.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|_| SendError::Io)?;
        let resp = self.inner.request(req).await.map_err(|e| {
            if e.is_connect() {
                SendError::Connect
            } else {
                SendError::Io
            }
        })?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|_| SendError::Io)?
            .to_bytes();
        Ok((status, body))
    }
}

/// One request ready to send.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    /// What kind.
    pub op: Op,
    /// Method.
    pub method: Method,
    /// Full URI.
    pub uri: Uri,
    /// JSON body, for creates.
    pub body: Option<Bytes>,
    /// The order id written or read, if any.
    pub order_id: Option<Uuid>,
}

/// Builds the request for `op` against `target`. `read_id` is the order a
/// `GetOrder` reads; `new_id` the order a `CreateOrder` writes.
pub fn prepare(
    target: &Target,
    op: Op,
    new_id: Uuid,
    read_id: Option<Uuid>,
) -> Option<PreparedRequest> {
    let (op, method, path, body, order_id) = match target {
        Target::Plain { url } => {
            return Some(PreparedRequest {
                op: Op::Plain,
                method: Method::GET,
                uri: url.parse().ok()?,
                body: None,
                order_id: None,
            })
        }
        Target::Stack { base } => match (op, read_id) {
            (Op::GetOrder, Some(id)) => (
                Op::GetOrder,
                Method::GET,
                format!("{base}/orders/{id}"),
                None,
                Some(id),
            ),
            (Op::Health, _) => (
                Op::Health,
                Method::GET,
                format!("{base}/health"),
                None,
                None,
            ),
            // A create, or a read with nothing acknowledged yet to read.
            _ => {
                let body = format!(
                    r#"{{"id":"{new_id}","customer":"faultline","amount_cents":{}}}"#,
                    new_id.as_u128() % 100_000
                );
                (
                    Op::CreateOrder,
                    Method::POST,
                    format!("{base}/orders"),
                    Some(Bytes::from(body)),
                    Some(new_id),
                )
            }
        },
    };
    Some(PreparedRequest {
        op,
        method,
        uri: path.parse().ok()?,
        body,
        order_id,
    })
}

/// Judges an answer: the status class, then the body against what was asked.
pub fn judge(req: &PreparedRequest, status: StatusCode, body: &[u8]) -> Outcome {
    if status.is_server_error() {
        return Outcome::Http5xx;
    }
    if status.is_client_error() {
        return Outcome::Http4xx;
    }
    if !status.is_success() {
        return Outcome::WrongBody;
    }
    let want = req.order_id.map(|id| id.to_string());
    let ok = match req.op {
        Op::Plain => true,
        Op::Health => serde_json::from_slice::<serde_json::Value>(body)
            .map(|v| v.get("status").is_some_and(|s| s.is_string()))
            .unwrap_or(false),
        Op::CreateOrder => serde_json::from_slice::<serde_json::Value>(body)
            .map(|v| v.get("id").and_then(|i| i.as_str()) == want.as_deref())
            .unwrap_or(false),
        Op::GetOrder => serde_json::from_slice::<serde_json::Value>(body)
            .map(|v| v.pointer("/order/id").and_then(|i| i.as_str()) == want.as_deref())
            .unwrap_or(false),
    };
    if ok {
        Outcome::Ok
    } else {
        Outcome::WrongBody
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack() -> Target {
        Target::Stack {
            base: "http://127.0.0.1:8080".into(),
        }
    }

    #[test]
    fn a_read_with_nothing_to_read_becomes_a_create() {
        let id = Uuid::from_u128(7);
        let r = prepare(&stack(), Op::GetOrder, id, None).unwrap();
        assert_eq!(r.op, Op::CreateOrder);
        assert_eq!(r.method, Method::POST);
        assert_eq!(r.order_id, Some(id));
        let r = prepare(&stack(), Op::GetOrder, id, Some(Uuid::from_u128(9))).unwrap();
        assert_eq!(r.uri.path(), format!("/orders/{}", Uuid::from_u128(9)));
    }

    #[test]
    fn answers_are_judged_by_status_then_body() {
        let id = Uuid::from_u128(7);
        let create = prepare(&stack(), Op::CreateOrder, id, None).unwrap();
        let good = format!(r#"{{"id":"{id}"}}"#);
        assert_eq!(
            judge(&create, StatusCode::CREATED, good.as_bytes()),
            Outcome::Ok
        );
        assert_eq!(judge(&create, StatusCode::OK, b"{}"), Outcome::WrongBody);
        assert_eq!(
            judge(&create, StatusCode::SERVICE_UNAVAILABLE, b""),
            Outcome::Http5xx
        );
        assert_eq!(judge(&create, StatusCode::NOT_FOUND, b""), Outcome::Http4xx);
        let read = prepare(&stack(), Op::GetOrder, id, Some(id)).unwrap();
        let body = format!(r#"{{"order":{{"id":"{id}"}},"source":"db"}}"#);
        assert_eq!(judge(&read, StatusCode::OK, body.as_bytes()), Outcome::Ok);
        let other = format!(r#"{{"order":{{"id":"{}"}}}}"#, Uuid::from_u128(8));
        assert_eq!(
            judge(&read, StatusCode::OK, other.as_bytes()),
            Outcome::WrongBody
        );
    }
}
