//! The one store double of the suites: a decorator over a real store that injects a fault into
//! chosen calls and delegates everything else.
//!
//! A test names the calls ([`FailOn`]: which operations, optionally only those touching keys
//! with a prefix, optionally only the n-th such call) and what happens to them ([`Fault`]: an
//! error, a stall, or another writer's change landing first). Every other call reaches the
//! inner store unchanged, so the code under test still runs against the real semantics, and
//! [`Faulty::calls`] tells how often each operation was asked for.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use gavel_shared::store::{Item, ItemKey, NewItem, Page, PageRequest, Store, StoreError, WriteOp};

/// One method of [`Store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Get,
    Create,
    Update,
    Delete,
    Increment,
    Advance,
    Transact,
    Query,
    DueBy,
    Scan,
    DeleteExpired,
}

impl Op {
    pub const ALL: [Op; 11] = [
        Op::Get,
        Op::Create,
        Op::Update,
        Op::Delete,
        Op::Increment,
        Op::Advance,
        Op::Transact,
        Op::Query,
        Op::DueBy,
        Op::Scan,
        Op::DeleteExpired,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// Which calls get the fault.
#[derive(Clone, Debug)]
pub struct FailOn {
    ops: Vec<Op>,
    /// Only calls touching a key whose sort key starts with this (a transaction: any of its
    /// writes; a query: its sort-key prefix). Calls without keys (due index, scan) never match.
    sk_prefix: Option<String>,
    /// Only the n-th matching call (1-based); the others pass.
    nth: Option<usize>,
}

impl FailOn {
    /// Every call of every operation: a store that is down.
    pub fn everything() -> Self {
        Self::ops(Op::ALL)
    }

    /// Every call of these operations.
    pub fn ops(ops: impl IntoIterator<Item = Op>) -> Self {
        Self {
            ops: ops.into_iter().collect(),
            sk_prefix: None,
            nth: None,
        }
    }

    /// Only calls whose key's sort key starts with `prefix`.
    pub fn sk_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.sk_prefix = Some(prefix.into());
        self
    }

    /// Only the `n`-th call that matches otherwise (1 is the first).
    pub fn nth(mut self, n: usize) -> Self {
        self.nth = Some(n);
        self
    }

    fn key_matches(&self, key: &ItemKey) -> bool {
        self.sk_prefix
            .as_deref()
            .is_none_or(|prefix| key.sk.starts_with(prefix))
    }
}

/// Changes the inner store as someone else would just before a chosen call; it gets the store
/// and the key that matched.
pub type Interleave = Arc<
    dyn Fn(Arc<dyn Store>, ItemKey) -> Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>>
        + Send
        + Sync,
>;

/// What a chosen call meets.
#[derive(Clone)]
pub enum Fault {
    /// The call fails with this error; the inner store is not asked.
    Fail(StoreError),
    /// The call waits this long, then reaches the inner store: a slow backend.
    Stall(Duration),
    /// Another writer's change lands first (via the hook), then the call reaches the inner
    /// store: a race lost between a read and a write.
    Interleave(Interleave),
}

/// A store that delegates to `inner`, except that the calls [`FailOn`] chooses meet the fault.
pub struct Faulty {
    inner: Arc<dyn Store>,
    fail_on: FailOn,
    fault: Fault,
    /// Calls that matched `fail_on` so far, for [`FailOn::nth`].
    matched: AtomicUsize,
    /// Calls per operation, faulty or not.
    calls: [AtomicUsize; 11],
}

impl Faulty {
    pub fn new(inner: Arc<dyn Store>, fail_on: FailOn, fault: Fault) -> Self {
        Self {
            inner,
            fail_on,
            fault,
            matched: AtomicUsize::new(0),
            calls: Default::default(),
        }
    }

    /// The chosen calls fail with `error`.
    pub fn failing(inner: Arc<dyn Store>, fail_on: FailOn, error: StoreError) -> Self {
        Self::new(inner, fail_on, Fault::Fail(error))
    }

    /// No faults: only counts the calls ([`Faulty::calls`]).
    pub fn counting(inner: Arc<dyn Store>) -> Self {
        Self::new(
            inner,
            FailOn::ops([]),
            Fault::Fail(StoreError::Backend("never injected".into())),
        )
    }

    /// How many times `op` was called, including the calls that met the fault.
    pub fn calls(&self, op: Op) -> usize {
        self.calls[op.index()].load(Ordering::SeqCst)
    }

    /// Counts the call, and applies the fault if it is chosen. `key` is the key the call
    /// touches that matches the prefix (`None`: no key matches).
    async fn enter(&self, op: Op, key: Option<&ItemKey>) -> Result<(), StoreError> {
        self.calls[op.index()].fetch_add(1, Ordering::SeqCst);
        if !self.fail_on.ops.contains(&op) {
            return Ok(());
        }
        let key = match (key, &self.fail_on.sk_prefix) {
            (Some(key), _) => Some(key.clone()),
            (None, None) => None,
            (None, Some(_)) => return Ok(()),
        };
        let n = self.matched.fetch_add(1, Ordering::SeqCst) + 1;
        if self.fail_on.nth.is_some_and(|nth| nth != n) {
            return Ok(());
        }
        match &self.fault {
            Fault::Fail(error) => Err(error.clone()),
            Fault::Stall(duration) => {
                tokio::time::sleep(*duration).await;
                Ok(())
            }
            Fault::Interleave(hook) => {
                let key = key.expect("an interleaved change needs a key to change");
                hook(Arc::clone(&self.inner), key).await
            }
        }
    }

    fn matching<'k>(&self, key: &'k ItemKey) -> Option<&'k ItemKey> {
        self.fail_on.key_matches(key).then_some(key)
    }
}

#[async_trait]
impl Store for Faulty {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        self.enter(Op::Get, self.matching(key)).await?;
        self.inner.get(key).await
    }

    async fn create(&self, item: NewItem) -> Result<Item, StoreError> {
        self.enter(Op::Create, self.matching(&item.key)).await?;
        self.inner.create(item).await
    }

    async fn update(&self, item: NewItem, expected_version: u64) -> Result<Item, StoreError> {
        self.enter(Op::Update, self.matching(&item.key)).await?;
        self.inner.update(item, expected_version).await
    }

    async fn delete(&self, key: &ItemKey, expected_version: Option<u64>) -> Result<(), StoreError> {
        self.enter(Op::Delete, self.matching(key)).await?;
        self.inner.delete(key, expected_version).await
    }

    async fn increment(
        &self,
        key: &ItemKey,
        by: i64,
        cap: Option<i64>,
        expires_at: Option<i64>,
    ) -> Result<i64, StoreError> {
        self.enter(Op::Increment, self.matching(key)).await?;
        self.inner.increment(key, by, cap, expires_at).await
    }

    async fn advance(
        &self,
        key: &ItemKey,
        step_ms: i64,
        max_ahead_ms: i64,
    ) -> Result<i64, StoreError> {
        self.enter(Op::Advance, self.matching(key)).await?;
        self.inner.advance(key, step_ms, max_ahead_ms).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let key = ops.iter().find_map(|op| self.matching(op.key())).cloned();
        self.enter(Op::Transact, key.as_ref()).await?;
        self.inner.transact(ops).await
    }

    async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
        page: PageRequest,
    ) -> Result<Page, StoreError> {
        let key = ItemKey::new(pk, sk_prefix);
        self.enter(Op::Query, self.matching(&key)).await?;
        self.inner.query(pk, sk_prefix, page).await
    }

    async fn due_by(&self, queue: &str, by: i64, page: PageRequest) -> Result<Page, StoreError> {
        self.enter(Op::DueBy, None).await?;
        self.inner.due_by(queue, by, page).await
    }

    async fn scan(&self, page: PageRequest) -> Result<Page, StoreError> {
        self.enter(Op::Scan, None).await?;
        self.inner.scan(page).await
    }

    async fn delete_expired(&self, key: &ItemKey) -> Result<bool, StoreError> {
        self.enter(Op::DeleteExpired, self.matching(key)).await?;
        self.inner.delete_expired(key).await
    }
}
