//! A community's AutoMod settings: one serde JSON document, the seeded defaults, and the limits
//! every change is validated against before it is stored or compiled.
//!
//! The limits follow Discord's native AutoMod (1000 keywords of at most 60 characters, 10 regexes
//! of at most 260, an allow list of 100, 20 exempt roles, 50 exempt channels, a mention limit of at
//! most 50), so a rule set written for one can move to the other.

use serde::{Deserialize, Serialize};

use crate::case_kind::Kind;

use super::links::domain_entry;
use super::regexes::compile_pattern;

pub const MAX_WORDS: usize = 1000;
pub const MAX_WORD_CHARS: usize = 60;
pub const MAX_REGEXES: usize = 10;
pub const MAX_REGEX_CHARS: usize = 260;
/// Per list: allowed and denied domains are counted separately.
pub const MAX_DOMAINS: usize = 100;
pub const MAX_ALLOW_WORDS: usize = 100;
pub const MAX_EXEMPT_ROLES: usize = 20;
pub const MAX_EXEMPT_CHANNELS: usize = 50;
pub const MAX_EXEMPT_MEMBERS: usize = 100;
pub const MAX_MENTIONS: u32 = 50;
/// Discord's timeouts last at most 28 days.
pub const MAX_MUTE_SECS: i64 = 28 * 86_400;
pub const MAX_TEMPBAN_SECS: i64 = 366 * 86_400;
/// Flood and repeat counters live in the store for one window: an hour bounds what they keep.
pub const MAX_WINDOW_SECS: u32 = 3600;
pub const MAX_COUNT: u32 = 100;
pub const MAX_RULES: usize = 30;

/// The community's rules and its allow list of words that are never flagged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rules {
    pub rules: Vec<Rule>,
    /// Words and phrases that stop a banned-word hit inside them (known false positives).
    pub allow_words: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Short and unique: `words`, `caps`, `links`...
    pub id: String,
    pub enabled: bool,
    pub kind: RuleKind,
    pub action: RuleAction,
    /// Whether the message is also deleted (where the platform lets the bot).
    #[serde(default)]
    pub delete: bool,
    #[serde(default)]
    pub exempt: Exemptions,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleKind {
    /// Words and phrases (`free nitro`).
    Words {
        words: Vec<String>,
    },
    /// More than `ratio_percent` capitals among more than `min_letters` cased letters.
    Caps {
        ratio_percent: u8,
        min_letters: u32,
    },
    Links {
        /// When not empty, links to any other domain hit.
        allow: Vec<String>,
        deny: Vec<String>,
        invites: bool,
        lookalikes: bool,
    },
    /// More than `max` distinct people or roles mentioned in one message.
    Mentions {
        max: u32,
    },
    /// More than `max_messages` from one member in one channel within `window_secs`.
    Flood {
        max_messages: u32,
        window_secs: u32,
    },
    /// The same normalised message more than `max_repeats` times within `window_secs`.
    Repeats {
        max_repeats: u32,
        window_secs: u32,
    },
    Regex {
        patterns: Vec<String>,
    },
}

impl RuleKind {
    /// As moderators name the kind in messages.
    pub fn label(&self) -> &'static str {
        match self {
            RuleKind::Words { .. } => "banned words",
            RuleKind::Caps { .. } => "capitals",
            RuleKind::Links { .. } => "links",
            RuleKind::Mentions { .. } => "mention spam",
            RuleKind::Flood { .. } => "message flood",
            RuleKind::Repeats { .. } => "repeated messages",
            RuleKind::Regex { .. } => "patterns",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum RuleAction {
    /// Recorded in the audit log only; no case.
    Log,
    Warn,
    Mute {
        secs: i64,
    },
    Kick,
    TempBan {
        secs: i64,
    },
    Ban,
}

impl RuleAction {
    /// The kind of case the action opens; `None` for log only.
    pub fn kind(&self) -> Option<Kind> {
        match self {
            RuleAction::Log => None,
            RuleAction::Warn => Some(Kind::Warning),
            RuleAction::Mute { .. } => Some(Kind::Mute),
            RuleAction::Kick => Some(Kind::Kick),
            RuleAction::TempBan { .. } => Some(Kind::TempBan),
            RuleAction::Ban => Some(Kind::Ban),
        }
    }

    pub fn duration_secs(&self) -> Option<i64> {
        match self {
            RuleAction::Mute { secs } | RuleAction::TempBan { secs } => Some(*secs),
            _ => None,
        }
    }

    /// "log only", "warn", "mute 1h", "kick", "temporary ban 7d", "ban".
    pub fn label(&self) -> String {
        match self {
            RuleAction::Log => "log only".to_owned(),
            RuleAction::Warn => "warn".to_owned(),
            RuleAction::Mute { secs } => format!("mute {}", compact_duration(*secs)),
            RuleAction::Kick => "kick".to_owned(),
            RuleAction::TempBan { secs } => format!("temporary ban {}", compact_duration(*secs)),
            RuleAction::Ban => "ban".to_owned(),
        }
    }

    /// `log`, `warn`, `mute`, `kick`, `tempban`, `ban` (any case); the timed ones need a
    /// positive duration and the others ignore it.
    pub fn parse(word: &str, duration: Option<i64>) -> Option<RuleAction> {
        let timed = duration.filter(|secs| *secs > 0);
        match word.trim().to_ascii_lowercase().as_str() {
            "log" | "log-only" | "log only" => Some(RuleAction::Log),
            "warn" | "warning" => Some(RuleAction::Warn),
            "mute" | "timeout" => timed.map(|secs| RuleAction::Mute { secs }),
            "kick" => Some(RuleAction::Kick),
            "tempban" | "temp-ban" => timed.map(|secs| RuleAction::TempBan { secs }),
            "ban" => Some(RuleAction::Ban),
            _ => None,
        }
    }
}

/// `90` → "1m30s", `3600` → "1h", `604800` → "7d": the form moderators type durations in.
fn compact_duration(secs: i64) -> String {
    if secs <= 0 {
        return "0s".to_owned();
    }
    let mut rest = secs;
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// Who and where a rule does not apply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Exemptions {
    pub roles: Vec<String>,
    pub channels: Vec<String>,
    pub members: Vec<String>,
}

impl Exemptions {
    pub fn covers(&self, author: &str, roles: &[String], channel: &str) -> bool {
        self.members.iter().any(|m| m == author)
            || self.channels.iter().any(|c| c == channel)
            || self.roles.iter().any(|r| roles.contains(r))
    }
}

/// The words the allow list starts with: English words and places that contain a common
/// banned word, or read as one across a word boundary ("sky sources" as "kys").
pub const DEFAULT_ALLOW_WORDS: &[&str] = &[
    "scunthorpe",
    "penistone",
    "classic",
    "classical",
    "assassin",
    "assassinate",
    "bass",
    "cocktail",
    "essex",
    "sussex",
    "middlesex",
    "sky sources",
    "therapist",
    "grapes",
    "shitake",
    "arsenal",
    "cockpit",
    "analysis",
];

impl Default for Rules {
    fn default() -> Self {
        let rule = |id: &str, enabled: bool, kind: RuleKind, action: RuleAction| Rule {
            id: id.to_owned(),
            enabled,
            kind,
            action,
            delete: false,
            exempt: Exemptions::default(),
        };
        Rules {
            rules: vec![
                rule(
                    "words",
                    true,
                    RuleKind::Words { words: Vec::new() },
                    RuleAction::Warn,
                ),
                rule(
                    "caps",
                    true,
                    RuleKind::Caps {
                        ratio_percent: 70,
                        min_letters: 10,
                    },
                    RuleAction::Log,
                ),
                rule(
                    "mentions",
                    true,
                    RuleKind::Mentions { max: 5 },
                    RuleAction::Warn,
                ),
                rule(
                    "flood",
                    true,
                    RuleKind::Flood {
                        max_messages: 5,
                        window_secs: 10,
                    },
                    RuleAction::Mute { secs: 600 },
                ),
                rule(
                    "repeats",
                    true,
                    RuleKind::Repeats {
                        max_repeats: 3,
                        window_secs: 60,
                    },
                    RuleAction::Warn,
                ),
                rule(
                    "links",
                    false,
                    RuleKind::Links {
                        allow: Vec::new(),
                        deny: Vec::new(),
                        invites: true,
                        lookalikes: true,
                    },
                    RuleAction::Log,
                ),
                rule(
                    "regex",
                    true,
                    RuleKind::Regex {
                        patterns: Vec::new(),
                    },
                    RuleAction::Warn,
                ),
            ],
            allow_words: DEFAULT_ALLOW_WORDS
                .iter()
                .map(|w| (*w).to_owned())
                .collect(),
        }
    }
}

/// Why a rule set cannot be saved, in a sentence a moderator can act on.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RuleError {
    #[error("a rule needs an id of 1 to 32 letters, digits, `-` or `_` (`{0}` is not one)")]
    BadId(String),
    #[error("two rules have the id `{0}`")]
    DuplicateId(String),
    #[error("at most {MAX_RULES} rules (this change would make {0})")]
    TooManyRules(usize),
    #[error("at most {MAX_WORDS} banned words (this change would make {0})")]
    TooManyWords(usize),
    #[error("a banned word may be at most {MAX_WORD_CHARS} characters (`{word}` has {chars})")]
    WordTooLong { word: String, chars: usize },
    #[error("`{0}` has no letters or digits to match")]
    EmptyWord(String),
    #[error("at most {MAX_ALLOW_WORDS} allowed words (this change would make {0})")]
    TooManyAllowWords(usize),
    #[error("an allowed word may be at most {MAX_WORD_CHARS} characters (`{word}` has {chars})")]
    AllowWordTooLong { word: String, chars: usize },
    #[error("at most {MAX_REGEXES} patterns (this change would make {0})")]
    TooManyPatterns(usize),
    #[error("a pattern may be at most {MAX_REGEX_CHARS} characters (this one has {0})")]
    PatternTooLong(usize),
    #[error("the pattern `{pattern}` is not a valid regular expression: {reason}")]
    BadPattern { pattern: String, reason: String },
    #[error(
        "the pattern `{0}` is too large once compiled (at most 1 MiB of program and 2 MiB of matching cache): use fewer repetitions or alternatives"
    )]
    PatternTooLarge(String),
    #[error("the pattern `{0}` matches an empty message, so it would flag everything")]
    PatternMatchesEmpty(String),
    #[error("`{0}` is not a domain")]
    BadDomain(String),
    #[error("at most {MAX_DOMAINS} {list} domains (this change would make {count})")]
    TooManyDomains { list: &'static str, count: usize },
    #[error("the mention limit must be from 1 to {MAX_MENTIONS} (not {0})")]
    BadMentionLimit(u32),
    #[error("the capitals limit must be from 1% to 99% (not {0}%)")]
    BadCapsRatio(u8),
    #[error("the capitals rule needs from 1 to 2000 letters before it applies (not {0})")]
    BadCapsLetters(u32),
    #[error("`{rule}` needs a count from 1 to {MAX_COUNT} (not {count})")]
    BadCount { rule: String, count: u32 },
    #[error("`{rule}` needs a window from 1 s to {MAX_WINDOW_SECS} s (not {secs} s)")]
    BadWindow { rule: String, secs: u32 },
    #[error("a mute lasts from 1 second to 28 days")]
    BadMuteDuration,
    #[error("a temporary ban lasts from 1 second to 366 days")]
    BadTempBanDuration,
    #[error("at most {limit} exempt {what} (this change would make {count})")]
    TooManyExemptions {
        what: &'static str,
        limit: usize,
        count: usize,
    },
}

impl Rules {
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub fn rule_mut(&mut self, id: &str) -> Option<&mut Rule> {
        self.rules.iter_mut().find(|r| r.id == id)
    }

    /// Every limit, every domain, and every pattern compiled with the engine's size limits
    /// (1 MiB of compiled program, 2 MiB of lazy-DFA cache per pattern).
    pub fn validate(&self) -> Result<(), RuleError> {
        if self.rules.len() > MAX_RULES {
            return Err(RuleError::TooManyRules(self.rules.len()));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let id_ok = !rule.id.is_empty()
                && rule.id.len() <= 32
                && rule
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !id_ok {
                return Err(RuleError::BadId(rule.id.clone()));
            }
            if self.rules[..i].iter().any(|r| r.id == rule.id) {
                return Err(RuleError::DuplicateId(rule.id.clone()));
            }
            rule.validate()?;
        }
        if self.allow_words.len() > MAX_ALLOW_WORDS {
            return Err(RuleError::TooManyAllowWords(self.allow_words.len()));
        }
        for word in &self.allow_words {
            let chars = word.chars().count();
            if chars > MAX_WORD_CHARS {
                return Err(RuleError::AllowWordTooLong {
                    word: word.clone(),
                    chars,
                });
            }
        }
        Ok(())
    }
}

impl Rule {
    fn validate(&self) -> Result<(), RuleError> {
        match &self.action {
            RuleAction::Mute { secs } if !(1..=MAX_MUTE_SECS).contains(secs) => {
                return Err(RuleError::BadMuteDuration);
            }
            RuleAction::TempBan { secs } if !(1..=MAX_TEMPBAN_SECS).contains(secs) => {
                return Err(RuleError::BadTempBanDuration);
            }
            _ => {}
        }
        let exempt = &self.exempt;
        for (what, limit, count) in [
            ("roles", MAX_EXEMPT_ROLES, exempt.roles.len()),
            ("channels", MAX_EXEMPT_CHANNELS, exempt.channels.len()),
            ("members", MAX_EXEMPT_MEMBERS, exempt.members.len()),
        ] {
            if count > limit {
                return Err(RuleError::TooManyExemptions { what, limit, count });
            }
        }
        match &self.kind {
            RuleKind::Words { words } => {
                if words.len() > MAX_WORDS {
                    return Err(RuleError::TooManyWords(words.len()));
                }
                for word in words {
                    let chars = word.chars().count();
                    if chars > MAX_WORD_CHARS {
                        return Err(RuleError::WordTooLong {
                            word: word.clone(),
                            chars,
                        });
                    }
                    if super::words::phrase_keys(word).is_empty() {
                        return Err(RuleError::EmptyWord(word.clone()));
                    }
                }
            }
            RuleKind::Caps {
                ratio_percent,
                min_letters,
            } => {
                if !(1..=99).contains(ratio_percent) {
                    return Err(RuleError::BadCapsRatio(*ratio_percent));
                }
                if !(1..=2000).contains(min_letters) {
                    return Err(RuleError::BadCapsLetters(*min_letters));
                }
            }
            RuleKind::Links { allow, deny, .. } => {
                for (list, domains) in [("allowed", allow), ("denied", deny)] {
                    if domains.len() > MAX_DOMAINS {
                        return Err(RuleError::TooManyDomains {
                            list,
                            count: domains.len(),
                        });
                    }
                    for domain in domains {
                        domain_entry(domain)?;
                    }
                }
            }
            RuleKind::Mentions { max } => {
                if !(1..=MAX_MENTIONS).contains(max) {
                    return Err(RuleError::BadMentionLimit(*max));
                }
            }
            RuleKind::Flood {
                max_messages: count,
                window_secs,
            }
            | RuleKind::Repeats {
                max_repeats: count,
                window_secs,
            } => {
                if !(1..=MAX_COUNT).contains(count) {
                    return Err(RuleError::BadCount {
                        rule: self.id.clone(),
                        count: *count,
                    });
                }
                if !(1..=MAX_WINDOW_SECS).contains(window_secs) {
                    return Err(RuleError::BadWindow {
                        rule: self.id.clone(),
                        secs: *window_secs,
                    });
                }
            }
            RuleKind::Regex { patterns } => {
                if patterns.len() > MAX_REGEXES {
                    return Err(RuleError::TooManyPatterns(patterns.len()));
                }
                for pattern in patterns {
                    compile_pattern(pattern)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_named_by_short_ids() {
        let rules = Rules::default();
        rules.validate().unwrap();
        let ids: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "words", "caps", "mentions", "flood", "repeats", "links", "regex"
            ]
        );
        assert!(!rules.rule("links").unwrap().enabled);
        assert!(rules.allow_words.iter().any(|w| w == "scunthorpe"));
        assert!(rules.allow_words.iter().any(|w| w == "sky sources"));
    }

    #[test]
    fn the_document_round_trips_and_missing_fields_take_defaults() {
        let rules = Rules::default();
        let json = serde_json::to_string(&rules).unwrap();
        assert!(json.contains(r#""kind":"caps""#), "{json}");
        assert!(json.contains(r#""do":"mute","secs":600"#), "{json}");
        let back: Rules = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rules);
        let empty: Rules = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Rules::default());
        let rule: Rule = serde_json::from_str(
            r#"{"id":"w","enabled":true,"kind":{"kind":"words","words":["x"]},"action":{"do":"ban"}}"#,
        )
        .unwrap();
        assert!(!rule.delete);
        assert_eq!(rule.exempt, Exemptions::default());
    }

    #[test]
    fn actions_parse_label_and_map_to_case_kinds() {
        assert_eq!(RuleAction::parse("log", None), Some(RuleAction::Log));
        assert_eq!(RuleAction::parse("WARN", Some(5)), Some(RuleAction::Warn));
        assert_eq!(RuleAction::parse("mute", None), None);
        assert_eq!(
            RuleAction::parse("mute", Some(3600)),
            Some(RuleAction::Mute { secs: 3600 })
        );
        assert_eq!(RuleAction::parse("tempban", Some(0)), None);
        assert_eq!(RuleAction::parse("frobnicate", None), None);
        assert_eq!(RuleAction::Log.label(), "log only");
        assert_eq!(RuleAction::Mute { secs: 3600 }.label(), "mute 1h");
        assert_eq!(RuleAction::Mute { secs: 5400 }.label(), "mute 1h30m");
        assert_eq!(
            RuleAction::TempBan { secs: 7 * 86_400 }.label(),
            "temporary ban 7d"
        );
        assert_eq!(RuleAction::Log.kind(), None);
        assert_eq!(RuleAction::Warn.kind(), Some(Kind::Warning));
        assert_eq!(RuleAction::TempBan { secs: 9 }.duration_secs(), Some(9));
        assert_eq!(RuleAction::Kick.duration_secs(), None);
    }

    fn with_kind(kind: RuleKind) -> Rules {
        let mut rules = Rules::default();
        rules.rules.push(Rule {
            id: "extra".into(),
            enabled: true,
            kind,
            action: RuleAction::Warn,
            delete: false,
            exempt: Exemptions::default(),
        });
        rules
    }

    #[test]
    fn limits_are_refused_with_sentences() {
        let words = (0..=MAX_WORDS).map(|i| format!("w{i}")).collect();
        let err = with_kind(RuleKind::Words { words }).validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "at most 1000 banned words (this change would make 1001)"
        );
        let err = with_kind(RuleKind::Regex {
            patterns: vec!["a".repeat(300)],
        })
        .validate()
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "a pattern may be at most 260 characters (this one has 300)"
        );
        let err = with_kind(RuleKind::Regex {
            patterns: vec!["(a".into()],
        })
        .validate()
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the pattern `(a` is not a valid regular expression: unclosed group"),
            "{err}"
        );
        let err = with_kind(RuleKind::Regex {
            patterns: vec![r"\w{200}\w{200}\w{200}".into()],
        })
        .validate()
        .unwrap_err();
        assert!(matches!(err, RuleError::PatternTooLarge(_)), "{err}");
        let err = with_kind(RuleKind::Links {
            allow: vec!["x".into()],
            deny: vec![],
            invites: true,
            lookalikes: true,
        })
        .validate()
        .unwrap_err();
        assert_eq!(err.to_string(), "`x` is not a domain");
        let err = with_kind(RuleKind::Mentions { max: 51 })
            .validate()
            .unwrap_err();
        assert_eq!(err, RuleError::BadMentionLimit(51));
        let err = with_kind(RuleKind::Words {
            words: vec!["x".repeat(61)],
        })
        .validate()
        .unwrap_err();
        assert!(matches!(err, RuleError::WordTooLong { chars: 61, .. }));
        let err = with_kind(RuleKind::Words {
            words: vec!["...".into()],
        })
        .validate()
        .unwrap_err();
        assert_eq!(err, RuleError::EmptyWord("...".into()));
        let mut dup = Rules::default();
        dup.rules.push(dup.rules[0].clone());
        assert_eq!(
            dup.validate().unwrap_err(),
            RuleError::DuplicateId("words".into())
        );
        let mut mute = Rules::default();
        mute.rule_mut("flood").unwrap().action = RuleAction::Mute {
            secs: MAX_MUTE_SECS + 1,
        };
        assert_eq!(mute.validate().unwrap_err(), RuleError::BadMuteDuration);
        let mut exempt = Rules::default();
        exempt.rule_mut("caps").unwrap().exempt.roles = (0..21).map(|i| i.to_string()).collect();
        assert_eq!(
            exempt.validate().unwrap_err().to_string(),
            "at most 20 exempt roles (this change would make 21)"
        );
    }
}
