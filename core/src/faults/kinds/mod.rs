//! Fault kinds, one file per kind. Each file declares what a scenario may
//! write for its kind — the name, the keys and their types, how its end is
//! given, what it targets — and turns those keys into a typed, validated
//! value with a label for reports and the way its RTO is measured: the
//! [`Kind`] trait. Carrying a fault out is I/O, so it is the `faultline`
//! crate's business: its `faults/<kind>.rs` holds the same kind's inject.
//!
//! [`with_fault_kinds!`] is the registry: one line per kind. The
//! [`Action`](super::Action) and [`FaultKind`](super::FaultKind) enums, the
//! parser's dispatch and the harness's dispatch are all generated from it,
//! so adding a kind is a file here, a file in the harness, and one line.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::target::{Count, Direction, Group, Inventory, Role, Selector};
use crate::measure::RtoMeasure;
use crate::source::{FileError, Source};
use crate::stack::topology;

/// The registry of fault kinds: `Variant: module`, one line per kind. The
/// module (a file beside this one, and one of the same name under the
/// harness's `faults/`) defines a type named like the variant that
/// implements [`Kind`]. `$callback` is a macro that receives the list.
#[macro_export]
macro_rules! with_fault_kinds {
    ($callback:ident) => {
        $callback! {
            PodKill: pod_kill,
            PodPause: pod_pause,
            AzOutage: az_outage,
            AzIsolation: az_isolation,
            Latency: latency,
            Bandwidth: bandwidth,
            Blackhole: blackhole,
            Reset: reset,
            Partition: partition,
            DbFailover: db_failover,
            BrokerLoss: broker_loss,
            CacheLoss: cache_loss,
            RegionLoss: region_loss,
            CpuStress: cpu_stress,
            PacketLoss: packet_loss,
            DnsFailure: dns_failure,
        }
    };
}

macro_rules! declare_kind_modules {
    ($($variant:ident: $module:ident,)*) => {
        $(pub mod $module;)*
    };
}
with_fault_kinds!(declare_kind_modules);

/// What one fault kind is, as the scenario file sees it.
pub trait Kind: Sized {
    /// Its scenario name (`pod-kill`).
    const NAME: &'static str;
    /// One line on what it does, for `faultline kinds` and the docs.
    const ABOUT: &'static str;
    /// How a scenario says when it ends (besides `permanent = true`).
    const END: End;
    /// What `target = { … }` names, if anything.
    const TARGET: TargetRule;
    /// Its own keys, beyond `kind`, `at`, `target`, its end and `permanent`.
    const KEYS: &'static [Key];
    /// How its RTO is measured.
    const RTO: RtoMeasure = RtoMeasure::Sustained;
    /// Whether its end is a restore from the backup region (a failed
    /// restore leaves no database to wait for or to read).
    const RESTORES_FROM_BACKUP: bool = false;
    /// Why it acts only on faultline's own stack (its mechanism needs the
    /// stack's own wiring: the fault proxies, Patroni, the broker, the
    /// backup region), if it does; a scenario for a stack faultline did not
    /// create is refused with this reason.
    const ONLY_ON_OWN_STACK: Option<&'static str> = None;

    /// Builds the fault from its keys, validated against the stack.
    fn parse(p: &Params) -> Result<Self, FileError>;

    /// A short label for reports (`pod-kill orders zone a`).
    fn label(&self) -> String;

    /// Whether it is over the moment it is done (a switchover), so it
    /// needs no end.
    fn is_instant(&self) -> bool {
        false
    }
}

/// How a scenario gives a fault's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `duration = "30s"`: reverted that long after it went in.
    Duration,
    /// `restart_after = "10s"` (or `duration`): what was stopped starts
    /// again that long after.
    RestartAfter,
    /// `restore_after = "5s"`: the restore from backup begins that long
    /// after.
    RestoreAfter,
}

impl End {
    /// The keys that give this end.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            End::Duration => &["duration"],
            End::RestartAfter => &["restart_after", "duration"],
            End::RestoreAfter => &["restore_after"],
        }
    }

    /// The fix for a fault that gives no end.
    pub fn hint(self) -> String {
        format!(
            "add {} = \"20s\", or permanent = true if it must never be undone",
            self.keys()[0]
        )
    }
}

/// What a kind's `target` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetRule {
    /// No target: the kind knows what it acts on.
    None,
    /// Containers: service, zone, role, name and count.
    Containers,
    /// One zone.
    Zone,
    /// One hop through the fault proxies (`orders->postgres`).
    Hop,
}

/// One key a kind accepts.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// As written in the scenario.
    pub name: &'static str,
    /// What its value is.
    pub ty: KeyType,
}

/// The type of a key's value.
#[derive(Debug, Clone, Copy)]
pub enum KeyType {
    /// A duration string (`"200ms"`).
    Duration,
    /// `true` or `false`.
    Bool,
    /// A whole number ≥ 1.
    Count,
    /// A share between 0 and 1, or a percentage string (`"30%"`).
    Ratio,
    /// A number above 0 (`0.1`).
    Number,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A partition side: `{ zones = [...] }` or `{ services = [...] }`.
    Group,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ty = match self.ty {
            KeyType::Duration => "a duration".to_string(),
            KeyType::Bool => "true or false".to_string(),
            KeyType::Count => "a whole number".to_string(),
            KeyType::Ratio => "a share like 0.3 or \"30%\"".to_string(),
            KeyType::Number => "a number".to_string(),
            KeyType::Choice(words) => words.join(" | "),
            KeyType::Group => "{ zones = [...] } or { services = [...] }".to_string(),
        };
        write!(f, "{} ({ty})", self.name)
    }
}

/// The fault keys every kind shares; the rest belong to the kind.
pub(crate) const SHARED_KEYS: [&str; 7] = [
    "kind",
    "at",
    "target",
    "duration",
    "restart_after",
    "restore_after",
    "permanent",
];

/// Why a hop fault acts only on faultline's own stack.
pub(crate) const HOP_NEEDS_PROXY: &str = "a hop fault acts in faultline's fault proxies, which a stack faultline did not create has none of; tc netem in the container's network namespace is not built yet (and this machine's kernel has no sch_netem): put faultline-proxy between the two services (README: \"Hop faults on your own stack\") or use packet-loss, partition or dns-failure";

/// An example of a fault's two groups (`a` and `b`), for hints.
pub(crate) const SIDES_EXAMPLE: &str = "a = { zones = [\"a\"] }, b = { zones = [\"b\", \"c\"] }";

const DURATION_HINT: &str = "write durations like \"500ms\", \"30s\", \"2m\"";

/// `target = { … }` as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTarget {
    service: Option<Spanned<String>>,
    zone: Option<Spanned<String>>,
    role: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    count: Option<Spanned<RawCount>>,
    hop: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
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

/// One fault's keys as a kind reads them, with their places in the file
/// for errors.
pub struct Params<'a> {
    pub(crate) src: &'a Source,
    pub(crate) inventory: &'a Inventory,
    /// The fault's number in the file, from 1.
    pub(crate) n: usize,
    pub(crate) kind: &'static str,
    /// Where the fault's table starts.
    pub(crate) at: usize,
    pub(crate) keys: &'a BTreeMap<String, Spanned<toml::Value>>,
    pub(crate) target: Option<(usize, &'a RawTarget)>,
}

impl Params<'_> {
    /// An error at a byte offset of the file.
    pub fn err(&self, at: usize, message: impl Into<String>, hint: impl Into<String>) -> FileError {
        self.src.error_at(at, message, hint)
    }

    /// An error about the fault as a whole (a missing key).
    pub fn missing(&self, key: &str, example: &str) -> FileError {
        self.err(
            self.at,
            format!("fault {} ({}) needs {key}", self.n, self.kind),
            example,
        )
    }

    /// The stack the scenario is validated against.
    pub fn inventory(&self) -> &Inventory {
        self.inventory
    }

    fn zones_hint(&self) -> String {
        if self.inventory.zones.is_empty() {
            "the stack has no zones (its stack file's [zones] tells them)".to_string()
        } else {
            format!("the stack's zones are {}", self.inventory.zones.join(", "))
        }
    }

    fn services_hint(&self) -> String {
        format!("services are {}", self.inventory.services().join(", "))
    }

    fn value(&self, key: &str) -> Option<(usize, &toml::Value)> {
        self.keys.get(key).map(|v| (v.span().start, v.get_ref()))
    }

    fn wrong(&self, at: usize, key: &str, expected: &str) -> FileError {
        self.err(
            at,
            format!("fault {}: {key} must be {expected}", self.n),
            format!("{key} = {}", example_of(expected)),
        )
    }

    /// Where `key` is given as the number 0, if it is (a kind that wants
    /// to say why 0 is wrong before [`count`](Self::count) refuses it).
    pub fn zero(&self, key: &str) -> Option<usize> {
        self.value(key)
            .filter(|(_, v)| v.as_integer() == Some(0))
            .map(|(at, _)| at)
    }

    /// A duration key.
    pub fn duration(&self, key: &str) -> Result<Option<Duration>, FileError> {
        let Some((at, v)) = self.value(key) else {
            return Ok(None);
        };
        let text = v
            .as_str()
            .ok_or_else(|| self.wrong(at, key, "a duration"))?;
        humantime::parse_duration(text.trim())
            .map(Some)
            .map_err(|_| {
                self.err(
                    at,
                    format!("{key}: {text:?} is not a duration"),
                    DURATION_HINT,
                )
            })
    }

    /// A `true`/`false` key.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, FileError> {
        let Some((at, v)) = self.value(key) else {
            return Ok(None);
        };
        v.as_bool()
            .map(Some)
            .ok_or_else(|| self.wrong(at, key, "true or false"))
    }

    /// A whole number ≥ 1.
    pub fn count(&self, key: &str) -> Result<Option<u64>, FileError> {
        let Some((at, v)) = self.value(key) else {
            return Ok(None);
        };
        match v.as_integer() {
            Some(n) if n >= 1 => Ok(Some(n as u64)),
            _ => Err(self.wrong(at, key, "a whole number ≥ 1")),
        }
    }

    /// A number above 0, with its place (for a kind's own range check).
    pub fn number(&self, key: &str) -> Result<Option<(usize, f64)>, FileError> {
        let Some((at, v)) = self.value(key) else {
            return Ok(None);
        };
        let n = match v {
            toml::Value::Float(f) => Some(*f),
            toml::Value::Integer(i) => Some(*i as f64),
            _ => None,
        };
        match n {
            Some(n) if n > 0.0 && n.is_finite() => Ok(Some((at, n))),
            _ => Err(self.wrong(at, key, "a number above 0")),
        }
    }

    /// A share in (0, 1]: `0.3` or `"30%"`.
    pub fn ratio(&self, key: &str) -> Result<Option<f64>, FileError> {
        let Some((at, v)) = self.value(key) else {
            return Ok(None);
        };
        let share = match v {
            toml::Value::Float(f) => Some(*f),
            toml::Value::Integer(1) => Some(1.0),
            toml::Value::String(s) => s
                .trim()
                .strip_suffix('%')
                .and_then(|p| p.trim().parse::<f64>().ok())
                .map(|p| p / 100.0),
            _ => None,
        };
        match share {
            Some(s) if s > 0.0 && s <= 1.0 => Ok(Some(s)),
            _ => Err(self.wrong(at, key, "a share above 0 and at most 1")),
        }
    }

    /// One of `choices` (word, value).
    pub fn choice<T: Copy>(
        &self,
        key: &str,
        choices: &[(&str, T)],
    ) -> Result<Option<T>, FileError> {
        let Some((at, v)) = self.value(key) else {
            return Ok(None);
        };
        let words: Vec<&str> = choices.iter().map(|(w, _)| *w).collect();
        let expected = format!("one of {}", words.join(", "));
        let text = v.as_str().ok_or_else(|| self.wrong(at, key, &expected))?;
        choices
            .iter()
            .find(|(w, _)| *w == text)
            .map(|(_, t)| Some(*t))
            .ok_or_else(|| {
                self.err(
                    at,
                    format!("fault {}: unknown {key} {text:?}", self.n),
                    format!("{key} is {}", words.join(", ")),
                )
            })
    }

    /// The direction of a hop fault, `default` when not given.
    pub fn direction(&self, default: Direction) -> Result<Direction, FileError> {
        Ok(self
            .choice(
                "direction",
                &[
                    ("upstream", Direction::Upstream),
                    ("downstream", Direction::Downstream),
                    ("both", Direction::Both),
                ],
            )?
            .unwrap_or(default))
    }

    /// A group of zones or services (a partition side).
    pub fn group(&self, key: &str) -> Result<Option<Group>, FileError> {
        let Some((at, v)) = self.value(key) else {
            return Ok(None);
        };
        let raw: RawGroup = v
            .clone()
            .try_into()
            .map_err(|_| self.wrong(at, key, "{ zones = [...] } or { services = [...] }"))?;
        let mut out = Group::default();
        for z in &raw.zones {
            if !self.inventory.zones.contains(z) {
                return Err(self.err(
                    at,
                    format!("unknown zone {z:?} in {key}"),
                    self.zones_hint(),
                ));
            }
            out.zones.push(z.clone());
        }
        for s in &raw.services {
            if !self.inventory.nodes.iter().any(|n| &n.service == s) {
                return Err(self.err(
                    at,
                    format!("unknown service {s:?} in {key}"),
                    self.services_hint(),
                ));
            }
            out.services.push(s.clone());
        }
        if out.zones.is_empty() && out.services.is_empty() {
            return Err(self.err(at, format!("{key} is empty"), "give zones or services"));
        }
        Ok(Some(out))
    }

    /// The target's zone (`target = { zone = "a" }`).
    pub fn zone(&self) -> Result<String, FileError> {
        let zones = self.zones_hint();
        let (at, t) = self.target.ok_or_else(|| {
            self.err(
                self.at,
                format!(
                    "fault {} ({}) needs target = {{ zone = \"…\" }}",
                    self.n, self.kind
                ),
                zones.clone(),
            )
        })?;
        let z = t.zone.as_ref().ok_or_else(|| {
            self.err(
                at,
                format!("fault {} ({}) needs a zone", self.n, self.kind),
                zones.clone(),
            )
        })?;
        self.known_zone(z)
    }

    fn known_zone(&self, z: &Spanned<String>) -> Result<String, FileError> {
        if self.inventory.zones.contains(z.get_ref()) {
            Ok(z.get_ref().clone())
        } else {
            Err(self.err(
                z.span().start,
                format!("unknown zone {:?}", z.get_ref()),
                self.zones_hint(),
            ))
        }
    }

    /// The target's hop (`target = { hop = "orders->postgres" }`).
    pub fn hop(&self) -> Result<String, FileError> {
        // Kinds that take a hop act only on faultline's own stack, and the
        // scenario parser refuses them elsewhere before they get here.
        let zones = self.inventory.zones.as_slice();
        let hops = format!("hops: {}", topology::hop_names(zones).join(", "));
        let (at, t) = self.target.ok_or_else(|| {
            self.err(
                self.at,
                format!(
                    "fault {} ({}) needs target = {{ hop = \"…\" }}",
                    self.n, self.kind
                ),
                hops.clone(),
            )
        })?;
        let h = t.hop.as_ref().ok_or_else(|| {
            self.err(
                at,
                format!("fault {} ({}) needs a hop", self.n, self.kind),
                hops.clone(),
            )
        })?;
        if topology::hop(h.get_ref(), zones).is_none() {
            return Err(self.err(
                h.span().start,
                format!("unknown hop {:?}", h.get_ref()),
                hops,
            ));
        }
        Ok(h.get_ref().clone())
    }

    /// The target's containers: service, zone, role, name and count,
    /// checked to match at least one container of the stack.
    pub fn containers(&self) -> Result<Selector, FileError> {
        let n = self.n;
        let (at, t) = self.target.ok_or_else(|| {
            self.err(
                self.at,
                format!("fault {n} needs a target"),
                "target = { service = \"orders\", zone = \"a\" }",
            )
        })?;
        if let Some(h) = &t.hop {
            return Err(self.err(
                h.span().start,
                format!("fault {n}: a hop is not a container"),
                "target containers with service, zone, role, name and count",
            ));
        }
        let roles = self.inventory.roles();
        let role = t
            .role
            .as_ref()
            .map(|r| match r.get_ref().as_str() {
                _ if roles.is_empty() => Err(self.err(
                    r.span().start,
                    "a stack faultline did not create has no roles",
                    "name its service (or zone, or name) instead",
                )),
                "leader" => Ok(Role::Leader),
                "replica" => Ok(Role::Replica),
                label if roles.iter().any(|r| r == label) => Ok(Role::Label(label.to_string())),
                other => Err(self.err(
                    r.span().start,
                    format!("unknown role {other:?}"),
                    format!("roles are leader, replica, {}", roles.join(", ")),
                )),
            })
            .transpose()?;
        let count = t
            .count
            .as_ref()
            .map(|c| match c.get_ref() {
                RawCount::N(n) if *n >= 1 => Ok(Count::N(*n as u32)),
                RawCount::Word(w) if w == "all" => Ok(Count::All),
                _ => Err(self.err(
                    c.span().start,
                    "count is a number ≥ 1 or \"all\"",
                    "count = 1",
                )),
            })
            .transpose()?;
        let service = t
            .service
            .as_ref()
            .map(|s| {
                if self
                    .inventory
                    .nodes
                    .iter()
                    .any(|n| &n.service == s.get_ref())
                {
                    Ok(s.get_ref().clone())
                } else {
                    Err(self.err(
                        s.span().start,
                        format!("unknown service {:?}", s.get_ref()),
                        self.services_hint(),
                    ))
                }
            })
            .transpose()?;
        if let Some(name) = &t.name {
            if !self
                .inventory
                .nodes
                .iter()
                .any(|n| &n.name == name.get_ref())
            {
                let names: Vec<&str> = self
                    .inventory
                    .nodes
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect();
                return Err(self.err(
                    name.span().start,
                    format!("no container is named {:?}", name.get_ref()),
                    format!("names are {}", names.join(", ")),
                ));
            }
        }
        let sel = Selector {
            service,
            zone: t.zone.as_ref().map(|z| self.known_zone(z)).transpose()?,
            role,
            name: t.name.as_ref().map(|n| n.get_ref().clone()),
            count,
        };
        if sel.service.is_none() && sel.zone.is_none() && sel.role.is_none() && sel.name.is_none() {
            return Err(self.err(
                at,
                format!("fault {n}: an empty target would pick any container"),
                "narrow it: service, zone, role or name",
            ));
        }
        let matches = self.inventory.matching(&sel).count();
        if matches == 0 {
            return Err(self.err(
                at,
                format!("fault {n}: the target matches no container of the stack"),
                "check service, zone, role and name together (e.g. redis runs only in one zone)",
            ));
        }
        if let Some(Count::N(c)) = sel.count {
            if c as usize > matches {
                return Err(self.err(
                    at,
                    format!("fault {n}: count {c} but only {matches} containers match"),
                    format!("count = {matches} or \"all\""),
                ));
            }
        }
        Ok(sel)
    }
}

/// An example value for a type, for hints.
fn example_of(expected: &str) -> &'static str {
    if expected.contains("duration") {
        "\"30s\""
    } else if expected.contains("true") {
        "true"
    } else if expected.contains("share") {
        "0.3"
    } else if expected.contains("number") {
        "1"
    } else if expected.contains("zones") {
        "{ zones = [\"a\"] }"
    } else {
        "\"…\""
    }
}

/// The label of a selector's containers (`orders leader zone a`).
pub(crate) fn selector_label(kind: &str, s: &Selector) -> String {
    let mut parts = vec![kind.to_string()];
    if let Some(n) = &s.name {
        parts.push(n.clone());
    }
    if let Some(sv) = &s.service {
        parts.push(sv.clone());
    }
    if let Some(r) = &s.role {
        parts.push(match r {
            Role::Leader => "leader".into(),
            Role::Replica => "replica".into(),
            Role::Label(l) => l.clone(),
        });
    }
    if let Some(z) = &s.zone {
        parts.push(format!("zone {z}"));
    }
    parts.join(" ")
}

/// The label of a partition side (`zone a+orders`).
pub(crate) fn group_label(g: &Group) -> String {
    let mut v: Vec<String> = g.zones.iter().map(|z| format!("zone {z}")).collect();
    v.extend(g.services.iter().cloned());
    v.join("+")
}
