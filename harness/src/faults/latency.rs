//! `latency`: added delay with jitter on one hop, through the fault proxy
//! (the kernel here has no netem; a userspace proxy works on every host).

use std::time::Duration;

use serde_json::json;

use super::spec::Direction;
use super::{toxics, FaultContext, FaultError, Revert};

/// Adds the delay.
pub async fn inject(
    ctx: &FaultContext,
    id: usize,
    hop: &str,
    latency: Duration,
    jitter: Duration,
    direction: Direction,
) -> Result<(Vec<String>, Revert), FaultError> {
    let attributes =
        json!({"latency": latency.as_millis() as u64, "jitter": jitter.as_millis() as u64});
    toxics::on_hop(ctx, id, hop, "latency", attributes, direction).await
}

/// Removes it; bytes it was holding go at once.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<(), FaultError> {
    super::undo(&ctx.stack, revert).await
}
