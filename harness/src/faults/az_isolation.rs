//! `az-isolation`: a zone's containers cut off from every container outside
//! the zone (other zones and the regional load balancer and router), while
//! still running — where split brain, and lost writes, can happen. The
//! harness keeps reaching every container through its published ports.

use super::partition::cut_between;
use super::kinds::az_isolation::AzIsolation;
use super::{FaultContext, FaultError, Revert, Reverted};
use crate::stack::Node;

/// Isolates the zone.
pub async fn inject(
    ctx: &FaultContext,
    id: usize,
    fault: &AzIsolation,
    label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    let (inside, outside): (Vec<&Node>, Vec<&Node>) =
        ctx.stack.nodes.iter().partition(|n| n.zone == fault.zone);
    cut_between(ctx, id, &inside, &outside, label)
        .await
        .map(|(_, revert)| (inside.iter().map(|n| n.name.clone()).collect(), revert))
}

/// Reconnects the zone.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<Reverted, FaultError> {
    super::undo(&ctx.stack, revert).await.map(|()| Reverted::default())
}
