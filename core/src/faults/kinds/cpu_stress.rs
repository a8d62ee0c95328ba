//! `cpu-stress`: containers held to a fraction of a CPU (`cpus = 0.1`)
//! through the platform's resource limit — a noisy neighbour, a throttled
//! node — and given back exactly the limit they had when it ends.

use serde::{Deserialize, Serialize};

use super::{selector_label, End, Key, KeyType, Kind, Params, TargetRule};
use crate::faults::target::Selector;
use crate::source::FileError;

/// Throttle the selected containers' CPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuStress {
    /// Which containers.
    pub target: Selector,
    /// The CPUs each may use while it lasts (0.1: a tenth of one).
    pub cpus: f64,
}

/// The least a container may be given: below a hundredth of a CPU the
/// kernel's scheduler granularity makes the figure meaningless.
const LEAST_CPUS: f64 = 0.01;

impl Kind for CpuStress {
    const NAME: &'static str = "cpu-stress";
    const ABOUT: &'static str =
        "hold containers to a fraction of a CPU, restoring their own limit at the end";
    const END: End = End::Duration;
    const TARGET: TargetRule = TargetRule::Containers;
    const KEYS: &'static [Key] = &[Key {
        name: "cpus",
        ty: KeyType::Number,
    }];

    fn parse(p: &Params) -> Result<Self, FileError> {
        let (at, cpus) = p
            .number("cpus")?
            .ok_or_else(|| p.missing("cpus", "cpus = 0.1 (a tenth of one CPU)"))?;
        if cpus < LEAST_CPUS {
            return Err(p.err(
                at,
                format!("cpus = {cpus} is below {LEAST_CPUS}"),
                "give at least 0.01 CPU; to stop a container, use pod-pause",
            ));
        }
        Ok(CpuStress {
            target: p.containers()?,
            cpus,
        })
    }

    fn label(&self) -> String {
        format!(
            "{} to {} CPU",
            selector_label(Self::NAME, &self.target),
            self.cpus
        )
    }
}
