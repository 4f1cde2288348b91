//! Shouting: the share of capitals among a message's cased letters.
//!
//! Only prose counts: mentions and other markup, links, inline and fenced code and
//! `:shortcodes:` are skipped, so `<@U123ABC>` or a pasted `SELECT * FROM` do not shout. Letters
//! without case (Chinese, Arabic, Hindi...) are neither capital nor small and never trip it; an
//! acronym or two in an ordinary sentence stays far below any sensible ratio.

use std::ops::Range;

use super::links::Link;
use super::normalise::markup_len;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capitals {
    pub upper: usize,
    /// Cased letters counted (capital and small).
    pub letters: usize,
}

impl Capitals {
    /// Rounded down, so a message reported at 70% never trips a 70% limit.
    pub fn percent(&self) -> usize {
        (self.upper * 100).checked_div(self.letters).unwrap_or(0)
    }

    /// Whether it trips a rule of `ratio_percent` on more than `min_letters` letters.
    pub fn shouts(&self, ratio_percent: u8, min_letters: u32) -> bool {
        self.letters > min_letters as usize && self.percent() > usize::from(ratio_percent)
    }
}

pub fn count(text: &str, links: &[Link]) -> Capitals {
    let mut skip = skipped(text);
    skip.extend(links.iter().map(|l| l.span.clone()));
    skip.sort_by_key(|r| r.start);
    let mut upper = 0;
    let mut letters = 0;
    let mut next = skip.iter().peekable();
    for (at, c) in text.char_indices() {
        while next.peek().is_some_and(|r| r.end <= at) {
            next.next();
        }
        if next.peek().is_some_and(|r| r.start <= at) {
            continue;
        }
        if c.is_uppercase() {
            upper += 1;
            letters += 1;
        } else if c.is_lowercase() {
            letters += 1;
        }
    }
    Capitals { upper, letters }
}

/// Byte ranges of code, markup and shortcodes, in order, not overlapping.
fn skipped(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let len = if let Some(fenced) = rest.strip_prefix("```") {
            fenced.find("```").map_or(rest.len(), |k| k + 6)
        } else if let Some(inline) = rest.strip_prefix('`') {
            inline.find('`').map_or(1, |k| k + 2)
        } else if rest.starts_with('<') {
            markup_len(rest)
                .or_else(|| {
                    rest.starts_with("<http")
                        .then(|| rest.find('>').map(|k| k + 1))
                        .flatten()
                })
                .unwrap_or(1)
        } else if rest.starts_with(':') {
            shortcode_len(rest).unwrap_or(1)
        } else {
            rest.chars().next().map_or(1, char::len_utf8)
        };
        let special = matches!(bytes[i], b'`' | b'<' | b':') && len > 1;
        if special {
            out.push(i..i + len);
        }
        i += len;
    }
    out
}

/// `:thumbsup:`, `:+1:`, `:skin-tone-2:`.
fn shortcode_len(rest: &str) -> Option<usize> {
    let body = &rest[1..];
    let end = body
        .bytes()
        .take(64)
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+')))?;
    (end > 0 && body.as_bytes()[end] == b':').then_some(end + 2)
}

#[cfg(test)]
mod tests {
    use super::super::links::find_links;
    use super::*;

    fn caps(text: &str) -> Capitals {
        count(text, &find_links(text))
    }

    #[test]
    fn shouting_trips_and_acronyms_do_not() {
        let shout = caps("FREE STUFF NOW EVERYONE");
        assert_eq!(shout.percent(), 100);
        assert!(shout.shouts(70, 10));
        assert!(!caps("I work at NASA and the FBI").shouts(70, 10));
        assert!(!caps("OK").shouts(70, 10), "too short");
        assert!(!caps("這是一個很長的句子，沒有大寫字母可言，真的").shouts(70, 10));
    }

    #[test]
    fn markup_code_links_and_shortcodes_are_skipped() {
        let text = "hey <@U123ABCDEF> <!here> see HTTPS://EXAMPLE.COM/ABCDEF `SELECT X FROM Y` :SMILE_CAT: ok";
        let c = caps(text);
        assert_eq!(c.upper, 0, "{c:?}");
        let fenced = "look\n```\nFN MAIN() { PRINTLN!(\"HELLO WORLD\") }\n```\nthat is all";
        assert_eq!(caps(fenced).upper, 0);
        assert!(!caps(fenced).shouts(70, 10));
    }

    #[test]
    fn unclosed_markers_do_not_hide_the_rest() {
        assert!(caps("WHY IS THIS `BROKEN SO BADLY").upper >= 9);
        assert!(caps("SHOUTING: VERY LOUD INDEED").shouts(70, 10));
    }
}
