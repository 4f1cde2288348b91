//! The embedded store's cost per operation, as ratios against bare redb doing the same
//! storage work in the same run (a one-key write transaction; a one-key read), so the figures
//! say what the adapter adds (conditions, JSON, the due index, spawn_blocking) on top of the
//! database, whatever the machine's speed.
//!
//! Run: `cargo bench -p gavel-tests --bench embedded_store` (see BENCHMARKS.md).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use gavel_shared::adapters::embedded::EmbeddedStore;
use gavel_shared::clock::ManualClock;
use gavel_shared::store::{ItemKey, NewItem, PageRequest, Store, WriteOp};
use redb::{Database, ReadableDatabase, TableDefinition};
use serde_json::json;

const BARE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("bare");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

fn document() -> serde_json::Value {
    json!({"target": "100000000000000010", "moderator": "100000000000000011",
           "reason": "spamming links in #general", "points": 1, "status": "active"})
}

fn bench_store(c: &mut Criterion, label: &str, store: Arc<dyn Store>, bare: &Database) {
    let rt = runtime();
    let next = AtomicU64::new(0);
    let fresh = || next.fetch_add(1, Ordering::Relaxed);
    let doc = serde_json::to_vec(&document()).unwrap();

    // Seed: one item to read and update, a partition of 50 to page through, a counter.
    let fixed = ItemKey::new("guild#1", "config");
    rt.block_on(store.create(NewItem::new(fixed.clone(), document())))
        .unwrap();
    for n in 0..50 {
        let key = ItemKey::new("guild#1#user#10", format!("case#{n:04}"));
        rt.block_on(store.create(NewItem::new(key, document())))
            .unwrap();
    }
    {
        let txn = bare.begin_write().unwrap();
        txn.open_table(BARE)
            .unwrap()
            .insert(b"fixed".as_slice(), doc.as_slice())
            .unwrap();
        txn.commit().unwrap();
    }

    let mut group = c.benchmark_group(format!("embedded_store_{label}"));
    group.bench_function("baseline_redb_write", |b| {
        b.iter(|| {
            let key = format!("k{}", fresh());
            let txn = bare.begin_write().unwrap();
            txn.open_table(BARE)
                .unwrap()
                .insert(key.as_bytes(), doc.as_slice())
                .unwrap();
            txn.commit().unwrap();
        })
    });
    group.bench_function("baseline_redb_read", |b| {
        b.iter(|| {
            let txn = bare.begin_read().unwrap();
            let table = txn.open_table(BARE).unwrap();
            let value = table.get(b"fixed".as_slice()).unwrap().unwrap();
            std::hint::black_box(value.value().len());
        })
    });
    group.bench_function("get", |b| {
        b.iter(|| rt.block_on(store.get(&fixed)).unwrap().unwrap())
    });
    group.bench_function("create", |b| {
        b.iter(|| {
            let key = ItemKey::new(format!("claim#{}", fresh()), "claim");
            rt.block_on(
                store.create(NewItem::new(key, json!({"claimed_at": 1})).expiring_at(i64::MAX)),
            )
            .unwrap()
        })
    });
    group.bench_function("update", |b| {
        let mut version = rt.block_on(store.get(&fixed)).unwrap().unwrap().version;
        b.iter(|| {
            version = rt
                .block_on(store.update(NewItem::new(fixed.clone(), document()), version))
                .unwrap()
                .version;
        })
    });
    group.bench_function("increment", |b| {
        let counter = ItemKey::new("guild#1", "cases");
        b.iter(|| {
            rt.block_on(store.increment(&counter, 1, None, None))
                .unwrap()
        })
    });
    group.bench_function("query_page_of_20", |b| {
        b.iter(|| {
            let page = rt
                .block_on(store.query("guild#1#user#10", "case#", PageRequest::first(20)))
                .unwrap();
            assert_eq!(page.items.len(), 20);
        })
    });
    group.bench_function("transact_3_writes", |b| {
        b.iter(|| {
            let n = fresh();
            let ops = vec![
                WriteOp::Increment {
                    key: ItemKey::new("guild#2", "cases"),
                    by: 1,
                    cap: None,
                },
                WriteOp::Create(NewItem::new(
                    ItemKey::new("guild#2", format!("case#{n}")),
                    document(),
                )),
                WriteOp::Create(NewItem::new(
                    ItemKey::new("guild#2", format!("audit#{n}")),
                    document(),
                )),
            ];
            rt.block_on(store.transact(ops)).unwrap()
        })
    });
    group.finish();
}

fn embedded_store(c: &mut Criterion) {
    let clock = Arc::new(ManualClock::at_secs(1_800_000_000));

    // In memory: the adapter's own cost without disk.
    let memory: Arc<dyn Store> = Arc::new(EmbeddedStore::in_memory(clock.clone()).unwrap());
    let bare_memory = Database::builder()
        .create_with_backend(redb::backends::InMemoryBackend::new())
        .unwrap();
    bench_store(c, "in_memory", memory, &bare_memory);

    // On disk, as `gavel serve` runs it: every write commit is durable (fsync).
    let dir = tempfile::tempdir().unwrap();
    let file: Arc<dyn Store> =
        Arc::new(EmbeddedStore::open(&dir.path().join("gavel.redb"), clock).unwrap());
    let bare_file = Database::create(dir.path().join("bare.redb")).unwrap();
    bench_store(c, "file", file, &bare_file);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = embedded_store
}
criterion_main!(benches);
