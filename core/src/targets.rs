//! System profiles (`scenarios/targets/<system>.toml`): the targets each
//! seed document states, each with the sentence it comes from, and the
//! stack settings the document implies. Pure: parsing and validation only.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::source::{FileError, Source};
use crate::stack::settings::{GatewaySettings, PatroniTiming};
use crate::stack::StackSettings;

/// What a check measures, and how its limit reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// Recovery time per fault (duration).
    Rto,
    /// Recovery point per fault: acknowledged history lost (duration).
    Rpo,
    /// Failed / attempted requests (ratio), over the run or a sliding window.
    ErrorRate,
    /// 95th-percentile latency (duration), over the run or a sliding window.
    P95,
    /// 99th-percentile latency (duration), over the run or a sliding window.
    P99,
    /// Monthly availability target (ratio), judged as error-budget burn.
    Availability,
    /// Worst PostgreSQL replication lag (duration).
    ReplicationLag,
    /// Worst consumer-group lag, messages (count).
    ConsumerLag,
    /// Most consecutive failed health probes of one service (count).
    HealthCheckFailures,
    /// Service containers that stopped without the harness stopping them (count).
    UnplannedRestarts,
    /// Stored orders whose event never reached analytics (count).
    LostEvents,
    /// Worst delay from an order's write to analytics storing its event
    /// (duration); a later event is late, not lost.
    EventDelay,
}

/// How a limit is written and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A duration, compared in milliseconds.
    Duration,
    /// A ratio between 0 and 1.
    Ratio,
    /// A count.
    Count,
}

impl CheckKind {
    /// Every check.
    pub const ALL: [CheckKind; 12] = [
        CheckKind::Rto,
        CheckKind::Rpo,
        CheckKind::ErrorRate,
        CheckKind::P95,
        CheckKind::P99,
        CheckKind::Availability,
        CheckKind::ReplicationLag,
        CheckKind::ConsumerLag,
        CheckKind::HealthCheckFailures,
        CheckKind::UnplannedRestarts,
        CheckKind::LostEvents,
        CheckKind::EventDelay,
    ];

    /// Its name in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Rto => "rto",
            CheckKind::Rpo => "rpo",
            CheckKind::ErrorRate => "error_rate",
            CheckKind::P95 => "p95",
            CheckKind::P99 => "p99",
            CheckKind::Availability => "availability",
            CheckKind::ReplicationLag => "replication_lag",
            CheckKind::ConsumerLag => "consumer_lag",
            CheckKind::HealthCheckFailures => "health_check_failures",
            CheckKind::UnplannedRestarts => "unplanned_restarts",
            CheckKind::LostEvents => "lost_events",
            CheckKind::EventDelay => "event_delay",
        }
    }

    /// The check with this name.
    pub fn from_name(name: &str) -> Option<CheckKind> {
        CheckKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// How its limit is written.
    pub fn unit(self) -> Unit {
        match self {
            CheckKind::Rto
            | CheckKind::Rpo
            | CheckKind::P95
            | CheckKind::P99
            | CheckKind::ReplicationLag
            | CheckKind::EventDelay => Unit::Duration,
            CheckKind::ErrorRate | CheckKind::Availability => Unit::Ratio,
            CheckKind::ConsumerLag
            | CheckKind::HealthCheckFailures
            | CheckKind::UnplannedRestarts
            | CheckKind::LostEvents => Unit::Count,
        }
    }

    /// Whether a window may be given (a sliding-window judgement).
    pub fn takes_window(self) -> bool {
        matches!(self, CheckKind::ErrorRate | CheckKind::P95 | CheckKind::P99)
    }

    /// For availability a *higher* measured value is better; for every
    /// other check the measured value must not exceed the limit.
    pub fn higher_is_better(self) -> bool {
        self == CheckKind::Availability
    }
}

/// A limit's value: milliseconds for durations, else the number.
pub fn limit_value(unit: Unit, limit: &Limit) -> Option<f64> {
    match (unit, limit) {
        (Unit::Duration, Limit::Text(s)) => humantime::parse_duration(s)
            .ok()
            .map(|d| d.as_secs_f64() * 1000.0),
        (Unit::Ratio, Limit::Number(n)) if (0.0..=1.0).contains(n) => Some(*n),
        (Unit::Count, Limit::Number(n)) if *n >= 0.0 && n.fract() == 0.0 => Some(*n),
        _ => None,
    }
}

/// A limit as written: a duration string or a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Limit {
    /// `"15m"`.
    Text(String),
    /// `0.05`, `1000`.
    Number(f64),
}

/// One documented (or default) target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    /// What it checks.
    pub check: CheckKind,
    /// Its limit in the check's unit (ms for durations).
    pub limit: f64,
    /// The limit as written (`15m`, `0.05`).
    pub limit_text: String,
    /// A sliding window, if the document means one.
    pub window: Option<Duration>,
    /// Where it comes from: a quotation of the document, or
    /// "faultline default".
    pub source: String,
    /// Whether this is a harness default rather than a documented number.
    pub default: bool,
}

/// A system profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    /// Its name (`customer-service`).
    pub name: String,
    /// A readable title.
    pub title: String,
    /// The seed document it was written from.
    pub document: String,
    /// What the document describes.
    pub notes: String,
    /// Its targets, documented ones first, then the defaults that fill in
    /// what the document does not state.
    pub targets: Vec<Target>,
    /// The stack it implies.
    pub stack: StackSettings,
    /// The document states no numeric target at all.
    pub no_numeric_targets: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: Spanned<String>,
    title: Option<String>,
    document: Option<String>,
    notes: Option<String>,
    #[serde(default)]
    no_numeric_targets: bool,
    #[serde(default, rename = "target")]
    targets: Vec<Spanned<RawTarget>>,
    stack: Option<RawStack>,
}

/// A `[[target]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTarget {
    check: Spanned<String>,
    limit: Spanned<Limit>,
    window: Option<Spanned<String>>,
    source: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStack {
    synchronous_replication: Option<bool>,
    health_check_interval: Option<Spanned<String>>,
    health_check_fall: Option<u32>,
    analytics_replicas: Option<u32>,
    archive_interval: Option<Spanned<String>>,
    base_backup_interval: Option<Spanned<String>>,
    patroni: Option<PatroniTiming>,
    gateway: Option<RawGateway>,
    consumer: Option<RawConsumer>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConsumer {
    session_timeout: Option<Spanned<String>>,
    stall_limit: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGateway {
    request_timeout: Option<Spanned<String>>,
    retries: Option<u32>,
    retry_backoff: Option<Spanned<String>>,
    breaker_failure_ratio: Option<f64>,
    breaker_min_requests: Option<u32>,
    breaker_window: Option<Spanned<String>>,
    breaker_reset_timeout: Option<Spanned<String>>,
}

/// The defaults that stand in for targets a document does not state.
pub fn defaults() -> Vec<Target> {
    let d = |check: CheckKind, limit: f64, text: &str, why: &str| Target {
        check,
        limit,
        limit_text: text.into(),
        window: None,
        source: format!("faultline default: {why}"),
        default: true,
    };
    vec![
        d(
            CheckKind::Rto,
            60_000.0,
            "60s",
            "a fault's effect clears within a minute",
        ),
        d(CheckKind::Rpo, 0.0, "0s", "no acknowledged write is lost"),
        d(
            CheckKind::ErrorRate,
            0.05,
            "0.05",
            "at most 5 % of requests fail over the run",
        ),
        d(
            CheckKind::P99,
            2_000.0,
            "2s",
            "p99 latency within 2 s over the run",
        ),
        d(
            CheckKind::LostEvents,
            0.0,
            "0",
            "every stored order's event reaches analytics",
        ),
        d(
            CheckKind::EventDelay,
            60_000.0,
            "60s",
            "analytics stores an order's event within a minute of the write",
        ),
    ]
}

/// The folder of profiles under the project root.
pub fn profiles_dir(root: &Path) -> PathBuf {
    root.join("scenarios/targets")
}

/// Every profile name found in `dir`, sorted.
pub fn available(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let p = e.path();
                    (p.extension().is_some_and(|x| x == "toml"))
                        .then(|| p.file_stem().map(|s| s.to_string_lossy().to_string()))
                        .flatten()
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Loads `<dir>/<system>.toml`.
pub fn load(dir: &Path, system: &str) -> Result<Profile, FileError> {
    let path = dir.join(format!("{system}.toml"));
    if !path.is_file() {
        return Err(FileError {
            file: path,
            line: 1,
            column: 1,
            message: format!("no profile for system {system:?}"),
            hint: format!("known systems: {}", available(dir).join(", ")),
        });
    }
    parse(&Source::read(&path)?)
}

fn duration(src: &Source, v: &Spanned<String>, what: &str) -> Result<Duration, FileError> {
    humantime::parse_duration(v.get_ref()).map_err(|e| {
        src.error_at(
            v.span().start,
            format!("{what}: {:?} is not a duration ({e})", v.get_ref()),
            "write durations like \"500ms\", \"10s\", \"15m\"",
        )
    })
}

/// A file's `[[target]]` list, validated, with faultline's defaults for
/// the checks it does not state (a profile's, or a stack file's own).
pub(crate) fn parse_targets(
    src: &Source,
    raw: &[Spanned<RawTarget>],
) -> Result<Vec<Target>, FileError> {
    let mut targets = Vec::new();
    for t in raw {
        let t = t.get_ref();
        let check = CheckKind::from_name(t.check.get_ref()).ok_or_else(|| {
            src.error_at(
                t.check.span().start,
                format!("unknown check {:?}", t.check.get_ref()),
                format!(
                    "checks are {}",
                    CheckKind::ALL.map(CheckKind::name).join(", ")
                ),
            )
        })?;
        let unit = check.unit();
        let limit = limit_value(unit, t.limit.get_ref()).ok_or_else(|| {
            let hint = match unit {
                Unit::Duration => "this check's limit is a duration such as \"500ms\" or \"15m\"",
                Unit::Ratio => "this check's limit is a number between 0 and 1, such as 0.05",
                Unit::Count => "this check's limit is a whole number, such as 0 or 1000",
            };
            src.error_at(
                t.limit.span().start,
                format!("invalid limit for {}", check.name()),
                hint,
            )
        })?;
        let window = match &t.window {
            Some(w) if !check.takes_window() => {
                return Err(src.error_at(
                    w.span().start,
                    format!("{} takes no window", check.name()),
                    "only error_rate, p95 and p99 are judged over a sliding window",
                ))
            }
            Some(w) => Some(duration(src, w, "window")?),
            None => None,
        };
        let limit_text = match t.limit.get_ref() {
            Limit::Text(s) => s.clone(),
            Limit::Number(n) => n.to_string(),
        };
        targets.push(Target {
            check,
            limit,
            limit_text,
            window,
            source: t.source.clone().unwrap_or_default(),
            default: false,
        });
    }
    for d in defaults() {
        if !targets.iter().any(|t| t.check == d.check) {
            targets.push(d);
        }
    }
    Ok(targets)
}

/// Parses and validates a profile.
pub fn parse(src: &Source) -> Result<Profile, FileError> {
    let raw: RawProfile = toml::from_str(&src.text).map_err(|e| {
        src.toml_error(
            &e,
            "see scenarios/targets/customer-service.toml for the shape of a profile",
        )
    })?;
    let targets = parse_targets(src, &raw.targets)?;
    let mut stack = StackSettings::default();
    let rs = raw.stack.unwrap_or_default();
    if let Some(v) = rs.synchronous_replication {
        stack.synchronous_replication = v;
    }
    if let Some(v) = &rs.health_check_interval {
        stack.health_check_interval = duration(src, v, "health_check_interval")?;
    }
    if let Some(v) = rs.health_check_fall {
        stack.health_check_fall = v;
    }
    if let Some(v) = rs.analytics_replicas {
        stack.analytics_replicas = v;
    }
    if let Some(c) = &rs.consumer {
        if let Some(v) = &c.session_timeout {
            stack.consumer.session_timeout = duration(src, v, "session_timeout")?;
        }
        if let Some(v) = &c.stall_limit {
            stack.consumer.stall_limit = duration(src, v, "stall_limit")?;
        }
    }
    if let Some(v) = &rs.archive_interval {
        stack.archive_interval = duration(src, v, "archive_interval")?;
    }
    if let Some(v) = &rs.base_backup_interval {
        stack.base_backup_interval = duration(src, v, "base_backup_interval")?;
    }
    if let Some(p) = rs.patroni {
        if !p.is_valid() {
            return Err(src.error_at(
                0,
                format!("Patroni timing {p:?} breaks loop_wait + 2 × retry_timeout ≤ ttl"),
                "raise ttl or lower loop_wait / retry_timeout",
            ));
        }
        stack.patroni = p;
    }
    if let Some(g) = rs.gateway {
        let base = GatewaySettings::default();
        let d = |v: &Option<Spanned<String>>, what: &str, default: Duration| match v {
            Some(v) => duration(src, v, what),
            None => Ok(default),
        };
        stack.gateway = GatewaySettings {
            request_timeout: d(&g.request_timeout, "request_timeout", base.request_timeout)?,
            retries: g.retries.unwrap_or(base.retries),
            retry_backoff: d(&g.retry_backoff, "retry_backoff", base.retry_backoff)?,
            breaker_failure_ratio: g
                .breaker_failure_ratio
                .unwrap_or(base.breaker_failure_ratio),
            breaker_min_requests: g.breaker_min_requests.unwrap_or(base.breaker_min_requests),
            breaker_window: d(&g.breaker_window, "breaker_window", base.breaker_window)?,
            breaker_reset_timeout: d(
                &g.breaker_reset_timeout,
                "breaker_reset_timeout",
                base.breaker_reset_timeout,
            )?,
        };
    }
    let name = raw.name.get_ref().clone();
    let stem = src
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string());
    if stem.as_deref().is_some_and(|s| s != name) {
        return Err(src.error_at(
            raw.name.span().start,
            format!(
                "the profile is named {name:?} but its file is {:?}",
                src.path.file_name().unwrap_or_default()
            ),
            "name the file <name>.toml",
        ));
    }
    Ok(Profile {
        title: raw.title.unwrap_or_else(|| name.clone()),
        name,
        document: raw.document.unwrap_or_default(),
        notes: raw.notes.unwrap_or_default(),
        targets,
        stack,
        no_numeric_targets: raw.no_numeric_targets,
    })
}

/// One row of `faultline targets`.
#[derive(Debug, Clone, tabled::Tabled)]
pub struct TargetRow {
    /// System.
    #[tabled(rename = "SYSTEM")]
    pub system: String,
    /// Check.
    #[tabled(rename = "CHECK")]
    pub check: String,
    /// Limit.
    #[tabled(rename = "LIMIT")]
    pub limit: String,
    /// Window.
    #[tabled(rename = "WINDOW")]
    pub window: String,
    /// Source.
    #[tabled(rename = "SOURCE")]
    pub source: String,
}

/// The rows `faultline targets` prints for a profile.
pub fn rows(p: &Profile) -> Vec<TargetRow> {
    p.targets
        .iter()
        .map(|t| TargetRow {
            system: p.name.clone(),
            check: t.check.name().into(),
            limit: t.limit_text.clone(),
            window: t
                .window
                .map(|w| humantime::format_duration(w).to_string())
                .unwrap_or_else(|| "run".into()),
            source: t.source.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source {
        Source {
            path: "scenarios/targets/demo.toml".into(),
            text: text.into(),
        }
    }

    #[test]
    fn documented_targets_come_first_and_defaults_fill_the_rest() {
        let p = parse(&src(
            "name = \"demo\"\n[[target]]\ncheck = \"rto\"\nlimit = \"15m\"\nsource = \"doc\"\n",
        ))
        .unwrap();
        assert_eq!(p.targets[0].check, CheckKind::Rto);
        assert_eq!(p.targets[0].limit, 900_000.0);
        assert!(!p.targets[0].default);
        assert!(
            p.targets
                .iter()
                .filter(|t| t.check == CheckKind::Rto)
                .count()
                == 1
        );
        assert!(p
            .targets
            .iter()
            .any(|t| t.check == CheckKind::Rpo && t.default));
    }

    #[test]
    fn mistakes_point_at_their_line_and_column() {
        let e = parse(&src(
            "name = \"demo\"\n[[target]]\ncheck = \"rtoo\"\nlimit = \"15m\"\n",
        ))
        .unwrap_err();
        assert_eq!((e.line, e.column), (3, 9));
        assert!(e.hint.contains("rto"));
        let e = parse(&src(
            "name = \"demo\"\n[[target]]\ncheck = \"rto\"\nlimit = 15\n",
        ))
        .unwrap_err();
        assert_eq!(e.line, 4);
        let e = parse(&src("name = \"demo\"\nbogus = 1\n")).unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse(&src(
            "name = \"demo\"\n[[target]]\ncheck = \"rpo\"\nlimit = \"1h\"\nwindow = \"2m\"\n",
        ))
        .unwrap_err();
        assert!(e.message.contains("takes no window"));
    }

    #[test]
    fn every_shipped_profile_parses() {
        let dir = profiles_dir(&crate::project::root());
        let names = available(&dir);
        assert_eq!(
            names,
            [
                "customer-service",
                "foohut",
                "ias",
                "mindcompute",
                "rent-to-own"
            ]
        );
        for n in names {
            let p = load(&dir, &n).unwrap_or_else(|e| panic!("{e}"));
            assert!(p.stack.patroni.is_valid());
            for t in &p.targets {
                assert!(
                    !t.source.is_empty(),
                    "{n}: {} has no source",
                    t.check.name()
                );
            }
        }
        let ias = load(&dir, "ias").unwrap();
        assert!(ias.no_numeric_targets && ias.targets.iter().all(|t| t.default));
        let cs = load(&dir, "customer-service").unwrap();
        assert_eq!(cs.stack.health_check_interval, Duration::from_secs(10));
        let foohut = load(&dir, "foohut").unwrap();
        let er = foohut
            .targets
            .iter()
            .find(|t| t.check == CheckKind::ErrorRate)
            .unwrap();
        assert_eq!(er.window, Some(Duration::from_secs(120)));
    }
}
