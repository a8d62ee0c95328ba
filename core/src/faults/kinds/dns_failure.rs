//! `dns-failure`: name resolution fails inside containers (their resolvers
//! unreachable), so anything that looks a name up when it connects fails,
//! while connections already open live on.

use serde::{Deserialize, Serialize};

use super::{selector_label, End, Key, Kind, Params, TargetRule};
use crate::faults::target::Selector;
use crate::source::FileError;

/// Cut the selected containers off from their resolvers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsFailure {
    /// Which containers.
    pub target: Selector,
}

impl Kind for DnsFailure {
    const NAME: &'static str = "dns-failure";
    const ABOUT: &'static str =
        "name lookups fail in containers; connections already open live on";
    const END: End = End::Duration;
    const TARGET: TargetRule = TargetRule::Containers;
    const KEYS: &'static [Key] = &[];

    fn parse(p: &Params) -> Result<Self, FileError> {
        Ok(DnsFailure {
            target: p.containers()?,
        })
    }

    fn label(&self) -> String {
        selector_label(Self::NAME, &self.target)
    }
}
