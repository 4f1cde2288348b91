//! Mention spam: distinct people and roles pinged by one message, in each platform's markup.
//! `@everyone`, `@here` and `<!channel>` count once each, however often they are repeated.

use std::collections::HashSet;
use std::ops::Range;

use crate::invocation::Platform;

#[derive(Debug, PartialEq, Eq)]
pub struct Mentions {
    pub distinct: usize,
    /// From the first mention to the end of the last.
    pub span: Option<Range<usize>>,
}

pub fn count(text: &str, platform: Platform) -> Mentions {
    let mut seen: HashSet<String> = HashSet::new();
    let mut span: Option<Range<usize>> = None;
    let mut note = |at: Range<usize>, target: String| {
        seen.insert(target);
        span = Some(span.take().map_or(at.clone(), |s| s.start..at.end));
    };
    let mut i = 0;
    while let Some(k) = text[i..].find(['<', '@']) {
        let at = i + k;
        let rest = &text[at..];
        i = at + 1;
        if rest.starts_with('@') {
            if platform == Platform::Discord {
                for everyone in ["@everyone", "@here"] {
                    if rest.starts_with(everyone) {
                        note(at..at + everyone.len(), everyone.to_owned());
                        i = at + everyone.len();
                    }
                }
            }
            continue;
        }
        let Some(close) = rest.bytes().take(120).position(|b| b == b'>') else {
            continue;
        };
        let inner = &rest[1..close];
        let id = inner.split('|').next().unwrap_or_default();
        let target = match platform {
            // The Telegram codec writes a `text_mention` entity as `<@id>`, Discord's markup.
            Platform::Discord | Platform::Telegram => discord_target(id),
            Platform::Slack => slack_target(id),
        };
        if let Some(target) = target {
            note(at..at + close + 1, target);
            i = at + close + 1;
        }
    }
    Mentions {
        distinct: seen.len(),
        span,
    }
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn discord_target(inner: &str) -> Option<String> {
    if let Some(role) = inner.strip_prefix("@&") {
        return is_id(role).then(|| format!("role:{role}"));
    }
    let user = inner
        .strip_prefix("@!")
        .or_else(|| inner.strip_prefix('@'))?;
    is_id(user).then(|| format!("user:{user}"))
}

fn slack_target(inner: &str) -> Option<String> {
    if let Some(user) = inner.strip_prefix('@') {
        return is_id(user).then(|| format!("user:{user}"));
    }
    let special = inner.strip_prefix('!')?;
    if let Some(group) = special.strip_prefix("subteam^") {
        return is_id(group).then(|| format!("role:{group}"));
    }
    matches!(special, "here" | "channel" | "everyone").then(|| special.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_members_roles_and_everyone() {
        let text = "<@1> <@!1> <@2> <@&3> @everyone @everyone @here <#4> <:e:5>";
        let m = count(text, Platform::Discord);
        assert_eq!(m.distinct, 5);
        assert_eq!(m.span, Some(0..text.find(" <#4>").unwrap()));
    }

    #[test]
    fn slack_members_groups_and_broadcasts() {
        let text =
            "<@U1> <@U1|ann> <@W2> <!subteam^S3|@mods> <!here> <!channel> <#C1|general> @everyone";
        assert_eq!(count(text, Platform::Slack).distinct, 5);
    }

    #[test]
    fn plain_text_mentions_nobody() {
        let m = count("mail me at a@b.c or < @x >", Platform::Discord);
        assert_eq!(
            m,
            Mentions {
                distinct: 0,
                span: None
            }
        );
    }
}
