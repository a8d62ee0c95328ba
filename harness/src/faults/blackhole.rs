//! `blackhole`: a hop that swallows every byte (connections stay open, data
//! waits), through the fault proxy's `timeout` toxic with no timeout.

use serde_json::json;

use super::spec::Direction;
use super::{toxics, FaultContext, FaultError, Revert};

/// Starts swallowing.
pub async fn inject(
    ctx: &FaultContext,
    id: usize,
    hop: &str,
    direction: Direction,
) -> Result<(Vec<String>, Revert), FaultError> {
    toxics::on_hop(ctx, id, hop, "timeout", json!({"timeout": 0}), direction).await
}

/// Lets the held bytes through.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<(), FaultError> {
    super::undo(&ctx.stack, revert).await
}
