//! The plan: what a run will do, decided before anything is touched.
//!
//! A [`Plan`] is built from a validated scenario, the profile it is judged
//! against and the run's seed. `faultline run --dry-run` prints it
//! (`--json`: this value as JSON), the run writes it to `plan.json`, and the
//! executor runs its steps: every journal entry and every fault result
//! carries the id of the step it came from, so a file that lists faults out
//! of time order, or two faults at the same instant that finish out of
//! order, still pairs each result with its own fault.

use std::time::Duration;

use serde::Serialize;

use crate::faults::{Action, FaultKind, FaultSpec};
use crate::scenario::Scenario;

/// A run's plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The scenario's name.
    pub scenario: String,
    /// The system profile it is judged against.
    pub system: String,
    /// The seed of every random choice (request mix, which container a
    /// selector with a count picks).
    pub seed: u64,
    /// The load.
    pub load: PlanLoad,
    /// The faults, in the order they go in: by time, then by their place in
    /// the file.
    pub steps: Vec<PlanStep>,
}

/// The load of a plan, in the units reports use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanLoad {
    /// Requests per second.
    pub rate: f64,
    /// How long, ms.
    pub duration_ms: u64,
    /// Per-request timeout, ms.
    pub timeout_ms: u64,
    /// The bound of a good request, ms.
    pub good_within_ms: u64,
}

/// One fault of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanStep {
    /// The step's id: the fault's place in the scenario file, from 0 (so
    /// "fault 1" in messages is id 0). Journal entries and results carry it.
    pub id: usize,
    /// When it goes in, ms from the start of the load.
    pub at_ms: u64,
    /// When it goes in, exactly (`at_ms` is rounded down).
    #[serde(skip)]
    pub at: Duration,
    /// Its kind's scenario name.
    pub kind: FaultKind,
    /// Its label in reports.
    pub label: String,
    /// How it ends.
    pub end: StepEnd,
    /// What it does to what: the selection is resolved against the stack
    /// when the step runs (so "the leader" is whoever leads then).
    pub action: Action,
    /// The fault as the executor runs it.
    #[serde(skip)]
    pub spec: FaultSpec,
}

/// How a step ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepEnd {
    /// Reverted this long after it went in, ms.
    After {
        /// How long it stays in force.
        ms: u64,
    },
    /// Never reverted (the scenario said `permanent`).
    Permanent,
    /// Over the moment it is done (a switchover).
    Instant,
}

impl Plan {
    /// The plan of `scenario` judged as `system`, with `seed`, where a good
    /// request is answered within `good_within`.
    pub fn build(scenario: &Scenario, system: &str, seed: u64, good_within: Duration) -> Plan {
        let mut steps: Vec<PlanStep> = scenario
            .faults
            .iter()
            .enumerate()
            .map(|(id, f)| PlanStep {
                id,
                at_ms: f.at.as_millis() as u64,
                at: f.at,
                kind: f.spec.kind(),
                label: f.spec.label(),
                end: match (f.spec.duration, f.spec.permanent) {
                    (Some(d), _) => StepEnd::After {
                        ms: d.as_millis() as u64,
                    },
                    (None, true) => StepEnd::Permanent,
                    (None, false) => StepEnd::Instant,
                },
                action: f.spec.action.clone(),
                spec: f.spec.clone(),
            })
            .collect();
        steps.sort_by_key(|s| (s.at, s.id));
        Plan {
            scenario: scenario.name.clone(),
            system: system.to_string(),
            seed,
            load: PlanLoad {
                rate: scenario.load.rate,
                duration_ms: scenario.load.duration.as_millis() as u64,
                timeout_ms: scenario.load.timeout.as_millis() as u64,
                good_within_ms: good_within.as_millis() as u64,
            },
            steps,
        }
    }

    /// The step with `id`.
    pub fn step(&self, id: usize) -> Option<&PlanStep> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The plan for people, as `--dry-run` prints it.
    pub fn describe(&self) -> String {
        let ms = |v: u64| humantime::format_duration(Duration::from_millis(v)).to_string();
        let mut out = format!(
            "scenario {} on {} (seed {}): {} req/s for {}, timeout {}, good within {}\n",
            self.scenario,
            self.system,
            self.seed,
            self.load.rate,
            ms(self.load.duration_ms),
            ms(self.load.timeout_ms),
            ms(self.load.good_within_ms)
        );
        if self.steps.is_empty() {
            out.push_str("  no faults (steady state only)\n");
        }
        for s in &self.steps {
            let end = match s.end {
                StepEnd::After { ms: d } => format!("until {}", ms(s.at_ms + d)),
                StepEnd::Permanent => "permanent".into(),
                StepEnd::Instant => "instant".into(),
            };
            out.push_str(&format!(
                "  fault {}: at {} {} ({end})\n",
                s.id + 1,
                ms(s.at_ms),
                s.label
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;
    use crate::stack::StackSettings;

    fn scenario(text: &str) -> Scenario {
        let src = Source {
            path: "plan.toml".into(),
            text: text.into(),
        };
        Scenario::parse(&src, &StackSettings::default()).expect("a valid scenario")
    }

    #[test]
    fn steps_go_in_by_time_and_keep_their_place_in_the_file_as_id() {
        let s = scenario(
            r#"
name = "out-of-order"
[load]
rate = 10
duration = "30s"

[[fault]]
kind = "pod-kill"
at = "20s"
target = { service = "orders", zone = "a" }
restart_after = "5s"

[[fault]]
kind = "pod-pause"
at = "5s"
target = { service = "gateway", zone = "b" }
duration = "3s"

[[fault]]
kind = "cache-loss"
at = "5s"
restart_after = "4s"

[[fault]]
kind = "db-failover"
mode = "switchover"
at = "1s"
"#,
        );
        let plan = Plan::build(&s, "ias", 7, Duration::from_secs(2));
        let order: Vec<(usize, u64)> = plan.steps.iter().map(|s| (s.id, s.at_ms)).collect();
        assert_eq!(order, [(3, 1_000), (1, 5_000), (2, 5_000), (0, 20_000)]);
        assert_eq!(plan.step(0).unwrap().kind, FaultKind::PodKill);
        assert_eq!(plan.step(3).unwrap().end, StepEnd::Instant);
        assert_eq!(plan.step(1).unwrap().end, StepEnd::After { ms: 3_000 });
        let text = plan.describe();
        assert!(text.contains("fault 4: at 1s"), "{text}");
        assert!(
            text.find("fault 2:").unwrap() < text.find("fault 3:").unwrap()
                && text.find("fault 3:").unwrap() < text.find("fault 1:").unwrap(),
            "{text}"
        );
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["seed"], 7);
        assert_eq!(json["steps"][0]["id"], 3);
        assert_eq!(json["steps"][0]["kind"], "db-failover");
        assert_eq!(json["steps"][1]["end"]["after"]["ms"], 3_000);
        assert_eq!(json["steps"][3]["at_ms"], 20_000);
    }
}
