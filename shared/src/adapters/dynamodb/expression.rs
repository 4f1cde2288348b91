//! The pieces of DynamoDB expressions every operation shares: attribute-name placeholders
//! and the liveness conditions that make an expired item count as absent.

use std::collections::HashMap;

/// Expression placeholders for every attribute, so no attribute name can collide with one of
/// DynamoDB's reserved words (`ttl` is one). Only the placeholders an expression uses may be
/// sent: DynamoDB rejects unused ones.
pub(super) const NAMES: [(&str, &str); 7] = [
    ("#pk", "pk"),
    ("#sk", "sk"),
    ("#v", "v"),
    ("#d", "d"),
    ("#ttl", "ttl"),
    ("#dq", "due_q"),
    ("#da", "due_at"),
];

/// The item is live: no expiry, or an expiry still ahead of `:now`.
pub(super) const LIVE: &str = "(attribute_not_exists(#ttl) OR #ttl > :now)";
/// No live item: absent, or expired and waiting for TTL deletion.
pub(super) const ABSENT: &str = "attribute_not_exists(#pk) OR #ttl <= :now";
/// An expired item (used to replace an expired counter).
pub(super) const EXPIRED: &str = "#ttl <= :now";

/// `#v = :expected` on a live item.
pub(super) fn version_condition() -> String {
    format!("#v = :expected AND {LIVE}")
}

/// The placeholders the given expressions use, as DynamoDB wants them (no unused ones).
pub(super) fn names(expressions: &[&str]) -> Option<HashMap<String, String>> {
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
pub(super) fn uses_placeholder(expression: &str, placeholder: &str) -> bool {
    expression.match_indices(placeholder).any(|(at, _)| {
        !expression[at + placeholder.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
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
}
