//! The changes `/automod` makes to a community's rules, as pure functions of the rules, the
//! action word and its text: each returns what changed in words, or why nothing did.

use crate::automod::{Rule, RuleAction, RuleKind, Rules};
use crate::invocation::Platform;
use crate::moderation::duration;

use super::super::mentions;

/// What `/automod <action>` changes, and how the text after it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    Enable,
    Disable,
    AddWord,
    RemoveWord,
    AllowWord,
    RemoveAllowWord,
    AllowDomain,
    DenyDomain,
    RemoveDomain,
    AddRegex,
    RemoveRegex,
    Set,
    Action,
    Delete,
    Exempt,
    Unexempt,
}

impl Edit {
    pub const ALL: [Edit; 16] = [
        Edit::Enable,
        Edit::Disable,
        Edit::AddWord,
        Edit::RemoveWord,
        Edit::AllowWord,
        Edit::RemoveAllowWord,
        Edit::AllowDomain,
        Edit::DenyDomain,
        Edit::RemoveDomain,
        Edit::AddRegex,
        Edit::RemoveRegex,
        Edit::Set,
        Edit::Action,
        Edit::Delete,
        Edit::Exempt,
        Edit::Unexempt,
    ];

    pub fn word(self) -> &'static str {
        match self {
            Edit::Enable => "enable",
            Edit::Disable => "disable",
            Edit::AddWord => "add-word",
            Edit::RemoveWord => "remove-word",
            Edit::AllowWord => "allow-word",
            Edit::RemoveAllowWord => "remove-allow-word",
            Edit::AllowDomain => "allow-domain",
            Edit::DenyDomain => "deny-domain",
            Edit::RemoveDomain => "remove-domain",
            Edit::AddRegex => "add-regex",
            Edit::RemoveRegex => "remove-regex",
            Edit::Set => "set",
            Edit::Action => "action",
            Edit::Delete => "delete",
            Edit::Exempt => "exempt",
            Edit::Unexempt => "unexempt",
        }
    }

    pub fn from_word(word: &str) -> Option<Edit> {
        Edit::ALL
            .into_iter()
            .find(|e| e.word().eq_ignore_ascii_case(word))
    }

    /// Whether the edit is about one named rule (`/automod action caps warn`), rather than a
    /// list whose rule is implied (`/automod add-word free nitro`).
    pub fn names_a_rule(self) -> bool {
        matches!(
            self,
            Edit::Enable
                | Edit::Disable
                | Edit::Set
                | Edit::Action
                | Edit::Delete
                | Edit::Exempt
                | Edit::Unexempt
        )
    }

    /// How to use it, for usage messages.
    pub fn usage(self) -> &'static str {
        match self {
            Edit::Enable => "/automod enable <rule>",
            Edit::Disable => "/automod disable <rule>",
            Edit::AddWord => "/automod add-word <word or phrase>",
            Edit::RemoveWord => "/automod remove-word <word or phrase>",
            Edit::AllowWord => "/automod allow-word <word> (never flagged, e.g. Scunthorpe)",
            Edit::RemoveAllowWord => "/automod remove-allow-word <word>",
            Edit::AllowDomain => {
                "/automod allow-domain <domain> (then links elsewhere are flagged)"
            }
            Edit::DenyDomain => "/automod deny-domain <domain>",
            Edit::RemoveDomain => "/automod remove-domain <domain>",
            Edit::AddRegex => "/automod add-regex <pattern>",
            Edit::RemoveRegex => "/automod remove-regex <pattern or its number in the list>",
            Edit::Set => {
                "/automod set <rule> <limit> (caps 70%, mentions 5, flood 5/10s, repeats 3/60s)"
            }
            Edit::Action => {
                "/automod action <rule> <log | warn | mute 1h | kick | tempban 7d | ban>"
            }
            Edit::Delete => "/automod delete <rule> <on | off>",
            Edit::Exempt => "/automod exempt <rule> <#channel | @role | @member>",
            Edit::Unexempt => "/automod unexempt <rule> <#channel | @role | @member>",
        }
    }
}

/// Applies `edit` to `rules` with the moderator's `text`, for `rule` when the edit names one.
/// Returns what changed, in words; the caller validates the result against the limits.
pub fn apply(
    rules: &mut Rules,
    edit: Edit,
    rule: Option<&str>,
    text: &str,
    platform: Platform,
) -> Result<String, String> {
    let text = text.trim();
    if edit.names_a_rule() {
        let Some(id) = rule else {
            return Err(format!(
                "Name the rule: `{}`. Rules: {}.",
                edit.usage(),
                rule_ids(rules)
            ));
        };
        let Some(found) = rules.rule_mut(id) else {
            return Err(format!(
                "There is no rule `{id}`. Rules: {}.",
                rule_ids(rules)
            ));
        };
        return edit_rule(found, edit, text, platform);
    }
    if text.is_empty() {
        return Err(format!("Say what to change: `{}`.", edit.usage()));
    }
    match edit {
        Edit::AddWord | Edit::RemoveWord => {
            let phrase = phrase_of(text);
            let rule = list_rule(rules, rule, "words", |k| {
                matches!(k, RuleKind::Words { .. })
            })?;
            let RuleKind::Words { words } = &mut rule.kind else {
                return Err(no_rule("words"));
            };
            if edit == Edit::AddWord {
                if words.contains(&phrase) {
                    return Err(format!("`{phrase}` is already banned."));
                }
                words.push(phrase.clone());
                let enabled = enable(rule);
                Ok(format!(
                    "`{phrase}` is now banned (rule `{}`: {}){enabled}.",
                    rule.id,
                    rule.action.label()
                ))
            } else {
                remove(words, &phrase)
                    .map(|()| format!("`{phrase}` is no longer banned."))
                    .ok_or_else(|| format!("`{phrase}` is not on the banned list."))
            }
        }
        Edit::AllowWord => {
            let phrase = phrase_of(text);
            if rules.allow_words.contains(&phrase) {
                return Err(format!("`{phrase}` is already allowed."));
            }
            rules.allow_words.push(phrase.clone());
            Ok(format!("`{phrase}` is never flagged as a banned word now."))
        }
        Edit::RemoveAllowWord => {
            let phrase = phrase_of(text);
            remove(&mut rules.allow_words, &phrase)
                .map(|()| format!("`{phrase}` is no longer on the allow list."))
                .ok_or_else(|| format!("`{phrase}` is not on the allow list."))
        }
        Edit::AllowDomain | Edit::DenyDomain | Edit::RemoveDomain => {
            let domain = domain_of(text);
            let rule = list_rule(rules, rule, "links", |k| {
                matches!(k, RuleKind::Links { .. })
            })?;
            let RuleKind::Links { allow, deny, .. } = &mut rule.kind else {
                return Err(no_rule("links"));
            };
            let said = match edit {
                Edit::AllowDomain => {
                    remove(deny, &domain);
                    if allow.contains(&domain) {
                        return Err(format!("`{domain}` is already allowed."));
                    }
                    allow.push(domain.clone());
                    format!(
                        "links to `{domain}` (and its subdomains) are allowed; with an allow list, links elsewhere are flagged"
                    )
                }
                Edit::DenyDomain => {
                    remove(allow, &domain);
                    if deny.contains(&domain) {
                        return Err(format!("`{domain}` is already denied."));
                    }
                    deny.push(domain.clone());
                    format!("links to `{domain}` (and its subdomains) are flagged")
                }
                _ => {
                    let was = remove(allow, &domain).or(remove(deny, &domain));
                    if was.is_none() {
                        return Err(format!("`{domain}` is on neither domain list."));
                    }
                    return Ok(format!("`{domain}` is off the domain lists."));
                }
            };
            let enabled = enable(rule);
            Ok(format!("{}{said}{enabled}.", capital(&rule.id)))
        }
        Edit::AddRegex | Edit::RemoveRegex => {
            let rule = list_rule(rules, rule, "regex", |k| {
                matches!(k, RuleKind::Regex { .. })
            })?;
            let RuleKind::Regex { patterns } = &mut rule.kind else {
                return Err(no_rule("regex"));
            };
            if edit == Edit::AddRegex {
                if patterns.iter().any(|p| p == text) {
                    return Err(format!("`{text}` is already a pattern."));
                }
                patterns.push(text.to_owned());
                let enabled = enable(rule);
                return Ok(format!("Pattern `{text}` added{enabled}."));
            }
            let index = match text.parse::<usize>() {
                Ok(n) if (1..=patterns.len()).contains(&n) => n - 1,
                _ => patterns.iter().position(|p| p == text).ok_or_else(|| {
                    format!("`{text}` is not one of the patterns; `/automod list` numbers them.")
                })?,
            };
            let removed = patterns.remove(index);
            Ok(format!("Pattern `{removed}` removed."))
        }
        _ => Err(format!("`{}`: {}", edit.word(), edit.usage())),
    }
}

fn edit_rule(
    rule: &mut Rule,
    edit: Edit,
    text: &str,
    platform: Platform,
) -> Result<String, String> {
    let id = rule.id.clone();
    match edit {
        Edit::Enable | Edit::Disable => {
            let on = edit == Edit::Enable;
            if rule.enabled == on {
                return Err(format!(
                    "`{id}` is already {}.",
                    if on { "on" } else { "off" }
                ));
            }
            rule.enabled = on;
            Ok(format!("`{id}` is {}.", if on { "on" } else { "off" }))
        }
        Edit::Set => set_limit(rule, text),
        Edit::Action => {
            let mut words = text.split_whitespace();
            let word = words.next().unwrap_or_default();
            let rest: Vec<&str> = words.collect();
            let duration = match rest.first() {
                Some(d) => Some(duration::parse(d).map_err(|e| format!("{e}."))?),
                None => None,
            };
            let default = match word.to_ascii_lowercase().as_str() {
                "mute" | "timeout" => Some(crate::moderation::settings::DEFAULT_MUTE_SECS),
                "tempban" | "temp-ban" => Some(crate::moderation::settings::DEFAULT_TEMPBAN_SECS),
                _ => None,
            };
            let action = RuleAction::parse(word, duration.or(default))
                .ok_or_else(|| format!("`{word}` is not an action. {}", Edit::Action.usage()))?;
            rule.action = action;
            Ok(format!("`{id}` now does: {}.", rule.action.label()))
        }
        Edit::Delete => {
            let on = match text.to_ascii_lowercase().as_str() {
                "on" | "yes" | "true" => true,
                "off" | "no" | "false" => false,
                _ => return Err(format!("Say on or off: `{}`.", Edit::Delete.usage())),
            };
            rule.delete = on;
            Ok(format!(
                "`{id}` {} the message it catches{}.",
                if on { "deletes" } else { "no longer deletes" },
                if on && platform == Platform::Slack {
                    " (on Slack only when an admin user token is configured: a bot can delete only its own messages)"
                } else {
                    ""
                }
            ))
        }
        Edit::Exempt | Edit::Unexempt => {
            let (list, what, raw, shown) =
                if let Some(channel) = mentions::channel_id(text, platform) {
                    let shown = format!("<#{channel}>");
                    (&mut rule.exempt.channels, "channel", channel, shown)
                } else if let Some(role) = mentions::role_id(text, platform) {
                    let shown = mentions::show_role(&role, platform);
                    (&mut rule.exempt.roles, "role", role, shown)
                } else if let Some(user) = mentions::user_id(text, platform) {
                    let shown = format!("<@{user}>");
                    (&mut rule.exempt.members, "member", user, shown)
                } else {
                    return Err(format!(
                        "`{text}` is not a channel, role or member. {}",
                        edit.usage()
                    ));
                };
            if edit == Edit::Exempt {
                if list.contains(&raw) {
                    return Err(format!("{shown} is already exempt from `{id}`."));
                }
                list.push(raw);
                Ok(format!("The {what} {shown} is exempt from `{id}`."))
            } else {
                remove(list, &raw)
                    .map(|()| format!("The {what} {shown} is no longer exempt from `{id}`."))
                    .ok_or_else(|| format!("{shown} is not exempt from `{id}`."))
            }
        }
        _ => Err(format!("`{}`: {}", edit.word(), edit.usage())),
    }
}

/// Thresholds as moderators write them: `70%`, `0.7` or `70` for capitals, a count for
/// mentions, `5/10s` (messages per window) for flood and repeats.
fn set_limit(rule: &mut Rule, text: &str) -> Result<String, String> {
    let id = rule.id.clone();
    match &mut rule.kind {
        RuleKind::Caps { ratio_percent, .. } => {
            let percent = percent_of(text)
                .ok_or_else(|| format!("`{text}` is not a share of capitals: write e.g. `70%`."))?;
            *ratio_percent = percent;
            Ok(format!("`{id}` flags messages over {percent}% capitals."))
        }
        RuleKind::Mentions { max } => {
            *max = text
                .parse()
                .map_err(|_| format!("`{text}` is not a number of mentions."))?;
            Ok(format!(
                "`{id}` flags more than {max} people or roles mentioned at once."
            ))
        }
        RuleKind::Flood {
            max_messages,
            window_secs,
        } => {
            let (count, window) = rate_of(text)?;
            (*max_messages, *window_secs) = (count, window);
            Ok(format!(
                "`{id}` flags more than {count} messages in {} from one member in a channel.",
                duration::words(i64::from(window))
            ))
        }
        RuleKind::Repeats {
            max_repeats,
            window_secs,
        } => {
            let (count, window) = rate_of(text)?;
            (*max_repeats, *window_secs) = (count, window);
            Ok(format!(
                "`{id}` flags the same message sent more than {count} times in {}.",
                duration::words(i64::from(window))
            ))
        }
        _ => Err(format!(
            "`{id}` has no limit to set; change its list instead (`/automod list`)."
        )),
    }
}

/// `5/10s`, `5 per 10s`.
fn rate_of(text: &str) -> Result<(u32, u32), String> {
    let normal = text.replace(" per ", "/").replace(' ', "");
    let (count, window) = normal
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not a rate: write messages per time, e.g. `5/10s`."))?;
    let count = count
        .parse()
        .map_err(|_| format!("`{count}` is not a number of messages."))?;
    let window = duration::parse(window).map_err(|e| format!("{e}."))?;
    let window = u32::try_from(window).map_err(|_| format!("`{window}` is too long a window."))?;
    Ok((count, window))
}

fn percent_of(text: &str) -> Option<u8> {
    let text = text.trim();
    let value: f64 = text.trim_end_matches('%').trim().parse().ok()?;
    let percent = if !text.ends_with('%') && value <= 1.0 {
        value * 100.0
    } else {
        value
    };
    (1.0..=100.0)
        .contains(&percent)
        .then(|| percent.round() as u8)
}

/// The rule a list edit changes: the one named, if it is of the right kind, else the first of
/// that kind (`words` by default).
fn list_rule<'r>(
    rules: &'r mut Rules,
    named: Option<&str>,
    fallback: &str,
    is_kind: impl Fn(&RuleKind) -> bool,
) -> Result<&'r mut Rule, String> {
    let position = named
        .and_then(|id| {
            rules
                .rules
                .iter()
                .position(|r| r.id == id && is_kind(&r.kind))
        })
        .or_else(|| {
            rules
                .rules
                .iter()
                .position(|r| r.id == fallback && is_kind(&r.kind))
        })
        .or_else(|| rules.rules.iter().position(|r| is_kind(&r.kind)));
    position
        .and_then(|index| rules.rules.get_mut(index))
        .ok_or_else(|| no_rule(fallback))
}

fn no_rule(id: &str) -> String {
    format!("This community has no `{id}` rule any more; nothing was changed.")
}

/// A word or phrase as it is stored: lower case, single spaces.
fn phrase_of(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A domain as typed or as Slack links it (`<https://example.com|example.com>`).
fn domain_of(text: &str) -> String {
    let inner = text
        .trim_start_matches('<')
        .trim_end_matches('>')
        .split('|')
        .next()
        .unwrap_or(text);
    let without_scheme = inner
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    without_scheme
        .split('/')
        .next()
        .unwrap_or(without_scheme)
        .trim_end_matches('.')
        .to_lowercase()
}

fn remove(list: &mut Vec<String>, value: &str) -> Option<()> {
    let index = list.iter().position(|v| v == value)?;
    list.remove(index);
    Some(())
}

/// Configuring a list turns its rule on (links are off until configured).
fn enable(rule: &mut Rule) -> &'static str {
    if rule.enabled {
        ""
    } else {
        rule.enabled = true;
        "; the rule is now on"
    }
}

fn capital(id: &str) -> String {
    format!("`{id}`: ")
}

fn rule_ids(rules: &Rules) -> String {
    rules
        .rules
        .iter()
        .map(|r| format!("`{}`", r.id))
        .collect::<Vec<_>>()
        .join(", ")
}
