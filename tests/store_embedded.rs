//! The store conformance suite against the embedded (redb) adapter, one fresh file per case,
//! plus what only the embedded store promises: data survives closing and reopening.

use std::sync::Arc;

use gavel_shared::adapters::embedded::EmbeddedStore;
use gavel_shared::clock::ManualClock;
use gavel_shared::store::{ItemKey, NewItem, Store};
use gavel_shared::store_conformance::Harness;
use serde_json::json;

async fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::at_secs(1_800_000_000);
    let store = EmbeddedStore::open(&dir.path().join("gavel.redb"), Arc::new(clock.clone()))
        .expect("open embedded store");
    // The folder must outlive the store; the test process is short-lived, so keep it.
    std::mem::forget(dir);
    Harness {
        store: Arc::new(store),
        clock,
        namespace: "conformance".to_owned(),
    }
}

gavel_shared::store_conformance_tests!(harness());

#[tokio::test]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gavel.redb");
    let clock = Arc::new(ManualClock::at_secs(1_800_000_000));
    let key = ItemKey::new("guild#1", "config");
    {
        let store = EmbeddedStore::open(&path, clock.clone()).unwrap();
        store
            .create(NewItem::new(key.clone(), json!({"decay": 0.1})))
            .await
            .unwrap();
        store
            .increment(&ItemKey::new("guild#1", "cases"), 1, None, None)
            .await
            .unwrap();
    }
    let reopened = EmbeddedStore::open(&path, clock).unwrap();
    let item = reopened
        .get(&key)
        .await
        .unwrap()
        .expect("item survives reopening");
    assert_eq!(item.data, json!({"decay": 0.1}));
    assert_eq!(
        reopened
            .increment(&ItemKey::new("guild#1", "cases"), 1, None, None)
            .await,
        Ok(2),
        "counters continue where they were"
    );
}
