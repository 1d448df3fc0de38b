//! Logging and metrics.
//!
//! Logging: a `tracing` subscriber writing text (default) or JSON lines, as `[logging] format`
//! says (`MINT_LOG_FORMAT=json` also selects JSON), filtered by `RUST_LOG` or else
//! `[logging] level` (default `info`). The log mediator writes under the target
//! `mint::log_mediator`, the optional access log under `mint::access`.
//!
//! Metrics: [`metrics`], Prometheus text on the internal API.

pub mod metrics;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LoggingSettings};

/// Installs the global subscriber once; later calls do nothing.
pub fn init(logging: &LoggingSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&logging.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let json = logging.format == LogFormat::Json
        || std::env::var("MINT_LOG_FORMAT")
            .map(|v| v == "json")
            .unwrap_or(false);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.with_target(false).try_init()
    };
}
