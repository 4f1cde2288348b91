//! Log output: JSON lines on Lambda (CloudWatch parses them), readable lines on a terminal; and
//! metrics in CloudWatch's Embedded Metric Format ([`metrics`]).

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

/// A stand-in for a value that must not be logged but that a reader needs to tell apart from
/// others (a Slack trigger id is both a request's id and, for 3 seconds, a credential): the
/// first 12 hex digits of its SHA-256. The same value always gives the same fingerprint.
pub fn fingerprint(value: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(value.as_bytes())[..6])
}

/// Human-readable logs for `gavel` commands, on stderr so stdout stays scriptable.
/// `default` applies when `RUST_LOG` is unset (the demo wants only warnings; `serve`, info).
pub fn init_human(default: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(default))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Metrics as CloudWatch Embedded Metric Format: one JSON line per metric set on stdout, which
/// CloudWatch Logs turns into metrics with no API call (so no permission, no latency, nothing
/// lost if CloudWatch is slow). Emitted only where `GAVEL_METRICS_NAMESPACE` names a namespace
/// (the template sets `Gavel/{stack}`); `gavel serve` and tests emit nothing unless a test
/// [`capture`](metrics::capture)s them.
///
/// The metrics, and the dimensions each carries:
///
/// | metric | unit | dimensions |
/// |---|---|---|
/// | `AckLatency` | Milliseconds | `Route` (`discord`, `slack_commands`, `slack_interactions`, `slack_events`) |
/// | `StoreRoundTrips` | Count | `Route` |
/// | `StoreLatency` | Milliseconds | `Route` |
/// | `SignatureRejected` | Count | `Platform` |
/// | `RateLimited` | Count | `Platform` |
/// | `Platform429` | Count | `Platform`, `Bucket` |
/// | `JobOutcome` | Count | `Outcome` |
/// | `MaintenanceItems` | Count | `Sweep`, `Kind` |
pub mod metrics {
    use std::cell::RefCell;
    use std::future::Future;
    use std::sync::OnceLock;
    use std::time::{SystemTime, UNIX_EPOCH};

    use serde_json::{Map, Value, json};

    /// A metric's unit, as CloudWatch names it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Unit {
        Milliseconds,
        Count,
    }

    impl Unit {
        fn name(self) -> &'static str {
            match self {
                Unit::Milliseconds => "Milliseconds",
                Unit::Count => "Count",
            }
        }
    }

    /// Values that share one set of dimensions: one EMF line.
    #[derive(Clone, Debug, Default)]
    pub struct MetricSet {
        dimensions: Vec<(&'static str, String)>,
        values: Vec<(&'static str, Unit, f64)>,
    }

    impl MetricSet {
        pub fn new() -> Self {
            Self::default()
        }

        pub fn dimension(mut self, name: &'static str, value: impl Into<String>) -> Self {
            self.dimensions.push((name, value.into()));
            self
        }

        pub fn value(mut self, name: &'static str, unit: Unit, value: f64) -> Self {
            self.values.push((name, unit, value));
            self
        }

        /// The EMF document for `namespace` at `timestamp_ms`.
        pub fn to_emf(&self, namespace: &str, timestamp_ms: i64) -> Value {
            let metrics: Vec<Value> = self
                .values
                .iter()
                .map(|(name, unit, _)| json!({ "Name": name, "Unit": unit.name() }))
                .collect();
            let dimension_names: Vec<&str> = self.dimensions.iter().map(|(n, _)| *n).collect();
            let mut document = Map::new();
            document.insert(
                "_aws".into(),
                json!({
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": namespace,
                        "Dimensions": [dimension_names],
                        "Metrics": metrics,
                    }],
                }),
            );
            for (name, value) in &self.dimensions {
                document.insert((*name).into(), json!(value));
            }
            for (name, _, value) in &self.values {
                document.insert((*name).into(), json!(value));
            }
            Value::Object(document)
        }

        /// Writes the set: to the capturing test, else as a line on stdout where a namespace is
        /// configured, else nowhere.
        pub fn emit(self) {
            if self.values.is_empty() {
                return;
            }
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            let captured = CAPTURED.try_with(|lines| {
                lines
                    .borrow_mut()
                    .push(self.to_emf(namespace().unwrap_or("test"), now_ms));
            });
            if captured.is_ok() {
                return;
            }
            if let Some(namespace) = namespace() {
                // One write of one line, so lines from concurrent requests never interleave.
                println!("{}", self.to_emf(namespace, now_ms));
            }
        }
    }

    fn namespace() -> Option<&'static str> {
        static NAMESPACE: OnceLock<Option<String>> = OnceLock::new();
        NAMESPACE
            .get_or_init(|| {
                std::env::var("GAVEL_METRICS_NAMESPACE")
                    .ok()
                    .filter(|n| !n.trim().is_empty())
            })
            .as_deref()
    }

    tokio::task_local! {
        static CAPTURED: RefCell<Vec<Value>>;
    }

    /// Runs `future` and returns its output with the EMF documents it emitted (in its own task).
    pub async fn capture<F: Future>(future: F) -> (F::Output, Vec<Value>) {
        CAPTURED
            .scope(RefCell::new(Vec::new()), async move {
                let output = future.await;
                (output, CAPTURED.with(|lines| lines.take()))
            })
            .await
    }

    /// A count of one with these dimensions: the common case.
    pub fn count(name: &'static str, dimensions: &[(&'static str, &str)]) {
        let mut set = MetricSet::new();
        for (dimension, value) in dimensions {
            set = set.dimension(dimension, *value);
        }
        set.value(name, Unit::Count, 1.0).emit();
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_set_is_one_emf_document_with_its_dimensions_and_values() {
            let set = MetricSet::new()
                .dimension("Route", "discord")
                .value("AckLatency", Unit::Milliseconds, 12.5)
                .value("StoreRoundTrips", Unit::Count, 2.0);
            let emf = set.to_emf("Gavel/gavel-dev", 1_764_000_000_000);
            assert_eq!(emf["_aws"]["Timestamp"], 1_764_000_000_000i64);
            let directive = &emf["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(directive["Namespace"], "Gavel/gavel-dev");
            assert_eq!(directive["Dimensions"], json!([["Route"]]));
            assert_eq!(
                directive["Metrics"],
                json!([
                    { "Name": "AckLatency", "Unit": "Milliseconds" },
                    { "Name": "StoreRoundTrips", "Unit": "Count" }
                ])
            );
            assert_eq!(emf["Route"], "discord");
            assert_eq!(emf["AckLatency"], 12.5);
            assert_eq!(emf["StoreRoundTrips"], 2.0);
        }
    }
}
