//! Configuration files of the stack's components, as text. Pure.

use super::settings::StackSettings;
use super::topology::{PG_SUPERUSER, STATS_PORT};

/// How a Patroni node's cluster comes into being.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bootstrap {
    /// `initdb` (a new cluster).
    Initdb,
    /// Restore the newest base backup from the backup region and replay the
    /// archived WAL to its end (point-in-time recovery to the newest point).
    FromBackup,
}

/// The pgBackRest stanza of the stack's cluster.
pub const STANZA: &str = "faultline";

/// Patroni's configuration for node `name`.
pub fn patroni_yml(
    name: &str,
    etcd_hosts: &[String],
    s: &StackSettings,
    bootstrap: Bootstrap,
) -> String {
    let (su, su_pw) = PG_SUPERUSER;
    let t = s.patroni;
    // Patroni's documented pgBackRest bootstrap: the command fills the data
    // directory, writes the recovery settings, and Patroni keeps them.
    let method = match bootstrap {
        Bootstrap::Initdb => String::new(),
        Bootstrap::FromBackup => "  method: pgbackrest
  pgbackrest:
    command: /usr/local/bin/faultline-restore
    keep_existing_recovery_conf: true
    no_params: true
"
        .to_string(),
    };
    format!(
        r#"scope: faultline
name: {name}
restapi:
  listen: 0.0.0.0:8008
  connect_address: {name}:8008
etcd3:
  hosts: {hosts}
bootstrap:
{method}  dcs:
    ttl: {ttl}
    loop_wait: {loop_wait}
    retry_timeout: {retry_timeout}
    maximum_lag_on_failover: 1048576
    synchronous_mode: {sync}
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        max_connections: 200
        max_wal_senders: 10
        max_replication_slots: 10
        wal_log_hints: "on"
        wal_keep_size: 256MB
        archive_mode: "on"
        archive_command: "pgbackrest --stanza={STANZA} archive-push %p"
        archive_timeout: {archive_timeout}
  initdb:
    - encoding: UTF8
    - data-checksums
  post_bootstrap: /usr/local/bin/faultline-post-bootstrap
postgresql:
  listen: 0.0.0.0:5432
  connect_address: {name}:5432
  data_dir: /var/lib/postgresql/data/pgdata
  bin_dir: /usr/lib/postgresql/15/bin
  pgpass: /tmp/pgpass
  # A replica that cannot stream a WAL segment (the leader recycled it, or
  # never wrote it on the new timeline after a demote and re-promote)
  # fetches it from the backup region's archive, as pgBackRest's and
  # Patroni's documentation set replicas up.
  recovery_conf:
    restore_command: pgbackrest --stanza={STANZA} archive-get %f "%p"
  # A replica's pg_basebackup must not wait for a spread checkpoint
  # (up to checkpoint_timeout) before it starts copying.
  basebackup:
    - checkpoint: fast
  authentication:
    superuser:
      username: {su}
      password: {su_pw}
    replication:
      username: replicator
      password: replicator
    rewind:
      username: {su}
      password: {su_pw}
  pg_hba:
    - local all all trust
    - host replication replicator all scram-sha-256
    - host all all all scram-sha-256
  parameters:
    unix_socket_directories: /var/run/postgresql
    # The member's own name, as a custom setting (Patroni sets
    # cluster_name to the scope): the services return it with every write,
    # so a lost write names the node that acknowledged it.
    faultline.node: {name}
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
"#,
        hosts = etcd_hosts.join(","),
        ttl = t.ttl,
        loop_wait = t.loop_wait,
        retry_timeout = t.retry_timeout,
        sync = s.synchronous_replication,
        archive_timeout = s.archive_interval.as_secs().max(1),
    )
}

const HAPROXY_GLOBAL: &str = "global
  maxconn 4096
  log stdout format raw local0 warning

resolvers docker
  nameserver dns 127.0.0.11:53
  hold valid 1s
  hold obsolete 1s
  resolve_retries 3
  timeout retry 200ms
";

/// The router that sends PostgreSQL connections to the Patroni leader
/// (`GET /primary` answers 200 only there) and cuts the sessions of a node
/// that stops being leader.
pub fn db_router_cfg(pg_nodes: &[String]) -> String {
    let servers: String = pg_nodes
        .iter()
        .map(|n| {
            format!(
                "  server {n} {n}:5432 maxconn 200 check port 8008 resolvers docker init-addr last,libc,none\n"
            )
        })
        .collect();
    format!(
        "{HAPROXY_GLOBAL}
defaults
  mode tcp
  timeout connect 2s
  timeout client 30m
  timeout server 30m
  timeout check 1s

listen stats
  mode http
  bind :{STATS_PORT}
  stats enable
  stats uri /stats

listen postgres
  bind :5432
  option httpchk GET /primary
  http-check expect status 200
  default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
{servers}
listen postgres-replicas
  bind :5433
  option httpchk GET /replica
  http-check expect status 200
  default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
{servers}"
    )
}

/// The ingress: HTTP load balancing over the gateways with active health
/// checks at the profile's interval.
pub fn ingress_cfg(gateways: &[String], s: &StackSettings) -> String {
    let inter = s.health_check_interval.as_millis().max(100);
    let fall = s.health_check_fall.max(1);
    let servers: String = gateways
        .iter()
        .map(|g| format!("  server {g} {g}:8080 check resolvers docker init-addr last,libc,none\n"))
        .collect();
    format!(
        "{HAPROXY_GLOBAL}
defaults
  mode http
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  timeout check 1s
  retries 2
  option redispatch
  option http-server-close

listen stats
  bind :{STATS_PORT}
  stats enable
  stats uri /stats

frontend ingress
  bind :8080
  default_backend gateways

backend gateways
  balance roundrobin
  option httpchk GET /ready
  http-check expect status 200
  default-server inter {inter}ms fall {fall} rise 2
{servers}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patroni_gets_the_profiles_timing_and_mode() {
        let s = StackSettings {
            synchronous_replication: true,
            ..Default::default()
        };
        let y = patroni_yml(
            "pg-a",
            &["etcd-a:2379".into(), "etcd-b:2379".into()],
            &s,
            Bootstrap::Initdb,
        );
        assert!(y.contains("name: pg-a"));
        assert!(y.contains("hosts: etcd-a:2379,etcd-b:2379"));
        assert!(y.contains("synchronous_mode: true"));
        assert!(y.contains(&format!("ttl: {}", s.patroni.ttl)));
        assert!(y.contains("connect_address: pg-a:5432"));
        assert!(y.contains("faultline.node: pg-a"));
        assert!(y.contains("archive_timeout: 30"));
        assert!(y.contains("archive-push %p"));
        assert!(!y.contains("method: pgbackrest"));
        assert!(y.contains("restore_command: pgbackrest --stanza=faultline archive-get %f \"%p\""));
        let r = patroni_yml("pg-a", &["etcd-a:2379".into()], &s, Bootstrap::FromBackup);
        assert!(r.contains("bootstrap:\n  method: pgbackrest\n  pgbackrest:\n    command: /usr/local/bin/faultline-restore"));
        assert!(r.contains("keep_existing_recovery_conf: true"));
    }

    #[test]
    fn the_router_checks_patronis_primary_endpoint() {
        let c = db_router_cfg(&["pg-a".into(), "pg-b".into()]);
        assert!(c.contains("option httpchk GET /primary"));
        assert!(c.contains("on-marked-down shutdown-sessions"));
        assert!(c.contains("server pg-a pg-a:5432"));
        assert!(c.contains("server pg-b pg-b:5432"));
    }

    #[test]
    fn the_ingress_checks_at_the_profiles_interval() {
        let s = StackSettings {
            health_check_interval: std::time::Duration::from_secs(10),
            ..Default::default()
        };
        let c = ingress_cfg(&["gateway-a".into()], &s);
        assert!(c.contains("inter 10000ms fall 3"));
        assert!(c.contains("server gateway-a gateway-a:8080 check"));
    }
}
