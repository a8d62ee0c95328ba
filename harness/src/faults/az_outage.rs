//! `az-outage`: every container of a zone killed at once — a power loss.
//! Patroni, etcd and the services of that zone all go; they are started
//! again when the fault ends.

use super::kinds::az_outage::AzOutage;
use super::{kill_all, FaultContext, FaultError, Revert, Reverted};

/// Kills every container of the zone.
pub async fn inject(
    ctx: &FaultContext,
    _id: usize,
    fault: &AzOutage,
    label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    let nodes: Vec<_> = ctx
        .stack
        .nodes
        .iter()
        .filter(|n| n.zone == fault.zone)
        .collect();
    if nodes.is_empty() {
        return Err(FaultError::NoTarget {
            fault: label.to_string(),
        });
    }
    let containers: Vec<String> = nodes.iter().map(|n| n.container.clone()).collect();
    let revert = kill_all(&ctx.stack, &containers).await?;
    Ok((nodes.iter().map(|n| n.name.clone()).collect(), revert))
}

/// Starts them again.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<Reverted, FaultError> {
    super::undo(&ctx.stack, revert).await.map(|()| Reverted::default())
}
