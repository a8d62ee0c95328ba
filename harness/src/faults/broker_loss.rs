//! `broker-loss`: the Kafka-protocol broker killed; its store is on a
//! volume, so starting it again (when the fault ends) must lose nothing.

use super::kinds::broker_loss::BrokerLoss;
use super::{kill_all, only, FaultContext, FaultError, Revert, Reverted};
use crate::stack::Service;

/// Kills the broker.
pub async fn inject(
    ctx: &FaultContext,
    _id: usize,
    _fault: &BrokerLoss,
    label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    let broker = only(&ctx.stack, Service::Broker, label)?;
    let revert = kill_all(&ctx.stack, std::slice::from_ref(&broker)).await?;
    Ok((vec!["broker".into()], revert))
}

/// Starts it again.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<Reverted, FaultError> {
    super::undo(&ctx.stack, revert).await.map(|()| Reverted::default())
}
