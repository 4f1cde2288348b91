//! Payloads shaped like the ones Discord and Slack send, built from a command line such as
//! `/help command=ping`, so the local server can be tried without a Discord or Slack app.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Result, bail};
use gavel_shared::commands::{CommandRegistry, OptionKind};
use serde_json::{Value, json};

/// The pretend community every local request comes from.
pub const DEMO_GUILD: &str = "100000000000000001";
pub const DEMO_CHANNEL: &str = "100000000000000002";
pub const DEMO_APPLICATION: &str = "100000000000000003";
pub const DEMO_USER: &str = "100000000000000010";
pub const DEMO_MODERATOR: &str = "100000000000000011";
pub const SLACK_TEAM: &str = "T0GAVELDEV";
pub const SLACK_CHANNEL: &str = "C0GAVELDEV";
pub const SLACK_USER: &str = "U0GAVELDEV";
/// Who `--moderator` is on Slack; `serve` lists it as a moderator when using dev credentials.
pub const SLACK_DEV_MODERATOR: &str = "U0GAVELMOD";

/// Discord permission bits: View Channel and Send Messages for members; members plus Kick,
/// Ban, Manage Server and Moderate Members for moderators.
const MEMBER_PERMISSIONS: u64 = (1 << 10) | (1 << 11);
const MODERATOR_PERMISSIONS: u64 = MEMBER_PERMISSIONS | (1 << 1) | (1 << 2) | (1 << 5) | (1 << 40);

/// Snowflake-shaped ids: Discord's epoch-based layout, unique within this process.
pub fn snowflake() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let millis = (crate::signing::unix_now() as u64 * 1000).saturating_sub(1_420_070_400_000);
    let seq = COUNTER.fetch_add(1, Ordering::Relaxed) & 0x3f_ffff;
    ((millis << 22) | seq).to_string()
}

/// Who the pretend invoker is.
#[derive(Clone, Copy, Debug, Default)]
pub struct Invoker {
    pub moderator: bool,
}

pub fn discord_ping() -> Vec<u8> {
    json!({ "type": 1, "id": snowflake(), "application_id": DEMO_APPLICATION, "token": "local", "version": 1 })
        .to_string()
        .into_bytes()
}

/// An APPLICATION_COMMAND interaction for `/name key=value ...`.
pub fn discord_command(
    registry: &CommandRegistry,
    command_line: &str,
    invoker: Invoker,
) -> Result<Vec<u8>> {
    let (name, args) = split_command_line(command_line)?;
    let spec = registry.spec(&name);
    let mut options = Vec::new();
    for arg in args.split_whitespace() {
        let Some((key, value)) = arg.split_once('=') else {
            bail!("Discord options are key=value pairs, got {arg:?}");
        };
        let kind = spec
            .and_then(|s| s.options.iter().find(|o| o.name == key))
            .map(|o| o.kind)
            .unwrap_or(OptionKind::String);
        options.push(match kind {
            OptionKind::String | OptionKind::Duration | OptionKind::Choice(_) => {
                json!({ "name": key, "type": 3, "value": value })
            }
            OptionKind::Integer => {
                json!({ "name": key, "type": 4, "value": value.parse::<i64>()? })
            }
            OptionKind::User => json!({ "name": key, "type": 6, "value": value }),
            OptionKind::Channel => json!({ "name": key, "type": 7, "value": value }),
        });
    }
    let (user_id, permissions) = if invoker.moderator {
        (DEMO_MODERATOR, MODERATOR_PERMISSIONS)
    } else {
        (DEMO_USER, MEMBER_PERMISSIONS)
    };
    let mut data = json!({ "id": snowflake(), "name": name, "type": 1 });
    if !options.is_empty() {
        data["options"] = Value::Array(options);
    }
    Ok(json!({
        "type": 2,
        "id": snowflake(),
        "application_id": DEMO_APPLICATION,
        "token": format!("local-{}", snowflake()),
        "version": 1,
        "guild_id": DEMO_GUILD,
        "channel_id": DEMO_CHANNEL,
        "channel": { "id": DEMO_CHANNEL, "type": 0 },
        "member": {
            "user": {
                "id": user_id,
                "username": if invoker.moderator { "demo-moderator" } else { "demo-member" },
                "global_name": if invoker.moderator { "Demo Moderator" } else { "Demo Member" },
                "discriminator": "0",
                "avatar": null
            },
            "roles": [],
            "permissions": permissions.to_string(),
            "joined_at": "2025-01-01T00:00:00.000000+00:00",
            "deaf": false,
            "mute": false,
            "flags": 0
        },
        "app_permissions": MODERATOR_PERMISSIONS.to_string(),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": { "0": DEMO_GUILD },
        "context": 0,
        "attachment_size_limit": 10485760,
        "data": data
    })
    .to_string()
    .into_bytes())
}

/// A slash-command form body for `/name text...`.
pub fn slack_command(command_line: &str, invoker: Invoker) -> Result<Vec<u8>> {
    let (name, text) = split_command_line(command_line)?;
    let user = if invoker.moderator {
        SLACK_DEV_MODERATOR
    } else {
        SLACK_USER
    };
    let trigger = format!("{}.{}", snowflake(), "local");
    let response_url = "http://127.0.0.1:9/slack/response-url-not-used-locally".to_owned();
    Ok(serde_urlencoded::to_string([
        ("token", "local"),
        ("team_id", SLACK_TEAM),
        ("team_domain", "gavel-dev"),
        ("channel_id", SLACK_CHANNEL),
        ("channel_name", "general"),
        ("user_id", user),
        (
            "user_name",
            if invoker.moderator {
                "demo-moderator"
            } else {
                "demo-member"
            },
        ),
        ("command", &format!("/{name}")),
        ("text", text.as_str()),
        ("api_app_id", "A0GAVELDEV"),
        ("response_url", &response_url),
        ("trigger_id", &trigger),
    ])?
    .into_bytes())
}

pub fn slack_url_verification(challenge: &str) -> Vec<u8> {
    json!({ "token": "local", "challenge": challenge, "type": "url_verification" })
        .to_string()
        .into_bytes()
}

/// `/name rest of line` → ("name", "rest of line").
fn split_command_line(line: &str) -> Result<(String, String)> {
    let line = line.trim();
    let Some(stripped) = line.strip_prefix('/') else {
        bail!("a command starts with '/', like /ping (got {line:?})");
    };
    let (name, rest) = stripped
        .split_once(char::is_whitespace)
        .unwrap_or((stripped, ""));
    if name.is_empty() {
        bail!("a command needs a name after '/'");
    }
    Ok((name.to_ascii_lowercase(), rest.trim().to_owned()))
}

/// A button click (MESSAGE_COMPONENT) on the component `custom_id`.
pub fn discord_component(custom_id: &str, invoker: Invoker) -> Result<Vec<u8>> {
    discord_of_kind(
        3,
        json!({ "custom_id": custom_id, "component_type": 2 }),
        invoker,
    )
}

/// A submitted modal (MODAL_SUBMIT) with its text inputs inside labels.
pub fn discord_modal_submit(
    custom_id: &str,
    fields: &[(&str, &str)],
    invoker: Invoker,
) -> Result<Vec<u8>> {
    let components: Vec<Value> = fields
        .iter()
        .enumerate()
        .map(|(i, (id, value))| {
            json!({ "type": 18, "id": 2 * i + 1,
                    "component": { "type": 4, "id": 2 * i + 2, "custom_id": id, "value": value } })
        })
        .collect();
    discord_of_kind(
        5,
        json!({ "custom_id": custom_id, "components": components }),
        invoker,
    )
}

fn discord_of_kind(kind: u8, data: Value, invoker: Invoker) -> Result<Vec<u8>> {
    let registry = CommandRegistry::new(Vec::new());
    let mut value: Value = serde_json::from_slice(&discord_command(&registry, "/x", invoker)?)?;
    value["type"] = json!(kind);
    value["data"] = data;
    Ok(value.to_string().into_bytes())
}

/// A block_actions body: the invoker clicked the button `action_id`.
pub fn slack_block_action(action_id: &str, invoker: Invoker) -> Result<Vec<u8>> {
    let trigger = format!("{}.local", snowflake());
    slack_interaction(json!({
        "type": "block_actions",
        "user": { "id": slack_user(invoker), "username": "demo", "name": "demo", "team_id": SLACK_TEAM },
        "api_app_id": "A0GAVELDEV",
        "token": "local",
        "container": { "type": "message", "message_ts": "1.2", "channel_id": SLACK_CHANNEL, "is_ephemeral": true },
        "trigger_id": trigger,
        "team": { "id": SLACK_TEAM, "domain": "gavel-dev" },
        "channel": { "id": SLACK_CHANNEL, "name": "general" },
        "response_url": "http://127.0.0.1:9/slack/response-url-not-used-locally",
        "actions": [{ "action_id": action_id, "block_id": "flow", "type": "button",
                      "text": { "type": "plain_text", "text": "Button" }, "action_ts": "1.2" }]
    }))
}

/// A view_submission body for the modal `callback_id`; each field is its own input block.
pub fn slack_view_submission(
    callback_id: &str,
    fields: &[(&str, &str)],
    invoker: Invoker,
) -> Result<Vec<u8>> {
    let mut values = serde_json::Map::new();
    for (id, value) in fields {
        values.insert(
            (*id).to_owned(),
            json!({ *id: { "type": "plain_text_input", "value": value } }),
        );
    }
    slack_interaction(json!({
        "type": "view_submission",
        "team": { "id": SLACK_TEAM, "domain": "gavel-dev" },
        "user": { "id": slack_user(invoker), "username": "demo", "name": "demo", "team_id": SLACK_TEAM },
        "api_app_id": "A0GAVELDEV",
        "token": "local",
        "trigger_id": format!("{}.local", snowflake()),
        "view": {
            "id": "V0GAVELDEV", "team_id": SLACK_TEAM, "type": "modal", "blocks": [],
            "private_metadata": "", "callback_id": callback_id,
            "state": { "values": values }, "hash": "1.2",
            "title": { "type": "plain_text", "text": "Gavel" },
            "app_id": "A0GAVELDEV", "bot_id": "B0GAVELDEV"
        }
    }))
}

fn slack_interaction(payload: Value) -> Result<Vec<u8>> {
    Ok(serde_urlencoded::to_string([("payload", payload.to_string())])?.into_bytes())
}

fn slack_user(invoker: Invoker) -> &'static str {
    if invoker.moderator {
        SLACK_DEV_MODERATOR
    } else {
        SLACK_USER
    }
}

/// An Events API delivery of a member's message in the demo channel, as Slack sends it.
pub fn slack_message_event(event_id: &str, ts: &str, text: &str) -> Vec<u8> {
    json!({
        "token": "local",
        "team_id": SLACK_TEAM,
        "api_app_id": "A0GAVELDEV",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": crate::signing::unix_now(),
        "authorizations": [{
            "enterprise_id": null, "team_id": SLACK_TEAM, "user_id": "U0GAVELBOT",
            "is_bot": true, "is_enterprise_install": false
        }],
        "event": {
            "type": "message", "channel": SLACK_CHANNEL, "user": SLACK_USER, "text": text,
            "ts": ts, "event_ts": ts, "channel_type": "channel"
        }
    })
    .to_string()
    .into_bytes()
}

/// A message command (`name`, such as "Report message") on a message by `author` saying
/// `content`: Discord sends the message, content included, in the resolved data.
pub fn discord_message_command(
    name: &str,
    author: &str,
    content: &str,
    invoker: Invoker,
) -> Result<Vec<u8>> {
    let message = snowflake();
    discord_of_kind(
        2,
        json!({
            "id": snowflake(), "name": name, "type": 3, "target_id": message,
            "resolved": { "messages": { message.clone(): {
                "id": message, "channel_id": DEMO_CHANNEL, "content": content,
                "author": { "id": author, "username": "someone", "discriminator": "0", "avatar": null },
                "attachments": [], "embeds": [], "mentions": [], "mention_roles": [],
                "timestamp": "2026-12-02T10:00:00.000000+00:00", "type": 0
            } } }
        }),
        invoker,
    )
}

/// The development group under `gavel serve` (a supergroup's id).
pub const TELEGRAM_DEV_GROUP: i64 = -1_001_000_000_001;
/// A member of it, and a moderator (the local recording API reports every right for them).
pub const TELEGRAM_DEV_USER: u64 = 1_000_010;
pub const TELEGRAM_DEV_MODERATOR: u64 = 1_000_011;

/// A click by the development moderator on a button carrying `data`, under the bot's
/// message 99 in `chat`.
pub fn telegram_click(data: &str, chat: i64) -> Vec<u8> {
    let id: i64 = snowflake().parse::<i64>().unwrap_or(1) % 1_000_000_000;
    json!({
        "update_id": id,
        "callback_query": {
            "id": format!("cb{id}"),
            "from": { "id": TELEGRAM_DEV_MODERATOR, "is_bot": false, "first_name": "Dev" },
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": 99,
                "date": crate::signing::unix_now(),
                "chat": { "id": chat, "type": "supergroup", "title": "Gavel dev" },
                "from": { "id": 1, "is_bot": true, "first_name": "Gavel" },
                "text": "…",
            }
        }
    })
    .to_string()
    .into_bytes()
}

/// A Telegram update: `line` sent by the development member in their private chat with the
/// bot (whose chat id is the member's id), where `/appeal` finds the group's case.
pub fn telegram_private_message(line: &str) -> Vec<u8> {
    let update = telegram_message(line, None, Invoker { moderator: false });
    let mut update: serde_json::Value = serde_json::from_slice(&update).unwrap_or_default();
    update["message"]["chat"] =
        json!({ "id": TELEGRAM_DEV_USER, "type": "private", "first_name": "Dev" });
    update.to_string().into_bytes()
}

/// A Telegram update: `line` (a command such as `/warn spam`) in the development group, from
/// the member or the moderator, as a reply to a message of `reply_to` if given (how Telegram
/// names the member a moderation command is about). Ids from the clock, so repeats differ.
pub fn telegram_message(line: &str, reply_to: Option<u64>, invoker: Invoker) -> Vec<u8> {
    let id: i64 = snowflake().parse::<i64>().unwrap_or(1) % 1_000_000_000;
    let from = if invoker.moderator {
        TELEGRAM_DEV_MODERATOR
    } else {
        TELEGRAM_DEV_USER
    };
    let chat = json!({ "id": TELEGRAM_DEV_GROUP, "type": "supergroup", "title": "Gavel dev" });
    let mut message = json!({
        "message_id": id % 1_000_000,
        "date": crate::signing::unix_now(),
        "chat": chat,
        "from": { "id": from, "is_bot": false, "first_name": "Dev" },
        "text": line,
    });
    if line.starts_with('/') {
        let length = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .encode_utf16()
            .count();
        message["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": length }]);
    }
    if let Some(author) = reply_to {
        message["reply_to_message"] = json!({
            "message_id": id % 1_000_000 + 1,
            "date": crate::signing::unix_now() - 60,
            "chat": chat,
            "from": { "id": author, "is_bot": false, "first_name": "Member" },
            "text": "the message being answered",
        });
    }
    json!({ "update_id": id, "message": message })
        .to_string()
        .into_bytes()
}
