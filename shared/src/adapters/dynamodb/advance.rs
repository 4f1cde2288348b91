//! Deadline cursors ([`Store::advance`]). DynamoDB's update expressions have no max(), so the
//! adapter guesses the cursor's state ([`Shape`]) from what it last saw ([`DeadlineHints`]),
//! sends the write that state calls for, and lets the write's condition check the guess; a
//! failed condition returns the old item, which says what to send instead ([`Truth`]).

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use serde_json::Value;

use super::capacity::{self, consume_if_answered};
use super::codec::{integer, is_live, item_attributes, key_attributes, number};
use super::errors::{Settled, settle};
use super::expression::{ABSENT, LIVE, names};
use super::{DynamoStore, Now, TTL_ATTRIBUTE};
use crate::store::{ItemKey, NewItem, StoreError, deadline, round_trips, validate};

impl DynamoStore {
    /// [`Store::advance`](crate::store::Store::advance).
    pub(super) async fn advance_cursor(
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
        let _trip = round_trips::record();
        match write.update {
            None => {
                let fresh = write.fresh_item(key)?;
                let cost = capacity::write(&fresh);
                let result = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(fresh))
                    .condition_expression(&write.condition)
                    .set_expression_attribute_names(names(&[&write.condition]))
                    .set_expression_attribute_values(Some(write.values))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .send()
                    .await;
                consume_if_answered(&result, cost);
                Ok(match settle("PutItem", result)? {
                    Settled::Done(_) => Settled::Done(write.next),
                    Settled::ConditionFailed(old) => Settled::ConditionFailed(old),
                })
            }
            Some(update) => {
                let cost = capacity::update(&key_attributes(key), write.values.values());
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
                consume_if_answered(&result, cost);
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
}

/// Which write an advance sends. DynamoDB's update expressions have no max(), and a cursor
/// that expired restarts at version 1 while a live one counts on, so one expression cannot
/// serve every state: the adapter guesses the state, and the condition checks the guess.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
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
pub(super) struct Guess {
    pub(super) shape: Shape,
    pub(super) deadline_ms: i64,
}

/// What the store last saw of a cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Seen {
    pub(super) deadline_ms: i64,
    pub(super) expires_at: i64,
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
pub(super) struct DeadlineHints {
    seen: Mutex<HashMap<ItemKey, Seen>>,
}

/// How many cursors [`DeadlineHints`] remembers before starting over.
pub(super) const MAX_DEADLINE_HINTS: usize = 4096;

impl DeadlineHints {
    pub(super) fn guess(&self, key: &ItemKey, now: Now) -> Guess {
        let seen = self.lock().get(key).copied();
        seen.map_or(
            Guess {
                shape: Shape::Fresh,
                deadline_ms: now.ms,
            },
            |seen| seen.guess(now),
        )
    }

    pub(super) fn remember(&self, key: &ItemKey, seen: Seen) {
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
pub(super) enum Truth {
    /// The guess was wrong: send this instead.
    Send(Guess),
    /// The cursor is too far ahead: refused, with what was seen of it.
    Refused { current: i64, seen: Seen },
    /// A live item that is not a deadline cursor.
    NotADeadline,
}

impl Truth {
    pub(super) fn of(
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
pub(super) struct AdvanceWrite {
    /// The update expression; `None` for a fresh cursor, which is put whole.
    pub(super) update: Option<&'static str>,
    pub(super) condition: String,
    pub(super) values: HashMap<String, AttributeValue>,
    /// The new deadline when the shape fixes it (fresh and idle cursors).
    next: i64,
    expires_at: i64,
}

impl AdvanceWrite {
    pub(super) fn new(
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
    pub(super) fn fresh_item(
        &self,
        key: &ItemKey,
    ) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let cursor = NewItem::new(key.clone(), Value::from(self.next)).expiring_at(self.expires_at);
        item_attributes(&cursor, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::super::expression::uses_placeholder;
    use super::*;

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
}
