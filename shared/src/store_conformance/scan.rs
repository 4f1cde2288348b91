//! Scans of the whole table and the deletion of what expired (the cleanup job's operations).

use serde_json::json;

use super::Harness;
use crate::store::{NewItem, PageRequest, StoreError};

/// Walks every page of a scan and keeps this harness's items (other cases may share the table).
async fn scan_own(h: &Harness, limit: u32) -> Vec<crate::store::Item> {
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
