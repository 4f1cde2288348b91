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

mod admin;
mod advance;
mod capacity;
mod codec;
mod counter;
mod errors;
mod expression;
mod page;
mod transact;
mod tuning;

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

pub use self::admin::{TableStatus, create_table};
use self::advance::DeadlineHints;
use self::capacity::{Read, consume_if_answered};
use self::codec::{
    is_live, item_attributes, key_attributes, live_version, number, read_item, stored,
};
use self::errors::{Settled, service_failure, settle};
use self::expression::{ABSENT, EXPIRED, LIVE, names, version_condition};
use self::page::{decode_cursor, page_limit, page_of};
pub use self::tuning::{StoreTuning, client_from_env, emulator_client};
use super::env::{self, ConfigError};
use crate::clock::Clock;
use crate::store::round_trips::Capacity;
use crate::store::{
    Item, ItemKey, NewItem, Page, PageRequest, Store, StoreError, WriteOp, round_trips, validate,
};

/// The SDK client, re-exported so that callers outside the adapters (the CLI, tests) can hold
/// one without importing `aws_*` themselves.
pub use aws_sdk_dynamodb::Client as DynamoClient;

/// The GSI that [`Store::due_by`] queries.
pub const DUE_INDEX: &str = "due";
/// The table's TTL attribute.
pub const TTL_ATTRIBUTE: &str = "ttl";

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
    pub async fn from_env(clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        let table = env::required("GAVEL_TABLE")?;
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
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        let now = self.now();
        let _trip = round_trips::record();
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            // Read-your-writes: a flow that just wrote its state reads it back.
            .consistent_read(true)
            .send()
            .await;
        let cost = match &output {
            Ok(answer) => capacity::read(answer.item.as_ref(), Read::Strong),
            Err(_) => Capacity::reads(capacity::read_halves(0, Read::Strong)),
        };
        consume_if_answered(&output, cost);
        let output = output.map_err(|e| service_failure("GetItem", &e))?;
        match output.item {
            Some(attrs) if is_live(&attrs, now) => Ok(Some(read_item(&attrs)?)),
            _ => Ok(None),
        }
    }

    async fn create(&self, item: NewItem) -> Result<Item, StoreError> {
        let now = self.now();
        let attrs = item_attributes(&item, 1)?;
        let cost = capacity::write(&attrs);
        let _trip = round_trips::record();
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
        consume_if_answered(&result, cost);
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
        let cost = capacity::write(&attrs);
        let condition = version_condition();
        let _trip = round_trips::record();
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
        consume_if_answered(&result, cost);
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
        let _trip = round_trips::record();
        let result = request.send().await;
        // Billed at the deleted item's size, which is not asked for: 1 unit, a low bound.
        consume_if_answered(&result, Capacity::writes(1));
        match settle("DeleteItem", result)? {
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
        self.increment_counter(key, by, cap, expires_at).await
    }

    async fn advance(
        &self,
        key: &ItemKey,
        step_ms: i64,
        max_ahead_ms: i64,
    ) -> Result<i64, StoreError> {
        self.advance_cursor(key, step_ms, max_ahead_ms).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.transact_writes(ops).await
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
        let _trip = round_trips::record();
        let output = request.send().await;
        consume_if_answered(&output, read_cost(&output, Read::Strong));
        let output = output.map_err(|e| service_failure("Query", &e))?;
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
        let _trip = round_trips::record();
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
            .await;
        // The index is read eventually consistently: half the units.
        consume_if_answered(&output, read_cost(&output, Read::Eventual));
        let output = output.map_err(|e| service_failure("Query", &e))?;
        page_of(output.items.unwrap_or_default(), output.last_evaluated_key)
    }

    async fn scan(&self, page: PageRequest) -> Result<Page, StoreError> {
        validate::scan(&page)?;
        let start = match &page.cursor {
            Some(cursor) => Some(decode_cursor(cursor, &[], &["pk", "sk"])?),
            None => None,
        };
        let _trip = round_trips::record();
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
            .await;
        let cost = match &output {
            Ok(answer) => capacity::read(answer.items(), Read::Eventual),
            Err(_) => Capacity::reads(capacity::read_halves(0, Read::Eventual)),
        };
        consume_if_answered(&output, cost);
        let output = output.map_err(|e| service_failure("Scan", &e))?;
        page_of(output.items.unwrap_or_default(), output.last_evaluated_key)
    }

    async fn delete_expired(&self, key: &ItemKey) -> Result<bool, StoreError> {
        let now = self.now();
        let _trip = round_trips::record();
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
        // Billed at the expired item's size, not asked for: 1 unit, a low bound.
        consume_if_answered(&result, Capacity::writes(1));
        match settle("DeleteItem", result)? {
            Settled::Done(_) => Ok(true),
            Settled::ConditionFailed(_) => Ok(false),
        }
    }
}

/// What a query's answer cost: the items it returned, read as `read` says.
fn read_cost<E, R>(
    output: &Result<
        aws_sdk_dynamodb::operation::query::QueryOutput,
        aws_sdk_dynamodb::error::SdkError<E, R>,
    >,
    read: Read,
) -> Capacity {
    match output {
        Ok(answer) => capacity::read(answer.items(), read),
        Err(_) => Capacity::reads(capacity::read_halves(0, read)),
    }
}

/// The store clock's now, read once per operation: seconds for expiry, milliseconds for
/// deadline cursors, from the same instant.
#[derive(Clone, Copy, Debug)]
struct Now {
    secs: i64,
    ms: i64,
}
