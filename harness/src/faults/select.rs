//! Resolving a fault's selector to containers, at injection time (so that
//! "the leader" is whoever leads at that moment).

use rand::seq::SliceRandom;

use super::spec::{Count, Role, Selector};
use super::{FaultContext, FaultError};
use crate::stack::{ready, Node};

/// Whether a node matches the static parts of a selector.
pub fn matches_static(node: &Node, sel: &Selector) -> bool {
    sel.matches_static(&node.name, &node.service, node.role(), &node.zone)
}

/// The containers a selector picks now: every static match, narrowed to
/// the Patroni leader or replicas when asked, then `count` of them chosen
/// with the run's seed (sorted first, so the same seed picks the same).
pub async fn resolve(
    ctx: &FaultContext,
    sel: &Selector,
    label: &str,
) -> Result<Vec<Node>, FaultError> {
    let mut nodes: Vec<Node> = ctx
        .stack
        .nodes
        .iter()
        .filter(|n| matches_static(n, sel))
        .cloned()
        .collect();
    if let Some(role @ (Role::Leader | Role::Replica)) = &sel.role {
        let leader = ready::leader(&ctx.stack).await;
        nodes.retain(|n| (leader.as_deref() == Some(n.name.as_str())) == (*role == Role::Leader));
    }
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let take = match sel.count {
        Some(Count::All) => nodes.len(),
        Some(Count::N(n)) => n as usize,
        None => 1,
    };
    if nodes.is_empty() || take == 0 {
        return Err(FaultError::NoTarget {
            fault: label.to_string(),
        });
    }
    if take < nodes.len() {
        if let Ok(mut rng) = ctx.rng.lock() {
            nodes.shuffle(&mut *rng);
        }
        nodes.truncate(take);
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::Service;
    use std::collections::HashMap;

    fn node(name: &str, service: Service, zone: &str) -> Node {
        Node {
            name: name.into(),
            container: format!("fl-x-{name}"),
            service: service.name().to_string(),
            reference: Some(service),
            zone: zone.into(),
            host: "127.0.0.1".into(),
            ports: HashMap::new(),
        }
    }

    #[test]
    fn static_parts_of_a_selector_filter_by_service_zone_name_and_role() {
        let orders_a = node("orders-a", Service::Orders, "a");
        let pg_a = node("pg-a", Service::Postgres, "a");
        let by_service = Selector {
            service: Some("orders".into()),
            ..Default::default()
        };
        assert!(matches_static(&orders_a, &by_service));
        assert!(!matches_static(&pg_a, &by_service));
        let zone_b = Selector {
            zone: Some("b".into()),
            ..Default::default()
        };
        assert!(!matches_static(&orders_a, &zone_b));
        let leader = Selector {
            role: Some(Role::Leader),
            ..Default::default()
        };
        assert!(matches_static(&pg_a, &leader) && !matches_static(&orders_a, &leader));
        let apps = Selector {
            role: Some(Role::Label("app".into())),
            ..Default::default()
        };
        assert!(matches_static(&orders_a, &apps) && !matches_static(&pg_a, &apps));
    }
}
