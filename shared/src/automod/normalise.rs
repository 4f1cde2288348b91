//! Text as a matcher should see it, with the way back to the original bytes.
//!
//! Each original character goes through: invisible characters dropped; compatibility
//! decomposition (full-width, mathematical and other presentation forms become plain letters)
//! with accents and other combining marks dropped; lower-casing; and, for characters outside
//! ASCII, the UTS #39 confusable skeleton (Cyrillic `і` → `i`, Greek `ο` → `o`). Then, inside
//! words that have a letter, digits and symbols read as the letters they stand for (`fr33` →
//! `free`, `@$$` → `ass`). Every normalised character remembers the original byte range it came
//! from and which of these steps changed it, so a hit's span is exact and its explanation names
//! only what actually happened.
//!
//! One pass, constant work per character: a 40,000-character message costs what 40,000 short
//! ones do.

use std::ops::Range;

use unicode_normalization::char::{decompose_canonical, decompose_compatible, is_combining_mark};

/// Which transformations changed a character (a bit set).
pub type Flags = u16;
pub const CASE: Flags = 1;
pub const WIDTH: Flags = 1 << 1;
pub const ACCENT: Flags = 1 << 2;
pub const LOOKALIKE: Flags = 1 << 3;
pub const LEET: Flags = 1 << 4;
pub const INVISIBLE: Flags = 1 << 5;
pub const SEPARATORS: Flags = 1 << 6;
pub const REPEATS: Flags = 1 << 7;
pub const NEAR: Flags = 1 << 8;

/// One normalised character.
#[derive(Clone, Copy, Debug)]
pub struct NChar {
    pub ch: char,
    /// Byte offset of `ch` in [`Normalised::text`].
    pub at: usize,
    /// The original bytes it came from (several normalised characters may share one).
    pub orig_start: usize,
    pub orig_end: usize,
    pub flags: Flags,
}

/// A word: a maximal run of letters and digits (and the symbols that stand for letters), as
/// indexes into [`Normalised::chars`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

#[derive(Debug)]
pub struct Normalised {
    pub text: String,
    pub chars: Vec<NChar>,
    pub tokens: Vec<Token>,
}

/// Characters that render as nothing and only serve to split a word for a matcher: zero-width
/// space, joiners, word joiner, BOM, soft hyphen, bidi controls, variation selectors, tags,
/// fillers.
pub fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF9..=0xFFFB | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

/// The letter a digit or symbol stands for inside a word. `1`, `!` and `|` read as `i`; the
/// matcher's keys fold `l` into `i` as well, so they match either.
fn leet(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' | '!' | '|' => 'i',
        '3' | '€' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        '8' => 'b',
        '9' => 'g',
        '¢' => 'c',
        _ => return None,
    })
}

fn is_leet_symbol(c: char) -> bool {
    matches!(c, '@' | '$' | '!' | '|' | '€' | '¢')
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_leet_symbol(c)
}

/// The lower-case ASCII letters a non-ASCII character is a look-alike of: its UTS #39 skeleton
/// when that is ASCII letters, else a small capital's letter (`ɪᴅɪᴏᴛ`), which the confusables
/// table leaves alone.
fn ascii_lookalike(c: char) -> Option<Vec<char>> {
    let mut buf = [0u8; 4];
    let skeleton: Vec<char> = unicode_security::skeleton(c.encode_utf8(&mut buf))
        .filter(|s| !is_combining_mark(*s))
        .map(|s| s.to_ascii_lowercase())
        .collect();
    if !skeleton.is_empty()
        && skeleton.as_slice() != [c]
        && skeleton.iter().all(|s| s.is_ascii_alphanumeric())
    {
        return Some(skeleton);
    }
    const SMALL_CAPITALS: &[(char, char)] = &[
        ('ᴀ', 'a'),
        ('ʙ', 'b'),
        ('ᴄ', 'c'),
        ('ᴅ', 'd'),
        ('ᴇ', 'e'),
        ('ꜰ', 'f'),
        ('ɢ', 'g'),
        ('ʜ', 'h'),
        ('ɪ', 'i'),
        ('ᴊ', 'j'),
        ('ᴋ', 'k'),
        ('ʟ', 'l'),
        ('ᴍ', 'm'),
        ('ɴ', 'n'),
        ('ᴏ', 'o'),
        ('ᴘ', 'p'),
        ('ǫ', 'q'),
        ('ʀ', 'r'),
        ('ꜱ', 's'),
        ('ᴛ', 't'),
        ('ᴜ', 'u'),
        ('ᴠ', 'v'),
        ('ᴡ', 'w'),
        ('ʏ', 'y'),
        ('ᴢ', 'z'),
    ];
    SMALL_CAPITALS
        .iter()
        .find(|(small, _)| *small == c)
        .map(|(_, letter)| vec![*letter])
}

/// Platform markup that is not prose: `<@U123>`, `<@!123>`, `<@&123>`, `<#C1|x>`, `<!here>`,
/// `<:emoji:123>`, `<a:emoji:123>`, `<t:1700000000>`. Returns its length in bytes.
pub fn markup_len(rest: &str) -> Option<usize> {
    let body = rest.strip_prefix('<')?;
    let starts = ['@', '#', '!', ':'];
    if !(body.starts_with(starts) || body.starts_with("a:") || body.starts_with("t:")) {
        return None;
    }
    let close = body.bytes().take(120).position(|b| b == b'>')?;
    let inner = &body[..close];
    (!inner.contains(['<', '\n', ' ']) || inner.contains('|')).then_some(close + 2)
}

impl Normalised {
    pub fn new(original: &str) -> Normalised {
        let mut out = Normalised {
            text: String::with_capacity(original.len()),
            chars: Vec::with_capacity(original.len()),
            tokens: Vec::new(),
        };
        let mut iter = original.char_indices().peekable();
        while let Some((at, c)) = iter.next() {
            if c == '<'
                && let Some(len) = markup_len(&original[at..])
            {
                out.push(' ', at, at + len, 0);
                while iter.peek().is_some_and(|(next, _)| *next < at + len) {
                    iter.next();
                }
                continue;
            }
            out.push_original(c, at);
        }
        out.words();
        for c in &mut out.chars {
            c.at = out.text.len();
            out.text.push(c.ch);
        }
        out
    }

    fn push(&mut self, ch: char, orig_start: usize, orig_end: usize, flags: Flags) {
        self.chars.push(NChar {
            ch,
            at: 0,
            orig_start,
            orig_end,
            flags,
        });
    }

    fn push_original(&mut self, c: char, at: usize) {
        let end = at + c.len_utf8();
        if c.is_ascii() {
            let lower = c.to_ascii_lowercase();
            self.push(lower, at, end, if lower != c { CASE } else { 0 });
            return;
        }
        if is_invisible(c) {
            return;
        }
        if is_leet_symbol(c) {
            // Left for the word pass, which reads `€` as `e`; the skeleton would make it `ꞓ`.
            self.push(c, at, end, 0);
            return;
        }
        let mut canonical = [None; 4];
        let mut n = 0;
        let mut accent = 0;
        decompose_canonical(c, |d| {
            if is_combining_mark(d) {
                accent = ACCENT;
            } else if n < canonical.len() {
                canonical[n] = Some(d);
                n += 1;
            }
        });
        let mut compatible: Vec<char> = Vec::new();
        decompose_compatible(c, |d| {
            if is_combining_mark(d) {
                accent = ACCENT;
            } else {
                compatible.push(d);
            }
        });
        let width = if compatible
            .iter()
            .copied()
            .map(Some)
            .ne(canonical[..n].iter().copied())
        {
            WIDTH
        } else {
            0
        };
        for d in compatible {
            if !d.is_ascii()
                && let Some(letters) = ascii_lookalike(d)
            {
                // Before lower-casing: Cyrillic `М` looks like `M`, its small form `м` like no
                // Latin letter at all.
                let case = if d.is_uppercase() { CASE } else { 0 };
                for s in letters {
                    self.push(s, at, end, accent | width | case | LOOKALIKE);
                }
                continue;
            }
            for lower in d.to_lowercase() {
                let case = if lower != d { CASE } else { 0 };
                let flags = accent | width | case;
                if lower.is_ascii() {
                    self.push(lower, at, end, flags);
                    continue;
                }
                if let Some(letters) = ascii_lookalike(lower) {
                    for s in letters {
                        self.push(s, at, end, flags | LOOKALIKE);
                    }
                    continue;
                }
                self.push(lower, at, end, flags);
            }
        }
    }

    /// Finds the words and reads digits and symbols in them as letters. A word needs a letter
    /// for that (`2024` stays a number), or at least two symbols (`@$$`); `!` at a word's end is
    /// punctuation, not an `i`.
    fn words(&mut self) {
        let mut i = 0;
        while i < self.chars.len() {
            if !is_word_char(self.chars[i].ch) {
                i += 1;
                continue;
            }
            let start = i;
            while i < self.chars.len() && is_word_char(self.chars[i].ch) {
                i += 1;
            }
            let mut end = i;
            while end > start && matches!(self.chars[end - 1].ch, '!' | '|') {
                end -= 1;
            }
            if end == start {
                continue;
            }
            let slice = &self.chars[start..end];
            let has_letter = slice.iter().any(|c| c.ch.is_alphabetic());
            let has_digit = slice.iter().any(|c| c.ch.is_ascii_digit());
            let symbols_only = !has_letter && !has_digit;
            if symbols_only && end - start < 2 {
                continue;
            }
            if has_letter || symbols_only {
                for c in &mut self.chars[start..end] {
                    if let Some(letter) = leet(c.ch) {
                        c.ch = letter;
                        c.flags |= LEET;
                    }
                }
            }
            self.tokens.push(Token { start, end });
        }
    }

    /// The original byte range of normalised characters `chars` (not empty).
    pub fn original_span(&self, chars: Range<usize>) -> Range<usize> {
        let first = &self.chars[chars.start];
        let last = &self.chars[chars.end - 1];
        first.orig_start..last.orig_end
    }

    /// The normalised text of characters `chars`.
    pub fn text_of(&self, chars: Range<usize>) -> &str {
        let start = self
            .chars
            .get(chars.start)
            .map_or(self.text.len(), |c| c.at);
        let end = self.chars.get(chars.end).map_or(self.text.len(), |c| c.at);
        &self.text[start..end]
    }

    /// The transformations applied to characters `chars`, plus invisible characters dropped
    /// from between them in the original.
    pub fn flags(&self, chars: Range<usize>, original: &str) -> Flags {
        let mut flags = self.chars[chars.clone()]
            .iter()
            .fold(0, |acc, c| acc | c.flags);
        let span = self.original_span(chars);
        if original[span].chars().any(is_invisible) {
            flags |= INVISIBLE;
        }
        flags
    }

    /// The normalised characters a byte range of [`Normalised::text`] covers.
    pub fn chars_of_text_range(&self, bytes: Range<usize>) -> Range<usize> {
        let start = self.chars.partition_point(|c| c.at < bytes.start);
        let end = self.chars.partition_point(|c| c.at < bytes.end);
        start..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let n = Normalised::new(text);
        n.tokens
            .iter()
            .map(|t| n.text_of(t.start..t.end).to_owned())
            .collect()
    }

    #[test]
    fn folds_case_width_lookalikes_and_accents() {
        assert_eq!(words("FREE Ｎｉｔｒｏ"), ["free", "nitro"]);
        assert_eq!(words("dіscord"), ["discord"]); // Cyrillic і
        assert_eq!(words("ѕсаm"), ["scam"]); // Cyrillic ѕ с а
        assert_eq!(words("ιdιοt"), ["idiot"]); // Greek iota and omicron
        assert_eq!(words("𝐟𝐫𝐞𝐞"), ["free"]);
        assert_eq!(words("café naïve"), ["cafe", "naive"]);
        assert_eq!(words("f̸r̸e̸e̸"), ["free"]);
        assert_eq!(words("ɪᴅɪᴏᴛ ЅСАМ"), ["idiot", "scam"]);
        // Only the look-alike letters change: `р` and `е` do, `П`, `и`, `в`, `т` have no Latin twin.
        assert_eq!(words("Привет"), ["пpивeт"]);
    }

    #[test]
    fn drops_invisible_characters_but_keeps_offsets() {
        let text = "fr\u{200b}e\u{feff}e x";
        let n = Normalised::new(text);
        assert_eq!(n.text, "free x");
        let t = n.tokens[0];
        let span = n.original_span(t.start..t.end);
        assert_eq!(&text[span.clone()], "fr\u{200b}e\u{feff}e");
        assert_ne!(n.flags(t.start..t.end, text) & INVISIBLE, 0);
    }

    #[test]
    fn digits_and_symbols_read_as_letters_only_inside_words() {
        assert_eq!(words("fr33 n1tr0"), ["free", "nitro"]);
        assert_eq!(words("@$$ h0le"), ["ass", "hole"]);
        assert_eq!(
            words("I have 3 cats, 2024!"),
            ["i", "have", "3", "cats", "2024"]
        );
        assert_eq!(words("wow! yes!!"), ["wow", "yes"]);
        assert_eq!(words("!diot"), ["idiot"]);
        assert_eq!(words("cost $5"), ["cost", "$5"]);
    }

    #[test]
    fn markup_is_a_separator() {
        assert_eq!(
            words("hi<@U123>there <#C1|general> <!here>"),
            ["hi", "there"]
        );
        assert_eq!(words("a <b> c"), ["a", "b", "c"]);
    }

    #[test]
    fn changed_widths_keep_text_offsets_consistent() {
        let n = Normalised::new("x€y ₤ ﬁne ǅ");
        for c in &n.chars {
            assert_eq!(n.text[c.at..].chars().next(), Some(c.ch));
        }
        assert_eq!(words("h€llo ﬁne"), ["hello", "fine"]);
    }
}
