//! Durations as moderators type them (`1h`, `7d`, `1d12h`).

use gavel_shared::moderation::duration::{self, MAX_SECS};

pub fn duration(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(secs) = duration::parse(&text) else {
        return;
    };
    assert!(secs > 0 && secs <= MAX_SECS, "{text:?} gave {secs}");
    // What Gavel shows back reads as the same duration.
    let shown = duration::format(secs);
    assert_eq!(
        duration::parse(&shown),
        Ok(secs),
        "{text:?} shown as {shown:?}"
    );
    // Units are case-blind: the same text in capitals is the same duration.
    assert_eq!(
        duration::parse(&text.to_ascii_uppercase()),
        Ok(secs),
        "{text:?}"
    );
    assert!(!duration::words(secs).is_empty());
}
