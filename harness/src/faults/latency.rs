//! `latency`: added delay with jitter on one hop, through the fault proxy
//! (the kernel here has no netem; a userspace proxy works on every host).

use serde_json::json;

use super::kinds::latency::Latency;
use super::{toxics, FaultContext, FaultError, Revert, Reverted};

/// Adds the delay.
pub async fn inject(
    ctx: &FaultContext,
    id: usize,
    fault: &Latency,
    _label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    let attributes = json!({
        "latency": fault.latency.as_millis() as u64,
        "jitter": fault.jitter.as_millis() as u64,
    });
    toxics::on_hop(ctx, id, &fault.hop, "latency", attributes, fault.direction).await
}

/// Removes it; bytes it was holding go at once.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<Reverted, FaultError> {
    super::undo(&ctx.stack, revert).await.map(|()| Reverted::default())
}
