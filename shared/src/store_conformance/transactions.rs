//! Transactions: all of their writes or none.

use serde_json::json;

use super::Harness;
use crate::store::{NewItem, StoreError, WriteOp};

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
