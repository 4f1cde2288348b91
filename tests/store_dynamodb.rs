//! The store conformance suite against the DynamoDB adapter on moto (one emulator and one table
//! for the whole binary, a namespace per case), plus what only this adapter has to prove: the
//! paths around expired-but-not-yet-deleted counters and cursors, the guesses an advance makes
//! about its cursor, the mapping of an unreachable service, and, through a fault proxy in front
//! of moto, DynamoDB's throttling, 500s and lost answers met by the SDK's retries.

use std::sync::Arc;
use std::time::Duration;

use gavel_shared::adapters::dynamodb::{DynamoStore, StoreTuning, emulator_client};
use gavel_shared::clock::{Clock, ManualClock};
use gavel_shared::store::{ItemKey, NewItem, Store, StoreError, WriteOp, round_trips};
use gavel_shared::store_conformance::Harness;
use gavel_tests::fault_proxy::{FaultProxy, ProxyFault};
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

// ---------------------------------------------------------------------------------------------
// Through the fault proxy: DynamoDB's own trouble (throttling, 500s, lost answers) between the
// adapter and moto, met by the SDK's retries as configured by `StoreTuning`.

/// The adapter over the fault proxy in front of the binary's moto, with `tuning`.
async fn through_proxy(tuning: StoreTuning) -> (FaultProxy, Harness) {
    let moto = moto::moto().await;
    let proxy = FaultProxy::start(&moto.endpoint).await;
    let clock = ManualClock::at_secs(1_800_000_000);
    let store = DynamoStore::new(
        emulator_client(&proxy.url, tuning),
        &moto.table,
        Arc::new(clock.clone()),
    );
    let harness = Harness {
        store: Arc::new(store),
        clock,
        namespace: moto::namespace(),
    };
    (proxy, harness)
}

/// Four attempts in a budget generous enough for moto's pace.
const FOUR_ATTEMPTS: StoreTuning = StoreTuning {
    timeout: Duration::from_secs(10),
    max_attempts: 4,
};

/// Throttling (both of DynamoDB's codes) and 500s are retried by the SDK within the configured
/// attempts, and the call then succeeds as if nothing happened; throttled on every attempt,
/// the call is unavailable (a transient failure: "try again") and changed nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttles_and_server_errors_are_retried_within_the_attempts() {
    let (proxy, h) = through_proxy(FOUR_ATTEMPTS).await;
    let item = key(&h, "retried");

    proxy.inject(Some("PutItem"), 2, ProxyFault::ProvisionedThroughput);
    proxy.inject(Some("PutItem"), 1, ProxyFault::ServerError);
    let created = h
        .store
        .create(NewItem::new(item.clone(), json!({ "n": 1 })))
        .await;
    assert_eq!(created.map(|i| i.version), Ok(1));
    assert_eq!(
        proxy.seen_for("PutItem"),
        [
            "ProvisionedThroughputExceededException",
            "ProvisionedThroughputExceededException",
            "InternalServerError",
            "forwarded"
        ]
    );

    proxy.inject(Some("GetItem"), 1, ProxyFault::Throttling);
    let read = h.store.get(&item).await.unwrap().unwrap();
    assert_eq!(read.data, json!({ "n": 1 }));
    assert_eq!(
        proxy.seen_for("GetItem"),
        ["ThrottlingException", "forwarded"]
    );

    proxy.inject(Some("TransactWriteItems"), 1, ProxyFault::ServerError);
    proxy.inject(Some("TransactWriteItems"), 1, ProxyFault::Throttling);
    let moved = h
        .store
        .transact(vec![WriteOp::Update {
            item: NewItem::new(item.clone(), json!({ "n": 2 })),
            expected_version: 1,
        }])
        .await;
    assert_eq!(moved, Ok(()));
    assert_eq!(
        proxy.seen_for("TransactWriteItems"),
        ["InternalServerError", "ThrottlingException", "forwarded"]
    );

    // Throttled on all four attempts: unavailable, and the counter never moved.
    let counter = key(&h, "throttled-counter");
    proxy.inject(Some("UpdateItem"), 4, ProxyFault::ProvisionedThroughput);
    let counted = h.store.increment(&counter, 1, None, None).await;
    assert!(
        matches!(&counted, Err(e) if e.is_transient()),
        "expected a transient failure, got {counted:?}"
    );
    assert_eq!(proxy.seen_for("UpdateItem").len(), 4, "{:?}", proxy.seen());
    assert_eq!(h.store.get(&counter).await.unwrap(), None);
    // The rules are used up: the next call goes straight through.
    assert_eq!(h.store.increment(&counter, 1, None, None).await, Ok(1));
}

/// A write that reached DynamoDB but whose answer was replaced by a 500: the SDK sends it
/// again. A transaction carries the same client request token on the retry, so DynamoDB (the
/// proxy supplies the idempotency moto lacks) answers it without applying it twice: one
/// effect, reported as success. A single-item write meets its own effect instead and says so
/// in the store's words (a create: already exists; an update: a version conflict one version
/// ahead), still one effect, which the callers read back (the flows, the worker's done
/// marker).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_still_has_one_effect() {
    let (proxy, h) = through_proxy(FOUR_ATTEMPTS).await;
    let counter = key(&h, "lost-counter");
    let item = key(&h, "lost-item");

    proxy.inject(Some("TransactWriteItems"), 1, ProxyFault::LoseAnswer);
    let committed = h
        .store
        .transact(vec![
            WriteOp::Create(NewItem::new(item.clone(), json!({ "n": 1 }))),
            WriteOp::Increment {
                key: counter.clone(),
                by: 1,
                cap: Some(1),
            },
        ])
        .await;
    assert_eq!(committed, Ok(()));
    assert_eq!(
        proxy.seen_for("TransactWriteItems"),
        ["answer lost", "replayed"]
    );
    assert_eq!(h.store.get(&counter).await.unwrap().unwrap().data, json!(1));
    assert_eq!(h.store.get(&item).await.unwrap().unwrap().version, 1);

    let created = key(&h, "lost-create");
    proxy.inject(Some("PutItem"), 1, ProxyFault::LoseAnswer);
    assert_eq!(
        h.store
            .create(NewItem::new(created.clone(), json!({ "n": 1 })))
            .await,
        Err(StoreError::AlreadyExists),
        "the retry met the create's own effect"
    );
    assert_eq!(h.store.get(&created).await.unwrap().unwrap().version, 1);

    proxy.inject(Some("PutItem"), 1, ProxyFault::LoseAnswer);
    assert_eq!(
        h.store
            .update(NewItem::new(created.clone(), json!({ "n": 2 })), 1)
            .await,
        Err(StoreError::VersionConflict { current: Some(2) }),
        "the retry met the update's own effect, one version on"
    );
    let read = h.store.get(&created).await.unwrap().unwrap();
    assert_eq!((read.version, read.data), (2, json!({ "n": 2 })));
}
