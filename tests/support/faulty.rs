//! The one store double of the suites: a decorator over a real store that injects a fault into
//! chosen calls and delegates everything else.
//!
//! A test names the calls ([`FailOn`]: which operations, optionally only those touching keys
//! with a prefix, optionally only the n-th such call) and what happens to them ([`Fault`]: an
//! error, a stall, another writer's change landing first, a write whose answer is lost, an
//! outage, or faults drawn at random from a seed). Every other call reaches the inner store
//! unchanged, so the code under test still runs against the real semantics, and
//! [`Faulty::calls`] tells how often each operation was asked for.
//!
//! The errors are the ones the DynamoDB adapter gives for the same trouble (see
//! `shared/src/adapters/dynamodb/errors.rs`): a timeout, throttling beyond the SDK's retries and
//! a transaction cancelled for a concurrent transaction are all [`StoreError::Unavailable`],
//! with the adapter's wording. [`Faulty::with_budget`] bounds what the faults make a call wait
//! like the adapter's operation timeout ([`STORE_BUDGET`] in production), so a stall longer
//! than the budget ends as that timeout.
//!
//! Random mode ([`Fault::random`]): each chosen call draws from a small PRNG seeded with the
//! test's seed and the call's number, so a run is replayed exactly by its seed (the calls of a
//! scenario come in the same order). [`SeedReport`] prints the seed, and the faults injected,
//! when the test fails; `GAVEL_FAULT_SEED` replays one ([`seeds`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use gavel_shared::store::{Item, ItemKey, NewItem, Page, PageRequest, Store, StoreError, WriteOp};
use tokio::time::Instant;

/// The budget of one store call in production: the DynamoDB adapter's operation timeout,
/// retries included (the adapter's default `StoreTuning`).
pub const STORE_BUDGET: Duration = Duration::from_millis(2_000);

#[test]
fn the_budget_is_the_adapters() {
    assert_eq!(
        STORE_BUDGET,
        gavel_shared::adapters::dynamodb::StoreTuning::default().timeout
    );
}

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

    /// Whether the call may change the store (a lost answer then hides a change).
    pub fn writes(self) -> bool {
        !matches!(self, Op::Get | Op::Query | Op::DueBy | Op::Scan)
    }

    /// The DynamoDB request the adapter makes for it, for messages in the adapter's words.
    fn request(self) -> &'static str {
        match self {
            Op::Get => "GetItem",
            Op::Create | Op::Update => "PutItem",
            Op::Delete | Op::DeleteExpired => "DeleteItem",
            Op::Increment | Op::Advance => "UpdateItem",
            Op::Transact => "TransactWriteItems",
            Op::Query | Op::DueBy => "Query",
            Op::Scan => "Scan",
        }
    }
}

/// The DynamoDB adapter's error for a call that did not answer within its budget.
pub fn timed_out(op: Op) -> StoreError {
    StoreError::Unavailable(format!("{}: DynamoDB did not answer in time", op.request()))
}

/// The adapter's error for a call still throttled when the SDK's retries ran out.
pub fn throttled(op: Op) -> StoreError {
    StoreError::Unavailable(format!(
        "{}: ProvisionedThroughputExceededException",
        op.request()
    ))
}

/// The adapter's error for a transaction DynamoDB cancelled because another transaction was
/// writing the same items (not a failed condition: nothing was written, a retry may pass).
pub fn conflict_cancelled() -> StoreError {
    StoreError::Unavailable("TransactWriteItems cancelled: TransactionConflict, None".to_owned())
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
    /// The call waits this long, then reaches the inner store: a slow backend. Longer than
    /// the budget ([`Faulty::with_budget`]), it ends as a timeout and never reaches the store.
    Stall(Duration),
    /// Another writer's change lands first (via the hook), then the call reaches the inner
    /// store: a race lost between a read and a write.
    Interleave(Interleave),
    /// The call reaches the inner store and does whatever it does there, then its answer is
    /// lost: the caller gets a timeout ([`timed_out`]). A write that succeeded, unknown to its
    /// writer.
    LostAnswer,
    /// The store stops answering for this long from the first chosen call: every chosen call
    /// in that window waits for its end, then reaches the inner store.
    Outage(Duration),
    /// Faults drawn at random ([`Random`]).
    Random(Random),
}

/// A kind of fault the random mode draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// [`timed_out`], the store not asked.
    Timeout,
    /// [`throttled`], the store not asked.
    Throttle,
    /// [`conflict_cancelled`] for a transaction; other calls are throttled instead.
    ConflictCancelled,
    /// A short stall (up to 200 ms), then the store is asked.
    Stall,
    /// [`Fault::LostAnswer`]: a write reaches the store, then the caller gets a timeout.
    LostAnswer,
}

impl FaultKind {
    pub const ALL: [FaultKind; 5] = [
        FaultKind::Timeout,
        FaultKind::Throttle,
        FaultKind::ConflictCancelled,
        FaultKind::Stall,
        FaultKind::LostAnswer,
    ];
}

/// Faults at random: each chosen call meets one with probability `per_mille / 1000`, of a kind
/// drawn from `kinds`, decided by the seed and the call's number alone.
#[derive(Clone, Debug)]
pub struct Random {
    pub seed: u64,
    pub per_mille: u64,
    pub kinds: Vec<FaultKind>,
}

impl Fault {
    /// A timeout, as the DynamoDB adapter reports it (for any operation).
    pub fn timeout() -> Self {
        Fault::Fail(timed_out(Op::Transact))
    }

    /// Throttling beyond the SDK's retries.
    pub fn throttled() -> Self {
        Fault::Fail(throttled(Op::Transact))
    }

    /// A transaction cancelled for another transaction's conflict.
    pub fn conflict_cancelled() -> Self {
        Fault::Fail(conflict_cancelled())
    }

    /// Faults from `seed` at `per_mille` of the chosen calls, of the given kinds.
    pub fn random(seed: u64, per_mille: u64, kinds: impl IntoIterator<Item = FaultKind>) -> Self {
        let kinds: Vec<FaultKind> = kinds.into_iter().collect();
        assert!(!kinds.is_empty(), "random faults need at least one kind");
        Fault::Random(Random {
            seed,
            per_mille,
            kinds,
        })
    }
}

/// splitmix64: a small, well-mixed PRNG step, enough to draw faults reproducibly.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Random {
    /// The fault (if any) the `n`-th chosen call meets.
    fn draw(&self, n: usize, op: Op) -> Option<(FaultKind, Duration)> {
        let first = mix(self.seed ^ mix(n as u64));
        if first % 1000 >= self.per_mille {
            return None;
        }
        let second = mix(first);
        let kind = self.kinds[(second % self.kinds.len() as u64) as usize];
        let kind = match kind {
            FaultKind::ConflictCancelled if op != Op::Transact => FaultKind::Throttle,
            other => other,
        };
        Some((kind, Duration::from_millis(mix(second) % 200)))
    }
}

/// What one call met, for the failure report.
#[derive(Clone, Debug)]
pub struct Injected {
    /// The call's number among the chosen ones (1-based).
    pub n: usize,
    pub op: Op,
    pub key: Option<ItemKey>,
    pub what: String,
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
    /// How long a fault may hold a call, like the adapter's operation timeout.
    budget: Option<Duration>,
    /// The end of a [`Fault::Outage`], once it began.
    outage_ends: Mutex<Option<Instant>>,
    /// Injection on or off ([`Faulty::set_enabled`]): a test lets a scenario settle.
    enabled: std::sync::atomic::AtomicBool,
    /// What was injected, in order.
    injected: Mutex<Vec<Injected>>,
}

/// What a chosen call does after [`Faulty::enter`].
enum Then {
    /// Reach the inner store and return its answer.
    Proceed,
    /// Reach the inner store, then answer with a timeout.
    LoseAnswer,
}

impl Faulty {
    pub fn new(inner: Arc<dyn Store>, fail_on: FailOn, fault: Fault) -> Self {
        Self {
            inner,
            fail_on,
            fault,
            matched: AtomicUsize::new(0),
            calls: Default::default(),
            budget: None,
            outage_ends: Mutex::new(None),
            enabled: std::sync::atomic::AtomicBool::new(true),
            injected: Mutex::new(Vec::new()),
        }
    }

    /// Bounds how long a fault (a stall, an outage) holds a call by `budget`, as the DynamoDB
    /// adapter's operation timeout does: a call still held then fails with [`timed_out`],
    /// without reaching the inner store. The inner store's own pace is not bounded: an
    /// emulator's speed is not what a test is about.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Turns injection on or off; calls are counted either way.
    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::SeqCst);
    }

    /// What was injected so far, in order.
    pub fn injected(&self) -> Vec<Injected> {
        lock(&self.injected).clone()
    }

    /// How many faults were injected so far.
    pub fn injected_count(&self) -> usize {
        lock(&self.injected).len()
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

    /// Counts the call, and applies the fault if it is chosen: `Err` fails the call before the
    /// inner store is asked; `Ok` says whether its answer then reaches the caller. `key` is
    /// the key the call touches that matches the prefix (`None`: no key matches).
    async fn enter(&self, op: Op, key: Option<&ItemKey>) -> Result<Then, StoreError> {
        self.calls[op.index()].fetch_add(1, Ordering::SeqCst);
        if !self.fail_on.ops.contains(&op) || !self.enabled.load(Ordering::SeqCst) {
            return Ok(Then::Proceed);
        }
        let key = match (key, &self.fail_on.sk_prefix) {
            (Some(key), _) => Some(key.clone()),
            (None, None) => None,
            (None, Some(_)) => return Ok(Then::Proceed),
        };
        let n = self.matched.fetch_add(1, Ordering::SeqCst) + 1;
        if self.fail_on.nth.is_some_and(|nth| nth != n) {
            return Ok(Then::Proceed);
        }
        let record = |what: String| {
            lock(&self.injected).push(Injected {
                n,
                op,
                key: key.clone(),
                what,
            })
        };
        match &self.fault {
            Fault::Fail(error) => {
                record(format!("failed: {error}"));
                Err(error.clone())
            }
            Fault::Stall(duration) => {
                record(format!("stalled {duration:?}"));
                tokio::time::sleep(*duration).await;
                Ok(Then::Proceed)
            }
            Fault::Interleave(hook) => {
                record("another writer first".to_owned());
                let key = key
                    .clone()
                    .expect("an interleaved change needs a key to change");
                hook(Arc::clone(&self.inner), key).await?;
                Ok(Then::Proceed)
            }
            Fault::LostAnswer => {
                record("answer lost".to_owned());
                Ok(Then::LoseAnswer)
            }
            Fault::Outage(duration) => {
                let ends =
                    *lock(&self.outage_ends).get_or_insert_with(|| Instant::now() + *duration);
                if Instant::now() < ends {
                    record(format!("held by the outage ({duration:?})"));
                    tokio::time::sleep_until(ends).await;
                }
                Ok(Then::Proceed)
            }
            Fault::Random(random) => match random.draw(n, op) {
                None => Ok(Then::Proceed),
                Some((kind, stall)) => {
                    record(format!("{kind:?}"));
                    match kind {
                        FaultKind::Timeout => Err(timed_out(op)),
                        FaultKind::Throttle => Err(throttled(op)),
                        FaultKind::ConflictCancelled => Err(conflict_cancelled()),
                        FaultKind::Stall => {
                            tokio::time::sleep(stall).await;
                            Ok(Then::Proceed)
                        }
                        FaultKind::LostAnswer => Ok(Then::LoseAnswer),
                    }
                }
            },
        }
    }

    /// One call: the fault (within the budget if there is one), then the inner store.
    async fn call<T>(
        &self,
        op: Op,
        key: Option<&ItemKey>,
        inner: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let entered = self.enter(op, key);
        let then = match self.budget {
            None => entered.await?,
            Some(budget) => tokio::time::timeout(budget, entered)
                .await
                .unwrap_or_else(|_| Err(timed_out(op)))?,
        };
        let answer = inner.await;
        match then {
            Then::Proceed => answer,
            Then::LoseAnswer => Err(timed_out(op)),
        }
    }

    fn matching<'k>(&self, key: &'k ItemKey) -> Option<&'k ItemKey> {
        self.fail_on.key_matches(key).then_some(key)
    }
}

#[async_trait]
impl Store for Faulty {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        self.call(Op::Get, self.matching(key), self.inner.get(key))
            .await
    }

    async fn create(&self, item: NewItem) -> Result<Item, StoreError> {
        let key = self.matching(&item.key).cloned();
        self.call(Op::Create, key.as_ref(), self.inner.create(item))
            .await
    }

    async fn update(&self, item: NewItem, expected_version: u64) -> Result<Item, StoreError> {
        let key = self.matching(&item.key).cloned();
        self.call(
            Op::Update,
            key.as_ref(),
            self.inner.update(item, expected_version),
        )
        .await
    }

    async fn delete(&self, key: &ItemKey, expected_version: Option<u64>) -> Result<(), StoreError> {
        self.call(
            Op::Delete,
            self.matching(key),
            self.inner.delete(key, expected_version),
        )
        .await
    }

    async fn increment(
        &self,
        key: &ItemKey,
        by: i64,
        cap: Option<i64>,
        expires_at: Option<i64>,
    ) -> Result<i64, StoreError> {
        self.call(
            Op::Increment,
            self.matching(key),
            self.inner.increment(key, by, cap, expires_at),
        )
        .await
    }

    async fn advance(
        &self,
        key: &ItemKey,
        step_ms: i64,
        max_ahead_ms: i64,
    ) -> Result<i64, StoreError> {
        self.call(
            Op::Advance,
            self.matching(key),
            self.inner.advance(key, step_ms, max_ahead_ms),
        )
        .await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let key = ops.iter().find_map(|op| self.matching(op.key())).cloned();
        self.call(Op::Transact, key.as_ref(), self.inner.transact(ops))
            .await
    }

    async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
        page: PageRequest,
    ) -> Result<Page, StoreError> {
        let key = ItemKey::new(pk, sk_prefix);
        self.call(
            Op::Query,
            self.matching(&key),
            self.inner.query(pk, sk_prefix, page),
        )
        .await
    }

    async fn due_by(&self, queue: &str, by: i64, page: PageRequest) -> Result<Page, StoreError> {
        self.call(Op::DueBy, None, self.inner.due_by(queue, by, page))
            .await
    }

    async fn scan(&self, page: PageRequest) -> Result<Page, StoreError> {
        self.call(Op::Scan, None, self.inner.scan(page)).await
    }

    async fn delete_expired(&self, key: &ItemKey) -> Result<bool, StoreError> {
        self.call(
            Op::DeleteExpired,
            self.matching(key),
            self.inner.delete_expired(key),
        )
        .await
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The seeds a random-fault test runs: `GAVEL_FAULT_SEED` alone if set (to replay a failure),
/// else `defaults`.
pub fn seeds(defaults: &[u64]) -> Vec<u64> {
    match std::env::var("GAVEL_FAULT_SEED") {
        Ok(seed) => vec![
            seed.trim()
                .parse()
                .expect("GAVEL_FAULT_SEED is a whole number"),
        ],
        Err(_) => defaults.to_vec(),
    }
}

/// Prints the seed (for random faults) and the faults injected if the test fails while this
/// is alive, so the run can be replayed with `GAVEL_FAULT_SEED`.
pub struct SeedReport<'a> {
    /// `None` for faults chosen by call rather than drawn.
    pub seed: Option<u64>,
    pub scenario: &'a str,
    pub faulty: &'a Faulty,
}

impl Drop for SeedReport<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            match self.seed {
                Some(seed) => eprintln!(
                    "{}: failed with fault seed {seed} (replay: GAVEL_FAULT_SEED={seed} cargo test ...); faults injected:",
                    self.scenario
                ),
                None => eprintln!("{}: failed; faults injected:", self.scenario),
            }
            for injected in self.faulty.injected() {
                eprintln!("  {injected:?}");
            }
        }
    }
}
