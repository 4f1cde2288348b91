//! Reading many items: prefix queries in pages, the due index, cursors, and the round trip
//! each operation costs.

use serde_json::json;

use super::Harness;
use crate::store::{Item, ItemKey, NewItem, PageRequest, StoreError, WriteOp, round_trips};

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

/// Every item of `queue` due by `by`, read `limit` at a time.
async fn collect_due(h: &Harness, queue: &str, by: i64, limit: u32, descending: bool) -> Vec<Item> {
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..100 {
        let page = h
            .store
            .due_by(
                queue,
                by,
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
        seen.extend(page.items);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
    panic!("pagination did not end");
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

    let seen: Vec<_> = collect_due(&h, &queue, t, 2, false)
        .await
        .into_iter()
        .map(|i| (i.key.sk, i.due.unwrap().at))
        .collect();
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

/// The due index read highest first up to `i64::MAX` is a ranking (the economy's leaderboard):
/// in value order across partitions, paged, moved by a versioned update and by a transaction's
/// write, with no scan.
pub async fn due_index_read_highest_first_ranks_by_value(h: Harness) {
    let ranking = h.queue("balances");
    for (who, value) in [("ann", 300), ("bob", 50), ("cy", 900), ("dee", 0)] {
        h.store
            .create(
                NewItem::new(h.key(&format!("wallet#{who}"), "account"), json!({}))
                    .due(&ranking, value),
            )
            .await
            .unwrap();
    }
    let read = || async {
        collect_due(&h, &ranking, i64::MAX, 3, true)
            .await
            .into_iter()
            .map(|i| {
                let who = i.key.pk.rsplit('#').next().unwrap_or_default().to_owned();
                (who, i.due.unwrap().at)
            })
            .collect::<Vec<_>>()
    };
    let names = |seen: Vec<(String, i64)>| seen.into_iter().map(|(w, _)| w).collect::<Vec<_>>();
    assert_eq!(names(read().await), vec!["cy", "ann", "bob", "dee"]);

    // A payment from cy to bob, as one transaction over both versions, reorders them.
    let cy = h
        .store
        .get(&h.key("wallet#cy", "account"))
        .await
        .unwrap()
        .unwrap();
    let bob = h
        .store
        .get(&h.key("wallet#bob", "account"))
        .await
        .unwrap()
        .unwrap();
    h.store
        .transact(vec![
            WriteOp::Update {
                item: NewItem::new(cy.key.clone(), json!({})).due(&ranking, 100),
                expected_version: cy.version,
            },
            WriteOp::Update {
                item: NewItem::new(bob.key.clone(), json!({})).due(&ranking, 850),
                expected_version: bob.version,
            },
        ])
        .await
        .unwrap();
    assert_eq!(
        read().await,
        vec![
            ("bob".to_owned(), 850),
            ("ann".to_owned(), 300),
            ("cy".to_owned(), 100),
            ("dee".to_owned(), 0),
        ]
    );
}
