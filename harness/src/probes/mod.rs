//! Probes sampled on a fixed interval onto the run's clock: Patroni
//! replication lag (bytes and seconds, read on the leader), the analytics
//! consumer group's lag per partition (the broker's committed offsets
//! against the topic's end offsets, through the lag exporter — not a
//! member's own gauge, which cannot see a partition no member consumes),
//! and every service's `/health`.

pub mod broker;

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::measure::ProbeSample;
use crate::stack::topology::HTTP_PORT;
use crate::stack::{ready, Service, Stack};
use crate::workload::RunClock;

pub use faultline_core::probes::{
    CONSUMER_LAG, HEALTH, REPLICATION_LAG_BYTES, REPLICATION_LAG_SECONDS,
};

/// Running probes; [`Probes::finish`] stops them and returns the samples.
pub struct Probes {
    stop: watch::Sender<bool>,
    task: JoinHandle<Vec<ProbeSample>>,
}

impl Probes {
    /// Starts sampling `stack` every `interval`.
    pub fn start(stack: Stack, clock: RunClock, interval: Duration) -> Probes {
        Probes::start_with(stack, clock, interval, Vec::new())
    }

    /// Starts sampling `stack` every `interval`, and also each of `health`
    /// (name, URL): 1 when it answers 2xx within a second, else 0 (a stack
    /// file's health endpoints).
    pub fn start_with(
        stack: Stack,
        clock: RunClock,
        interval: Duration,
        health: Vec<(String, String)>,
    ) -> Probes {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            let client = ready::probe_client();
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                // Stop first: no sample starts once the run has finished.
                tokio::select! {
                    biased;
                    _ = stopped.changed() => break,
                    _ = tick.tick() => {}
                }
                sample_once(&stack, &client, &clock, &mut samples).await;
                for (name, url) in &health {
                    let up = client
                        .get(url.as_str())
                        .timeout(Duration::from_secs(1))
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    samples.push(ProbeSample {
                        at_us: clock.now_us(),
                        probe: format!("{HEALTH}:{name}"),
                        value: if up { 1.0 } else { 0.0 },
                    });
                }
            }
            samples
        });
        Probes { stop, task }
    }

    /// Stops sampling and returns every sample taken.
    pub async fn finish(self) -> Vec<ProbeSample> {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}

async fn sample_once(
    stack: &Stack,
    client: &reqwest::Client,
    clock: &RunClock,
    out: &mut Vec<ProbeSample>,
) {
    let at_us = clock.now_us();
    let mut push = |probe: String, value: f64| {
        out.push(ProbeSample {
            at_us,
            probe,
            value,
        })
    };
    if let Some((bytes, seconds)) = replication_lag(stack).await {
        push(REPLICATION_LAG_BYTES.into(), bytes);
        push(REPLICATION_LAG_SECONDS.into(), seconds);
    }
    for n in stack.nodes.iter().filter(|n| {
        matches!(
            n.reference,
            Some(Service::Gateway | Service::Orders | Service::Analytics)
        )
    }) {
        let Some(addr) = n.addr(HTTP_PORT) else {
            continue;
        };
        let body = match client.get(format!("http://{addr}/health")).send().await {
            Ok(r) => r.json::<serde_json::Value>().await.ok(),
            Err(_) => None,
        };
        let health = match body.as_ref().and_then(|b| b["status"].as_str()) {
            Some("ok") => 1.0,
            Some(_) => 0.5,
            None => 0.0,
        };
        push(format!("{HEALTH}:{}", n.name), health);
    }
    if let Ok(lag) = broker::group_lag(stack, Duration::from_secs(2)).await {
        for p in &lag.partitions {
            push(format!("{CONSUMER_LAG}:p{}", p.partition), p.lag() as f64);
        }
    }
}

/// The worst replica's lag behind the leader, in bytes and seconds.
async fn replication_lag(stack: &Stack) -> Option<(f64, f64)> {
    let leader = ready::leader(stack).await?;
    let client = tokio::time::timeout(
        Duration::from_secs(1),
        stack.pg_connect(&leader, "postgres"),
    )
    .await
    .ok()?
    .ok()?;
    let row = client
        .query_one(
            "SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0)::float8, \
                    coalesce(max(extract(epoch FROM replay_lag)), 0)::float8 \
             FROM pg_stat_replication",
            &[],
        )
        .await
        .ok()?;
    Some((row.get(0), row.get(1)))
}
