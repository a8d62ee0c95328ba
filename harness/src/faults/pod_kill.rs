//! `pod-kill`: SIGKILL one or more containers picked by service, zone or
//! role. The harness starts them again when the fault's duration
//! (`restart_after`) ends, as an orchestrator would. On a stack faultline
//! did not create the kill is a crash of the container's process, so the
//! container's own restart policy acts as it would in production (the
//! engine's kill counts as a stop by hand, which no policy restarts); the
//! harness then starts only what is still down at `restart_after`.

use super::kinds::pod_kill::PodKill;
use super::{crash_all, kill_all, select, FaultContext, FaultError, Revert, Reverted};

/// Kills the selected containers.
pub async fn inject(
    ctx: &FaultContext,
    _id: usize,
    fault: &PodKill,
    label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    let nodes = select::resolve(ctx, &fault.target, label).await?;
    let containers: Vec<String> = nodes.iter().map(|n| n.container.clone()).collect();
    let revert = if nodes.iter().all(|n| n.reference.is_none()) {
        crash_all(&ctx.stack, &containers).await?
    } else {
        kill_all(&ctx.stack, &containers).await?
    };
    Ok((nodes.into_iter().map(|n| n.name).collect(), revert))
}

/// Starts them again.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<Reverted, FaultError> {
    super::undo(&ctx.stack, revert).await.map(|()| Reverted::default())
}
