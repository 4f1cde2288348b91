//! The store conformance suite: one set of cases that every [`Store`] adapter must pass, so the
//! embedded store used locally and DynamoDB on AWS behave the same.
//!
//! Each case takes a [`Harness`]: the store under test, the manual clock that store reads, and a
//! namespace unique to the case, so cases can share one table (the DynamoDB run shares one
//! emulator and one table across all cases). Adapters generate one test per case with
//! [`store_conformance_tests!`](crate::store_conformance_tests).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;

use super::{ItemKey, NewItem, PageRequest, Store, StoreError, WriteOp, round_trips};
use crate::clock::{Clock, ManualClock};
use crate::ratelimit::gcra::{self, BucketPolicy, Decision};

/// The store under test, the clock it reads, and a namespace for keys.
#[derive(Clone)]
pub struct Harness {
    pub store: Arc<dyn Store>,
    pub clock: ManualClock,
    pub namespace: String,
}

impl Harness {
    fn key(&self, pk: &str, sk: &str) -> ItemKey {
        ItemKey::new(format!("{}#{pk}", self.namespace), sk)
    }

    fn pk(&self, pk: &str) -> String {
        format!("{}#{pk}", self.namespace)
    }

    fn queue(&self, name: &str) -> String {
        format!("{}#{name}", self.namespace)
    }

    fn now(&self) -> i64 {
        self.clock.now_secs()
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

pub async fn create_is_conditional_on_absence(h: Harness) {
    let key = h.key("tenant", "item");
    assert_eq!(h.store.get(&key).await.unwrap(), None);
    let created = h
        .store
        .create(NewItem::new(
            key.clone(),
            json!({"a": 1, "nested": {"b": [1, 2, "three"]}}),
        ))
        .await
        .unwrap();
    assert_eq!(created.version, 1);
    let read = h
        .store
        .get(&key)
        .await
        .unwrap()
        .expect("created item is readable");
    assert_eq!(read.data, json!({"a": 1, "nested": {"b": [1, 2, "three"]}}));
    assert_eq!(read.version, 1);
    assert_eq!(read, created);
    let again = h
        .store
        .create(NewItem::new(key.clone(), json!({"a": 2})))
        .await;
    assert_eq!(again, Err(StoreError::AlreadyExists));
    assert_eq!(
        h.store.get(&key).await.unwrap().unwrap().data["a"],
        1,
        "loser wrote nothing"
    );
}

pub async fn versioned_update_fails_cleanly_when_the_version_moved(h: Harness) {
    let key = h.key("tenant", "flow");
    h.store
        .create(NewItem::new(key.clone(), json!({"step": 1})))
        .await
        .unwrap();
    let updated = h
        .store
        .update(NewItem::new(key.clone(), json!({"step": 2})), 1)
        .await
        .unwrap();
    assert_eq!(
        (updated.version, updated.data.clone()),
        (2, json!({"step": 2}))
    );
    let stale = h
        .store
        .update(NewItem::new(key.clone(), json!({"step": 99})), 1)
        .await;
    assert_eq!(stale, Err(StoreError::VersionConflict { current: Some(2) }));
    assert_eq!(
        h.store.get(&key).await.unwrap().unwrap().data,
        json!({"step": 2})
    );
    let missing = h
        .store
        .update(NewItem::new(h.key("tenant", "absent"), json!({})), 1)
        .await;
    assert_eq!(missing, Err(StoreError::VersionConflict { current: None }));
    assert_eq!(
        h.store.get(&h.key("tenant", "absent")).await.unwrap(),
        None,
        "update never creates"
    );
}

pub async fn expired_items_are_invisible_at_once(h: Harness) {
    let key = h.key("tenant", "state");
    let t0 = h.now();
    h.store
        .create(NewItem::new(key.clone(), json!({"v": "first"})).expiring_at(t0 + 10))
        .await
        .unwrap();
    h.clock.advance_ms(9_000);
    assert!(
        h.store.get(&key).await.unwrap().is_some(),
        "alive one second before expiry"
    );
    h.clock.advance_ms(1_000);
    assert_eq!(
        h.store.get(&key).await.unwrap(),
        None,
        "gone exactly at expiry"
    );
    let page = h
        .store
        .query(&key.pk, "", PageRequest::first(10))
        .await
        .unwrap();
    assert!(
        page.items.is_empty(),
        "queries skip expired items: {page:?}"
    );
    assert_eq!(
        h.store
            .update(NewItem::new(key.clone(), json!({})), 1)
            .await,
        Err(StoreError::VersionConflict { current: None }),
        "an expired item cannot be updated"
    );
    let replaced = h
        .store
        .create(NewItem::new(key.clone(), json!({"v": "second"})))
        .await
        .unwrap();
    assert_eq!(
        replaced.version, 1,
        "an expired item in the way is replaced"
    );
    assert_eq!(
        h.store.get(&key).await.unwrap().unwrap().data,
        json!({"v": "second"})
    );
}

pub async fn delete_with_and_without_version(h: Harness) {
    let key = h.key("tenant", "doomed");
    h.store
        .delete(&key, None)
        .await
        .expect("deleting nothing is fine");
    h.store
        .create(NewItem::new(key.clone(), json!(1)))
        .await
        .unwrap();
    assert_eq!(
        h.store.delete(&key, Some(7)).await,
        Err(StoreError::VersionConflict { current: Some(1) })
    );
    assert!(h.store.get(&key).await.unwrap().is_some());
    h.store.delete(&key, Some(1)).await.unwrap();
    assert_eq!(h.store.get(&key).await.unwrap(), None);
    assert_eq!(
        h.store.delete(&key, Some(1)).await,
        Err(StoreError::VersionConflict { current: None })
    );
}

pub async fn counter_stops_at_its_cap(h: Harness) {
    let key = h.key("tenant", "counter");
    assert_eq!(h.store.increment(&key, 1, Some(3), None).await, Ok(1));
    assert_eq!(h.store.increment(&key, 2, Some(3), None).await, Ok(3));
    assert_eq!(
        h.store.increment(&key, 1, Some(3), None).await,
        Err(StoreError::CapReached { current: 3 })
    );
    let read = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!(read.data, json!(3), "a counter's data is its value");
    let free = h.key("tenant", "uncapped");
    for expected in 1..=5 {
        assert_eq!(h.store.increment(&free, 1, None, None).await, Ok(expected));
    }
    assert_eq!(h.store.increment(&free, 10, None, None).await, Ok(15));
    assert!(matches!(
        h.store.increment(&free, 0, None, None).await,
        Err(StoreError::Invalid(_))
    ));
}

pub async fn increment_refuses_a_non_counter_item(h: Harness) {
    let key = h.key("tenant", "document");
    h.store
        .create(NewItem::new(key.clone(), json!({"a": 1})))
        .await
        .unwrap();
    for cap in [None, Some(100)] {
        assert!(
            matches!(
                h.store.increment(&key, 1, cap, None).await,
                Err(StoreError::Invalid(_))
            ),
            "cap {cap:?}"
        );
    }
    let ops = vec![WriteOp::Increment {
        key: key.clone(),
        by: 1,
        cap: None,
    }];
    assert_eq!(
        h.store.transact(ops).await,
        Err(StoreError::TransactionConflict { index: 0 })
    );
    let unchanged = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!((unchanged.version, unchanged.data), (1, json!({"a": 1})));
}

pub async fn counter_restarts_after_expiry(h: Harness) {
    let key = h.key("tenant", "window");
    let t0 = h.now();
    assert_eq!(
        h.store.increment(&key, 1, Some(2), Some(t0 + 60)).await,
        Ok(1)
    );
    assert_eq!(
        h.store.increment(&key, 1, Some(2), Some(t0 + 60)).await,
        Ok(2)
    );
    assert_eq!(
        h.store.increment(&key, 1, Some(2), Some(t0 + 60)).await,
        Err(StoreError::CapReached { current: 2 })
    );
    h.clock.advance_ms(60_000);
    assert_eq!(h.store.get(&key).await.unwrap(), None);
    assert_eq!(
        h.store.increment(&key, 1, Some(2), Some(t0 + 120)).await,
        Ok(1),
        "expired counter counts from 0"
    );
    assert_eq!(
        h.store.get(&key).await.unwrap().unwrap().expires_at,
        Some(t0 + 120)
    );
}

pub async fn racing_counter_increments_give_exactly_the_cap(h: Harness) {
    let key = h.key("tenant", "raced-counter");
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (store, key) = (Arc::clone(&h.store), key.clone());
        tasks.push(tokio::spawn(async move {
            store.increment(&key, 1, Some(10), None).await
        }));
    }
    let mut allowed = Vec::new();
    let mut capped = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(value) => allowed.push(value),
            Err(StoreError::CapReached { current: 10 }) => capped += 1,
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    allowed.sort_unstable();
    assert_eq!(
        allowed,
        (1..=10).collect::<Vec<_>>(),
        "each value handed out once"
    );
    assert_eq!(capped, 90);
    assert_eq!(h.store.get(&key).await.unwrap().unwrap().data, json!(10));
}

pub async fn racing_versioned_updates_have_one_winner_per_version(h: Harness) {
    // 50 writers race on version 1: exactly one wins.
    let key = h.key("tenant", "raced-state");
    h.store
        .create(NewItem::new(key.clone(), json!({"winner": null})))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for writer in 0..50 {
        let (store, key) = (Arc::clone(&h.store), key.clone());
        tasks.push(tokio::spawn(async move {
            store
                .update(NewItem::new(key, json!({"winner": writer})), 1)
                .await
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(item) => winners.push(item),
            Err(StoreError::VersionConflict { current: Some(2) }) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one winner for version 1");
    let stored = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!((stored.version, &stored.data), (2, &winners[0].data));

    // Writers that reread and retry never lose an update: every version has one winner.
    let tally = h.key("tenant", "tally");
    h.store
        .create(NewItem::new(tally.clone(), json!({"writers": []})))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for writer in 0..12 {
        let (store, key) = (Arc::clone(&h.store), tally.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let current = store.get(&key).await.unwrap().unwrap();
                let mut writers = current.data["writers"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                writers.push(json!(writer));
                match store
                    .update(
                        NewItem::new(key.clone(), json!({"writers": writers})),
                        current.version,
                    )
                    .await
                {
                    Ok(_) => return,
                    Err(StoreError::VersionConflict { .. }) => continue,
                    Err(other) => panic!("unexpected error {other:?}"),
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let stored = h.store.get(&tally).await.unwrap().unwrap();
    assert_eq!(stored.version, 13);
    let writers: BTreeSet<i64> = stored.data["writers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_i64().unwrap())
        .collect();
    assert_eq!(writers, (0..12).collect(), "no update was lost");
}

pub async fn transaction_with_a_failing_condition_changes_nothing(h: Harness) {
    let existing = h.key("tenant", "existing");
    h.store
        .create(NewItem::new(existing.clone(), json!({"n": 1})))
        .await
        .unwrap();
    let counter = h.key("tenant", "case-counter");
    h.store.increment(&counter, 1, None, None).await.unwrap();
    let ops = vec![
        WriteOp::Create(NewItem::new(h.key("tenant", "new-a"), json!("a"))),
        WriteOp::Increment {
            key: counter.clone(),
            by: 1,
            cap: None,
        },
        WriteOp::Update {
            item: NewItem::new(existing.clone(), json!({"n": 2})),
            expected_version: 5,
        },
        WriteOp::Create(NewItem::new(h.key("tenant", "new-b"), json!("b"))),
    ];
    assert_eq!(
        h.store.transact(ops).await,
        Err(StoreError::TransactionConflict { index: 2 })
    );
    assert_eq!(h.store.get(&h.key("tenant", "new-a")).await.unwrap(), None);
    assert_eq!(h.store.get(&h.key("tenant", "new-b")).await.unwrap(), None);
    assert_eq!(h.store.get(&counter).await.unwrap().unwrap().data, json!(1));
    let unchanged = h.store.get(&existing).await.unwrap().unwrap();
    assert_eq!((unchanged.version, unchanged.data), (1, json!({"n": 1})));

    let capped = vec![
        WriteOp::Create(NewItem::new(h.key("tenant", "new-c"), json!("c"))),
        WriteOp::Increment {
            key: counter.clone(),
            by: 5,
            cap: Some(3),
        },
    ];
    assert_eq!(
        h.store.transact(capped).await,
        Err(StoreError::TransactionConflict { index: 1 })
    );
    assert_eq!(h.store.get(&h.key("tenant", "new-c")).await.unwrap(), None);
}

pub async fn transaction_applies_every_write(h: Harness) {
    let keep = h.key("tenant", "keep");
    let drop = h.key("tenant", "drop");
    let guard = h.key("tenant", "guard");
    for key in [&keep, &drop, &guard] {
        h.store
            .create(NewItem::new(key.clone(), json!("old")))
            .await
            .unwrap();
    }
    let counter = h.key("tenant", "cases");
    let ops = vec![
        WriteOp::Update {
            item: NewItem::new(keep.clone(), json!("new")),
            expected_version: 1,
        },
        WriteOp::Delete {
            key: drop.clone(),
            expected_version: Some(1),
        },
        WriteOp::Check {
            key: guard.clone(),
            expected_version: 1,
        },
        WriteOp::Increment {
            key: counter.clone(),
            by: 1,
            cap: None,
        },
        WriteOp::Create(NewItem::new(h.key("tenant", "case#1"), json!({"case": 1}))),
    ];
    h.store.transact(ops).await.unwrap();
    let kept = h.store.get(&keep).await.unwrap().unwrap();
    assert_eq!((kept.version, kept.data), (2, json!("new")));
    assert_eq!(h.store.get(&drop).await.unwrap(), None);
    assert_eq!(
        h.store.get(&guard).await.unwrap().unwrap().version,
        1,
        "a check writes nothing"
    );
    assert_eq!(h.store.get(&counter).await.unwrap().unwrap().data, json!(1));
    assert_eq!(
        h.store
            .get(&h.key("tenant", "case#1"))
            .await
            .unwrap()
            .unwrap()
            .data,
        json!({"case": 1})
    );
}

pub async fn malformed_transactions_are_refused(h: Harness) {
    let key = h.key("tenant", "twice");
    let twice = vec![
        WriteOp::Create(NewItem::new(key.clone(), json!(1))),
        WriteOp::Delete {
            key: key.clone(),
            expected_version: None,
        },
    ];
    assert!(matches!(
        h.store.transact(twice).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        h.store.transact(Vec::new()).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(h.store.get(&key).await.unwrap(), None);
}

async fn collect_pages(
    h: &Harness,
    pk: &str,
    prefix: &str,
    limit: u32,
    descending: bool,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..100 {
        let page = h
            .store
            .query(
                pk,
                prefix,
                PageRequest {
                    limit,
                    cursor: cursor.take(),
                    descending,
                },
            )
            .await
            .unwrap();
        assert!(
            page.items.len() <= limit as usize,
            "a page never exceeds its limit"
        );
        seen.extend(page.items.into_iter().map(|i| i.key.sk));
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
    panic!("pagination did not end");
}

pub async fn query_pages_through_a_prefix_in_order(h: Harness) {
    let pk = h.pk("guild-1");
    for n in (1..=23).rev() {
        h.store
            .create(NewItem::new(
                ItemKey::new(&pk, format!("case#{n:04}")),
                json!({"n": n}),
            ))
            .await
            .unwrap();
    }
    h.store
        .create(NewItem::new(ItemKey::new(&pk, "config"), json!({})))
        .await
        .unwrap();
    h.store
        .create(NewItem::new(ItemKey::new(&pk, "cases"), json!({})))
        .await
        .unwrap();
    h.store
        .create(NewItem::new(h.key("guild-2", "case#0001"), json!({})))
        .await
        .unwrap();

    let seen = collect_pages(&h, &pk, "case#", 10, false).await;
    let expected: Vec<String> = (1..=23).map(|n| format!("case#{n:04}")).collect();
    assert_eq!(
        seen, expected,
        "every item once, in sort-key order, only this prefix and partition"
    );
    let everything = collect_pages(&h, &pk, "", 7, false).await;
    assert_eq!(everything.len(), 25);
    let first = h
        .store
        .query(&pk, "case#", PageRequest::first(5))
        .await
        .unwrap();
    assert!(
        first.cursor.is_some(),
        "more remain after a full first page"
    );
}

pub async fn query_descending_and_expired_items_skipped(h: Harness) {
    let pk = h.pk("guild-1");
    let now = h.now();
    for n in 1..=9 {
        let mut item = NewItem::new(ItemKey::new(&pk, format!("audit#{n:02}")), json!({"n": n}));
        if n % 3 == 0 {
            item = item.expiring_at(now + 5);
        }
        h.store.create(item).await.unwrap();
    }
    let all = collect_pages(&h, &pk, "audit#", 4, true).await;
    let expected: Vec<String> = (1..=9).rev().map(|n| format!("audit#{n:02}")).collect();
    assert_eq!(all, expected, "descending order");
    h.clock.advance_ms(5_000);
    let live = collect_pages(&h, &pk, "audit#", 2, true).await;
    let expected: Vec<String> = [8, 7, 5, 4, 2, 1]
        .iter()
        .map(|n| format!("audit#{n:02}"))
        .collect();
    assert_eq!(live, expected, "expired items are skipped across pages");
}

pub async fn due_index_lists_items_due_by_a_time(h: Harness) {
    let queue = h.queue("tempban-expiry");
    let other = h.queue("reminders");
    let t = h.now();
    for (sk, at) in [
        ("late", t + 100),
        ("now", t),
        ("early", t - 50),
        ("earlier", t - 60),
    ] {
        h.store
            .create(NewItem::new(h.key("guild-1", sk), json!({"sk": sk})).due(&queue, at))
            .await
            .unwrap();
    }
    h.store
        .create(NewItem::new(h.key("guild-2", "elsewhere"), json!({})).due(&queue, t - 10))
        .await
        .unwrap();
    h.store
        .create(NewItem::new(h.key("guild-1", "other-queue"), json!({})).due(&other, t - 10))
        .await
        .unwrap();
    h.store
        .create(
            NewItem::new(h.key("guild-1", "expired"), json!({}))
                .due(&queue, t - 30)
                .expiring_at(t),
        )
        .await
        .unwrap();
    h.store
        .create(NewItem::new(h.key("guild-1", "not-due"), json!({})))
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = h
            .store
            .due_by(
                &queue,
                t,
                PageRequest {
                    limit: 2,
                    cursor: cursor.take(),
                    descending: false,
                },
            )
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(
            page.items
                .into_iter()
                .map(|i| (i.key.sk, i.due.unwrap().at)),
        );
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        seen,
        vec![
            ("earlier".to_owned(), t - 60),
            ("early".to_owned(), t - 50),
            ("elsewhere".to_owned(), t - 10),
            ("now".to_owned(), t),
        ],
        "due at or before the time, earliest first, across partitions; expired excluded"
    );

    // Clearing the due time takes the item out of the index.
    let early = h
        .store
        .get(&h.key("guild-1", "early"))
        .await
        .unwrap()
        .unwrap();
    h.store
        .update(
            NewItem::new(early.key.clone(), json!({"done": true})),
            early.version,
        )
        .await
        .unwrap();
    let page = h
        .store
        .due_by(&queue, t, PageRequest::first(10))
        .await
        .unwrap();
    let sks: Vec<_> = page.items.iter().map(|i| i.key.sk.as_str()).collect();
    assert_eq!(sks, vec!["earlier", "elsewhere", "now"]);
    assert!(page.cursor.is_none());
}

pub async fn a_bad_cursor_is_an_error(h: Harness) {
    let bad = PageRequest {
        limit: 5,
        cursor: Some("not a cursor!".to_owned()),
        descending: false,
    };
    assert_eq!(
        h.store.query(&h.pk("p"), "", bad.clone()).await,
        Err(StoreError::InvalidCursor)
    );
    assert_eq!(
        h.store.due_by(&h.queue("q"), 0, bad).await,
        Err(StoreError::InvalidCursor)
    );
    assert!(matches!(
        h.store.query(&h.pk("p"), "", PageRequest::first(0)).await,
        Err(StoreError::Invalid(_))
    ));
}

pub async fn each_operation_is_one_round_trip(h: Harness) {
    let key = h.key("tenant", "counted");
    let (_, n) = round_trips::measure(h.store.create(NewItem::new(key.clone(), json!(1)))).await;
    assert_eq!(n, 1, "create");
    let (_, n) = round_trips::measure(h.store.get(&key)).await;
    assert_eq!(n, 1, "get");
    let (_, n) = round_trips::measure(h.store.update(NewItem::new(key.clone(), json!(2)), 1)).await;
    assert_eq!(n, 1, "update");
    let (_, n) =
        round_trips::measure(h.store.increment(&h.key("tenant", "c"), 1, Some(5), None)).await;
    assert_eq!(n, 1, "increment");
    let (_, n) = round_trips::measure(h.store.query(&key.pk, "", PageRequest::first(10))).await;
    assert_eq!(n, 1, "query");
    let (_, n) = round_trips::measure(h.store.transact(vec![
        WriteOp::Check {
            key: key.clone(),
            expected_version: 2,
        },
        WriteOp::Delete {
            key: h.key("tenant", "c"),
            expected_version: None,
        },
    ]))
    .await;
    assert_eq!(n, 1, "transact");
    let (_, n) = round_trips::measure(h.store.delete(&key, Some(2))).await;
    assert_eq!(n, 1, "delete");
    let bucket = h.key("tenant", "bucket");
    let (result, n) = round_trips::measure(h.store.advance(&bucket, 1_000, 2_000)).await;
    assert_eq!((result.is_ok(), n), (true, 1), "advance from absent");
    let (result, n) = round_trips::measure(h.store.advance(&bucket, 1_000, 2_000)).await;
    assert_eq!((result.is_ok(), n), (true, 1), "advance again");
    let (result, n) = round_trips::measure(h.store.advance(&bucket, 1_000, 2_000)).await;
    assert!(matches!(result, Err(StoreError::LimitReached { .. })));
    assert_eq!(n, 1, "a refused advance");
}

pub async fn advance_starts_from_now_and_accumulates_up_to_its_limit(h: Harness) {
    let key = h.key("tenant", "bucket");
    // Off a whole second, so the expiry's rounding up shows.
    h.clock.advance_ms(250);
    let t = h.now_ms();
    assert_eq!(h.store.advance(&key, 1_000, 3_000).await, Ok(t + 1_000));
    let first = h
        .store
        .get(&key)
        .await
        .unwrap()
        .expect("an advance creates");
    assert_eq!(
        first.data,
        json!(t + 1_000),
        "a cursor's data is its deadline"
    );
    assert_eq!(first.version, 1);
    assert_eq!(
        first.expires_at,
        Some((t + 3_000) / 1000 + 1),
        "expires once a full burst from now has drained, rounded up to a second"
    );
    assert_eq!(h.store.advance(&key, 1_000, 3_000).await, Ok(t + 2_000));
    assert_eq!(h.store.advance(&key, 1_000, 3_000).await, Ok(t + 3_000));
    for _ in 0..2 {
        assert_eq!(
            h.store.advance(&key, 1_000, 3_000).await,
            Err(StoreError::LimitReached { current: t + 3_000 }),
            "a fourth step would run 4 s ahead"
        );
    }
    let full = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!(
        (full.data, full.version),
        (json!(t + 3_000), 3),
        "a refusal changes nothing"
    );
    // A smaller step still fits where the full one did not.
    h.clock.advance_ms(500);
    assert_eq!(h.store.advance(&key, 500, 3_000).await, Ok(t + 3_500));
    assert_eq!(
        h.store.advance(&key, 500, 3_000).await,
        Err(StoreError::LimitReached { current: t + 3_500 })
    );
    let read = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!(read.version, 4);
    assert_eq!(read.expires_at, Some((t + 500 + 3_000) / 1000 + 1));
}

pub async fn an_idle_advance_starts_again_from_now(h: Harness) {
    let key = h.key("tenant", "idle-bucket");
    let t = h.now_ms();
    assert_eq!(h.store.advance(&key, 1_000, 10_000).await, Ok(t + 1_000));
    assert_eq!(h.store.advance(&key, 1_000, 10_000).await, Ok(t + 2_000));
    // Still ahead of now: the step adds to the deadline.
    h.clock.advance_ms(1_500);
    assert_eq!(h.store.advance(&key, 1_000, 10_000).await, Ok(t + 3_000));
    // Passed: the deadline restarts from now, without credit for the idle time.
    h.clock.advance_ms(4_000);
    let now = h.now_ms();
    assert_eq!(h.store.advance(&key, 1_000, 10_000).await, Ok(now + 1_000));
    let read = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!(
        (read.data, read.version),
        (json!(now + 1_000), 4),
        "a live cursor counts its versions on, idle or not"
    );
    // Exactly at the deadline counts as idle too.
    h.clock.advance_ms(1_000);
    assert_eq!(h.store.advance(&key, 1_000, 10_000).await, Ok(now + 2_000));
}

pub async fn an_advanced_item_expires_once_drained(h: Harness) {
    let key = h.key("tenant", "draining");
    h.clock.advance_ms(400);
    let t = h.now_ms();
    assert_eq!(h.store.advance(&key, 2_000, 6_000).await, Ok(t + 2_000));
    assert_eq!(h.store.advance(&key, 2_000, 6_000).await, Ok(t + 4_000));
    let expires_at = h.store.get(&key).await.unwrap().unwrap().expires_at;
    assert_eq!(expires_at, Some((t + 6_000) / 1000 + 1));
    let expires_ms = (t + 6_000) / 1000 * 1000 + 1000;
    h.clock.set_ms(expires_ms - 1);
    assert!(
        h.store.get(&key).await.unwrap().is_some(),
        "alive a millisecond before"
    );
    h.clock.set_ms(expires_ms);
    assert_eq!(h.store.get(&key).await.unwrap(), None, "gone at expires_at");
    let now = h.now_ms();
    assert_eq!(h.store.advance(&key, 2_000, 6_000).await, Ok(now + 2_000));
    let fresh = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!(
        (fresh.data, fresh.version),
        (json!(now + 2_000), 1),
        "an expired cursor in the way is replaced, as create does"
    );
}

pub async fn advance_refuses_nonsense(h: Harness) {
    let key = h.key("tenant", "not-a-bucket");
    for (step, max_ahead) in [(0, 1_000), (-5, 1_000), (1_000, 999)] {
        assert!(
            matches!(
                h.store.advance(&key, step, max_ahead).await,
                Err(StoreError::Invalid(_))
            ),
            "step {step}, max_ahead {max_ahead}"
        );
        let ops = vec![WriteOp::Advance {
            key: key.clone(),
            step_ms: step,
            max_ahead_ms: max_ahead,
        }];
        assert!(matches!(
            h.store.transact(ops).await,
            Err(StoreError::Invalid(_))
        ));
    }
    assert_eq!(h.store.get(&key).await.unwrap(), None);
    h.store
        .create(NewItem::new(key.clone(), json!({"a": 1})))
        .await
        .unwrap();
    assert!(matches!(
        h.store.advance(&key, 1_000, 5_000).await,
        Err(StoreError::Invalid(_))
    ));
    let ops = vec![WriteOp::Advance {
        key: key.clone(),
        step_ms: 1_000,
        max_ahead_ms: 5_000,
    }];
    assert_eq!(
        h.store.transact(ops).await,
        Err(StoreError::TransactionConflict { index: 0 })
    );
    let unchanged = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!((unchanged.version, unchanged.data), (1, json!({"a": 1})));
}

pub async fn racing_advances_give_exactly_the_capacity(h: Harness) {
    // Capacity 10 with the clock frozen: 200 racers, 10 winners, each deadline handed out once.
    let key = h.key("tenant", "raced-bucket");
    let t = h.now_ms();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (store, key) = (Arc::clone(&h.store), key.clone());
        tasks.push(tokio::spawn(async move {
            store.advance(&key, 1_000, 10_000).await
        }));
    }
    let mut allowed = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(deadline) => allowed.push(deadline),
            Err(StoreError::LimitReached { current }) if current == t + 10_000 => refused += 1,
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    allowed.sort_unstable();
    assert_eq!(
        allowed,
        (1..=10).map(|n| t + n * 1_000).collect::<Vec<_>>(),
        "each deadline handed out once"
    );
    assert_eq!(refused, 190);
    let read = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!((read.data, read.version), (json!(t + 10_000), 10));
}

pub async fn advances_on_different_keys_are_independent(h: Harness) {
    let keys = [h.key("tenant", "bucket-a"), h.key("tenant", "bucket-b")];
    let t = h.now_ms();
    let mut tasks = Vec::new();
    for n in 0..30 {
        let (store, key) = (Arc::clone(&h.store), keys[n % 2].clone());
        tasks.push(tokio::spawn(async move {
            (n % 2, store.advance(&key, 1_000, 10_000).await)
        }));
    }
    let mut allowed = [Vec::new(), Vec::new()];
    let mut refused = [0, 0];
    for task in tasks {
        match task.await.unwrap() {
            (which, Ok(deadline)) => allowed[which].push(deadline),
            (which, Err(StoreError::LimitReached { .. })) => refused[which] += 1,
            (_, Err(other)) => panic!("unexpected error {other:?}"),
        }
    }
    for which in 0..2 {
        allowed[which].sort_unstable();
        assert_eq!(
            allowed[which],
            (1..=10).map(|n| t + n * 1_000).collect::<Vec<_>>(),
            "key {which} gets its own 10"
        );
        assert_eq!(refused[which], 5);
    }
}

pub async fn a_transaction_with_an_advance_is_all_or_nothing(h: Harness) {
    let bucket = h.key("tenant", "tx-bucket");
    let advance = |key: &ItemKey| WriteOp::Advance {
        key: key.clone(),
        step_ms: 1_000,
        max_ahead_ms: 2_000,
    };
    let create = |sk: &str| WriteOp::Create(NewItem::new(h.key("tenant", sk), json!(sk)));
    let t = h.now_ms();
    h.store
        .transact(vec![create("case#1"), advance(&bucket)])
        .await
        .unwrap();
    h.store
        .transact(vec![create("case#2"), advance(&bucket)])
        .await
        .unwrap();
    for sk in ["case#1", "case#2"] {
        assert!(h.store.get(&h.key("tenant", sk)).await.unwrap().is_some());
    }
    let full = h.store.get(&bucket).await.unwrap().unwrap();
    assert_eq!((full.data, full.version), (json!(t + 2_000), 2));

    // The bucket is full: the whole transaction is refused, naming the advance.
    assert_eq!(
        h.store
            .transact(vec![create("case#3"), advance(&bucket)])
            .await,
        Err(StoreError::TransactionConflict { index: 1 })
    );
    assert_eq!(
        h.store.get(&h.key("tenant", "case#3")).await.unwrap(),
        None,
        "the create was not written"
    );
    assert_eq!(
        h.store
            .transact(vec![advance(&bucket), create("case#3")])
            .await,
        Err(StoreError::TransactionConflict { index: 0 })
    );

    // Room again, but the create conflicts: the bucket keeps its deadline and version.
    h.clock.advance_ms(1_500);
    assert_eq!(
        h.store
            .transact(vec![create("case#1"), advance(&bucket)])
            .await,
        Err(StoreError::TransactionConflict { index: 0 })
    );
    let unchanged = h.store.get(&bucket).await.unwrap().unwrap();
    assert_eq!((unchanged.data, unchanged.version), (json!(t + 2_000), 2));
    let fresh = h.key("tenant", "tx-untouched");
    assert_eq!(
        h.store
            .transact(vec![create("case#2"), advance(&fresh)])
            .await,
        Err(StoreError::TransactionConflict { index: 0 })
    );
    assert_eq!(
        h.store.get(&fresh).await.unwrap(),
        None,
        "no cursor was created"
    );
    // And with room and no conflict it steps on from the deadline.
    h.store
        .transact(vec![create("case#3"), advance(&bucket)])
        .await
        .unwrap();
    let read = h.store.get(&bucket).await.unwrap().unwrap();
    assert_eq!((read.data, read.version), (json!(t + 3_000), 3));
}

/// The store's advance and [`gcra::decide`] agree request by request: allowed with the same
/// deadline, or refused where the refusal's deadline gives decide's wait.
pub async fn advance_agrees_with_gcra(h: Harness) {
    // 5 requests per 10 s, 3 at once: T = 3334 ms, a horizon of 10002 ms.
    let policy = BucketPolicy::new(5, std::time::Duration::from_secs(10))
        .and_then(|p| p.with_burst(3))
        .unwrap();
    let key = h.key("tenant", "gcra");
    let mut current = None;
    let (mut allowed, mut denied) = (0, 0);
    // A fixed pseudo-random walk: bursts, pauses, and waits past expiry.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..40 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let gap = match seed >> 61 {
            0..=3 => 0,
            4 | 5 => (seed >> 20) as i64 % 4_000,
            6 => (seed >> 20) as i64 % 12_000,
            _ => 15_000,
        };
        h.clock.advance_ms(gap);
        let now = h.now_ms();
        let stored = h
            .store
            .advance(&key, policy.step_ms(), policy.max_ahead_ms())
            .await;
        match (gcra::decide(current, now, &policy), stored) {
            (Decision::Allowed { deadline_ms }, Ok(deadline)) => {
                assert_eq!(deadline, deadline_ms, "at {now}");
                current = Some(deadline);
                allowed += 1;
            }
            (Decision::Denied { retry_after_ms }, Err(StoreError::LimitReached { current: d })) => {
                assert_eq!(Some(d), current, "at {now}");
                assert_eq!(gcra::retry_after_ms(d, now, &policy), retry_after_ms);
                denied += 1;
            }
            (decided, stored) => panic!("at {now}: decide says {decided:?}, the store {stored:?}"),
        }
    }
    assert!(
        allowed >= 10 && denied >= 5,
        "the walk exercises both: {allowed} allowed, {denied} denied"
    );
}

/// Walks every page of a scan and keeps this harness's items (other cases may share the table).
async fn scan_own(h: &Harness, limit: u32) -> Vec<super::Item> {
    let mut own = Vec::new();
    let mut cursor = None;
    for _ in 0..100_000 {
        let page = h
            .store
            .scan(PageRequest {
                limit,
                cursor: cursor.take(),
                descending: false,
            })
            .await
            .unwrap();
        assert!(
            page.items.len() <= limit as usize,
            "a page never exceeds its limit"
        );
        own.extend(
            page.items
                .into_iter()
                .filter(|i| i.key.pk.starts_with(&format!("{}#", h.namespace))),
        );
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return own,
        }
    }
    panic!("the scan did not end");
}

pub async fn scan_shows_expired_items_and_delete_expired_spares_live_ones(h: Harness) {
    let t0 = h.now();
    let expired = h.key("scan", "expired");
    let live = h.key("scan", "live");
    let forever = h.key("scan", "forever");
    let due = h.key("scan", "due");
    let queue = h.queue("scan-q");
    for (key, expires) in [
        (&expired, Some(t0 + 10)),
        (&live, Some(t0 + 100)),
        (&forever, None),
    ] {
        let mut item = NewItem::new(key.clone(), json!({"k": key.sk}));
        item.expires_at = expires;
        h.store.create(item).await.unwrap();
    }
    h.store
        .create(
            NewItem::new(due.clone(), json!({}))
                .expiring_at(t0 + 10)
                .due(&queue, t0),
        )
        .await
        .unwrap();
    h.clock.advance_ms(10_000);

    // Reads hide the expired items; the scan shows them, with their expiry, and the live ones.
    assert_eq!(h.store.get(&expired).await.unwrap(), None);
    let mut seen = scan_own(&h, 3).await;
    seen.sort_by(|a, b| a.key.cmp(&b.key));
    let summary: Vec<(&str, Option<i64>)> = seen
        .iter()
        .map(|i| (i.key.sk.as_str(), i.expires_at))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("due", Some(t0 + 10)),
            ("expired", Some(t0 + 10)),
            ("forever", None),
            ("live", Some(t0 + 100)),
        ]
    );
    assert_eq!(seen[1].data, json!({"k": "expired"}));
    assert!(matches!(
        h.store
            .scan(PageRequest {
                limit: 10,
                cursor: None,
                descending: true
            })
            .await,
        Err(StoreError::Invalid(_))
    ));

    // Only expired items are deleted, once; live, eternal and absent ones are left alone.
    assert_eq!(h.store.delete_expired(&expired).await, Ok(true));
    assert_eq!(
        h.store.delete_expired(&expired).await,
        Ok(false),
        "already gone"
    );
    assert_eq!(h.store.delete_expired(&live).await, Ok(false));
    assert_eq!(h.store.delete_expired(&forever).await, Ok(false));
    assert_eq!(h.store.delete_expired(&due).await, Ok(true));
    assert!(h.store.get(&live).await.unwrap().is_some());
    assert!(h.store.get(&forever).await.unwrap().is_some());
    let left: Vec<String> = scan_own(&h, 100)
        .await
        .into_iter()
        .map(|i| i.key.sk)
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        h.store
            .due_by(&queue, t0 + 1000, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // An item created over an expired one after the scan saw it is live: never deleted.
    let again = h.key("scan", "again");
    h.store
        .create(NewItem::new(again.clone(), json!({"n": 1})).expiring_at(h.now() + 1))
        .await
        .unwrap();
    h.clock.advance_ms(1_000);
    assert!(scan_own(&h, 100).await.iter().any(|i| i.key == again));
    h.store
        .create(NewItem::new(again.clone(), json!({"n": 2})).expiring_at(h.now() + 50))
        .await
        .unwrap();
    assert_eq!(h.store.delete_expired(&again).await, Ok(false));
    assert_eq!(
        h.store.get(&again).await.unwrap().unwrap().data,
        json!({"n": 2})
    );
}

/// Generates one `#[tokio::test]` per conformance case. `$harness` is an async block or
/// expression (evaluated per test) that yields a fresh [`Harness`].
#[macro_export]
macro_rules! store_conformance_tests {
    ($harness:expr) => {
        $crate::store_conformance_tests!(@cases $harness;
            create_is_conditional_on_absence,
            versioned_update_fails_cleanly_when_the_version_moved,
            expired_items_are_invisible_at_once,
            delete_with_and_without_version,
            counter_stops_at_its_cap,
            counter_restarts_after_expiry,
            increment_refuses_a_non_counter_item,
            racing_counter_increments_give_exactly_the_cap,
            racing_versioned_updates_have_one_winner_per_version,
            transaction_with_a_failing_condition_changes_nothing,
            transaction_applies_every_write,
            malformed_transactions_are_refused,
            query_pages_through_a_prefix_in_order,
            query_descending_and_expired_items_skipped,
            due_index_lists_items_due_by_a_time,
            a_bad_cursor_is_an_error,
            each_operation_is_one_round_trip,
            advance_starts_from_now_and_accumulates_up_to_its_limit,
            an_idle_advance_starts_again_from_now,
            an_advanced_item_expires_once_drained,
            advance_refuses_nonsense,
            racing_advances_give_exactly_the_capacity,
            advances_on_different_keys_are_independent,
            a_transaction_with_an_advance_is_all_or_nothing,
            advance_agrees_with_gcra,
            scan_shows_expired_items_and_delete_expired_spares_live_ones,
        );
    };
    (@cases $harness:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let harness = $harness.await;
                $crate::store::conformance::$case(harness).await;
            }
        )+
    };
}
