//! The sentences a moderator reads for each hit: what matched, what it matched, and which
//! transformations it took to see it.

use super::normalise::{
    ACCENT, CASE, Flags, INVISIBLE, LEET, LOOKALIKE, NEAR, REPEATS, SEPARATORS, WIDTH, is_invisible,
};

/// Quoted text shown inside backticks stays on one line and at most this long.
const MAX_QUOTE_CHARS: usize = 80;

/// Message text fit for a backtick quote: invisible characters gone (the sentence says they
/// were there), backticks and line breaks neutralised, long text cut.
pub fn quote(text: &str) -> String {
    let mut out = String::new();
    for (chars, c) in text.chars().filter(|c| !is_invisible(*c)).enumerate() {
        if chars == MAX_QUOTE_CHARS {
            out.push('…');
            break;
        }
        out.push(match c {
            '`' => '\'',
            '\n' | '\r' | '\t' => ' ',
            c => c,
        });
    }
    out
}

/// The transformations a matched text needed, in the order they are applied.
pub fn transformations(flags: Flags, edits: usize) -> Vec<String> {
    let mut out: Vec<String> = [
        (CASE, "case folding"),
        (WIDTH, "full-width or compatibility forms"),
        (INVISIBLE, "invisible characters"),
        (ACCENT, "accents and combining marks"),
        (LOOKALIKE, "look-alike letters"),
        (LEET, "digit and symbol substitution"),
        (SEPARATORS, "separators"),
        (REPEATS, "repeated letters"),
    ]
    .iter()
    .filter(|(flag, _)| flags & flag != 0)
    .map(|(_, name)| (*name).to_owned())
    .collect();
    if flags & NEAR != 0 && edits > 0 {
        let letters = if edits == 1 { "letter" } else { "letters" };
        out.push(format!("a near spelling ({edits} {letters} different)"));
    }
    out
}

/// "a, b and c".
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn after(flags: Flags, edits: usize) -> String {
    let steps = transformations(flags, edits);
    if steps.is_empty() {
        String::new()
    } else {
        format!(" after {}", and_list(&steps))
    }
}

pub fn word(matched: &str, entry: &str, phrase: bool, flags: Flags, edits: usize) -> String {
    let what = if phrase { "phrase" } else { "word" };
    format!(
        "`{}` matched the banned {what} `{}`{}",
        quote(matched),
        quote(entry),
        after(flags, edits)
    )
}

pub fn pattern(matched: &str, pattern: &str, normalised: Option<Flags>) -> String {
    let base = format!(
        "`{}` matched the pattern `{}`",
        quote(matched),
        quote(pattern)
    );
    match normalised {
        Some(flags) => {
            let steps = transformations(flags, 0);
            if steps.is_empty() {
                format!("{base} in the normalised text")
            } else {
                format!("{base} after {}", and_list(&steps))
            }
        }
        None => base,
    }
}

pub fn caps(text: &str, percent: usize, limit: u8) -> String {
    format!(
        "`{}` is {percent}% capitals (the limit is {limit}%)",
        quote(text.trim())
    )
}

pub fn mentions(count: usize, limit: u32) -> String {
    format!("{count} people or roles mentioned (the limit is {limit})")
}

pub fn flood(count: u32, window_secs: u32, limit: u32) -> String {
    format!("{count} messages in {window_secs} s in this channel (the limit is {limit})")
}

pub fn repeats(count: u32, window_secs: u32, limit: u32) -> String {
    format!("the same message {count} times in {window_secs} s (the limit is {limit})")
}

pub fn denied(shown: &str, entry: &str) -> String {
    format!("`{}` is on the denied domains (`{entry}`)", quote(shown))
}

pub fn invite(shown: &str) -> String {
    format!("`{}` is an invite link", quote(shown))
}

pub fn not_allowed(host: &str) -> String {
    format!("`{}` is not on the allowed domains", quote(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_name_what_happened() {
        assert_eq!(
            word("fr33 n1tr0", "free nitro", true, LEET, 0),
            "`fr33 n1tr0` matched the banned phrase `free nitro` after digit and symbol substitution"
        );
        assert_eq!(
            word("SCAMMMER", "scammer", false, CASE | REPEATS, 0),
            "`SCAMMMER` matched the banned word `scammer` after case folding and repeated letters"
        );
        assert_eq!(
            word("scamner", "scammer", false, NEAR, 1),
            "`scamner` matched the banned word `scammer` after a near spelling (1 letter different)"
        );
        assert_eq!(
            word("scam", "scam", false, 0, 0),
            "`scam` matched the banned word `scam`"
        );
        assert_eq!(
            caps("FREE STUFF NOW EVERYONE", 95, 70),
            "`FREE STUFF NOW EVERYONE` is 95% capitals (the limit is 70%)"
        );
        assert_eq!(
            mentions(7, 5),
            "7 people or roles mentioned (the limit is 5)"
        );
        assert_eq!(
            flood(6, 10, 5),
            "6 messages in 10 s in this channel (the limit is 5)"
        );
        assert_eq!(
            denied("spam.example.com", "example.com"),
            "`spam.example.com` is on the denied domains (`example.com`)"
        );
        assert_eq!(
            invite("discord.gg/abc"),
            "`discord.gg/abc` is an invite link"
        );
    }

    #[test]
    fn quotes_are_one_short_line() {
        assert_eq!(quote("a`b\nc\u{200b}d"), "a'b cd");
        let long = quote(&"x".repeat(500));
        assert_eq!(long.chars().count(), MAX_QUOTE_CHARS + 1);
    }
}
