//! Banned words and phrases, matched on whole normalised words.
//!
//! A message word matches a banned word when, after [`Normalised`]:
//! - their letters are the same once repeated letters are collapsed, and the message has each
//!   letter at least as often in a row as the banned word (`freeeee` is `free`; `as` is not
//!   `ass`); or
//! - the banned word is long enough for a near spelling: normalised Levenshtein similarity above
//!   85 out of 100, that is at most `floor(letters × 0.15)` edits, so a banned word of 7 to 13
//!   letters allows 1 edit and one of 14 or more allows 2; shorter words must be exact. Edits are
//!   counted with runs of a letter capped at two.
//!
//! Matching whole words is what keeps `ass` out of `classic` and `cunt` out of `Scunthorpe`.
//! Scripts that put no spaces between words (Chinese, Japanese, Thai…) have no such
//! boundaries to respect, so a banned word written in one is found anywhere in a run of them.
//! Letters spaced or dotted out one at a time (`f r e e`, `k.y.s`) are joined into one word and
//! searched for banned words anywhere inside, since spelling a word out letter by letter is
//! itself the evasion. The allow list removes hits inside allowed words and phrases.
//!
//! Cost: one hash lookup per word for exact matches, and for near spellings a deletion
//! neighbourhood (SymSpell): every banned word's variants with up to its allowed edits deleted
//! are indexed once, so a message word is compared only with banned words that share a
//! variant, never with the whole list.

use std::collections::HashMap;
use std::ops::Range;

use aho_corasick::AhoCorasick;

use super::normalise::{Flags, NEAR, Normalised, REPEATS, SEPARATORS, Token};

/// A message with thousands of banned words needs only the first few reported.
pub const MAX_HITS: usize = 25;

/// Letters spelt out one at a time may be this far apart (`f - r - e - e`).
const MAX_SPELLED_GAP: usize = 3;
/// Fewer single letters in a row are ordinary prose (`a b`, `I a`).
const MIN_SPELLED_LETTERS: usize = 3;
/// Each word of a phrase needs this many letters for the phrase written as one word
/// (`freenitro`) to match too; shorter ones read into ordinary words (`the rapist` →
/// `therapist`).
const MIN_CONCAT_WORD_LETTERS: usize = 4;

/// A word's matching key: normalised letters with `l` folded into `i` (so `1`, `!` and `|`,
/// which read as `i`, match both).
fn key_chars(n: &Normalised, chars: Range<usize>) -> Vec<char> {
    n.chars[chars]
        .iter()
        .map(|c| if c.ch == 'l' { 'i' } else { c.ch })
        .collect()
}

/// A message word's key: a spelled-out word's letters without what separates them.
fn word_key(n: &Normalised, word: &Word) -> Vec<char> {
    if !word.spelled {
        return key_chars(n, word.chars.clone());
    }
    word.tokens
        .clone()
        .flat_map(|t| key_chars(n, n.tokens[t].start..n.tokens[t].end))
        .collect()
}

/// The keys of a banned entry's words, as a message's words would be keyed.
pub fn phrase_keys(text: &str) -> Vec<String> {
    let n = Normalised::new(text);
    n.tokens
        .iter()
        .map(|t| key_chars(&n, t.start..t.end).into_iter().collect())
        .collect()
}

/// Letters with runs collapsed, and each run's length.
fn collapse(chars: &[char]) -> (String, Vec<u16>) {
    let mut letters = String::new();
    let mut runs: Vec<u16> = Vec::new();
    let mut last = None;
    for &c in chars {
        if Some(c) == last {
            if let Some(run) = runs.last_mut() {
                *run = run.saturating_add(1);
            }
        } else {
            letters.push(c);
            runs.push(1);
            last = Some(c);
        }
    }
    (letters, runs)
}

/// Runs capped at two: the form edit distances are counted on.
fn capped(chars: &[char]) -> Vec<char> {
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    for &c in chars {
        let n = out.len();
        if n >= 2 && out[n - 1] == c && out[n - 2] == c {
            continue;
        }
        out.push(c);
    }
    out
}

/// Edits allowed for a banned word of `letters` letters: similarity above 85 out of 100.
pub fn allowed_edits(letters: usize) -> usize {
    letters * 15 / 100
}

struct Form {
    runs: Vec<u16>,
    capped: String,
    max_edits: usize,
}

struct Entry {
    text: String,
    forms: Vec<usize>,
}

pub struct WordList {
    forms: Vec<Form>,
    entries: Vec<Entry>,
    by_collapsed: HashMap<String, Vec<usize>>,
    by_deletion: HashMap<String, Vec<usize>>,
    /// Entries whose words start with a form; single-form entries are whole matches.
    by_first: HashMap<usize, Vec<usize>>,
    fuzzy_lengths: Range<usize>,
    /// Spelled-out letters: every entry written as one collapsed word.
    spelled: Option<(AhoCorasick, Vec<usize>)>,
    /// Entries written in scripts that put no spaces between words (Chinese, Japanese, Thai…),
    /// found anywhere inside a message word, since there a "word" is a whole clause.
    unspaced: Option<(AhoCorasick, Vec<usize>)>,
    allow: Vec<Vec<String>>,
}

/// One banned word or phrase found.
#[derive(Clone, Debug, PartialEq)]
pub struct WordHit {
    /// Normalised characters matched.
    pub chars: Range<usize>,
    /// The banned entry as the moderator wrote it.
    pub entry: String,
    pub phrase: bool,
    pub flags: Flags,
    /// Letters different (a near spelling), 0 when exact.
    pub edits: usize,
}

/// A word of the message: one token, or a run of spelled-out single letters.
struct Word {
    chars: Range<usize>,
    tokens: Range<usize>,
    spelled: bool,
    matches: Vec<(usize, Flags, usize)>,
}

impl WordList {
    pub fn new(words: &[String], allow_words: &[String]) -> WordList {
        let mut list = WordList {
            forms: Vec::new(),
            entries: Vec::new(),
            by_collapsed: HashMap::new(),
            by_deletion: HashMap::new(),
            by_first: HashMap::new(),
            // Empty until a word widens it (start past end).
            fuzzy_lengths: std::ops::Range {
                start: usize::MAX,
                end: 0,
            },
            spelled: None,
            unspaced: None,
            allow: Vec::new(),
        };
        let mut unspaced_patterns: Vec<String> = Vec::new();
        let mut unspaced_entries = Vec::new();
        let mut form_ids: HashMap<String, usize> = HashMap::new();
        let mut spelled_patterns: Vec<String> = Vec::new();
        let mut spelled_entries = Vec::new();
        for word in words {
            let keys = phrase_keys(word);
            if keys.is_empty() {
                continue;
            }
            let entry = list.entries.len();
            let forms: Vec<usize> = keys.iter().map(|k| list.form(k, &mut form_ids)).collect();
            let concat: String = keys.concat();
            if keys.len() > 1
                && keys
                    .iter()
                    .all(|k| k.chars().count() >= MIN_CONCAT_WORD_LETTERS)
            {
                let form = list.form(&concat, &mut form_ids);
                list.by_first.entry(form).or_default().push(entry);
            }
            let concat_chars: Vec<char> = concat.chars().collect();
            spelled_patterns.push(collapse(&concat_chars).0);
            spelled_entries.push(entry);
            if concat_chars.iter().all(|c| is_unspaced(*c)) {
                unspaced_patterns.push(concat.clone());
                unspaced_entries.push(entry);
            }
            list.by_first.entry(forms[0]).or_default().push(entry);
            list.entries.push(Entry {
                text: word.clone(),
                forms,
            });
        }
        for (id, form) in list.forms.iter().enumerate() {
            if form.max_edits == 0 {
                continue;
            }
            let capped: Vec<char> = form.capped.chars().collect();
            let len = capped.len();
            list.fuzzy_lengths.start = list.fuzzy_lengths.start.min(len - form.max_edits);
            list.fuzzy_lengths.end = list.fuzzy_lengths.end.max(len + form.max_edits + 1);
            for variant in deletions(&capped, form.max_edits) {
                let ids = list.by_deletion.entry(variant).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        if !spelled_patterns.is_empty()
            && let Ok(ac) = AhoCorasick::new(&spelled_patterns)
        {
            list.spelled = Some((ac, spelled_entries));
        }
        if !unspaced_patterns.is_empty()
            && let Ok(ac) = AhoCorasick::new(&unspaced_patterns)
        {
            list.unspaced = Some((ac, unspaced_entries));
        }
        list.allow = allow_words
            .iter()
            .map(|w| {
                phrase_keys(w)
                    .iter()
                    .map(|k| collapse(&k.chars().collect::<Vec<_>>()).0)
                    .collect::<Vec<_>>()
            })
            .filter(|keys| !keys.is_empty())
            .collect();
        list
    }

    fn form(&mut self, key: &str, ids: &mut HashMap<String, usize>) -> usize {
        if let Some(id) = ids.get(key) {
            return *id;
        }
        let chars: Vec<char> = key.chars().collect();
        let (collapsed, runs) = collapse(&chars);
        let id = self.forms.len();
        self.by_collapsed.entry(collapsed).or_default().push(id);
        self.forms.push(Form {
            runs,
            capped: capped(&chars).into_iter().collect(),
            max_edits: allowed_edits(chars.len()),
        });
        ids.insert(key.to_owned(), id);
        id
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn find(&self, n: &Normalised) -> Vec<WordHit> {
        if self.entries.is_empty() {
            return Vec::new();
        }
        let mut words = message_words(n);
        for word in &mut words {
            word.matches = self.matches(&word_key(n, word));
        }
        let mut hits = Vec::new();
        for (i, word) in words.iter().enumerate() {
            for &(form, flags, edits) in &word.matches {
                let Some(entries) = self.by_first.get(&form) else {
                    continue;
                };
                for &e in entries {
                    if let Some(hit) = self.phrase_at(&words, i, e, form, flags, edits) {
                        hits.push(hit);
                    }
                }
            }
            if word.spelled {
                self.spelled_in(n, word, &mut hits);
            } else {
                self.unspaced_in(n, word, &mut hits);
            }
            if hits.len() >= MAX_HITS * 4 {
                break;
            }
        }
        let allowed = self.allowed_ranges(n);
        hits.retain(|h| {
            !allowed
                .iter()
                .any(|a| a.start < h.chars.end && h.chars.start < a.end)
        });
        hits.sort_by_key(|h| (h.chars.start, std::cmp::Reverse(h.chars.end)));
        hits.dedup_by(|later, kept| later.chars.start < kept.chars.end);
        hits.truncate(MAX_HITS);
        hits
    }

    /// The forms one message word matches, with how.
    fn matches(&self, key: &[char]) -> Vec<(usize, Flags, usize)> {
        let mut found = Vec::new();
        let (collapsed, runs) = collapse(key);
        if let Some(ids) = self.by_collapsed.get(&collapsed) {
            for &id in ids {
                let form = &self.forms[id];
                if runs.iter().zip(&form.runs).all(|(m, f)| m >= f) {
                    let longer = runs.iter().zip(&form.runs).any(|(m, f)| m > f);
                    found.push((id, if longer { REPEATS } else { 0 }, 0));
                }
            }
        }
        let capped_key = capped(key);
        if self.by_deletion.is_empty() || !self.fuzzy_lengths.contains(&capped_key.len()) {
            return found;
        }
        let capped_text: String = capped_key.iter().collect();
        let mut candidates: Vec<usize> = Vec::new();
        let depth = if capped_key.len() >= 12 { 2 } else { 1 };
        for variant in deletions(&capped_key, depth) {
            if let Some(ids) = self.by_deletion.get(&variant) {
                candidates.extend(ids);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        for id in candidates {
            if found.iter().any(|(f, _, _)| *f == id) {
                continue;
            }
            let form = &self.forms[id];
            let edits = strsim::levenshtein(&capped_text, &form.capped);
            if edits <= form.max_edits {
                let flags = if edits > 0 { NEAR } else { REPEATS };
                found.push((id, flags, edits));
            }
        }
        found
    }

    fn phrase_at(
        &self,
        words: &[Word],
        i: usize,
        entry: usize,
        form: usize,
        flags: Flags,
        edits: usize,
    ) -> Option<WordHit> {
        let e = &self.entries[entry];
        let whole = e.forms.len() == 1 || e.forms[0] != form;
        let mut flags = flags | if words[i].spelled { SEPARATORS } else { 0 };
        let mut edits = edits;
        let mut last = i;
        if !whole {
            for (k, want) in e.forms.iter().enumerate().skip(1) {
                let word = words.get(i + k)?;
                let &(_, f, d) = word.matches.iter().find(|(id, _, _)| id == want)?;
                flags |= f | if word.spelled { SEPARATORS } else { 0 };
                edits += d;
                last = i + k;
            }
        }
        Some(WordHit {
            chars: words[i].chars.start..words[last].chars.end,
            entry: e.text.clone(),
            phrase: e.forms.len() > 1,
            flags,
            edits,
        })
    }

    /// Banned entries anywhere inside letters spelt out one at a time.
    fn spelled_in(&self, n: &Normalised, word: &Word, hits: &mut Vec<WordHit>) {
        let Some((ac, entries)) = &self.spelled else {
            return;
        };
        let token_chars: Vec<usize> = word.tokens.clone().map(|t| n.tokens[t].start).collect();
        let letters = word_key(n, word);
        let (collapsed, _) = collapse(&letters);
        // Where each collapsed letter starts among the spelled letters.
        let mut starts = Vec::with_capacity(collapsed.len());
        for (k, c) in letters.iter().enumerate() {
            if k == 0 || letters[k - 1] != *c {
                starts.push(k);
            }
        }
        for m in ac.find_overlapping_iter(&collapsed) {
            let first = collapsed[..m.start()].chars().count();
            let count = collapsed[m.start()..m.end()].chars().count();
            let last_letter = starts
                .get(first + count)
                .map_or(letters.len(), |next| *next)
                - 1;
            let e = &self.entries[entries[m.pattern().as_usize()]];
            let start = token_chars[starts[first]];
            let end = token_chars[last_letter] + 1;
            hits.push(WordHit {
                chars: start..end,
                entry: e.text.clone(),
                phrase: e.forms.len() > 1,
                flags: SEPARATORS,
                edits: 0,
            });
            if hits.len() >= MAX_HITS * 4 {
                return;
            }
        }
    }

    /// Banned entries of unspaced scripts anywhere inside a message word with such letters.
    fn unspaced_in(&self, n: &Normalised, word: &Word, hits: &mut Vec<WordHit>) {
        let Some((ac, entries)) = &self.unspaced else {
            return;
        };
        if !n.chars[word.chars.clone()]
            .iter()
            .any(|c| is_unspaced(c.ch))
        {
            return;
        }
        // One key character per normalised character, so offsets map back one to one.
        let letters = key_chars(n, word.chars.clone());
        let text: String = letters.iter().collect();
        for m in ac.find_overlapping_iter(&text) {
            let first = text[..m.start()].chars().count();
            let count = text[m.start()..m.end()].chars().count();
            let e = &self.entries[entries[m.pattern().as_usize()]];
            let start = word.chars.start + first;
            hits.push(WordHit {
                chars: start..start + count,
                entry: e.text.clone(),
                phrase: e.forms.len() > 1,
                flags: 0,
                edits: 0,
            });
            if hits.len() >= MAX_HITS * 4 {
                return;
            }
        }
    }

    /// Normalised characters covered by allowed words and phrases.
    fn allowed_ranges(&self, n: &Normalised) -> Vec<Range<usize>> {
        if self.allow.is_empty() {
            return Vec::new();
        }
        let keys: Vec<String> = n
            .tokens
            .iter()
            .map(|t| collapse(&key_chars(n, t.start..t.end)).0)
            .collect();
        let mut ranges = Vec::new();
        for (i, _) in keys.iter().enumerate() {
            for phrase in &self.allow {
                let end = i + phrase.len();
                if end <= keys.len() && keys[i..end] == phrase[..] {
                    ranges.push(n.tokens[i].start..n.tokens[end - 1].end);
                }
            }
        }
        ranges
    }
}

/// A letter of a script written without spaces between words.
fn is_unspaced(c: char) -> bool {
    use unicode_script::{Script, UnicodeScript};
    matches!(
        c.script(),
        Script::Han
            | Script::Hiragana
            | Script::Katakana
            | Script::Thai
            | Script::Lao
            | Script::Khmer
            | Script::Myanmar
    )
}

/// Every variant of `chars` with up to `depth` characters deleted (itself included).
fn deletions(chars: &[char], depth: usize) -> Vec<String> {
    let mut out = vec![chars.iter().collect::<String>()];
    let mut frontier = vec![chars.to_vec()];
    for _ in 0..depth {
        let mut next = Vec::new();
        for word in &frontier {
            if word.len() <= 1 {
                continue;
            }
            for skip in 0..word.len() {
                let variant: Vec<char> = word
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| *k != skip)
                    .map(|(_, c)| *c)
                    .collect();
                next.push(variant);
            }
        }
        next.sort_unstable();
        next.dedup();
        out.extend(next.iter().map(|w| w.iter().collect::<String>()));
        frontier = next;
    }
    out
}

/// The message's words, with runs of single spelled-out letters joined into one.
fn message_words(n: &Normalised) -> Vec<Word> {
    let tokens = &n.tokens;
    let single = |t: &Token| t.len() == 1 && n.chars[t.start].ch.is_alphabetic();
    let close = |a: &Token, b: &Token| {
        b.start - a.end <= MAX_SPELLED_GAP && !n.chars[a.end..b.start].iter().any(|c| c.ch == '\n')
    };
    let mut words = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let mut j = i + 1;
        if single(&tokens[i]) {
            while j < tokens.len() && single(&tokens[j]) && close(&tokens[j - 1], &tokens[j]) {
                j += 1;
            }
        }
        if j - i >= MIN_SPELLED_LETTERS {
            words.push(Word {
                chars: tokens[i].start..tokens[j - 1].end,
                tokens: i..j,
                spelled: true,
                matches: Vec::new(),
            });
            i = j;
            continue;
        }
        words.push(Word {
            chars: tokens[i].start..tokens[i].end,
            tokens: i..i + 1,
            spelled: false,
            matches: Vec::new(),
        });
        i += 1;
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(words: &[&str], allow: &[&str]) -> WordList {
        let owned = |l: &[&str]| l.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
        WordList::new(&owned(words), &owned(allow))
    }

    fn found(list: &WordList, text: &str) -> Vec<(String, String)> {
        let n = Normalised::new(text);
        list.find(&n)
            .into_iter()
            .map(|h| (h.entry, text[n.original_span(h.chars)].to_owned()))
            .collect()
    }

    fn pair(entry: &str, text: &str) -> (String, String) {
        (entry.to_owned(), text.to_owned())
    }

    #[test]
    fn whole_words_only() {
        let l = list(&["ass", "cunt", "kys"], &[]);
        assert!(found(&l, "a classic assassin from Scunthorpe").is_empty());
        assert!(found(&l, "Sky sources say so, as we know").is_empty());
        assert_eq!(found(&l, "you ass"), [pair("ass", "ass")]);
        assert_eq!(found(&l, "ASSSSS!"), [pair("ass", "ASSSSS")]);
        assert_eq!(found(&l, "just kys"), [pair("kys", "kys")]);
    }

    #[test]
    fn obfuscations_are_seen_through() {
        let l = list(&["free nitro", "idiot", "scam"], &[]);
        assert_eq!(
            found(&l, "get fr33 n1tr0 now"),
            [pair("free nitro", "fr33 n1tr0")]
        );
        assert_eq!(
            found(&l, "FREE   NITRO"),
            [pair("free nitro", "FREE   NITRO")]
        );
        assert_eq!(
            found(&l, "freenitro here"),
            [pair("free nitro", "freenitro")]
        );
        assert_eq!(found(&l, "you 1d10t"), [pair("idiot", "1d10t")]);
        assert_eq!(found(&l, "you ιdιοt"), [pair("idiot", "ιdιοt")]);
        assert_eq!(
            found(&l, "s\u{200b}c\u{200d}am"),
            [pair("scam", "s\u{200b}c\u{200d}am")]
        );
        assert_eq!(found(&l, "a s.c.a.m ok"), [pair("scam", "s.c.a.m")]);
        assert_eq!(
            found(&l, "f r e e n i t r o"),
            [pair("free nitro", "f r e e n i t r o")]
        );
        assert_eq!(found(&l, "idiooooot"), [pair("idiot", "idiooooot")]);
    }

    #[test]
    fn near_spellings_only_for_long_words() {
        let l = list(&["scammer", "idiot"], &[]);
        let n = Normalised::new("what a scamner");
        let hits = l.find(&n);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].edits, 1);
        assert_ne!(hits[0].flags & NEAR, 0);
        assert!(found(&l, "idiom").is_empty());
        assert!(found(&l, "scanner").is_empty(), "2 edits for 7 letters");
    }

    #[test]
    fn the_allow_list_stops_hits_inside_allowed_words() {
        let l = list(&["assassinate"], &["assassinated"]);
        assert!(found(&l, "he was assassinated").is_empty());
        let l = list(&["assassinate"], &[]);
        assert_eq!(found(&l, "assassinated").len(), 1);
    }

    #[test]
    fn edit_allowance_follows_the_similarity_rule() {
        assert_eq!(allowed_edits(6), 0);
        assert_eq!(allowed_edits(7), 1);
        assert_eq!(allowed_edits(13), 1);
        assert_eq!(allowed_edits(14), 2);
    }

    #[test]
    fn deletion_variants() {
        let chars: Vec<char> = "abc".chars().collect();
        let mut v = deletions(&chars, 1);
        v.sort();
        assert_eq!(v, ["ab", "abc", "ac", "bc"]);
    }
}
