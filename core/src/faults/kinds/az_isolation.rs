//! `az-isolation`: a zone cut off from every other zone, its containers
//! still running (both sides drop the other's packets).

use serde::{Deserialize, Serialize};

use super::{End, Key, Kind, Params, TargetRule};
use crate::source::FileError;

/// Isolate a zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AzIsolation {
    /// The zone.
    pub zone: String,
}

impl Kind for AzIsolation {
    const NAME: &'static str = "az-isolation";
    const ABOUT: &'static str = "cut a zone off from every other zone, containers still running";
    const END: End = End::Duration;
    const TARGET: TargetRule = TargetRule::Zone;
    const KEYS: &'static [Key] = &[];

    fn parse(p: &Params) -> Result<Self, FileError> {
        Ok(AzIsolation { zone: p.zone()? })
    }

    fn label(&self) -> String {
        format!("{} zone {}", Self::NAME, self.zone)
    }
}
