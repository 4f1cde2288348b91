//! Items as DynamoDB attribute maps and back (the layout in the module docs of
//! [`super`]), and the few attribute reads the store's decisions need (version, expiry,
//! counter value).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use super::TTL_ATTRIBUTE;
use crate::store::{Due, Item, ItemKey, NewItem, StoreError};

pub(super) fn number(n: impl ToString) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

pub(super) fn key_attributes(key: &ItemKey) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(key.pk.clone())),
        ("sk".to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

pub(super) fn item_attributes(
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
pub(super) fn stored(item: NewItem, version: u64) -> Item {
    Item {
        key: item.key,
        data: item.data,
        version,
        expires_at: item.expires_at,
        due: item.due,
    }
}

pub(super) fn is_live(attrs: &HashMap<String, AttributeValue>, now: i64) -> bool {
    integer(attrs, TTL_ATTRIBUTE).is_none_or(|ttl| ttl > now)
}

/// The version of `old` if it is a live item (what a conflict reports).
pub(super) fn live_version(old: Option<&HashMap<String, AttributeValue>>, now: i64) -> Option<u64> {
    old.filter(|attrs| is_live(attrs, now))
        .and_then(|attrs| integer(attrs, "v"))
        .and_then(|v| u64::try_from(v).ok())
}

pub(super) fn integer(attrs: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    match attrs.get(name) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
}

pub(super) fn string(attrs: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    match attrs.get(name) {
        Some(AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    }
}

pub(super) fn read_item(attrs: &HashMap<String, AttributeValue>) -> Result<Item, StoreError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn expiry_is_exact() {
        let attrs = HashMap::from([(TTL_ATTRIBUTE.to_owned(), number(100))]);
        assert!(is_live(&attrs, 99));
        assert!(!is_live(&attrs, 100));
        assert!(is_live(&HashMap::new(), i64::MAX));
    }
}
