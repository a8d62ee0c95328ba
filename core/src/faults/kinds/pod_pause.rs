//! `pod-pause`: freeze containers (the cgroup freezer) for a duration — a
//! hung process, not a dead one: its sockets stay open and its peers wait.

use serde::{Deserialize, Serialize};

use super::{selector_label, End, Key, Kind, Params, TargetRule};
use crate::faults::target::Selector;
use crate::source::FileError;

/// Freeze the selected containers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodPause {
    /// Which containers.
    pub target: Selector,
}

impl Kind for PodPause {
    const NAME: &'static str = "pod-pause";
    const ABOUT: &'static str = "freeze containers for a duration (a hung process)";
    const END: End = End::Duration;
    const TARGET: TargetRule = TargetRule::Containers;
    const KEYS: &'static [Key] = &[];

    fn parse(p: &Params) -> Result<Self, FileError> {
        Ok(PodPause {
            target: p.containers()?,
        })
    }

    fn label(&self) -> String {
        selector_label(Self::NAME, &self.target)
    }
}
