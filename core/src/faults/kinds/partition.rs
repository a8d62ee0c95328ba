//! `partition`: two groups (zones or services) cannot reach each other;
//! each side drops the other's packets.

use serde::{Deserialize, Serialize};

use super::{group_label, SIDES_EXAMPLE, End, Key, KeyType, Kind, Params, TargetRule};
use crate::faults::target::Group;
use crate::source::FileError;

/// Cut two groups apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partition {
    /// One side.
    pub a: Group,
    /// The other.
    pub b: Group,
}


impl Kind for Partition {
    const NAME: &'static str = "partition";
    const ABOUT: &'static str = "two groups (zones or services) cannot reach each other";
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
    ];

    fn parse(p: &Params) -> Result<Self, FileError> {
        Ok(Partition {
            a: p.group("a")?.ok_or_else(|| p.missing("a", SIDES_EXAMPLE))?,
            b: p.group("b")?.ok_or_else(|| p.missing("b", SIDES_EXAMPLE))?,
        })
    }

    fn label(&self) -> String {
        format!(
            "{} {} | {}",
            Self::NAME,
            group_label(&self.a),
            group_label(&self.b)
        )
    }
}
