//! Single items: conditional creates, versioned updates and deletes, expiry, counters, and
//! races between writers of one item.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;

use super::Harness;
use crate::store::{NewItem, PageRequest, StoreError, WriteOp};

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
