//! `pod-pause`: freeze containers (cgroup freezer, `docker pause`) — a hung
//! process, not a dead one: its sockets stay open and its peers wait.

use super::kinds::pod_pause::PodPause;
use super::{select, FaultContext, FaultError, Revert, Reverted};

/// Freezes the selected containers.
pub async fn inject(
    ctx: &FaultContext,
    _id: usize,
    fault: &PodPause,
    label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    let nodes = select::resolve(ctx, &fault.target, label).await?;
    let platform = ctx.stack.platform();
    let mut paused = Vec::new();
    for n in &nodes {
        if let Err(e) = platform.pause(&n.container).await {
            let _ = super::undo(&ctx.stack, &Revert::Unpause(paused)).await;
            return Err(e.into());
        }
        paused.push(n.container.clone());
    }
    Ok((
        nodes.into_iter().map(|n| n.name).collect(),
        Revert::Unpause(paused),
    ))
}

/// Thaws them.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<Reverted, FaultError> {
    super::undo(&ctx.stack, revert).await.map(|()| Reverted::default())
}
