//! `cache-loss`: Redis killed (a cache: it comes back empty when the fault
//! ends). Reads must degrade to PostgreSQL, never fail.

use super::kinds::cache_loss::CacheLoss;
use super::{kill_all, only, FaultContext, FaultError, Revert, Reverted};
use crate::stack::Service;

/// Kills Redis.
pub async fn inject(
    ctx: &FaultContext,
    _id: usize,
    _fault: &CacheLoss,
    label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    let redis = only(&ctx.stack, Service::Redis, label)?;
    let revert = kill_all(&ctx.stack, std::slice::from_ref(&redis)).await?;
    Ok((vec!["redis".into()], revert))
}

/// Starts it again.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<Reverted, FaultError> {
    super::undo(&ctx.stack, revert).await.map(|()| Reverted::default())
}
