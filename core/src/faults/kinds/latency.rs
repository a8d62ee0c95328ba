//! `latency`: added delay with jitter on one hop, through the fault proxy.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{HOP_NEEDS_PROXY, End, Key, KeyType, Kind, Params, TargetRule};
use crate::faults::target::{Direction, DIRECTIONS};
use crate::source::FileError;

/// Delay a hop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// The hop (`orders->postgres`).
    pub hop: String,
    /// Added delay.
    #[serde(with = "humantime_serde")]
    pub latency: Duration,
    /// Spread around it.
    #[serde(with = "humantime_serde")]
    pub jitter: Duration,
    /// Which direction.
    pub direction: Direction,
}

impl Kind for Latency {
    const NAME: &'static str = "latency";
    const ABOUT: &'static str = "add latency (with jitter) on a hop";
    const END: End = End::Duration;
    const TARGET: TargetRule = TargetRule::Hop;
    const KEYS: &'static [Key] = &[
        Key {
            name: "latency",
            ty: KeyType::Duration,
        },
        Key {
            name: "jitter",
            ty: KeyType::Duration,
        },
        Key {
            name: "direction",
            ty: KeyType::Choice(DIRECTIONS),
        },
    ];
    const ONLY_ON_OWN_STACK: Option<&'static str> = Some(HOP_NEEDS_PROXY);

    fn parse(p: &Params) -> Result<Self, FileError> {
        let latency = p
            .duration("latency")?
            .ok_or_else(|| p.missing("latency", "latency = \"200ms\""))?;
        Ok(Latency {
            hop: p.hop()?,
            latency,
            jitter: p.duration("jitter")?.unwrap_or_default(),
            direction: p.direction(Direction::Downstream)?,
        })
    }

    fn label(&self) -> String {
        format!(
            "{} {} on {}",
            Self::NAME,
            humantime::format_duration(self.latency),
            self.hop
        )
    }
}
