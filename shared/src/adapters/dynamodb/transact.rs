//! Transactions ([`Store::transact`]): every write as one `TransactWriteItems`, each
//! conditional write asking for its old item on failure, so that a write blocked only by the
//! adapter's wrong guess (an expired counter, an advance's shape) is corrected and the
//! transaction sent again, while a write that failed for real names itself.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use serde_json::Value;

use super::advance::{AdvanceWrite, Guess, Seen, Shape, Truth};
use super::capacity::{self, consume_if_answered};
use super::codec::{is_live, item_attributes, key_attributes, number};
use super::counter::CounterUpdate;
use super::errors::{build_failure, cancelled_without_condition_failure, service_failure};
use super::expression::{ABSENT, EXPIRED, names, version_condition};
use super::{DynamoStore, Now};
use crate::store::{NewItem, StoreError, WriteOp, deadline, round_trips, validate};

impl DynamoStore {
    /// [`Store::transact`](crate::store::Store::transact).
    pub(super) async fn transact_writes(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
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
            let cost = capacity::transaction(&items);
            let _trip = round_trips::record();
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            consume_if_answered(&result, cost);
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

/// How a transaction sends one write this round.
#[derive(Clone, Copy, Debug)]
pub(super) enum Plan {
    /// As the operation says.
    AsIs,
    /// An increment written as a fresh counter over an expired one.
    ReplaceExpiredCounter,
    /// An advance, in the shape guessed for its cursor.
    Advance(Guess),
}
