//! `cache-loss`: Redis killed (a cache: it comes back empty when the fault
//! ends). Reads must degrade to PostgreSQL, never fail.

use super::{kill_all, only, FaultContext, FaultError, Revert};
use crate::stack::Service;

/// Kills Redis.
pub async fn inject(ctx: &FaultContext, label: &str) -> Result<(Vec<String>, Revert), FaultError> {
    let redis = only(&ctx.stack, Service::Redis, label)?;
    let revert = kill_all(&ctx.stack, std::slice::from_ref(&redis)).await?;
    Ok((vec!["redis".into()], revert))
}

/// Starts it again.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<(), FaultError> {
    super::undo(&ctx.stack, revert).await
}
