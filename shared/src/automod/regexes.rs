//! Community patterns: the `regex` crate's flavour (what Discord's AutoMod accepts too), which
//! runs in time linear in the message, so no pattern needs a timeout. Sizes are bounded
//! instead: a pattern may compile to at most [`SIZE_LIMIT`] bytes of program and use at most
//! [`DFA_SIZE_LIMIT`] bytes of lazy-DFA cache, so ten of them stay within a Lambda's memory.

use regex::{Regex, RegexBuilder};

use super::normalise::Normalised;
use super::rules::{MAX_REGEX_CHARS, RuleError};

/// 1 MiB of compiled program per pattern.
pub const SIZE_LIMIT: usize = 1 << 20;
/// 2 MiB of lazy-DFA cache per pattern.
pub const DFA_SIZE_LIMIT: usize = 2 << 20;

/// Compiles one pattern case-insensitively (moderators write `scam`, members type `SCAM`).
pub fn compile_pattern(pattern: &str) -> Result<Regex, RuleError> {
    let chars = pattern.chars().count();
    if chars > MAX_REGEX_CHARS {
        return Err(RuleError::PatternTooLong(chars));
    }
    let regex = RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => RuleError::PatternTooLarge(pattern.to_owned()),
            regex::Error::Syntax(text) => RuleError::BadPattern {
                pattern: pattern.to_owned(),
                reason: syntax_reason(&text),
            },
            other => RuleError::BadPattern {
                pattern: pattern.to_owned(),
                reason: other.to_string(),
            },
        })?;
    if regex.is_match("") {
        return Err(RuleError::PatternMatchesEmpty(pattern.to_owned()));
    }
    Ok(regex)
}

/// The regex crate's syntax errors are a drawing of the pattern with a caret and then
/// `error: unclosed group`; a moderator needs the last line.
fn syntax_reason(text: &str) -> String {
    text.lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .unwrap_or(text.trim())
        .to_owned()
}

pub struct Patterns {
    compiled: Vec<(String, Regex)>,
}

/// Where a pattern matched, and whether only the normalised text showed it.
pub struct PatternMatch<'p> {
    pub pattern: &'p str,
    pub span: std::ops::Range<usize>,
    /// Normalised characters matched, when the match was in the normalised text only.
    pub normalised_chars: Option<std::ops::Range<usize>>,
}

impl Patterns {
    pub fn compile(patterns: &[String]) -> Result<Patterns, RuleError> {
        let compiled = patterns
            .iter()
            .map(|p| Ok((p.clone(), compile_pattern(p)?)))
            .collect::<Result<_, RuleError>>()?;
        Ok(Patterns { compiled })
    }

    /// The first match of each pattern: in the original text, else in the normalised text
    /// (mapped back to the original bytes).
    pub fn find<'p>(&'p self, original: &str, normalised: &Normalised) -> Vec<PatternMatch<'p>> {
        let mut found = Vec::new();
        for (pattern, regex) in &self.compiled {
            if let Some(m) = regex.find(original) {
                found.push(PatternMatch {
                    pattern,
                    span: m.range(),
                    normalised_chars: None,
                });
                continue;
            }
            let Some(m) = regex.find(&normalised.text) else {
                continue;
            };
            let chars = normalised.chars_of_text_range(m.range());
            if chars.is_empty() {
                continue;
            }
            found.push(PatternMatch {
                pattern,
                span: normalised.original_span(chars.clone()),
                normalised_chars: Some(chars),
            });
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_problem() {
        let err = compile_pattern("(a").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the pattern `(a` is not a valid regular expression: unclosed group"
        );
        assert!(matches!(
            compile_pattern(r"(\w{100}){100}"),
            Err(RuleError::PatternTooLarge(_))
        ));
        assert_eq!(
            compile_pattern("a*").unwrap_err(),
            RuleError::PatternMatchesEmpty("a*".into())
        );
    }

    #[test]
    fn matches_the_original_then_the_normalised_text() {
        let patterns = Patterns::compile(&[r"buy\s+followers".into(), r"\bscam\b".into()]).unwrap();
        let text = "BUY   followers";
        let found = patterns.find(text, &Normalised::new(text));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].span, 0..text.len());
        assert!(found[0].normalised_chars.is_none());

        let text = "this is a ѕс4m ok";
        let found = patterns.find(text, &Normalised::new(text));
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].span.clone()], "ѕс4m");
        assert!(found[0].normalised_chars.is_some());
    }
}
