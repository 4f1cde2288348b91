//! Channels, members and roles as moderators type them into a command's text: each
//! platform's mention markup, or the bare id. `/modconfig` and `/automod` read them alike.

use crate::invocation::Platform;

/// A channel as each platform sends it when typed into text: Discord `<#123…>`, Slack
/// `<#C123|name>` (or the bare id).
pub fn channel_id(text: &str, platform: Platform) -> Option<String> {
    let id = match text.strip_prefix("<#").and_then(|t| t.strip_suffix('>')) {
        Some(inner) => inner.split('|').next()?,
        None => text,
    };
    let valid = match platform {
        Platform::Discord => snowflake(id),
        Platform::Slack => slack_id(id, &['C', 'G']),
        Platform::Telegram => telegram_chat(id),
    };
    valid.then(|| id.to_owned())
}

/// A member: Slack `<@U123>`, `<@U123|name>` or the bare id; Discord `<@123…>` or `<@!123…>`.
pub fn user_id(text: &str, platform: Platform) -> Option<String> {
    let inner = text.strip_prefix("<@").and_then(|t| t.strip_suffix('>'));
    match platform {
        Platform::Slack => {
            let id = match inner {
                Some(inner) => inner.split('|').next()?,
                None => text,
            };
            slack_id(id, &['U', 'W']).then(|| id.to_owned())
        }
        Platform::Discord => {
            let id = inner?.trim_start_matches('!');
            snowflake(id).then(|| id.to_owned())
        }
        // Telegram text names a member by a `text_mention` entity, which the codec writes as
        // `<@id>`, or by the bare numeric id.
        Platform::Telegram => {
            let id = inner.unwrap_or(text);
            telegram_user(id).then(|| id.to_owned())
        }
    }
}

/// A role: Discord `<@&123…>`; on Slack, where a user group stands for a role,
/// `<!subteam^S123|@mods>`, `<!subteam^S123>` or the bare id.
pub fn role_id(text: &str, platform: Platform) -> Option<String> {
    match platform {
        Platform::Slack => usergroup_id(text),
        // Telegram has no roles, only administrators.
        Platform::Telegram => None,
        Platform::Discord => {
            let id = text.strip_prefix("<@&")?.strip_suffix('>')?;
            snowflake(id).then(|| id.to_owned())
        }
    }
}

/// A role as a mention the platform renders.
pub fn show_role(id: &str, platform: Platform) -> String {
    match platform {
        Platform::Slack => format!("<!subteam^{id}>"),
        Platform::Discord => format!("<@&{id}>"),
        Platform::Telegram => id.to_owned(),
    }
}

/// A Slack user group: `<!subteam^S123|@mods>`, `<!subteam^S123>` or the bare id.
pub fn usergroup_id(text: &str) -> Option<String> {
    let id = match text
        .strip_prefix("<!subteam^")
        .and_then(|t| t.strip_suffix('>'))
    {
        Some(inner) => inner.split('|').next()?,
        None => text,
    };
    slack_id(id, &['S']).then(|| id.to_owned())
}

fn snowflake(id: &str) -> bool {
    (15..=21).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

/// A Telegram user id: a positive number (at most 52 bits, so 16 digits).
fn telegram_user(id: &str) -> bool {
    (1..=16).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

/// A Telegram chat id: groups and supergroups are negative (`-100…` for supergroups).
fn telegram_chat(id: &str) -> bool {
    let digits = id.strip_prefix('-').unwrap_or(id);
    telegram_user(digits)
}

/// Slack ids are upper-case letters and digits after a letter that says what they are.
fn slack_id(id: &str, prefixes: &[char]) -> bool {
    id.len() >= 3
        && id.len() <= 24
        && id.starts_with(prefixes)
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_platforms_markup_names_its_ids() {
        assert_eq!(
            channel_id("<#1174109840998400002>", Platform::Discord),
            Some("1174109840998400002".into())
        );
        assert_eq!(
            channel_id("<#C0MODLOG|mod-log>", Platform::Slack),
            Some("C0MODLOG".into())
        );
        assert_eq!(
            channel_id("C0MODLOG", Platform::Slack),
            Some("C0MODLOG".into())
        );
        assert_eq!(channel_id("#mod-log", Platform::Slack), None);
        assert_eq!(channel_id("<#C0MODLOG>", Platform::Discord), None);
        assert_eq!(channel_id("<#U0SOMEONE>", Platform::Slack), None);
        assert_eq!(
            user_id("<@U0ANN|ann>", Platform::Slack),
            Some("U0ANN".into())
        );
        assert_eq!(
            user_id("W0ENTERPRISE", Platform::Slack),
            Some("W0ENTERPRISE".into())
        );
        assert_eq!(user_id("@ann", Platform::Slack), None);
        assert_eq!(
            user_id("<@!1174109840998400020>", Platform::Discord),
            Some("1174109840998400020".into())
        );
        assert_eq!(user_id("<@&1174109840998400030>", Platform::Discord), None);
        assert_eq!(
            role_id("<@&1174109840998400030>", Platform::Discord),
            Some("1174109840998400030".into())
        );
        assert_eq!(role_id("<@1174109840998400030>", Platform::Discord), None);
        assert_eq!(
            usergroup_id("<!subteam^S0MODS|@mods>"),
            Some("S0MODS".into())
        );
        assert_eq!(usergroup_id("S0MODS"), Some("S0MODS".into()));
        assert_eq!(usergroup_id("<!here>"), None);
    }
}
