//! `region-loss`: every database node and its disk destroyed at once (and,
//! as options, the broker's store and Redis) — the day the documented RPOs
//! are about. Its end is the documented recovery, driven step by step and
//! timed:
//!
//! 1. `detected`: the recovery begins (`restore_after` models the time an
//!    operator takes to declare the region lost);
//! 2. `dcs-cleared`: the lost cluster's state removed from etcd, so that a
//!    new cluster may form;
//! 3. `restored`: a new node has restored the newest base backup from the
//!    backup region (Patroni's pgBackRest bootstrap);
//! 4. `replayed`: PostgreSQL has replayed every archived WAL segment
//!    (point-in-time recovery to the newest point it can reach);
//! 5. `promoted`: Patroni serves the restored node as leader;
//! 6. `rejoined`: every other node is rebuilt from the new leader and
//!    streams.
//!
//! `restored` and `replayed` are read from the node's log timestamps; the
//! others are when the harness saw them.
//!
//! The services need no re-pointing: they reach the database through their
//! fault proxy and the router, which resolve the recreated nodes by name.

use std::time::Duration;

use super::kinds::region_loss::RegionLoss;
use super::{FaultContext, FaultError, Revert, Reverted, Step};
use crate::poll::{self, Attempt};
use crate::stack::configs::Bootstrap;
use crate::stack::{ready, topology, Service, StackSettings};

/// What the restore must rebuild.
#[derive(Debug, Clone, PartialEq)]
pub struct RestorePlan {
    /// The broker and its store were destroyed too.
    pub broker_store: bool,
    /// Redis was killed too.
    pub cache: bool,
}

/// The longest a restore may take before it counts as failed.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(300);

/// Destroys the database nodes and their volumes (and what the options add).
pub async fn inject(
    ctx: &FaultContext,
    _id: usize,
    fault: &RegionLoss,
    _label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    let (broker_store, cache) = (fault.broker_store, fault.cache);
    let stack = &ctx.stack;
    let platform = stack.platform();
    let mut targets = Vec::new();
    let mut doomed: Vec<(String, String)> = stack
        .nodes_of(Service::Postgres)
        .map(|n| (n.container.clone(), n.name.clone()))
        .collect();
    if broker_store {
        doomed.extend(
            stack
                .nodes_of(Service::Broker)
                .map(|n| (n.container.clone(), n.name.clone())),
        );
    }
    // All at once: a region does not fail one machine at a time.
    let kills =
        futures_util::future::join_all(doomed.iter().map(|(c, _)| platform.remove_node(c))).await;
    for r in kills {
        r?;
    }
    for (_, name) in &doomed {
        let volume = if name == "broker" {
            "broker-data".to_string()
        } else {
            format!("{name}-data")
        };
        platform.remove_volume(&stack.run, &volume).await?;
        targets.push(name.clone());
    }
    if cache {
        for n in stack.nodes_of(Service::Redis) {
            super::kill_all(stack, std::slice::from_ref(&n.container)).await?;
            targets.push(n.name.clone());
        }
    }
    Ok((
        targets,
        Revert::Restore(RestorePlan {
            broker_store,
            cache,
        }),
    ))
}

fn settings(ctx: &FaultContext) -> Result<StackSettings, FaultError> {
    ctx.stack.settings.clone().ok_or_else(|| {
        FaultError::Restore(
            "the stack's settings are unknown (it carries no settings label)".into(),
        )
    })
}

/// The last pgBackRest error line of a node's log, if any.
async fn pgbackrest_error(ctx: &FaultContext, container: &str) -> Option<String> {
    let logs = ctx.stack.platform().logs_tail(container, 200).await;
    logs.lines()
        .rev()
        .find(|l| {
            l.contains("ERROR: [")
                || l.contains("failed to bootstrap")
                || l.contains("bootstrap failed")
        })
        .map(|l| l.trim().to_string())
}

/// The newest commit the restored database holds (the newest order's
/// `created_at`, ms since the Unix epoch): the point it was recovered to.
/// The node has just been promoted, so a few refused connections are
/// retried before the restore counts as failed.
async fn newest_commit(ctx: &FaultContext, node: &str) -> Result<Option<u64>, FaultError> {
    poll::until(
        Duration::from_millis(500),
        Duration::from_secs(30),
        || async {
            let attempt = async {
                let db = ctx.stack.pg_connect(node, "orders").await?;
                let row = db
                    .query_one(
                        "SELECT (extract(epoch FROM max(created_at)) * 1000)::bigint FROM orders",
                        &[],
                    )
                    .await?;
                Ok::<_, tokio_postgres::Error>(row.get::<_, Option<i64>>(0).map(|v| v as u64))
            };
            match attempt.await {
                Ok(point) => Attempt::Done(point),
                Err(e) => Attempt::NotYet(e),
            }
        },
    )
    .await
    .map_err(|t| {
        FaultError::Restore(format!(
            "the restored database could not be read: {}",
            t.last
        ))
    })
}

/// Carries out the revert of [`inject`]: the restore.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<Reverted, FaultError> {
    match revert {
        Revert::Restore(plan) => restore(ctx, plan).await,
        other => super::undo(&ctx.stack, other)
            .await
            .map(|()| Reverted::default()),
    }
}

/// Rebuilds the database from the backup region; every step is timed.
pub async fn restore(ctx: &FaultContext, plan: &RestorePlan) -> Result<Reverted, FaultError> {
    let stack = &ctx.stack;
    let platform = stack.platform();
    let settings = settings(ctx)?;
    let step = |name: &str| Step {
        name: name.into(),
        at_us: ctx.clock.now_us(),
    };
    // The recovery begins: the operator has declared the region lost.
    let mut steps = vec![step("detected")];

    // 1. The lost cluster's state leaves the DCS.
    let etcd = stack
        .nodes_of(Service::Etcd)
        .next()
        .map(|n| n.container.clone())
        .ok_or_else(|| FaultError::Restore("no etcd member to clear".into()))?;
    let (code, out) = platform
        .exec(
            &etcd,
            "",
            &["etcdctl", "del", "--prefix", "/service/faultline/"],
        )
        .await?;
    if code != 0 {
        return Err(FaultError::Restore(format!(
            "clearing the DCS failed: {}",
            out.trim()
        )));
    }
    steps.push(step("dcs-cleared"));

    // 2–3. A new leader from the newest base backup and the archived WAL.
    let pg_nodes = topology::postgres_nodes(&settings);
    let hosts = topology::etcd_hosts(&settings);
    let (first, rest) = pg_nodes
        .split_first()
        .ok_or_else(|| FaultError::Restore("the stack has no database node".into()))?;
    let zone_of = |name: &str| stack.node(name).map(|n| n.zone.clone()).unwrap_or_default();
    let spec = topology::postgres_node(
        first,
        &zone_of(first),
        &hosts,
        &settings,
        Bootstrap::FromBackup,
    );
    stack.recreate(&spec, true).await?;
    let container = crate::stack::object_name(&stack.run, first);
    let client = ready::probe_client();
    let addr = stack
        .node(first)
        .and_then(|n| n.addr(topology::PATRONI_PORT))
        .unwrap_or_default();
    // Until Patroni serves the restored node as leader; a pgBackRest
    // error or a node that stopped ends the wait at once.
    let led = poll::until(poll::EVERY, RESTORE_TIMEOUT, || async {
        if ready::patroni(&client, &addr)
            .await
            .as_ref()
            .is_some_and(ready::PatroniNode::is_leader)
        {
            return Attempt::Done(Ok(()));
        }
        if let Some(e) = pgbackrest_error(ctx, &container).await {
            return Attempt::Done(Err(e));
        }
        if !platform.state(&container).await.is_ok_and(|s| s.running) {
            let tail = platform.logs_tail(&container, 5).await;
            return Attempt::Done(Err(format!("the restoring node stopped: {}", tail.trim())));
        }
        Attempt::NotYet(())
    })
    .await;
    match led {
        Ok(Ok(())) => {}
        Ok(Err(why)) => return Err(FaultError::Restore(why)),
        Err(_) => {
            let why = pgbackrest_error(ctx, &container)
                .await
                .unwrap_or_else(|| format!("no leader after {} s", RESTORE_TIMEOUT.as_secs()));
            return Err(FaultError::Restore(why));
        }
    }
    let promoted = step("promoted");
    // When pgBackRest finished and when PostgreSQL finished replaying the
    // archive, from the node's own log timestamps (Patroni's API does not
    // answer during a bootstrap, so polling would blur them).
    let logs = platform.logs_timestamped(&container).await;
    let mut previous = steps.last().map_or(0, |s: &Step| s.at_us);
    for (name, line) in [
        ("restored", "restore command end: completed successfully"),
        ("replayed", "archive recovery complete"),
    ] {
        if let Some((unix_us, _)) = logs.iter().find(|(_, l)| l.contains(line)) {
            let at_us = unix_us
                .saturating_sub(ctx.clock.start_unix_ms * 1000)
                .clamp(previous, promoted.at_us);
            steps.push(Step {
                name: name.into(),
                at_us,
            });
            previous = at_us;
        }
    }
    steps.push(promoted);
    let recovered_to_unix_ms = newest_commit(ctx, first).await?;

    // 4. The other nodes rebuilt from the new leader.
    for name in rest {
        let spec =
            topology::postgres_node(name, &zone_of(name), &hosts, &settings, Bootstrap::Initdb);
        stack.recreate(&spec, true).await?;
    }
    poll::until(poll::EVERY, RESTORE_TIMEOUT, || async {
        let cluster = ready::patroni_cluster(stack).await;
        let streaming = cluster
            .iter()
            .find_map(|(_, s)| {
                s.as_ref()
                    .filter(|s| s.is_leader())
                    .map(|s| s.streaming.len())
            })
            .unwrap_or(0);
        if streaming >= rest.len() {
            Attempt::Done(())
        } else {
            Attempt::NotYet(streaming)
        }
    })
    .await
    .map_err(|t| {
        FaultError::Restore(format!(
            "{} of {} rebuilt replicas streamed within {} s",
            t.last,
            rest.len(),
            RESTORE_TIMEOUT.as_secs()
        ))
    })?;
    steps.push(step("rejoined"));

    // The broker's store and the cache come back empty.
    if plan.broker_store {
        let spec = topology::nodes(&settings)
            .into_iter()
            .find(|n| n.service == Service::Broker)
            .ok_or_else(|| FaultError::Restore("no broker in the topology".into()))?;
        stack.recreate(&spec, true).await?;
        steps.push(step("broker-rebuilt"));
    }
    if plan.cache {
        for n in stack.nodes_of(Service::Redis) {
            super::undo(stack, &Revert::Start(vec![n.container.clone()])).await?;
        }
    }
    Ok(Reverted {
        steps,
        recovered_to_unix_ms,
    })
}
