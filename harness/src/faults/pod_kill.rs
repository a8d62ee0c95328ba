//! `pod-kill`: SIGKILL one or more containers picked by service, zone or
//! role. The harness starts them again when the fault's duration
//! (`restart_after`) ends, as an orchestrator would.

use super::spec::Selector;
use super::{kill_all, select, FaultContext, FaultError, Revert};

/// Kills the selected containers.
pub async fn inject(
    ctx: &FaultContext,
    sel: &Selector,
    label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    let nodes = select::resolve(ctx, sel, label).await?;
    let containers: Vec<String> = nodes.iter().map(|n| n.container.clone()).collect();
    let revert = kill_all(&ctx.stack, &containers).await?;
    Ok((nodes.into_iter().map(|n| n.name).collect(), revert))
}

/// Starts them again.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<(), FaultError> {
    super::undo(&ctx.stack, revert).await
}
