//! `faultline-proxy`: a TCP proxy with Toxiproxy's HTTP API (proxies and
//! toxics: latency with jitter, bandwidth, timeout/black hole, reset_peer,
//! slow_close, limit_data; enable/disable; reset; populate), so existing
//! Toxiproxy clients drive it unchanged.
//!
//! Written on tokio rather than on the `noxious` crate (a Rust Toxiproxy
//! port): noxious stalls bytes already in flight for seconds when a latency
//! toxic is removed, and faultline needs the opposite guarantee (see
//! [`link`]). The wire format of the API follows Toxiproxy 2.x.

pub mod api;
pub mod link;
pub mod toxic;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use link::ToxicSet;
use toxic::{ActiveToxic, Toxic, ToxicJson};

/// The API's default port (Toxiproxy's).
pub const API_PORT: u16 = 8474;

/// How long a new connection waits for its upstream.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A proxy as the API creates and returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyConfig {
    /// Unique name.
    pub name: String,
    /// Listen address (`0.0.0.0:5432`; port 0 picks one).
    pub listen: String,
    /// Where connections go (`host:port`, resolved per connection).
    pub upstream: String,
    /// Whether it accepts connections.
    #[serde(default = "enabled_default")]
    pub enabled: bool,
}

fn enabled_default() -> bool {
    true
}

/// A proxy's state as the API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct ProxyView {
    /// Name.
    pub name: String,
    /// The bound address when enabled, else the configured one.
    pub listen: String,
    /// Upstream.
    pub upstream: String,
    /// Enabled.
    pub enabled: bool,
    /// Its toxics.
    pub toxics: Vec<ToxicJson>,
}

/// A failed API operation, with the HTTP status it maps to.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProxyError {
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 500 (the listen address could not be bound, say).
    #[error("{0}")]
    Internal(String),
}

struct Proxy {
    config: ProxyConfig,
    bound: Option<SocketAddr>,
    toxics: watch::Sender<ToxicSet>,
    listener: Option<JoinHandle<()>>,
    connections: Arc<Mutex<HashMap<u64, JoinHandle<()>>>>,
}

impl Proxy {
    fn view(&self) -> ProxyView {
        ProxyView {
            name: self.config.name.clone(),
            listen: self
                .bound
                .map(|a| a.to_string())
                .unwrap_or_else(|| self.config.listen.clone()),
            upstream: self.config.upstream.clone(),
            enabled: self.config.enabled,
            toxics: self
                .toxics
                .borrow()
                .iter()
                .map(|a| a.toxic.to_json())
                .collect(),
        }
    }

    fn stop(&mut self) {
        if let Some(l) = self.listener.take() {
            l.abort();
        }
        self.bound = None;
        if let Ok(mut conns) = self.connections.lock() {
            for (_, c) in conns.drain() {
                c.abort();
            }
        }
    }

    async fn start(&mut self, next_conn: Arc<AtomicU64>) -> Result<(), ProxyError> {
        let listener = TcpListener::bind(&self.config.listen)
            .await
            .map_err(|e| ProxyError::Internal(format!("listen {}: {e}", self.config.listen)))?;
        self.bound = listener.local_addr().ok();
        // A proxy asked to listen on port 0 keeps the port it got, so that
        // disabling and enabling it does not move it.
        if let Some(bound) = self.bound {
            self.config.listen = bound.to_string();
        }
        let upstream = self.config.upstream.clone();
        let toxics = self.toxics.subscribe();
        let connections = self.connections.clone();
        self.listener = Some(tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let id = next_conn.fetch_add(1, Ordering::Relaxed);
                let upstream = upstream.clone();
                let toxics = toxics.clone();
                let registry = connections.clone();
                let task = tokio::spawn(async move {
                    let connect = TcpStream::connect(upstream.as_str());
                    if let Ok(Ok(up)) =
                        tokio::time::timeout(UPSTREAM_CONNECT_TIMEOUT, connect).await
                    {
                        link::relay(client, up, toxics, id).await;
                    }
                    if let Ok(mut r) = registry.lock() {
                        r.remove(&id);
                    }
                });
                if let Ok(mut r) = connections.lock() {
                    if !task.is_finished() {
                        r.insert(id, task);
                    }
                }
            }
        }));
        Ok(())
    }
}

/// Every proxy of one `faultline-proxy` process.
#[derive(Clone, Default)]
pub struct Registry {
    proxies: Arc<tokio::sync::Mutex<BTreeMap<String, Proxy>>>,
    next_conn: Arc<AtomicU64>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Creates a proxy (and starts it when enabled).
    pub async fn create(&self, config: ProxyConfig) -> Result<ProxyView, ProxyError> {
        if config.name.is_empty() {
            return Err(ProxyError::BadRequest("a proxy needs a name".into()));
        }
        let mut proxies = self.proxies.lock().await;
        if proxies.contains_key(&config.name) {
            return Err(ProxyError::Conflict("proxy already exists".into()));
        }
        let (toxics, _) = watch::channel(Arc::new(Vec::new()));
        let mut proxy = Proxy {
            config,
            bound: None,
            toxics,
            listener: None,
            connections: Arc::default(),
        };
        if proxy.config.enabled {
            proxy.start(self.next_conn.clone()).await?;
        }
        let view = proxy.view();
        proxies.insert(proxy.config.name.clone(), proxy);
        Ok(view)
    }

    /// Creates the proxies that do not exist and updates those that do.
    pub async fn populate(&self, configs: Vec<ProxyConfig>) -> Result<Vec<ProxyView>, ProxyError> {
        let mut out = Vec::new();
        for c in configs {
            let exists = self.proxies.lock().await.contains_key(&c.name);
            out.push(if exists {
                self.update(
                    &c.name,
                    Some(c.listen.clone()),
                    Some(c.upstream.clone()),
                    Some(c.enabled),
                )
                .await?
            } else {
                self.create(c).await?
            });
        }
        Ok(out)
    }

    /// Every proxy.
    pub async fn list(&self) -> BTreeMap<String, ProxyView> {
        self.proxies
            .lock()
            .await
            .iter()
            .map(|(k, p)| (k.clone(), p.view()))
            .collect()
    }

    /// One proxy.
    pub async fn get(&self, name: &str) -> Result<ProxyView, ProxyError> {
        self.proxies
            .lock()
            .await
            .get(name)
            .map(Proxy::view)
            .ok_or_else(|| ProxyError::NotFound("proxy not found".into()))
    }

    /// Changes a proxy's listen address, upstream or enabled state.
    /// Disabling closes its listener and every open connection.
    pub async fn update(
        &self,
        name: &str,
        listen: Option<String>,
        upstream: Option<String>,
        enabled: Option<bool>,
    ) -> Result<ProxyView, ProxyError> {
        let mut proxies = self.proxies.lock().await;
        let proxy = proxies
            .get_mut(name)
            .ok_or_else(|| ProxyError::NotFound("proxy not found".into()))?;
        let restart = listen.as_ref().is_some_and(|l| *l != proxy.config.listen)
            || upstream
                .as_ref()
                .is_some_and(|u| *u != proxy.config.upstream)
            || enabled.is_some_and(|e| e != proxy.config.enabled);
        if let Some(l) = listen {
            proxy.config.listen = l;
        }
        if let Some(u) = upstream {
            proxy.config.upstream = u;
        }
        if let Some(e) = enabled {
            proxy.config.enabled = e;
        }
        if restart {
            proxy.stop();
            if proxy.config.enabled {
                proxy.start(self.next_conn.clone()).await?;
            }
        }
        Ok(proxy.view())
    }

    /// Removes a proxy, closing its connections.
    pub async fn delete(&self, name: &str) -> Result<(), ProxyError> {
        let mut proxy = self
            .proxies
            .lock()
            .await
            .remove(name)
            .ok_or_else(|| ProxyError::NotFound("proxy not found".into()))?;
        proxy.stop();
        Ok(())
    }

    /// Enables every proxy and removes every toxic.
    pub async fn reset(&self) -> Result<(), ProxyError> {
        let mut proxies = self.proxies.lock().await;
        for proxy in proxies.values_mut() {
            proxy.toxics.send_replace(Arc::new(Vec::new()));
            if !proxy.config.enabled {
                proxy.config.enabled = true;
                proxy.start(self.next_conn.clone()).await?;
            }
        }
        Ok(())
    }

    async fn with_toxics<T>(
        &self,
        proxy: &str,
        f: impl FnOnce(&mut Vec<ActiveToxic>) -> Result<T, ProxyError>,
    ) -> Result<T, ProxyError> {
        let proxies = self.proxies.lock().await;
        let p = proxies
            .get(proxy)
            .ok_or_else(|| ProxyError::NotFound("proxy not found".into()))?;
        let mut toxics: Vec<ActiveToxic> = p.toxics.borrow().as_ref().clone();
        let out = f(&mut toxics)?;
        // Every pump of every open connection wakes on this and recomputes.
        p.toxics.send_replace(Arc::new(toxics));
        Ok(out)
    }

    /// The toxics of a proxy.
    pub async fn toxics(&self, proxy: &str) -> Result<Vec<ToxicJson>, ProxyError> {
        self.with_toxics(proxy, |t| Ok(t.iter().map(|a| a.toxic.to_json()).collect()))
            .await
    }

    /// Adds a toxic; it acts on open connections at once.
    pub async fn add_toxic(&self, proxy: &str, json: ToxicJson) -> Result<ToxicJson, ProxyError> {
        let toxic = Toxic::from_json(json).map_err(ProxyError::BadRequest)?;
        self.with_toxics(proxy, |t| {
            if t.iter().any(|a| a.toxic.name == toxic.name) {
                return Err(ProxyError::Conflict("toxic already exists".into()));
            }
            let out = toxic.to_json();
            t.push(ActiveToxic {
                toxic,
                since: Instant::now(),
            });
            Ok(out)
        })
        .await
    }

    /// One toxic.
    pub async fn get_toxic(&self, proxy: &str, name: &str) -> Result<ToxicJson, ProxyError> {
        self.with_toxics(proxy, |t| {
            t.iter()
                .find(|a| a.toxic.name == name)
                .map(|a| a.toxic.to_json())
                .ok_or_else(|| ProxyError::NotFound("toxic not found".into()))
        })
        .await
    }

    /// Changes a toxic's attributes or toxicity.
    pub async fn update_toxic(
        &self,
        proxy: &str,
        name: &str,
        json: ToxicJson,
    ) -> Result<ToxicJson, ProxyError> {
        self.with_toxics(proxy, |t| {
            let a = t
                .iter_mut()
                .find(|a| a.toxic.name == name)
                .ok_or_else(|| ProxyError::NotFound("toxic not found".into()))?;
            a.toxic = a.toxic.update(json).map_err(ProxyError::BadRequest)?;
            a.since = Instant::now();
            Ok(a.toxic.to_json())
        })
        .await
    }

    /// Removes a toxic; bytes it was holding are released at once.
    pub async fn remove_toxic(&self, proxy: &str, name: &str) -> Result<(), ProxyError> {
        self.with_toxics(proxy, |t| {
            let before = t.len();
            t.retain(|a| a.toxic.name != name);
            if t.len() == before {
                Err(ProxyError::NotFound("toxic not found".into()))
            } else {
                Ok(())
            }
        })
        .await
    }
}
