//! `region-loss`: every database node and its disk destroyed at once; the
//! fault's end is the restore from the backup region. Its RTO runs to the
//! first write served after the restore began.

use serde::{Deserialize, Serialize};

use super::{End, Key, KeyType, Kind, Params, TargetRule};
use crate::measure::RtoMeasure;
use crate::source::FileError;

/// Lose the region's databases (and optionally the broker's store and the
/// cache).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionLoss {
    /// Also destroy the broker and its store.
    pub broker_store: bool,
    /// Also kill Redis.
    pub cache: bool,
}

impl Kind for RegionLoss {
    const NAME: &'static str = "region-loss";
    const ABOUT: &'static str =
        "destroy every database node and its disk at once; recover from the backup region";
    const END: End = End::RestoreAfter;
    const TARGET: TargetRule = TargetRule::None;
    const KEYS: &'static [Key] = &[
        Key {
            name: "broker_store",
            ty: KeyType::Bool,
        },
        Key {
            name: "cache",
            ty: KeyType::Bool,
        },
    ];
    const ONLY_ON_OWN_STACK: Option<&'static str> = Some(
        "it destroys faultline's own database and restores it from the backup region faultline keeps; a stack of yours has no backup region faultline knows",
    );
    const RTO: RtoMeasure = RtoMeasure::FirstWrite;
    const RESTORES_FROM_BACKUP: bool = true;

    fn parse(p: &Params) -> Result<Self, FileError> {
        Ok(RegionLoss {
            broker_store: p.bool("broker_store")?.unwrap_or(false),
            cache: p.bool("cache")?.unwrap_or(false),
        })
    }

    fn label(&self) -> String {
        let mut what = vec!["databases"];
        if self.broker_store {
            what.push("broker store");
        }
        if self.cache {
            what.push("cache");
        }
        format!("{} ({})", Self::NAME, what.join(", "))
    }
}
