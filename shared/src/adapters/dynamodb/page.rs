//! Pages of query and scan results, and their cursors: DynamoDB's `LastEvaluatedKey`,
//! encoded so that a caller can hand it back, and checked on the way in.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::codec::{number, read_item};
use crate::store::{Page, PageRequest, StoreError};

pub(super) fn page_limit(page: &PageRequest) -> i32 {
    // `validate::page` keeps it within 1..=1000.
    i32::try_from(page.limit).unwrap_or(1000)
}

pub(super) fn page_of(
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
pub(super) fn encode_cursor(key: &HashMap<String, AttributeValue>) -> Result<String, StoreError> {
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
pub(super) fn decode_cursor(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
