//! AutoMod: a community's rules, compiled once per settings version and checked against each
//! message. Pure: no I/O, no clock, no store. The caller brings messages in (Slack's Events API,
//! a Discord message command) and turns hits into cases; the stateful rules (flood, repeats)
//! hand it the store buckets to count ([`Engine::probes`]).
//!
//! - [`rules`]: the settings document, its defaults and its limits;
//! - [`normalise`]: text as the matchers see it, mapped back to the original bytes;
//! - [`words`], [`caps`], [`links`], [`mentions`], [`regexes`]: one matcher each;
//! - [`engine`]: the compiled rules; [`explain`]: the moderator's sentences;
//! - [`native`]: the rules compiled into Discord's native AutoMod, and the sync plan.

pub mod caps;
pub mod engine;
pub mod explain;
pub mod links;
pub mod mentions;
pub mod native;
pub mod normalise;
pub mod regexes;
pub mod rules;
pub mod words;

pub use engine::{Engine, Hit, Message, Probe};
pub use rules::{
    Exemptions, MAX_ALLOW_WORDS, MAX_DOMAINS, MAX_EXEMPT_CHANNELS, MAX_EXEMPT_MEMBERS,
    MAX_EXEMPT_ROLES, MAX_MENTIONS, MAX_REGEX_CHARS, MAX_REGEXES, MAX_WORD_CHARS, MAX_WORDS, Rule,
    RuleAction, RuleError, RuleKind, Rules,
};

#[cfg(test)]
mod tests;
