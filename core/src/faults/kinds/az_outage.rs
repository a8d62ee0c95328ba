//! `az-outage`: every container of a zone killed at once (a power cut),
//! started again after `restart_after`.

use serde::{Deserialize, Serialize};

use super::{End, Key, Kind, Params, TargetRule};
use crate::source::FileError;

/// Kill a zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AzOutage {
    /// The zone.
    pub zone: String,
}

impl Kind for AzOutage {
    const NAME: &'static str = "az-outage";
    const ABOUT: &'static str = "kill every container of a zone at once";
    const END: End = End::RestartAfter;
    const TARGET: TargetRule = TargetRule::Zone;
    const KEYS: &'static [Key] = &[];

    fn parse(p: &Params) -> Result<Self, FileError> {
        Ok(AzOutage { zone: p.zone()? })
    }

    fn label(&self) -> String {
        format!("{} zone {}", Self::NAME, self.zone)
    }
}
