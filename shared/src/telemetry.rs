//! Log output: JSON lines on Lambda (CloudWatch parses them), readable lines on a terminal.

use tracing_subscriber::EnvFilter;

/// `RUST_LOG` when set, else the given default directive.
fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
}

/// JSON logs with the current span (route, interaction id, tenant) on every line.
pub fn init_json() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter("info"))
        .with_current_span(true)
        .with_span_list(false)
        .with_ansi(false)
        .try_init();
}

/// Human-readable logs for `gavel` commands, on stderr so stdout stays scriptable.
/// `default` applies when `RUST_LOG` is unset (the demo wants only warnings; `serve`, info).
pub fn init_human(default: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(default))
        .with_writer(std::io::stderr)
        .try_init();
}
