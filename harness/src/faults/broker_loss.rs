//! `broker-loss`: the Kafka-protocol broker killed; its store is on a
//! volume, so starting it again (when the fault ends) must lose nothing.

use super::{kill_all, only, FaultContext, FaultError, Revert};
use crate::stack::Service;

/// Kills the broker.
pub async fn inject(ctx: &FaultContext, label: &str) -> Result<(Vec<String>, Revert), FaultError> {
    let broker = only(&ctx.stack, Service::Broker, label)?;
    let revert = kill_all(&ctx.stack, std::slice::from_ref(&broker)).await?;
    Ok((vec!["broker".into()], revert))
}

/// Starts it again.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<(), FaultError> {
    super::undo(&ctx.stack, revert).await
}
