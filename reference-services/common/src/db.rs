//! A PostgreSQL connection pool with bounded waits, so a dead or failing-over
//! database turns into quick errors rather than hung requests.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::NoTls;

/// Settings for [`pool`].
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// A libpq-style URL (`postgres://user:pw@host:port/db`).
    pub url: String,
    /// Most connections the pool keeps.
    pub max_size: usize,
    /// How long a caller waits for a connection or for one to be made.
    pub acquire_timeout: Duration,
}

/// A pool that does not connect until first used.
pub fn pool(cfg: &DbConfig) -> Result<Pool, tokio_postgres::Error> {
    let mut pg: tokio_postgres::Config = cfg.url.parse()?;
    pg.connect_timeout(cfg.acquire_timeout);
    // A connection whose peer vanished (a partition drops packets rather
    // than refusing them) must fail in seconds, not after the kernel's
    // ~15 minutes of retransmissions: idle connections are probed every
    // second after 5 s, and data left unacknowledged for 10 s fails the
    // connection (TCP_USER_TIMEOUT) — a statement in flight included.
    pg.keepalives(true);
    pg.keepalives_idle(Duration::from_secs(5));
    pg.keepalives_interval(Duration::from_secs(1));
    pg.keepalives_retries(3);
    pg.tcp_user_timeout(Duration::from_secs(10));
    let manager = Manager::from_config(
        pg,
        NoTls,
        ManagerConfig {
            // `Verified` runs a cheap query before handing out a pooled
            // connection, so a connection cut by a failover is replaced
            // instead of failing the request that drew it.
            recycling_method: RecyclingMethod::Verified,
        },
    );
    Ok(Pool::builder(manager)
        .max_size(cfg.max_size)
        .runtime(Runtime::Tokio1)
        .timeouts(Timeouts {
            wait: Some(cfg.acquire_timeout),
            create: Some(cfg.acquire_timeout),
            recycle: Some(cfg.acquire_timeout),
        })
        .build()
        .expect("a pool with a runtime and timeouts always builds"))
}

/// Whether `SELECT 1` answers within the pool's timeouts.
pub async fn ping(pool: &Pool) -> bool {
    match pool.get().await {
        Ok(client) => client.simple_query("SELECT 1").await.is_ok(),
        Err(_) => false,
    }
}
