//! `cpu-stress`: each selected container held to a fraction of a CPU
//! through the platform's resource limit; the revert puts back the limit
//! each one had.

use super::kinds::cpu_stress::CpuStress;
use super::{select, FaultContext, FaultError, Revert, Reverted};

/// Limits the selected containers.
pub async fn inject(
    ctx: &FaultContext,
    _id: usize,
    fault: &CpuStress,
    label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    let nodes = select::resolve(ctx, &fault.target, label).await?;
    let platform = ctx.stack.platform();
    let mut limited = Vec::new();
    for n in &nodes {
        match platform.limit_cpu(&n.container, fault.cpus).await {
            Ok(before) => limited.push((n.container.clone(), before)),
            Err(e) => {
                // Leave nothing half-done.
                let _ = super::undo(&ctx.stack, &Revert::CpuLimits(limited)).await;
                return Err(e.into());
            }
        }
    }
    Ok((
        nodes.into_iter().map(|n| n.name).collect(),
        Revert::CpuLimits(limited),
    ))
}

/// Gives each its own limit back.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<Reverted, FaultError> {
    super::undo(&ctx.stack, revert).await.map(|()| Reverted::default())
}
