//! JSON logs, one object a line, with the service's name on every line.

use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber; `RUST_LOG` filters (default `info`).
pub fn init(service: &'static str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter(filter)
        .init();
    tracing::info!(service, "starting");
}
