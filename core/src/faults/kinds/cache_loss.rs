//! `cache-loss`: Redis killed, started again after `restart_after`.

use serde::{Deserialize, Serialize};

use super::{End, Key, Kind, Params, TargetRule};
use crate::source::FileError;

/// Kill the cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheLoss;

impl Kind for CacheLoss {
    const NAME: &'static str = "cache-loss";
    const ABOUT: &'static str = "kill Redis";
    const END: End = End::RestartAfter;
    const TARGET: TargetRule = TargetRule::None;
    const KEYS: &'static [Key] = &[];
    const ONLY_ON_OWN_STACK: Option<&'static str> = Some(
        "it stops faultline's own Redis; stop yours with pod-kill on its service",
    );

    fn parse(_: &Params) -> Result<Self, FileError> {
        Ok(CacheLoss)
    }

    fn label(&self) -> String {
        Self::NAME.into()
    }
}
