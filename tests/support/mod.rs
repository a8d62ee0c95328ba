//! What the container tests share: images built from the current code, one
//! stack at a time on this machine, and a stack that is removed however the
//! test ends.

#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

use faultline::images;
use faultline::platform::docker::Engine;
use faultline::platform::Platform;
use faultline::stack::{self, Owner, Stack, StackSettings, UpOptions};

/// Stops the test, in one line, when the machine cannot cut networks
/// inside containers (zone isolation, partitions): that needs root, and
/// `nsenter` and `iptables` on the host.
pub fn require_network_tools() {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false);
    let has = |tool: &str| {
        std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok()
    };
    let missing: Vec<&str> = [
        ("root", root),
        ("nsenter", has("nsenter")),
        ("iptables", has("iptables")),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(what, _)| what)
    .collect();
    assert!(
        missing.is_empty(),
        "this test cuts networks inside containers and needs {} (`make setup` installs the tools; run the tests as root)",
        missing.join(", ")
    );
}

/// A fault context on `stack` with a fixed seed, for injecting faults by
/// hand as the harness would. Checks first that the machine can cut
/// networks ([`require_network_tools`]).
pub fn fault_context(stack: &Stack) -> faultline::faults::FaultContext {
    use rand::SeedableRng;
    require_network_tools();
    faultline::faults::FaultContext {
        stack: stack.clone(),
        clock: faultline::workload::RunClock::start_now(),
        rng: std::sync::Mutex::new(rand::rngs::StdRng::seed_from_u64(7)),
    }
}

/// Builds every image once per test process (seconds when nothing changed),
/// so the tests run the services' current code. Call it holding the
/// [`StackLock`], so parallel tests do not build at the same time.
pub async fn engine_with_images() -> Engine {
    static BUILT: OnceLock<()> = OnceLock::new();
    let engine = match Engine::connect(false).await {
        Ok(engine) => engine,
        Err(e) => panic!("this test needs a running Docker engine: {e}"),
    };
    if BUILT.get().is_none() {
        images::build_all(&engine, &images::BuildOptions::default())
            .await
            .expect("building images");
        let _ = BUILT.set(());
    }
    engine
}

/// Serialises stack tests across test threads and processes.
pub use faultline::stack::MachineLock as StackLock;

/// A stack owned by this test: removed on drop, even after a panic.
pub struct TestStack {
    pub stack: Stack,
    _lock: StackLock,
}

impl std::ops::Deref for TestStack {
    type Target = Stack;
    fn deref(&self) -> &Stack {
        &self.stack
    }
}

/// Set to keep the stack of a failing test for inspection (`faultline
/// status`, `docker logs`); `faultline clean` removes it afterwards.
pub const KEEP_FAILED_ENV: &str = "FAULTLINE_TEST_KEEP_FAILED";

impl Drop for TestStack {
    fn drop(&mut self) {
        if std::thread::panicking() && std::env::var_os(KEEP_FAILED_ENV).is_some() {
            eprintln!(
                "{KEEP_FAILED_ENV} is set: kept the failed test's stack (run {}); `faultline clean` removes it",
                self.stack.run
            );
            return;
        }
        let stack = self.stack.clone();
        // Drop cannot await; tear down on a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Runtime::new() {
                let _ = rt.block_on(stack.down());
            }
        })
        .join();
    }
}

/// Starts a stack with `settings` and waits for it to be ready.
pub async fn start_stack(settings: StackSettings) -> TestStack {
    let lock = tokio::task::spawn_blocking(StackLock::acquire)
        .await
        .expect("lock thread")
        .expect("the machine-wide stack lock");
    let engine = engine_with_images().await;
    let opts = UpOptions {
        run: stack::new_run_id(),
        system: "test".into(),
        owner: Owner::current_process(),
        ready_timeout: Duration::from_secs(180),
    };
    let stack = stack::up(&Platform::Docker(engine), &settings, &opts)
        .await
        .expect("the stack comes up ready");
    TestStack { stack, _lock: lock }
}

/// Prints the last log lines of the named nodes (for a failing test's
/// output), without Patroni's tracebacks of REST clients that hung up.
pub async fn dump_logs(stack: &Stack, names: &[&str]) {
    for name in names {
        if let Some(n) = stack.node(name) {
            let logs = stack.platform().logs_tail(&n.container, 400).await;
            let kept: Vec<&str> = logs
                .lines()
                .filter(|l| {
                    !(l.starts_with("  ")
                        || l.contains("Traceback")
                        || l.contains("Connection reset by peer")
                        || l.contains("Exception happened during processing")
                        || l.contains("no action. I am")
                        || l.trim().is_empty())
                })
                .collect();
            let from = kept.len().saturating_sub(30);
            eprintln!(
                "---- last log lines of {name} ----\n{}",
                kept[from..].join("\n")
            );
        }
    }
}

/// An HTTP client for the tests.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Polls `check` every 250 ms until it returns `Some`, or panics after
/// `timeout` with `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = std::time::Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if started.elapsed() > timeout {
            panic!("{what}: not within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Creates an order through the ingress; returns its id when acknowledged.
pub async fn create_order(client: &reqwest::Client, ingress: &str) -> Option<uuid::Uuid> {
    let id = uuid::Uuid::new_v4();
    let body = serde_json::json!({"id": id, "customer": "test", "amount_cents": 1234});
    let resp = client
        .post(format!("{ingress}/orders"))
        .json(&body)
        .send()
        .await
        .ok()?;
    resp.status().is_success().then_some(id)
}
