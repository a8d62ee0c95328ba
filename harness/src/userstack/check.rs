//! A user's stack's write check: which acknowledged writes its database
//! holds, read with `psql` inside the stack's own database containers, or
//! over the stack file's connection string. Read only.

use std::collections::BTreeSet;

use faultline_core::stack_file::{Database, Primary, WriteCheck, IDS_PER_QUERY};

use crate::platform::docker::{compose, Engine};
use crate::platform::PlatformError;

/// Why a write check could not be read (a run must then report lost writes
/// as not measured, with this reason).
#[derive(Debug, thiserror::Error)]
pub enum WriteCheckError {
    /// The engine failed.
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// No candidate is a primary (all in recovery, or none running).
    #[error("no primary among {candidates}: {why}")]
    NoPrimary {
        /// What was asked.
        candidates: String,
        /// What each answered.
        why: String,
    },
    /// The query failed where it ran.
    #[error("the write check's query failed on {place}: {message}")]
    Query {
        /// Where it ran.
        place: String,
        /// PostgreSQL's (or psql's) message.
        message: String,
    },
}

/// Which of `ids` the database holds, read as `check` says, in Compose
/// project `project`.
pub async fn present(
    engine: &Engine,
    project: &str,
    check: &WriteCheck,
    ids: &[String],
) -> Result<BTreeSet<String>, WriteCheckError> {
    match &check.database {
        Database::Exec {
            services,
            user,
            database,
        } => {
            let container =
                exec_primary(engine, project, services, user, database, &check.primary).await?;
            let mut found = BTreeSet::new();
            for batch in ids.chunks(IDS_PER_QUERY) {
                let (code, out) =
                    psql(engine, &container, user, database, &check.batch_sql(batch)).await?;
                if code != 0 {
                    return Err(WriteCheckError::Query {
                        place: container,
                        message: out.trim().to_string(),
                    });
                }
                found.extend(out.lines().map(str::trim).map(str::to_string));
            }
            // psql's notices share the output; only asked ids count.
            Ok(ids
                .iter()
                .filter(|id| found.contains(*id))
                .cloned()
                .collect())
        }
        Database::Dsn(dsn) => over_connection(dsn, check, ids).await,
    }
}

async fn psql(
    engine: &Engine,
    container: &str,
    user: &str,
    database: &str,
    sql: &str,
) -> Result<(i64, String), PlatformError> {
    engine
        .exec(
            container,
            "",
            &[
                "psql",
                "-XAtq",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                user,
                "-d",
                database,
                "-c",
                sql,
            ],
        )
        .await
}

/// The container of `services` that holds the primary.
async fn exec_primary(
    engine: &Engine,
    project: &str,
    services: &[String],
    user: &str,
    database: &str,
    primary: &Primary,
) -> Result<String, WriteCheckError> {
    let mut answers = Vec::new();
    for service in services {
        for container in compose::service_containers(engine, project, service).await? {
            if *primary == Primary::Fixed {
                return Ok(container);
            }
            let (code, out) = psql(
                engine,
                &container,
                user,
                database,
                "SELECT pg_is_in_recovery()",
            )
            .await?;
            match (code, out.trim()) {
                (0, "f") => return Ok(container),
                (0, "t") => answers.push(format!("{container} is in recovery")),
                (_, other) => answers.push(format!("{container}: {other}")),
            }
        }
    }
    Err(WriteCheckError::NoPrimary {
        candidates: services.join(", "),
        why: if answers.is_empty() {
            "no container of them is running".into()
        } else {
            answers.join("; ")
        },
    })
}

/// Over the stack file's connection string; with several hosts,
/// `target_session_attrs=read-write` picks the primary (libpq's rule, which
/// tokio-postgres follows).
async fn over_connection(
    dsn: &str,
    check: &WriteCheck,
    ids: &[String],
) -> Result<BTreeSet<String>, WriteCheckError> {
    let failed = |message: String| WriteCheckError::Query {
        place: "the write check's connection".into(),
        message,
    };
    let mut config: tokio_postgres::Config = dsn.parse().map_err(|e| failed(format!("{e}")))?;
    if check.primary == Primary::InRecovery {
        config.target_session_attrs(tokio_postgres::config::TargetSessionAttrs::ReadWrite);
    }
    config.connect_timeout(std::time::Duration::from_secs(5));
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let task = tokio::spawn(connection);
    let mut found = BTreeSet::new();
    // The same statements psql runs: the values come back as text whatever
    // the id column's type.
    for batch in ids.chunks(IDS_PER_QUERY) {
        let messages = client
            .simple_query(&check.batch_sql(batch))
            .await
            .map_err(|e| failed(e.to_string()))?;
        for m in messages {
            if let tokio_postgres::SimpleQueryMessage::Row(row) = m {
                if let Some(id) = row.get(0) {
                    found.insert(id.to_string());
                }
            }
        }
    }
    drop(client);
    task.abort();
    Ok(found)
}
