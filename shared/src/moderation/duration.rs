//! Durations as moderators type them: `30s`, `10m`, `2h`, `7d`, `1w`, and combinations such as
//! `1d12h`, largest unit first or not. Parsing is strict: anything else is refused with an
//! error that shows the accepted forms, never guessed at.

use std::fmt;

/// The units, with their length in seconds.
const UNITS: [(char, i64, &str); 5] = [
    ('w', 7 * 86_400, "week"),
    ('d', 86_400, "day"),
    ('h', 3_600, "hour"),
    ('m', 60, "minute"),
    ('s', 1, "second"),
];

/// The longest duration anyone may type: ten years, far past any sanction, and far from
/// overflowing any arithmetic on Unix seconds.
pub const MAX_SECS: i64 = 10 * 366 * 86_400;

/// Why a duration was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationError(String);

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} Use a number and a unit (s, m, h, d or w), such as `30m`, `2h`, `7d` or `1d12h`.",
            self.0
        )
    }
}

impl std::error::Error for DurationError {}

/// Parses `text` into seconds (always positive).
pub fn parse(text: &str) -> Result<i64, DurationError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let compact = compact.to_ascii_lowercase();
    if compact.is_empty() {
        return Err(DurationError("The duration is empty.".into()));
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    let mut seen = Vec::new();
    for c in compact.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let Some(&(unit, secs, _)) = UNITS.iter().find(|(u, _, _)| *u == c) else {
            return Err(DurationError(format!("`{text}` is not a duration.")));
        };
        if digits.is_empty() {
            return Err(DurationError(format!(
                "`{text}` has a unit `{unit}` without a number before it."
            )));
        }
        if seen.contains(&unit) {
            return Err(DurationError(format!(
                "`{text}` gives the unit `{unit}` twice."
            )));
        }
        seen.push(unit);
        let amount: i64 = digits
            .parse()
            .ok()
            .filter(|n| *n <= MAX_SECS)
            .ok_or_else(|| DurationError(format!("`{text}` is longer than ten years.")))?;
        digits.clear();
        total = amount
            .checked_mul(secs)
            .and_then(|s| total.checked_add(s))
            .filter(|t| *t <= MAX_SECS)
            .ok_or_else(|| DurationError(format!("`{text}` is longer than ten years.")))?;
    }
    if !digits.is_empty() {
        return Err(DurationError(format!(
            "`{text}` ends in a number without a unit."
        )));
    }
    if total == 0 {
        return Err(DurationError(format!("`{text}` is no time at all.")));
    }
    Ok(total)
}

/// Seconds as moderators read them: `1d 12h`, `30m`, `45s`; weeks are shown as days.
pub fn format(secs: i64) -> String {
    if secs <= 0 {
        return "0s".to_owned();
    }
    let mut left = secs;
    let mut parts = Vec::new();
    for (unit, len, _) in UNITS.iter().skip(1) {
        if left >= *len {
            parts.push(format!("{}{unit}", left / len));
            left %= len;
        }
    }
    parts.join(" ")
}

/// Seconds in words, for DMs: "7 days", "1 day and 12 hours".
pub fn words(secs: i64) -> String {
    let mut left = secs.max(0);
    let mut parts = Vec::new();
    for (_, len, name) in UNITS.iter().skip(1) {
        if left >= *len {
            let n = left / len;
            parts.push(format!("{n} {name}{}", if n == 1 { "" } else { "s" }));
            left %= len;
        }
    }
    match parts.len() {
        0 => "no time".to_owned(),
        1 => parts.remove(0),
        _ => {
            let last = parts.pop().unwrap_or_default();
            format!("{} and {last}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_documented_forms_parse() {
        assert_eq!(parse("30s"), Ok(30));
        assert_eq!(parse("10m"), Ok(600));
        assert_eq!(parse("2h"), Ok(7_200));
        assert_eq!(parse("7d"), Ok(604_800));
        assert_eq!(parse("1w"), Ok(604_800));
        assert_eq!(parse("1d12h"), Ok(129_600));
        assert_eq!(parse("1D 12H"), Ok(129_600));
        assert_eq!(parse("30m1h"), Ok(5_400));
    }

    #[test]
    fn anything_else_is_refused_with_the_accepted_forms() {
        for bad in [
            "",
            "10",
            "h",
            "1x",
            "2 hours",
            "1h1h",
            "-5m",
            "0m",
            "1.5h",
            "99999999999d",
        ] {
            let error = parse(bad).expect_err(bad).to_string();
            assert!(error.contains("such as `30m`"), "{bad}: {error}");
        }
        assert!(parse("1h1h").unwrap_err().to_string().contains("twice"));
        assert!(
            parse("10")
                .unwrap_err()
                .to_string()
                .contains("without a unit")
        );
    }

    #[test]
    fn formatting_reads_back() {
        assert_eq!(format(129_600), "1d 12h");
        assert_eq!(format(600), "10m");
        assert_eq!(format(0), "0s");
        assert_eq!(words(129_600), "1 day and 12 hours");
        assert_eq!(words(604_800), "7 days");
        assert_eq!(words(3_661), "1 hour, 1 minute and 1 second");
    }

    proptest! {
        #[test]
        fn format_then_parse_is_the_identity(secs in 1i64..MAX_SECS) {
            prop_assert_eq!(parse(&format(secs)), Ok(secs));
        }

        #[test]
        fn parse_never_panics(text in ".{0,24}") {
            let _ = parse(&text);
        }
    }
}
