//! Measurement: per-request records → per-second windows → metrics. Pure:
//! no tokio, no Docker, no clock — every time is an offset in microseconds
//! from the run's start, so the same records always give the same numbers.
//!
//! DESIGN.md's "Measurement definitions" are the spec; the doc comments here
//! say how each one is computed.

pub mod events;
pub mod metrics;
pub mod record;
pub mod rpo;
pub mod summary;
pub mod timeline;

pub use events::{judge_events, EventFacts, EventSummary, LossStage};
pub use metrics::{
    budget_burn, phase_metrics, phases, recovery, rto, BudgetBurn, FaultSpan, LatencySummary,
    Phase, PhaseMetrics, Recovery, RtoParams, Step,
};
pub use record::{Op, Outcome, RequestRecord};
pub use rpo::{
    check_writes, explain_lost_writes, first_write_after, LeaderTerm, LedgerEntry, LossCause,
    LostAck, LostWrite, RestorePoint, WriteCheck, WriteOutcome,
};
pub use summary::{summarise, FaultResult, Measurements, RtoBasis, RtoMeasure, RunData};
pub use timeline::{ProbeSample, Timeline, TimelineConfig, Window};

/// Microseconds in a second.
pub const SECOND_US: u64 = 1_000_000;
