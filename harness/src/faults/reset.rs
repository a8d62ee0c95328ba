//! `reset`: every connection on a hop reset (TCP RST) as soon as it is
//! made, through the fault proxy's `reset_peer` toxic.

use serde_json::json;

use super::spec::Direction;
use super::kinds::reset::Reset;
use super::{toxics, FaultContext, FaultError, Revert, Reverted};

/// Starts resetting.
pub async fn inject(
    ctx: &FaultContext,
    id: usize,
    fault: &Reset,
    _label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    toxics::on_hop(
        ctx,
        id,
        &fault.hop,
        "reset_peer",
        json!({"timeout": 0}),
        Direction::Downstream,
    )
    .await
}

/// Stops.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<Reverted, FaultError> {
    super::undo(&ctx.stack, revert).await.map(|()| Reverted::default())
}
