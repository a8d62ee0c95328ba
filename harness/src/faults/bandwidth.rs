//! `bandwidth`: a hop limited to a rate, through the fault proxy.

use serde_json::json;

use super::spec::Direction;
use super::{toxics, FaultContext, FaultError, Revert};

/// Limits the hop to `rate_kbps` KB/s.
pub async fn inject(
    ctx: &FaultContext,
    id: usize,
    hop: &str,
    rate_kbps: u64,
    direction: Direction,
) -> Result<(Vec<String>, Revert), FaultError> {
    toxics::on_hop(
        ctx,
        id,
        hop,
        "bandwidth",
        json!({"rate": rate_kbps}),
        direction,
    )
    .await
}

/// Lifts the limit.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<(), FaultError> {
    super::undo(&ctx.stack, revert).await
}
