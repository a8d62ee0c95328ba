//! `dns-failure`: each selected container's packets to its name servers
//! dropped by a network cut in its namespace, so lookups time out while
//! connections already open keep working.

use super::kinds::dns_failure::DnsFailure;
use super::{select, FaultContext, FaultError, Revert, Reverted};
use crate::platform::{Cut, Cutting};

/// Cuts the selected containers off from their resolvers.
pub async fn inject(
    ctx: &FaultContext,
    id: usize,
    fault: &DnsFailure,
    label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    let nodes = select::resolve(ctx, &fault.target, label).await?;
    let platform = ctx.stack.platform();
    let cut = Cut {
        fault: id,
        what: Cutting::Resolvers,
        share: 1.0,
    };
    let mut done = Vec::new();
    for n in &nodes {
        if let Err(e) = platform.cut(&n.container, &cut).await {
            let _ = super::undo(&ctx.stack, &Revert::Heal(done)).await;
            return Err(e.into());
        }
        done.push((n.container.clone(), id));
    }
    Ok((
        nodes.into_iter().map(|n| n.name).collect(),
        Revert::Heal(done),
    ))
}

/// Lets lookups through again.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<Reverted, FaultError> {
    super::undo(&ctx.stack, revert).await.map(|()| Reverted::default())
}
