//! Stack files (`stacks/<name>.toml`): a stack faultline did not create —
//! where it runs, how its zones are told, where traffic enters, the
//! requests of its workload and which of them write, how to read which
//! writes are present, its health endpoints and its targets. Read with
//! every value's position, like scenarios: each mistake names
//! `file:line:column` and a one-line fix. Pure: no I/O beyond reading the
//! file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::source::{FileError, Source};
use crate::targets::{self, RawTarget, Target};

pub mod starter;

/// A user's stack, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackFile {
    /// The file it came from.
    pub path: PathBuf,
    /// Its name (the file's stem).
    pub name: String,
    /// What it is.
    pub description: String,
    /// Where it runs.
    pub place: Place,
    /// How a container's zone is told.
    pub zones: Zones,
    /// The URL every request of the workload is sent to (its path appended).
    pub entry: String,
    /// The workload's requests.
    pub requests: Vec<Request>,
    /// How to read which acknowledged writes are present; `None`: lost
    /// writes and RPO are *not measured* (and reported so), never 0.
    pub write_check: Option<WriteCheck>,
    /// Endpoints probed through the run.
    pub health: Vec<HealthProbe>,
    /// The targets the verdict judges against.
    pub targets: Targets,
}

/// Where a user's stack runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "platform", rename_all = "kebab-case")]
pub enum Place {
    /// A Compose project: its containers carry the Compose tool's
    /// `com.docker.compose.project` label with this name.
    Compose {
        /// The project's name.
        project: String,
        /// A compose file faultline brings up (`up -d --wait`) before the
        /// run and down after it, with the Compose tool; `None`: the
        /// project is already running and is left running.
        file: Option<PathBuf>,
    },
}

/// How a container's zone is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Zones {
    /// The stack has no zones: every fault but the zone faults applies.
    None,
    /// The value of this container label (`topology.kubernetes.io/zone`).
    Label(String),
    /// An explicit service → zone map.
    Map(BTreeMap<String, String>),
}

/// One kind of request of the workload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    /// Its name in reports.
    pub name: String,
    /// The HTTP method, upper case.
    pub method: String,
    /// The path (and query), appended to the entry URL.
    pub path: Template,
    /// The body, if any.
    pub body: Option<Template>,
    /// Headers.
    pub headers: BTreeMap<String, Template>,
    /// Its share of the load (relative to the other requests' weights).
    pub weight: f64,
    /// The statuses that count as success.
    pub success: Vec<u16>,
    /// A text the response body must contain to count as success.
    pub body_contains: Option<Template>,
    /// Whether (and under which id) a success is an acknowledged write.
    pub writes: Option<WriteId>,
}

impl Request {
    /// Whether rendering it needs an id an earlier write acknowledged.
    pub fn needs_recent_id(&self) -> bool {
        self.templates().any(Template::uses_recent_id)
    }

    fn templates(&self) -> impl Iterator<Item = &Template> {
        std::iter::once(&self.path)
            .chain(self.body.iter())
            .chain(self.headers.values())
            .chain(self.body_contains.iter())
            .chain(self.writes.as_ref().map(|WriteId::Template(t)| t))
    }
}

/// The id a write is recorded under in the write ledger.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteId {
    /// Rendered from the request (`"{{id}}"`, `"order-{{id}}"`): the client
    /// chose it. (An id the server picks, read from the response, is not
    /// built yet: the parser refuses `writes = { response = … }`.)
    Template(Template),
}

/// A text with placeholders, rendered per request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Template {
    parts: Vec<Part>,
}

/// A piece of a [`Template`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// `{{id}}`: a fresh id, unique in the run.
    Id,
    /// `{{seq}}`: the request's sequence number in the schedule.
    Seq,
    /// `{{recent_id}}`: an id a recent write acknowledged.
    RecentId,
}

/// The placeholders a template may hold.
pub const PLACEHOLDERS: [&str; 3] = ["{{id}}", "{{seq}}", "{{recent_id}}"];

/// What a request's placeholders stand for.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    /// `{{id}}`.
    pub id: &'a str,
    /// `{{seq}}`.
    pub seq: u64,
    /// `{{recent_id}}` (empty when no write was acknowledged yet).
    pub recent_id: &'a str,
}

impl Template {
    /// Splits `text` at its placeholders; an unknown `{{…}}` is an error
    /// naming it.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return Err(format!("{{{{ at byte {open} is never closed"));
            };
            parts.push(match after[..close].trim() {
                "id" => Part::Id,
                "seq" => Part::Seq,
                "recent_id" => Part::RecentId,
                other => return Err(format!("unknown placeholder {{{{{other}}}}}")),
            });
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// The text with its placeholders filled in.
    pub fn render(&self, v: Values) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Id => out.push_str(v.id),
                Part::Seq => out.push_str(&v.seq.to_string()),
                Part::RecentId => out.push_str(v.recent_id),
            }
        }
        out
    }

    /// Whether it holds `{{recent_id}}`.
    pub fn uses_recent_id(&self) -> bool {
        self.parts.contains(&Part::RecentId)
    }

    /// Whether it holds `{{id}}`.
    pub fn uses_id(&self) -> bool {
        self.parts.contains(&Part::Id)
    }

    /// The text for `id` of a template that holds nothing but `{{id}}`
    /// and plain text (a write's id: found again from the ledger's id).
    pub fn render_id(&self, id: &str) -> String {
        self.render(Values {
            id,
            seq: 0,
            recent_id: "",
        })
    }
}

impl From<Template> for String {
    fn from(t: Template) -> String {
        t.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.as_str(),
                Part::Id => "{{id}}",
                Part::Seq => "{{seq}}",
                Part::RecentId => "{{recent_id}}",
            })
            .collect()
    }
}

/// How to read which acknowledged writes are present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteCheck {
    /// Where the query runs.
    pub database: Database,
    /// A query taking the ids as `$1` (a `text[]`) and returning the ones
    /// present, one per row, first column.
    pub query: String,
    /// How the database to read is found.
    pub primary: Primary,
}

/// The most ids one query of a write check carries (a psql argument stays
/// far below the kernel's 128 KiB limit on one argument).
pub const IDS_PER_QUERY: usize = 1000;

impl WriteCheck {
    /// The SQL that asks which of `ids` are present: the stack file's query
    /// prepared with `$1` as `text[]`, executed with the ids as an array of
    /// string literals (quotes doubled), for `psql -c`.
    pub fn batch_sql(&self, ids: &[String]) -> String {
        let literals: Vec<String> = ids
            .iter()
            .map(|id| format!("'{}'", id.replace('\'', "''")))
            .collect();
        format!(
            "PREPARE faultline_present(text[]) AS {}; EXECUTE faultline_present(ARRAY[{}]::text[]); DEALLOCATE faultline_present;",
            self.query.trim().trim_end_matches(';'),
            literals.join(",")
        )
    }
}

/// Where a write check's query runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Database {
    /// A PostgreSQL connection string (libpq form or URL); with several
    /// hosts, [`Primary`] picks one.
    Dsn(String),
    /// `psql` inside these containers of the stack (Compose service names),
    /// as this database user on this database.
    Exec {
        /// The services whose containers may hold the primary.
        services: Vec<String>,
        /// The database user.
        user: String,
        /// The database.
        database: String,
    },
}

/// How the database to read writes from is found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Primary {
    /// The candidate where `pg_is_in_recovery()` is false.
    InRecovery,
    /// The one candidate given: no failover to follow.
    Fixed,
}

/// An endpoint probed through the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthProbe {
    /// Its name in reports.
    pub name: String,
    /// The URL.
    pub url: String,
}

/// Which targets judge the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Targets {
    /// Borrow a system profile's (`scenarios/targets/<system>.toml`).
    System(String),
    /// The stack file's own, with faultline's defaults where it states none.
    Own(Vec<Target>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStackFile {
    name: Spanned<String>,
    description: Option<String>,
    entry: Spanned<String>,
    compose: Option<Spanned<RawCompose>>,
    zones: Option<Spanned<RawZones>>,
    #[serde(default, rename = "request")]
    requests: Vec<Spanned<RawRequest>>,
    write_check: Option<Spanned<RawWriteCheck>>,
    #[serde(default)]
    health: Vec<Spanned<RawHealth>>,
    system: Option<Spanned<String>>,
    #[serde(default, rename = "target")]
    targets: Vec<Spanned<RawTarget>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompose {
    project: Spanned<String>,
    file: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZones {
    label: Option<Spanned<String>>,
    map: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    name: Spanned<String>,
    method: Option<Spanned<String>>,
    path: Spanned<String>,
    body: Option<Spanned<String>>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    weight: Option<Spanned<f64>>,
    success: Option<Spanned<Vec<i64>>>,
    body_contains: Option<Spanned<String>>,
    writes: Option<Spanned<RawWriteId>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawWriteId {
    Template(String),
    /// Any table (`{ response = "/id" }`): refused, with the reason.
    Table(BTreeMap<String, toml::Value>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWriteCheck {
    dsn: Option<Spanned<String>>,
    services: Option<Spanned<Vec<String>>>,
    user: Option<String>,
    database: Option<String>,
    query: Spanned<String>,
    primary: Option<Spanned<String>>,
    patroni: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHealth {
    name: Spanned<String>,
    url: Spanned<String>,
}

const SHAPE_HINT: &str = "see examples/compose-shop/stack.toml for the shape of a stack file";
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

impl StackFile {
    /// Reads and validates a stack file.
    pub fn load_file(path: &Path) -> Result<StackFile, FileError> {
        StackFile::parse(&Source::read(path)?)
    }

    /// Validates a stack file's text.
    pub fn parse(src: &Source) -> Result<StackFile, FileError> {
        let raw: RawStackFile =
            toml::from_str(&src.text).map_err(|e| src.toml_error(&e, SHAPE_HINT))?;
        let err = |at: usize, m: String, h: &str| src.error_at(at, m, h);
        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(err(
                raw.name.span().start,
                format!("the stack's name {name:?} is not a plain name"),
                "name = \"compose-shop\" (letters, digits and -)",
            ));
        }
        let place = match &raw.compose {
            Some(c) => parse_compose(src, c.get_ref())?,
            None => {
                return Err(err(
                    0,
                    "the stack file says not where the stack runs".into(),
                    "add [compose] project = \"<the Compose project's name>\"",
                ))
            }
        };
        let zones = match &raw.zones {
            None => Zones::None,
            Some(z) => parse_zones(src, z)?,
        };
        let entry = parse_url(src, &raw.entry, "entry")?;
        if raw.requests.is_empty() {
            return Err(err(
                0,
                "the workload has no request".into(),
                "add a [[request]] with name, method and path",
            ));
        }
        let mut requests = Vec::new();
        for r in &raw.requests {
            let parsed = parse_request(src, r.get_ref())?;
            if requests.iter().any(|q: &Request| q.name == parsed.name) {
                return Err(err(
                    r.get_ref().name.span().start,
                    format!("a second request named {:?}", parsed.name),
                    "give each request its own name",
                ));
            }
            requests.push(parsed);
        }
        if requests.iter().all(|r| r.needs_recent_id()) {
            return Err(err(
                raw.requests[0].span().start,
                "every request needs {{recent_id}}, but none can come first".into(),
                "add a request that does not use {{recent_id}} (a write, or a health read)",
            ));
        }
        if requests.iter().any(Request::needs_recent_id)
            && requests.iter().all(|r| r.writes.is_none())
        {
            return Err(err(
                raw.requests[0].span().start,
                "{{recent_id}} is used, but no request writes".into(),
                "mark the request that creates something with writes = \"{{id}}\"",
            ));
        }
        let write_check = raw
            .write_check
            .as_ref()
            .map(|w| parse_write_check(src, w.get_ref()))
            .transpose()?;
        let mut health = Vec::new();
        for h in &raw.health {
            let h = h.get_ref();
            health.push(HealthProbe {
                name: h.name.get_ref().clone(),
                url: parse_url(src, &h.url, "health url")?,
            });
        }
        let targets =
            match (&raw.system, raw.targets.is_empty()) {
                (Some(s), true) => Targets::System(s.get_ref().clone()),
                (Some(s), false) => return Err(err(
                    s.span().start,
                    "both system and [[target]] are given".into(),
                    "borrow a profile's targets with system = \"…\", or state your own [[target]]s",
                )),
                (None, _) => Targets::Own(targets::parse_targets(src, &raw.targets)?),
            };
        Ok(StackFile {
            path: src.path.clone(),
            name,
            description: raw.description.unwrap_or_default(),
            place,
            zones,
            entry,
            requests,
            write_check,
            health,
            targets,
        })
    }

    /// Checks the Compose services the file names (in `[zones] map` and in
    /// `[write_check] services`) against those the running project has
    /// (`known`): an unknown one is an error at its place, listing the
    /// known names. `src` is the text this file was parsed from.
    pub fn check_services(src: &Source, known: &[String]) -> Result<(), FileError> {
        let raw: RawStackFile =
            toml::from_str(&src.text).map_err(|e| src.toml_error(&e, SHAPE_HINT))?;
        let unknown = |at: usize, name: &str, what: &str| {
            src.error_at(
                at,
                format!("{what} names service {name:?}, which the running project does not have"),
                format!("its services are {}", known.join(", ")),
            )
        };
        if let Some(map) = raw.zones.as_ref().and_then(|z| z.get_ref().map.as_ref()) {
            for service in map.keys() {
                if !known.contains(service.get_ref()) {
                    return Err(unknown(
                        service.span().start,
                        service.get_ref(),
                        "[zones] map",
                    ));
                }
            }
        }
        if let Some(services) = raw
            .write_check
            .as_ref()
            .and_then(|w| w.get_ref().services.as_ref())
        {
            if let Some(s) = services.get_ref().iter().find(|s| !known.contains(s)) {
                return Err(unknown(services.span().start, s, "[write_check] services"));
            }
        }
        Ok(())
    }

    /// The zone of a service, when the stack file maps services to zones.
    pub fn mapped_zone(&self, service: &str) -> Option<&str> {
        match &self.zones {
            Zones::Map(m) => m.get(service).map(String::as_str),
            _ => None,
        }
    }
}

fn parse_compose(src: &Source, c: &RawCompose) -> Result<Place, FileError> {
    let project = c.project.get_ref().trim().to_string();
    // The Compose tool's own rule for project names.
    let valid = !project.is_empty()
        && project
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '_')
        && project
            .chars()
            .next()
            .is_some_and(|ch| ch.is_ascii_alphanumeric());
    if !valid {
        return Err(src.error_at(
            c.project.span().start,
            format!("{project:?} is not a Compose project name"),
            "lower-case letters, digits, - and _, starting with a letter or digit",
        ));
    }
    let file = c.file.as_ref().map(|f| {
        // Relative to the stack file, as a user reads it.
        let dir = src.path.parent().unwrap_or(Path::new("."));
        dir.join(f.get_ref())
    });
    Ok(Place::Compose { project, file })
}

fn parse_zones(src: &Source, z: &Spanned<RawZones>) -> Result<Zones, FileError> {
    match (&z.get_ref().label, &z.get_ref().map) {
        (Some(l), None) if !l.get_ref().trim().is_empty() => Ok(Zones::Label(l.get_ref().clone())),
        (None, Some(m)) if !m.is_empty() => {
            let mut out = BTreeMap::new();
            for (service, zone) in m {
                if zone.get_ref().trim().is_empty() {
                    return Err(src.error_at(
                        zone.span().start,
                        format!("service {:?} is mapped to an empty zone", service.get_ref()),
                        "zones are names such as \"a\" or \"eu-west-1a\"",
                    ));
                }
                out.insert(service.get_ref().clone(), zone.get_ref().clone());
            }
            Ok(Zones::Map(out))
        }
        _ => Err(src.error_at(
            z.span().start,
            "[zones] takes either a label or a map",
            "label = \"topology.kubernetes.io/zone\", or map = { app-1 = \"a\", app-2 = \"b\" }",
        )),
    }
}

fn parse_url(src: &Source, v: &Spanned<String>, what: &str) -> Result<String, FileError> {
    let url = v.get_ref().trim().trim_end_matches('/').to_string();
    let ok = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .is_some_and(|rest| !rest.is_empty() && !rest.contains(' '));
    if !ok {
        return Err(src.error_at(
            v.span().start,
            format!("{what} {:?} is not an http(s) URL", v.get_ref()),
            "entry = \"http://127.0.0.1:8080\"",
        ));
    }
    Ok(url)
}

fn template(src: &Source, v: &Spanned<String>) -> Result<Template, FileError> {
    Template::parse(v.get_ref()).map_err(|e| {
        src.error_at(
            v.span().start,
            e,
            format!("placeholders are {}", PLACEHOLDERS.join(", ")),
        )
    })
}

fn parse_request(src: &Source, r: &RawRequest) -> Result<Request, FileError> {
    let name = r.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(src.error_at(
            r.name.span().start,
            "a request without a name",
            "name = \"create-order\"",
        ));
    }
    let method = match &r.method {
        Some(m) => {
            let up = m.get_ref().trim().to_ascii_uppercase();
            if !METHODS.contains(&up.as_str()) {
                return Err(src.error_at(
                    m.span().start,
                    format!("unknown HTTP method {:?}", m.get_ref()),
                    format!("methods are {}", METHODS.join(", ")),
                ));
            }
            up
        }
        None => "GET".to_string(),
    };
    if !r.path.get_ref().starts_with('/') {
        return Err(src.error_at(
            r.path.span().start,
            format!("path {:?} does not start with /", r.path.get_ref()),
            "path = \"/orders/{{recent_id}}\"",
        ));
    }
    let path = template(src, &r.path)?;
    let body = r.body.as_ref().map(|b| template(src, b)).transpose()?;
    let mut headers = BTreeMap::new();
    for (k, v) in &r.headers {
        headers.insert(k.to_ascii_lowercase(), template(src, v)?);
    }
    let weight = match &r.weight {
        Some(w) if !(w.get_ref().is_finite() && *w.get_ref() > 0.0) => {
            return Err(src.error_at(
                w.span().start,
                format!("weight {} is not a positive share", w.get_ref()),
                "weight = 3 (relative to the other requests)",
            ))
        }
        Some(w) => *w.get_ref(),
        None => 1.0,
    };
    let success = match &r.success {
        Some(s) => {
            let mut codes = Vec::new();
            for c in s.get_ref() {
                match u16::try_from(*c) {
                    Ok(c) if (100..=599).contains(&c) => codes.push(c),
                    _ => {
                        return Err(src.error_at(
                            s.span().start,
                            format!("{c} is not an HTTP status"),
                            "success = [200, 201]",
                        ))
                    }
                }
            }
            if codes.is_empty() {
                return Err(src.error_at(
                    s.span().start,
                    "no status counts as success",
                    "success = [200, 201]",
                ));
            }
            codes
        }
        None => (200..300).collect(),
    };
    let body_contains = r
        .body_contains
        .as_ref()
        .map(|b| template(src, b))
        .transpose()?;
    let writes = match &r.writes {
        None => None,
        Some(w) => Some(match w.get_ref() {
            RawWriteId::Template(t) => {
                let t = Template::parse(t)
                    .map_err(|e| src.error_at(w.span().start, e, "writes = \"{{id}}\""))?;
                if !t.uses_id() {
                    return Err(src.error_at(
                        w.span().start,
                        "a write's id must hold {{id}}, or every write would share one id",
                        "writes = \"{{id}}\"",
                    ));
                }
                if t.uses_recent_id() || t.parts.contains(&Part::Seq) {
                    return Err(src.error_at(
                        w.span().start,
                        "a write's id holds {{id}} and plain text only",
                        "writes = \"{{id}}\" or \"order-{{id}}\": the ledger finds each write again from its {{id}}",
                    ));
                }
                WriteId::Template(t)
            }
            RawWriteId::Table(table) => {
                let keys: Vec<&str> = table.keys().map(String::as_str).collect();
                return Err(src.error_at(
                    w.span().start,
                    format!(
                        "writes = {{ {} = … }}: an id read from the response is not built yet",
                        keys.join(", ")
                    ),
                    "let the client choose the id: put {{id}} in the path or body and write writes = \"{{id}}\"",
                ));
            }
        }),
    };
    Ok(Request {
        name,
        method,
        path,
        body,
        headers,
        weight,
        success,
        body_contains,
        writes,
    })
}

fn parse_write_check(src: &Source, w: &RawWriteCheck) -> Result<WriteCheck, FileError> {
    let at = w.query.span().start;
    let database = match (&w.dsn, &w.services) {
        (Some(d), None) => Database::Dsn(d.get_ref().clone()),
        (None, Some(s)) if !s.get_ref().is_empty() => Database::Exec {
            services: s.get_ref().clone(),
            user: w.user.clone().unwrap_or_else(|| "postgres".into()),
            database: w.database.clone().unwrap_or_else(|| "postgres".into()),
        },
        _ => return Err(src.error_at(
            at,
            "[write_check] takes either a dsn or the services to run psql in",
            "dsn = \"postgres://user:pw@127.0.0.1:5432/db\", or services = [\"db-1\", \"db-2\"]",
        )),
    };
    if !w.query.get_ref().contains("$1") {
        return Err(src.error_at(
            at,
            "the write check's query does not take the ids ($1)",
            "query = \"SELECT id FROM orders WHERE id = ANY($1)\"",
        ));
    }
    let primary = match (&w.primary, &w.patroni) {
        (None, None) => Primary::InRecovery,
        (Some(p), None) => match p.get_ref().as_str() {
            "in-recovery" => Primary::InRecovery,
            "fixed" => Primary::Fixed,
            other => {
                return Err(src.error_at(
                    p.span().start,
                    format!("unknown primary rule {other:?}"),
                    "primary = \"in-recovery\" (pg_is_in_recovery() is false) or \"fixed\"",
                ))
            }
        },
        (None, Some(urls)) if !urls.get_ref().is_empty() => {
            return Err(src.error_at(
                urls.span().start,
                "finding the primary through Patroni's REST API is not built yet",
                "primary = \"in-recovery\" finds it by pg_is_in_recovery() among the services or DSN hosts",
            ))
        }
        (_, Some(urls)) => {
            return Err(src.error_at(
                urls.span().start,
                "give either primary or patroni",
                "patroni = [\"http://127.0.0.1:8008\"] (the members' REST API)",
            ))
        }
    };
    if let (Primary::Fixed, Database::Exec { services, .. }) = (&primary, &database) {
        if services.len() != 1 {
            return Err(src.error_at(
                at,
                "a fixed primary is one service",
                "services = [\"db\"], or primary = \"in-recovery\" to pick among several",
            ));
        }
    }
    Ok(WriteCheck {
        database,
        query: w.query.get_ref().clone(),
        primary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StackFile, FileError> {
        StackFile::parse(&Source {
            path: "stacks/shop.toml".into(),
            text: text.into(),
        })
    }

    const MINIMAL: &str = r#"
name = "shop"
entry = "http://127.0.0.1:8080/"
[compose]
project = "shop"
[[request]]
name = "health"
path = "/health"
"#;

    #[test]
    fn the_example_stack_file_is_valid() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/compose-shop/stack.toml");
        let s = StackFile::load_file(&path).unwrap();
        assert_eq!(s.name, "compose-shop");
        assert_eq!(
            s.place,
            Place::Compose {
                project: "compose-shop".into(),
                file: None
            }
        );
        assert_eq!(s.zones, Zones::Label("shop.zone".into()));
        assert_eq!(s.requests.len(), 3);
        let create = &s.requests[0];
        assert_eq!(create.method, "POST");
        assert_eq!(create.success, vec![201]);
        assert!(matches!(create.writes, Some(WriteId::Template(_))));
        assert!(s.requests[1].needs_recent_id());
        let check = s.write_check.as_ref().unwrap();
        assert_eq!(check.primary, Primary::InRecovery);
        assert!(matches!(&check.database, Database::Exec { services, .. } if services.len() == 2));
        let Targets::Own(targets) = &s.targets else {
            panic!("the example states its own targets")
        };
        let rto = targets
            .iter()
            .find(|t| t.check == crate::targets::CheckKind::Rto)
            .unwrap();
        assert_eq!(rto.limit, 30_000.0);
        assert!(!rto.default);
        assert!(
            targets.iter().any(|t| t.default),
            "the checks it does not state get faultline's defaults"
        );
    }

    #[test]
    fn a_minimal_stack_file_takes_the_defaults() {
        let s = parse(MINIMAL).unwrap();
        assert_eq!(s.entry, "http://127.0.0.1:8080");
        assert_eq!(s.zones, Zones::None);
        assert_eq!(s.requests[0].method, "GET");
        assert_eq!(s.requests[0].success, (200..300).collect::<Vec<u16>>());
        assert!(s.write_check.is_none(), "no write check: RPO not measured");
        assert!(matches!(s.targets, Targets::Own(ref t) if t.iter().all(|t| t.default)));
    }

    #[test]
    fn templates_render_their_placeholders() {
        let t =
            Template::parse(r#"{"id": "{{id}}", "n": {{ seq }}, "of": "{{recent_id}}"}"#).unwrap();
        let v = Values {
            id: "r1-7",
            seq: 7,
            recent_id: "r1-3",
        };
        assert_eq!(t.render(v), r#"{"id": "r1-7", "n": 7, "of": "r1-3"}"#);
        assert!(t.uses_id() && t.uses_recent_id());
        assert_eq!(Template::parse("/plain").unwrap().render(v), "/plain");
        assert_eq!(
            Template::parse("{{user}}").unwrap_err(),
            "unknown placeholder {{user}}"
        );
        assert!(Template::parse("/a/{{id").is_err());
    }

    #[test]
    fn mistakes_name_their_line_and_column() {
        let typo = MINIMAL.replace("path = \"/health\"", "pth = \"/health\"");
        let e = parse(&typo).unwrap_err();
        assert_eq!((e.file.to_str(), e.line), (Some("stacks/shop.toml"), 8));
        assert!(e.message.contains("pth"), "{e}");

        let bad = MINIMAL.replace("path = \"/health\"", "path = \"/o/{{user}}\"");
        let e = parse(&bad).unwrap_err();
        assert_eq!((e.line, e.column), (8, 8));
        assert!(e.message.contains("{{user}}"));
        assert!(e.hint.contains("{{recent_id}}"));

        let bad = MINIMAL.replace("name = \"health\"", "name = \"health\"\nmethod = \"FETCH\"");
        let e = parse(&bad).unwrap_err();
        assert_eq!((e.line, e.column), (8, 10));
        assert!(e.hint.contains("POST"));

        let bad = MINIMAL.replace("project = \"shop\"", "project = \"My Shop\"");
        assert_eq!(parse(&bad).unwrap_err().line, 5);

        let bad = MINIMAL.replace("http://127.0.0.1:8080/", "127.0.0.1:8080");
        assert_eq!(parse(&bad).unwrap_err().line, 3);
    }

    #[test]
    fn a_workload_that_cannot_start_is_refused() {
        let only_reads = MINIMAL.replace("/health", "/orders/{{recent_id}}");
        let e = parse(&only_reads).unwrap_err();
        assert!(e.message.contains("none can come first"), "{e}");

        let no_writer =
            format!("{MINIMAL}[[request]]\nname = \"get\"\npath = \"/o/{{{{recent_id}}}}\"\n");
        let e = parse(&no_writer).unwrap_err();
        assert!(e.message.contains("no request writes"), "{e}");

        let shared_id = MINIMAL.replace("path = \"/health\"", "path = \"/o\"\nwrites = \"fixed\"");
        let e = parse(&shared_id).unwrap_err();
        assert!(e.message.contains("must hold {{id}}"), "{e}");

        let twice = format!("{MINIMAL}[[request]]\nname = \"health\"\npath = \"/\"\n");
        assert!(parse(&twice)
            .unwrap_err()
            .message
            .contains("second request"));
    }

    #[test]
    fn the_write_check_and_targets_are_validated() {
        let w = |extra: &str| format!("{MINIMAL}[write_check]\n{extra}\n");
        let ok = parse(&w(
            "dsn = \"postgres://u@h/db\"\nquery = \"SELECT id FROM t WHERE id = ANY($1)\"",
        ))
        .unwrap();
        let check = ok.write_check.unwrap();
        assert_eq!(check.database, Database::Dsn("postgres://u@h/db".into()));
        assert_eq!(check.primary, Primary::InRecovery);

        let e = parse(&w(
            "dsn = \"postgres://u@h/db\"\nquery = \"SELECT id FROM t\"",
        ))
        .unwrap_err();
        assert!(e.message.contains("$1"), "{e}");
        let e = parse(&w("query = \"SELECT $1\"")).unwrap_err();
        assert!(e.hint.contains("dsn"), "{e}");
        let e = parse(&w(
            "services = [\"a\", \"b\"]\nprimary = \"fixed\"\nquery = \"SELECT $1\"",
        ))
        .unwrap_err();
        assert!(e.message.contains("one service"), "{e}");
        let e = parse(&w(
            "services = [\"a\"]\nprimary = \"leader\"\nquery = \"SELECT $1\"",
        ))
        .unwrap_err();
        assert!(e.hint.contains("in-recovery"), "{e}");
        let e = parse(&w(
            "services = [\"a\"]\npatroni = [\"http://a:8008\"]\nquery = \"SELECT $1\"",
        ))
        .unwrap_err();
        assert!(e.message.contains("not built yet"), "{e}");

        let both =
            format!("system = \"foohut\"\n{MINIMAL}[[target]]\ncheck = \"rto\"\nlimit = \"5s\"\n");
        assert!(parse(&both).unwrap_err().message.contains("both system"));
        let borrowed = format!("system = \"foohut\"\n{MINIMAL}");
        assert_eq!(
            parse(&borrowed).unwrap().targets,
            Targets::System("foohut".into())
        );
        let bad = format!("{MINIMAL}[[target]]\ncheck = \"rtoo\"\nlimit = \"5s\"\n");
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.line, 10);
        assert!(e.hint.contains("rpo"));
    }

    #[test]
    fn a_batch_quotes_every_id_and_prepares_the_query() {
        let check = WriteCheck {
            database: Database::Dsn("postgres://h/db".into()),
            query: "SELECT id FROM orders WHERE id = ANY($1);".into(),
            primary: Primary::InRecovery,
        };
        assert_eq!(
            check.batch_sql(&["a".into(), "it's".into()]),
            "PREPARE faultline_present(text[]) AS SELECT id FROM orders WHERE id = ANY($1); \
             EXECUTE faultline_present(ARRAY['a','it''s']::text[]); DEALLOCATE faultline_present;"
        );
        let ids: Vec<String> = (0..IDS_PER_QUERY)
            .map(|i| format!("run-{i:08}-{}", "x".repeat(40)))
            .collect();
        assert!(
            check.batch_sql(&ids).len() < 128 * 1024,
            "one psql argument"
        );
    }

    #[test]
    fn zones_are_a_label_or_a_map() {
        let z = |t: &str| parse(&format!("{MINIMAL}[zones]\n{t}\n"));
        assert_eq!(
            z("label = \"zone\"").unwrap().zones,
            Zones::Label("zone".into())
        );
        let m = z("map = { app-a = \"a\", app-b = \"b\" }").unwrap();
        assert_eq!(m.mapped_zone("app-b"), Some("b"));
        assert_eq!(m.mapped_zone("db"), None);
        assert!(z("label = \"zone\"\nmap = { a = \"a\" }").is_err());
        assert!(z("map = { app-a = \"\" }")
            .unwrap_err()
            .message
            .contains("empty zone"));
    }
}
