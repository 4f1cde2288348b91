//! A community's rules compiled into Discord's native AutoMod, and the plan that brings a
//! guild's rules there. Pure: the caller lists the guild's rules, asks for a [`Plan`] and applies
//! it (the worker's `sync_native`).
//!
//! What compiles, one native rule (or more) per enabled Gavel rule, each named
//! [`NAME_PREFIX`] + the rule's id so sync never touches a rule the guild made itself:
//! - **banned words** → KEYWORD rules. Discord matches whole words, case-insensitively, with no
//!   normalisation, so the engine's fuzzy matching is approximated by the word itself plus a
//!   bounded set of variants: every substitutable letter written as its common digit
//!   (`a`→4, `e`→3, `i`→1, `o`→0, `s`→5), the vowels alone as digits, and the symbol forms
//!   (`a`→@, `i`→!, `s`→$): at most [`MAX_VARIANTS`] keywords per word. Look-alike letters,
//!   invisible characters, separators, repeats and near misses stay the engine's: each words
//!   rule's report line says so. A `*` the moderator wrote is passed on as Discord's wildcard;
//!   none is added, because a `*word*` would flag "Scunthorpe" for every short word. Words go
//!   first and variants after, so when the 1000-keyword or 6-rule limits cut, variants go first.
//! - **patterns** → a KEYWORD rule with `regex_patterns` (Discord runs the Rust flavour).
//! - **mention spam** → the one MENTION_SPAM rule (`mention_total_limit`, at most 50).
//! - every rule's community allow words → `allow_list` (at most 100) of its KEYWORD rules.
//! - keyword presets: the settings have none to offer, so none are created.
//!
//! Actions: BLOCK_MESSAGE when the rule deletes (a custom message of at most 150 characters),
//! SEND_ALERT_MESSAGE to the mod-log channel when the community has one, and TIMEOUT (at most
//! four weeks) when the rule mutes. Kicks and bans have no native action: Discord blocks and
//! alerts, and the audit-log reader records the case. A rule none of those apply to (no delete,
//! no mod log, no mute) cannot act natively and is reported.
//!
//! Not compiled, and reported: capitals, flood, repeats and links (Discord cannot count them),
//! exempt members (Discord exempts only roles and channels), and whatever passes a limit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rules::{Rule, RuleAction, RuleKind, Rules};
use crate::case_kind::Kind;
use crate::platform::automod::{
    ACTION_BLOCK_MESSAGE, ACTION_SEND_ALERT, ACTION_TIMEOUT, AUDIT_BLOCK_MESSAGE,
    AUDIT_FLAG_TO_CHANNEL, AUDIT_USER_COMMUNICATION_DISABLED, ActionMetadata, AutoModAction,
    AutoModRule, EVENT_MESSAGE_SEND, TRIGGER_KEYWORD, TRIGGER_MENTION_SPAM, TriggerMetadata,
};

/// Every rule Gavel manages is named so; sync leaves every other rule alone.
pub const NAME_PREFIX: &str = "Gavel: ";

/// Discord's limits (per guild, per rule).
pub const MAX_KEYWORD_RULES: usize = 6;
pub const MAX_MENTION_SPAM_RULES: usize = 1;
pub const MAX_KEYWORDS: usize = 1000;
pub const MAX_KEYWORD_CHARS: usize = 60;
pub const MAX_REGEXES: usize = 10;
pub const MAX_REGEX_CHARS: usize = 260;
pub const MAX_ALLOW_LIST: usize = 100;
pub const MAX_MENTION_LIMIT: u32 = 50;
pub const MAX_EXEMPT_ROLES: usize = 20;
pub const MAX_EXEMPT_CHANNELS: usize = 50;
pub const MAX_CUSTOM_MESSAGE_CHARS: usize = 150;
pub const MAX_TIMEOUT_SECS: i64 = 4 * 7 * 86_400;
/// Keywords one banned word may become (itself included).
pub const MAX_VARIANTS: usize = 4;

/// What a native rule means to Gavel, so the audit-log reader can turn what it did into a
/// case: which Gavel rule it came from, the kind of case, and which of its audit entries
/// counts (one execution leaves one entry per action; counting one type counts it once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meaning {
    pub rule: String,
    pub kind: Kind,
    /// The audit-log action type that records the case (143, 144 or 145).
    pub counted_on: u16,
    /// A mute's length, for the case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<i64>,
    /// What the Gavel rule asked for, when Discord cannot do it ("ban").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked: Option<String>,
}

/// The native rules a community's settings compile to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Compiled {
    /// Bodies to create (no ids), in a stable order.
    pub rules: Vec<AutoModRule>,
    /// Native rule name → what it means.
    pub meanings: BTreeMap<String, Meaning>,
    /// What could not be compiled, and why, one line each.
    pub not_compiled: Vec<String>,
}

/// What sync does to bring the guild's Gavel rules to the compiled ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub creates: Vec<AutoModRule>,
    /// Rule id and the new body.
    pub updates: Vec<(String, AutoModRule)>,
    /// Rule ids: rules Gavel no longer wants, duplicates, and rules whose trigger type changed
    /// (Discord cannot change one: deleted, then created again).
    pub deletes: Vec<String>,
    /// Names of the Gavel rules already as wanted.
    pub unchanged: Vec<String>,
    pub not_compiled: Vec<String>,
    pub meanings: BTreeMap<String, Meaning>,
}

impl Plan {
    /// Whether applying the plan makes no write call.
    pub fn writes_nothing(&self) -> bool {
        self.creates.is_empty() && self.updates.is_empty() && self.deletes.is_empty()
    }
}

/// Whether a rule of the guild is one Gavel manages.
pub fn is_managed(rule: &AutoModRule) -> bool {
    rule.name.starts_with(NAME_PREFIX)
}

/// The plan for `rules` against `current`, the guild's rules as listed. The guild's own KEYWORD
/// and MENTION_SPAM rules count against Discord's per-guild limits, so Gavel gets what is left.
pub fn plan(rules: &Rules, modlog: Option<&str>, current: &[AutoModRule]) -> Plan {
    let foreign = |trigger: u8| {
        current
            .iter()
            .filter(|r| !is_managed(r) && r.trigger_type == trigger)
            .count()
    };
    let slots = Slots {
        keyword: MAX_KEYWORD_RULES.saturating_sub(foreign(TRIGGER_KEYWORD)),
        mention: MAX_MENTION_SPAM_RULES.saturating_sub(foreign(TRIGGER_MENTION_SPAM)),
        foreign_keyword: foreign(TRIGGER_KEYWORD),
    };
    let compiled = compile(rules, modlog, slots);
    diff(compiled, current)
}

/// How many rules of each limited trigger type the guild leaves Gavel.
#[derive(Clone, Copy, Debug)]
pub struct Slots {
    pub keyword: usize,
    pub mention: usize,
    /// The guild's own KEYWORD rules, for the report.
    pub foreign_keyword: usize,
}

impl Default for Slots {
    fn default() -> Self {
        Self {
            keyword: MAX_KEYWORD_RULES,
            mention: MAX_MENTION_SPAM_RULES,
            foreign_keyword: 0,
        }
    }
}

/// Compiles the enabled rules within `slots`.
pub fn compile(rules: &Rules, modlog: Option<&str>, slots: Slots) -> Compiled {
    let mut out = Compiled::default();
    let mut keyword_left = slots.keyword;
    let mut mention_left = slots.mention;
    let allow_list = allow_list(&rules.allow_words, &mut out.not_compiled);
    for rule in rules.rules.iter().filter(|r| r.enabled) {
        let id = &rule.id;
        match &rule.kind {
            RuleKind::Caps { .. } => out.not_compiled.push(format!(
                "`{id}` (capitals): Discord's AutoMod cannot measure a ratio of capitals"
            )),
            RuleKind::Flood { .. } => out.not_compiled.push(format!(
                "`{id}` (message flood): Discord's AutoMod cannot count messages over time"
            )),
            RuleKind::Repeats { .. } => out.not_compiled.push(format!(
                "`{id}` (repeated messages): Discord's AutoMod cannot compare messages with earlier ones"
            )),
            RuleKind::Links { .. } => out.not_compiled.push(format!(
                "`{id}` (links): Discord's AutoMod cannot compare registered domains or spot look-alike domains"
            )),
            RuleKind::Words { words } => {
                let Some(actions) = actions(rule, modlog, &mut out) else {
                    continue;
                };
                let keywords = keywords(id, words, &mut out.not_compiled);
                let originals = keywords.originals;
                let chunks: Vec<&[String]> = keywords.all.chunks(MAX_KEYWORDS).collect();
                let fit = chunks.len().min(keyword_left);
                if fit < chunks.len() {
                    let dropped: usize = chunks[fit..].iter().map(|c| c.len()).sum();
                    let words_dropped = originals.saturating_sub(fit * MAX_KEYWORDS);
                    out.not_compiled.push(format!(
                        "`{id}`: {dropped} of its {} keywords ({words_dropped} words, the rest variants) did not fit in Discord's {MAX_KEYWORD_RULES} keyword rules{}",
                        keywords.all.len(),
                        foreign_note(slots)
                    ));
                }
                for (part, chunk) in chunks[..fit].iter().enumerate() {
                    let name = part_name(id, part);
                    out.rules.push(keyword_rule(
                        &name,
                        rule,
                        chunk.to_vec(),
                        Vec::new(),
                        allow_list.clone(),
                        actions.clone(),
                    ));
                    out.meanings.insert(name, meaning(rule, &actions));
                }
                keyword_left -= fit;
                if !words.is_empty() {
                    out.not_compiled.push(format!(
                        "`{id}` (banned words): Discord matches each word and its digit and symbol forms only; look-alike letters, hidden characters, separators, repeats and near misses are caught by Gavel's own check (reported messages, Slack), not natively"
                    ));
                }
            }
            RuleKind::Regex { patterns } => {
                let Some(actions) = actions(rule, modlog, &mut out) else {
                    continue;
                };
                let mut kept = Vec::new();
                for pattern in patterns {
                    let chars = pattern.chars().count();
                    if chars > MAX_REGEX_CHARS {
                        out.not_compiled.push(format!(
                            "`{id}`: a pattern of {chars} characters is over Discord's {MAX_REGEX_CHARS}"
                        ));
                    } else if !kept.contains(pattern) {
                        kept.push(pattern.clone());
                    }
                }
                if kept.len() > MAX_REGEXES {
                    out.not_compiled.push(format!(
                        "`{id}`: {} of its patterns are past Discord's {MAX_REGEXES}",
                        kept.len() - MAX_REGEXES
                    ));
                    kept.truncate(MAX_REGEXES);
                }
                if kept.is_empty() {
                    continue;
                }
                if keyword_left == 0 {
                    out.not_compiled.push(format!(
                        "`{id}`: no keyword rule is left of Discord's {MAX_KEYWORD_RULES} keyword rules{}",
                        foreign_note(slots)
                    ));
                    continue;
                }
                keyword_left -= 1;
                let name = part_name(id, 0);
                out.rules.push(keyword_rule(
                    &name,
                    rule,
                    Vec::new(),
                    kept,
                    allow_list.clone(),
                    actions.clone(),
                ));
                out.meanings.insert(name, meaning(rule, &actions));
            }
            RuleKind::Mentions { max } => {
                let Some(actions) = actions(rule, modlog, &mut out) else {
                    continue;
                };
                if mention_left == 0 {
                    out.not_compiled.push(format!(
                        "`{id}` (mention spam): Discord allows one mention-spam rule per server, and it is taken"
                    ));
                    continue;
                }
                if *max > MAX_MENTION_LIMIT || *max == 0 {
                    out.not_compiled.push(format!(
                        "`{id}` (mention spam): a limit of {max} is outside Discord's 1 to {MAX_MENTION_LIMIT}"
                    ));
                    continue;
                }
                mention_left -= 1;
                let name = part_name(id, 0);
                // Reported once already, by `actions`.
                let (exempt_roles, exempt_channels) = exemptions(rule, &mut Vec::new());
                out.rules.push(AutoModRule {
                    id: None,
                    name: name.clone(),
                    event_type: EVENT_MESSAGE_SEND,
                    trigger_type: TRIGGER_MENTION_SPAM,
                    trigger_metadata: TriggerMetadata {
                        mention_total_limit: Some(*max),
                        mention_raid_protection_enabled: Some(false),
                        ..TriggerMetadata::default()
                    },
                    actions: actions.clone(),
                    enabled: true,
                    exempt_roles,
                    exempt_channels,
                });
                out.meanings.insert(name, meaning(rule, &actions));
            }
        }
    }
    out
}

fn foreign_note(slots: Slots) -> String {
    match slots.foreign_keyword {
        0 => String::new(),
        n => format!(" (the server's own rules use {n})"),
    }
}

/// `Gavel: words`, then `Gavel: words (2)`, ... for a rule split over several.
fn part_name(id: &str, part: usize) -> String {
    match part {
        0 => format!("{NAME_PREFIX}{id}"),
        n => format!("{NAME_PREFIX}{id} ({})", n + 1),
    }
}

fn keyword_rule(
    name: &str,
    rule: &Rule,
    keyword_filter: Vec<String>,
    regex_patterns: Vec<String>,
    allow_list: Vec<String>,
    actions: Vec<AutoModAction>,
) -> AutoModRule {
    // Reported once already, by `actions`, however many parts the rule compiles to.
    let (exempt_roles, exempt_channels) = exemptions(rule, &mut Vec::new());
    AutoModRule {
        id: None,
        name: name.to_owned(),
        event_type: EVENT_MESSAGE_SEND,
        trigger_type: TRIGGER_KEYWORD,
        trigger_metadata: TriggerMetadata {
            keyword_filter: Some(keyword_filter),
            regex_patterns: Some(regex_patterns),
            allow_list: Some(allow_list),
            ..TriggerMetadata::default()
        },
        actions,
        enabled: true,
        exempt_roles,
        exempt_channels,
    }
}

/// The rule's actions, or `None` (reported) when Discord could do nothing for it. The
/// exemptions' report is written here, once per rule, however many parts it compiles to.
fn actions(rule: &Rule, modlog: Option<&str>, out: &mut Compiled) -> Option<Vec<AutoModAction>> {
    let id = &rule.id;
    let mut actions = Vec::new();
    if rule.delete {
        actions.push(AutoModAction {
            kind: ACTION_BLOCK_MESSAGE,
            metadata: ActionMetadata {
                custom_message: Some(truncate(
                    &format!(
                        "Your message was blocked by this server's `{id}` rule ({}).",
                        rule.kind.label()
                    ),
                    MAX_CUSTOM_MESSAGE_CHARS,
                )),
                ..ActionMetadata::default()
            },
        });
    }
    if let Some(channel) = modlog {
        actions.push(AutoModAction {
            kind: ACTION_SEND_ALERT,
            metadata: ActionMetadata {
                channel_id: Some(channel.to_owned()),
                ..ActionMetadata::default()
            },
        });
    }
    if let RuleAction::Mute { secs } = &rule.action {
        let secs = (*secs).clamp(1, MAX_TIMEOUT_SECS);
        actions.push(AutoModAction {
            kind: ACTION_TIMEOUT,
            metadata: ActionMetadata {
                duration_seconds: Some(secs as u32),
                ..ActionMetadata::default()
            },
        });
    }
    match &rule.action {
        RuleAction::Kick | RuleAction::TempBan { .. } | RuleAction::Ban => {
            out.not_compiled.push(format!(
                "`{id}`: Discord's AutoMod cannot {}; its hits are recorded as warnings",
                rule.action.label()
            ));
        }
        _ => {}
    }
    if actions.is_empty() {
        out.not_compiled.push(format!(
            "`{id}`: Discord could do nothing for it (it neither deletes nor mutes, and there is no mod-log channel to alert)"
        ));
        return None;
    }
    let mut lines = Vec::new();
    exemptions(rule, &mut lines);
    out.not_compiled.extend(lines);
    Some(actions)
}

/// Exempt roles and channels within Discord's limits (sorted, so the cut is stable); the
/// report lines for what is left out.
fn exemptions(rule: &Rule, report: &mut Vec<String>) -> (Vec<String>, Vec<String>) {
    let id = &rule.id;
    let limit = |list: &[String], max: usize, what: &str, report: &mut Vec<String>| {
        let mut list: Vec<String> = list.to_vec();
        list.sort();
        list.dedup();
        if list.len() > max {
            report.push(format!(
                "`{id}`: {} exempt {what} past Discord's {max} are not exempt natively",
                list.len() - max
            ));
            list.truncate(max);
        }
        list
    };
    let roles = limit(&rule.exempt.roles, MAX_EXEMPT_ROLES, "roles", report);
    let channels = limit(
        &rule.exempt.channels,
        MAX_EXEMPT_CHANNELS,
        "channels",
        report,
    );
    if !rule.exempt.members.is_empty() {
        report.push(format!(
            "`{id}`: Discord's AutoMod cannot exempt members ({} exempt here), only roles and channels",
            rule.exempt.members.len()
        ));
    }
    (roles, channels)
}

fn meaning(rule: &Rule, actions: &[AutoModAction]) -> Meaning {
    let has = |kind: u8| actions.iter().any(|a| a.kind == kind);
    let counted_on = if has(ACTION_TIMEOUT) {
        AUDIT_USER_COMMUNICATION_DISABLED
    } else if has(ACTION_BLOCK_MESSAGE) {
        AUDIT_BLOCK_MESSAGE
    } else {
        AUDIT_FLAG_TO_CHANNEL
    };
    let (kind, asked) = match &rule.action {
        // Logged only: a note keeps the hit on the record without points.
        RuleAction::Log => (Kind::Note, None),
        RuleAction::Warn => (Kind::Warning, None),
        RuleAction::Mute { .. } => (Kind::Mute, None),
        // Discord did not remove the member: a warning is what happened (a blocked message),
        // and the points' escalation takes it from there.
        other => (Kind::Warning, Some(other.label())),
    };
    Meaning {
        rule: rule.id.clone(),
        kind,
        counted_on,
        duration_secs: match &rule.action {
            RuleAction::Mute { secs } => Some((*secs).clamp(1, MAX_TIMEOUT_SECS)),
            _ => None,
        },
        asked,
    }
}

/// A words rule's keywords: its words first (lower case, deduplicated), then their variants.
struct Keywords {
    all: Vec<String>,
    originals: usize,
}

fn keywords(id: &str, words: &[String], report: &mut Vec<String>) -> Keywords {
    let mut all: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut too_long = 0;
    let mut push = |all: &mut Vec<String>, word: String| {
        if !word.is_empty() && seen.insert(word.clone()) {
            all.push(word);
        }
    };
    let words: Vec<String> = words
        .iter()
        .map(|w| w.trim().to_lowercase())
        .filter(|w| {
            let fits = w.chars().count() <= MAX_KEYWORD_CHARS;
            if !fits {
                too_long += 1;
            }
            fits
        })
        .collect();
    for word in &words {
        push(&mut all, word.clone());
    }
    let originals = all.len();
    for word in &words {
        for variant in variants(word).into_iter().skip(1) {
            push(&mut all, variant);
        }
    }
    if too_long > 0 {
        report.push(format!(
            "`{id}`: {too_long} words over Discord's {MAX_KEYWORD_CHARS} characters"
        ));
    }
    Keywords { all, originals }
}

/// `word` and at most [`MAX_VARIANTS`] - 1 substituted forms of it, in a fixed order.
pub fn variants(word: &str) -> Vec<String> {
    let map = |table: &[(char, char)]| -> String {
        word.chars()
            .map(|c| {
                table
                    .iter()
                    .find(|(from, _)| *from == c)
                    .map_or(c, |(_, to)| *to)
            })
            .collect()
    };
    let mut out = vec![word.to_owned()];
    for table in [
        &[('a', '4'), ('e', '3'), ('i', '1'), ('o', '0'), ('s', '5')][..],
        &[('a', '4'), ('e', '3'), ('i', '1'), ('o', '0')][..],
        &[('a', '@'), ('i', '!'), ('s', '$')][..],
    ] {
        let variant = map(table);
        if !out.contains(&variant) {
            out.push(variant);
        }
    }
    out.truncate(MAX_VARIANTS);
    out
}

/// The community's allow words for `allow_list`: lower case, deduplicated, sorted, within
/// Discord's limits.
fn allow_list(words: &[String], report: &mut Vec<String>) -> Vec<String> {
    let mut list: Vec<String> = words
        .iter()
        .map(|w| w.trim().to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    list.sort();
    list.dedup();
    let long = list.len();
    list.retain(|w| w.chars().count() <= MAX_KEYWORD_CHARS);
    if list.len() < long {
        report.push(format!(
            "allow list: {} words over Discord's {MAX_KEYWORD_CHARS} characters",
            long - list.len()
        ));
    }
    if list.len() > MAX_ALLOW_LIST {
        report.push(format!(
            "allow list: {} words past Discord's {MAX_ALLOW_LIST}",
            list.len() - MAX_ALLOW_LIST
        ));
        list.truncate(MAX_ALLOW_LIST);
    }
    list
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// The diff of the compiled rules against the guild's.
fn diff(compiled: Compiled, current: &[AutoModRule]) -> Plan {
    let mut plan = Plan {
        not_compiled: compiled.not_compiled,
        meanings: compiled.meanings,
        ..Plan::default()
    };
    // The guild's Gavel rules by name, the oldest (lowest id) first: a duplicate is deleted.
    let mut managed: Vec<&AutoModRule> = current.iter().filter(|r| is_managed(r)).collect();
    managed.sort_by_key(|r| {
        let id = r.id.as_deref().unwrap_or("");
        (
            r.name.clone(),
            id.parse::<u64>().unwrap_or(u64::MAX),
            id.to_owned(),
        )
    });
    let mut by_name: BTreeMap<&str, &AutoModRule> = BTreeMap::new();
    for rule in managed {
        if by_name.contains_key(rule.name.as_str()) {
            plan.deletes.extend(rule.id.clone());
        } else {
            by_name.insert(&rule.name, rule);
        }
    }
    for wanted in compiled.rules {
        match by_name.remove(wanted.name.as_str()) {
            None => plan.creates.push(wanted),
            Some(have) => {
                let id = have.id.clone().unwrap_or_default();
                if have.trigger_type != wanted.trigger_type {
                    plan.deletes.push(id);
                    plan.creates.push(wanted);
                } else if normalised(have) == normalised(&wanted) {
                    plan.unchanged.push(wanted.name);
                } else {
                    plan.updates.push((id, wanted));
                }
            }
        }
    }
    plan.deletes
        .extend(by_name.into_values().filter_map(|r| r.id.clone()));
    plan
}

/// A rule as compared: ids dropped, lists sorted (Discord keeps no order that matters), empty
/// and absent alike.
fn normalised(rule: &AutoModRule) -> AutoModRule {
    let list = |l: &Option<Vec<String>>| {
        let mut l = l.clone().unwrap_or_default();
        l.sort();
        l.dedup();
        Some(l)
    };
    let sorted = |l: &[String]| {
        let mut l = l.to_vec();
        l.sort();
        l.dedup();
        l
    };
    let m = &rule.trigger_metadata;
    let mut presets = m.presets.clone().unwrap_or_default();
    presets.sort();
    let mut actions: Vec<AutoModAction> = rule
        .actions
        .iter()
        .map(|a| AutoModAction {
            kind: a.kind,
            metadata: ActionMetadata {
                channel_id: a.metadata.channel_id.clone().filter(|c| !c.is_empty()),
                duration_seconds: a.metadata.duration_seconds.filter(|d| *d > 0),
                custom_message: a.metadata.custom_message.clone().filter(|c| !c.is_empty()),
            },
        })
        .collect();
    actions.sort_by(|a, b| {
        (
            a.kind,
            &a.metadata.channel_id,
            a.metadata.duration_seconds,
            &a.metadata.custom_message,
        )
            .cmp(&(
                b.kind,
                &b.metadata.channel_id,
                b.metadata.duration_seconds,
                &b.metadata.custom_message,
            ))
    });
    let keyword = rule.trigger_type == TRIGGER_KEYWORD;
    AutoModRule {
        id: None,
        name: rule.name.clone(),
        event_type: rule.event_type,
        trigger_type: rule.trigger_type,
        trigger_metadata: TriggerMetadata {
            keyword_filter: list(&m.keyword_filter).filter(|_| keyword),
            regex_patterns: list(&m.regex_patterns).filter(|_| keyword),
            presets: Some(presets).filter(|p| !p.is_empty()),
            allow_list: list(&m.allow_list).filter(|_| keyword),
            mention_total_limit: m.mention_total_limit.filter(|_| !keyword),
            mention_raid_protection_enabled: Some(
                m.mention_raid_protection_enabled.unwrap_or(false),
            )
            .filter(|_| !keyword),
        },
        actions,
        enabled: rule.enabled,
        exempt_roles: sorted(&rule.exempt_roles),
        exempt_channels: sorted(&rule.exempt_channels),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automod::rules::Exemptions;

    fn rule(id: &str, kind: RuleKind, action: RuleAction, delete: bool) -> Rule {
        Rule {
            id: id.to_owned(),
            enabled: true,
            kind,
            action,
            delete,
            exempt: Exemptions::default(),
        }
    }

    fn words(id: &str, words: &[&str]) -> Rule {
        rule(
            id,
            RuleKind::Words {
                words: words.iter().map(|w| (*w).to_owned()).collect(),
            },
            RuleAction::Warn,
            true,
        )
    }

    fn rules(list: Vec<Rule>) -> Rules {
        Rules {
            rules: list,
            allow_words: vec!["Scunthorpe".into(), "classic".into()],
        }
    }

    /// What Discord would list after the plan was applied to `current`.
    fn applied(plan: &Plan, current: &[AutoModRule]) -> Vec<AutoModRule> {
        let mut now: Vec<AutoModRule> = current
            .iter()
            .filter(|r| !plan.deletes.contains(r.id.as_ref().unwrap()))
            .cloned()
            .collect();
        for (id, body) in &plan.updates {
            let r = now.iter_mut().find(|r| r.id.as_ref() == Some(id)).unwrap();
            *r = AutoModRule {
                id: Some(id.clone()),
                trigger_type: r.trigger_type,
                ..body.clone()
            };
        }
        for (n, body) in plan.creates.iter().enumerate() {
            now.push(AutoModRule {
                id: Some(format!("9{n:03}{}", now.len())),
                ..body.clone()
            });
        }
        now
    }

    fn keyword_count(plan: &Plan) -> usize {
        plan.creates
            .iter()
            .filter(|r| r.trigger_type == TRIGGER_KEYWORD)
            .count()
    }

    #[test]
    fn words_compile_to_a_keyword_rule_with_variants_allow_list_and_actions() {
        let mut muted = words("words", &["Free Nitro", "scam"]);
        muted.action = RuleAction::Mute { secs: 3600 };
        muted.exempt.roles = vec!["2".into(), "1".into()];
        let plan = plan(&rules(vec![muted]), Some("555"), &[]);
        assert_eq!(plan.creates.len(), 1);
        let r = &plan.creates[0];
        assert_eq!(r.name, "Gavel: words");
        assert_eq!(r.trigger_type, TRIGGER_KEYWORD);
        assert!(r.enabled, "Discord creates rules disabled unless told");
        let keywords = r.trigger_metadata.keyword_filter.as_ref().unwrap();
        assert_eq!(&keywords[..2], ["free nitro", "scam"], "the words go first");
        assert!(keywords.contains(&"fr33 n1tr0".to_owned()), "{keywords:?}");
        assert!(keywords.contains(&"5c4m".to_owned()) && keywords.contains(&"$c@m".to_owned()));
        assert_eq!(
            r.trigger_metadata.allow_list.as_deref().unwrap(),
            ["classic", "scunthorpe"]
        );
        let kinds: Vec<u8> = r.actions.iter().map(|a| a.kind).collect();
        assert_eq!(
            kinds,
            [ACTION_BLOCK_MESSAGE, ACTION_SEND_ALERT, ACTION_TIMEOUT]
        );
        assert_eq!(r.actions[1].metadata.channel_id.as_deref(), Some("555"));
        assert_eq!(r.actions[2].metadata.duration_seconds, Some(3600));
        let message = r.actions[0].metadata.custom_message.as_ref().unwrap();
        assert!(message.chars().count() <= MAX_CUSTOM_MESSAGE_CHARS);
        assert_eq!(r.exempt_roles, ["1", "2"]);
        let meaning = &plan.meanings["Gavel: words"];
        assert_eq!((meaning.kind, meaning.counted_on), (Kind::Mute, 145));
        assert!(
            plan.not_compiled
                .iter()
                .any(|l| l.contains("look-alike letters")),
            "the fuzzy rule's approximation is reported: {:?}",
            plan.not_compiled
        );
    }

    #[test]
    fn variants_are_bounded_and_deterministic() {
        for word in ["a", "assassin", "xyz", "free nitro"] {
            let v = variants(word);
            assert!(v.len() <= MAX_VARIANTS && v[0] == word, "{v:?}");
            assert_eq!(v, variants(word));
        }
        assert_eq!(variants("xyz"), ["xyz"], "nothing to substitute");
    }

    #[test]
    fn what_discord_cannot_express_is_reported_with_why() {
        let list = vec![
            rule(
                "caps",
                RuleKind::Caps {
                    ratio_percent: 70,
                    min_letters: 10,
                },
                RuleAction::Log,
                false,
            ),
            rule(
                "flood",
                RuleKind::Flood {
                    max_messages: 5,
                    window_secs: 10,
                },
                RuleAction::Mute { secs: 60 },
                false,
            ),
            rule(
                "links",
                RuleKind::Links {
                    allow: vec![],
                    deny: vec!["evil.example".into()],
                    invites: true,
                    lookalikes: true,
                },
                RuleAction::Warn,
                true,
            ),
            rule(
                "repeats",
                RuleKind::Repeats {
                    max_repeats: 3,
                    window_secs: 60,
                },
                RuleAction::Warn,
                true,
            ),
            // Neither deletes nor mutes, and no mod log: nothing Discord could do.
            rule(
                "quiet",
                RuleKind::Words {
                    words: vec!["x".into()],
                },
                RuleAction::Warn,
                false,
            ),
            rule(
                "banned",
                RuleKind::Mentions { max: 5 },
                RuleAction::Ban,
                true,
            ),
        ];
        let plan = plan(&rules(list), None, &[]);
        let lines = plan.not_compiled.join("\n");
        for expected in [
            "`caps` (capitals)",
            "`flood` (message flood)",
            "`links` (links)",
            "`repeats` (repeated messages)",
            "`quiet`: Discord could do nothing",
            "`banned`: Discord's AutoMod cannot ban",
        ] {
            assert!(lines.contains(expected), "{expected} in {lines}");
        }
        assert_eq!(plan.creates.len(), 1, "only the mention rule compiles");
        assert_eq!(plan.creates[0].trigger_type, TRIGGER_MENTION_SPAM);
        assert_eq!(
            plan.creates[0].trigger_metadata.mention_total_limit,
            Some(5)
        );
        assert_eq!(plan.meanings["Gavel: banned"].kind, Kind::Warning);
        assert_eq!(plan.meanings["Gavel: banned"].counted_on, 143);
    }

    #[test]
    fn limits_are_kept_by_splitting_and_cutting_in_a_stable_order() {
        // 1500 words of 3 variants each, 400 of them too long: 1100 words and their variants.
        let long: Vec<String> = (0..400).map(|i| format!("{i}{}", "x".repeat(60))).collect();
        let many: Vec<String> = (0..1100).map(|i| format!("sea{i}")).collect();
        let all: Vec<&str> = many.iter().chain(&long).map(String::as_str).collect();
        let mut list = vec![words("big", &all)];
        for n in 0..3 {
            list.push(words(&format!("w{n}"), &["spam"]));
        }
        let mut regex = rule(
            "re",
            RuleKind::Regex {
                patterns: (0..12)
                    .map(|i| format!("p{i}"))
                    .chain(["y".repeat(261)])
                    .collect(),
            },
            RuleAction::Warn,
            true,
        );
        regex.exempt.channels = (0..60).map(|i| format!("{i}")).collect();
        regex.exempt.members = vec!["7".into()];
        list.push(regex);
        list.push(rule(
            "m1",
            RuleKind::Mentions { max: 10 },
            RuleAction::Warn,
            true,
        ));
        list.push(rule(
            "m2",
            RuleKind::Mentions { max: 10 },
            RuleAction::Warn,
            true,
        ));
        let mut rules = rules(list);
        rules.allow_words = (0..120).map(|i| format!("ok{i:03}")).collect();
        let plan = plan(&rules, None, &[]);

        assert!(keyword_count(&plan) <= MAX_KEYWORD_RULES);
        let names: Vec<&str> = plan.creates.iter().map(|r| r.name.as_str()).collect();
        // 1100 words + 3300 variants = 4400 keywords: 5 rules of at most 1000; w0 takes the
        // sixth, and w1, w2 and the patterns find none left.
        assert_eq!(
            names,
            [
                "Gavel: big",
                "Gavel: big (2)",
                "Gavel: big (3)",
                "Gavel: big (4)",
                "Gavel: big (5)",
                "Gavel: w0",
                "Gavel: m1"
            ]
        );
        for r in &plan.creates {
            let m = &r.trigger_metadata;
            let keywords = m.keyword_filter.clone().unwrap_or_default();
            assert!(keywords.len() <= MAX_KEYWORDS);
            assert!(
                keywords
                    .iter()
                    .all(|k| k.chars().count() <= MAX_KEYWORD_CHARS)
            );
            assert!(m.allow_list.clone().unwrap_or_default().len() <= MAX_ALLOW_LIST);
        }
        let first = plan.creates[0]
            .trigger_metadata
            .keyword_filter
            .as_ref()
            .unwrap();
        assert_eq!(first[0], "sea0", "words before variants");
        assert_eq!(first[999], "sea999");
        let lines = plan.not_compiled.join("\n");
        for expected in [
            "`big`: 400 words over Discord's 60 characters",
            "`w1`: 4 of its 4 keywords (1 words, the rest variants) did not fit",
            "`re`: a pattern of 261 characters is over Discord's 260",
            "`re`: 2 of its patterns are past Discord's 10",
            "`re`: no keyword rule is left",
            "`re`: 10 exempt channels past Discord's 50",
            "`re`: Discord's AutoMod cannot exempt members",
            "`m2` (mention spam): Discord allows one mention-spam rule per server",
            "allow list: 20 words past Discord's 100",
        ] {
            assert!(lines.contains(expected), "{expected:?} in\n{lines}");
        }
        // Deterministic: the same input plans the same.
        assert_eq!(plan, super::plan(&rules, None, &[]));
    }

    #[test]
    fn the_guilds_own_rules_are_left_alone_and_count_against_the_limits() {
        let own = |id: &str, trigger: u8| AutoModRule {
            id: Some(id.into()),
            name: format!("Server rule {id}"),
            trigger_type: trigger,
            ..AutoModRule::default()
        };
        let current: Vec<AutoModRule> = (1..=5)
            .map(|i| own(&i.to_string(), TRIGGER_KEYWORD))
            .chain([own("6", TRIGGER_MENTION_SPAM)])
            .collect();
        let list = vec![
            words("a", &["one"]),
            words("b", &["two"]),
            rule("m", RuleKind::Mentions { max: 5 }, RuleAction::Warn, true),
        ];
        let plan = plan(&rules(list), None, &current);
        assert!(plan.deletes.is_empty(), "{plan:?}");
        assert_eq!(plan.creates.len(), 1);
        assert_eq!(plan.creates[0].name, "Gavel: a");
        let lines = plan.not_compiled.join("\n");
        assert!(lines.contains("(the server's own rules use 5)"), "{lines}");
        assert!(lines.contains("`m` (mention spam)"), "{lines}");
    }

    #[test]
    fn a_second_plan_after_applying_the_first_writes_nothing() {
        let list = vec![
            words("words", &["free nitro", "scam"]),
            rule(
                "re",
                RuleKind::Regex {
                    patterns: vec!["b+a+d".into()],
                },
                RuleAction::Log,
                false,
            ),
            rule(
                "m",
                RuleKind::Mentions { max: 8 },
                RuleAction::Mute { secs: 600 },
                true,
            ),
        ];
        let rules = rules(list);
        let first = plan(&rules, Some("42"), &[]);
        assert_eq!(first.creates.len(), 3);
        let mut now = applied(&first, &[]);
        // Discord lists rules in its own order, with lists reordered and extra fields.
        now.reverse();
        for r in &mut now {
            if let Some(k) = r.trigger_metadata.keyword_filter.as_mut() {
                k.reverse();
            }
            r.trigger_metadata.presets = Some(Vec::new());
        }
        let second = plan(&rules, Some("42"), &now);
        assert!(second.writes_nothing(), "{second:?}");
        assert_eq!(second.unchanged.len(), 3);

        // A change updates only its rule; a rule no longer wanted is deleted.
        let mut changed = rules.clone();
        changed.rules[0].kind = RuleKind::Words {
            words: vec!["scam".into()],
        };
        changed.rules.remove(1);
        let third = plan(&changed, Some("42"), &now);
        let re_id = now
            .iter()
            .find(|r| r.name == "Gavel: re")
            .unwrap()
            .id
            .clone();
        assert_eq!(third.deletes, vec![re_id.unwrap()]);
        assert_eq!(third.updates.len(), 1);
        assert_eq!(third.updates[0].1.name, "Gavel: words");
        assert!(third.creates.is_empty());
        assert_eq!(third.unchanged, ["Gavel: m"]);
    }

    #[test]
    fn a_changed_trigger_type_is_deleted_and_created_and_duplicates_go() {
        let current = vec![
            AutoModRule {
                id: Some("10".into()),
                name: "Gavel: x".into(),
                trigger_type: TRIGGER_MENTION_SPAM,
                ..AutoModRule::default()
            },
            AutoModRule {
                id: Some("11".into()),
                name: "Gavel: gone".into(),
                trigger_type: TRIGGER_KEYWORD,
                ..AutoModRule::default()
            },
            AutoModRule {
                id: Some("12".into()),
                name: "Gavel: gone".into(),
                trigger_type: TRIGGER_KEYWORD,
                ..AutoModRule::default()
            },
        ];
        let plan = plan(&rules(vec![words("x", &["bad"])]), None, &current);
        let mut deletes = plan.deletes.clone();
        deletes.sort();
        assert_eq!(deletes, ["10", "11", "12"]);
        assert_eq!(plan.creates.len(), 1);
        assert_eq!(plan.creates[0].trigger_type, TRIGGER_KEYWORD);
    }

    #[test]
    fn disabled_rules_compile_to_nothing_and_their_native_rules_are_deleted() {
        let mut off = words("words", &["bad"]);
        off.enabled = false;
        let current = vec![AutoModRule {
            id: Some("3".into()),
            name: "Gavel: words".into(),
            trigger_type: TRIGGER_KEYWORD,
            ..AutoModRule::default()
        }];
        let plan = plan(&rules(vec![off]), None, &current);
        assert_eq!(plan.deletes, ["3"]);
        assert!(plan.creates.is_empty() && plan.not_compiled.is_empty());
    }
}
