//! The store port: the operations every stateful feature (idempotency claims, conversation
//! state, rate-limit buckets, infractions, configuration, audit log) is built from.
//!
//! The item model is deliberately small: a partition key and a sort key, a JSON document, a
//! version the store assigns, an optional expiry and an optional entry in the due index. Two
//! adapters implement it with the same semantics, proven by one conformance suite
//! ([`conformance`], behind the `conformance` feature): DynamoDB on AWS and an embedded database
//! for `gavel serve` and tests.
//!
//! Semantics every adapter honours:
//! - **Expiry is exact on read**: an item whose `expires_at` is at or before the store clock's
//!   now is absent for every operation (get, query, due index, conditions), even while it still
//!   sits on disk waiting for TTL deletion.
//! - **No read-modify-write without a condition**: creates are conditional on absence, updates
//!   and conditional deletes on the version, counters on their cap.
//! - **One operation, one round trip** in the common case; [`round_trips`] counts them.

#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
pub mod round_trips;

use async_trait::async_trait;
use serde_json::Value;

pub use error::StoreError;

/// Where an item lives. Partition keys start with the tenant so communities spread out.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemKey {
    pub pk: String,
    pub sk: String,
}

impl ItemKey {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// An entry in the due index: the item is returned by [`Store::due_by`] for `queue` once the
/// time reaches `at` (Unix seconds). Sweeps (expiry of temporary bans, reminders) use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub queue: String,
    pub at: i64,
}

/// What a writer supplies; the store assigns the version.
#[derive(Clone, Debug, PartialEq)]
pub struct NewItem {
    pub key: ItemKey,
    pub data: Value,
    /// Unix seconds after which the item is gone for every reader.
    pub expires_at: Option<i64>,
    pub due: Option<Due>,
}

impl NewItem {
    pub fn new(key: ItemKey, data: Value) -> Self {
        Self {
            key,
            data,
            expires_at: None,
            due: None,
        }
    }

    pub fn expiring_at(mut self, unix_secs: i64) -> Self {
        self.expires_at = Some(unix_secs);
        self
    }

    pub fn due(mut self, queue: impl Into<String>, at: i64) -> Self {
        self.due = Some(Due {
            queue: queue.into(),
            at,
        });
        self
    }
}

/// A live item as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub key: ItemKey,
    pub data: Value,
    /// 1 on creation, +1 on every successful write.
    pub version: u64,
    pub expires_at: Option<i64>,
    pub due: Option<Due>,
}

/// One write inside [`Store::transact`]. The transaction applies all or none.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteOp {
    /// Fails unless no live item has this key.
    Create(NewItem),
    /// Fails unless the live item has exactly this version.
    Update {
        item: NewItem,
        expected_version: u64,
    },
    /// Deletes; with a version, fails unless the live item has exactly that version.
    Delete {
        key: ItemKey,
        expected_version: Option<u64>,
    },
    /// Adds `by` to a counter item (see [`Store::increment`]), failing past `cap`.
    Increment {
        key: ItemKey,
        by: i64,
        cap: Option<i64>,
    },
    /// Writes nothing; fails unless the live item has exactly this version.
    Check { key: ItemKey, expected_version: u64 },
}

impl WriteOp {
    pub fn key(&self) -> &ItemKey {
        match self {
            WriteOp::Create(item) | WriteOp::Update { item, .. } => &item.key,
            WriteOp::Delete { key, .. }
            | WriteOp::Increment { key, .. }
            | WriteOp::Check { key, .. } => key,
        }
    }
}

/// The most items a transaction may hold (DynamoDB's limit, kept by every adapter).
pub const MAX_TRANSACTION_OPS: usize = 100;

/// Which page to read. Cursors are opaque and only valid for the same query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// At most this many items per page (1 to 1000).
    pub limit: u32,
    pub cursor: Option<String>,
    /// Sort-key order (or due time order) reversed: newest first for histories.
    pub descending: bool,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        Self {
            limit,
            cursor: None,
            descending: false,
        }
    }
}

/// A page of live items. A page may hold fewer than `limit` items while more remain (DynamoDB
/// applies the expiry filter after the limit); only a `None` cursor means the end.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    pub cursor: Option<String>,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// The live item at `key`, if any.
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError>;

    /// Creates the item at version 1 unless a live item has its key ([`StoreError::AlreadyExists`]).
    /// An expired item in the way is replaced.
    async fn create(&self, item: NewItem) -> Result<Item, StoreError>;

    /// Replaces the live item whose version is `expected_version`; the result has the next
    /// version. Otherwise [`StoreError::VersionConflict`] with the version found (none if absent).
    async fn update(&self, item: NewItem, expected_version: u64) -> Result<Item, StoreError>;

    /// Deletes the item. Without a version, deleting an absent item succeeds.
    async fn delete(&self, key: &ItemKey, expected_version: Option<u64>) -> Result<(), StoreError>;

    /// Adds `by` to the counter at `key` (a missing or expired counter counts from 0) and
    /// returns the new value, unless that would exceed `cap` ([`StoreError::CapReached`]; nothing
    /// changes). `expires_at` is set on every successful increment. A counter's `data` is its
    /// value as a JSON integer.
    async fn increment(
        &self,
        key: &ItemKey,
        by: i64,
        cap: Option<i64>,
        expires_at: Option<i64>,
    ) -> Result<i64, StoreError>;

    /// Applies every write or none ([`StoreError::TransactionConflict`] names the first failing
    /// write). At most [`MAX_TRANSACTION_OPS`] writes, each on a different key.
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError>;

    /// Live items in partition `pk` whose sort key starts with `sk_prefix`, in sort-key order.
    async fn query(&self, pk: &str, sk_prefix: &str, page: PageRequest)
    -> Result<Page, StoreError>;

    /// Live items in the due index for `queue` whose due time is at or before `by`, earliest
    /// first.
    async fn due_by(&self, queue: &str, by: i64, page: PageRequest) -> Result<Page, StoreError>;
}

/// Checks shared by the adapters, so both refuse the same malformed calls the same way.
pub mod validate {
    use super::{MAX_TRANSACTION_OPS, PageRequest, StoreError, WriteOp};

    pub fn page(page: &PageRequest) -> Result<(), StoreError> {
        if page.limit == 0 || page.limit > 1000 {
            return Err(StoreError::Invalid(format!(
                "page limit must be 1 to 1000, got {}",
                page.limit
            )));
        }
        Ok(())
    }

    pub fn transaction(ops: &[WriteOp]) -> Result<(), StoreError> {
        if ops.is_empty() || ops.len() > MAX_TRANSACTION_OPS {
            return Err(StoreError::Invalid(format!(
                "a transaction holds 1 to {MAX_TRANSACTION_OPS} writes, got {}",
                ops.len()
            )));
        }
        let mut keys: Vec<_> = ops.iter().map(WriteOp::key).collect();
        keys.sort();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            return Err(StoreError::Invalid(
                "a transaction may write each key only once".to_owned(),
            ));
        }
        for op in ops {
            if let WriteOp::Increment { by, cap, .. } = op {
                increment(*by, *cap)?;
            }
        }
        Ok(())
    }

    pub fn increment(by: i64, cap: Option<i64>) -> Result<(), StoreError> {
        if by <= 0 {
            return Err(StoreError::Invalid(format!(
                "increment must be positive, got {by}"
            )));
        }
        if cap.is_some_and(|c| c < 0) {
            return Err(StoreError::Invalid(
                "a counter cap cannot be negative".to_owned(),
            ));
        }
        Ok(())
    }
}
