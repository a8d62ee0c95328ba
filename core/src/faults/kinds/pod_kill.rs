//! `pod-kill`: SIGKILL containers; they start again after `restart_after`.

use serde::{Deserialize, Serialize};

use super::{selector_label, End, Key, Kind, Params, TargetRule};
use crate::faults::target::Selector;
use crate::source::FileError;

/// Kill the selected containers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodKill {
    /// Which containers.
    pub target: Selector,
}

impl Kind for PodKill {
    const NAME: &'static str = "pod-kill";
    const ABOUT: &'static str = "SIGKILL containers; the harness starts them again after a delay";
    const END: End = End::RestartAfter;
    const TARGET: TargetRule = TargetRule::Containers;
    const KEYS: &'static [Key] = &[];

    fn parse(p: &Params) -> Result<Self, FileError> {
        Ok(PodKill {
            target: p.containers()?,
        })
    }

    fn label(&self) -> String {
        selector_label(Self::NAME, &self.target)
    }
}
