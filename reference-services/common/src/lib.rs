//! What every faultline reference service shares: configuration from the
//! environment, JSON logs carrying a request id, Prometheus metrics, the
//! `/health` shape that seed 004 documents, a PostgreSQL pool, and graceful
//! shutdown on SIGTERM.

pub mod config;
pub mod db;
pub mod health;
pub mod http;
pub mod logging;
pub mod shutdown;

pub use config::ConfigError;
pub use health::{DbStatus, Health};
