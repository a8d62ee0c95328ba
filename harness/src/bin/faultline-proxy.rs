//! `faultline-proxy`: a TCP proxy with Toxiproxy's HTTP API.
//!
//! Usage: `faultline-proxy [--host H] [--port P]`. Proxies listed as a JSON
//! array in `FAULTLINE_PROXIES` (`[{"name","listen","upstream"}]`) are
//! created at start-up, before the API answers, so that services can
//! connect through it from their first moment.

use std::process::ExitCode;

use faultline::proxy::{api, ProxyConfig, Registry, API_PORT};

fn main() -> ExitCode {
    let mut host = "0.0.0.0".to_string();
    let mut port = API_PORT;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--host", Some(h)) => host = h,
            ("--port", Some(p)) => match p.parse() {
                Ok(p) => port = p,
                Err(_) => {
                    eprintln!("faultline-proxy: --port takes a number, got {p:?}");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("usage: faultline-proxy [--host H] [--port P]");
                return ExitCode::from(2);
            }
        }
    }
    let proxies: Vec<ProxyConfig> = match std::env::var("FAULTLINE_PROXIES") {
        Ok(json) if !json.trim().is_empty() => match serde_json::from_str(&json) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("faultline-proxy: FAULTLINE_PROXIES is not a JSON array of proxies: {e}");
                return ExitCode::from(2);
            }
        },
        _ => Vec::new(),
    };
    // One thread: a wake-up and the write it causes stay on one core, which
    // is what keeps the proxy's added latency in the microseconds.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("faultline-proxy: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let registry = Registry::new();
        if let Err(e) = registry.populate(proxies).await {
            eprintln!("faultline-proxy: {e}");
            return ExitCode::FAILURE;
        }
        let listener = match tokio::net::TcpListener::bind((host.as_str(), port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("faultline-proxy: API on {host}:{port}: {e}");
                return ExitCode::FAILURE;
            }
        };
        eprintln!(
            "faultline-proxy: API on {}",
            listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default()
        );
        let shutdown = async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            match term.as_mut() {
                Some(t) => {
                    tokio::select! { _ = t.recv() => {}, _ = tokio::signal::ctrl_c() => {} }
                }
                None => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        };
        match axum::serve(listener, api::router(registry))
            .with_graceful_shutdown(shutdown)
            .await
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("faultline-proxy: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
