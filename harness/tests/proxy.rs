//! faultline-proxy against real sockets: bytes pass untouched without
//! toxics, each toxic does what Toxiproxy's does, a change acts on open
//! connections at once, and removing a toxic never strands bytes in flight.

use std::time::{Duration, Instant};

use faultline::proxy::{api, ProxyConfig, Registry};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An echo server; returns its address.
async fn echo() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

struct Fixture {
    api: String,
    http: reqwest::Client,
    proxy: String,
}

async fn fixture() -> Fixture {
    let upstream = echo().await;
    let registry = Registry::new();
    let view = registry
        .create(ProxyConfig {
            name: "echo".into(),
            listen: "127.0.0.1:0".into(),
            upstream,
            enabled: true,
        })
        .await
        .unwrap();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, api::router(registry)).await });
    Fixture {
        api,
        http: reqwest::Client::new(),
        proxy: view.listen,
    }
}

impl Fixture {
    async fn add(&self, toxic: serde_json::Value) -> reqwest::Response {
        self.http
            .post(format!("{}/proxies/echo/toxics", self.api))
            .json(&toxic)
            .send()
            .await
            .unwrap()
    }

    async fn remove(&self, name: &str) -> u16 {
        self.http
            .delete(format!("{}/proxies/echo/toxics/{name}", self.api))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

async fn round_trip(s: &mut TcpStream, msg: &[u8]) -> Duration {
    let t = Instant::now();
    s.write_all(msg).await.unwrap();
    let mut got = vec![0u8; msg.len()];
    s.read_exact(&mut got).await.unwrap();
    assert_eq!(got, msg);
    t.elapsed()
}

#[tokio::test]
async fn bytes_pass_untouched_without_toxics() {
    let f = fixture().await;
    let mut s = TcpStream::connect(&f.proxy).await.unwrap();
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let (mut r, mut w) = s.split();
    let write = async {
        w.write_all(&big).await.unwrap();
    };
    let read = async {
        let mut got = vec![0u8; big.len()];
        r.read_exact(&mut got).await.unwrap();
        got
    };
    let (_, got) = tokio::join!(write, read);
    assert_eq!(got, big);
    assert!(round_trip(&mut s, b"ping").await < Duration::from_millis(50));
}

#[tokio::test]
async fn a_latency_toxic_acts_on_an_open_connection_and_its_removal_frees_bytes_in_flight() {
    let f = fixture().await;
    let mut s = TcpStream::connect(&f.proxy).await.unwrap();
    assert!(round_trip(&mut s, b"before").await < Duration::from_millis(50));
    let r = f
        .add(json!({"name": "slow", "type": "latency", "stream": "downstream", "attributes": {"latency": 300}}))
        .await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["attributes"]["latency"], 300);
    let rtt = round_trip(&mut s, b"during").await;
    assert!(rtt >= Duration::from_millis(290), "{rtt:?}");

    // 3 s of latency, removed 200 ms after the send: the reply comes at the
    // removal, not 3 s later.
    f.http
        .post(format!("{}/proxies/echo/toxics/slow", f.api))
        .json(&json!({"attributes": {"latency": 3000}}))
        .send()
        .await
        .unwrap();
    let t = Instant::now();
    s.write_all(b"in flight").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(f.remove("slow").await, 204);
    let mut got = [0u8; 9];
    s.read_exact(&mut got).await.unwrap();
    let waited = t.elapsed();
    assert!(
        waited < Duration::from_millis(700),
        "bytes in flight waited {waited:?}"
    );
    assert!(round_trip(&mut s, b"after").await < Duration::from_millis(50));
}

#[tokio::test]
async fn a_timeout_toxic_holds_data_and_releases_it_when_removed() {
    let f = fixture().await;
    let mut s = TcpStream::connect(&f.proxy).await.unwrap();
    f.add(json!({"name": "hole", "type": "timeout", "stream": "upstream", "attributes": {"timeout": 0}}))
        .await;
    s.write_all(b"held").await.unwrap();
    let mut got = [0u8; 4];
    let early = tokio::time::timeout(Duration::from_millis(300), s.read_exact(&mut got)).await;
    assert!(early.is_err(), "nothing passes a black hole");
    assert_eq!(f.remove("hole").await, 204);
    tokio::time::timeout(Duration::from_secs(1), s.read_exact(&mut got))
        .await
        .expect("released")
        .unwrap();
    assert_eq!(&got, b"held");
}

#[tokio::test]
async fn a_timeout_toxic_with_a_timeout_closes_the_connection() {
    let f = fixture().await;
    let mut s = TcpStream::connect(&f.proxy).await.unwrap();
    f.add(json!({"type": "timeout", "attributes": {"timeout": 100}}))
        .await;
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
        .await
        .expect("closed within 2 s");
    assert!(matches!(n, Ok(0) | Err(_)));
}

#[tokio::test]
async fn reset_peer_resets_the_connection() {
    let f = fixture().await;
    let mut s = TcpStream::connect(&f.proxy).await.unwrap();
    round_trip(&mut s, b"x").await;
    f.add(json!({"type": "reset_peer", "attributes": {"timeout": 50}}))
        .await;
    let mut buf = [0u8; 1];
    let r = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
        .await
        .expect("reset within 2 s");
    match r {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
        Ok(n) => panic!("expected a reset, read {n} bytes"),
    }
}

#[tokio::test]
async fn limit_data_closes_after_the_limit() {
    let f = fixture().await;
    let mut s = TcpStream::connect(&f.proxy).await.unwrap();
    f.add(json!({"type": "limit_data", "stream": "downstream", "attributes": {"bytes": 10}}))
        .await;
    s.write_all(b"0123456789abcdef").await.unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut got)).await;
    assert_eq!(got, b"0123456789");
}

#[tokio::test]
async fn bandwidth_limits_throughput() {
    let f = fixture().await;
    let mut s = TcpStream::connect(&f.proxy).await.unwrap();
    f.add(json!({"type": "bandwidth", "stream": "downstream", "attributes": {"rate": 100}}))
        .await;
    let data = vec![7u8; 50_000];
    let t = Instant::now();
    s.write_all(&data).await.unwrap();
    let mut got = vec![0u8; data.len()];
    s.read_exact(&mut got).await.unwrap();
    let took = t.elapsed();
    // 50 kB at 100 kB/s: about half a second.
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
async fn the_api_speaks_toxiproxys_json_and_codes() {
    let f = fixture().await;
    let proxies: serde_json::Value = f
        .http
        .get(format!("{}/proxies", f.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(proxies["echo"]["enabled"], true);
    assert_eq!(proxies["echo"]["name"], "echo");
    let r = f
        .add(json!({"type": "latency", "attributes": {"latency": 10}}))
        .await;
    let t: serde_json::Value = r.json().await.unwrap();
    assert_eq!(t["name"], "latency_downstream");
    assert_eq!(t["toxicity"], 1.0);
    assert_eq!(f.add(json!({"type": "latency"})).await.status(), 409);
    assert_eq!(f.add(json!({"type": "wobble"})).await.status(), 400);
    assert_eq!(f.remove("nope").await, 404);
    let missing = f
        .http
        .get(format!("{}/proxies/nope", f.api))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let err: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(err["status"], 404);
    // reset removes every toxic.
    let r = f
        .http
        .post(format!("{}/reset", f.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let toxics: serde_json::Value = f
        .http
        .get(format!("{}/proxies/echo/toxics", f.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(toxics, json!([]));
}

#[tokio::test]
async fn disabling_a_proxy_closes_its_connections_and_refuses_new_ones() {
    let f = fixture().await;
    let mut s = TcpStream::connect(&f.proxy).await.unwrap();
    round_trip(&mut s, b"x").await;
    let r = f
        .http
        .post(format!("{}/proxies/echo", f.api))
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(n, Ok(0) | Err(_)));
    assert!(TcpStream::connect(&f.proxy).await.is_err());
    // Enabled again on the same address.
    f.http
        .post(format!("{}/proxies/echo", f.api))
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    let mut s = TcpStream::connect(&f.proxy).await.unwrap();
    round_trip(&mut s, b"back").await;
}

#[tokio::test]
async fn the_api_takes_json_whatever_the_content_type() {
    let f = fixture().await;
    let r = f
        .http
        .post(format!("{}/proxies/echo/toxics", f.api))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(r#"{"type":"latency","attributes":{"latency":1}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bad = f
        .http
        .post(format!("{}/proxies/echo/toxics", f.api))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}
