//! Faults as values: what a scenario asks for ([`spec`], one file per kind
//! under [`kinds`]) and what the journal records of each ([`journal`]).
//! Injecting and reverting them is the `faultline` crate's business.

pub mod journal;
pub mod kinds;
pub mod spec;
pub mod target;

pub use journal::JournalEntry;
pub use spec::{Action, FaultKind, FaultSpec};
