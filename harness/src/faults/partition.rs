//! `partition`: two groups of containers (by zone or by service) cannot
//! reach each other; each keeps reaching everything else. Done with a
//! network cut inside each node of both groups
//! ([`Platform::cut`](crate::platform::Platform::cut)).

use super::kinds::partition::Partition;
use super::spec::Group;
use super::{FaultContext, FaultError, Revert, Reverted};
use crate::platform::Cut;
use crate::stack::{Node, Stack};

/// The nodes of a group: in its zones or of its services.
fn members<'a>(stack: &'a Stack, g: &Group) -> Vec<&'a Node> {
    stack
        .nodes
        .iter()
        .filter(|n| g.zones.contains(&n.zone) || g.services.contains(&n.service))
        .collect()
}

/// The nodes of two groups; a node in both counts on side `a` only.
pub(crate) fn sides<'a>(stack: &'a Stack, a: &Group, b: &Group) -> (Vec<&'a Node>, Vec<&'a Node>) {
    let side_a = members(stack, a);
    let side_b = members(stack, b)
        .into_iter()
        .filter(|n| !side_a.iter().any(|x| x.name == n.name))
        .collect();
    (side_a, side_b)
}

/// Cuts every container of `a` off from every container of `b` (and back).
pub async fn cut_between(
    ctx: &FaultContext,
    id: usize,
    a: &[&Node],
    b: &[&Node],
    label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    if a.is_empty() || b.is_empty() {
        return Err(FaultError::NoTarget {
            fault: label.to_string(),
        });
    }
    let platform = ctx.stack.platform();
    let mut ips = std::collections::HashMap::new();
    for n in a.iter().chain(b) {
        if let Ok(addrs) = platform.addresses(&n.container).await {
            ips.insert(n.name.clone(), addrs);
        }
    }
    let cut_from = |side: &[&Node]| {
        Cut::peers(
            id,
            side.iter()
                .filter_map(|n| ips.get(&n.name))
                .flatten()
                .cloned()
                .collect(),
        )
    };
    let (cut_a, cut_b) = (cut_from(b), cut_from(a));
    let jobs: Vec<(&Node, &Cut)> = a
        .iter()
        .map(|n| (*n, &cut_a))
        .chain(b.iter().map(|n| (*n, &cut_b)))
        .filter(|(n, _)| ips.contains_key(&n.name))
        .collect();
    let results =
        futures_util::future::join_all(jobs.iter().map(|(n, cut)| platform.cut(&n.container, cut)))
            .await;
    let done: Vec<(String, usize)> = jobs
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_ok())
        .map(|((n, _), _)| (n.container.clone(), id))
        .collect();
    let revert = Revert::Heal(done);
    if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
        let _ = super::undo(&ctx.stack, &revert).await;
        return Err(e.into());
    }
    let targets = a.iter().chain(b).map(|n| n.name.clone()).collect();
    Ok((targets, revert))
}

/// Partitions group `a` from group `b`.
pub async fn inject(
    ctx: &FaultContext,
    id: usize,
    fault: &Partition,
    label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    let (side_a, side_b) = sides(&ctx.stack, &fault.a, &fault.b);
    cut_between(ctx, id, &side_a, &side_b, label).await
}

/// Heals the partition.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<Reverted, FaultError> {
    super::undo(&ctx.stack, revert).await.map(|()| Reverted::default())
}
