//! The DynamoDB adapter of the [store port](crate::store): one table, single-table design.
//!
//! Item layout (documented for operators in docs/DATA.md):
//!
//! | attribute | type | holds |
//! | --- | --- | --- |
//! | `pk`, `sk` | S | the table's hash and range keys ([`ItemKey`]) |
//! | `v` | N | the version the store assigns (1 on creation, +1 per write) |
//! | `d` | any | the JSON document, converted by serde_dynamo; a counter's `d` is N, and so is a deadline cursor's (Unix ms) |
//! | `ttl` | N | `expires_at` in Unix seconds: the table's TTL attribute |
//! | `due_q`, `due_at` | S, N | the due entry, only on items that have one: the `due` GSI's keys |
//!
//! DynamoDB deletes expired items days late, so every read and every condition treats an item
//! whose `ttl` is at or before the store clock's now as absent: `GetItem` checks after reading,
//! `Query` filters, conditions add `ttl > :now` (or accept `ttl <= :now` where absence is
//! wanted). Condition failures ask for the old item (`ReturnValuesOnConditionCheckFailure =
//! ALL_OLD`), so a conflict reports the version or counter value it met without a second read.
//!
//! Reads of the table are strongly consistent (a flow reads back the state it just wrote). The
//! `due` GSI cannot be: [`Store::due_by`] may miss an entry written a moment ago, or still list
//! one just cleared, until the index catches up (usually well under a second). Sweeps run on a
//! schedule and tolerate that.
//!
//! Retries and timeouts come from the SDK (standard retry mode with short backoffs, an operation
//! timeout) so that one store call, retries included, fits in the platform's 3-second deadline:
//! see [`StoreTuning`]. A retry after a throttle is harmless (nothing was written), but a retry
//! after a timed-out attempt that did reach DynamoDB meets its own write: a create then reports
//! [`StoreError::AlreadyExists`], an update a [`StoreError::VersionConflict`] one version ahead,
//! and an increment counts twice (a rate limit errs towards limiting). Transactions are safe:
//! the SDK gives each one a client request token that DynamoDB deduplicates.
//!
//! Environment, read by [`DynamoStore::from_env`]: `GAVEL_TABLE` (the table), and the standard
//! AWS chain for region, credentials and endpoint (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...,
//! `AWS_ENDPOINT_URL` for an emulator); `GAVEL_STORE_TIMEOUT_MS` (default 2000) and
//! `GAVEL_STORE_MAX_ATTEMPTS` (default 4) tune each call.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TimeToLiveSpecification,
    TimeToLiveStatus, TransactWriteItem, Update,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::clock::Clock;
use crate::store::{
    Due, Item, ItemKey, NewItem, Page, PageRequest, Store, StoreError, WriteOp, deadline,
    round_trips, validate,
};

/// The SDK client, re-exported so that callers outside the adapters (the CLI, tests) can hold
/// one without importing `aws_*` themselves.
pub use aws_sdk_dynamodb::Client as DynamoClient;

/// The GSI that [`Store::due_by`] queries.
pub const DUE_INDEX: &str = "due";
/// The table's TTL attribute.
pub const TTL_ATTRIBUTE: &str = "ttl";

/// Expression placeholders for every attribute, so no attribute name can collide with one of
/// DynamoDB's reserved words (`ttl` is one). Only the placeholders an expression uses may be
/// sent: DynamoDB rejects unused ones.
const NAMES: [(&str, &str); 7] = [
    ("#pk", "pk"),
    ("#sk", "sk"),
    ("#v", "v"),
    ("#d", "d"),
    ("#ttl", "ttl"),
    ("#dq", "due_q"),
    ("#da", "due_at"),
];

/// The item is live: no expiry, or an expiry still ahead of `:now`.
const LIVE: &str = "(attribute_not_exists(#ttl) OR #ttl > :now)";
/// No live item: absent, or expired and waiting for TTL deletion.
const ABSENT: &str = "attribute_not_exists(#pk) OR #ttl <= :now";
/// An expired item (used to replace an expired counter).
const EXPIRED: &str = "#ttl <= :now";

/// How long one store call may take and how often the SDK tries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreTuning {
    /// The budget for one store call, every attempt and backoff included. Each attempt (and
    /// connecting) gets half of it, so one hung connection still leaves room for a retry.
    pub timeout: Duration,
    /// Attempts per call, the first included (standard retry mode, exponential backoff with
    /// jitter from 50 ms, at most 500 ms between attempts).
    pub max_attempts: u32,
}

impl Default for StoreTuning {
    /// 2 s and 4 attempts: a call that retries to its end still leaves a Lambda about a second
    /// of its 3-second acknowledgement deadline to answer.
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(2_000),
            max_attempts: 4,
        }
    }
}

impl StoreTuning {
    /// Reads `GAVEL_STORE_TIMEOUT_MS` and `GAVEL_STORE_MAX_ATTEMPTS`; unset means the default.
    pub fn from_env() -> Result<Self, StoreError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, StoreError> {
        let mut tuning = Self::default();
        if let Some(ms) = positive_number(&lookup, "GAVEL_STORE_TIMEOUT_MS")? {
            tuning.timeout = Duration::from_millis(ms);
        }
        if let Some(attempts) = positive_number(&lookup, "GAVEL_STORE_MAX_ATTEMPTS")? {
            tuning.max_attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
        }
        Ok(tuning)
    }

    fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            // The SDK's defaults (1 s initial, 20 s max) suit batch jobs, not a 3 s deadline.
            .with_initial_backoff(Duration::from_millis(50))
            .with_max_backoff(Duration::from_millis(500))
    }

    fn timeout_config(&self) -> TimeoutConfig {
        let attempt = self.timeout / 2;
        TimeoutConfig::builder()
            .operation_timeout(self.timeout)
            .operation_attempt_timeout(attempt)
            .connect_timeout(attempt)
            .build()
    }
}

fn positive_number(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<u64>, StoreError> {
    match lookup(name) {
        Some(raw) if !raw.trim().is_empty() => match raw.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(StoreError::Invalid(format!(
                "{name} must be a whole number above 0, got {raw:?}"
            ))),
        },
        _ => Ok(None),
    }
}

/// A client configured from the standard AWS environment (region, credentials, and
/// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_DYNAMODB` for an emulator), with `tuning`'s retries and
/// timeouts. Build it once per process: warm Lambda invocations reuse its connections.
pub async fn client_from_env(tuning: StoreTuning) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(tuning.retry_config())
        .timeout_config(tuning.timeout_config())
        .load()
        .await;
    Client::new(&config)
}

/// A client for a local emulator (moto) at `endpoint_url`: fixed fake credentials and
/// `us-east-1`, nothing read from the environment. Each call builds a fresh connection pool,
/// so each tokio runtime (each test) can have its own.
pub fn emulator_client(endpoint_url: &str, tuning: StoreTuning) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "testing", "testing", None, None, "emulator",
        ))
        .endpoint_url(endpoint_url)
        .retry_config(tuning.retry_config())
        .timeout_config(tuning.timeout_config())
        .build();
    Client::from_conf(config)
}

/// The store on one DynamoDB table.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
    /// Shared by clones, like the client's connections.
    hints: Arc<DeadlineHints>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
            hints: Arc::default(),
        }
    }

    /// The table from `GAVEL_TABLE`, the client from the standard AWS environment (region,
    /// credentials, `AWS_ENDPOINT_URL`), tuned by [`StoreTuning::from_env`]
    /// (`GAVEL_STORE_TIMEOUT_MS`, `GAVEL_STORE_MAX_ATTEMPTS`). Call it once per process.
    pub async fn from_env(clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let table = std::env::var("GAVEL_TABLE")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| StoreError::Invalid("GAVEL_TABLE is not set".to_owned()))?;
        let tuning = StoreTuning::from_env()?;
        Ok(Self::new(client_from_env(tuning).await, table, clock))
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn now(&self) -> i64 {
        self.clock.now_secs()
    }

    /// Seconds and milliseconds from one reading, for operations that need both.
    fn now_both(&self) -> Now {
        let ms = self.clock.now_ms();
        Now {
            secs: ms.div_euclid(1000),
            ms,
        }
    }

    /// One round of [`Store::advance`]: the write `guess` calls for, checked by its condition.
    async fn advance_once(
        &self,
        key: &ItemKey,
        guess: Guess,
        now: Now,
        step_ms: i64,
        max_ahead_ms: i64,
    ) -> Result<Settled<i64>, StoreError> {
        let write = AdvanceWrite::new(key, guess.shape, now, step_ms, max_ahead_ms)?;
        round_trips::record();
        match write.update {
            None => {
                let result = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(write.fresh_item(key)?))
                    .condition_expression(&write.condition)
                    .set_expression_attribute_names(names(&[&write.condition]))
                    .set_expression_attribute_values(Some(write.values))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .send()
                    .await;
                Ok(match settle("PutItem", result)? {
                    Settled::Done(_) => Settled::Done(write.next),
                    Settled::ConditionFailed(old) => Settled::ConditionFailed(old),
                })
            }
            Some(update) => {
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key_attributes(key)))
                    .update_expression(update)
                    .condition_expression(&write.condition)
                    .set_expression_attribute_names(names(&[update, &write.condition]))
                    .set_expression_attribute_values(Some(write.values))
                    .return_values(ReturnValue::UpdatedNew)
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .send()
                    .await;
                Ok(match settle("UpdateItem", result)? {
                    Settled::Done(output) => {
                        let attrs = output.attributes.unwrap_or_default();
                        Settled::Done(integer(&attrs, "d").ok_or_else(|| {
                            StoreError::Backend(format!(
                                "deadline {}/{} holds no integer after an advance",
                                key.pk, key.sk
                            ))
                        })?)
                    }
                    Settled::ConditionFailed(old) => Settled::ConditionFailed(old),
                })
            }
        }
    }

    /// Writes `by` as a fresh counter over an expired one (the rare second round trip of an
    /// increment). `Ok(false)`: the counter was not expired any more (someone replaced it first).
    async fn replace_expired_counter(
        &self,
        key: &ItemKey,
        by: i64,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut counter = NewItem::new(key.clone(), Value::from(by));
        counter.expires_at = expires_at;
        round_trips::record();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_attributes(&counter, 1)?))
            .condition_expression(EXPIRED)
            .set_expression_attribute_names(names(&[EXPIRED]))
            .expression_attribute_values(":now", number(now))
            .send()
            .await;
        match settle("PutItem", result)? {
            Settled::Done(_) => Ok(true),
            Settled::ConditionFailed(_) => Ok(false),
        }
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        let now = self.now();
        round_trips::record();
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            // Read-your-writes: a flow that just wrote its state reads it back.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| service_failure("GetItem", &e))?;
        match output.item {
            Some(attrs) if is_live(&attrs, now) => Ok(Some(read_item(&attrs)?)),
            _ => Ok(None),
        }
    }

    async fn create(&self, item: NewItem) -> Result<Item, StoreError> {
        let now = self.now();
        let attrs = item_attributes(&item, 1)?;
        round_trips::record();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(attrs))
            .condition_expression(ABSENT)
            .set_expression_attribute_names(names(&[ABSENT]))
            .expression_attribute_values(":now", number(now))
            .send()
            .await;
        match settle("PutItem", result)? {
            Settled::Done(_) => Ok(stored(item, 1)),
            Settled::ConditionFailed(_) => Err(StoreError::AlreadyExists),
        }
    }

    async fn update(&self, item: NewItem, expected_version: u64) -> Result<Item, StoreError> {
        let now = self.now();
        let version = expected_version + 1;
        // PutItem replaces the whole item, so a cleared due entry (or expiry) disappears with it.
        let attrs = item_attributes(&item, version)?;
        let condition = version_condition();
        round_trips::record();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(attrs))
            .condition_expression(&condition)
            .set_expression_attribute_names(names(&[&condition]))
            .expression_attribute_values(":now", number(now))
            .expression_attribute_values(":expected", number(expected_version))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match settle("PutItem", result)? {
            Settled::Done(_) => Ok(stored(item, version)),
            Settled::ConditionFailed(old) => Err(StoreError::VersionConflict {
                current: live_version(old.as_ref(), now),
            }),
        }
    }

    async fn delete(&self, key: &ItemKey, expected_version: Option<u64>) -> Result<(), StoreError> {
        let now = self.now();
        let mut request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)));
        if let Some(expected) = expected_version {
            let condition = version_condition();
            request = request
                .set_expression_attribute_names(names(&[&condition]))
                .condition_expression(condition)
                .expression_attribute_values(":now", number(now))
                .expression_attribute_values(":expected", number(expected))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
        }
        round_trips::record();
        match settle("DeleteItem", request.send().await)? {
            Settled::Done(_) => Ok(()),
            Settled::ConditionFailed(old) => Err(StoreError::VersionConflict {
                current: live_version(old.as_ref(), now),
            }),
        }
    }

    async fn increment(
        &self,
        key: &ItemKey,
        by: i64,
        cap: Option<i64>,
        expires_at: Option<i64>,
    ) -> Result<i64, StoreError> {
        validate::increment(by, cap)?;
        let now = self.now();
        let counter = CounterUpdate::new(by, cap, now);
        let mut update = counter.expression.clone();
        if expires_at.is_some() {
            update.push_str(", #ttl = :exp");
        }
        // Three rounds at most: an expired counter that someone else replaces between our two
        // calls is live on the next round, and racing replacements cannot repeat forever.
        for _ in 0..3 {
            let mut request = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_attributes(key)))
                .update_expression(&update)
                .condition_expression(&counter.condition)
                .set_expression_attribute_names(names(&[&update, &counter.condition]))
                .set_expression_attribute_values(Some(counter.values.clone()))
                .return_values(ReturnValue::UpdatedNew)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            if let Some(exp) = expires_at {
                request = request.expression_attribute_values(":exp", number(exp));
            }
            round_trips::record();
            match settle("UpdateItem", request.send().await)? {
                Settled::Done(output) => {
                    let attrs = output.attributes.unwrap_or_default();
                    return integer(&attrs, "d").ok_or_else(|| {
                        StoreError::Backend(format!(
                            "counter {}/{} holds no integer",
                            key.pk, key.sk
                        ))
                    });
                }
                Settled::ConditionFailed(Some(old)) if !is_live(&old, now) => {
                    // Expired but not yet deleted by TTL: it counts as 0, so start again at `by`.
                    if cap.is_some_and(|cap| by > cap) {
                        return Err(StoreError::CapReached { current: 0 });
                    }
                    if self
                        .replace_expired_counter(key, by, expires_at, now)
                        .await?
                    {
                        return Ok(by);
                    }
                }
                Settled::ConditionFailed(None) => {
                    // Absent, with `by` alone above the cap.
                    return Err(StoreError::CapReached { current: 0 });
                }
                Settled::ConditionFailed(Some(old)) => {
                    // Live and at its cap (a document that is no counter compares as "not <=").
                    return match integer(&old, "d") {
                        Some(current) => Err(StoreError::CapReached { current }),
                        None => Err(StoreError::Invalid(format!(
                            "{}/{} is not a counter",
                            key.pk, key.sk
                        ))),
                    };
                }
            }
        }
        Err(StoreError::Unavailable(
            "the counter kept changing under concurrent writers".to_owned(),
        ))
    }

    async fn advance(
        &self,
        key: &ItemKey,
        step_ms: i64,
        max_ahead_ms: i64,
    ) -> Result<i64, StoreError> {
        validate::advance(step_ms, max_ahead_ms)?;
        let now = self.now_both();
        let expires_at = deadline::expires_at(now.ms, max_ahead_ms);
        // The guess only saves round trips; each write's condition checks it, and a failed one
        // returns the old item, which says what to send instead (or that the limit is reached).
        // Three rounds at most: a second one follows a wrong guess, a third only a cursor that
        // other writers changed under us twice, which repeats at worst as often as they write.
        let mut guess = self.hints.guess(key, now);
        for _ in 0..3 {
            match self
                .advance_once(key, guess, now, step_ms, max_ahead_ms)
                .await?
            {
                Settled::Done(next) => {
                    self.hints.remember(
                        key,
                        Seen {
                            deadline_ms: next,
                            expires_at,
                        },
                    );
                    return Ok(next);
                }
                Settled::ConditionFailed(old) => {
                    match Truth::of(old.as_ref(), now, step_ms, max_ahead_ms) {
                        Truth::Send(corrected) => guess = corrected,
                        Truth::Refused { current, seen } => {
                            self.hints.remember(key, seen);
                            return Err(StoreError::LimitReached { current });
                        }
                        Truth::NotADeadline => {
                            return Err(StoreError::Invalid(format!(
                                "{}/{} is not a deadline cursor",
                                key.pk, key.sk
                            )));
                        }
                    }
                }
            }
        }
        Err(StoreError::Unavailable(
            "the deadline kept changing under concurrent writers".to_owned(),
        ))
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate::transaction(&ops)?;
        let now = self.now_both();
        let mut plans: Vec<Plan> = ops
            .iter()
            .map(|op| match op {
                WriteOp::Advance { key, .. } => Plan::Advance(self.hints.guess(key, now)),
                _ => Plan::AsIs,
            })
            .collect();
        // A write whose condition failed only because the adapter guessed the item's state
        // wrong (an expired counter, an advance's shape) is corrected from the old item and the
        // transaction sent again; a correction that loses a race is corrected again.
        for _ in 0..4 {
            let items = ops
                .iter()
                .zip(&plans)
                .map(|(op, plan)| self.transact_item(op, *plan, now))
                .collect::<Result<Vec<_>, _>>()?;
            round_trips::record();
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            let error = match result {
                Ok(_) => {
                    self.remember_advances(&ops, &plans, now);
                    return Ok(());
                }
                Err(error) => error,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
                error.as_service_error()
            else {
                return Err(service_failure("TransactWriteItems", &error));
            };
            let reasons = cancelled.cancellation_reasons();
            let failed: Vec<usize> = reasons
                .iter()
                .enumerate()
                .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                .map(|(index, _)| index)
                .collect();
            if failed.is_empty() {
                return Err(cancelled_without_condition_failure(reasons));
            }
            // Each failed condition comes with its old item: correct every wrong guess at once,
            // and name the first write that failed for real.
            for index in failed {
                let Some(op) = ops.get(index) else {
                    return Err(StoreError::Backend(format!(
                        "TransactWriteItems cancelled write {index} of {}",
                        ops.len()
                    )));
                };
                match self.correct(op, plans[index], reasons[index].item(), now) {
                    Some(plan) => plans[index] = plan,
                    None => return Err(StoreError::TransactionConflict { index }),
                }
            }
        }
        Err(StoreError::Unavailable(
            "the transaction's counters or deadlines kept changing under concurrent writers"
                .to_owned(),
        ))
    }

    async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
        page: PageRequest,
    ) -> Result<Page, StoreError> {
        validate::page(&page)?;
        let start = match &page.cursor {
            Some(cursor) => Some(decode_cursor(cursor, &[("pk", pk)], &["sk"])?),
            None => None,
        };
        let now = self.now();
        let key_condition = if sk_prefix.is_empty() {
            "#pk = :pk".to_owned()
        } else {
            "#pk = :pk AND begins_with(#sk, :prefix)".to_owned()
        };
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(&key_condition)
            .filter_expression(LIVE)
            .set_expression_attribute_names(names(&[&key_condition, LIVE]))
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .expression_attribute_values(":now", number(now))
            .scan_index_forward(!page.descending)
            .limit(page_limit(&page))
            .consistent_read(true)
            .set_exclusive_start_key(start);
        if !sk_prefix.is_empty() {
            request =
                request.expression_attribute_values(":prefix", AttributeValue::S(sk_prefix.into()));
        }
        round_trips::record();
        let output = request
            .send()
            .await
            .map_err(|e| service_failure("Query", &e))?;
        page_of(output.items.unwrap_or_default(), output.last_evaluated_key)
    }

    async fn due_by(&self, queue: &str, by: i64, page: PageRequest) -> Result<Page, StoreError> {
        validate::page(&page)?;
        let start = match &page.cursor {
            Some(cursor) => Some(decode_cursor(
                cursor,
                &[("due_q", queue)],
                &["pk", "sk", "due_at"],
            )?),
            None => None,
        };
        let now = self.now();
        let key_condition = "#dq = :q AND #da <= :by";
        round_trips::record();
        // A GSI cannot be read consistently: an item written a moment ago may be missing from
        // the first sweep that follows it, and shows up in the next.
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(DUE_INDEX)
            .key_condition_expression(key_condition)
            .filter_expression(LIVE)
            .set_expression_attribute_names(names(&[key_condition, LIVE]))
            .expression_attribute_values(":q", AttributeValue::S(queue.to_owned()))
            .expression_attribute_values(":by", number(by))
            .expression_attribute_values(":now", number(now))
            .scan_index_forward(!page.descending)
            .limit(page_limit(&page))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| service_failure("Query", &e))?;
        page_of(output.items.unwrap_or_default(), output.last_evaluated_key)
    }

    async fn scan(&self, page: PageRequest) -> Result<Page, StoreError> {
        validate::scan(&page)?;
        let start = match &page.cursor {
            Some(cursor) => Some(decode_cursor(cursor, &[], &["pk", "sk"])?),
            None => None,
        };
        round_trips::record();
        // No filter: the caller wants expired items, and live ones it may judge itself (an
        // audit entry past a retention shortened since it was written). A filter would not
        // save read capacity anyway, which DynamoDB charges for every item evaluated. Eventually
        // consistent at half the cost: every delete that follows is conditional.
        let output = self
            .client
            .scan()
            .table_name(&self.table)
            .limit(page_limit(&page))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| service_failure("Scan", &e))?;
        page_of(output.items.unwrap_or_default(), output.last_evaluated_key)
    }

    async fn delete_expired(&self, key: &ItemKey) -> Result<bool, StoreError> {
        let now = self.now();
        round_trips::record();
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .condition_expression(EXPIRED)
            .set_expression_attribute_names(names(&[EXPIRED]))
            .expression_attribute_values(":now", number(now))
            .send()
            .await;
        match settle("DeleteItem", result)? {
            Settled::Done(_) => Ok(true),
            Settled::ConditionFailed(_) => Ok(false),
        }
    }
}

impl DynamoStore {
    /// What the old item of a failed write says to send next round; `None` when the write
    /// failed for real (a conflict, a cap, a limit).
    fn correct(
        &self,
        op: &WriteOp,
        plan: Plan,
        old: Option<&HashMap<String, AttributeValue>>,
        now: Now,
    ) -> Option<Plan> {
        match (op, plan) {
            // Someone replaced the expired counter first: increment it after all.
            (WriteOp::Increment { .. }, Plan::ReplaceExpiredCounter) => Some(Plan::AsIs),
            (WriteOp::Increment { by, cap, .. }, _)
                if old.is_some_and(|old| !is_live(old, now.secs))
                    && !cap.is_some_and(|cap| *by > cap) =>
            {
                Some(Plan::ReplaceExpiredCounter)
            }
            (
                WriteOp::Advance {
                    key,
                    step_ms,
                    max_ahead_ms,
                },
                _,
            ) => match Truth::of(old, now, *step_ms, *max_ahead_ms) {
                Truth::Send(guess) => Some(Plan::Advance(guess)),
                Truth::Refused { seen, .. } => {
                    self.hints.remember(key, seen);
                    None
                }
                Truth::NotADeadline => None,
            },
            _ => None,
        }
    }

    /// After a transaction went through, what its advances wrote, for the next guesses.
    fn remember_advances(&self, ops: &[WriteOp], plans: &[Plan], now: Now) {
        for (op, plan) in ops.iter().zip(plans) {
            if let (
                WriteOp::Advance {
                    key,
                    step_ms,
                    max_ahead_ms,
                },
                Plan::Advance(guess),
            ) = (op, plan)
            {
                // A busy cursor's new deadline is not returned by a transaction: the deadline
                // the guess was based on plus the step is close, and only ever a hint.
                let next = guess.deadline_ms.max(now.ms).saturating_add(*step_ms);
                self.hints.remember(
                    key,
                    Seen {
                        deadline_ms: next,
                        expires_at: deadline::expires_at(now.ms, *max_ahead_ms),
                    },
                );
            }
        }
    }

    /// One write of a transaction, as `plan` says to send it. Every conditional write asks for
    /// the old item on failure, so a write blocked only by a wrong guess (an expired counter,
    /// an advance's shape) can be told from one that failed for real.
    fn transact_item(
        &self,
        op: &WriteOp,
        plan: Plan,
        at: Now,
    ) -> Result<TransactWriteItem, StoreError> {
        let old = ReturnValuesOnConditionCheckFailure::AllOld;
        // Every write but an advance needs only the seconds, for expiry.
        let now = at.secs;
        let item = match op {
            WriteOp::Create(item) => TransactWriteItem::builder().put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item_attributes(item, 1)?))
                    .condition_expression(ABSENT)
                    .set_expression_attribute_names(names(&[ABSENT]))
                    .expression_attribute_values(":now", number(now))
                    .return_values_on_condition_check_failure(old)
                    .build()
                    .map_err(build_failure)?,
            ),
            WriteOp::Update {
                item,
                expected_version,
            } => {
                let condition = version_condition();
                TransactWriteItem::builder().put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item_attributes(item, expected_version + 1)?))
                        .set_expression_attribute_names(names(&[&condition]))
                        .condition_expression(condition)
                        .expression_attribute_values(":now", number(now))
                        .expression_attribute_values(":expected", number(*expected_version))
                        .return_values_on_condition_check_failure(old)
                        .build()
                        .map_err(build_failure)?,
                )
            }
            WriteOp::Delete {
                key,
                expected_version,
            } => {
                let mut delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attributes(key)));
                if let Some(expected) = expected_version {
                    let condition = version_condition();
                    delete = delete
                        .set_expression_attribute_names(names(&[&condition]))
                        .condition_expression(condition)
                        .expression_attribute_values(":now", number(now))
                        .expression_attribute_values(":expected", number(*expected))
                        .return_values_on_condition_check_failure(old);
                }
                TransactWriteItem::builder().delete(delete.build().map_err(build_failure)?)
            }
            WriteOp::Increment { key, by, .. } if matches!(plan, Plan::ReplaceExpiredCounter) => {
                // The transaction keeps an existing counter's expiry; an expired one had none
                // worth keeping, so its replacement has none.
                let counter = NewItem::new(key.clone(), Value::from(*by));
                TransactWriteItem::builder().put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item_attributes(&counter, 1)?))
                        .condition_expression(EXPIRED)
                        .set_expression_attribute_names(names(&[EXPIRED]))
                        .expression_attribute_values(":now", number(now))
                        .return_values_on_condition_check_failure(old)
                        .build()
                        .map_err(build_failure)?,
                )
            }
            WriteOp::Increment { key, by, cap } => {
                let counter = CounterUpdate::new(*by, *cap, now);
                TransactWriteItem::builder().update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attributes(key)))
                        .update_expression(&counter.expression)
                        .condition_expression(&counter.condition)
                        .set_expression_attribute_names(names(&[
                            &counter.expression,
                            &counter.condition,
                        ]))
                        .set_expression_attribute_values(Some(counter.values))
                        .return_values_on_condition_check_failure(old)
                        .build()
                        .map_err(build_failure)?,
                )
            }
            WriteOp::Advance {
                key,
                step_ms,
                max_ahead_ms,
            } => {
                let shape = match plan {
                    Plan::Advance(guess) => guess.shape,
                    _ => Shape::Fresh,
                };
                let write = AdvanceWrite::new(key, shape, at, *step_ms, *max_ahead_ms)?;
                match write.update {
                    None => TransactWriteItem::builder().put(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(write.fresh_item(key)?))
                            .condition_expression(&write.condition)
                            .set_expression_attribute_names(names(&[&write.condition]))
                            .set_expression_attribute_values(Some(write.values))
                            .return_values_on_condition_check_failure(old)
                            .build()
                            .map_err(build_failure)?,
                    ),
                    Some(update) => TransactWriteItem::builder().update(
                        Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_attributes(key)))
                            .update_expression(update)
                            .condition_expression(&write.condition)
                            .set_expression_attribute_names(names(&[update, &write.condition]))
                            .set_expression_attribute_values(Some(write.values))
                            .return_values_on_condition_check_failure(old)
                            .build()
                            .map_err(build_failure)?,
                    ),
                }
            }
            WriteOp::Check {
                key,
                expected_version,
            } => {
                let condition = version_condition();
                TransactWriteItem::builder().condition_check(
                    ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attributes(key)))
                        .set_expression_attribute_names(names(&[&condition]))
                        .condition_expression(condition)
                        .expression_attribute_values(":now", number(now))
                        .expression_attribute_values(":expected", number(*expected_version))
                        .return_values_on_condition_check_failure(old)
                        .build()
                        .map_err(build_failure)?,
                )
            }
        };
        Ok(item.build())
    }
}

/// The store clock's now, read once per operation: seconds for expiry, milliseconds for
/// deadline cursors, from the same instant.
#[derive(Clone, Copy, Debug)]
struct Now {
    secs: i64,
    ms: i64,
}

/// How a transaction sends one write this round.
#[derive(Clone, Copy, Debug)]
enum Plan {
    /// As the operation says.
    AsIs,
    /// An increment written as a fresh counter over an expired one.
    ReplaceExpiredCounter,
    /// An advance, in the shape guessed for its cursor.
    Advance(Guess),
}

/// Which write an advance sends. DynamoDB's update expressions have no max(), and a cursor
/// that expired restarts at version 1 while a live one counts on, so one expression cannot
/// serve every state: the adapter guesses the state, and the condition checks the guess.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Absent, or expired and waiting for TTL deletion: a new item (PutItem, so nothing of an
    /// expired item in the way survives) at `now + step`, version 1.
    Fresh,
    /// Live, deadline at or before now: `d = now + step`, version + 1.
    Idle,
    /// Live, deadline ahead of now but not past `now + max_ahead - step`: `d = d + step`,
    /// version + 1. Not conditional on the version, so racing advances all land (up to the
    /// limit) without retrying each other out.
    Busy,
}

/// The shape to send and the deadline it was inferred from (now for a fresh cursor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Guess {
    shape: Shape,
    deadline_ms: i64,
}

/// What the store last saw of a cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    deadline_ms: i64,
    expires_at: i64,
}

impl Seen {
    fn guess(self, now: Now) -> Guess {
        let shape = if self.expires_at <= now.secs {
            Shape::Fresh
        } else if self.deadline_ms <= now.ms {
            Shape::Idle
        } else {
            Shape::Busy
        };
        Guess {
            shape,
            deadline_ms: self.deadline_ms,
        }
    }
}

/// The last deadline seen per cursor, so that an advance usually guesses its shape right the
/// first time and takes one round trip. Only an optimisation (every write is conditional), so
/// it is small and simply forgotten when full: a forgotten cursor costs at most one more round
/// trip. A cold guess is [`Shape::Fresh`]: a cursor this process has not seen lately is most
/// likely absent or expired.
#[derive(Default)]
struct DeadlineHints {
    seen: Mutex<HashMap<ItemKey, Seen>>,
}

/// How many cursors [`DeadlineHints`] remembers before starting over.
const MAX_DEADLINE_HINTS: usize = 4096;

impl DeadlineHints {
    fn guess(&self, key: &ItemKey, now: Now) -> Guess {
        let seen = self.lock().get(key).copied();
        seen.map_or(
            Guess {
                shape: Shape::Fresh,
                deadline_ms: now.ms,
            },
            |seen| seen.guess(now),
        )
    }

    fn remember(&self, key: &ItemKey, seen: Seen) {
        let mut hints = self.lock();
        if hints.len() >= MAX_DEADLINE_HINTS && !hints.contains_key(key) {
            hints.clear();
        }
        hints.insert(key.clone(), seen);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ItemKey, Seen>> {
        // A panic while holding the lock cannot leave a hint half-written; keep using it.
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What the old item returned by a failed advance says.
enum Truth {
    /// The guess was wrong: send this instead.
    Send(Guess),
    /// The cursor is too far ahead: refused, with what was seen of it.
    Refused { current: i64, seen: Seen },
    /// A live item that is not a deadline cursor.
    NotADeadline,
}

impl Truth {
    fn of(
        old: Option<&HashMap<String, AttributeValue>>,
        now: Now,
        step_ms: i64,
        max_ahead_ms: i64,
    ) -> Self {
        let Some(old) = old.filter(|old| is_live(old, now.secs)) else {
            return Truth::Send(Guess {
                shape: Shape::Fresh,
                deadline_ms: now.ms,
            });
        };
        let Some(current) = integer(old, "d") else {
            return Truth::NotADeadline;
        };
        match deadline::advance(Some(current), now.ms, step_ms, max_ahead_ms) {
            deadline::Outcome::LimitReached(current) => Truth::Refused {
                current,
                seen: Seen {
                    deadline_ms: current,
                    // A live item without a ttl is not ours, but a deadline all the same.
                    expires_at: integer(old, TTL_ATTRIBUTE).unwrap_or(i64::MAX),
                },
            },
            deadline::Outcome::Advanced(_) => Truth::Send(Guess {
                shape: if current <= now.ms {
                    Shape::Idle
                } else {
                    Shape::Busy
                },
                deadline_ms: current,
            }),
        }
    }
}

/// The write of one advance in one shape, shared by [`Store::advance`] and transactions.
struct AdvanceWrite {
    /// The update expression; `None` for a fresh cursor, which is put whole.
    update: Option<&'static str>,
    condition: String,
    values: HashMap<String, AttributeValue>,
    /// The new deadline when the shape fixes it (fresh and idle cursors).
    next: i64,
    expires_at: i64,
}

impl AdvanceWrite {
    fn new(
        key: &ItemKey,
        shape: Shape,
        now: Now,
        step_ms: i64,
        max_ahead_ms: i64,
    ) -> Result<Self, StoreError> {
        let overflow = || {
            StoreError::Invalid(format!(
                "advancing {}/{} would overflow the clock",
                key.pk, key.sk
            ))
        };
        let next = now.ms.checked_add(step_ms).ok_or_else(overflow)?;
        let expires_at = deadline::expires_at(now.ms, max_ahead_ms);
        let mut values = HashMap::from([(":now".to_owned(), number(now.secs))]);
        let (update, condition) = match shape {
            Shape::Fresh => (None, ABSENT.to_owned()),
            Shape::Idle => {
                values.insert(":num".to_owned(), AttributeValue::S("N".to_owned()));
                values.insert(":nowms".to_owned(), number(now.ms));
                values.insert(":next".to_owned(), number(next));
                values.insert(":exp".to_owned(), number(expires_at));
                values.insert(":one".to_owned(), number(1));
                (
                    Some("SET #d = :next, #ttl = :exp, #v = #v + :one"),
                    // The type test keeps a document in the way from reaching the comparison.
                    format!("attribute_type(#d, :num) AND #d <= :nowms AND {LIVE}"),
                )
            }
            Shape::Busy => {
                // The latest deadline that may still take a step.
                let last = now
                    .ms
                    .checked_add(max_ahead_ms - step_ms)
                    .ok_or_else(overflow)?;
                values.insert(":num".to_owned(), AttributeValue::S("N".to_owned()));
                values.insert(":nowms".to_owned(), number(now.ms));
                values.insert(":last".to_owned(), number(last));
                values.insert(":step".to_owned(), number(step_ms));
                values.insert(":exp".to_owned(), number(expires_at));
                values.insert(":one".to_owned(), number(1));
                (
                    Some("SET #d = #d + :step, #ttl = :exp, #v = #v + :one"),
                    format!("attribute_type(#d, :num) AND #d > :nowms AND #d <= :last AND {LIVE}"),
                )
            }
        };
        Ok(Self {
            update,
            condition,
            values,
            next,
            expires_at,
        })
    }

    /// The whole item of a fresh cursor.
    fn fresh_item(&self, key: &ItemKey) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let cursor = NewItem::new(key.clone(), Value::from(self.next)).expiring_at(self.expires_at);
        item_attributes(&cursor, 1)
    }
}

/// The update and condition of an increment, shared by [`Store::increment`] and transactions.
struct CounterUpdate {
    expression: String,
    condition: String,
    values: HashMap<String, AttributeValue>,
}

impl CounterUpdate {
    fn new(by: i64, cap: Option<i64>, now: i64) -> Self {
        let mut values = HashMap::from([
            (":by".to_owned(), number(by)),
            (":zero".to_owned(), number(0)),
            (":one".to_owned(), number(1)),
            (":now".to_owned(), number(now)),
        ]);
        let condition = match cap {
            // Only a number can be counted: a document in the way fails the condition (and is
            // reported as "not a counter") instead of failing the arithmetic with a 400.
            None => {
                values.insert(":num".to_owned(), AttributeValue::S("N".to_owned()));
                format!("(attribute_not_exists(#d) OR attribute_type(#d, :num)) AND {LIVE}")
            }
            Some(cap) => {
                // `validate::increment` keeps both non-negative, so this cannot overflow.
                let limit = cap - by;
                values.insert(":limit".to_owned(), number(limit));
                // The type test keeps a document in the way from reaching the comparison.
                values.insert(":num".to_owned(), AttributeValue::S("N".to_owned()));
                let counted = "(attribute_type(#d, :num) AND #d <= :limit)";
                if limit >= 0 {
                    format!("(attribute_not_exists(#d) OR {counted}) AND {LIVE}")
                } else {
                    // `by` alone passes the cap: fail even on a missing counter, in the same
                    // round trip that reports the current value.
                    format!("{counted} AND {LIVE}")
                }
            }
        };
        Self {
            expression:
                "SET #d = if_not_exists(#d, :zero) + :by, #v = if_not_exists(#v, :zero) + :one"
                    .to_owned(),
            condition,
            values,
        }
    }
}

/// `#v = :expected` on a live item.
fn version_condition() -> String {
    format!("#v = :expected AND {LIVE}")
}

/// The placeholders the given expressions use, as DynamoDB wants them (no unused ones).
fn names(expressions: &[&str]) -> Option<HashMap<String, String>> {
    let used: HashMap<String, String> = NAMES
        .iter()
        .filter(|(placeholder, _)| {
            expressions
                .iter()
                .any(|expression| uses_placeholder(expression, placeholder))
        })
        .map(|(placeholder, name)| ((*placeholder).to_owned(), (*name).to_owned()))
        .collect();
    (!used.is_empty()).then_some(used)
}

/// `#d` appears as a whole token (not as the start of `#dq`).
fn uses_placeholder(expression: &str, placeholder: &str) -> bool {
    expression.match_indices(placeholder).any(|(at, _)| {
        !expression[at + placeholder.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn number(n: impl ToString) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

fn key_attributes(key: &ItemKey) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(key.pk.clone())),
        ("sk".to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

fn item_attributes(
    item: &NewItem,
    version: u64,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let mut attrs = key_attributes(&item.key);
    attrs.insert("v".to_owned(), number(version));
    let data = serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(&item.data)
        .map_err(|e| StoreError::Invalid(format!("the item's data cannot be stored: {e}")))?;
    attrs.insert("d".to_owned(), data);
    if let Some(expires_at) = item.expires_at {
        attrs.insert(TTL_ATTRIBUTE.to_owned(), number(expires_at));
    }
    if let Some(due) = &item.due {
        attrs.insert("due_q".to_owned(), AttributeValue::S(due.queue.clone()));
        attrs.insert("due_at".to_owned(), number(due.at));
    }
    Ok(attrs)
}

/// What a successful write stored, without reading it back.
fn stored(item: NewItem, version: u64) -> Item {
    Item {
        key: item.key,
        data: item.data,
        version,
        expires_at: item.expires_at,
        due: item.due,
    }
}

fn is_live(attrs: &HashMap<String, AttributeValue>, now: i64) -> bool {
    integer(attrs, TTL_ATTRIBUTE).is_none_or(|ttl| ttl > now)
}

/// The version of `old` if it is a live item (what a conflict reports).
fn live_version(old: Option<&HashMap<String, AttributeValue>>, now: i64) -> Option<u64> {
    old.filter(|attrs| is_live(attrs, now))
        .and_then(|attrs| integer(attrs, "v"))
        .and_then(|v| u64::try_from(v).ok())
}

fn integer(attrs: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    match attrs.get(name) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
}

fn string(attrs: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    match attrs.get(name) {
        Some(AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    }
}

fn read_item(attrs: &HashMap<String, AttributeValue>) -> Result<Item, StoreError> {
    let malformed = |what: &str| {
        StoreError::Backend(format!(
            "malformed item {:?}/{:?}: {what}",
            string(attrs, "pk").unwrap_or_default(),
            string(attrs, "sk").unwrap_or_default()
        ))
    };
    let key = ItemKey::new(
        string(attrs, "pk").ok_or_else(|| malformed("no pk"))?,
        string(attrs, "sk").ok_or_else(|| malformed("no sk"))?,
    );
    let version = integer(attrs, "v")
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| malformed("no version"))?;
    let data = match attrs.get("d") {
        Some(d) => serde_dynamo::aws_sdk_dynamodb_1::from_attribute_value(d.clone())
            .map_err(|e| malformed(&format!("data: {e}")))?,
        None => Value::Null,
    };
    let due = match (string(attrs, "due_q"), integer(attrs, "due_at")) {
        (Some(queue), Some(at)) => Some(Due { queue, at }),
        _ => None,
    };
    Ok(Item {
        key,
        data,
        version,
        expires_at: integer(attrs, TTL_ATTRIBUTE),
        due,
    })
}

fn page_limit(page: &PageRequest) -> i32 {
    // `validate::page` keeps it within 1..=1000.
    i32::try_from(page.limit).unwrap_or(1000)
}

fn page_of(
    items: Vec<HashMap<String, AttributeValue>>,
    last_key: Option<HashMap<String, AttributeValue>>,
) -> Result<Page, StoreError> {
    Ok(Page {
        items: items.iter().map(read_item).collect::<Result<_, _>>()?,
        cursor: last_key
            .filter(|key| !key.is_empty())
            .map(|key| encode_cursor(&key))
            .transpose()?,
    })
}

/// A cursor is DynamoDB's `LastEvaluatedKey` as JSON (strings and numbers only), base64url.
fn encode_cursor(key: &HashMap<String, AttributeValue>) -> Result<String, StoreError> {
    let mut json = serde_json::Map::new();
    for (name, value) in key {
        let value =
            match value {
                AttributeValue::S(s) => Value::from(s.as_str()),
                AttributeValue::N(n) => Value::from(n.parse::<i64>().map_err(|_| {
                    StoreError::Backend(format!("page key {name} is not an integer"))
                })?),
                _ => {
                    return Err(StoreError::Backend(format!(
                        "page key {name} has an unexpected type"
                    )));
                }
            };
        json.insert(name.clone(), value);
    }
    Ok(URL_SAFE_NO_PAD.encode(Value::Object(json).to_string()))
}

/// Decodes a cursor and checks it belongs to this query: exactly the `fixed` attributes with
/// these values, plus the `free` ones (strings, or integers for `due_at`). Anything else is
/// [`StoreError::InvalidCursor`], never a request DynamoDB would reject.
fn decode_cursor(
    cursor: &str,
    fixed: &[(&str, &str)],
    free: &[&str],
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    let Ok(Value::Object(json)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(StoreError::InvalidCursor);
    };
    if json.len() != fixed.len() + free.len() {
        return Err(StoreError::InvalidCursor);
    }
    let mut key = HashMap::new();
    for (name, expected) in fixed {
        match json.get(*name) {
            Some(Value::String(s)) if s == expected => {
                key.insert((*name).to_owned(), AttributeValue::S(s.clone()));
            }
            _ => return Err(StoreError::InvalidCursor),
        }
    }
    for name in free {
        let value = match (json.get(*name), *name) {
            (Some(Value::Number(n)), "due_at") if n.is_i64() => number(n),
            (Some(Value::String(s)), other) if other != "due_at" => AttributeValue::S(s.clone()),
            _ => return Err(StoreError::InvalidCursor),
        };
        key.insert((*name).to_owned(), value);
    }
    Ok(key)
}

/// A call either went through or failed its condition (with the old item when DynamoDB sent
/// it); everything else is an error.
enum Settled<T> {
    Done(T),
    ConditionFailed(Option<HashMap<String, AttributeValue>>),
}

/// The operation errors that can carry a failed condition.
trait ConditionFailure {
    fn condition_failure(&self) -> Option<&ConditionalCheckFailedException>;
}

impl ConditionFailure for PutItemError {
    fn condition_failure(&self) -> Option<&ConditionalCheckFailedException> {
        match self {
            PutItemError::ConditionalCheckFailedException(e) => Some(e),
            _ => None,
        }
    }
}

impl ConditionFailure for UpdateItemError {
    fn condition_failure(&self) -> Option<&ConditionalCheckFailedException> {
        match self {
            UpdateItemError::ConditionalCheckFailedException(e) => Some(e),
            _ => None,
        }
    }
}

impl ConditionFailure for DeleteItemError {
    fn condition_failure(&self) -> Option<&ConditionalCheckFailedException> {
        match self {
            DeleteItemError::ConditionalCheckFailedException(e) => Some(e),
            _ => None,
        }
    }
}

fn settle<T, E, R>(
    operation: &str,
    result: Result<T, SdkError<E, R>>,
) -> Result<Settled<T>, StoreError>
where
    E: ConditionFailure + ProvideErrorMetadata + std::error::Error + 'static,
    R: Debug,
{
    match result {
        Ok(output) => Ok(Settled::Done(output)),
        Err(error) => match error
            .as_service_error()
            .and_then(ConditionFailure::condition_failure)
        {
            Some(failed) => Ok(Settled::ConditionFailed(failed.item().cloned())),
            None => Err(service_failure(operation, &error)),
        },
    }
}

/// Error codes that mean "busy or briefly unreachable: try again later". The SDK has already
/// retried the throttling ones within the time budget when they reach us.
const TRANSIENT_CODES: [&str; 6] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "InternalServerError",
    "ServiceUnavailable",
];

/// Maps a failed call to [`StoreError::Unavailable`] (throttled, timed out, unreachable) or
/// [`StoreError::Backend`]. Messages carry the operation, DynamoDB's error code and message,
/// never credentials or request contents.
fn service_failure<E, R>(operation: &str, error: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: Debug,
{
    match error {
        SdkError::TimeoutError(_) => {
            StoreError::Unavailable(format!("{operation}: DynamoDB did not answer in time"))
        }
        SdkError::DispatchFailure(failure) => {
            let why = if failure.is_timeout() {
                "timed out"
            } else if failure.is_io() {
                "connection failed"
            } else {
                "request could not be sent"
            };
            StoreError::Unavailable(format!("{operation}: {why}"))
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("unknown error");
            let message = service.err().message().unwrap_or("");
            if TRANSIENT_CODES.contains(&code) {
                StoreError::Unavailable(format!("{operation}: {code}"))
            } else {
                StoreError::Backend(format!("{operation}: {code}: {message}"))
            }
        }
        SdkError::ResponseError(_) => {
            StoreError::Unavailable(format!("{operation}: unreadable response from DynamoDB"))
        }
        SdkError::ConstructionFailure(_) => {
            StoreError::Backend(format!("{operation}: the request could not be built"))
        }
        _ => StoreError::Backend(format!("{operation}: {}", error.code().unwrap_or("failed"))),
    }
}

/// A transaction cancelled for a reason other than a condition: a concurrent transaction or
/// throttling is transient; anything else (validation) is a bug on our side.
fn cancelled_without_condition_failure(
    reasons: &[aws_sdk_dynamodb::types::CancellationReason],
) -> StoreError {
    let codes: Vec<&str> = reasons
        .iter()
        .filter_map(|r| r.code())
        .filter(|code| *code != "None")
        .collect();
    let transient = codes.iter().all(|code| {
        matches!(
            *code,
            "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
        )
    });
    let summary = format!("TransactWriteItems cancelled: {}", codes.join(", "));
    if transient && !codes.is_empty() {
        StoreError::Unavailable(summary)
    } else {
        StoreError::Backend(summary)
    }
}

fn build_failure(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("a DynamoDB request could not be built: {error}"))
}

/// What [`create_table`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableStatus {
    Created,
    AlreadyExisted,
}

/// Creates the table the store expects (keys `pk`/`sk`, GSI `due`, on-demand billing), waits
/// until it is active, and turns TTL on for `ttl`. Idempotent: an existing table is reported
/// (and its TTL setting completed), after checking it has the store's keys and index.
pub async fn create_table(client: &Client, table: &str) -> Result<TableStatus, StoreError> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(build_failure)
    };
    let attribute = |name: &str, kind: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .map_err(build_failure)
    };
    let due_index = GlobalSecondaryIndex::builder()
        .index_name(DUE_INDEX)
        .key_schema(key("due_q", KeyType::Hash)?)
        .key_schema(key("due_at", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(build_failure)?;
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .attribute_definitions(attribute("pk", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("sk", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("due_q", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("due_at", ScalarAttributeType::N)?)
        .global_secondary_indexes(due_index)
        .send()
        .await;
    let status = match created {
        Ok(_) => TableStatus::Created,
        Err(error) if error.code() == Some("ResourceInUseException") => TableStatus::AlreadyExisted,
        Err(error) => return Err(service_failure("CreateTable", &error)),
    };
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(Duration::from_secs(300))
        .await
        .map_err(|e| {
            StoreError::Unavailable(format!("table {table} did not become active: {e}"))
        })?;
    if status == TableStatus::AlreadyExisted {
        check_layout(client, table).await?;
    }
    enable_ttl(client, table).await?;
    Ok(status)
}

/// An existing table must have the store's keys and due index, or every call would fail later
/// with a less helpful message.
async fn check_layout(client: &Client, table: &str) -> Result<(), StoreError> {
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| service_failure("DescribeTable", &e))?;
    let Some(description) = described.table() else {
        return Err(StoreError::Backend(format!(
            "table {table} has no description"
        )));
    };
    let keys: Vec<(&str, &str)> = description
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    let has_due = description.global_secondary_indexes().iter().any(|index| {
        index.index_name() == Some(DUE_INDEX)
            && index
                .key_schema()
                .iter()
                .map(|k| (k.attribute_name(), k.key_type().as_str()))
                .eq([("due_q", "HASH"), ("due_at", "RANGE")])
    });
    if keys != [("pk", "HASH"), ("sk", "RANGE")] || !has_due {
        return Err(StoreError::Invalid(format!(
            "table {table} exists but is not laid out for Gavel (keys pk/sk and GSI {DUE_INDEX} on due_q/due_at)"
        )));
    }
    Ok(())
}

async fn enable_ttl(client: &Client, table: &str) -> Result<(), StoreError> {
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| service_failure("DescribeTimeToLive", &e))?;
    if let Some(ttl) = current.time_to_live_description() {
        let on = matches!(
            ttl.time_to_live_status(),
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        );
        if on && ttl.attribute_name() == Some(TTL_ATTRIBUTE) {
            return Ok(());
        }
        if on {
            return Err(StoreError::Invalid(format!(
                "table {table} expires items by {:?}, not {TTL_ATTRIBUTE:?}",
                ttl.attribute_name().unwrap_or_default()
            )));
        }
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .map_err(build_failure)?,
        )
        .send()
        .await
        .map_err(|e| service_failure("UpdateTimeToLive", &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_matched_as_whole_tokens() {
        let used = names(&["#dq = :q AND #da <= :by"]).unwrap();
        assert_eq!(used.len(), 2);
        assert!(!used.contains_key("#d"), "#d is not used by #dq");
        let used = names(&["SET #d = #d + :by", LIVE]).unwrap();
        assert_eq!(
            used,
            HashMap::from([
                ("#d".to_owned(), "d".to_owned()),
                ("#ttl".to_owned(), "ttl".to_owned())
            ])
        );
        assert_eq!(names(&[":a = :b"]), None);
    }

    #[test]
    fn cursors_round_trip_and_belong_to_their_query() {
        let key = HashMap::from([
            ("due_q".to_owned(), AttributeValue::S("q".into())),
            ("due_at".to_owned(), number(-5)),
            ("pk".to_owned(), AttributeValue::S("p".into())),
            ("sk".to_owned(), AttributeValue::S("s".into())),
        ]);
        let cursor = encode_cursor(&key).unwrap();
        assert_eq!(
            decode_cursor(&cursor, &[("due_q", "q")], &["pk", "sk", "due_at"]),
            Ok(key)
        );
        assert_eq!(
            decode_cursor(&cursor, &[("due_q", "other")], &["pk", "sk", "due_at"]),
            Err(StoreError::InvalidCursor),
            "a cursor from another queue"
        );
        assert_eq!(
            decode_cursor(&cursor, &[("pk", "p")], &["sk"]),
            Err(StoreError::InvalidCursor),
            "a due cursor given to a query"
        );
        assert_eq!(
            decode_cursor("%%%", &[("pk", "p")], &["sk"]),
            Err(StoreError::InvalidCursor)
        );
    }

    #[test]
    fn an_item_reads_back_as_written() {
        let item = NewItem::new(
            ItemKey::new("t#1", "case#1"),
            serde_json::json!({"a": [1, "two", null, {"b": true}], "n": -3}),
        )
        .expiring_at(99)
        .due("q", 42);
        let attrs = item_attributes(&item, 7).unwrap();
        assert_eq!(read_item(&attrs).unwrap(), stored(item, 7));
    }

    #[test]
    fn tuning_reads_its_variables_and_refuses_nonsense() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            StoreTuning::from_lookup(env(&[])),
            Ok(StoreTuning::default())
        );
        assert_eq!(
            StoreTuning::from_lookup(env(&[
                ("GAVEL_STORE_TIMEOUT_MS", "1500"),
                ("GAVEL_STORE_MAX_ATTEMPTS", " 2 ")
            ])),
            Ok(StoreTuning {
                timeout: Duration::from_millis(1500),
                max_attempts: 2
            })
        );
        for bad in ["0", "-1", "2s", "1.5"] {
            assert!(matches!(
                StoreTuning::from_lookup(|_: &str| Some(bad.to_owned())),
                Err(StoreError::Invalid(_))
            ));
        }
        let timeouts = StoreTuning::default().timeout_config();
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(2)));
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_secs(1))
        );
    }

    const NOW: Now = Now {
        secs: 1_800_000_000,
        ms: 1_800_000_000_500,
    };

    #[test]
    fn hints_guess_the_shape_and_forget_when_full() {
        let hints = DeadlineHints::default();
        let key = ItemKey::new("p", "bucket");
        assert_eq!(hints.guess(&key, NOW).shape, Shape::Fresh, "cold");
        let seen = |deadline_ms, expires_at| Seen {
            deadline_ms,
            expires_at,
        };
        for (hint, shape) in [
            (seen(NOW.ms + 1, NOW.secs + 5), Shape::Busy),
            (seen(NOW.ms, NOW.secs + 5), Shape::Idle),
            (seen(NOW.ms - 1, NOW.secs + 1), Shape::Idle),
            (seen(NOW.ms - 1, NOW.secs), Shape::Fresh),
        ] {
            hints.remember(&key, hint);
            assert_eq!(hints.guess(&key, NOW).shape, shape, "{hint:?}");
        }
        for n in 1..MAX_DEADLINE_HINTS {
            hints.remember(
                &ItemKey::new("p", n.to_string()),
                seen(NOW.ms + 1, i64::MAX),
            );
        }
        assert_eq!(hints.lock().len(), MAX_DEADLINE_HINTS);
        hints.remember(&key, seen(NOW.ms + 1, i64::MAX));
        assert_eq!(
            hints.lock().len(),
            MAX_DEADLINE_HINTS,
            "a known key replaces"
        );
        hints.remember(&ItemKey::new("p", "one more"), seen(NOW.ms + 1, i64::MAX));
        assert_eq!(hints.lock().len(), 1, "full: start over");
        assert_eq!(hints.guess(&key, NOW).shape, Shape::Fresh);
    }

    #[test]
    fn a_failed_advance_reads_the_truth_from_the_old_item() {
        let old = |d: AttributeValue, ttl: i64| {
            HashMap::from([("d".to_owned(), d), (TTL_ATTRIBUTE.to_owned(), number(ttl))])
        };
        let truth = |item: Option<&HashMap<String, AttributeValue>>| match Truth::of(
            item, NOW, 1_000, 3_000,
        ) {
            Truth::Send(guess) => Ok(guess.shape),
            Truth::Refused { current, .. } => Err(Some(current)),
            Truth::NotADeadline => Err(None),
        };
        assert_eq!(truth(None), Ok(Shape::Fresh), "absent");
        let expired = old(number(NOW.ms + 2_000), NOW.secs);
        assert_eq!(truth(Some(&expired)), Ok(Shape::Fresh));
        let idle = old(number(NOW.ms), NOW.secs + 3);
        assert_eq!(truth(Some(&idle)), Ok(Shape::Idle));
        let busy = old(number(NOW.ms + 2_000), NOW.secs + 3);
        assert_eq!(truth(Some(&busy)), Ok(Shape::Busy));
        let full = old(number(NOW.ms + 2_001), NOW.secs + 3);
        assert_eq!(truth(Some(&full)), Err(Some(NOW.ms + 2_001)));
        let document = old(AttributeValue::S("x".to_owned()), NOW.secs + 3);
        assert_eq!(truth(Some(&document)), Err(None));
    }

    #[test]
    fn every_advance_shape_sends_only_the_values_it_uses() {
        let key = ItemKey::new("p", "bucket");
        for shape in [Shape::Fresh, Shape::Idle, Shape::Busy] {
            let write = AdvanceWrite::new(&key, shape, NOW, 1_000, 3_000).unwrap();
            let text = format!("{} {}", write.update.unwrap_or(""), write.condition);
            for placeholder in write.values.keys() {
                assert!(
                    uses_placeholder(&text, placeholder),
                    "{shape:?} sends {placeholder} unused"
                );
            }
            assert_eq!(write.expires_at, NOW.secs + 4, "3.5 s ahead, rounded up");
        }
    }

    #[test]
    fn expiry_is_exact() {
        let attrs = HashMap::from([(TTL_ATTRIBUTE.to_owned(), number(100))]);
        assert!(is_live(&attrs, 99));
        assert!(!is_live(&attrs, 100));
        assert!(is_live(&HashMap::new(), i64::MAX));
    }
}
