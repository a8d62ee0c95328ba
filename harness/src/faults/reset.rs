//! `reset`: every connection on a hop reset (TCP RST) as soon as it is
//! made, through the fault proxy's `reset_peer` toxic.

use serde_json::json;

use super::spec::Direction;
use super::{toxics, FaultContext, FaultError, Revert};

/// Starts resetting.
pub async fn inject(
    ctx: &FaultContext,
    id: usize,
    hop: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    toxics::on_hop(
        ctx,
        id,
        hop,
        "reset_peer",
        json!({"timeout": 0}),
        Direction::Downstream,
    )
    .await
}

/// Stops.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<(), FaultError> {
    super::undo(&ctx.stack, revert).await
}
