//! `db-failover`: the PostgreSQL leader fails over. `kill-leader` SIGKILLs
//! the leader's container (unplanned; it is started again when the fault
//! ends and rejoins as a replica); `switchover` asks Patroni for a planned
//! switchover to a streaming replica. Either way the time to recover is the
//! system's (Patroni's, the router's, the services'), not the harness's.

use std::time::Duration;

use serde_json::json;

use super::kinds::db_failover::{DbFailover, FailoverMode};
use super::{kill_all, FaultContext, FaultError, Revert, Reverted};
use crate::stack::topology::PATRONI_PORT;
use crate::stack::{ready, Service};

/// Fails the leader over.
pub async fn inject(
    ctx: &FaultContext,
    _id: usize,
    fault: &DbFailover,
    _label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    let mode = fault.mode;
    let cluster = ready::patroni_cluster(&ctx.stack).await;
    let leader = cluster
        .iter()
        .find(|(_, s)| s.as_ref().is_some_and(ready::PatroniNode::is_leader))
        .map(|(n, s)| (n.clone(), s.clone()))
        .ok_or_else(|| FaultError::Patroni {
            operation: "leader lookup",
            reason: "no node is leader".into(),
        })?;
    let (leader, state) = leader;
    let node = ctx
        .stack
        .node(&leader)
        .filter(|n| n.is(Service::Postgres))
        .ok_or_else(|| FaultError::NoTarget {
            fault: "db-failover".into(),
        })?;
    match mode {
        FailoverMode::KillLeader => {
            let revert = kill_all(&ctx.stack, std::slice::from_ref(&node.container)).await?;
            Ok((vec![leader], revert))
        }
        FailoverMode::Switchover => {
            let candidate = state
                .and_then(|s| s.streaming.first().cloned())
                .ok_or_else(|| FaultError::Patroni {
                    operation: "switchover",
                    reason: "no replica is streaming from the leader".into(),
                })?;
            let addr = node.addr(PATRONI_PORT).unwrap_or_default();
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default();
            let r = client
                .post(format!("http://{addr}/switchover"))
                .json(&json!({"leader": leader, "candidate": candidate}))
                .send()
                .await
                .map_err(|e| FaultError::Patroni {
                    operation: "switchover",
                    reason: e.to_string(),
                })?;
            if !r.status().is_success() {
                return Err(FaultError::Patroni {
                    operation: "switchover",
                    reason: format!("{}: {}", r.status(), r.text().await.unwrap_or_default()),
                });
            }
            Ok((vec![leader, candidate], Revert::Nothing))
        }
    }
}

/// Starts a killed leader again (a switchover has nothing to undo).
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<Reverted, FaultError> {
    super::undo(&ctx.stack, revert).await.map(|()| Reverted::default())
}
