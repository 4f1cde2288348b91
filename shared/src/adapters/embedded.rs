//! The embedded store: the [`Store`] port on redb, a pure-Rust embedded database, for
//! `gavel serve` and tests. One file in the data folder; survives restarts.
//!
//! Layout (two tables, byte-string keys so ordering is the same bytewise order DynamoDB uses
//! for string sort keys):
//! - `items`: `pk 0x00 sk` → JSON of [`Stored`];
//! - `due`: `queue 0x00 at(8 bytes, order-preserving) pk 0x00 sk` → empty, the due index.
//!
//! redb runs one write transaction at a time, so every conditional write (and every
//! multi-item transaction) is checked and applied atomically in a single transaction: the
//! same guarantees DynamoDB's condition expressions and TransactWriteItems give.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Clock;
use crate::store::{
    Due, Item, ItemKey, NewItem, Page, PageRequest, Store, StoreError, WriteOp, deadline,
    round_trips, validate,
};

const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
const DUE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("due");

/// What is stored per item; the key lives in the table key.
#[derive(Serialize, Deserialize)]
struct Stored {
    v: u64,
    d: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    due: Option<(String, i64)>,
}

/// The store clock's now, read once per operation: seconds for expiry, milliseconds for
/// deadline cursors, from the same instant.
#[derive(Clone, Copy)]
struct Now {
    secs: i64,
    ms: i64,
}

impl Stored {
    fn live(&self, now: i64) -> bool {
        self.ttl.is_none_or(|ttl| ttl > now)
    }

    fn into_item(self, key: ItemKey) -> Item {
        Item {
            key,
            data: self.d,
            version: self.v,
            expires_at: self.ttl,
            due: self.due.map(|(queue, at)| Due { queue, at }),
        }
    }
}

pub struct EmbeddedStore {
    db: Arc<Database>,
    clock: Arc<dyn Clock>,
}

/// redb's page cache by default: its own default is 1 GiB, which a long-running `gavel serve`
/// under sustained writes grows into; a community's data is a few megabytes.
pub const DEFAULT_CACHE_MB: usize = 8;

impl EmbeddedStore {
    /// Opens (or creates) the store file at `path`, with a page cache of
    /// `GAVEL_STORE_CACHE_MB` (default [`DEFAULT_CACHE_MB`]).
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let cache_mb = match super::env::var("GAVEL_STORE_CACHE_MB") {
            None => DEFAULT_CACHE_MB,
            Some(raw) => raw
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|mb| *mb > 0)
                .ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "GAVEL_STORE_CACHE_MB must be a positive number of megabytes, got {raw:?}"
                    ))
                })?,
        };
        Self::open_with_cache(path, clock, cache_mb * 1024 * 1024)
    }

    /// [`open`](Self::open) with a page cache of `cache_bytes`.
    pub fn open_with_cache(
        path: &Path,
        clock: Arc<dyn Clock>,
        cache_bytes: usize,
    ) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(backend)?;
        }
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(backend)?;
        Self::with_database(db, clock)
    }

    /// A store that lives in memory only: the same code and semantics without a file, for
    /// unit tests and benchmarks (no fsync on the measured path).
    pub fn in_memory(clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(backend)?;
        Self::with_database(db, clock)
    }

    fn with_database(db: Database, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        // Create both tables up front so read transactions never meet a missing table.
        let txn = db.begin_write().map_err(backend)?;
        txn.open_table(ITEMS).map_err(backend)?;
        txn.open_table(DUE).map_err(backend)?;
        txn.commit().map_err(backend)?;
        Ok(Self {
            db: Arc::new(db),
            clock,
        })
    }

    /// Runs blocking database work off the async runtime, counted as one round trip.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database, Now) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let _trip = round_trips::record();
        let db = Arc::clone(&self.db);
        let ms = self.clock.now_ms();
        let now = Now {
            secs: ms.div_euclid(1000),
            ms,
        };
        tokio::task::spawn_blocking(move || work(&db, now))
            .await
            .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
    }

    /// Applies `ops` in one write transaction: all or nothing.
    async fn write(&self, ops: Vec<WriteOp>) -> Result<Vec<Applied>, (usize, OpFailure)> {
        let result = self
            .run(move |db, now| {
                in_write_transaction(db, |items, due| {
                    let mut applied = Vec::with_capacity(ops.len());
                    for (index, op) in ops.into_iter().enumerate() {
                        match apply(items, due, op, now)? {
                            Ok(done) => applied.push(done),
                            Err(why) => return Ok(Err((index, why))),
                        }
                    }
                    Ok(Ok(applied))
                })
            })
            .await;
        match result {
            Ok(inner) => inner,
            Err(error) => Err((0, OpFailure::Store(error))),
        }
    }

    async fn write_one(&self, op: WriteOp) -> Result<Applied, StoreError> {
        match self.write(vec![op]).await {
            Ok(mut applied) => Ok(applied.remove(0)),
            Err((_, failure)) => Err(failure.into_error()),
        }
    }
}

/// The outcome of one write.
enum Applied {
    Item(Item),
    Counter(i64),
    Deadline(i64),
    Nothing,
}

/// Why one write's condition failed (or the database failed under it).
enum OpFailure {
    AlreadyExists,
    VersionConflict(Option<u64>),
    CapReached(i64),
    /// An increment met an item whose data is not an integer.
    NotACounter,
    LimitReached(i64),
    /// An advance met an item whose data is not an integer.
    NotADeadline,
    Store(StoreError),
}

impl OpFailure {
    fn into_error(self) -> StoreError {
        match self {
            OpFailure::AlreadyExists => StoreError::AlreadyExists,
            OpFailure::VersionConflict(current) => StoreError::VersionConflict { current },
            OpFailure::CapReached(current) => StoreError::CapReached { current },
            OpFailure::NotACounter => StoreError::Invalid("the item is not a counter".to_owned()),
            OpFailure::LimitReached(current) => StoreError::LimitReached { current },
            OpFailure::NotADeadline => {
                StoreError::Invalid("the item is not a deadline cursor".to_owned())
            }
            OpFailure::Store(error) => error,
        }
    }
}

type Tbl<'t> = Table<'t, &'static [u8], &'static [u8]>;

/// Runs `body` over both tables in one write transaction: committed when it returns `Ok(Ok(_))`,
/// aborted when a condition failed (`Ok(Err(_))`) or the database did (`Err(_)`).
fn in_write_transaction<T, F>(
    db: &Database,
    body: impl FnOnce(&mut Tbl<'_>, &mut Tbl<'_>) -> Result<Result<T, F>, StoreError>,
) -> Result<Result<T, F>, StoreError> {
    let txn = db.begin_write().map_err(backend)?;
    let outcome = {
        let mut items = txn.open_table(ITEMS).map_err(backend)?;
        let mut due = txn.open_table(DUE).map_err(backend)?;
        body(&mut items, &mut due)?
    };
    match outcome {
        Ok(done) => {
            txn.commit().map_err(backend)?;
            Ok(Ok(done))
        }
        Err(failure) => {
            txn.abort().map_err(backend)?;
            Ok(Err(failure))
        }
    }
}

/// Checks one write's condition against the live state and applies it. The outer error is a
/// database failure; the inner one a failed condition.
fn apply(
    items: &mut Tbl<'_>,
    due: &mut Tbl<'_>,
    op: WriteOp,
    now: Now,
) -> Result<Result<Applied, OpFailure>, StoreError> {
    let key = op.key().clone();
    let raw_key = item_key(&key.pk, &key.sk)?;
    let existing = read_stored(items, &raw_key)?;
    let live = existing.as_ref().filter(|s| s.live(now.secs));
    let live_version = live.map(|s| s.v);
    let outcome = match op {
        WriteOp::Create(new) => {
            if live.is_some() {
                return Ok(Err(OpFailure::AlreadyExists));
            }
            Applied::Item(put(items, due, &raw_key, existing.as_ref(), new, 1)?)
        }
        WriteOp::Update {
            item,
            expected_version,
        } => {
            if live_version != Some(expected_version) {
                return Ok(Err(OpFailure::VersionConflict(live_version)));
            }
            Applied::Item(put(
                items,
                due,
                &raw_key,
                existing.as_ref(),
                item,
                expected_version + 1,
            )?)
        }
        WriteOp::Delete {
            expected_version, ..
        } => {
            if expected_version.is_some() && live_version != expected_version {
                return Ok(Err(OpFailure::VersionConflict(live_version)));
            }
            if let Some(old) = &existing {
                remove_due(due, old, &key)?;
                items.remove(raw_key.as_slice()).map_err(backend)?;
            }
            Applied::Nothing
        }
        WriteOp::Check {
            expected_version, ..
        } => {
            if live_version != Some(expected_version) {
                return Ok(Err(OpFailure::VersionConflict(live_version)));
            }
            Applied::Nothing
        }
        WriteOp::Increment { by, cap, .. } => {
            let current = match live {
                None => 0,
                Some(stored) => match stored.d.as_i64() {
                    Some(value) => value,
                    None => return Ok(Err(OpFailure::NotACounter)),
                },
            };
            let next = current
                .checked_add(by)
                .ok_or_else(|| StoreError::Invalid("counter would overflow".to_owned()))?;
            if cap.is_some_and(|cap| next > cap) {
                return Ok(Err(OpFailure::CapReached(current)));
            }
            // Keep the counter's expiry unless the caller sets one (done by `increment`).
            let expires_at = live.and_then(|s| s.ttl);
            let version = live_version.unwrap_or(0) + 1;
            let mut new = NewItem::new(key.clone(), Value::from(next));
            new.expires_at = expires_at;
            put(items, due, &raw_key, existing.as_ref(), new, version)?;
            Applied::Counter(next)
        }
        WriteOp::Advance {
            step_ms,
            max_ahead_ms,
            ..
        } => {
            let current = match live {
                None => None,
                Some(stored) => match stored.d.as_i64() {
                    Some(deadline) => Some(deadline),
                    None => return Ok(Err(OpFailure::NotADeadline)),
                },
            };
            let next = match deadline::advance(current, now.ms, step_ms, max_ahead_ms) {
                deadline::Outcome::Advanced(next) => next,
                deadline::Outcome::LimitReached(current) => {
                    return Ok(Err(OpFailure::LimitReached(current)));
                }
            };
            // Only `d`, `ttl` and `v` change, as DynamoDB's update of a live cursor does; a fresh
            // cursor replaces whatever expired item was in the way, due entry included.
            let mut new = NewItem::new(key.clone(), Value::from(next))
                .expiring_at(deadline::expires_at(now.ms, max_ahead_ms));
            new.due = live.and_then(|s| s.due.clone().map(|(queue, at)| Due { queue, at }));
            put(
                items,
                due,
                &raw_key,
                existing.as_ref(),
                new,
                live_version.unwrap_or(0) + 1,
            )?;
            Applied::Deadline(next)
        }
    };
    Ok(Ok(outcome))
}

/// Writes `new` at `version`, keeping the due index in step with the old and new due entries.
fn put(
    items: &mut Tbl<'_>,
    due: &mut Tbl<'_>,
    raw_key: &[u8],
    old: Option<&Stored>,
    new: NewItem,
    version: u64,
) -> Result<Item, StoreError> {
    if let Some(old) = old {
        remove_due(due, old, &new.key)?;
    }
    let stored = Stored {
        v: version,
        d: new.data,
        ttl: new.expires_at,
        due: new.due.map(|d| (d.queue, d.at)),
    };
    if let Some((queue, at)) = &stored.due {
        due.insert(due_key(queue, *at, &new.key)?.as_slice(), [].as_slice())
            .map_err(backend)?;
    }
    let bytes = serde_json::to_vec(&stored).map_err(backend)?;
    items.insert(raw_key, bytes.as_slice()).map_err(backend)?;
    Ok(stored.into_item(new.key))
}

fn remove_due(due: &mut Tbl<'_>, old: &Stored, key: &ItemKey) -> Result<(), StoreError> {
    if let Some((queue, at)) = &old.due {
        due.remove(due_key(queue, *at, key)?.as_slice())
            .map_err(backend)?;
    }
    Ok(())
}

fn read_stored(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    raw_key: &[u8],
) -> Result<Option<Stored>, StoreError> {
    match table.get(raw_key).map_err(backend)? {
        Some(guard) => serde_json::from_slice(guard.value())
            .map(Some)
            .map_err(backend),
        None => Ok(None),
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        let key = key.clone();
        self.run(move |db, now| {
            let txn = db.begin_read().map_err(backend)?;
            let items = txn.open_table(ITEMS).map_err(backend)?;
            let stored = read_stored(&items, &item_key(&key.pk, &key.sk)?)?;
            Ok(stored
                .filter(|s| s.live(now.secs))
                .map(|s| s.into_item(key)))
        })
        .await
    }

    async fn create(&self, item: NewItem) -> Result<Item, StoreError> {
        match self.write_one(WriteOp::Create(item)).await? {
            Applied::Item(item) => Ok(item),
            _ => unreachable!("create yields the item"),
        }
    }

    async fn update(&self, item: NewItem, expected_version: u64) -> Result<Item, StoreError> {
        match self
            .write_one(WriteOp::Update {
                item,
                expected_version,
            })
            .await?
        {
            Applied::Item(item) => Ok(item),
            _ => unreachable!("update yields the item"),
        }
    }

    async fn delete(&self, key: &ItemKey, expected_version: Option<u64>) -> Result<(), StoreError> {
        self.write_one(WriteOp::Delete {
            key: key.clone(),
            expected_version,
        })
        .await
        .map(|_| ())
    }

    async fn increment(
        &self,
        key: &ItemKey,
        by: i64,
        cap: Option<i64>,
        expires_at: Option<i64>,
    ) -> Result<i64, StoreError> {
        validate::increment(by, cap)?;
        // Increment and set the expiry in one transaction: check the cap, then rewrite the
        // counter with the new expiry.
        let key = key.clone();
        let result = self
            .run(move |db, now| {
                in_write_transaction(db, |items, due| {
                    let op = WriteOp::Increment {
                        key: key.clone(),
                        by,
                        cap,
                    };
                    let value = match apply(items, due, op, now)? {
                        Ok(Applied::Counter(value)) => value,
                        Ok(_) => unreachable!("increment yields a counter"),
                        Err(failure) => return Ok(Err(failure)),
                    };
                    if expires_at.is_some() {
                        let raw = item_key(&key.pk, &key.sk)?;
                        let mut stored = read_stored(&*items, &raw)?
                            .ok_or_else(|| StoreError::Backend("counter vanished".into()))?;
                        stored.ttl = expires_at;
                        let bytes = serde_json::to_vec(&stored).map_err(backend)?;
                        items
                            .insert(raw.as_slice(), bytes.as_slice())
                            .map_err(backend)?;
                    }
                    Ok(Ok(value))
                })
            })
            .await?;
        result.map_err(OpFailure::into_error)
    }

    async fn advance(
        &self,
        key: &ItemKey,
        step_ms: i64,
        max_ahead_ms: i64,
    ) -> Result<i64, StoreError> {
        validate::advance(step_ms, max_ahead_ms)?;
        match self
            .write_one(WriteOp::Advance {
                key: key.clone(),
                step_ms,
                max_ahead_ms,
            })
            .await?
        {
            Applied::Deadline(deadline) => Ok(deadline),
            _ => unreachable!("advance yields a deadline"),
        }
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate::transaction(&ops)?;
        match self.write(ops).await {
            Ok(_) => Ok(()),
            Err((_, OpFailure::Store(error))) => Err(error),
            Err((index, _)) => Err(StoreError::TransactionConflict { index }),
        }
    }

    async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
        page: PageRequest,
    ) -> Result<Page, StoreError> {
        validate::page(&page)?;
        let after = decode_cursor(page.cursor.as_deref())?;
        let lower = item_key(pk, sk_prefix)?;
        let upper = prefix_end(&lower);
        let pk_len = pk.len() + 1;
        let pk = pk.to_owned();
        self.run(move |db, now| {
            let txn = db.begin_read().map_err(backend)?;
            let items = txn.open_table(ITEMS).map_err(backend)?;
            let range = bounded_range(
                &items,
                &lower,
                upper.as_deref(),
                after.as_deref(),
                page.descending,
            )?;
            collect_page(range, page.limit as usize, |raw_key, value| {
                let stored: Stored = serde_json::from_slice(value).map_err(backend)?;
                if !stored.live(now.secs) {
                    return Ok(None);
                }
                let sk = std::str::from_utf8(&raw_key[pk_len..]).map_err(backend)?;
                Ok(Some(stored.into_item(ItemKey::new(pk.clone(), sk))))
            })
        })
        .await
    }

    async fn due_by(&self, queue: &str, by: i64, page: PageRequest) -> Result<Page, StoreError> {
        validate::page(&page)?;
        let after = decode_cursor(page.cursor.as_deref())?;
        let mut lower = queue_prefix(queue)?;
        let upper = {
            // Everything due at or before `by`: up to the first key of `by + 1`.
            let mut end = lower.clone();
            end.extend_from_slice(&order_i64(by.saturating_add(1)));
            end
        };
        lower.extend_from_slice(&order_i64(i64::MIN));
        self.run(move |db, now| {
            let txn = db.begin_read().map_err(backend)?;
            let due = txn.open_table(DUE).map_err(backend)?;
            let items = txn.open_table(ITEMS).map_err(backend)?;
            let range = bounded_range(
                &due,
                &lower,
                Some(&upper),
                after.as_deref(),
                page.descending,
            )?;
            collect_page(range, page.limit as usize, |raw_due_key, _| {
                let item_raw = &raw_due_key[lower.len()..];
                let Some(stored) = read_stored(&items, item_raw)? else {
                    return Ok(None);
                };
                if !stored.live(now.secs) {
                    return Ok(None);
                }
                Ok(Some(stored.into_item(split_item_key(item_raw)?)))
            })
        })
        .await
    }

    async fn scan(&self, page: PageRequest) -> Result<Page, StoreError> {
        validate::scan(&page)?;
        let after = decode_cursor(page.cursor.as_deref())?;
        self.run(move |db, _now| {
            let txn = db.begin_read().map_err(backend)?;
            let items = txn.open_table(ITEMS).map_err(backend)?;
            // Every item, expired or not: the caller is looking for what expiry has passed.
            let range = bounded_range(&items, &[], None, after.as_deref(), false)?;
            collect_page(range, page.limit as usize, |raw_key, value| {
                let stored: Stored = serde_json::from_slice(value).map_err(backend)?;
                Ok(Some(stored.into_item(split_item_key(raw_key)?)))
            })
        })
        .await
    }

    async fn delete_expired(&self, key: &ItemKey) -> Result<bool, StoreError> {
        let raw_key = item_key(&key.pk, &key.sk)?;
        let key = key.clone();
        let result = self
            .run(move |db, now| {
                in_write_transaction(db, |items, due| {
                    let Some(stored) = read_stored(&*items, &raw_key)? else {
                        return Ok(Err(()));
                    };
                    if stored.live(now.secs) {
                        return Ok(Err(()));
                    }
                    remove_due(due, &stored, &key)?;
                    items.remove(raw_key.as_slice()).map_err(backend)?;
                    Ok(Ok(()))
                })
            })
            .await?;
        Ok(result.is_ok())
    }
}

type RawRange<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + 'a>;

/// Keys in `[lower, upper)`, resuming after the cursor key, in the requested direction.
fn bounded_range<'a>(
    table: &'a impl ReadableTable<&'static [u8], &'static [u8]>,
    lower: &[u8],
    upper: Option<&[u8]>,
    after: Option<&[u8]>,
    descending: bool,
) -> Result<RawRange<'a>, StoreError> {
    use std::ops::Bound::{Excluded, Included, Unbounded};
    let (start, end) = match (descending, after) {
        (false, Some(after)) => (Excluded(after), upper.map_or(Unbounded, Excluded)),
        (false, None) => (Included(lower), upper.map_or(Unbounded, Excluded)),
        (true, Some(after)) => (Included(lower), Excluded(after)),
        (true, None) => (Included(lower), upper.map_or(Unbounded, Excluded)),
    };
    let range = table
        .range::<&[u8]>((start, end))
        .map_err(backend)?
        .map(|entry| {
            entry
                .map(|(k, v)| (k.value().to_vec(), v.value().to_vec()))
                .map_err(backend)
        });
    Ok(if descending {
        Box::new(range.rev())
    } else {
        Box::new(range)
    })
}

/// Reads up to `limit` live items; the cursor is the last key read, so skipped expired items
/// are never read twice.
fn collect_page(
    range: RawRange<'_>,
    limit: usize,
    mut decode: impl FnMut(&[u8], &[u8]) -> Result<Option<Item>, StoreError>,
) -> Result<Page, StoreError> {
    let mut items = Vec::new();
    let mut last_key = None;
    let mut range = range.peekable();
    for entry in range.by_ref() {
        let (key, value) = entry?;
        if let Some(item) = decode(&key, &value)? {
            items.push(item);
        }
        last_key = Some(key);
        if items.len() == limit {
            break;
        }
    }
    let more = range.peek().is_some();
    Ok(Page {
        items,
        cursor: if more {
            last_key.map(|k| URL_SAFE_NO_PAD.encode(k))
        } else {
            None
        },
    })
}

fn decode_cursor(cursor: Option<&str>) -> Result<Option<Vec<u8>>, StoreError> {
    cursor
        .map(|c| {
            URL_SAFE_NO_PAD
                .decode(c)
                .map_err(|_| StoreError::InvalidCursor)
        })
        .transpose()
}

fn item_key(pk: &str, sk: &str) -> Result<Vec<u8>, StoreError> {
    if pk.is_empty() || pk.contains('\0') || sk.contains('\0') {
        return Err(StoreError::Invalid(
            "keys must be non-empty and free of NUL".to_owned(),
        ));
    }
    let mut key = Vec::with_capacity(pk.len() + 1 + sk.len());
    key.extend_from_slice(pk.as_bytes());
    key.push(0);
    key.extend_from_slice(sk.as_bytes());
    Ok(key)
}

fn split_item_key(raw: &[u8]) -> Result<ItemKey, StoreError> {
    let split = raw
        .iter()
        .position(|b| *b == 0)
        .ok_or_else(|| StoreError::Backend("corrupt index key".to_owned()))?;
    let text = |bytes: &[u8]| {
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(backend)
    };
    Ok(ItemKey::new(text(&raw[..split])?, text(&raw[split + 1..])?))
}

fn queue_prefix(queue: &str) -> Result<Vec<u8>, StoreError> {
    if queue.is_empty() || queue.contains('\0') {
        return Err(StoreError::Invalid(
            "queue names must be non-empty and free of NUL".to_owned(),
        ));
    }
    let mut key = queue.as_bytes().to_vec();
    key.push(0);
    Ok(key)
}

fn due_key(queue: &str, at: i64, key: &ItemKey) -> Result<Vec<u8>, StoreError> {
    let mut raw = queue_prefix(queue)?;
    raw.extend_from_slice(&order_i64(at));
    raw.extend_from_slice(&item_key(&key.pk, &key.sk)?);
    Ok(raw)
}

/// Big-endian with the sign bit flipped: byte order equals numeric order.
fn order_i64(value: i64) -> [u8; 8] {
    ((value as u64) ^ (1 << 63)).to_be_bytes()
}

/// The smallest key greater than every key starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_preserving_encodings() {
        let values = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        for pair in values.windows(2) {
            assert!(order_i64(pair[0]) < order_i64(pair[1]));
        }
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[b'a', 0xff]), Some(b"b".to_vec()));
        assert_eq!(prefix_end(&[0xff]), None);
    }
}
