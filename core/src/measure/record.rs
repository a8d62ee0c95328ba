//! What one request was and how it ended.

use serde::{Deserialize, Serialize};

/// The kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `POST /orders` with a new, client-chosen id.
    CreateOrder,
    /// `GET /orders/{id}` of a recently acknowledged order.
    GetOrder,
    /// `GET /health`.
    Health,
    /// A plain `GET` of a fixed URL (benchmarks and stall tests).
    Plain,
    /// A stack file's request that writes (its success is an acknowledged
    /// write).
    Write,
    /// A stack file's request that does not write.
    Read,
}

impl Op {
    /// Its name in reports and CSV.
    pub fn name(self) -> &'static str {
        match self {
            Op::CreateOrder => "create_order",
            Op::GetOrder => "get_order",
            Op::Health => "health",
            Op::Plain => "plain",
            Op::Write => "write",
            Op::Read => "read",
        }
    }
}

/// How a request ended. Everything but `Ok` is a failure of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The expected status and body.
    Ok,
    /// No complete answer before the timeout (counted at the timeout).
    Timeout,
    /// The connection could not be made (refused, unreachable).
    Connect,
    /// A 5xx answer.
    Http5xx,
    /// A 4xx answer.
    Http4xx,
    /// A 2xx answer whose body was not what was asked for.
    WrongBody,
    /// The connection broke mid-request (reset, closed early).
    Io,
}

impl Outcome {
    /// Every failure kind, in report order.
    pub const FAILURES: [Outcome; 6] = [
        Outcome::Timeout,
        Outcome::Connect,
        Outcome::Http5xx,
        Outcome::Http4xx,
        Outcome::WrongBody,
        Outcome::Io,
    ];

    /// Its name in reports and CSV.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Timeout => "timeout",
            Outcome::Connect => "connect",
            Outcome::Http5xx => "http_5xx",
            Outcome::Http4xx => "http_4xx",
            Outcome::WrongBody => "wrong_body",
            Outcome::Io => "io",
        }
    }

    /// Index among [`Outcome::FAILURES`], `None` for `Ok`.
    pub fn failure_index(self) -> Option<usize> {
        Outcome::FAILURES.iter().position(|f| *f == self)
    }
}

/// One request, as the collector receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRecord {
    /// When it was *scheduled* to start, µs from the run's start.
    pub scheduled_us: u64,
    /// From its scheduled start to its completion (or timeout), µs. Measuring
    /// from the schedule, not from the send, is what keeps a stalled system
    /// from hiding its stall (coordinated omission).
    pub latency_us: u64,
    /// How late the generator itself started it, µs.
    pub lateness_us: u64,
    /// What it was.
    pub op: Op,
    /// How it ended.
    pub outcome: Outcome,
}

impl RequestRecord {
    /// When it completed, µs from the run's start.
    pub fn completed_us(&self) -> u64 {
        self.scheduled_us + self.latency_us
    }
}
