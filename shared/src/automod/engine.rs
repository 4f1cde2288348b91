//! Rules compiled once per settings version, then checked against each message.
//!
//! The stateless rules (words, capitals, links, mentions, patterns) are decided here from the
//! message alone. The stateful ones (flood, repeats) need counts shared by every instance, which
//! live in the store: [`Engine::probes`] names the buckets to advance and [`Engine::counted_hit`]
//! turns the count back into a hit, so this module stays free of I/O.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::invocation::Platform;

use super::caps;
use super::explain;
use super::links::{self, Link, covered_by, find_links, is_invite, lookalike};
use super::mentions;
use super::normalise::Normalised;
use super::regexes::Patterns;
use super::rules::{Exemptions, Rule, RuleAction, RuleError, RuleKind, Rules};
use super::words::WordList;

/// One message to check.
pub struct Message<'a> {
    pub text: &'a str,
    pub author: &'a str,
    pub author_roles: &'a [String],
    pub channel: &'a str,
    pub platform: Platform,
    pub at_secs: i64,
}

/// A rule that matched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub rule: String,
    pub action: RuleAction,
    pub delete: bool,
    /// Byte range in the original text, on char boundaries.
    pub span: Range<usize>,
    /// The original text of `span`.
    pub matched: String,
    /// The normalised form that matched.
    pub normalised: String,
    /// A sentence for the moderator.
    pub why: String,
}

/// A count the store keeps for a stateful rule: advance the bucket `key` (one shared bucket per
/// key, over `window_secs`) and pass the count to [`Engine::counted_hit`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Probe {
    pub rule: String,
    /// `{rule}#{channel}#{author}` for a flood, `{rule}#{author}#{16 hex digits of SHA-256 of
    /// the normalised text}` for repeats: the same in every process.
    pub key: String,
    pub limit: u32,
    pub window_secs: u32,
    /// The whole message, for the hit.
    pub span: Range<usize>,
    pub matched: String,
    pub normalised: String,
}

enum Matcher {
    // Boxed: a word list is far larger than the other matchers.
    Words(Box<WordList>),
    Caps {
        ratio_percent: u8,
        min_letters: u32,
    },
    Links {
        allow: Vec<String>,
        deny: Vec<String>,
        invites: bool,
        lookalikes: bool,
    },
    Mentions {
        max: u32,
    },
    Flood {
        max_messages: u32,
        window_secs: u32,
    },
    Repeats {
        max_repeats: u32,
        window_secs: u32,
    },
    Regex(Patterns),
}

struct Compiled {
    id: String,
    action: RuleAction,
    delete: bool,
    exempt: Exemptions,
    matcher: Matcher,
}

pub struct Engine {
    rules: Vec<Compiled>,
}

/// What one message needs computed at most once, whichever rules ask.
struct Seen<'m> {
    text: &'m str,
    normalised: Option<Normalised>,
    links: Option<Vec<Link>>,
}

impl<'m> Seen<'m> {
    fn normalised(&mut self) -> &Normalised {
        self.normalised
            .get_or_insert_with(|| Normalised::new(self.text))
    }

    fn links(&mut self) -> &[Link] {
        self.links.get_or_insert_with(|| find_links(self.text))
    }
}

impl Engine {
    /// Validates the rules and compiles the enabled ones.
    pub fn compile(rules: &Rules) -> Result<Engine, RuleError> {
        rules.validate()?;
        let mut compiled = Vec::new();
        for rule in rules.rules.iter().filter(|r| r.enabled) {
            compiled.push(Compiled {
                id: rule.id.clone(),
                action: rule.action.clone(),
                delete: rule.delete,
                exempt: rule.exempt.clone(),
                matcher: matcher(rule, &rules.allow_words)?,
            });
        }
        Ok(Engine { rules: compiled })
    }

    fn applying<'e>(&'e self, message: &'e Message<'_>) -> impl Iterator<Item = &'e Compiled> {
        self.rules.iter().filter(|r| {
            !r.exempt
                .covers(message.author, message.author_roles, message.channel)
        })
    }

    /// Stateless rules (words, caps, links, mentions, regex) on one message; exemptions applied
    /// per rule; disabled rules skipped.
    pub fn check(&self, message: &Message<'_>) -> Vec<Hit> {
        let text = message.text;
        let mut seen = Seen {
            text,
            normalised: None,
            links: None,
        };
        let mut hits = Vec::new();
        for rule in self.applying(message) {
            let hit = |span: Range<usize>, normalised: String, why: String| Hit {
                rule: rule.id.clone(),
                action: rule.action.clone(),
                delete: rule.delete,
                matched: text[span.clone()].to_owned(),
                span,
                normalised,
                why,
            };
            match &rule.matcher {
                Matcher::Words(list) => {
                    let n = seen.normalised();
                    for h in list.find(n) {
                        let span = n.original_span(h.chars.clone());
                        let flags = n.flags(h.chars.clone(), text) | h.flags;
                        let why =
                            explain::word(&text[span.clone()], &h.entry, h.phrase, flags, h.edits);
                        hits.push(hit(span, n.text_of(h.chars).to_owned(), why));
                    }
                }
                Matcher::Caps {
                    ratio_percent,
                    min_letters,
                } => {
                    let counted = caps::count(text, seen.links());
                    if counted.shouts(*ratio_percent, *min_letters) {
                        let why = explain::caps(text, counted.percent(), *ratio_percent);
                        hits.push(hit(0..text.len(), String::new(), why));
                    }
                }
                Matcher::Links {
                    allow,
                    deny,
                    invites,
                    lookalikes,
                } => {
                    for link in seen.links() {
                        let shown = &text[link.span.clone()];
                        let why = if let Some(entry) = covered_by(&link.ascii_host, deny) {
                            Some(explain::denied(&link.host, entry))
                        } else if *invites && is_invite(link) {
                            Some(explain::invite(shown))
                        } else if covered_by(&link.ascii_host, allow).is_some() {
                            None
                        } else if let Some(why) = lookalikes.then(|| lookalike(link)).flatten() {
                            Some(why)
                        } else if !allow.is_empty() {
                            Some(explain::not_allowed(&link.host))
                        } else {
                            None
                        };
                        if let Some(why) = why {
                            hits.push(hit(link.span.clone(), link.ascii_host.clone(), why));
                        }
                    }
                }
                Matcher::Mentions { max } => {
                    let counted = mentions::count(text, message.platform);
                    if counted.distinct > *max as usize
                        && let Some(span) = counted.span
                    {
                        let why = explain::mentions(counted.distinct, *max);
                        hits.push(hit(span, String::new(), why));
                    }
                }
                Matcher::Regex(patterns) => {
                    let n = seen.normalised();
                    for m in patterns.find(text, n) {
                        let (normalised, flags) = match &m.normalised_chars {
                            Some(chars) => (
                                n.text_of(chars.clone()).to_owned(),
                                Some(n.flags(chars.clone(), text)),
                            ),
                            None => (text[m.span.clone()].to_owned(), None),
                        };
                        let why = explain::pattern(&text[m.span.clone()], m.pattern, flags);
                        hits.push(hit(m.span, normalised, why));
                    }
                }
                Matcher::Flood { .. } | Matcher::Repeats { .. } => {}
            }
        }
        hits
    }

    /// What the stateful rules (flood, repeats) need counted in the store for this message: the
    /// caller advances one shared bucket per probe and calls `counted_hit` with the count it got.
    pub fn probes(&self, message: &Message<'_>) -> Vec<Probe> {
        let text = message.text;
        let mut probes = Vec::new();
        let mut repeat_key: Option<Option<String>> = None;
        for rule in self.applying(message) {
            let (key, limit, window_secs, normalised) = match &rule.matcher {
                Matcher::Flood {
                    max_messages,
                    window_secs,
                } => (
                    format!("{}#{}#{}", rule.id, message.channel, message.author),
                    *max_messages,
                    *window_secs,
                    String::new(),
                ),
                Matcher::Repeats {
                    max_repeats,
                    window_secs,
                } => {
                    let Some(normalised) = repeat_key.get_or_insert_with(|| repeat_text(text))
                    else {
                        continue;
                    };
                    let digest = Sha256::digest(normalised.as_bytes());
                    (
                        format!(
                            "{}#{}#{}",
                            rule.id,
                            message.author,
                            hex::encode(&digest[..8])
                        ),
                        *max_repeats,
                        *window_secs,
                        normalised.clone(),
                    )
                }
                _ => continue,
            };
            probes.push(Probe {
                rule: rule.id.clone(),
                key,
                limit,
                window_secs,
                span: 0..text.len(),
                matched: text.to_owned(),
                normalised,
            });
        }
        probes
    }

    /// Some when `count` first exceeds the rule's limit (`count == limit + 1`), so a flood
    /// trips once per window rather than on every message after the limit.
    pub fn counted_hit(&self, probe: &Probe, count: u32) -> Option<Hit> {
        let rule = self.rules.iter().find(|r| r.id == probe.rule)?;
        if count != probe.limit.checked_add(1)? {
            return None;
        }
        let why = match &rule.matcher {
            Matcher::Flood { .. } => explain::flood(count, probe.window_secs, probe.limit),
            Matcher::Repeats { .. } => explain::repeats(count, probe.window_secs, probe.limit),
            _ => return None,
        };
        Some(Hit {
            rule: rule.id.clone(),
            action: rule.action.clone(),
            delete: rule.delete,
            span: probe.span.clone(),
            matched: probe.matched.clone(),
            normalised: probe.normalised.clone(),
            why,
        })
    }

    /// The ids of the rules compiled (enabled ones), in order.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }
}

/// A message's words as the matcher reads them, so `FREE  nitro!!` and `free nitro` are one
/// repeat. `None` for a message with nothing to compare (an attachment only).
fn repeat_text(text: &str) -> Option<String> {
    let n = Normalised::new(text);
    let words: Vec<&str> = n.tokens.iter().map(|t| n.text_of(t.start..t.end)).collect();
    let joined = if words.is_empty() {
        text.trim().to_owned()
    } else {
        words.join(" ")
    };
    (!joined.is_empty()).then_some(joined)
}

fn matcher(rule: &Rule, allow_words: &[String]) -> Result<Matcher, RuleError> {
    Ok(match &rule.kind {
        RuleKind::Words { words } => Matcher::Words(Box::new(WordList::new(words, allow_words))),
        RuleKind::Caps {
            ratio_percent,
            min_letters,
        } => Matcher::Caps {
            ratio_percent: *ratio_percent,
            min_letters: *min_letters,
        },
        RuleKind::Links {
            allow,
            deny,
            invites,
            lookalikes,
        } => Matcher::Links {
            allow: domains(allow)?,
            deny: domains(deny)?,
            invites: *invites,
            lookalikes: *lookalikes,
        },
        RuleKind::Mentions { max } => Matcher::Mentions { max: *max },
        RuleKind::Flood {
            max_messages,
            window_secs,
        } => Matcher::Flood {
            max_messages: *max_messages,
            window_secs: *window_secs,
        },
        RuleKind::Repeats {
            max_repeats,
            window_secs,
        } => Matcher::Repeats {
            max_repeats: *max_repeats,
            window_secs: *window_secs,
        },
        RuleKind::Regex { patterns } => Matcher::Regex(Patterns::compile(patterns)?),
    })
}

fn domains(list: &[String]) -> Result<Vec<String>, RuleError> {
    list.iter().map(|d| links::domain_entry(d)).collect()
}
