//! `blackhole`: a hop that swallows every byte (connections stay open, data
//! waits), through the fault proxy's `timeout` toxic with no timeout.

use serde_json::json;

use super::kinds::blackhole::Blackhole;
use super::{toxics, FaultContext, FaultError, Revert, Reverted};

/// Starts swallowing.
pub async fn inject(
    ctx: &FaultContext,
    id: usize,
    fault: &Blackhole,
    _label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    let timeout = json!({"timeout": 0});
    toxics::on_hop(ctx, id, &fault.hop, "timeout", timeout, fault.direction).await
}

/// Lets the held bytes through.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<Reverted, FaultError> {
    super::undo(&ctx.stack, revert).await.map(|()| Reverted::default())
}
