//! `partition`: two groups of containers (by zone or by service) cannot
//! reach each other; each keeps reaching everything else. Done with
//! firewall chains inside each container of both groups ([`netfilter`]).
//!
//! [`netfilter`]: super::netfilter

use super::netfilter;
use super::spec::Group;
use super::{FaultContext, FaultError, Revert};
use crate::stack::{Node, Stack};

fn members<'a>(stack: &'a Stack, g: &Group) -> Vec<&'a Node> {
    stack
        .nodes
        .iter()
        .filter(|n| g.zones.contains(&n.zone) || g.services.contains(&n.service))
        .collect()
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
    let engine = ctx.stack.engine();
    let network = crate::stack::network_name(&ctx.stack.run);
    let mut ips = std::collections::HashMap::new();
    for n in a.iter().chain(b) {
        if let Ok(ip) = engine.ip_address(&n.container, &network).await {
            ips.insert(n.name.clone(), ip);
        }
    }
    let chain = netfilter::chain_name(id);
    let peers_of = |side: &[&Node]| -> Vec<String> {
        side.iter()
            .filter_map(|n| ips.get(&n.name).cloned())
            .collect()
    };
    let (peers_a, peers_b) = (peers_of(b), peers_of(a));
    let jobs: Vec<(&Node, &Vec<String>)> = a
        .iter()
        .map(|n| (*n, &peers_a))
        .chain(b.iter().map(|n| (*n, &peers_b)))
        .filter(|(n, _)| ips.contains_key(&n.name))
        .collect();
    let results = futures_util::future::join_all(
        jobs.iter()
            .map(|(n, peers)| netfilter::cut(engine, &n.container, &chain, peers)),
    )
    .await;
    let done: Vec<(String, String)> = jobs
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_ok())
        .map(|((n, _), _)| (n.container.clone(), chain.clone()))
        .collect();
    let revert = Revert::Netfilter(done);
    if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
        let _ = super::undo(&ctx.stack, &revert).await;
        return Err(e);
    }
    let targets = a.iter().chain(b).map(|n| n.name.clone()).collect();
    Ok((targets, revert))
}

/// Partitions group `a` from group `b`.
pub async fn inject(
    ctx: &FaultContext,
    id: usize,
    a: &Group,
    b: &Group,
    label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    let side_a = members(&ctx.stack, a);
    let side_b: Vec<&Node> = members(&ctx.stack, b)
        .into_iter()
        .filter(|n| !side_a.iter().any(|x| x.name == n.name))
        .collect();
    cut_between(ctx, id, &side_a, &side_b, label).await
}

/// Heals the partition.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<(), FaultError> {
    super::undo(&ctx.stack, revert).await
}
