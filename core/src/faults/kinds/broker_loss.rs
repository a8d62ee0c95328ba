//! `broker-loss`: the broker killed, started again after `restart_after`.

use serde::{Deserialize, Serialize};

use super::{End, Key, Kind, Params, TargetRule};
use crate::source::FileError;

/// Kill the broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerLoss;

impl Kind for BrokerLoss {
    const NAME: &'static str = "broker-loss";
    const ABOUT: &'static str = "kill the broker";
    const END: End = End::RestartAfter;
    const TARGET: TargetRule = TargetRule::None;
    const KEYS: &'static [Key] = &[];
    const ONLY_ON_OWN_STACK: Option<&'static str> = Some(
        "it stops faultline's own broker; stop yours with pod-kill on its service",
    );

    fn parse(_: &Params) -> Result<Self, FileError> {
        Ok(BrokerLoss)
    }

    fn label(&self) -> String {
        Self::NAME.into()
    }
}
