//! The workload as a value: the open-loop schedule and the request mix.
//! Sending the requests is the `faultline` crate's business.

pub mod schedule;

pub use schedule::{Mix, Schedule};
