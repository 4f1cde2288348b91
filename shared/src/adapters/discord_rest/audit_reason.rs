//! The audit-log reason Discord shows in the server's audit log (`X-Audit-Log-Reason`).

use std::fmt::Write as _;

/// Discord accepts at most 512 characters of audit-log reason.
const AUDIT_REASON_MAX_CHARS: usize = 512;

/// Discord wants the reason URL-encoded (UTF-8); everything but the unreserved characters is
/// escaped, so any language survives the header.
pub(super) fn encode_audit_reason(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let end = reason
        .char_indices()
        .nth(AUDIT_REASON_MAX_CHARS)
        .map_or(reason.len(), |(i, _)| i);
    for b in reason[..end].bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_reasons_are_percent_encoded_and_capped() {
        assert_eq!(encode_audit_reason("spam"), "spam");
        assert_eq!(
            encode_audit_reason("spam, répété – 3×"),
            "spam%2C%20r%C3%A9p%C3%A9t%C3%A9%20%E2%80%93%203%C3%97"
        );
        let long = "é".repeat(600);
        assert_eq!(encode_audit_reason(&long), "%C3%A9".repeat(512));
    }
}
