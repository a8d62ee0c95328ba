//! Scenario files (`scenarios/*.toml`): parsed into a raw form that keeps
//! every value's position, then validated into a [`Scenario`] against the
//! profile's stack — before anything starts. Every mistake names
//! `file:line:column` and a one-line fix. Pure: no I/O beyond reading the
//! file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::faults::spec::{
    Action, Count, Direction, FailoverMode, FaultKind, FaultSpec, Group, Role, Selector,
};
use crate::source::{FileError, Source};
use crate::stack::{topology, Service, StackSettings};
use crate::targets::{limit_value, CheckKind, Limit};
use crate::workload::Mix;

/// The load a scenario drives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadSettings {
    /// Requests per second.
    pub rate: f64,
    /// How long.
    pub duration: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Linear ramp to the rate.
    pub ramp: Duration,
    /// The scenario's bound for a good request, if it sets one.
    pub good_latency: Option<Duration>,
    /// Request kinds.
    pub mix: Mix,
}

/// A fault at its time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedFault {
    /// When, from the start of the load.
    pub at: Duration,
    /// What.
    pub spec: FaultSpec,
}

impl PlannedFault {
    /// When it ends (None: permanent or instant).
    pub fn end(&self) -> Option<Duration> {
        self.spec.duration.map(|d| self.at + d)
    }
}

/// A scenario-level expectation (tightens a documented target).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expectation {
    /// Which check.
    pub check: CheckKind,
    /// Its limit in the check's unit (ms for durations).
    pub limit: f64,
    /// As written.
    pub limit_text: String,
}

/// How long the event check waits at most for the pipeline to drain when
/// a scenario sets no `settle`: longer than a consumer session timeout, a
/// rebalance and the analytics watchdog's stall limit together.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(60);

/// A validated scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// The file it came from.
    pub path: PathBuf,
    /// Its name.
    pub name: String,
    /// What it does and what it expects.
    pub description: String,
    /// The system profile it is written for, unless given on the command line.
    pub system: Option<String>,
    /// The seed, if fixed.
    pub seed: Option<u64>,
    /// The load.
    pub load: LoadSettings,
    /// The faults, in time order.
    pub faults: Vec<PlannedFault>,
    /// Expectations stricter than the documented targets.
    pub expect: Vec<Expectation>,
    /// The most the event check waits after the load for the pipeline to
    /// drain (outbox published, group lag 0); events still missing then
    /// are lost.
    pub settle: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Spanned<String>,
    description: Option<String>,
    system: Option<Spanned<String>>,
    seed: Option<u64>,
    load: Spanned<RawLoad>,
    #[serde(default, rename = "fault")]
    faults: Vec<Spanned<RawFault>>,
    expect: Option<BTreeMap<Spanned<String>, Spanned<Limit>>>,
    settle: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoad {
    rate: Spanned<f64>,
    duration: Spanned<String>,
    timeout: Option<Spanned<String>>,
    ramp: Option<Spanned<String>>,
    good_latency: Option<Spanned<String>>,
    mix: Option<Spanned<Mix>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    kind: Spanned<String>,
    at: Spanned<String>,
    duration: Option<Spanned<String>>,
    restart_after: Option<Spanned<String>>,
    restore_after: Option<Spanned<String>>,
    permanent: Option<Spanned<bool>>,
    broker_store: Option<Spanned<bool>>,
    cache: Option<Spanned<bool>>,
    target: Option<Spanned<RawTarget>>,
    latency: Option<Spanned<String>>,
    jitter: Option<Spanned<String>>,
    rate: Option<Spanned<u64>>,
    direction: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    a: Option<Spanned<RawGroup>>,
    b: Option<Spanned<RawGroup>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    service: Option<Spanned<String>>,
    zone: Option<Spanned<String>>,
    role: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    count: Option<Spanned<RawCount>>,
    hop: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawCount {
    N(i64),
    Word(String),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    #[serde(default)]
    zones: Vec<String>,
    #[serde(default)]
    services: Vec<String>,
}

const DURATION_HINT: &str = "write durations like \"500ms\", \"30s\", \"2m\"";

struct Ctx<'a> {
    src: &'a Source,
    stack: &'a StackSettings,
}

impl Ctx<'_> {
    fn err(&self, at: usize, message: impl Into<String>, hint: impl Into<String>) -> FileError {
        self.src.error_at(at, message, hint)
    }

    fn duration(&self, v: &Spanned<String>, what: &str) -> Result<Duration, FileError> {
        humantime::parse_duration(v.get_ref().trim()).map_err(|_| {
            self.err(
                v.span().start,
                format!("{what}: {:?} is not a duration", v.get_ref()),
                DURATION_HINT,
            )
        })
    }

    fn service(&self, v: &Spanned<String>) -> Result<Service, FileError> {
        Service::from_name(v.get_ref()).ok_or_else(|| {
            self.err(
                v.span().start,
                format!("unknown service {:?}", v.get_ref()),
                format!(
                    "services are {}",
                    Service::ALL.map(Service::name).join(", ")
                ),
            )
        })
    }

    fn zone(&self, v: &Spanned<String>) -> Result<String, FileError> {
        if self.stack.zones.contains(v.get_ref()) {
            Ok(v.get_ref().clone())
        } else {
            Err(self.err(
                v.span().start,
                format!("unknown zone {:?}", v.get_ref()),
                format!("the stack's zones are {}", self.stack.zones.join(", ")),
            ))
        }
    }
}

impl Scenario {
    /// Reads and validates a scenario file for a stack shaped by `stack`.
    pub fn load_file(path: &Path, stack: &StackSettings) -> Result<Scenario, FileError> {
        Scenario::parse(&Source::read(path)?, stack)
    }

    /// Validates a scenario's text.
    pub fn parse(src: &Source, stack: &StackSettings) -> Result<Scenario, FileError> {
        let raw: RawScenario = toml::from_str(&src.text).map_err(|e| {
            src.toml_error(
                &e,
                "see scenarios/pod-kill.toml for the shape of a scenario",
            )
        })?;
        let cx = Ctx { src, stack };
        let load = parse_load(&cx, &raw.load)?;
        let mut faults = Vec::new();
        for (i, f) in raw.faults.iter().enumerate() {
            faults.push(parse_fault(&cx, i, f, &load)?);
        }
        check_conflicts(&cx, &raw.faults, &faults)?;
        let mut expect = Vec::new();
        for (k, v) in raw.expect.iter().flatten() {
            let check = CheckKind::from_name(k.get_ref()).ok_or_else(|| {
                cx.err(
                    k.span().start,
                    format!("unknown expectation {:?}", k.get_ref()),
                    format!(
                        "expectations are {}",
                        CheckKind::ALL.map(CheckKind::name).join(", ")
                    ),
                )
            })?;
            let limit = limit_value(check.unit(), v.get_ref()).ok_or_else(|| {
                cx.err(
                    v.span().start,
                    format!("invalid limit for {}", check.name()),
                    match check.unit() {
                        crate::targets::Unit::Duration => DURATION_HINT,
                        crate::targets::Unit::Ratio => "a ratio between 0 and 1, such as 0.05",
                        crate::targets::Unit::Count => "a whole number",
                    },
                )
            })?;
            expect.push(Expectation {
                check,
                limit,
                limit_text: match v.get_ref() {
                    Limit::Text(s) => s.clone(),
                    Limit::Number(n) => n.to_string(),
                },
            });
        }
        let settle = match &raw.settle {
            Some(s) => cx.duration(s, "settle")?,
            None => DEFAULT_SETTLE,
        };
        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(cx.err(
                raw.name.span().start,
                "the scenario's name is empty",
                "name = \"orders-pod-kill\"",
            ));
        }
        Ok(Scenario {
            path: src.path.clone(),
            name,
            description: raw.description.unwrap_or_default(),
            system: raw.system.map(|s| s.into_inner()),
            seed: raw.seed,
            load,
            faults,
            expect,
            settle,
        })
    }
}

fn parse_load(cx: &Ctx, raw: &Spanned<RawLoad>) -> Result<LoadSettings, FileError> {
    let l = raw.get_ref();
    let rate = *l.rate.get_ref();
    if !(rate > 0.0 && rate.is_finite() && rate <= 1_000_000.0) {
        return Err(cx.err(
            l.rate.span().start,
            format!("rate {rate} is not a positive request rate"),
            "rate = 200 (requests per second)",
        ));
    }
    let duration = cx.duration(&l.duration, "load duration")?;
    if duration.is_zero() {
        return Err(cx.err(
            l.duration.span().start,
            "the load lasts no time",
            "duration = \"90s\"",
        ));
    }
    let timeout = match &l.timeout {
        Some(t) => cx.duration(t, "timeout")?,
        None => Duration::from_secs(2),
    };
    if timeout.is_zero() {
        return Err(cx.err(
            l.timeout.as_ref().map_or(0, |t| t.span().start),
            "a zero timeout fails every request",
            "timeout = \"2s\"",
        ));
    }
    let ramp = match &l.ramp {
        Some(r) => cx.duration(r, "ramp")?,
        None => Duration::ZERO,
    };
    if ramp > duration {
        return Err(cx.err(
            l.ramp.as_ref().map_or(0, |r| r.span().start),
            "the ramp is longer than the load",
            "shorten ramp or lengthen duration",
        ));
    }
    let good_latency = l
        .good_latency
        .as_ref()
        .map(|g| cx.duration(g, "good_latency"))
        .transpose()?;
    let mix = match &l.mix {
        Some(m) => {
            let mix = *m.get_ref();
            let shares = [mix.create_order, mix.get_order, mix.health];
            if shares.iter().any(|s| !s.is_finite() || *s < 0.0) || mix.total() <= 0.0 {
                return Err(cx.err(
                    m.span().start,
                    "mix shares must be ≥ 0 and not all zero",
                    "mix = { create_order = 0.5, get_order = 0.4, health = 0.1 }",
                ));
            }
            mix
        }
        None => Mix::default(),
    };
    Ok(LoadSettings {
        rate,
        duration,
        timeout,
        ramp,
        good_latency,
        mix,
    })
}

/// The parameters each kind accepts (besides kind, at and target).
fn allowed(kind: FaultKind) -> &'static [&'static str] {
    match kind {
        FaultKind::PodKill | FaultKind::AzOutage | FaultKind::BrokerLoss | FaultKind::CacheLoss => {
            &["duration", "restart_after", "permanent"]
        }
        FaultKind::DbFailover => &["duration", "restart_after", "permanent", "mode"],
        FaultKind::PodPause | FaultKind::AzIsolation => &["duration", "permanent"],
        FaultKind::Latency => &["duration", "permanent", "latency", "jitter", "direction"],
        FaultKind::Bandwidth => &["duration", "permanent", "rate", "direction"],
        FaultKind::Blackhole => &["duration", "permanent", "direction"],
        FaultKind::Reset => &["duration", "permanent"],
        FaultKind::Partition => &["duration", "permanent", "a", "b"],
        FaultKind::RegionLoss => &["restore_after", "permanent", "broker_store", "cache"],
    }
}

fn parse_fault(
    cx: &Ctx,
    i: usize,
    raw: &Spanned<RawFault>,
    load: &LoadSettings,
) -> Result<PlannedFault, FileError> {
    let f = raw.get_ref();
    let n = i + 1;
    let kind = FaultKind::from_name(f.kind.get_ref()).ok_or_else(|| {
        cx.err(
            f.kind.span().start,
            format!("fault {n}: unknown kind {:?}", f.kind.get_ref()),
            format!(
                "kinds are {}",
                FaultKind::ALL.map(FaultKind::name).join(", ")
            ),
        )
    })?;
    // Parameters that do not belong to this kind.
    let given: [(&str, Option<usize>); 10] = [
        ("duration", f.duration.as_ref().map(|v| v.span().start)),
        (
            "restart_after",
            f.restart_after.as_ref().map(|v| v.span().start),
        ),
        ("permanent", f.permanent.as_ref().map(|v| v.span().start)),
        ("latency", f.latency.as_ref().map(|v| v.span().start)),
        ("jitter", f.jitter.as_ref().map(|v| v.span().start)),
        ("rate", f.rate.as_ref().map(|v| v.span().start)),
        ("direction", f.direction.as_ref().map(|v| v.span().start)),
        ("mode", f.mode.as_ref().map(|v| v.span().start)),
        ("a", f.a.as_ref().map(|v| v.span().start)),
        ("b", f.b.as_ref().map(|v| v.span().start)),
    ];
    for (key, at) in given {
        if let Some(at) = at {
            if !allowed(kind).contains(&key) {
                return Err(cx.err(
                    at,
                    format!("fault {n}: {key} is not a parameter of {}", kind.name()),
                    format!("{} takes: {}", kind.name(), allowed(kind).join(", ")),
                ));
            }
        }
    }
    let at = cx.duration(&f.at, "at")?;
    if at >= load.duration {
        return Err(cx.err(
            f.at.span().start,
            format!(
                "fault {n} is at {} but the load lasts {}",
                fmt(at),
                fmt(load.duration)
            ),
            "inject faults while the load runs",
        ));
    }
    // `restart_after` (kills) and `restore_after` (a region loss) are the
    // duration under the name that says what its end is.
    let ends: Vec<&Spanned<String>> = [&f.duration, &f.restart_after, &f.restore_after]
        .into_iter()
        .flatten()
        .collect();
    let duration = match ends.as_slice() {
        [] => None,
        [d] => Some(cx.duration(d, "duration")?),
        [_, d, ..] => {
            return Err(cx.err(
                d.span().start,
                format!("fault {n} gives its end twice"),
                "give one of duration, restart_after (kills) or restore_after (a region loss)",
            ))
        }
    };
    let permanent = f.permanent.as_ref().is_some_and(|p| *p.get_ref());
    let target = f.target.as_ref().map(|t| (t.span().start, t.get_ref()));
    let hop = || -> Result<String, FileError> {
        let (at, t) = target.ok_or_else(|| {
            cx.err(
                raw.span().start,
                format!(
                    "fault {n} ({}) needs target = {{ hop = \"…\" }}",
                    kind.name()
                ),
                format!("hops: {}", topology::hop_names(&cx.stack.zones).join(", ")),
            )
        })?;
        let h = t.hop.as_ref().ok_or_else(|| {
            cx.err(
                at,
                format!("fault {n} ({}) needs a hop", kind.name()),
                format!("hops: {}", topology::hop_names(&cx.stack.zones).join(", ")),
            )
        })?;
        if topology::hop(h.get_ref(), &cx.stack.zones).is_none() {
            return Err(cx.err(
                h.span().start,
                format!("unknown hop {:?}", h.get_ref()),
                format!("hops: {}", topology::hop_names(&cx.stack.zones).join(", ")),
            ));
        }
        Ok(h.get_ref().clone())
    };
    let direction = |default: Direction| -> Result<Direction, FileError> {
        match &f.direction {
            None => Ok(default),
            Some(d) => match d.get_ref().as_str() {
                "upstream" => Ok(Direction::Upstream),
                "downstream" => Ok(Direction::Downstream),
                "both" => Ok(Direction::Both),
                other => Err(cx.err(
                    d.span().start,
                    format!("unknown direction {other:?}"),
                    "direction is upstream, downstream or both",
                )),
            },
        }
    };
    let zone_target = || -> Result<String, FileError> {
        let (at, t) = target.ok_or_else(|| {
            cx.err(
                raw.span().start,
                format!(
                    "fault {n} ({}) needs target = {{ zone = \"…\" }}",
                    kind.name()
                ),
                format!("zones: {}", cx.stack.zones.join(", ")),
            )
        })?;
        let z = t.zone.as_ref().ok_or_else(|| {
            cx.err(
                at,
                format!("fault {n} ({}) needs a zone", kind.name()),
                format!("zones: {}", cx.stack.zones.join(", ")),
            )
        })?;
        cx.zone(z)
    };
    let action = match kind {
        FaultKind::PodKill | FaultKind::PodPause => {
            let sel = selector(cx, n, target, raw.span().start)?;
            if kind == FaultKind::PodKill {
                Action::Kill(sel)
            } else {
                Action::Pause(sel)
            }
        }
        FaultKind::AzOutage => Action::ZoneOutage {
            zone: zone_target()?,
        },
        FaultKind::AzIsolation => Action::ZoneIsolation {
            zone: zone_target()?,
        },
        FaultKind::Latency => {
            let latency = f.latency.as_ref().ok_or_else(|| {
                cx.err(
                    raw.span().start,
                    format!("fault {n} (latency) needs latency"),
                    "latency = \"200ms\"",
                )
            })?;
            Action::Latency {
                hop: hop()?,
                latency: cx.duration(latency, "latency")?,
                jitter: f
                    .jitter
                    .as_ref()
                    .map(|j| cx.duration(j, "jitter"))
                    .transpose()?
                    .unwrap_or_default(),
                direction: direction(Direction::Downstream)?,
            }
        }
        FaultKind::Bandwidth => {
            let rate = f.rate.as_ref().ok_or_else(|| {
                cx.err(
                    raw.span().start,
                    format!("fault {n} (bandwidth) needs rate"),
                    "rate = 64 (KB per second)",
                )
            })?;
            if *rate.get_ref() == 0 {
                return Err(cx.err(
                    rate.span().start,
                    "a bandwidth of 0 is a blackhole",
                    "use kind = \"blackhole\", or a rate ≥ 1 KB/s",
                ));
            }
            Action::Bandwidth {
                hop: hop()?,
                rate_kbps: *rate.get_ref(),
                direction: direction(Direction::Downstream)?,
            }
        }
        FaultKind::Blackhole => Action::Blackhole {
            hop: hop()?,
            direction: direction(Direction::Both)?,
        },
        FaultKind::Reset => Action::Reset { hop: hop()? },
        FaultKind::Partition => {
            let side = |g: &Option<Spanned<RawGroup>>, key: &str| -> Result<Group, FileError> {
                let g = g.as_ref().ok_or_else(|| cx.err(raw.span().start, format!("fault {n} (partition) needs {key} = {{ zones = [...] }} or {{ services = [...] }}"), "a = { zones = [\"a\"] }, b = { zones = [\"b\", \"c\"] }"))?;
                let r = g.get_ref();
                let at = g.span().start;
                let mut out = Group::default();
                for z in &r.zones {
                    if !cx.stack.zones.contains(z) {
                        return Err(cx.err(
                            at,
                            format!("unknown zone {z:?} in {key}"),
                            format!("zones: {}", cx.stack.zones.join(", ")),
                        ));
                    }
                    out.zones.push(z.clone());
                }
                for s in &r.services {
                    out.services.push(Service::from_name(s).ok_or_else(|| {
                        cx.err(
                            at,
                            format!("unknown service {s:?} in {key}"),
                            format!(
                                "services are {}",
                                Service::ALL.map(Service::name).join(", ")
                            ),
                        )
                    })?);
                }
                if out.zones.is_empty() && out.services.is_empty() {
                    return Err(cx.err(
                        at,
                        format!("partition side {key} is empty"),
                        "give zones or services",
                    ));
                }
                Ok(out)
            };
            Action::Partition {
                a: side(&f.a, "a")?,
                b: side(&f.b, "b")?,
            }
        }
        FaultKind::DbFailover => {
            let mode = match f.mode.as_ref() {
                None => FailoverMode::KillLeader,
                Some(m) => match m.get_ref().as_str() {
                    "kill-leader" => FailoverMode::KillLeader,
                    "switchover" => FailoverMode::Switchover,
                    other => {
                        return Err(cx.err(
                            m.span().start,
                            format!("unknown db-failover mode {other:?}"),
                            "mode is \"kill-leader\" or \"switchover\"",
                        ))
                    }
                },
            };
            Action::DbFailover { mode }
        }
        FaultKind::BrokerLoss => Action::BrokerLoss,
        FaultKind::CacheLoss => Action::CacheLoss,
        FaultKind::RegionLoss => Action::RegionLoss {
            broker_store: f.broker_store.as_ref().is_some_and(|b| *b.get_ref()),
            cache: f.cache.as_ref().is_some_and(|b| *b.get_ref()),
        },
    };
    if target.is_some()
        && matches!(
            kind,
            FaultKind::DbFailover
                | FaultKind::BrokerLoss
                | FaultKind::CacheLoss
                | FaultKind::Partition
        )
    {
        return Err(cx.err(
            target.map_or(0, |t| t.0),
            format!("fault {n} ({}) takes no target", kind.name()),
            "it knows what it acts on; remove target",
        ));
    }
    let spec = FaultSpec {
        action,
        duration,
        permanent,
    };
    if !spec.is_bounded() {
        return Err(cx.err(
            raw.span().start,
            format!("fault {n} ({}) has no end", kind.name()),
            if matches!(
                kind,
                FaultKind::PodKill
                    | FaultKind::AzOutage
                    | FaultKind::BrokerLoss
                    | FaultKind::CacheLoss
                    | FaultKind::DbFailover
            ) {
                "add restart_after = \"10s\", or permanent = true if it must never be undone"
            } else {
                "add duration = \"20s\", or permanent = true if it must never be undone"
            },
        ));
    }
    if spec.action.is_instant() && duration.is_some() {
        return Err(cx.err(
            raw.span().start,
            format!("fault {n}: a switchover is instant and takes no duration"),
            "remove duration / restart_after",
        ));
    }
    if let Some(d) = duration {
        if at + d > load.duration {
            return Err(cx.err(
                raw.span().start,
                format!("fault {n} ends at {}, after the load ({})", fmt(at + d), fmt(load.duration)),
                "shorten it or lengthen the load: a fault must end while traffic still measures the recovery",
            ));
        }
    }
    Ok(PlannedFault { at, spec })
}

fn selector(
    cx: &Ctx,
    n: usize,
    target: Option<(usize, &RawTarget)>,
    fault_at: usize,
) -> Result<Selector, FileError> {
    let (at, t) = target.ok_or_else(|| {
        cx.err(
            fault_at,
            format!("fault {n} needs a target"),
            "target = { service = \"orders\", zone = \"a\" }",
        )
    })?;
    if let Some(h) = &t.hop {
        return Err(cx.err(
            h.span().start,
            format!("fault {n}: a hop is not a container"),
            "target containers with service, zone, role, name and count",
        ));
    }
    let role = t
        .role
        .as_ref()
        .map(|r| match r.get_ref().as_str() {
            "leader" => Ok(Role::Leader),
            "replica" => Ok(Role::Replica),
            label if Service::ALL.iter().any(|s| s.role() == label) => {
                Ok(Role::Label(label.to_string()))
            }
            other => Err(cx.err(
                r.span().start,
                format!("unknown role {other:?}"),
                "roles are leader, replica, app, db, dcs, router, cache, broker, proxy, ingress",
            )),
        })
        .transpose()?;
    let count = t
        .count
        .as_ref()
        .map(|c| match c.get_ref() {
            RawCount::N(n) if *n >= 1 => Ok(Count::N(*n as u32)),
            RawCount::Word(w) if w == "all" => Ok(Count::All),
            _ => Err(cx.err(
                c.span().start,
                "count is a number ≥ 1 or \"all\"",
                "count = 1",
            )),
        })
        .transpose()?;
    let sel = Selector {
        service: t.service.as_ref().map(|s| cx.service(s)).transpose()?,
        zone: t.zone.as_ref().map(|z| cx.zone(z)).transpose()?,
        role,
        name: t.name.as_ref().map(|n| n.get_ref().clone()),
        count,
    };
    if sel.service.is_none() && sel.zone.is_none() && sel.role.is_none() && sel.name.is_none() {
        return Err(cx.err(
            at,
            format!("fault {n}: an empty target would pick any container"),
            "narrow it: service, zone, role or name",
        ));
    }
    let nodes = topology::nodes(cx.stack);
    let matches = nodes
        .iter()
        .filter(|node| sel.matches_static(&node.name, node.service, &node.zone))
        .count();
    if matches == 0 {
        return Err(cx.err(
            at,
            format!("fault {n}: the target matches no container of the stack"),
            "check service, zone, role and name together (e.g. redis runs only in one zone)",
        ));
    }
    if let Some(Count::N(c)) = sel.count {
        if c as usize > matches {
            return Err(cx.err(
                at,
                format!("fault {n}: count {c} but only {matches} containers match"),
                format!("count = {matches} or \"all\""),
            ));
        }
    }
    Ok(sel)
}

/// Two faults of the same kind on the same target may not overlap in time.
fn check_conflicts(
    cx: &Ctx,
    raw: &[Spanned<RawFault>],
    faults: &[PlannedFault],
) -> Result<(), FileError> {
    for (j, b) in faults.iter().enumerate() {
        for a in &faults[..j] {
            if a.spec.kind() != b.spec.kind() || a.spec.action != b.spec.action {
                continue;
            }
            let a_end = a.end().unwrap_or(Duration::MAX);
            if b.at < a_end {
                return Err(cx.err(
                    raw[j].span().start,
                    format!(
                        "fault {} overlaps an earlier {} on the same target",
                        j + 1,
                        b.spec.kind().name()
                    ),
                    "move it after the earlier one ends, or target something else",
                ));
            }
        }
    }
    Ok(())
}

fn fmt(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, FileError> {
        Scenario::parse(
            &Source {
                path: "s.toml".into(),
                text: text.into(),
            },
            &StackSettings::default(),
        )
    }

    const HEAD: &str = "name = \"t\"\n[load]\nrate = 100\nduration = \"60s\"\n";

    #[test]
    fn a_complete_scenario_validates() {
        let s = parse(&format!(
            "{HEAD}[[fault]]\nkind = \"pod-kill\"\nat = \"10s\"\ntarget = {{ service = \"orders\", zone = \"a\" }}\nrestart_after = \"5s\"\n\
             [[fault]]\nkind = \"latency\"\nat = \"20s\"\nduration = \"10s\"\ntarget = {{ hop = \"orders->postgres\" }}\nlatency = \"200ms\"\njitter = \"50ms\"\n\
             [expect]\nrto = \"30s\"\nerror_rate = 0.01\n"
        ))
        .unwrap();
        assert_eq!(s.faults.len(), 2);
        assert_eq!(s.faults[0].end(), Some(Duration::from_secs(15)));
        assert_eq!(s.expect.len(), 2);
        assert_eq!(s.load.timeout, Duration::from_secs(2));
    }

    fn err(text: &str) -> FileError {
        parse(&format!("{HEAD}{text}")).unwrap_err()
    }

    #[test]
    fn mistakes_are_named_with_their_place_and_a_fix() {
        let e = err("[[fault]]\nkind = \"pod-kil\"\nat = \"1s\"\n");
        assert_eq!((e.line, e.column), (6, 8));
        assert!(e.hint.contains("pod-kill"));
        let e = err("[[fault]]\nkind = \"cache-loss\"\nat = \"1s\"\n");
        assert!(e.message.contains("no end"), "{e}");
        let e =
            err("[[fault]]\nkind = \"cache-loss\"\nat = \"1 fortnight\"\nrestart_after = \"1s\"\n");
        assert!(e.message.contains("not a duration"));
        assert_eq!(e.line, 7);
        let e = err("[[fault]]\nkind = \"pod-kill\"\nat = \"1s\"\nrestart_after = \"1s\"\ntarget = { service = \"redis\", zone = \"a\" }\n");
        assert!(e.message.contains("matches no container"), "{e}");
        let e = err("[[fault]]\nkind = \"latency\"\nat = \"1s\"\nduration = \"1s\"\nlatency = \"1s\"\ntarget = { hop = \"orders->mongo\" }\n");
        assert!(e.hint.contains("orders->postgres"));
        let e = err("[[fault]]\nkind = \"cache-loss\"\nat = \"1s\"\nrestart_after = \"1s\"\nlatency = \"1s\"\n");
        assert!(e.message.contains("not a parameter"));
        let e = err("[[fault]]\nkind = \"cache-loss\"\nat = \"50s\"\nrestart_after = \"20s\"\n");
        assert!(e.message.contains("after the load"));
        let e = err("[bogus]\n");
        assert_eq!(e.line, 5);
        let e = err("[[fault]]\nkind = \"cache-loss\"\nat = \"1s\"\nrestart_after = \"10s\"\n[[fault]]\nkind = \"cache-loss\"\nat = \"5s\"\nrestart_after = \"1s\"\n");
        assert!(e.message.contains("overlaps"));
        assert_eq!(e.line, 9);
        let e = err("[expect]\nrto = 5\n");
        assert!(e.message.contains("invalid limit"));
        let e = parse("name = \"t\"\n[load]\nrate = -3\nduration = \"60s\"\n").unwrap_err();
        assert_eq!(e.line, 3);
    }

    #[test]
    fn overlapping_faults_on_different_targets_are_fine() {
        parse(&format!(
            "{HEAD}[[fault]]\nkind = \"az-isolation\"\nat = \"10s\"\nduration = \"30s\"\ntarget = {{ zone = \"a\" }}\n\
             [[fault]]\nkind = \"db-failover\"\nat = \"15s\"\nrestart_after = \"20s\"\n"
        ))
        .unwrap();
    }
}
