//! CloudWatch metrics in Embedded Metric Format: what the edge, the worker and the maintenance
//! runs emit, captured as the JSON documents CloudWatch Logs would receive on stdout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gavel_shared::clock::{Clock, ManualClock};
use gavel_shared::config::Serves;
use gavel_shared::invocation::Platform;
use gavel_shared::jobs::{Job, Post, ReplyTarget, Task};
use gavel_shared::maintenance::{Budget, Maintenance, Sweep};
use gavel_shared::platform::recording::RecordingPlatform;
use gavel_shared::reply::Reply;
use gavel_shared::telemetry::metrics;
use gavel_shared::worker::Worker;
use gavel_tests::doubles::RecordingBus;
use gavel_tests::{
    FIXTURE_TIMESTAMP, discord_signed_headers, header_map, in_memory_store, payloads, requests,
    test_edge,
};
use http::Method;
use serde_json::Value;

/// The documents that carry `metric`.
fn with_metric<'a>(docs: &'a [Value], metric: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d.get(metric).is_some()).collect()
}

/// A document is EMF: its directive declares each metric it carries, with its dimensions.
fn assert_emf(doc: &Value, metric: &str, unit: &str, dimensions: &[&str]) {
    let directive = &doc["_aws"]["CloudWatchMetrics"][0];
    assert!(doc["_aws"]["Timestamp"].is_i64(), "{doc}");
    assert!(directive["Namespace"].is_string(), "{doc}");
    assert_eq!(
        directive["Dimensions"][0],
        serde_json::json!(dimensions),
        "{doc}"
    );
    let declared = directive["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["Name"] == metric && m["Unit"] == unit);
    assert!(declared, "{metric} declared in {doc}");
    for dimension in dimensions {
        assert!(doc[*dimension].is_string(), "{dimension} in {doc}");
    }
    assert!(doc[metric].is_number(), "{doc}");
}

#[tokio::test]
async fn each_answer_emits_its_acknowledgement_latency_and_store_cost() {
    let edge = test_edge(Serves::Both);
    let clock = ManualClock::at_secs(FIXTURE_TIMESTAMP);
    let (answer, docs) =
        metrics::capture(requests::discord(&edge, &clock, &payloads::discord_ping())).await;
    assert_eq!(answer.status, 200);
    let acks = with_metric(&docs, "AckLatency");
    assert_eq!(acks.len(), 1, "one set per request: {docs:?}");
    assert_emf(acks[0], "AckLatency", "Milliseconds", &["Route"]);
    assert_emf(acks[0], "StoreRoundTrips", "Count", &["Route"]);
    assert_emf(acks[0], "StoreLatency", "Milliseconds", &["Route"]);
    assert_eq!(acks[0]["Route"], "discord");
    assert_eq!(acks[0]["StoreRoundTrips"], 0.0, "a PING touches no store");

    let body = payloads::slack_command("/ping", "", "1.2.3");
    let (_, docs) =
        metrics::capture(requests::slack(&edge, &clock, "/slack/commands", &body)).await;
    let acks = with_metric(&docs, "AckLatency");
    assert_eq!(acks[0]["Route"], "slack_commands");
    assert!(acks[0]["AckLatency"].as_f64().unwrap() >= 0.0);
}

#[tokio::test]
async fn a_rejected_signature_is_counted_by_platform() {
    let edge = test_edge(Serves::Both);
    let body = payloads::discord_ping();
    let mut headers = discord_signed_headers(&FIXTURE_TIMESTAMP.to_string(), &body);
    for (name, value) in &mut headers {
        if name.eq_ignore_ascii_case("x-signature-ed25519") {
            *value = "0".repeat(128);
        }
    }
    let map = header_map(headers.iter().map(|(k, v)| (*k, v.as_str())));
    let (answer, docs) =
        metrics::capture(edge.handle(&Method::POST, "/discord/interactions", &map, &body)).await;
    assert_eq!(answer.status.as_u16(), 401);
    let rejected = with_metric(&docs, "SignatureRejected");
    assert_eq!(rejected.len(), 1, "{docs:?}");
    assert_emf(rejected[0], "SignatureRejected", "Count", &["Platform"]);
    assert_eq!(rejected[0]["Platform"], "discord");
    assert_eq!(rejected[0]["SignatureRejected"], 1.0);
    // The answer is timed like any other.
    assert_eq!(with_metric(&docs, "AckLatency").len(), 1);
}

#[tokio::test]
async fn jobs_and_maintenance_runs_emit_their_outcomes() {
    let clock = Arc::new(ManualClock::at_secs(FIXTURE_TIMESTAMP));
    let store = in_memory_store(clock.clone());
    let platform = Arc::new(RecordingPlatform::new());
    let worker = Worker::new(
        Arc::clone(&store),
        clock.clone(),
        Some(platform.clone()),
        Some(platform),
    );
    let job = Job {
        id: "metrics-job-1".into(),
        platform: Platform::Discord,
        tenant: "1174109840998400001".into(),
        task: Task::Post(Post {
            channel: "1174109840998400002".into(),
            message: Reply::public("hello"),
        }),
        reply_to: ReplyTarget::Nobody,
        created_at: clock.now_secs(),
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let (_, docs) = metrics::capture(worker.handle(&job, deadline)).await;
    let outcome = with_metric(&docs, "JobOutcome");
    assert_emf(outcome[0], "JobOutcome", "Count", &["Outcome"]);
    assert_eq!(outcome[0]["Outcome"], "done");
    let (_, docs) = metrics::capture(worker.handle(&job, deadline)).await;
    assert_eq!(with_metric(&docs, "JobOutcome")[0]["Outcome"], "duplicate");

    let m = Maintenance::new(store, Arc::new(RecordingBus::default()), clock);
    let (_, docs) = metrics::capture(m.run(Sweep::Cleanup, Budget::for_secs(30))).await;
    let items = with_metric(&docs, "MaintenanceItems");
    assert!(!items.is_empty(), "{docs:?}");
    assert_emf(items[0], "MaintenanceItems", "Count", &["Sweep", "Kind"]);
    assert!(items.iter().all(|d| d["Sweep"] == "cleanup"));
    assert!(items.iter().any(|d| d["Kind"] == "scanned"));
}
