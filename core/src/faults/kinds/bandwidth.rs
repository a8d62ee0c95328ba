//! `bandwidth`: a hop's throughput limited, through the fault proxy.

use serde::{Deserialize, Serialize};

use super::{HOP_NEEDS_PROXY, End, Key, KeyType, Kind, Params, TargetRule};
use crate::faults::target::{Direction, DIRECTIONS};
use crate::source::FileError;

/// Limit a hop's bandwidth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bandwidth {
    /// The hop.
    pub hop: String,
    /// KB per second.
    pub rate_kbps: u64,
    /// Which direction.
    pub direction: Direction,
}

impl Kind for Bandwidth {
    const NAME: &'static str = "bandwidth";
    const ABOUT: &'static str = "limit a hop's bandwidth";
    const END: End = End::Duration;
    const TARGET: TargetRule = TargetRule::Hop;
    const KEYS: &'static [Key] = &[
        Key {
            name: "rate",
            ty: KeyType::Count,
        },
        Key {
            name: "direction",
            ty: KeyType::Choice(DIRECTIONS),
        },
    ];
    const ONLY_ON_OWN_STACK: Option<&'static str> = Some(HOP_NEEDS_PROXY);

    fn parse(p: &Params) -> Result<Self, FileError> {
        // A rate of 0 would be a black hole: say so rather than a bare
        // "must be ≥ 1".
        if let Some(at) = p.zero("rate") {
            return Err(p.err(
                at,
                "a bandwidth of 0 is a blackhole",
                "use kind = \"blackhole\", or a rate ≥ 1 KB/s",
            ));
        }
        let rate_kbps = p
            .count("rate")?
            .ok_or_else(|| p.missing("rate", "rate = 64 (KB per second)"))?;
        Ok(Bandwidth {
            hop: p.hop()?,
            rate_kbps,
            direction: p.direction(Direction::Downstream)?,
        })
    }

    fn label(&self) -> String {
        format!("{} {} KB/s on {}", Self::NAME, self.rate_kbps, self.hop)
    }
}
