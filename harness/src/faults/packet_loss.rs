//! `packet-loss`: a share of the packets between two groups dropped at
//! random by a network cut in every node of group `a` (the kernel's
//! `statistic` match; no netem needed), so each direction loses exactly
//! the share asked.

use super::kinds::packet_loss::{LossDirection, PacketLoss};
use super::partition::sides;
use super::{FaultContext, FaultError, Revert, Reverted};
use crate::platform::{Cut, Cutting, Flow};

/// Starts losing packets.
pub async fn inject(
    ctx: &FaultContext,
    id: usize,
    fault: &PacketLoss,
    label: &str,
) -> Result<(Vec<String>, Revert), FaultError> {
    let (side_a, side_b) = sides(&ctx.stack, &fault.a, &fault.b);
    if side_a.is_empty() || side_b.is_empty() {
        return Err(FaultError::NoTarget {
            fault: label.to_string(),
        });
    }
    let platform = ctx.stack.platform();
    let mut peers = Vec::new();
    for n in &side_b {
        peers.extend(platform.addresses(&n.container).await?);
    }
    let cut = Cut {
        fault: id,
        what: Cutting::Peers {
            peers,
            // Seen from a's nodes: a → b is what they send.
            flow: match fault.direction {
                LossDirection::Both => Flow::Both,
                LossDirection::AToB => Flow::Out,
                LossDirection::BToA => Flow::In,
            },
        },
        share: fault.loss,
    };
    let mut done = Vec::new();
    for n in &side_a {
        if let Err(e) = platform.cut(&n.container, &cut).await {
            let _ = super::undo(&ctx.stack, &Revert::Heal(done)).await;
            return Err(e.into());
        }
        done.push((n.container.clone(), id));
    }
    let targets = side_a.iter().chain(&side_b).map(|n| n.name.clone()).collect();
    Ok((targets, Revert::Heal(done)))
}

/// Stops it.
pub async fn revert(ctx: &FaultContext, revert: &Revert) -> Result<Reverted, FaultError> {
    super::undo(&ctx.stack, revert).await.map(|()| Reverted::default())
}
