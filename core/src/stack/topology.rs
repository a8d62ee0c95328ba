//! The reference topology as plain data: which containers make a stack,
//! where they sit, how they are configured. Pure: no Docker, no I/O, so the
//! shape of the stack is tested without starting it.

use serde::{Deserialize, Serialize};

use super::configs::{self, Bootstrap};
use super::settings::StackSettings;

/// The zone of components that belong to no zone (the ingress load balancer
/// and the database router, as a cloud's regional services would be).
pub const GLOBAL_ZONE: &str = "global";

/// Container port of every HTTP service and of the ingress.
pub const HTTP_PORT: u16 = 8080;
/// PostgreSQL's port (on the Patroni nodes and on the router).
pub const PG_PORT: u16 = 5432;
/// Patroni's REST API port.
pub const PATRONI_PORT: u16 = 8008;
/// etcd's client port.
pub const ETCD_PORT: u16 = 2379;
/// Redis's port.
pub const REDIS_PORT: u16 = 6379;
/// The broker's Kafka port.
pub const KAFKA_PORT: u16 = 9092;
/// HAProxy's statistics page.
pub const STATS_PORT: u16 = 8404;
/// The fault proxies' API port (Toxiproxy's).
pub const PROXY_API_PORT: u16 = 8474;
/// First port of the gateway's proxies to the orders replicas (one each).
pub const GATEWAY_PROXY_BASE_PORT: u16 = 18080;

/// Superuser credentials of the Patroni cluster (a throw-away test stack).
pub const PG_SUPERUSER: (&str, &str) = ("postgres", "postgres");
/// The services' database credentials.
pub const PG_APP_USER: (&str, &str) = ("app", "app");

/// What a container is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    /// The HAProxy the load generator hits.
    Ingress,
    /// The API gateway.
    Gateway,
    /// The orders service.
    Orders,
    /// The analytics consumer.
    Analytics,
    /// A Patroni-managed PostgreSQL node.
    Postgres,
    /// An etcd member (Patroni's DCS).
    Etcd,
    /// The HAProxy that routes to the PostgreSQL leader.
    DbRouter,
    /// The Redis cache.
    Redis,
    /// The Kafka-protocol broker.
    Broker,
    /// A fault proxy in front of one service's dependencies.
    Proxy,
    /// The consumer-lag exporter: what the broker says of the analytics
    /// group, read directly from it (never through a fault proxy).
    LagExporter,
}

impl Service {
    /// Every service, in start order.
    pub const ALL: [Service; 11] = [
        Service::Etcd,
        Service::Postgres,
        Service::DbRouter,
        Service::Redis,
        Service::Broker,
        Service::LagExporter,
        Service::Proxy,
        Service::Orders,
        Service::Analytics,
        Service::Gateway,
        Service::Ingress,
    ];

    /// The name used in labels and scenario selectors.
    pub fn name(self) -> &'static str {
        match self {
            Service::Ingress => "ingress",
            Service::Gateway => "gateway",
            Service::Orders => "orders",
            Service::Analytics => "analytics",
            Service::Postgres => "postgres",
            Service::Etcd => "etcd",
            Service::DbRouter => "db-router",
            Service::Redis => "redis",
            Service::Broker => "broker",
            Service::Proxy => "proxy",
            Service::LagExporter => "lag-exporter",
        }
    }

    /// The service with this name.
    pub fn from_name(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The static role label: what kind of component this is.
    pub fn role(self) -> &'static str {
        match self {
            Service::Ingress => "ingress",
            Service::Gateway | Service::Orders | Service::Analytics => "app",
            Service::Postgres => "db",
            Service::Etcd => "dcs",
            Service::DbRouter => "router",
            Service::Redis => "cache",
            Service::Broker => "broker",
            Service::Proxy => "proxy",
            Service::LagExporter => "monitoring",
        }
    }

    /// The image it runs (short name).
    pub fn image(self) -> &'static str {
        match self {
            Service::Ingress | Service::DbRouter => "haproxy",
            Service::Gateway | Service::Orders | Service::Analytics | Service::LagExporter => {
                "services"
            }
            Service::Postgres => "postgres-ha",
            Service::Etcd => "etcd",
            Service::Redis => "redis",
            Service::Broker => "broker",
            Service::Proxy => "proxy",
        }
    }
}

/// A file placed into a container before it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSpec {
    /// Absolute path inside the container.
    pub path: String,
    /// Contents.
    pub contents: String,
}

/// One container of the stack.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    /// Logical name, unique in a stack, and its DNS name there (`pg-a`).
    pub name: String,
    /// What it is.
    pub service: Service,
    /// Its zone, or [`GLOBAL_ZONE`].
    pub zone: String,
    /// Command (empty: the image's default).
    pub cmd: Vec<String>,
    /// Environment.
    pub env: Vec<(String, String)>,
    /// Files uploaded before start.
    pub files: Vec<FileSpec>,
    /// Container ports published on 127.0.0.1.
    pub ports: Vec<u16>,
    /// Named volumes: (suffix of the volume's name, mount path).
    pub volumes: Vec<(String, String)>,
    /// `/etc/hosts` entries: a hostname that must resolve to another node
    /// of the stack (resolved to its address when the container is made).
    pub hosts: Vec<(String, String)>,
}

impl NodeSpec {
    fn new(name: impl Into<String>, service: Service, zone: &str) -> Self {
        NodeSpec {
            name: name.into(),
            service,
            zone: zone.into(),
            cmd: Vec::new(),
            env: Vec::new(),
            files: Vec::new(),
            ports: Vec::new(),
            volumes: Vec::new(),
            hosts: Vec::new(),
        }
    }

    fn env(mut self, k: &str, v: impl Into<String>) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }
}

/// The zone that hosts a singleton: Redis in the second zone, the broker in
/// the third, so one zone's loss takes at most one of them.
fn nth_zone(settings: &StackSettings, n: usize) -> &str {
    &settings.zones[n % settings.zones.len()]
}

/// The Patroni nodes: the first two zones (leader and replica apart).
pub fn postgres_nodes(settings: &StackSettings) -> Vec<String> {
    settings
        .zones
        .iter()
        .take(2)
        .map(|z| format!("pg-{z}"))
        .collect()
}

/// The lag exporter's node name.
pub const LAG_EXPORTER: &str = "lag-exporter";
/// The topic orders' events go to.
pub const ORDERS_TOPIC: &str = "orders";
/// The consumer group of analytics.
pub const ANALYTICS_GROUP: &str = "analytics";

/// The named volume of the backup region: pgBackRest's repository, shared
/// by the Patroni nodes and touched by no zone fault.
pub const BACKUP_VOLUME: &str = "backup-region";
/// Where the backup region is mounted in the Patroni nodes.
pub const BACKUP_PATH: &str = "/var/lib/pgbackrest";

/// The etcd client addresses (Patroni's DCS).
pub fn etcd_hosts(settings: &StackSettings) -> Vec<String> {
    settings
        .zones
        .iter()
        .map(|z| format!("etcd-{z}:2379"))
        .collect()
}

/// One Patroni node: its data on a volume of its own, the backup region
/// mounted beside it.
pub fn postgres_node(
    name: &str,
    zone: &str,
    etcd_hosts: &[String],
    settings: &StackSettings,
    bootstrap: Bootstrap,
) -> NodeSpec {
    let mut n = NodeSpec::new(name, Service::Postgres, zone).env(
        "BACKUP_INTERVAL",
        settings.base_backup_interval.as_secs().max(10).to_string(),
    );
    n.files.push(FileSpec {
        path: "/etc/patroni/patroni.yml".into(),
        contents: configs::patroni_yml(name, etcd_hosts, settings, bootstrap),
    });
    n.ports = vec![PG_PORT, PATRONI_PORT];
    n.volumes = vec![
        (format!("{name}-data"), "/var/lib/postgresql/data".into()),
        (BACKUP_VOLUME.into(), BACKUP_PATH.into()),
    ];
    n
}

/// Every container of a stack built with `settings`.
pub fn nodes(settings: &StackSettings) -> Vec<NodeSpec> {
    let zones = &settings.zones;
    let mut out = Vec::new();
    let etcd_cluster = zones
        .iter()
        .map(|z| format!("etcd-{z}=http://etcd-{z}:2380"))
        .collect::<Vec<_>>()
        .join(",");
    for z in zones {
        let name = format!("etcd-{z}");
        let mut n = NodeSpec::new(&name, Service::Etcd, z)
            .env("ETCD_NAME", &name)
            .env("ETCD_DATA_DIR", "/var/lib/etcd/data")
            .env("ETCD_LISTEN_PEER_URLS", "http://0.0.0.0:2380")
            .env("ETCD_LISTEN_CLIENT_URLS", "http://0.0.0.0:2379")
            .env("ETCD_ADVERTISE_CLIENT_URLS", format!("http://{name}:2379"))
            .env(
                "ETCD_INITIAL_ADVERTISE_PEER_URLS",
                format!("http://{name}:2380"),
            )
            .env("ETCD_INITIAL_CLUSTER", &etcd_cluster)
            .env("ETCD_INITIAL_CLUSTER_STATE", "new")
            .env("ETCD_INITIAL_CLUSTER_TOKEN", "faultline")
            .env("ETCD_HEARTBEAT_INTERVAL", "100")
            .env("ETCD_ELECTION_TIMEOUT", "1000");
        n.ports = vec![ETCD_PORT];
        out.push(n);
    }
    let etcd_hosts = etcd_hosts(settings);
    let pg_nodes = postgres_nodes(settings);
    for (name, z) in pg_nodes.iter().zip(zones) {
        out.push(postgres_node(
            name,
            z,
            &etcd_hosts,
            settings,
            Bootstrap::Initdb,
        ));
    }
    let mut router = NodeSpec::new("db-router", Service::DbRouter, GLOBAL_ZONE);
    router.files.push(FileSpec {
        path: "/etc/haproxy/haproxy.cfg".into(),
        contents: configs::db_router_cfg(&pg_nodes),
    });
    router.ports = vec![PG_PORT, STATS_PORT];
    out.push(router);

    let mut redis = NodeSpec::new("redis", Service::Redis, nth_zone(settings, 1));
    redis.ports = vec![REDIS_PORT];
    out.push(redis);

    let mut broker = NodeSpec::new("broker", Service::Broker, nth_zone(settings, 2));
    broker.cmd = [
        "broker",
        "--listener-url",
        "tcp://0.0.0.0:9092",
        "--advertised-listener-url",
        "tcp://kafka:9092",
        "--storage-engine",
        "sqlite://data/tansu.db",
    ]
    .map(String::from)
    .to_vec();
    broker.ports = vec![KAFKA_PORT];
    broker.volumes = vec![("broker-data".into(), "/var/lib/tansu/data".into())];
    out.push(broker);

    // The lag exporter reaches the broker directly: it observes, and a
    // toxic on the analytics hop must not blind the observer. The broker
    // advertises `kafka:9092`, which here is the broker itself.
    let mut exporter = NodeSpec::new(LAG_EXPORTER, Service::LagExporter, GLOBAL_ZONE)
        .env("KAFKA_BROKERS", format!("broker:{KAFKA_PORT}"));
    exporter.cmd = vec!["/usr/local/bin/lag-exporter".into()];
    exporter.ports = vec![HTTP_PORT];
    exporter.hosts = vec![("kafka".into(), "broker".into())];
    out.push(exporter);

    // A fault proxy per client service: every byte orders, analytics and
    // the gateway exchange with a dependency passes through one, so a toxic
    // can act on one hop (`orders->postgres`) without touching another.
    let proxy_node = |name: &str, routes: &[ProxyRoute]| {
        let json: Vec<serde_json::Value> = routes
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name,
                    "listen": format!("0.0.0.0:{}", r.listen_port),
                    "upstream": r.upstream,
                })
            })
            .collect();
        let mut n = NodeSpec::new(name, Service::Proxy, GLOBAL_ZONE).env(
            "FAULTLINE_PROXIES",
            serde_json::Value::Array(json).to_string(),
        );
        n.ports = vec![PROXY_API_PORT];
        n
    };
    for client in [Service::Gateway, Service::Orders, Service::Analytics] {
        out.push(proxy_node(
            &proxy_name(client),
            &proxy_routes(client, zones),
        ));
    }

    let (app_user, app_pw) = PG_APP_USER;
    let orders_proxy = proxy_name(Service::Orders);
    for z in zones {
        let mut n = NodeSpec::new(format!("orders-{z}"), Service::Orders, z)
            .env("ZONE", z)
            .env(
                "DATABASE_URL",
                format!("postgres://{app_user}:{app_pw}@{orders_proxy}:{PG_PORT}/orders"),
            )
            .env("REDIS_URL", format!("redis://{orders_proxy}:{REDIS_PORT}"))
            .env("KAFKA_BROKERS", format!("kafka:{KAFKA_PORT}"));
        n.cmd = vec!["/usr/local/bin/orders".into()];
        n.ports = vec![HTTP_PORT];
        // The broker advertises `kafka:9092`; for orders, that is its proxy.
        n.hosts = vec![("kafka".into(), orders_proxy.clone())];
        out.push(n);
    }
    let analytics_proxy = proxy_name(Service::Analytics);
    for i in 0..settings.analytics_replicas as usize {
        let z = nth_zone(settings, i);
        let name = if (settings.analytics_replicas as usize) <= zones.len() {
            format!("analytics-{z}")
        } else {
            format!("analytics-{z}{i}")
        };
        let mut n = NodeSpec::new(&name, Service::Analytics, z)
            .env("ZONE", z)
            .env(
                "KAFKA_SESSION_TIMEOUT",
                humantime::format_duration(settings.consumer.session_timeout).to_string(),
            )
            .env(
                "CONSUMER_STALL_LIMIT",
                humantime::format_duration(settings.consumer.stall_limit).to_string(),
            )
            .env(
                "DATABASE_URL",
                format!("postgres://{app_user}:{app_pw}@{analytics_proxy}:{PG_PORT}/analytics"),
            )
            .env("KAFKA_BROKERS", format!("kafka:{KAFKA_PORT}"));
        n.cmd = vec!["/usr/local/bin/analytics".into()];
        n.ports = vec![HTTP_PORT];
        n.hosts = vec![("kafka".into(), analytics_proxy.clone())];
        out.push(n);
    }
    let gateway_proxy = proxy_name(Service::Gateway);
    let upstreams = proxy_routes(Service::Gateway, zones)
        .iter()
        .map(|r| {
            format!(
                "{}={gateway_proxy}:{}",
                r.upstream.split(':').next().unwrap_or(""),
                r.listen_port
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    let g = &settings.gateway;
    for z in zones {
        let mut n = NodeSpec::new(format!("gateway-{z}"), Service::Gateway, z)
            .env("ZONE", z)
            .env("UPSTREAMS", &upstreams)
            .env(
                "REQUEST_TIMEOUT",
                humantime::format_duration(g.request_timeout).to_string(),
            )
            .env("RETRIES", g.retries.to_string())
            .env(
                "RETRY_BACKOFF",
                humantime::format_duration(g.retry_backoff).to_string(),
            )
            .env("CB_FAILURE_RATIO", g.breaker_failure_ratio.to_string())
            .env("CB_MIN_REQUESTS", g.breaker_min_requests.to_string())
            .env(
                "CB_WINDOW",
                humantime::format_duration(g.breaker_window).to_string(),
            )
            .env(
                "CB_RESET_TIMEOUT",
                humantime::format_duration(g.breaker_reset_timeout).to_string(),
            );
        n.cmd = vec!["/usr/local/bin/gateway".into()];
        n.ports = vec![HTTP_PORT];
        out.push(n);
    }
    let gateways: Vec<String> = zones.iter().map(|z| format!("gateway-{z}")).collect();
    let mut ingress = NodeSpec::new("ingress", Service::Ingress, GLOBAL_ZONE);
    ingress.files.push(FileSpec {
        path: "/etc/haproxy/haproxy.cfg".into(),
        contents: configs::ingress_cfg(&gateways, settings),
    });
    ingress.ports = vec![HTTP_PORT, STATS_PORT];
    out.push(ingress);
    out
}

/// The DNS aliases a node answers to on the stack's network.
pub fn aliases(node: &NodeSpec) -> Vec<String> {
    vec![node.name.clone()]
}

/// The fault proxy in front of a client service's dependencies.
pub fn proxy_name(client: Service) -> String {
    format!("proxy-{}", client.name())
}

/// One proxy of a fault-proxy node: a listen port and where it forwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyRoute {
    /// The proxy's name on its node (`orders-postgres`).
    pub name: String,
    /// The port clients connect to on the proxy node.
    pub listen_port: u16,
    /// `host:port` it forwards to.
    pub upstream: String,
}

/// The proxies in front of `client`'s dependencies.
pub fn proxy_routes(client: Service, zones: &[String]) -> Vec<ProxyRoute> {
    let route = |name: String, listen_port: u16, upstream: String| ProxyRoute {
        name,
        listen_port,
        upstream,
    };
    let c = client.name();
    match client {
        Service::Gateway => zones
            .iter()
            .enumerate()
            .map(|(i, z)| {
                route(
                    format!("gateway-orders-{z}"),
                    GATEWAY_PROXY_BASE_PORT + i as u16,
                    format!("orders-{z}:{HTTP_PORT}"),
                )
            })
            .collect(),
        Service::Orders => vec![
            route(
                format!("{c}-postgres"),
                PG_PORT,
                format!("db-router:{PG_PORT}"),
            ),
            route(
                format!("{c}-redis"),
                REDIS_PORT,
                format!("redis:{REDIS_PORT}"),
            ),
            route(
                format!("{c}-kafka"),
                KAFKA_PORT,
                format!("broker:{KAFKA_PORT}"),
            ),
        ],
        Service::Analytics => vec![
            route(
                format!("{c}-postgres"),
                PG_PORT,
                format!("db-router:{PG_PORT}"),
            ),
            route(
                format!("{c}-kafka"),
                KAFKA_PORT,
                format!("broker:{KAFKA_PORT}"),
            ),
        ],
        _ => Vec::new(),
    }
}

/// A network hop a toxic can act on: the proxy node and the proxies on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HopProxies {
    /// The fault-proxy node (`proxy-orders`).
    pub node: String,
    /// Its proxies that carry the hop.
    pub proxies: Vec<String>,
}

/// Resolves a hop name — `<orders|analytics>-><postgres|redis|kafka>`,
/// `gateway->orders` (every replica) or `gateway->orders-<zone>` — to the
/// proxies that carry it.
pub fn hop(name: &str, zones: &[String]) -> Option<HopProxies> {
    let (from, to) = name.split_once("->")?;
    let client = Service::from_name(from.trim())?;
    let to = to.trim();
    let routes = proxy_routes(client, zones);
    let proxies: Vec<String> = routes
        .iter()
        .filter(|r| {
            let dependency = r.name.strip_prefix(&format!("{from}-")).unwrap_or(&r.name);
            dependency == to || (client == Service::Gateway && to == "orders")
        })
        .map(|r| r.name.clone())
        .collect();
    (!proxies.is_empty()).then(|| HopProxies {
        node: proxy_name(client),
        proxies,
    })
}

/// Every hop name the stack has (for messages and validation).
pub fn hop_names(zones: &[String]) -> Vec<String> {
    let mut out = vec!["gateway->orders".to_string()];
    out.extend(zones.iter().map(|z| format!("gateway->orders-{z}")));
    for client in [Service::Orders, Service::Analytics] {
        for r in proxy_routes(client, zones) {
            let dep = r
                .name
                .strip_prefix(&format!("{}-", client.name()))
                .unwrap_or(&r.name);
            out.push(format!("{}->{dep}", client.name()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn by_service(nodes: &[NodeSpec], s: Service) -> Vec<&NodeSpec> {
        nodes.iter().filter(|n| n.service == s).collect()
    }

    #[test]
    fn the_reference_stack_has_its_documented_shape() {
        let nodes = nodes(&StackSettings::default());
        let names: HashSet<_> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names.len(), nodes.len(), "names are unique");
        for (service, count) in [
            (Service::Etcd, 3),
            (Service::Postgres, 2),
            (Service::Gateway, 3),
            (Service::Orders, 3),
            (Service::Analytics, 2),
            (Service::Ingress, 1),
            (Service::DbRouter, 1),
            (Service::Redis, 1),
            (Service::Broker, 1),
            (Service::Proxy, 3),
            (Service::LagExporter, 1),
        ] {
            assert_eq!(by_service(&nodes, service).len(), count, "{service:?}");
        }
    }

    #[test]
    fn replicated_components_span_every_zone() {
        let nodes = nodes(&StackSettings::default());
        for s in [Service::Etcd, Service::Gateway, Service::Orders] {
            let zones: HashSet<_> = by_service(&nodes, s)
                .iter()
                .map(|n| n.zone.clone())
                .collect();
            assert_eq!(zones.len(), 3, "{s:?} has one member per zone");
        }
        let pg_zones: HashSet<_> = by_service(&nodes, Service::Postgres)
            .iter()
            .map(|n| n.zone.clone())
            .collect();
        assert_eq!(
            pg_zones.len(),
            2,
            "leader and replica sit in different zones"
        );
    }

    #[test]
    fn one_zones_loss_takes_at_most_one_singleton() {
        let nodes = nodes(&StackSettings::default());
        let mut per_zone: HashMap<&str, usize> = HashMap::new();
        for n in nodes
            .iter()
            .filter(|n| matches!(n.service, Service::Redis | Service::Broker))
        {
            *per_zone.entry(n.zone.as_str()).or_default() += 1;
        }
        assert!(per_zone.values().all(|&c| c == 1));
    }

    #[test]
    fn services_reach_every_dependency_through_their_fault_proxy() {
        let nodes = nodes(&StackSettings::default());
        let orders = by_service(&nodes, Service::Orders)[0];
        let env: HashMap<_, _> = orders.env.iter().cloned().collect();
        assert!(env["DATABASE_URL"].contains("@proxy-orders:5432/orders"));
        assert_eq!(env["REDIS_URL"], "redis://proxy-orders:6379");
        assert_eq!(env["KAFKA_BROKERS"], "kafka:9092");
        assert_eq!(
            orders.hosts,
            [("kafka".to_string(), "proxy-orders".to_string())]
        );
        let gateway = by_service(&nodes, Service::Gateway)[0];
        let env: HashMap<_, _> = gateway.env.iter().cloned().collect();
        assert_eq!(
            env["UPSTREAMS"],
            "orders-a=proxy-gateway:18080,orders-b=proxy-gateway:18081,orders-c=proxy-gateway:18082"
        );
        assert_eq!(by_service(&nodes, Service::Proxy).len(), 3);
        let proxy = nodes.iter().find(|n| n.name == "proxy-orders").unwrap();
        let routes: Vec<serde_json::Value> = serde_json::from_str(
            &proxy
                .env
                .iter()
                .find(|(k, _)| k == "FAULTLINE_PROXIES")
                .unwrap()
                .1,
        )
        .unwrap();
        assert_eq!(routes[0]["upstream"], "db-router:5432");
    }

    #[test]
    fn hops_resolve_to_their_proxies() {
        let s = StackSettings::default().zones;
        let h = hop("orders->postgres", &s).unwrap();
        assert_eq!(
            (h.node.as_str(), h.proxies.as_slice()),
            ("proxy-orders", ["orders-postgres".to_string()].as_slice())
        );
        assert_eq!(hop("gateway->orders", &s).unwrap().proxies.len(), 3);
        assert_eq!(
            hop("gateway->orders-b", &s).unwrap().proxies,
            ["gateway-orders-b"]
        );
        assert_eq!(
            hop("analytics->kafka", &s).unwrap().proxies,
            ["analytics-kafka"]
        );
        assert!(hop("analytics->redis", &s).is_none());
        assert!(hop("nonsense", &s).is_none());
        for name in hop_names(&s) {
            assert!(hop(&name, &s).is_some(), "{name}");
        }
    }

    #[test]
    fn service_names_round_trip() {
        for s in Service::ALL {
            assert_eq!(Service::from_name(s.name()), Some(s));
        }
        assert_eq!(Service::from_name("nope"), None);
    }
}
