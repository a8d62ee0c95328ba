//! `bandwidth`: a hop limited to a rate, through the fault proxy.

use serde_json::json;

use super::kinds::bandwidth::Bandwidth;
use super::{toxics, FaultContext, FaultError, Revert, Reverted};

/// Limits the hop to its rate.
pub async fn inject(
    ctx: &FaultContext,
    id: usize,
    fault: &Bandwidth,
    _label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    toxics::on_hop(
        ctx,
        id,
        &fault.hop,
        "bandwidth",
        json!({"rate": fault.rate_kbps}),
        fault.direction,
    )
    .await
}

/// Lifts the limit.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<Reverted, FaultError> {
    super::undo(&ctx.stack, revert).await.map(|()| Reverted::default())
}
