//! A starting stack file written from what a running Compose project shows
//! (`faultline init --compose PROJECT`): its services, published ports, a
//! guessed entry URL and zone label, and `TODO` where only the user knows.
//! Pure: the platform lists the containers, this renders the text.

use std::collections::BTreeMap;
use std::fmt::Write;

/// One service of a running Compose project, as its containers show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundService {
    /// The Compose service name.
    pub name: String,
    /// Its image.
    pub image: String,
    /// Its containers' labels (those of the first container).
    pub labels: BTreeMap<String, String>,
    /// Ports published on the host: (host address, host port, container port).
    pub published: Vec<(String, u16, u16)>,
}

/// Words in a service's name or image that mark where traffic enters.
const ENTRY_WORDS: [&str; 8] = [
    "lb", "haproxy", "nginx", "traefik", "envoy", "ingress", "gateway", "proxy",
];

/// Label keys that tell a zone, most specific first.
const ZONE_KEYS: [&str; 2] = [
    "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/zone",
];

/// The service and published port traffic most likely enters by: one whose
/// name or image says it balances or routes, else the first that publishes.
pub fn guess_entry(services: &[FoundService]) -> Option<(&FoundService, &(String, u16, u16))> {
    let publishing = || services.iter().filter(|s| !s.published.is_empty());
    let routes = |s: &&FoundService| {
        let words = format!("{} {}", s.name, s.image).to_ascii_lowercase();
        words
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| ENTRY_WORDS.contains(&w))
    };
    publishing()
        .find(routes)
        .or_else(|| publishing().next())
        .map(|s| (s, &s.published[0]))
}

/// The label key that tells zones: a well-known one, else any key holding
/// "zone" set on at least two services with at least two values.
pub fn guess_zone_label(services: &[FoundService]) -> Option<String> {
    let mut keys: Vec<&String> = services.iter().flat_map(|s| s.labels.keys()).collect();
    keys.sort();
    keys.dedup();
    let spread = |key: &str| {
        let mut values: Vec<&String> = services.iter().filter_map(|s| s.labels.get(key)).collect();
        let on = values.len();
        values.sort();
        values.dedup();
        on >= 2 && values.len() >= 2
    };
    ZONE_KEYS
        .iter()
        .copied()
        .find(|k| spread(k))
        .map(str::to_string)
        .or_else(|| {
            keys.into_iter()
                .find(|k| k.to_ascii_lowercase().contains("zone") && spread(k))
                .cloned()
        })
}

/// The starting stack file's text for project `project`.
pub fn render(project: &str, services: &[FoundService]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# A starting stack file for the Compose project {project:?}, written by\n\
         # `faultline init --compose {project}` from its running containers.\n\
         # Lines marked TODO need what only you know; GUESSED ones, a check.\n\
         # The shape of every key: examples/compose-shop/stack.toml.\n"
    );
    let _ = writeln!(out, "name = {:?}", name_of(project));
    let _ = writeln!(out, "description = \"TODO: what this stack is\"\n");
    match guess_entry(services) {
        Some((s, (host, port, _))) => {
            let host = if host.is_empty() || host == "0.0.0.0" || host == "::" {
                "127.0.0.1"
            } else {
                host.as_str()
            };
            let _ = writeln!(
                out,
                "# GUESSED: {} publishes it.\nentry = \"http://{host}:{port}\"\n",
                s.name
            );
        }
        None => {
            let _ = writeln!(
                out,
                "# TODO: no service publishes a port; where does traffic enter?\nentry = \"http://127.0.0.1:8080\"\n"
            );
        }
    }
    let _ = writeln!(out, "[compose]\nproject = {project:?}\n");
    let _ = writeln!(out, "# The project's services:");
    for s in services {
        let ports: Vec<String> = s
            .published
            .iter()
            .map(|(_, host, inside)| format!("{host}->{inside}"))
            .collect();
        let _ = writeln!(
            out,
            "#   {:<20} {}{}",
            s.name,
            s.image,
            if ports.is_empty() {
                String::new()
            } else {
                format!("  (published {})", ports.join(", "))
            }
        );
    }
    out.push('\n');
    match guess_zone_label(services) {
        Some(key) => {
            let _ = writeln!(
                out,
                "# GUESSED: the label that differs by zone.\n[zones]\nlabel = {key:?}\n"
            );
        }
        None => {
            let _ = writeln!(
                out,
                "# TODO: no container label tells zones. Map services to zones, or leave\n\
                 # [zones] out (zone faults are then refused):\n\
                 # [zones]\n# map = {{ {} }}\n",
                services
                    .iter()
                    .take(3)
                    .map(|s| format!("{} = \"a\"", key_of(&s.name)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let _ = writeln!(
        out,
        "# TODO: your workload. One request to start with; add the ones that write\n\
         # (writes = \"{{{{id}}}}\") and read (\"/things/{{{{recent_id}}}}\").\n\
         [[request]]\nname = \"root\"\npath = \"/\"\n"
    );
    let databases: Vec<&str> = services
        .iter()
        .filter(|s| s.image.to_ascii_lowercase().contains("postgres") || s.name.contains("db"))
        .map(|s| s.name.as_str())
        .collect();
    let _ = writeln!(
        out,
        "# TODO: how to read which acknowledged writes are present. Without it lost\n\
         # writes and RPO are reported as not measured.\n\
         # [write_check]\n# services = [{}]\n# user = \"postgres\"\n# database = \"postgres\"\n\
         # query = \"SELECT id FROM orders WHERE id = ANY($1)\"\n",
        databases
            .iter()
            .map(|d| format!("{d:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "# TODO: your targets, each with the sentence it comes from (checks you do\n\
         # not state get faultline's defaults), or borrow a profile's:\n\
         # system = \"customer-service\"\n\
         [[target]]\ncheck = \"rto\"\nlimit = \"60s\"\nsource = \"TODO: where this target is written down\""
    );
    out
}

/// A stack name from a project name (`_` is not allowed in stack names).
fn name_of(project: &str) -> String {
    project.replace('_', "-")
}

/// A TOML key for a service name (quoted unless bare-key safe).
fn key_of(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;
    use crate::stack_file::{StackFile, Zones};

    fn service(name: &str, image: &str, zone: Option<&str>, port: Option<u16>) -> FoundService {
        FoundService {
            name: name.into(),
            image: image.into(),
            labels: zone
                .map(|z| BTreeMap::from([("shop.zone".to_string(), z.to_string())]))
                .unwrap_or_default(),
            published: port
                .map(|p| vec![("0.0.0.0".to_string(), p, 80)])
                .unwrap_or_default(),
        }
    }

    fn shop() -> Vec<FoundService> {
        vec![
            service("app-a", "shop/app", Some("a"), Some(9000)),
            service("app-b", "shop/app", Some("b"), None),
            service("db", "postgres:15", Some("a"), Some(5432)),
            service("lb", "compose-shop/lb:local", Some("a"), Some(18080)),
        ]
    }

    #[test]
    fn the_entry_is_the_balancer_and_the_zone_label_is_found() {
        let s = shop();
        let (entry, port) = guess_entry(&s).unwrap();
        assert_eq!((entry.name.as_str(), port.1), ("lb", 18080));
        assert_eq!(guess_zone_label(&s).as_deref(), Some("shop.zone"));
        let one_zone = vec![
            service("a", "x", Some("a"), None),
            service("b", "x", Some("a"), None),
        ];
        assert_eq!(
            guess_zone_label(&one_zone),
            None,
            "one value tells no zones"
        );
        let no_lb = vec![service("web", "shop/web", None, Some(8000))];
        assert_eq!(guess_entry(&no_lb).unwrap().0.name, "web");
    }

    #[test]
    fn the_starter_is_a_valid_stack_file_with_its_todos() {
        let text = render("my_shop", &shop());
        let parsed = StackFile::parse(&Source {
            path: "stacks/my-shop.toml".into(),
            text: text.clone(),
        })
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(parsed.name, "my-shop");
        assert_eq!(parsed.entry, "http://127.0.0.1:18080");
        assert_eq!(parsed.zones, Zones::Label("shop.zone".into()));
        assert!(text.contains("TODO: your workload"));
        assert!(text.contains("# services = [\"db\"]"), "{text}");
        assert!(text.contains("#   lb "), "{text}");

        let bare = render("p", &[service("worker", "w", None, None)]);
        let parsed = StackFile::parse(&Source {
            path: "p.toml".into(),
            text: bare.clone(),
        })
        .unwrap_or_else(|e| panic!("{e}\n{bare}"));
        assert_eq!(parsed.zones, Zones::None);
        assert!(bare.contains("TODO: no service publishes a port"));
    }
}
