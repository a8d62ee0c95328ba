//! `packet-loss`: a share of the packets between two groups (zones or
//! services) dropped at random, both ways or one — a flaky link rather
//! than a cut one. TCP retransmits, so connections live on, slower.

use serde::{Deserialize, Serialize};

use super::{group_label, SIDES_EXAMPLE, End, Key, KeyType, Kind, Params, TargetRule};
use crate::faults::target::Group;
use crate::source::FileError;

/// Which packets between the groups are lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossDirection {
    /// Both ways.
    Both,
    /// Only what `a` sends to `b`.
    AToB,
    /// Only what `b` sends to `a`.
    BToA,
}

/// Lose packets between two groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PacketLoss {
    /// One side.
    pub a: Group,
    /// The other.
    pub b: Group,
    /// The share of packets lost, in (0, 1].
    pub loss: f64,
    /// Which way.
    pub direction: LossDirection,
}

const DIRECTIONS: &[(&str, LossDirection)] = &[
    ("both", LossDirection::Both),
    ("a-to-b", LossDirection::AToB),
    ("b-to-a", LossDirection::BToA),
];

impl Kind for PacketLoss {
    const NAME: &'static str = "packet-loss";
    const ABOUT: &'static str =
        "drop a share of the packets between two groups at random, both ways or one";
    const END: End = End::Duration;
    const TARGET: TargetRule = TargetRule::None;
    const KEYS: &'static [Key] = &[
        Key {
            name: "a",
            ty: KeyType::Group,
        },
        Key {
            name: "b",
            ty: KeyType::Group,
        },
        Key {
            name: "loss",
            ty: KeyType::Ratio,
        },
        Key {
            name: "direction",
            ty: KeyType::Choice(&["both", "a-to-b", "b-to-a"]),
        },
    ];

    fn parse(p: &Params) -> Result<Self, FileError> {
        Ok(PacketLoss {
            a: p.group("a")?.ok_or_else(|| p.missing("a", SIDES_EXAMPLE))?,
            b: p.group("b")?.ok_or_else(|| p.missing("b", SIDES_EXAMPLE))?,
            loss: p
                .ratio("loss")?
                .ok_or_else(|| p.missing("loss", "loss = \"30%\""))?,
            direction: p
                .choice("direction", DIRECTIONS)?
                .unwrap_or(LossDirection::Both),
        })
    }

    fn label(&self) -> String {
        let sep = match self.direction {
            LossDirection::Both => "|",
            LossDirection::AToB => "->",
            LossDirection::BToA => "<-",
        };
        format!(
            "{} {}% {} {sep} {}",
            Self::NAME,
            (self.loss * 100.0 * 10.0).round() / 10.0,
            group_label(&self.a),
            group_label(&self.b)
        )
    }
}
