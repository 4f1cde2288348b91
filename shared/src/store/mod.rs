//! The store port: the operations every stateful feature (idempotency claims, conversation
//! state, rate-limit buckets, infractions, configuration, audit log) is built from.
//!
//! The item model is deliberately small: a partition key and a sort key, a JSON document, a
//! version the store assigns, an optional expiry and an optional entry in the due index. Two
//! adapters implement it with the same semantics, proven by one conformance suite
//! (`store_conformance`, behind the `conformance` feature): DynamoDB on AWS and an embedded database
//! for `gavel serve` and tests.
//!
//! Semantics every adapter honours:
//! - **Expiry is exact on read**: an item whose `expires_at` is at or before the store clock's
//!   now is absent for every operation (get, query, due index, conditions), even while it still
//!   sits on disk waiting for TTL deletion.
//! - **No read-modify-write without a condition**: creates are conditional on absence, updates
//!   and conditional deletes on the version, counters on their cap, deadline cursors on how far
//!   ahead they may run.
//! - **One operation, one round trip** in the common case; [`round_trips`] counts them.

pub mod document;
mod error;
pub mod keys;
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
    /// Moves a deadline cursor forward (see [`Store::advance`]), failing when the deadline
    /// would run more than `max_ahead_ms` ahead of now.
    Advance {
        key: ItemKey,
        step_ms: i64,
        max_ahead_ms: i64,
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
            | WriteOp::Advance { key, .. }
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

    /// Moves the deadline cursor at `key` forward. The item's data is a Unix-millisecond time (a
    /// JSON integer). new = max(current, now_ms) + step_ms, where an absent or expired item counts
    /// as now_ms (now from the store's clock), provided new - now_ms <= max_ahead_ms. Returns the
    /// new deadline. Otherwise [`StoreError::LimitReached`] with the current deadline and nothing
    /// changes. On success the item's `expires_at` is ceil((now_ms + max_ahead_ms) / 1000): the
    /// item vanishes once even a full burst taken now has drained, so idle keys cost nothing.
    /// The version follows every item's rule: 1 when the item was absent or expired, else +1.
    /// A live item whose data is not an integer is refused ([`StoreError::Invalid`]).
    ///
    /// This is GCRA's state: with `step_ms` the emission interval and `max_ahead_ms` the burst
    /// times it (the rate limiter's `gcra` module holds the algorithm; the conformance suite
    /// checks that both agree).
    async fn advance(
        &self,
        key: &ItemKey,
        step_ms: i64,
        max_ahead_ms: i64,
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

    /// Every stored item, **expired ones included** (TTL deletion runs days late, and the
    /// embedded store never deletes on its own), a page at a time in no promised order: what
    /// the cleanup job walks to find what expiry has passed but deletion has not reached. A
    /// page reads at most `limit` items (`descending` must be false); only a `None` cursor
    /// means the end.
    async fn scan(&self, page: PageRequest) -> Result<Page, StoreError>;

    /// Deletes the item at `key` only while it is expired by the store clock's now. `Ok(true)`
    /// if it deleted one; `Ok(false)` if no expired item was there: absent, or live (an item
    /// created over the expired one since it was read is never touched).
    async fn delete_expired(&self, key: &ItemKey) -> Result<bool, StoreError>;
}

/// Creates `item`, or replaces the live item at its key with a versioned update, so two writers
/// of a setting never interleave (the loser gets [`StoreError::VersionConflict`] or
/// [`StoreError::AlreadyExists`]). Two round trips: a read, then the conditional write.
pub async fn create_or_replace(store: &dyn Store, item: NewItem) -> Result<Item, StoreError> {
    match store.get(&item.key).await? {
        Some(current) => store.update(item, current.version).await,
        None => store.create(item).await,
    }
}

/// How often [`found_after_failure`] asks before it gives up.
const LOOKUPS_AFTER_FAILURE: usize = 3;

/// After a write failed transiently (a timeout above all), whether it went through anyway: the
/// store may have applied it and lost only the answer. `probe` tells from the item at `key`
/// (one only that write can have left, such as an entry keyed by the request's id) whether it
/// is there. The store was just failing, so a failed read is tried again a few times; `false`
/// when it cannot be told.
pub async fn found_after_failure(
    store: &dyn Store,
    key: &ItemKey,
    probe: impl Fn(&Item) -> bool,
) -> bool {
    for _ in 0..LOOKUPS_AFTER_FAILURE {
        match store.get(key).await {
            Ok(found) => return found.as_ref().is_some_and(&probe),
            Err(error) => {
                tracing::warn!(%error, "could not read back whether a failed write went through");
            }
        }
    }
    false
}

/// Checks shared by the adapters, so both refuse the same malformed calls the same way.
pub mod validate {
    use super::{MAX_TRANSACTION_OPS, PageRequest, StoreError, WriteOp};

    /// The furthest ahead of now a deadline cursor may run: far beyond any rate-limit window,
    /// and far enough below `i64::MAX` that no deadline arithmetic can overflow.
    pub const MAX_AHEAD_MS: i64 = 100 * 366 * 24 * 3600 * 1000;

    pub fn page(page: &PageRequest) -> Result<(), StoreError> {
        if page.limit == 0 || page.limit > 1000 {
            return Err(StoreError::Invalid(format!(
                "page limit must be 1 to 1000, got {}",
                page.limit
            )));
        }
        Ok(())
    }

    pub fn scan(page: &PageRequest) -> Result<(), StoreError> {
        self::page(page)?;
        if page.descending {
            return Err(StoreError::Invalid(
                "a scan has no order to reverse".to_owned(),
            ));
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
            match op {
                WriteOp::Increment { by, cap, .. } => increment(*by, *cap)?,
                WriteOp::Advance {
                    step_ms,
                    max_ahead_ms,
                    ..
                } => advance(*step_ms, *max_ahead_ms)?,
                _ => {}
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

    pub fn advance(step_ms: i64, max_ahead_ms: i64) -> Result<(), StoreError> {
        if step_ms <= 0 {
            return Err(StoreError::Invalid(format!(
                "a deadline step must be positive, got {step_ms} ms"
            )));
        }
        if max_ahead_ms < step_ms {
            return Err(StoreError::Invalid(format!(
                "max_ahead ({max_ahead_ms} ms) must be at least the step ({step_ms} ms)"
            )));
        }
        if max_ahead_ms > MAX_AHEAD_MS {
            return Err(StoreError::Invalid(format!(
                "max_ahead may be at most {MAX_AHEAD_MS} ms (100 years), got {max_ahead_ms} ms"
            )));
        }
        Ok(())
    }
}

/// The arithmetic of [`Store::advance`], shared by the adapters so both decide alike.
pub mod deadline {
    /// What an advance does to a deadline cursor, given what the store holds.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Outcome {
        /// Write this deadline.
        Advanced(i64),
        /// Refused: the deadline would run too far ahead; this is the current one.
        LimitReached(i64),
    }

    /// The expiry an advance at `now_ms` gives its item: once a full burst taken now has
    /// drained, the item holds nothing an absent one would not. Call after
    /// [`validate::advance`](super::validate::advance), which keeps the sum in range.
    pub fn expires_at(now_ms: i64, max_ahead_ms: i64) -> i64 {
        // ceil(x / 1000) as floor((x + 999) / 1000), right for negative times too.
        now_ms
            .saturating_add(max_ahead_ms)
            .saturating_add(999)
            .div_euclid(1000)
    }

    /// `current` is the live item's deadline (`None`: absent or expired). A deadline in the past
    /// counts as now: an idle cursor does not bank credit.
    pub fn advance(current: Option<i64>, now_ms: i64, step_ms: i64, max_ahead_ms: i64) -> Outcome {
        let from = current.map_or(now_ms, |d| d.max(now_ms));
        // Only absurd stored deadlines or clocks overflow; they are refused, never a panic.
        let next = from.checked_add(step_ms);
        match next.filter(|n| {
            n.checked_sub(now_ms)
                .is_some_and(|ahead| ahead <= max_ahead_ms)
        }) {
            Some(next) => Outcome::Advanced(next),
            None => Outcome::LimitReached(from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::deadline::{Outcome, advance, expires_at};
    use super::{StoreError, validate};

    #[test]
    fn an_advance_expires_on_the_second_after_its_horizon() {
        assert_eq!(expires_at(1_000, 2_000), 3);
        assert_eq!(expires_at(1_001, 2_000), 4);
        assert_eq!(expires_at(-1_500, 1_000), 0, "ceil of -0.5");
        assert_eq!(expires_at(i64::MAX - 5, 1_000), i64::MAX / 1000);
    }

    #[test]
    fn deadline_arithmetic_refuses_instead_of_overflowing() {
        assert_eq!(advance(None, 10, 5, 5), Outcome::Advanced(15));
        assert_eq!(advance(Some(3), 10, 5, 5), Outcome::Advanced(15));
        assert_eq!(advance(Some(12), 10, 5, 10), Outcome::Advanced(17));
        assert_eq!(advance(Some(12), 10, 5, 6), Outcome::LimitReached(12));
        assert_eq!(
            advance(Some(i64::MAX - 1), 0, 5, validate::MAX_AHEAD_MS),
            Outcome::LimitReached(i64::MAX - 1)
        );
        assert_eq!(
            advance(Some(i64::MAX - 10), i64::MIN, 5, validate::MAX_AHEAD_MS),
            Outcome::LimitReached(i64::MAX - 10)
        );
    }

    #[test]
    fn advances_must_step_forward_within_their_horizon() {
        assert_eq!(validate::advance(1, 1), Ok(()));
        for (step, max_ahead) in [(0, 1), (-1, 1), (2, 1), (1, validate::MAX_AHEAD_MS + 1)] {
            assert!(
                matches!(
                    validate::advance(step, max_ahead),
                    Err(StoreError::Invalid(_))
                ),
                "{step}, {max_ahead}"
            );
        }
    }
}
