//! `make bench-proxy`: faultline-proxy (the binary that runs in the stack)
//! against a direct connection, side by side, on loopback: the latency it
//! adds per round trip, its bulk throughput, how soon a toxic change acts on
//! an open connection, and how long bytes in flight wait when a toxic is
//! removed. Not a test: it prints a table for BENCHMARKS.md.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const ROUND_TRIPS: usize = 10_000;
const BULK_BYTES: u64 = 4 << 30;

/// A blocking echo server, one thread per connection. It runs in a child
/// process (this binary again, with `--echo`), so that a direct round trip
/// crosses processes just as a proxied one does.
fn run_echo_server() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    println!("{}", l.local_addr().unwrap());
    for s in l.incoming().flatten() {
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            let mut s = s;
            let _ = s.set_nodelay(true);
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 || s.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
    }
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn echo_server() -> (Child, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--echo")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (Child(child), line.trim().to_string())
}

async fn sink_server() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 1 << 20];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
                let _ = s.write_all(b"done").await;
            });
        }
    });
    addr
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

async fn round_trips(addr: &str) -> (Duration, Duration) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    let msg = [7u8; 64];
    let mut got = [0u8; 64];
    for _ in 0..1000 {
        s.write_all(&msg).await.unwrap();
        s.read_exact(&mut got).await.unwrap();
    }
    let mut rtts = Vec::with_capacity(ROUND_TRIPS);
    for _ in 0..ROUND_TRIPS {
        let t = Instant::now();
        s.write_all(&msg).await.unwrap();
        s.read_exact(&mut got).await.unwrap();
        rtts.push(t.elapsed());
    }
    rtts.sort();
    (percentile(&rtts, 0.5), percentile(&rtts, 0.99))
}

async fn bulk(addr: &str) -> f64 {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let buf = vec![1u8; 1 << 20];
    let t = Instant::now();
    let mut sent = 0u64;
    while sent < BULK_BYTES {
        s.write_all(&buf).await.unwrap();
        sent += buf.len() as u64;
    }
    s.shutdown().await.unwrap();
    let mut done = [0u8; 4];
    s.read_exact(&mut done).await.unwrap();
    BULK_BYTES as f64 / t.elapsed().as_secs_f64() / 1e9
}

struct ProxyProcess {
    child: std::process::Child,
    api: String,
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_proxy() -> ProxyProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline-proxy"))
        .args(["--host", "127.0.0.1", "--port", "0"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("faultline-proxy starts");
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let api = format!("http://{}", line.trim().rsplit(' ').next().unwrap());
    ProxyProcess { child, api }
}

async fn create(http: &reqwest::Client, api: &str, name: &str, upstream: &str) -> String {
    let v: serde_json::Value = http
        .post(format!("{api}/proxies"))
        .json(&serde_json::json!({"name": name, "listen": "127.0.0.1:0", "upstream": upstream}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["listen"].as_str().unwrap().to_string()
}

/// How long after the API call returns an open connection feels a new
/// 50 ms latency toxic: the send time of the first slowed round trip,
/// minus the moment the call returned (≤ 0: it was already in force).
async fn change_delay(http: &reqwest::Client, api: &str, proxy_addr: &str) -> (Vec<f64>, usize) {
    let mut out = Vec::new();
    let mut missed = 0;
    for _ in 0..20 {
        let mut s = TcpStream::connect(proxy_addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let pinger = tokio::spawn(async move {
            let mut log = Vec::new();
            let mut got = [0u8; 8];
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                s.write_all(b"pingpong").await.unwrap();
                s.read_exact(&mut got).await.unwrap();
                log.push((t, t.elapsed()));
                tokio::time::sleep(Duration::from_micros(500)).await;
            }
            log
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        http.post(format!("{api}/proxies/echo/toxics"))
            .json(&serde_json::json!({"name": "lat", "type": "latency", "attributes": {"latency": 50}}))
            .send()
            .await
            .unwrap();
        let returned = Instant::now();
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let log = pinger.await.unwrap();
        http.delete(format!("{api}/proxies/echo/toxics/lat"))
            .send()
            .await
            .unwrap();
        let first_slow = log
            .iter()
            .find(|(_, rtt)| *rtt >= Duration::from_millis(50))
            .map(|(t, _)| *t)
            .unwrap();
        // Round trips that started after the call returned but were not slowed.
        missed += log
            .iter()
            .filter(|(t, rtt)| *t > returned && *rtt < Duration::from_millis(50))
            .count();
        let delay_ms = if first_slow > returned {
            (first_slow - returned).as_secs_f64() * 1000.0
        } else {
            -((returned - first_slow).as_secs_f64() * 1000.0)
        };
        out.push(delay_ms);
    }
    (out, missed)
}

/// How long bytes already in flight wait after a 2 s latency toxic is
/// removed 100 ms after they were sent.
async fn removal_stall(http: &reqwest::Client, api: &str, proxy_addr: &str) -> Vec<f64> {
    let mut out = Vec::new();
    for _ in 0..10 {
        let mut s = TcpStream::connect(proxy_addr).await.unwrap();
        http.post(format!("{api}/proxies/echo/toxics"))
            .json(&serde_json::json!({"name": "slow", "type": "latency", "attributes": {"latency": 2000}}))
            .send()
            .await
            .unwrap();
        s.write_all(b"in-flight").await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        http.delete(format!("{api}/proxies/echo/toxics/slow"))
            .send()
            .await
            .unwrap();
        let removed = Instant::now();
        let mut got = [0u8; 9];
        s.read_exact(&mut got).await.unwrap();
        out.push(removed.elapsed().as_secs_f64() * 1000.0);
    }
    out
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if std::env::args().any(|a| a == "--echo") {
        run_echo_server();
        return;
    }
    let proxy = start_proxy();
    let (_echo_process, echo) = echo_server();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let sink = sink_server().await;
        let echo_via = create(&http, &proxy.api, "echo", &echo).await;
        let sink_via = create(&http, &proxy.api, "sink", &sink).await;

        // Five alternating rounds; the median of each figure.
        let mut runs = Vec::new();
        for _ in 0..5 {
            let direct = round_trips(&echo).await;
            let proxied = round_trips(&echo_via).await;
            runs.push((direct, proxied));
        }
        type Pair = ((Duration, Duration), (Duration, Duration));
        let median = |f: &dyn Fn(&Pair) -> Duration| {
            let mut v: Vec<Duration> = runs.iter().map(f).collect();
            v.sort();
            v[v.len() / 2]
        };
        let (d50, d99) = (median(&|r| r.0 .0), median(&|r| r.0 .1));
        let (p50, p99) = (median(&|r| r.1 .0), median(&|r| r.1 .1));
        let added50 = median(&|r| r.1 .0.saturating_sub(r.0 .0));
        let added99 = median(&|r| r.1 .1.saturating_sub(r.0 .1));
        let direct_gbs = bulk(&sink).await;
        let proxied_gbs = bulk(&sink_via).await;
        let (change, missed) = change_delay(&http, &proxy.api, &echo_via).await;
        let stall = removal_stall(&http, &proxy.api, &echo_via).await;

        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!("| path | round trip p50 µs | round trip p99 µs | bulk GB/s |");
        println!("|---|---|---|---|");
        println!("| direct | {:.1} | {:.1} | {direct_gbs:.2} |", us(d50), us(d99));
        println!("| through faultline-proxy | {:.1} | {:.1} | {proxied_gbs:.2} |", us(p50), us(p99));
        println!("| added by the proxy (median of 5 paired rounds) | {:.1} | {:.1} | {:.2}× direct |", us(added50), us(added99), proxied_gbs / direct_gbs);
        let max = |v: &[f64]| v.iter().cloned().fold(f64::MIN, f64::max);
        println!("\ntoxic change on an open connection, ms after the API call returned (20 trials): max {:.2}, all {:?}",
            max(&change), change.iter().map(|x| (x * 100.0).round() / 100.0).collect::<Vec<_>>());
        println!("round trips started after the call returned that the new toxic did not slow: {missed}");
        println!("bytes in flight after a 2 s latency toxic is removed, ms waited (10 trials): max {:.2}, all {:?}",
            max(&stall), stall.iter().map(|x| (x * 100.0).round() / 100.0).collect::<Vec<_>>());
    });
}
