//! `blackhole`: every byte on a hop held (connections open, nothing
//! arrives), through the fault proxy.

use serde::{Deserialize, Serialize};

use super::{HOP_NEEDS_PROXY, End, Key, KeyType, Kind, Params, TargetRule};
use crate::faults::target::{Direction, DIRECTIONS};
use crate::source::FileError;

/// Hold a hop's bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blackhole {
    /// The hop.
    pub hop: String,
    /// Which direction.
    pub direction: Direction,
}

impl Kind for Blackhole {
    const NAME: &'static str = "blackhole";
    const ABOUT: &'static str = "hold every byte on a hop (a black hole)";
    const END: End = End::Duration;
    const TARGET: TargetRule = TargetRule::Hop;
    const KEYS: &'static [Key] = &[Key {
        name: "direction",
        ty: KeyType::Choice(DIRECTIONS),
    }];
    const ONLY_ON_OWN_STACK: Option<&'static str> = Some(HOP_NEEDS_PROXY);

    fn parse(p: &Params) -> Result<Self, FileError> {
        Ok(Blackhole {
            hop: p.hop()?,
            direction: p.direction(Direction::Both)?,
        })
    }

    fn label(&self) -> String {
        format!("{} {}", Self::NAME, self.hop)
    }
}
