//! `reset`: every connection on a hop reset (TCP RST), new ones included,
//! through the fault proxy.

use serde::{Deserialize, Serialize};

use super::{HOP_NEEDS_PROXY, End, Key, Kind, Params, TargetRule};
use crate::source::FileError;

/// Reset a hop's connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reset {
    /// The hop.
    pub hop: String,
}

impl Kind for Reset {
    const NAME: &'static str = "reset";
    const ABOUT: &'static str = "reset every connection on a hop";
    const END: End = End::Duration;
    const TARGET: TargetRule = TargetRule::Hop;
    const KEYS: &'static [Key] = &[];
    const ONLY_ON_OWN_STACK: Option<&'static str> = Some(HOP_NEEDS_PROXY);

    fn parse(p: &Params) -> Result<Self, FileError> {
        Ok(Reset { hop: p.hop()? })
    }

    fn label(&self) -> String {
        format!("{} {}", Self::NAME, self.hop)
    }
}
