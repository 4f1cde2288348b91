//! The store conformance suite against the DynamoDB adapter on moto (one emulator and one table
//! for the whole binary, a namespace per case), plus what only this adapter has to prove: the
//! paths around expired-but-not-yet-deleted counters and the mapping of an unreachable service.

use std::sync::Arc;
use std::time::Duration;

use gavel_shared::adapters::dynamodb::{DynamoStore, StoreTuning, emulator_client};
use gavel_shared::clock::{Clock, ManualClock};
use gavel_shared::store::conformance::Harness;
use gavel_shared::store::{ItemKey, NewItem, Store, StoreError, WriteOp, round_trips};
use gavel_tests::moto;
use serde_json::json;

async fn harness() -> Harness {
    let moto = moto::moto().await;
    let clock = ManualClock::at_secs(1_800_000_000);
    let store = DynamoStore::new(moto.client(), &moto.table, Arc::new(clock.clone()));
    Harness {
        store: Arc::new(store),
        clock,
        namespace: moto::namespace(),
    }
}

gavel_shared::store_conformance_tests!(harness());

fn key(h: &Harness, sk: &str) -> ItemKey {
    ItemKey::new(format!("{}#tenant", h.namespace), sk)
}

/// DynamoDB keeps an expired counter until TTL deletes it (moto never does): the increment's
/// condition fails on it, and the adapter replaces it in a second round trip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_counter_is_replaced_in_two_round_trips() {
    let h = harness().await;
    let counter = key(&h, "bucket");
    let t0 = h.clock.now_secs();
    assert_eq!(
        h.store.increment(&counter, 4, Some(5), Some(t0 + 10)).await,
        Ok(4)
    );
    h.clock.advance_ms(10_000);
    let (result, trips) =
        round_trips::measure(h.store.increment(&counter, 2, Some(5), Some(t0 + 20))).await;
    assert_eq!(result, Ok(2), "the expired value 4 no longer counts");
    assert_eq!(
        trips, 2,
        "update refused by the expired item, then the replacement"
    );
    let read = h.store.get(&counter).await.unwrap().unwrap();
    assert_eq!(
        (read.data, read.version, read.expires_at),
        (json!(2), 1, Some(t0 + 20))
    );
    // Live again: back to the one-round-trip path.
    let (result, trips) = round_trips::measure(h.store.increment(&counter, 1, Some(5), None)).await;
    assert_eq!((result, trips), (Ok(3), 1));
    assert_eq!(
        h.store.get(&counter).await.unwrap().unwrap().expires_at,
        Some(t0 + 20),
        "an increment without an expiry keeps the counter's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_increment_larger_than_the_cap_changes_nothing() {
    let h = harness().await;
    let counter = key(&h, "small");
    assert_eq!(
        h.store.increment(&counter, 3, Some(2), None).await,
        Err(StoreError::CapReached { current: 0 }),
        "a missing counter counts as 0"
    );
    assert_eq!(h.store.get(&counter).await.unwrap(), None);
    assert_eq!(h.store.increment(&counter, 1, Some(2), None).await, Ok(1));
    assert_eq!(
        h.store.increment(&counter, 5, Some(2), None).await,
        Err(StoreError::CapReached { current: 1 })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_restarts_an_expired_counter_from_zero() {
    let h = harness().await;
    let counter = key(&h, "window");
    let t0 = h.clock.now_secs();
    h.store
        .increment(&counter, 7, None, Some(t0 + 5))
        .await
        .unwrap();
    h.clock.advance_ms(5_000);
    let created = key(&h, "case#1");
    let (result, trips) = round_trips::measure(h.store.transact(vec![
        WriteOp::Create(NewItem::new(created.clone(), json!({"case": 1}))),
        WriteOp::Increment {
            key: counter.clone(),
            by: 1,
            cap: Some(3),
        },
    ]))
    .await;
    assert_eq!(result, Ok(()));
    assert_eq!(
        trips, 2,
        "refused by the expired counter, then retried as a replacement"
    );
    let read = h.store.get(&counter).await.unwrap().unwrap();
    assert_eq!(
        (read.data, read.version, read.expires_at),
        (json!(1), 1, None)
    );
    assert!(h.store.get(&created).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_increment_keeps_a_live_counters_expiry() {
    let h = harness().await;
    let counter = key(&h, "live-window");
    let t0 = h.clock.now_secs();
    h.store
        .increment(&counter, 1, None, Some(t0 + 60))
        .await
        .unwrap();
    h.store
        .transact(vec![WriteOp::Increment {
            key: counter.clone(),
            by: 2,
            cap: None,
        }])
        .await
        .unwrap();
    let read = h.store.get(&counter).await.unwrap().unwrap();
    assert_eq!(
        (read.data, read.version, read.expires_at),
        (json!(3), 2, Some(t0 + 60))
    );
}

/// Nothing listens on the port: after its retries the adapter says "unavailable", a transient
/// failure the caller may retry later, within the configured budget.
#[tokio::test]
async fn an_unreachable_service_is_unavailable_within_the_budget() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let tuning = StoreTuning {
        timeout: Duration::from_millis(800),
        max_attempts: 3,
    };
    let store = DynamoStore::new(
        emulator_client(&format!("http://127.0.0.1:{port}"), tuning),
        "nowhere",
        Arc::new(ManualClock::at_secs(1_800_000_000)),
    );
    let started = std::time::Instant::now();
    let result = store.get(&ItemKey::new("p", "s")).await;
    assert!(
        matches!(&result, Err(e) if e.is_transient()),
        "expected Unavailable, got {result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the operation timeout bounds the call: took {:?}",
        started.elapsed()
    );
}
