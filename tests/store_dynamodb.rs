//! The store conformance suite against the DynamoDB adapter on moto (one emulator and one table
//! for the whole binary, a namespace per case), plus what only this adapter has to prove: the
//! paths around expired-but-not-yet-deleted counters and cursors, the guesses an advance makes
//! about its cursor, and the mapping of an unreachable service.

use std::sync::Arc;
use std::time::Duration;

use gavel_shared::adapters::dynamodb::{DynamoStore, StoreTuning, emulator_client};
use gavel_shared::clock::{Clock, ManualClock};
use gavel_shared::store::{ItemKey, NewItem, Store, StoreError, WriteOp, round_trips};
use gavel_shared::store_conformance::Harness;
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

/// Another process on the same table and clock: its own (cold) hints about deadline cursors.
async fn other_process(h: &Harness) -> DynamoStore {
    let moto = moto::moto().await;
    DynamoStore::new(moto.client(), &moto.table, Arc::new(h.clock.clone()))
}

/// An advance guesses its cursor's state from what this process saw last (cold: absent). A wrong
/// guess fails its condition, the old item tells the truth, and the second round trip lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_guess_costs_one_more_round_trip_and_nothing_else() {
    let h = harness().await;
    let bucket = key(&h, "bucket");
    let t = h.clock.now_ms();
    h.store.advance(&bucket, 1_000, 4_000).await.unwrap();
    h.store.advance(&bucket, 1_000, 4_000).await.unwrap();

    let other = other_process(&h).await;
    let (result, trips) = round_trips::measure(other.advance(&bucket, 1_000, 4_000)).await;
    assert_eq!(
        (result, trips),
        (Ok(t + 3_000), 2),
        "cold guess: absent; it was busy"
    );
    let (result, trips) = round_trips::measure(other.advance(&bucket, 1_000, 4_000)).await;
    assert_eq!((result, trips), (Ok(t + 4_000), 1), "now it knows");
    let (result, trips) = round_trips::measure(other.advance(&bucket, 1_000, 4_000)).await;
    assert_eq!(
        (result, trips),
        (Err(StoreError::LimitReached { current: t + 4_000 }), 1)
    );

    // The first process's hint is stale: the deadline it saw (t + 2 s) has passed, so it
    // guesses idle, but the other process pushed the cursor on.
    h.clock.advance_ms(2_500);
    let (result, trips) = round_trips::measure(h.store.advance(&bucket, 1_000, 4_000)).await;
    assert_eq!((result, trips), (Ok(t + 5_000), 2));
    let read = h.store.get(&bucket).await.unwrap().unwrap();
    assert_eq!((read.data, read.version), (json!(t + 5_000), 5));

    // A cold process meeting a full cursor learns so from its one failed write.
    let third = other_process(&h).await;
    third.advance(&bucket, 1_000, 4_000).await.unwrap();
    let fourth = other_process(&h).await;
    let (result, trips) = round_trips::measure(fourth.advance(&bucket, 1_000, 4_000)).await;
    assert_eq!(
        (result, trips),
        (Err(StoreError::LimitReached { current: t + 6_000 }), 1)
    );
}

/// TTL deletes late (moto never does): an expired cursor still in the table is replaced whole
/// in the first round trip, version 1, with nothing of the old item left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_item_in_the_way_is_replaced_in_one_round_trip() {
    let h = harness().await;
    let bucket = key(&h, "expired");
    let t0 = h.clock.now_secs();
    h.store
        .create(
            NewItem::new(bucket.clone(), json!({"old": true}))
                .due(format!("{}#q", h.namespace), t0 - 10)
                .expiring_at(t0 + 1),
        )
        .await
        .unwrap();
    h.clock.advance_ms(1_000);
    let now = h.clock.now_ms();
    let (result, trips) = round_trips::measure(h.store.advance(&bucket, 500, 2_000)).await;
    assert_eq!((result, trips), (Ok(now + 500), 1));
    let read = h.store.get(&bucket).await.unwrap().unwrap();
    assert_eq!(
        (read.data, read.version, read.expires_at, read.due),
        (json!(now + 500), 1, Some(now / 1000 + 2), None)
    );

    // The same through a cursor that drained and expired, seen by a process that remembers it
    // live: its hint carries the expiry, so it guesses right.
    h.clock.advance_ms(2_000);
    let now = h.clock.now_ms();
    let (result, trips) = round_trips::measure(h.store.advance(&bucket, 500, 2_000)).await;
    assert_eq!((result, trips), (Ok(now + 500), 1));
    assert_eq!(h.store.get(&bucket).await.unwrap().unwrap().version, 1);
}

/// In a transaction the guess is corrected the same way, from the cancellation reasons' old
/// items (moto returns them, as DynamoDB does, for `ReturnValuesOnConditionCheckFailure`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_corrects_a_wrong_guess_and_names_a_real_failure() {
    let h = harness().await;
    let bucket = key(&h, "tx-bucket");
    let t = h.clock.now_ms();
    h.store.advance(&bucket, 1_000, 3_000).await.unwrap();
    let advance = WriteOp::Advance {
        key: bucket.clone(),
        step_ms: 1_000,
        max_ahead_ms: 3_000,
    };

    let other = other_process(&h).await;
    let created = key(&h, "case#1");
    let (result, trips) = round_trips::measure(other.transact(vec![
        WriteOp::Create(NewItem::new(created.clone(), json!(1))),
        advance.clone(),
    ]))
    .await;
    assert_eq!((result, trips), (Ok(()), 2), "guessed absent, it was busy");
    assert!(h.store.get(&created).await.unwrap().is_some());
    let read = h.store.get(&bucket).await.unwrap().unwrap();
    assert_eq!((read.data, read.version), (json!(t + 2_000), 2));

    // A wrong guess and a real conflict in one cancellation: the real one is named at once.
    let cold = other_process(&h).await;
    let (result, trips) = round_trips::measure(cold.transact(vec![
        advance.clone(),
        WriteOp::Create(NewItem::new(created.clone(), json!(2))),
    ]))
    .await;
    assert_eq!(
        (result, trips),
        (Err(StoreError::TransactionConflict { index: 1 }), 1)
    );

    h.store.advance(&bucket, 1_000, 3_000).await.unwrap();
    let cold = other_process(&h).await;
    let (result, trips) = round_trips::measure(cold.transact(vec![
        WriteOp::Create(NewItem::new(key(&h, "case#2"), json!(2))),
        advance,
    ]))
    .await;
    assert_eq!(
        (result, trips),
        (Err(StoreError::TransactionConflict { index: 1 }), 1),
        "a full cursor is refused from the first cancellation"
    );
    assert_eq!(h.store.get(&key(&h, "case#2")).await.unwrap(), None);
    let read = h.store.get(&bucket).await.unwrap().unwrap();
    assert_eq!((read.data, read.version), (json!(t + 3_000), 3));
}
