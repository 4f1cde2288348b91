//! What each call consumes in DynamoDB's capacity units, computed from the items the adapter
//! sends and reads and the kind of each operation, and reported to
//! [`round_trips::consume`](crate::store::round_trips::consume).
//!
//! Why computed rather than read from `ReturnConsumedCapacity`: the emulator the tests run on
//! (moto) answers with a constant per operation whatever the item's size, and nothing at all
//! for `TransactWriteItems`, so what it reports could not be checked by any test. The rules
//! below are DynamoDB's documented ones ("DynamoDB item sizes and formats" and "Read/write
//! capacity" in the Developer Guide), and the unit tests check them on the documented
//! examples and boundaries. Where the adapter cannot see the billed size, the note on each
//! operation says which way the figure errs:
//!
//! - `GetItem` (strongly consistent): 1 read unit per 4 KB of the item read, at least 1 (a
//!   read of a missing item is billed too).
//! - `Query`: the sizes of the items read, summed and then rounded up to 4 KB, at least one
//!   unit; strongly consistent on the table, eventually consistent (half) on the `due` index.
//!   Items dropped by the filter (expired ones) are billed but not seen here: a low bound.
//! - `Scan` (eventually consistent): as `Query`, halved.
//! - `PutItem`: 1 write unit per KB of the item written, at least 1, also when the condition
//!   fails. DynamoDB bills the larger of the old and the new item; Gavel's replacements keep
//!   an item's size, so the new item's size is used.
//! - `UpdateItem` (counters, deadline cursors, buckets): the item after the update, estimated
//!   as its key plus the values written, which is exact for these items (all under 1 KB).
//! - `DeleteItem`: billed at the deleted item's size, which the adapter does not ask for; 1
//!   unit, a low bound for items over 1 KB.
//! - `TransactWriteItems`: twice each write's units, and a `ConditionCheck` is a
//!   transactional read (2 read units per 4 KB). A transaction cancelled by a condition is
//!   billed as if it had run.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use crate::store::round_trips::{self, Capacity};

const WRITE_UNIT_BYTES: usize = 1024;
const READ_UNIT_BYTES: usize = 4096;

/// Reports `cost` if DynamoDB answered the call (served it, or refused it on a condition, which
/// is billed too); a call that never reached it, or timed out, consumed nothing we can know of.
pub(super) fn consume_if_answered<T, E, R>(result: &Result<T, SdkError<E, R>>, cost: Capacity) {
    if matches!(result, Ok(_) | Err(SdkError::ServiceError(_))) {
        round_trips::consume(cost);
    }
}

/// How a read is billed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Read {
    Eventual,
    Strong,
    Transactional,
}

/// The size DynamoDB gives an item: attribute names plus values, by the documented rules.
pub(super) fn item_size(attrs: &HashMap<String, AttributeValue>) -> usize {
    attrs
        .iter()
        .map(|(name, v)| name.len() + value_size(v))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        // 3 bytes for the list or map, 1 for each element.
        AttributeValue::L(items) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
        _ => 0,
    }
}

/// 1 byte per two significant digits, plus 1; leading and trailing zeros do not count.
fn number_size(n: &str) -> usize {
    let mantissa = n.split(['e', 'E']).next().unwrap_or("");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.div_ceil(2) + 1
}

/// Write units for one write of an item of `size` bytes.
pub(super) fn write_units(size: usize) -> u32 {
    units(size, WRITE_UNIT_BYTES)
}

/// Read units (in halves) for reading `size` bytes in one request.
pub(super) fn read_halves(size: usize, read: Read) -> u32 {
    let units = units(size, READ_UNIT_BYTES);
    match read {
        Read::Eventual => units,
        Read::Strong => 2 * units,
        Read::Transactional => 4 * units,
    }
}

fn units(size: usize, unit: usize) -> u32 {
    u32::try_from(size.div_ceil(unit).max(1)).unwrap_or(u32::MAX)
}

/// One plain write of `attrs`.
pub(super) fn write(attrs: &HashMap<String, AttributeValue>) -> Capacity {
    Capacity::writes(write_units(item_size(attrs)))
}

/// An update: the key plus the values written.
pub(super) fn update<'a>(
    key: &HashMap<String, AttributeValue>,
    values: impl IntoIterator<Item = &'a AttributeValue>,
) -> Capacity {
    let size = item_size(key) + values.into_iter().map(value_size).sum::<usize>();
    Capacity::writes(write_units(size))
}

/// A read of the items answered in one request.
pub(super) fn read<'a>(
    items: impl IntoIterator<Item = &'a HashMap<String, AttributeValue>>,
    read: Read,
) -> Capacity {
    let size = items.into_iter().map(item_size).sum();
    Capacity::reads(read_halves(size, read))
}

/// A `TransactWriteItems` of these items.
pub(super) fn transaction(items: &[TransactWriteItem]) -> Capacity {
    let mut total = Capacity::ZERO;
    for item in items {
        if let Some(put) = item.put() {
            total += Capacity::writes(2 * write_units(item_size(put.item())));
        } else if let Some(change) = item.update() {
            let values = change.expression_attribute_values();
            let size = item_size(change.key())
                + values.map_or(0, |v| v.values().map(value_size).sum::<usize>());
            total += Capacity::writes(2 * write_units(size));
        } else if let Some(delete) = item.delete() {
            total += Capacity::writes(2 * write_units(item_size(delete.key())));
        } else if let Some(check) = item.condition_check() {
            total += Capacity::reads(read_halves(item_size(check.key()), Read::Transactional));
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(v.to_owned())
    }

    #[test]
    fn sizes_follow_the_documented_rules() {
        // A string: its name's bytes plus its UTF-8 bytes ("é" is two).
        assert_eq!(item_size(&HashMap::from([("pk".into(), s("abcé"))])), 2 + 5);
        // Numbers: 1 byte per two significant digits plus 1; zeros at either end are trimmed.
        assert_eq!(number_size("7"), 2);
        assert_eq!(number_size("12"), 2);
        assert_eq!(number_size("123"), 3);
        assert_eq!(number_size("1000"), 2);
        assert_eq!(number_size("-0.00125"), 3);
        // A Unix time: "1764" once the trailing zeros go, so 2 bytes for the digits, plus 1.
        assert_eq!(number_size("1764000000"), 3);
        assert_eq!(number_size("1764000123"), 6);
        // Null and Boolean: 1 byte; binary: its raw bytes.
        assert_eq!(value_size(&AttributeValue::Bool(true)), 1);
        assert_eq!(value_size(&AttributeValue::Null(true)), 1);
        assert_eq!(
            value_size(&AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(
                vec![0u8; 10]
            ))),
            10
        );
        // Lists and maps: 3 bytes, plus 1 per element; an empty one is 3 bytes.
        assert_eq!(value_size(&AttributeValue::L(vec![])), 3);
        assert_eq!(
            value_size(&AttributeValue::L(vec![s("ab"), n("1")])),
            3 + 3 + 3
        );
        assert_eq!(
            value_size(&AttributeValue::M(HashMap::from([("k".into(), s("v"))]))),
            3 + 1 + 1 + 1
        );
    }

    #[test]
    fn units_round_up_per_request_with_a_minimum_of_one() {
        // Writes: 1 KB per unit. Reads: 4 KB per unit, half for eventually consistent reads,
        // twice for transactional ones (the Developer Guide's examples: a 3.5 KB item is one
        // strongly consistent read unit, an 8 KB item two; a 1.5 KB write is two units).
        assert_eq!(write_units(0), 1);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
        assert_eq!(write_units(1536), 2);
        assert_eq!(read_halves(0, Read::Strong), 2);
        assert_eq!(read_halves(3584, Read::Strong), 2);
        assert_eq!(read_halves(3584, Read::Eventual), 1);
        assert_eq!(read_halves(8192, Read::Strong), 4);
        assert_eq!(read_halves(8193, Read::Strong), 6);
        assert_eq!(read_halves(4096, Read::Transactional), 4);
        // A query rounds the sum, not each item: ten 400-byte items are one unit, not ten.
        let item = HashMap::from([("d".to_owned(), s(&"x".repeat(399)))]);
        assert_eq!(
            read(std::iter::repeat_n(&item, 10), Read::Strong),
            Capacity::reads(2)
        );
    }

    #[test]
    fn a_transaction_costs_twice_its_writes() {
        use aws_sdk_dynamodb::types::{ConditionCheck, Put, Update};
        let key = HashMap::from([("pk".to_owned(), s("c#1")), ("sk".to_owned(), s("b"))]);
        let put = TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name("t")
                    .set_item(Some(HashMap::from([(
                        "d".to_owned(),
                        s(&"x".repeat(1500)),
                    )])))
                    .build()
                    .expect("a put"),
            )
            .build();
        let update = TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name("t")
                    .set_key(Some(key.clone()))
                    .update_expression("SET #d = :d")
                    .expression_attribute_values(":d", n("1"))
                    .build()
                    .expect("an update"),
            )
            .build();
        let check = TransactWriteItem::builder()
            .condition_check(
                ConditionCheck::builder()
                    .table_name("t")
                    .set_key(Some(key))
                    .condition_expression("attribute_exists(pk)")
                    .build()
                    .expect("a check"),
            )
            .build();
        assert_eq!(
            transaction(&[put, update, check]),
            Capacity {
                read_half_units: 4,
                write_units: 2 * 2 + 2
            }
        );
    }
}
