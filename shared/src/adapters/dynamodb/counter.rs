//! Counters ([`Store::increment`]): one conditional `UpdateItem` that adds, caps and types the
//! count at once, and a second round trip only to replace a counter that expired but is not
//! deleted yet.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use serde_json::Value;

use super::DynamoStore;
use super::capacity::{self, consume_if_answered};
use super::codec::{integer, is_live, item_attributes, key_attributes, number};
use super::errors::{Settled, settle};
use super::expression::{EXPIRED, LIVE, names};
use crate::store::{ItemKey, NewItem, StoreError, round_trips, validate};

impl DynamoStore {
    /// [`Store::increment`](crate::store::Store::increment).
    pub(super) async fn increment_counter(
        &self,
        key: &ItemKey,
        by: i64,
        cap: Option<i64>,
        expires_at: Option<i64>,
    ) -> Result<i64, StoreError> {
        validate::increment(by, cap)?;
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
            let cost = capacity::update(&key_attributes(key), counter.values.values());
            let _trip = round_trips::record();
            let result = request.send().await;
            consume_if_answered(&result, cost);
            match settle("UpdateItem", result)? {
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
        let attrs = item_attributes(&counter, 1)?;
        let cost = capacity::write(&attrs);
        let _trip = round_trips::record();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(attrs))
            .condition_expression(EXPIRED)
            .set_expression_attribute_names(names(&[EXPIRED]))
            .expression_attribute_values(":now", number(now))
            .send()
            .await;
        consume_if_answered(&result, cost);
        match settle("PutItem", result)? {
            Settled::Done(_) => Ok(true),
            Settled::ConditionFailed(_) => Ok(false),
        }
    }
}

/// The update and condition of an increment, shared by [`Store::increment`] and transactions.
pub(super) struct CounterUpdate {
    pub(super) expression: String,
    pub(super) condition: String,
    pub(super) values: HashMap<String, AttributeValue>,
}

impl CounterUpdate {
    pub(super) fn new(by: i64, cap: Option<i64>, now: i64) -> Self {
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
