//! The bot's command menus (`setMyCommands`), from the same specs every platform serves:
//! members see the commands anyone may run (the default scope); administrators see those and
//! the moderators' (the all-chat-administrators scope). And the webhook's settings
//! (`setWebhook`), with the update types listed explicitly. Both are compared with what
//! Telegram reports, so an unchanged set makes no write.

use frankenstein::types::{BotCommand, BotCommandScope};
use serde_json::{Value, json};

use crate::commands::CommandRegistry;

/// Update types Gavel handles, listed explicitly: an empty or omitted list would keep
/// Telegram's previous setting or its default, which leaves out `chat_member`.
pub const ALLOWED_UPDATES: [&str; 5] = [
    "message",
    "edited_message",
    "callback_query",
    "chat_member",
    "my_chat_member",
];

/// Telegram's limits on a command's name and description.
const MAX_NAME_CHARS: usize = 32;
const MAX_DESCRIPTION_CHARS: usize = 256;

/// One scope's menu.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandMenu {
    pub scope: BotCommandScope,
    pub commands: Vec<BotCommand>,
}

/// The two menus: members' (default scope) and administrators'.
pub fn menus(registry: &CommandRegistry) -> Vec<CommandMenu> {
    let command = |spec: &crate::commands::CommandSpec| {
        let valid = !spec.name.is_empty()
            && spec.name.len() <= MAX_NAME_CHARS
            && spec
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        valid.then(|| {
            BotCommand::builder()
                .command(spec.name)
                .description(
                    spec.description
                        .chars()
                        .take(MAX_DESCRIPTION_CHARS)
                        .collect::<String>(),
                )
                .build()
        })
    };
    let members = registry
        .specs()
        .filter(|spec| spec.requires.is_none())
        .filter_map(command)
        .collect();
    let moderators = registry.specs().filter_map(command).collect();
    vec![
        CommandMenu {
            scope: BotCommandScope::Default,
            commands: members,
        },
        CommandMenu {
            scope: BotCommandScope::AllChatAdministrators,
            commands: moderators,
        },
    ]
}

/// Whether Telegram's `getMyCommands` answer already is `menu`'s list (names and descriptions,
/// in order).
pub fn menu_unchanged(menu: &CommandMenu, reported: &Value) -> bool {
    let Some(reported) = reported.as_array() else {
        return false;
    };
    reported.len() == menu.commands.len()
        && reported.iter().zip(&menu.commands).all(|(have, want)| {
            have["command"] == want.command.as_str()
                && have["description"] == want.description.as_str()
        })
}

/// `setWebhook`'s parameters.
pub fn webhook_params(url: &str, secret: &str, drop_pending: bool) -> Value {
    json!({
        "url": url,
        "secret_token": secret,
        "allowed_updates": ALLOWED_UPDATES,
        "drop_pending_updates": drop_pending,
    })
}

/// Whether `getWebhookInfo`'s answer already has `url` and exactly [`ALLOWED_UPDATES`]. The
/// secret is never reported back, so a rotated secret needs a forced write.
pub fn webhook_unchanged(url: &str, info: &Value) -> bool {
    let mut reported: Vec<&str> = info["allowed_updates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    reported.sort_unstable();
    let mut wanted = ALLOWED_UPDATES.to_vec();
    wanted.sort_unstable();
    info["url"] == url && reported == wanted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_see_their_commands_and_administrators_every_one() {
        let menus = menus(&CommandRegistry::standard());
        let names = |menu: &CommandMenu| -> Vec<String> {
            menu.commands.iter().map(|c| c.command.clone()).collect()
        };
        let (members, moderators) = (names(&menus[0]), names(&menus[1]));
        assert!(members.contains(&"appeal".to_owned()), "{members:?}");
        assert!(!members.contains(&"ban".to_owned()), "{members:?}");
        assert!(
            moderators.contains(&"ban".to_owned()) && moderators.contains(&"appeal".to_owned())
        );
        assert!(menus.iter().all(|m| m.commands.len() <= 100));
        // Telegram's answer to getMyCommands of the same list is "unchanged".
        let reported = serde_json::to_value(&menus[0].commands).unwrap();
        assert!(menu_unchanged(&menus[0], &reported));
        assert!(!menu_unchanged(&menus[1], &reported));
    }

    #[test]
    fn the_webhook_is_unchanged_only_with_the_same_url_and_every_update_type() {
        let url = "https://example.com/telegram/webhook";
        let info = json!({ "url": url, "allowed_updates": ALLOWED_UPDATES.iter().rev().collect::<Vec<_>>() });
        assert!(webhook_unchanged(url, &info));
        assert!(!webhook_unchanged("https://other/telegram/webhook", &info));
        let fewer = json!({ "url": url, "allowed_updates": ["message"] });
        assert!(!webhook_unchanged(url, &fewer));
        assert_eq!(
            webhook_params(url, "s", true)["allowed_updates"]
                .as_array()
                .unwrap()
                .len(),
            5
        );
    }
}
