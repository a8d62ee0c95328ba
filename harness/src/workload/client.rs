//! The load generator's HTTP/1.1 client and the requests it sends.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use uuid::Uuid;

use faultline_core::stack_file::{Request as StackRequest, Values, WriteId};

use crate::measure::{Op, Outcome};

/// Where the load goes.
#[derive(Debug, Clone, PartialEq)]
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
    /// A stack file's requests against its entry URL, each picked by its
    /// weight.
    Requests {
        /// The entry URL (no trailing `/`).
        base: String,
        /// The requests.
        requests: Arc<Vec<StackRequest>>,
    },
}

impl Target {
    /// The base URL requests go to.
    pub fn base(&self) -> &str {
        match self {
            Target::Stack { base } | Target::Requests { base, .. } => base,
            Target::Plain { url } => url,
        }
    }

    /// A URL the load generator checks before it starts.
    pub fn probe_url(&self) -> String {
        match self {
            Target::Plain { url } => url.clone(),
            Target::Stack { base } => format!("{base}/health"),
            Target::Requests { base, .. } => format!("{base}/"),
        }
    }
}

/// Why a send failed before an answer arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// No connection could be made.
    Connect,
    /// The connection broke.
    Io,
}

/// An HTTP/1.1 client for one generator thread: keep-alive connections to
/// one address, handed out last-in-first-out, a new one opened whenever
/// all are busy (so a stalled target gets a connection per waiting request,
/// as an open population of clients would give it).
///
/// Written on hyper's connection API rather than `hyper_util`'s pooled
/// client: that client's shared pool (locks, hashing, idle-list scans) cost
/// more CPU per request than everything else in the generator, and a
/// single-threaded generator needs none of it.
pub struct HttpClient {
    addr: std::net::SocketAddr,
    host: hyper::header::HeaderValue,
    connect_timeout: Duration,
    idle: RefCell<Vec<SendRequest<Full<Bytes>>>>,
}

impl HttpClient {
    /// A client for the host and port of `base` (`http://host:port/...`),
    /// resolved once.
    pub async fn new(base: &Uri, connect_timeout: Duration) -> Option<Self> {
        let authority = base.authority()?.clone();
        let port = authority.port_u16().unwrap_or(80);
        let addr = tokio::net::lookup_host((authority.host(), port))
            .await
            .ok()?
            .next()?;
        Some(HttpClient {
            addr,
            host: hyper::header::HeaderValue::from_str(authority.as_str()).ok()?,
            connect_timeout,
            idle: RefCell::new(Vec::new()),
        })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, SendError> {
        let stream = tokio::time::timeout(self.connect_timeout, TcpStream::connect(self.addr))
            .await
            .map_err(|_| SendError::Connect)?
            .map_err(|_| SendError::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| SendError::Connect)?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Sends one request and reads the whole answer. A pooled connection
    /// that turns out closed is replaced once.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(String, String)],
        body: Option<Bytes>,
    ) -> Result<(StatusCode, Bytes), SendError> {
        for attempt in 0..2 {
            let pooled = self.idle.borrow_mut().pop();
            let mut sender = match pooled {
                Some(s) if !s.is_closed() => s,
                _ => self.connect().await?,
            };
            if sender.ready().await.is_err() {
                continue;
            }
            let mut req = Request::builder()
                .method(method.clone())
                .uri(path_and_query)
                .header(hyper::header::HOST, self.host.clone());
            let typed = headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
            if body.is_some() && !typed {
                req = req.header(hyper::header::CONTENT_TYPE, "application/json");
            }
            for (k, v) in headers {
                req = req.header(k.as_str(), v.as_str());
            }
            let req = req
                .body(Full::new(body.clone().unwrap_or_default()))
                .map_err(|_| SendError::Io)?;
            let resp = match sender.send_request(req).await {
                Ok(r) => r,
                // Closed before the request went out: safe to try a fresh one.
                Err(e) if e.is_canceled() && attempt == 0 => continue,
                Err(_) => return Err(SendError::Io),
            };
            let status = resp.status();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|_| SendError::Io)?
                .to_bytes();
            if !sender.is_closed() {
                self.idle.borrow_mut().push(sender);
            }
            return Ok((status, body));
        }
        Err(SendError::Io)
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
    /// Headers beyond `Host` (a stack file's).
    pub headers: Vec<(String, String)>,
    /// How its answer is judged.
    pub expect: Expect,
}

/// How an answer is judged.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// A reference service's answer: a 2xx whose body holds the order id.
    Reference,
    /// A stack file's request: one of these statuses, and this text in
    /// the body.
    Statuses {
        /// The statuses that count as success.
        success: Arc<[u16]>,
        /// A text the body must contain.
        body_contains: Option<String>,
    },
}

impl Expect {
    /// Whether a write answered with `status` was acknowledged.
    pub fn acknowledges(&self, status: StatusCode) -> bool {
        match self {
            // A 2xx is an acknowledgement, whatever its body.
            Expect::Reference => status.is_success(),
            Expect::Statuses { success, .. } => success.contains(&status.as_u16()),
        }
    }
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
                headers: Vec::new(),
                expect: Expect::Reference,
            })
        }
        // A stack file's requests are prepared by `prepare_request`.
        Target::Requests { .. } => return None,
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
        headers: Vec::new(),
        expect: Expect::Reference,
    })
}

/// Builds a stack file's request `req` against `base`: its templates
/// rendered with `new_id` as `{{id}}`, `seq` as `{{seq}}` and `recent` (an
/// acknowledged write's id as stored) as `{{recent_id}}` (the caller picks
/// another request when it needs a recent id and there is none).
pub fn prepare_request(
    base: &str,
    req: &StackRequest,
    new_id: Uuid,
    seq: u64,
    recent: Option<String>,
) -> Option<PreparedRequest> {
    let id = new_id.to_string();
    let recent_id = recent.unwrap_or_default();
    let values = Values {
        id: &id,
        seq,
        recent_id: &recent_id,
    };
    let writes = req.writes.is_some();
    Some(PreparedRequest {
        op: if writes { Op::Write } else { Op::Read },
        method: Method::from_bytes(req.method.as_bytes()).ok()?,
        uri: format!("{base}{}", req.path.render(values)).parse().ok()?,
        body: req.body.as_ref().map(|b| Bytes::from(b.render(values))),
        order_id: writes.then_some(new_id),
        headers: req
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.render(values)))
            .collect(),
        expect: Expect::Statuses {
            success: req.success.clone().into(),
            body_contains: req.body_contains.as_ref().map(|t| t.render(values)),
        },
    })
}

/// The text a stack file's write is stored under in its database, when it
/// is more than the ledger's id (`writes = "order-{{id}}"` → `order-<id>`);
/// `None` for `writes = "{{id}}"` or a request that does not write.
pub fn write_key(req: &StackRequest, id: Uuid) -> Option<String> {
    let id = id.to_string();
    req.writes
        .as_ref()
        .map(|WriteId::Template(t)| t.render_id(&id))
        .filter(|key| *key != id)
}

/// The database node a create's answer says acknowledged the write
/// (`db_node`), if it says.
pub fn acknowledging_node(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("db_node")?.as_str().map(String::from)
}

/// Judges an answer: the status class, then the body against what was asked.
pub fn judge(req: &PreparedRequest, status: StatusCode, body: &[u8]) -> Outcome {
    if let Expect::Statuses {
        success,
        body_contains,
    } = &req.expect
    {
        let found =
            |text: &str| text.is_empty() || body.windows(text.len()).any(|w| w == text.as_bytes());
        return if success.contains(&status.as_u16()) && body_contains.as_deref().is_none_or(found) {
            Outcome::Ok
        } else if status.is_server_error() {
            Outcome::Http5xx
        } else if status.is_client_error() {
            Outcome::Http4xx
        } else {
            Outcome::WrongBody
        };
    }
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
        Op::Plain | Op::Write | Op::Read => true,
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
    fn a_stack_files_request_is_rendered_and_judged_by_its_own_statuses_and_body() {
        let src = crate::source::Source {
            path: "s.toml".into(),
            text: r#"name = "s"
entry = "http://127.0.0.1:1"
[compose]
project = "p"
[[request]]
name = "create"
method = "POST"
path = "/orders"
body = '{"id": "order-{{id}}", "n": {{seq}}}'
headers = { x-shop = "{{id}}" }
success = [201]
writes = "order-{{id}}"
[[request]]
name = "get"
path = "/orders/{{recent_id}}"
success = [200]
body_contains = "{{recent_id}}"
"#
            .into(),
        };
        let file = faultline_core::stack_file::StackFile::parse(&src).unwrap();
        let id = Uuid::from_u128(7);
        let create = prepare_request(&file.entry, &file.requests[0], id, 3, None).unwrap();
        assert_eq!(create.op, Op::Write);
        assert_eq!(create.method, Method::POST);
        assert_eq!(create.uri.to_string(), "http://127.0.0.1:1/orders");
        let body = String::from_utf8(create.body.clone().unwrap().to_vec()).unwrap();
        assert_eq!(body, format!(r#"{{"id": "order-{id}", "n": 3}}"#));
        assert_eq!(create.headers, vec![("x-shop".to_string(), id.to_string())]);
        let key = write_key(&file.requests[0], id).unwrap();
        assert_eq!(key, format!("order-{id}"));
        assert_eq!(judge(&create, StatusCode::CREATED, b""), Outcome::Ok);
        // Another 2xx than the ones listed is not a success, nor a write.
        assert_eq!(judge(&create, StatusCode::OK, b""), Outcome::WrongBody);
        assert!(!create.expect.acknowledges(StatusCode::OK));
        assert!(create.expect.acknowledges(StatusCode::CREATED));
        assert_eq!(
            judge(&create, StatusCode::BAD_GATEWAY, b""),
            Outcome::Http5xx
        );

        let read =
            prepare_request(&file.entry, &file.requests[1], id, 4, Some(key.clone())).unwrap();
        assert_eq!(read.op, Op::Read);
        assert_eq!(read.uri.path(), format!("/orders/{key}"));
        let found = format!(r#"{{"id": "{key}"}}"#);
        assert_eq!(judge(&read, StatusCode::OK, found.as_bytes()), Outcome::Ok);
        assert_eq!(judge(&read, StatusCode::OK, b"{}"), Outcome::WrongBody);
        assert_eq!(judge(&read, StatusCode::NOT_FOUND, b""), Outcome::Http4xx);
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
