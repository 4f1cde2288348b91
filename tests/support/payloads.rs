//! Request bodies shaped like the ones Discord and Slack send, with fixed ids so that the
//! `events/` fixtures regenerate byte-for-byte.

use serde_json::{Value, json};

pub const DISCORD_APPLICATION: &str = "1174109840998400003";
pub const DISCORD_GUILD: &str = "1174109840998400001";
pub const DISCORD_CHANNEL: &str = "1174109840998400002";
pub const DISCORD_MEMBER: &str = "1174109840998400010";
pub const DISCORD_MODERATOR: &str = "1174109840998400011";

/// Discord permission bits: View Channel and Send Messages.
pub const MEMBER_PERMISSIONS: u64 = (1 << 10) | (1 << 11);
/// A member's bits plus Kick, Ban, Manage Server and Moderate Members.
pub const MODERATOR_PERMISSIONS: u64 =
    MEMBER_PERMISSIONS | (1 << 1) | (1 << 2) | (1 << 5) | (1 << 40);

pub const SLACK_TEAM: &str = "T0GAVELTST";
pub const SLACK_CHANNEL: &str = "C0GAVELTST";
pub const SLACK_USER: &str = "U0GAVELTST";
pub const SLACK_APP: &str = "A0GAVELTST";

/// A Discord PING as Discord sends it when the endpoint URL is saved.
pub fn discord_ping() -> Vec<u8> {
    json!({
        "application_id": DISCORD_APPLICATION,
        "entitlements": [],
        "id": "1442545296998400000",
        "token": "aW50ZXJhY3Rpb246MTQ0MjU0NTI5Njk5ODQwMDAwMDp0ZXN0",
        "type": 1,
        "user": {
            "avatar": null,
            "discriminator": "0",
            "global_name": "Discord",
            "id": "643945264868098049",
            "public_flags": 1,
            "username": "discord"
        },
        "version": 1
    })
    .to_string()
    .into_bytes()
}

/// Who invokes a Discord command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscordInvoker {
    Member,
    Moderator,
}

/// A complete APPLICATION_COMMAND interaction from a guild member, as twilight-model 0.18 and
/// Discord shape it. `options` is the `data.options` array (may be empty).
pub fn discord_command(
    interaction_id: &str,
    name: &str,
    options: Value,
    invoker: DiscordInvoker,
) -> Vec<u8> {
    let (user_id, username, global_name, permissions) = match invoker {
        DiscordInvoker::Member => (DISCORD_MEMBER, "ann", "Ann", MEMBER_PERMISSIONS),
        DiscordInvoker::Moderator => (DISCORD_MODERATOR, "mo", "Mo", MODERATOR_PERMISSIONS),
    };
    let mut data = json!({ "id": "1174109840998400100", "name": name, "type": 1 });
    if options.as_array().is_some_and(|a| !a.is_empty()) {
        data["options"] = options;
    }
    json!({
        "app_permissions": MODERATOR_PERMISSIONS.to_string(),
        "application_id": DISCORD_APPLICATION,
        "attachment_size_limit": 10485760,
        "authorizing_integration_owners": { "0": DISCORD_GUILD },
        "channel": {
            "flags": 0,
            "guild_id": DISCORD_GUILD,
            "id": DISCORD_CHANNEL,
            "last_message_id": null,
            "name": "general",
            "nsfw": false,
            "parent_id": null,
            "permissions": permissions.to_string(),
            "position": 0,
            "rate_limit_per_user": 0,
            "topic": null,
            "type": 0
        },
        "channel_id": DISCORD_CHANNEL,
        "context": 0,
        "data": data,
        "entitlements": [],
        "guild": { "features": [], "id": DISCORD_GUILD, "locale": "en-US" },
        "guild_id": DISCORD_GUILD,
        "guild_locale": "en-US",
        "id": interaction_id,
        "locale": "en-GB",
        "member": {
            "avatar": null,
            "banner": null,
            "communication_disabled_until": null,
            "deaf": false,
            "flags": 0,
            "joined_at": "2025-01-01T00:00:00.000000+00:00",
            "mute": false,
            "nick": null,
            "pending": false,
            "permissions": permissions.to_string(),
            "premium_since": null,
            "roles": [],
            "unusual_dm_activity_until": null,
            "user": {
                "avatar": null,
                "avatar_decoration_data": null,
                "clan": null,
                "collectibles": null,
                "discriminator": "0",
                "global_name": global_name,
                "id": user_id,
                "primary_guild": null,
                "public_flags": 0,
                "username": username
            }
        },
        "token": format!("aW50ZXJhY3Rpb246{interaction_id}"),
        "type": 2,
        "version": 1
    })
    .to_string()
    .into_bytes()
}

/// A slash-command form body as Slack posts it.
pub fn slack_command(command: &str, text: &str, trigger_id: &str) -> Vec<u8> {
    serde_urlencoded::to_string([
        ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
        ("team_id", SLACK_TEAM),
        ("team_domain", "gavel-test"),
        ("channel_id", SLACK_CHANNEL),
        ("channel_name", "general"),
        ("user_id", SLACK_USER),
        ("user_name", "ann"),
        ("command", command),
        ("text", text),
        ("api_app_id", SLACK_APP),
        ("is_enterprise_install", "false"),
        (
            "response_url",
            "https://hooks.slack.com/commands/T0GAVELTST/1000000000001/ZmFrZXJlc3BvbnNldXJs",
        ),
        ("trigger_id", trigger_id),
    ])
    .expect("form fields encode")
    .into_bytes()
}

/// The Events API `url_verification` request Slack sends when the Request URL is saved.
pub fn slack_url_verification(challenge: &str) -> Vec<u8> {
    json!({
        "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
        "challenge": challenge,
        "type": "url_verification"
    })
    .to_string()
    .into_bytes()
}

/// An Events API `event_callback` carrying a channel message.
pub fn slack_message_event(event_id: &str) -> Vec<u8> {
    json!({
        "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
        "team_id": SLACK_TEAM,
        "context_team_id": SLACK_TEAM,
        "api_app_id": SLACK_APP,
        "event": {
            "type": "message",
            "user": SLACK_USER,
            "text": "hello from the fixtures",
            "ts": "1764000000.000100",
            "team": SLACK_TEAM,
            "channel": SLACK_CHANNEL,
            "event_ts": "1764000000.000100",
            "channel_type": "channel"
        },
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1764000000,
        "authorizations": [{
            "enterprise_id": null,
            "team_id": SLACK_TEAM,
            "user_id": "U0GAVELBOT",
            "is_bot": true,
            "is_enterprise_install": false
        }],
        "is_ext_shared_channel": false,
        "event_context": "4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJUMEdBVkVMVFNUIn0"
    })
    .to_string()
    .into_bytes()
}

/// A `block_actions` interactivity payload (a button click), form-encoded as Slack posts it.
pub fn slack_block_actions(action_id: &str) -> Vec<u8> {
    let payload = json!({
        "type": "block_actions",
        "user": { "id": SLACK_USER, "username": "ann", "name": "ann", "team_id": SLACK_TEAM },
        "api_app_id": SLACK_APP,
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "container": {
            "type": "message",
            "message_ts": "1764000000.000200",
            "channel_id": SLACK_CHANNEL,
            "is_ephemeral": true
        },
        "trigger_id": "1764000000.1000000000001.0b1f2c3d4e5f60718293a4b5c6d7e8f9",
        "team": { "id": SLACK_TEAM, "domain": "gavel-test" },
        "enterprise": null,
        "is_enterprise_install": false,
        "channel": { "id": SLACK_CHANNEL, "name": "general" },
        "state": { "values": {} },
        "response_url": "https://hooks.slack.com/actions/T0GAVELTST/1000000000002/ZmFrZWFjdGlvbnVybA",
        "actions": [{
            "action_id": action_id,
            "block_id": "gavel-confirm",
            "text": { "type": "plain_text", "text": "Confirm", "emoji": true },
            "value": "confirm",
            "style": "primary",
            "type": "button",
            "action_ts": "1764000000.123456"
        }]
    });
    serde_urlencoded::to_string([("payload", payload.to_string())])
        .expect("form fields encode")
        .into_bytes()
}

/// A MESSAGE_COMPONENT interaction (a button click) from the same member as
/// [`discord_command`], with its own interaction id.
pub fn discord_component(
    interaction_id: &str,
    custom_id: &str,
    invoker: DiscordInvoker,
) -> Vec<u8> {
    discord_interaction_of_kind(
        interaction_id,
        3,
        json!({ "custom_id": custom_id, "component_type": 2 }),
        invoker,
    )
}

/// A MODAL_SUBMIT interaction whose text inputs sit in labels, as Discord sends them now.
pub fn discord_modal_submit(
    interaction_id: &str,
    custom_id: &str,
    fields: &[(&str, &str)],
    invoker: DiscordInvoker,
) -> Vec<u8> {
    let components: Vec<Value> = fields
        .iter()
        .enumerate()
        .map(|(i, (id, value))| {
            json!({ "type": 18, "id": i * 2 + 1, "component":
                { "type": 4, "id": i * 2 + 2, "custom_id": id, "value": value } })
        })
        .collect();
    discord_interaction_of_kind(
        interaction_id,
        5,
        json!({ "custom_id": custom_id, "components": components }),
        invoker,
    )
}

fn discord_interaction_of_kind(
    interaction_id: &str,
    kind: u8,
    data: Value,
    invoker: DiscordInvoker,
) -> Vec<u8> {
    let mut value: Value =
        serde_json::from_slice(&discord_command(interaction_id, "x", json!([]), invoker))
            .expect("the command payload is JSON");
    value["type"] = json!(kind);
    value["data"] = data;
    value.to_string().into_bytes()
}

/// A block_actions interactivity body: `user` clicked the button whose action id is `action_id`.
pub fn slack_block_action(action_id: &str, trigger_id: &str, user: &str) -> Vec<u8> {
    let payload = json!({
        "type": "block_actions",
        "user": { "id": user, "username": "ann", "name": "ann", "team_id": SLACK_TEAM },
        "api_app_id": SLACK_APP,
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "container": { "type": "message", "message_ts": "1764000000.000200", "channel_id": SLACK_CHANNEL, "is_ephemeral": true },
        "trigger_id": trigger_id,
        "team": { "id": SLACK_TEAM, "domain": "gavel-test" },
        "channel": { "id": SLACK_CHANNEL, "name": "general" },
        "response_url": format!("https://hooks.slack.com/actions/{SLACK_TEAM}/2/{trigger_id}"),
        "actions": [{
            "action_id": action_id,
            "block_id": "flow",
            "text": { "type": "plain_text", "text": "Button" },
            "type": "button",
            "action_ts": "1764000000.123456"
        }]
    });
    interaction_form(&payload)
}

/// A view_submission body for the modal whose callback id is `callback_id`, with one input
/// block per field (block id and action id both the field's id, as Gavel draws them).
pub fn slack_view_submission(
    callback_id: &str,
    fields: &[(&str, &str)],
    trigger_id: &str,
    user: &str,
) -> Vec<u8> {
    let mut values = serde_json::Map::new();
    for (id, value) in fields {
        values.insert(
            (*id).to_owned(),
            json!({ *id: { "type": "plain_text_input", "value": value } }),
        );
    }
    let payload = json!({
        "type": "view_submission",
        "team": { "id": SLACK_TEAM, "domain": "gavel-test" },
        "user": { "id": user, "username": "ann", "name": "ann", "team_id": SLACK_TEAM },
        "api_app_id": SLACK_APP,
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "trigger_id": trigger_id,
        "view": {
            "id": "V0GAVELTST",
            "team_id": SLACK_TEAM,
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": callback_id,
            "state": { "values": values },
            "hash": "1764000000.abc",
            "title": { "type": "plain_text", "text": "Report a member" },
            "close": { "type": "plain_text", "text": "Cancel" },
            "submit": { "type": "plain_text", "text": "Send report" },
            "app_id": SLACK_APP,
            "bot_id": "B0GAVELTST"
        }
    });
    interaction_form(&payload)
}

fn interaction_form(payload: &Value) -> Vec<u8> {
    serde_urlencoded::to_string([("payload", payload.to_string())])
        .expect("form fields encode")
        .into_bytes()
}

fn telegram_chat(chat: i64) -> Value {
    json!({ "id": chat, "type": "supergroup", "title": "Gavel test" })
}

fn telegram_user(id: u64) -> Value {
    json!({ "id": id, "is_bot": false, "first_name": format!("User {id}") })
}

/// A Telegram update: `text` posted in supergroup `chat` by `from` at `date`, as a reply to a
/// message of `reply_to` if given (how a Telegram moderator names the member). A leading
/// command gets its `bot_command` entity, as Telegram sends it. `id` is the update's id; the
/// messages' ids derive from it (Telegram's message ids are 32-bit).
pub fn telegram_message(
    id: i64,
    chat: i64,
    from: u64,
    text: &str,
    reply_to: Option<u64>,
    date: i64,
) -> Value {
    let message_id = id.rem_euclid(1_000_000_000);
    let mut message = json!({
        "message_id": message_id,
        "date": date,
        "chat": telegram_chat(chat),
        "from": telegram_user(from),
        "text": text,
    });
    if text.starts_with('/') {
        let length = text
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .encode_utf16()
            .count();
        message["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": length }]);
    }
    if let Some(author) = reply_to {
        message["reply_to_message"] = json!({
            "message_id": message_id + 1_000_000_000,
            "date": date - 60,
            "chat": telegram_chat(chat),
            "from": telegram_user(author),
            "text": "buy cheap followers",
        });
    }
    json!({ "update_id": id, "message": message })
}

/// A Telegram update: `text` sent by `from` in their private chat with the bot (whose chat id
/// is the user's id), as [`telegram_message`] builds a group's.
pub fn telegram_private_message(id: i64, from: u64, text: &str, date: i64) -> Value {
    let mut update = telegram_message(id, from as i64, from, text, None, date);
    update["message"]["chat"] =
        json!({ "id": from, "type": "private", "first_name": format!("User {from}") });
    update
}

/// A click by `from` on a button carrying `data`, under the bot's message 99 in `chat`.
pub fn telegram_click(id: i64, chat: i64, from: u64, data: &str, date: i64) -> Value {
    json!({
        "update_id": id,
        "callback_query": {
            "id": format!("cb{id}"),
            "from": telegram_user(from),
            "chat_instance": "42",
            "data": data,
            "message": {
                "message_id": 99,
                "date": date,
                "chat": telegram_chat(chat),
                "from": { "id": 1, "is_bot": true, "first_name": "Gavel" },
                "text": "…",
            }
        }
    })
}
