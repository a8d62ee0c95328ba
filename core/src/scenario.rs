//! Scenario files (`scenarios/*.toml`): parsed into a raw form that keeps
//! every value's position, then validated into a [`Scenario`] against the
//! stack it runs on (faultline's own, shaped by the profile, or a stack of
//! the user's, as an [`Inventory`]) — before anything starts. Every mistake names
//! `file:line:column` and a one-line fix. Pure: no I/O beyond reading the
//! file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::faults::kinds::{Params, RawTarget, TargetRule, SHARED_KEYS};
use crate::faults::spec::{Action, FaultKind, FaultSpec};
use crate::faults::target::Inventory;
use crate::source::{FileError, Source};
use crate::stack::StackSettings;
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

/// The keys every fault shares; the kind's own keys are read apart (see
/// [`FaultKeys`]), so this accepts any other key.
#[derive(Deserialize)]
struct RawFault {
    kind: Spanned<String>,
    at: Spanned<String>,
    duration: Option<Spanned<String>>,
    restart_after: Option<Spanned<String>>,
    restore_after: Option<Spanned<String>>,
    permanent: Option<Spanned<bool>>,
    target: Option<Spanned<RawTarget>>,
}

/// Every key of every fault, with its place: the same text read a second
/// time, for the keys a kind declares (and to refuse the ones it does not).
#[derive(Deserialize)]
struct FaultKeys {
    #[serde(default, rename = "fault")]
    faults: Vec<BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
}

const DURATION_HINT: &str = "write durations like \"500ms\", \"30s\", \"2m\"";

struct Ctx<'a> {
    src: &'a Source,
    inventory: &'a Inventory,
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
}

impl Scenario {
    /// Reads and validates a scenario file for faultline's own stack,
    /// shaped by `stack`.
    pub fn load_file(path: &Path, stack: &StackSettings) -> Result<Scenario, FileError> {
        Scenario::parse(&Source::read(path)?, stack)
    }

    /// Reads and validates a scenario file for the stack `inventory`
    /// describes.
    pub fn load_file_for(path: &Path, inventory: &Inventory) -> Result<Scenario, FileError> {
        Scenario::parse_for(&Source::read(path)?, inventory)
    }

    /// Validates a scenario's text for faultline's own stack.
    pub fn parse(src: &Source, stack: &StackSettings) -> Result<Scenario, FileError> {
        Scenario::parse_for(src, &Inventory::reference(stack))
    }

    /// Validates a scenario's text for the stack `inventory` describes.
    pub fn parse_for(src: &Source, inventory: &Inventory) -> Result<Scenario, FileError> {
        let raw: RawScenario = toml::from_str(&src.text).map_err(|e| {
            src.toml_error(
                &e,
                "see scenarios/pod-kill.toml for the shape of a scenario",
            )
        })?;
        let keys: FaultKeys = toml::from_str(&src.text)
            .map_err(|e| src.toml_error(&e, "see scenarios/pod-kill.toml"))?;
        let cx = Ctx { src, inventory };
        let load = parse_load(&cx, &raw.load)?;
        let mut faults = Vec::new();
        for (i, f) in raw.faults.iter().enumerate() {
            let own: BTreeMap<String, Spanned<toml::Value>> = keys
                .faults
                .get(i)
                .into_iter()
                .flatten()
                .filter(|(k, _)| !SHARED_KEYS.contains(&k.get_ref().as_str()))
                .map(|(k, v)| (k.get_ref().clone(), v.clone()))
                .collect();
            faults.push(parse_fault(&cx, i, f, &own, &load)?);
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

fn parse_fault(
    cx: &Ctx,
    i: usize,
    raw: &Spanned<RawFault>,
    own: &BTreeMap<String, Spanned<toml::Value>>,
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
                FaultKind::ALL
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    if let (Some(why), None) = (kind.only_on_own_stack(), &cx.inventory.reference) {
        return Err(cx.err(
            f.kind.span().start,
            format!(
                "fault {n}: {} acts only on faultline's own stack",
                kind.name()
            ),
            why,
        ));
    }
    // What this kind takes, for the hint of any key it does not.
    let takes = || {
        let mut keys: Vec<String> = kind.end().keys().iter().map(|k| k.to_string()).collect();
        keys.push("permanent".into());
        keys.extend(kind.keys().iter().map(ToString::to_string));
        if kind.target_rule() != TargetRule::None {
            keys.push("target".into());
        }
        format!("{} takes: {}", kind.name(), keys.join(", "))
    };
    let not_its = |key: &str, at: usize| {
        cx.err(
            at,
            format!("fault {n}: {key} is not a parameter of {}", kind.name()),
            takes(),
        )
    };
    if let Some((key, v)) = own
        .iter()
        .find(|(k, _)| !kind.keys().iter().any(|known| known.name == k.as_str()))
    {
        return Err(not_its(key, v.span().start));
    }
    // `restart_after` (kills) and `restore_after` (a region loss) are the
    // duration under the name that says what its end is.
    let ends = [
        ("duration", &f.duration),
        ("restart_after", &f.restart_after),
        ("restore_after", &f.restore_after),
    ];
    for (key, v) in ends {
        if let Some(v) = v {
            if !kind.end().keys().contains(&key) {
                return Err(not_its(key, v.span().start));
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
    let given: Vec<&Spanned<String>> = ends.iter().filter_map(|(_, v)| v.as_ref()).collect();
    let duration = match given.as_slice() {
        [] => None,
        [d] => Some(cx.duration(d, "duration")?),
        [_, d, ..] => {
            return Err(cx.err(
                d.span().start,
                format!("fault {n} gives its end twice"),
                format!("give one of {}", kind.end().keys().join(" or ")),
            ))
        }
    };
    let permanent = f.permanent.as_ref().is_some_and(|p| *p.get_ref());
    let target = f.target.as_ref().map(|t| (t.span().start, t.get_ref()));
    if let (Some((at, _)), TargetRule::None) = (target, kind.target_rule()) {
        return Err(cx.err(
            at,
            format!("fault {n} ({}) takes no target", kind.name()),
            "it knows what it acts on; remove target",
        ));
    }
    let params = Params {
        src: cx.src,
        inventory: cx.inventory,
        n,
        kind: kind.name(),
        at: raw.span().start,
        keys: own,
        target,
    };
    let spec = FaultSpec {
        action: Action::parse(kind, &params)?,
        duration,
        permanent,
    };
    if !spec.is_bounded() {
        return Err(cx.err(
            raw.span().start,
            format!("fault {n} ({}) has no end", kind.name()),
            kind.end().hint(),
        ));
    }
    if spec.action.is_instant() && duration.is_some() {
        return Err(cx.err(
            raw.span().start,
            format!("fault {n}: {} is instant and takes no end", spec.label()),
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

    /// A user's stack: two app replicas in zones a and b, a database in b.
    fn user_inventory(zones: bool) -> Inventory {
        use crate::faults::target::InventoryNode;
        let node = |name: &str, service: &str, zone: &str| InventoryNode {
            name: name.into(),
            service: service.into(),
            role: None,
            zone: if zones { zone.into() } else { String::new() },
        };
        Inventory {
            zones: if zones {
                vec!["a".into(), "b".into()]
            } else {
                Vec::new()
            },
            nodes: vec![
                node("app-1", "app", "a"),
                node("app-2", "app", "b"),
                node("db-1", "db", "b"),
            ],
            reference: None,
        }
    }

    fn on_user_stack(fault: &str, zones: bool) -> Result<Scenario, FileError> {
        Scenario::parse_for(
            &Source {
                path: "s.toml".into(),
                text: format!("{HEAD}[[fault]]\n{fault}"),
            },
            &user_inventory(zones),
        )
    }

    #[test]
    fn on_a_users_stack_targets_name_its_services_zones_and_containers() {
        let s = on_user_stack(
            "kind = \"pod-kill\"\nat = \"10s\"\ntarget = { service = \"app\", count = 2 }\nrestart_after = \"5s\"\n",
            true,
        )
        .unwrap();
        assert_eq!(s.faults[0].spec.label(), "pod-kill app");
        on_user_stack(
            "kind = \"az-outage\"\nat = \"10s\"\ntarget = { zone = \"b\" }\nduration = \"5s\"\n",
            true,
        )
        .unwrap();
        on_user_stack(
            "kind = \"partition\"\nat = \"10s\"\na = { services = [\"app\"] }\nb = { services = [\"db\"] }\nduration = \"5s\"\n",
            false,
        )
        .unwrap();

        let e = on_user_stack(
            "kind = \"pod-kill\"\nat = \"10s\"\ntarget = { service = \"ap\" }\nrestart_after = \"5s\"\n",
            true,
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (8, 22), "{e}");
        assert!(e.hint.contains("app, db"), "{e}");
        let e = on_user_stack(
            "kind = \"pod-pause\"\nat = \"10s\"\ntarget = { name = \"app-9\" }\nduration = \"5s\"\n",
            true,
        )
        .unwrap_err();
        assert!(e.hint.contains("app-1, app-2, db-1"), "{e}");
        let e = on_user_stack(
            "kind = \"pod-kill\"\nat = \"10s\"\ntarget = { service = \"db\", zone = \"a\" }\nrestart_after = \"5s\"\n",
            true,
        )
        .unwrap_err();
        assert!(e.message.contains("matches no container"), "{e}");
        let e = on_user_stack(
            "kind = \"pod-kill\"\nat = \"10s\"\ntarget = { role = \"leader\" }\nrestart_after = \"5s\"\n",
            true,
        )
        .unwrap_err();
        assert!(e.message.contains("no roles"), "{e}");
        let e = on_user_stack(
            "kind = \"az-outage\"\nat = \"10s\"\ntarget = { zone = \"a\" }\nduration = \"5s\"\n",
            false,
        )
        .unwrap_err();
        assert!(e.hint.contains("no zones"), "{e}");
    }

    #[test]
    fn kinds_that_need_faultlines_own_wiring_are_refused_on_a_users_stack_with_the_reason() {
        let e = on_user_stack(
            "kind = \"latency\"\nat = \"10s\"\ntarget = { hop = \"app->db\" }\nlatency = \"100ms\"\nduration = \"5s\"\n",
            true,
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (6, 8), "{e}");
        assert!(e.message.contains("only on faultline's own stack"), "{e}");
        assert!(
            e.hint.contains("netem") && e.hint.contains("faultline-proxy"),
            "{e}"
        );
        for kind in ["db-failover", "broker-loss", "cache-loss", "region-loss"] {
            let e = on_user_stack(
                &format!("kind = \"{kind}\"\nat = \"10s\"\nduration = \"5s\"\n"),
                true,
            )
            .unwrap_err();
            assert!(
                e.message.contains("only on faultline's own stack"),
                "{kind}: {e}"
            );
            assert!(!e.hint.is_empty(), "{kind}: {e}");
        }
    }

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
    fn each_kind_reads_its_own_keys_with_their_types() {
        let hop = "target = { hop = \"orders->postgres\" }\n";
        let e = err(&format!(
            "[[fault]]\nkind = \"bandwidth\"\nat = \"1s\"\nduration = \"1s\"\n{hop}rate = \"fast\"\n"
        ));
        assert!(e.message.contains("rate must be a whole number"), "{e}");
        assert_eq!(e.line, 10);
        let e = err(&format!(
            "[[fault]]\nkind = \"latency\"\nat = \"1s\"\nduration = \"1s\"\n{hop}latency = \"1s\"\ndirection = \"sideways\"\n"
        ));
        assert!(e.message.contains("unknown direction"), "{e}");
        assert!(e.hint.contains("upstream, downstream, both"), "{e}");
        let e = err(
            "[[fault]]\nkind = \"region-loss\"\nat = \"1s\"\nrestore_after = \"1s\"\ncache = 1\n",
        );
        assert!(e.message.contains("cache must be true or false"), "{e}");
        // A key of another kind is refused with what this kind takes.
        let e = err(&format!(
            "[[fault]]\nkind = \"reset\"\nat = \"1s\"\nduration = \"1s\"\n{hop}jitter = \"1s\"\n"
        ));
        assert!(
            e.message.contains("jitter is not a parameter of reset"),
            "{e}"
        );
        assert_eq!(e.hint, "reset takes: duration, permanent, target");
        // The end key says what the end is; another kind's is refused.
        let e = err("[[fault]]\nkind = \"pod-pause\"\nat = \"1s\"\nrestart_after = \"1s\"\ntarget = { service = \"orders\" }\n");
        assert!(
            e.message.contains("restart_after is not a parameter"),
            "{e}"
        );
        let e = err("[[fault]]\nkind = \"db-failover\"\nat = \"1s\"\nmode = \"switchover\"\nduration = \"1s\"\n");
        assert!(e.message.contains("instant"), "{e}");
        let e = err("[[fault]]\nkind = \"region-loss\"\nat = \"1s\"\n");
        assert_eq!(
            e.hint,
            "add restore_after = \"20s\", or permanent = true if it must never be undone"
        );
    }

    #[test]
    fn a_kind_s_keys_become_its_typed_value() {
        let s = parse(&format!(
            "{HEAD}[[fault]]\nkind = \"partition\"\nat = \"1s\"\nduration = \"5s\"\na = {{ zones = [\"a\"] }}\nb = {{ services = [\"redis\"] }}\n"
        ))
        .unwrap();
        assert_eq!(s.faults[0].spec.label(), "partition zone a | redis");
        assert_eq!(
            serde_json::to_value(&s.faults[0].spec.action).unwrap(),
            serde_json::json!({"partition": {"a": {"zones": ["a"], "services": []}, "b": {"zones": [], "services": ["redis"]}}})
        );
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
