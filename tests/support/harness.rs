//! What the end-to-end suites are set up with: a store on either adapter with the clock it
//! runs on, edges over it as the Lambda instances would be built, the real worker against the
//! recording platform, and ids no other request of the test binary uses.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gavel_shared::adapters::dynamodb::{DynamoStore, create_table};
use gavel_shared::clock::ManualClock;
use gavel_shared::commands::CommandRegistry;
use gavel_shared::config::Serves;
use gavel_shared::edge::Edge;
use gavel_shared::jobs::Job;
use gavel_shared::platform::recording::RecordingPlatform;
use gavel_shared::slack::web::SlackWeb;
use gavel_shared::store::Store;
use gavel_shared::worker::{Outcome, Worker};

use crate::doubles::generous_limits;
use crate::{FIXTURE_TIMESTAMP, in_memory_store, moto, test_settings};

/// A store and the manual clock it (and everything over it) reads the time from.
pub struct Backing {
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
}

impl Backing {
    /// A fresh in-memory embedded store, at [`FIXTURE_TIMESTAMP`].
    pub fn embedded() -> Self {
        Self::embedded_at(FIXTURE_TIMESTAMP)
    }

    pub fn embedded_at(unix_secs: i64) -> Self {
        let clock = Arc::new(ManualClock::at_secs(unix_secs));
        Self {
            store: in_memory_store(clock.clone()),
            clock,
        }
    }

    /// DynamoDB (moto) on the binary's shared table, at [`FIXTURE_TIMESTAMP`]; tests keep
    /// apart through their own tenants.
    pub async fn dynamodb() -> Self {
        Self::dynamodb_at(FIXTURE_TIMESTAMP).await
    }

    pub async fn dynamodb_at(unix_secs: i64) -> Self {
        let moto = moto::moto().await;
        let clock = Arc::new(ManualClock::at_secs(unix_secs));
        let store = DynamoStore::new(moto.client(), &moto.table, clock.clone());
        Self {
            store: Arc::new(store),
            clock,
        }
    }

    /// DynamoDB (moto) on a table of the test's own named `{prefix}-{namespace}`, for tests that
    /// walk the whole table (sweeps, scans).
    pub async fn dynamodb_own_table(prefix: &str) -> Self {
        let moto = moto::moto().await;
        let client = moto.client();
        let table = format!("{prefix}-{}", moto::namespace());
        create_table(&client, &table)
            .await
            .expect("a table of this test's own");
        let clock = Arc::new(ManualClock::at_secs(FIXTURE_TIMESTAMP));
        let store = DynamoStore::new(client, table, clock.clone());
        Self {
            store: Arc::new(store),
            clock,
        }
    }
}

/// An edge (an instance) with the standard commands and the test credentials, over `store`,
/// calling Slack's Web API through `slack_web`. Rate limits are tested on their own; here they
/// must never interfere.
pub fn edge_over(
    store: Arc<dyn Store>,
    clock: &Arc<ManualClock>,
    slack_web: Arc<dyn SlackWeb>,
) -> Edge {
    test_settings()
        .build_edge(
            Serves::Both,
            Arc::new(CommandRegistry::standard()),
            clock.clone(),
            store,
        )
        .expect("test settings make an edge")
        .with_slack_web(slack_web)
        .with_rate_limits(generous_limits())
}

/// The real worker over `store`, calling the recording platform for Discord and Slack.
pub fn recording_worker(
    store: &Arc<dyn Store>,
    clock: &Arc<ManualClock>,
    platform: &Arc<RecordingPlatform>,
) -> Worker {
    Worker::new(
        Arc::clone(store),
        clock.clone(),
        Some(platform.clone()),
        Some(platform.clone()),
    )
}

/// Hands each job to `worker` once; each must be done.
pub async fn run_jobs(worker: &Worker, jobs: &[Job]) {
    for job in jobs {
        let outcome = worker
            .handle(job, Instant::now() + Duration::from_secs(10))
            .await;
        assert_eq!(outcome, Outcome::Done, "{job:?}");
    }
}

/// A Discord snowflake starting with `prefix` (14 digits) that no other request in this
/// binary uses.
pub fn snowflake_from(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{prefix}{:05}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Awaits the spawned requests, in order.
pub async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.expect("the request task finished"));
    }
    out
}
