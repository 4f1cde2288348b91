//! A verified Discord interaction body, read into [`DiscordInbound`]: a ping, an autocomplete
//! request, a kind Gavel does not handle, or an [`Invocation`] with its actor, tenant and
//! capabilities. The body is read leniently ([`payload`](super::payload)): fields Gavel does
//! not use may be absent or of any shape.

use serde::Deserialize;
use twilight_model::guild::Permissions;

use super::payload::{
    CommandKind, ComponentKind, OptionKind, RawComponent, RawData, RawInteraction, RawMessage,
    RawOption,
};
use crate::invocation::{
    Action, Actor, AppContext, Capabilities, Capability, CommandCall, Invocation, OptionValue,
    Platform, TargetMessage,
};

/// What a verified Discord request turned out to be.
#[derive(Debug, PartialEq)]
pub enum DiscordInbound {
    /// Type 1: Discord checking that the endpoint is alive.
    Ping,
    /// Type 4: the user is typing an option; no command offers suggestions yet.
    Autocomplete,
    Invocation(Box<Invocation>),
    /// An interaction type this version of Gavel does not know (Discord adds them): answered
    /// politely rather than refused, so the user learns why nothing happened.
    Unsupported {
        kind: u8,
    },
}

/// Just the `type` field, so a PING is answered without reading anything else (a bare
/// `{"type":1}` is a valid ping, and the ping path stays cheap).
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "type")]
    kind: u8,
}

/// Why a verified body is not an interaction Gavel can act on. The text is the 400 answer's
/// message and the log's, so it names the problem in Discord's terms.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not JSON with a numeric `type`.
    #[error("not an interaction: {0}")]
    NotAnInteraction(#[source] serde_json::Error),
    /// Not UTF-8, so not JSON.
    #[error("not an interaction: {0}")]
    NotUtf8(#[source] std::str::Utf8Error),
    /// A `type`, but not the fields every interaction has (`id`, `application_id`, `token`),
    /// or one of Gavel's fields of the wrong shape.
    #[error("malformed interaction: {0}")]
    Malformed(#[source] serde_json::Error),
    #[error("interaction has no user")]
    NoUser,
    #[error("interaction has no data")]
    NoData,
}

/// Discord's interaction types that Gavel handles.
const PING: u8 = 1;
const APPLICATION_COMMAND: u8 = 2;
const MESSAGE_COMPONENT: u8 = 3;
const AUTOCOMPLETE: u8 = 4;
const MODAL_SUBMIT: u8 = 5;

/// Parses a verified interaction body. Errors are for a 400 answer and the log.
pub fn parse_interaction(body: &[u8]) -> Result<DiscordInbound, ParseError> {
    // JSON is UTF-8, but serde_json skips the strings of fields Gavel ignores without checking
    // them, so a body with bad bytes there was read as an interaction (found by fuzzing).
    let body = std::str::from_utf8(body).map_err(ParseError::NotUtf8)?;
    let head: Head = serde_json::from_str(body).map_err(ParseError::NotAnInteraction)?;
    if head.kind == PING {
        return Ok(DiscordInbound::Ping);
    }
    let interaction: RawInteraction = serde_json::from_str(body).map_err(ParseError::Malformed)?;
    match head.kind {
        AUTOCOMPLETE => Ok(DiscordInbound::Autocomplete),
        APPLICATION_COMMAND | MESSAGE_COMPONENT | MODAL_SUBMIT => {
            to_invocation(head.kind, interaction).map(|i| DiscordInbound::Invocation(Box::new(i)))
        }
        kind => Ok(DiscordInbound::Unsupported { kind }),
    }
}

fn to_invocation(kind: u8, interaction: RawInteraction) -> Result<Invocation, ParseError> {
    let RawInteraction {
        id,
        application_id,
        token,
        guild_id,
        channel,
        channel_id,
        member,
        user,
        app_permissions,
        data,
    } = interaction;
    let member = member.unwrap_or_default();
    let user = member.user.or(user).ok_or(ParseError::NoUser)?;
    let actor = Actor {
        id: user.id.to_string(),
        display_name: member.nick.or(user.global_name).or(user.username),
        // Outside a guild there is no one to moderate, so no capabilities.
        capabilities: member
            .permissions
            .0
            .map(capabilities_of)
            .unwrap_or_default(),
    };
    // Only in a guild does the app have permissions worth checking.
    let app = match (&guild_id, app_permissions.0) {
        (Some(_), Some(perms)) => Some(AppContext {
            user_id: application_id.to_string(),
            capabilities: capabilities_of(perms),
        }),
        _ => None,
    };
    let tenant = match &guild_id {
        Some(guild) => guild.to_string(),
        None => format!("dm:{}", actor.id),
    };
    let channel = channel
        .and_then(|c| c.id)
        .or(channel_id)
        .map(|c| c.to_string());
    let data = data.ok_or(ParseError::NoData)?;
    let action = match kind {
        APPLICATION_COMMAND => Action::Command(command_call(data, channel.as_deref())?),
        MESSAGE_COMPONENT => Action::Component {
            custom_id: data.custom_id.ok_or(ParseError::NoData)?,
        },
        _ => {
            let mut fields = Vec::new();
            collect_modal_fields(data.components, &mut fields);
            Action::ModalSubmit {
                custom_id: data.custom_id.ok_or(ParseError::NoData)?,
                fields,
            }
        }
    };
    Ok(Invocation {
        id: id.to_string(),
        platform: Platform::Discord,
        tenant,
        channel,
        actor,
        action,
        response_url: None,
        trigger_id: None,
        interaction_token: Some(token),
        app,
    })
}

fn command_call(data: RawData, channel: Option<&str>) -> Result<CommandCall, ParseError> {
    let name = data.name.ok_or(ParseError::NoData)?.to_ascii_lowercase();
    let mut options = Vec::new();
    flatten_options(data.options, &mut options);
    // A message command names its message only by `target_id`; when `data.type` is missing,
    // a target found among the resolved messages says it is one all the same.
    let target = data.target_id.map(|t| t.to_string());
    let message = match (data.kind, &target) {
        (Some(CommandKind::Message) | None, Some(target)) => data
            .resolved
            .messages
            .get(target)
            .and_then(|entry| RawMessage::deserialize(entry).ok())
            .map(|raw| TargetMessage {
                id: target.clone(),
                channel: raw
                    .channel_id
                    .map(|c| c.to_string())
                    .or_else(|| channel.map(str::to_owned))
                    .unwrap_or_default(),
                author: raw.author.id.to_string(),
                author_is_bot: raw.author.bot,
                content: raw.content,
            }),
        _ => None,
    };
    // A context-menu command targets a user (or a message, whose author is then the user)
    // without an option; give it the same shape as the slash command's `user` option, so
    // moderation flows see whom it is about.
    match (&message, target) {
        (Some(message), _) => {
            options.push(("user".to_owned(), OptionValue::User(message.author.clone())))
        }
        (None, Some(target)) if data.kind != Some(CommandKind::Message) => {
            options.push(("user".to_owned(), OptionValue::User(target)))
        }
        _ => {}
    }
    // Discord marks bot accounts among the users an interaction names.
    let mut bots: Vec<String> = data
        .resolved
        .users
        .iter()
        .filter(|(_, user)| user["bot"] == true)
        .map(|(id, _)| id.clone())
        .collect();
    if let Some(message) = message.as_ref().filter(|m| m.author_is_bot)
        && !bots.contains(&message.author)
    {
        bots.push(message.author.clone());
    }
    bots.sort();
    Ok(CommandCall {
        name,
        options,
        bots,
        message,
    })
}

/// Subcommands become a `subcommand` option followed by their own options, so handlers see one
/// flat list on both platforms. Options of a type Gavel does not know, or whose value does not
/// fit their type, are left out: no handler reads them.
fn flatten_options(options: Vec<RawOption>, out: &mut Vec<(String, OptionValue)>) {
    for option in options {
        // Half-typed autocomplete values carry nothing a handler uses.
        if option.focused {
            continue;
        }
        let value = option.value.as_ref();
        let text = || value.and_then(|v| v.as_str()).map(str::to_owned);
        let id = || {
            value.and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => n.as_u64().map(|n| n.to_string()),
                _ => None,
            })
        };
        let value = match option.kind {
            OptionKind::SubCommand | OptionKind::SubCommandGroup => {
                out.push(("subcommand".to_owned(), OptionValue::String(option.name)));
                flatten_options(option.options, out);
                continue;
            }
            OptionKind::String => text().map(OptionValue::String),
            OptionKind::Integer => value.and_then(|v| v.as_i64()).map(OptionValue::Integer),
            OptionKind::Number => value.and_then(|v| v.as_f64()).map(OptionValue::Number),
            OptionKind::Boolean => value.and_then(|v| v.as_bool()).map(OptionValue::Boolean),
            OptionKind::User | OptionKind::Mentionable => id().map(OptionValue::User),
            OptionKind::Channel => id().map(OptionValue::Channel),
            OptionKind::Role => id().map(OptionValue::Role),
            // Attachments carry nothing a handler uses.
            OptionKind::Attachment | OptionKind::Other(_) => None,
        };
        if let Some(value) = value {
            out.push((option.name, value));
        }
    }
}

/// Text inputs, and the selects a label may hold, from a submitted modal's rows and labels,
/// in order. A select's several values are joined with commas, the way Slack forms' are:
/// they are ids or Gavel's own option values, neither of which holds a comma. Components of
/// other types (text displays, file uploads, types Discord adds later) are skipped.
fn collect_modal_fields(components: Vec<RawComponent>, out: &mut Vec<(String, String)>) {
    for component in components {
        match component.kind {
            ComponentKind::ActionRow => collect_modal_fields(component.components, out),
            ComponentKind::Label => {
                collect_modal_fields(component.component.into_iter().map(|c| *c).collect(), out)
            }
            ComponentKind::TextInput => {
                if let Some(custom_id) = component.custom_id {
                    out.push((custom_id, component.value.unwrap_or_default()));
                }
            }
            ComponentKind::StringSelect
            | ComponentKind::UserSelect
            | ComponentKind::RoleSelect
            | ComponentKind::MentionableSelect
            | ComponentKind::ChannelSelect => {
                if let Some(custom_id) = component.custom_id {
                    out.push((custom_id, component.values.join(",")));
                }
            }
            ComponentKind::Other(_) => {}
        }
    }
}

/// Maps Discord's resolved permissions to Gavel's capabilities. Administrator implies all.
pub(crate) fn capabilities_of(perms: Permissions) -> Capabilities {
    if perms.contains(Permissions::ADMINISTRATOR) {
        return Capabilities::all();
    }
    [
        (Permissions::MODERATE_MEMBERS, Capability::ModerateMembers),
        (Permissions::KICK_MEMBERS, Capability::KickMembers),
        (Permissions::BAN_MEMBERS, Capability::BanMembers),
        (Permissions::MANAGE_GUILD, Capability::ManageGuild),
    ]
    .into_iter()
    .filter(|(p, _)| perms.contains(*p))
    .map(|(_, c)| c)
    .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const GUILD: &str = "1174109840998400001";
    const CHANNEL: &str = "1174109840998400002";
    const USER: &str = "1174109840998400010";
    /// View Channel and Send Messages: an ordinary member.
    const MEMBER_PERMISSIONS: &str = "3072";

    /// A complete guild interaction of `kind` from a member, as Discord sends it.
    fn interaction(kind: u8, data: Value) -> Value {
        json!({
            "type": kind,
            "id": "1442545296998400001",
            "application_id": "1174109840998400003",
            "token": "aW50ZXJhY3Rpb24",
            "version": 1,
            "guild_id": GUILD,
            "channel_id": CHANNEL,
            "channel": { "id": CHANNEL, "type": 0 },
            "member": {
                "user": {
                    "id": USER,
                    "username": "ann",
                    "global_name": "Ann",
                    "discriminator": "0",
                    "avatar": null
                },
                "nick": null,
                "roles": [],
                "permissions": MEMBER_PERMISSIONS,
                "joined_at": "2025-01-01T00:00:00.000000+00:00",
                "deaf": false,
                "mute": false,
                "flags": 0
            },
            "app_permissions": "1099511630886",
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": { "0": GUILD },
            "context": 0,
            "attachment_size_limit": 10485760,
            "data": data
        })
    }

    fn command(name: &str, options: Value) -> Value {
        interaction(
            2,
            json!({ "id": "1174109840998400100", "name": name, "type": 1, "options": options }),
        )
    }

    fn parse(value: &Value) -> Result<DiscordInbound, ParseError> {
        parse_interaction(value.to_string().as_bytes())
    }

    fn invocation(value: &Value) -> Invocation {
        match parse(value) {
            Ok(DiscordInbound::Invocation(invocation)) => *invocation,
            other => panic!("expected an invocation, got {other:?}"),
        }
    }

    fn call(value: &Value) -> CommandCall {
        match invocation(value).action {
            Action::Command(call) => call,
            other => panic!("expected a command, got {other:?}"),
        }
    }

    #[test]
    fn a_bare_ping_is_a_ping() {
        assert_eq!(
            parse_interaction(br#"{"type":1}"#).unwrap(),
            DiscordInbound::Ping
        );
        assert_eq!(
            parse(&interaction(1, Value::Null)).unwrap(),
            DiscordInbound::Ping
        );
    }

    #[test]
    fn a_guild_command_becomes_an_invocation_with_its_context() {
        let invocation = invocation(&command("Ping", json!([])));
        assert_eq!(invocation.id, "1442545296998400001");
        assert_eq!(invocation.platform, Platform::Discord);
        assert_eq!(invocation.tenant, GUILD);
        assert_eq!(invocation.channel.as_deref(), Some(CHANNEL));
        assert_eq!(invocation.actor.id, USER);
        assert_eq!(invocation.actor.display_name.as_deref(), Some("Ann"));
        assert_eq!(invocation.actor.capabilities, Capabilities::NONE);
        assert_eq!(
            invocation.action,
            Action::Command(CommandCall {
                name: "ping".into(),
                options: vec![],
                bots: vec![],
                message: None,
            })
        );
    }

    #[test]
    fn options_keep_their_types() {
        let options = json!([
            { "name": "user", "type": 6, "value": "1174109840998400020" },
            { "name": "points", "type": 4, "value": 3 },
            { "name": "reason", "type": 3, "value": "spam in #general" },
            { "name": "silent", "type": 5, "value": true },
            { "name": "channel", "type": 7, "value": CHANNEL },
            { "name": "role", "type": 8, "value": "1174109840998400030" },
            { "name": "who", "type": 9, "value": "1174109840998400021" },
            { "name": "weight", "type": 10, "value": 1.5 },
            { "name": "evidence", "type": 11, "value": "1174109840998400040" }
        ]);
        assert_eq!(
            call(&command("warn", options)).options,
            vec![
                (
                    "user".into(),
                    OptionValue::User("1174109840998400020".into())
                ),
                ("points".into(), OptionValue::Integer(3)),
                (
                    "reason".into(),
                    OptionValue::String("spam in #general".into())
                ),
                ("silent".into(), OptionValue::Boolean(true)),
                ("channel".into(), OptionValue::Channel(CHANNEL.into())),
                (
                    "role".into(),
                    OptionValue::Role("1174109840998400030".into())
                ),
                (
                    "who".into(),
                    OptionValue::User("1174109840998400021".into())
                ),
                ("weight".into(), OptionValue::Number(1.5)),
                // The attachment carries nothing a handler uses and is dropped.
            ]
        );
    }

    #[test]
    fn subcommands_flatten_into_one_option_list() {
        let options = json!([{
            "name": "show",
            "type": 1,
            "options": [{ "name": "case", "type": 4, "value": 7 }]
        }]);
        let call = call(&command("infractions", options));
        assert_eq!(call.name, "infractions");
        assert_eq!(
            call.options,
            vec![
                ("subcommand".into(), OptionValue::String("show".into())),
                ("case".into(), OptionValue::Integer(7)),
            ]
        );
    }

    #[test]
    fn subcommand_groups_flatten_outermost_first() {
        let options = json!([{
            "name": "automod",
            "type": 2,
            "options": [{
                "name": "set",
                "type": 1,
                "options": [{ "name": "level", "type": 4, "value": 2 }]
            }]
        }]);
        assert_eq!(
            call(&command("config", options)).options,
            vec![
                ("subcommand".into(), OptionValue::String("automod".into())),
                ("subcommand".into(), OptionValue::String("set".into())),
                ("level".into(), OptionValue::Integer(2)),
            ]
        );
    }

    #[test]
    fn a_user_context_menu_target_becomes_the_user_option() {
        let value = interaction(
            2,
            json!({
                "id": "1174109840998400101",
                "name": "Warn User",
                "type": 2,
                "target_id": "1174109840998400020",
                "resolved": { "users": {
                    "1174109840998400020": {
                        "id": "1174109840998400020", "username": "bob",
                        "discriminator": "0", "avatar": null
                    }
                } }
            }),
        );
        let call = call(&value);
        assert_eq!(call.name, "warn user");
        assert_eq!(
            call.option("user"),
            Some(&OptionValue::User("1174109840998400020".into()))
        );
    }

    #[test]
    fn resolved_users_marked_as_bots_are_named_in_the_call() {
        let value = interaction(
            2,
            json!({
                "id": "1174109840998400101",
                "name": "pay",
                "type": 1,
                "options": [
                    { "name": "user", "type": 6, "value": "1174109840998400030" },
                    { "name": "amount", "type": 4, "value": 5 }
                ],
                "resolved": { "users": {
                    "1174109840998400030": {
                        "id": "1174109840998400030", "username": "robot",
                        "discriminator": "0", "avatar": null, "bot": true
                    },
                    "1174109840998400031": {
                        "id": "1174109840998400031", "username": "person",
                        "discriminator": "0", "avatar": null
                    }
                } }
            }),
        );
        assert_eq!(call(&value).bots, vec!["1174109840998400030".to_owned()]);
    }

    #[test]
    fn a_button_click_is_a_component_action() {
        let value = interaction(
            3,
            json!({ "custom_id": "gavel:confirm:42", "component_type": 2 }),
        );
        assert_eq!(
            invocation(&value).action,
            Action::Component {
                custom_id: "gavel:confirm:42".into()
            }
        );
    }

    #[test]
    fn modal_submissions_collect_text_inputs_from_rows_and_labels() {
        let value = interaction(
            5,
            json!({
                "custom_id": "gavel:note",
                "components": [
                    { "type": 1, "id": 1, "components": [
                        { "type": 4, "id": 2, "custom_id": "reason", "value": "spam" }
                    ] },
                    { "type": 18, "id": 3, "component":
                        { "type": 4, "id": 4, "custom_id": "details", "value": "three links" }
                    },
                    { "type": 10, "id": 5, "content": "display only" }
                ]
            }),
        );
        assert_eq!(
            invocation(&value).action,
            Action::ModalSubmit {
                custom_id: "gavel:note".into(),
                fields: vec![
                    ("reason".into(), "spam".into()),
                    ("details".into(), "three links".into()),
                ],
            }
        );
    }

    #[test]
    fn autocomplete_is_recognised() {
        let value = interaction(
            4,
            json!({
                "id": "1174109840998400100",
                "name": "help",
                "type": 1,
                "options": [{ "name": "command", "type": 3, "value": "pi", "focused": true }]
            }),
        );
        assert_eq!(parse(&value).unwrap(), DiscordInbound::Autocomplete);
    }

    #[test]
    fn outside_a_guild_the_tenant_is_the_users_dm_and_there_are_no_capabilities() {
        let mut value = command("ping", json!([]));
        let user = value["member"]["user"].clone();
        let object = value.as_object_mut().unwrap();
        object.remove("member");
        object.remove("guild_id");
        object.insert("user".into(), user);
        object.insert("context".into(), json!(1));
        object.insert(
            "authorizing_integration_owners".into(),
            json!({ "1": USER }),
        );
        let invocation = invocation(&value);
        assert_eq!(invocation.tenant, format!("dm:{USER}"));
        assert_eq!(invocation.actor.id, USER);
        assert_eq!(invocation.actor.capabilities, Capabilities::NONE);
    }

    #[test]
    fn the_display_name_prefers_nick_then_global_name_then_username() {
        let mut value = command("ping", json!([]));
        value["member"]["nick"] = json!("Annie");
        assert_eq!(
            invocation(&value).actor.display_name.as_deref(),
            Some("Annie")
        );
        value["member"]["nick"] = Value::Null;
        value["member"]["user"]["global_name"] = Value::Null;
        assert_eq!(
            invocation(&value).actor.display_name.as_deref(),
            Some("ann")
        );
    }

    #[test]
    fn member_permissions_become_capabilities() {
        let mut value = command("ping", json!([]));
        // Kick (1 << 1) and Moderate Members (1 << 40), on top of a member's bits.
        value["member"]["permissions"] = json!(((1u64 << 40) | (1 << 1) | 3072).to_string());
        let caps = invocation(&value).actor.capabilities;
        assert!(caps.contains(Capability::KickMembers));
        assert!(caps.contains(Capability::ModerateMembers));
        assert!(!caps.contains(Capability::BanMembers));
        assert!(!caps.contains(Capability::ManageGuild));

        value["member"]["permissions"] = json!("8");
        assert_eq!(invocation(&value).actor.capabilities, Capabilities::all());
    }

    #[test]
    fn each_permission_maps_to_its_own_capability() {
        let cases = [
            (Permissions::MODERATE_MEMBERS, Capability::ModerateMembers),
            (Permissions::KICK_MEMBERS, Capability::KickMembers),
            (Permissions::BAN_MEMBERS, Capability::BanMembers),
            (Permissions::MANAGE_GUILD, Capability::ManageGuild),
        ];
        for (permission, capability) in cases {
            let caps = capabilities_of(permission | Permissions::SEND_MESSAGES);
            for other in Capability::ALL {
                assert_eq!(
                    caps.contains(other),
                    other == capability,
                    "{permission:?} → {other:?}"
                );
            }
        }
        assert_eq!(capabilities_of(Permissions::empty()), Capabilities::NONE);
        assert_eq!(
            capabilities_of(Permissions::SEND_MESSAGES | Permissions::MANAGE_MESSAGES),
            Capabilities::NONE
        );
        // Administrator implies every capability, whatever else is set.
        assert_eq!(
            capabilities_of(Permissions::ADMINISTRATOR),
            Capabilities::all()
        );
    }

    #[test]
    fn malformed_bodies_are_errors() {
        for body in [
            &b""[..],
            b"not json",
            b"{",
            b"[]",
            b"{\"type\":\"1\"}",
            b"{\"type\":300}",
            // Bad UTF-8 in a field Gavel ignores: still not JSON.
            b"{\"type\":1,\"x\":\"\xff\"}",
        ] {
            let err = parse_interaction(body).unwrap_err();
            assert!(
                matches!(
                    err,
                    ParseError::NotAnInteraction(_) | ParseError::NotUtf8(_)
                ),
                "{body:?}: {err:?}"
            );
            assert!(
                err.to_string().starts_with("not an interaction"),
                "{body:?}: {err}"
            );
        }
        // Well-formed head, but without the fields every interaction has.
        for body in [&br#"{"type":2,"id":"1"}"#[..], br#"{"type":9}"#] {
            let err = parse_interaction(body).unwrap_err();
            assert!(matches!(err, ParseError::Malformed(_)), "{err:?}");
            assert!(
                err.to_string().starts_with("malformed interaction"),
                "{err}"
            );
        }
    }

    #[test]
    fn an_interaction_without_a_user_is_an_error() {
        let mut value = command("ping", json!([]));
        value.as_object_mut().unwrap().remove("member");
        let err = parse(&value).unwrap_err();
        assert!(matches!(err, ParseError::NoUser), "{err:?}");
        assert_eq!(err.to_string(), "interaction has no user");
    }

    #[test]
    fn fields_gavel_does_not_read_may_be_missing() {
        // What twilight-model required and Discord leaves out, or may leave out tomorrow.
        let mut value = command("ping", json!([]));
        for (object, key) in [
            (None, "attachment_size_limit"),
            (None, "authorizing_integration_owners"),
            (None, "entitlements"),
            (None, "locale"),
            (None, "guild_locale"),
            (None, "context"),
            (None, "version"),
            (None, "channel_id"),
            (Some("member"), "joined_at"),
            (Some("member"), "deaf"),
            (Some("member"), "mute"),
            (Some("member"), "roles"),
            (Some("member"), "flags"),
        ] {
            let target = match object {
                Some(object) => &mut value[object],
                None => &mut value,
            };
            target.as_object_mut().unwrap().remove(key);
            let invocation = invocation(&value);
            assert_eq!(invocation.actor.id, USER, "without {key}");
            assert_eq!(
                invocation.channel.as_deref(),
                Some(CHANNEL),
                "without {key}"
            );
        }
        for key in ["discriminator", "avatar", "global_name", "username"] {
            value["member"]["user"].as_object_mut().unwrap().remove(key);
        }
        let invocation = invocation(&value);
        assert_eq!(invocation.actor.display_name, None);
        assert_eq!(call(&value).name, "ping");
    }

    #[test]
    fn unknown_fields_and_enum_values_are_ignored() {
        let mut value = command("ping", json!([{ "name": "x", "type": 99, "value": [1] }]));
        value["context"] = json!(9);
        value["channel"]["type"] = json!(99);
        value["locale"] = json!("xx-XX");
        value["a_field_discord_adds"] = json!({ "nested": [1, 2] });
        value["member"]["user"]["flags_v2"] = json!(123);
        value["data"]["type"] = json!(42);
        let call = call(&value);
        assert_eq!(call.name, "ping");
        // The option of an unknown type is left out, not the command refused.
        assert_eq!(call.options, vec![]);
    }

    #[test]
    fn options_whose_value_does_not_fit_their_type_are_left_out() {
        let options = json!([
            { "name": "points", "type": 4, "value": "three" },
            { "name": "user", "type": 6, "value": "1174109840998400020" },
            { "name": "broken" },
        ]);
        assert_eq!(
            call(&command("warn", options)).options,
            vec![(
                "user".into(),
                OptionValue::User("1174109840998400020".into())
            )]
        );
    }

    #[test]
    fn an_unknown_interaction_type_is_unsupported_not_an_error() {
        let value = interaction(6, json!({ "something": "new" }));
        assert_eq!(
            parse(&value).unwrap(),
            DiscordInbound::Unsupported { kind: 6 }
        );
    }

    #[test]
    fn a_message_context_menu_names_the_message_and_its_author() {
        let value = interaction(
            2,
            json!({
                "id": "1174109840998400102",
                "name": "Report message",
                "type": 3,
                "target_id": "1174109840998400050",
                "resolved": { "messages": {
                    "1174109840998400050": {
                        "id": "1174109840998400050",
                        "channel_id": CHANNEL,
                        "content": "buy cheap followers at example.com",
                        "author": {
                            "id": "1174109840998400020", "username": "spammer",
                            "discriminator": "0", "avatar": null, "bot": true
                        },
                        "type": 0, "embeds": [], "attachments": [], "flags": 0
                    }
                } }
            }),
        );
        let call = call(&value);
        assert_eq!(call.name, "report message");
        assert_eq!(
            call.message,
            Some(TargetMessage {
                id: "1174109840998400050".into(),
                channel: CHANNEL.into(),
                author: "1174109840998400020".into(),
                author_is_bot: true,
                content: "buy cheap followers at example.com".into(),
            })
        );
        // Moderation flows see the author as the target, as with a user context menu.
        assert_eq!(
            call.option("user"),
            Some(&OptionValue::User("1174109840998400020".into()))
        );
        assert_eq!(call.bots, vec!["1174109840998400020".to_owned()]);

        // Without `data.type`, the resolved message still says what the target is.
        let mut untyped = value.clone();
        untyped["data"].as_object_mut().unwrap().remove("type");
        assert_eq!(self::call(&untyped).message, call.message);
        // Without the resolved message there is no message, and the target id is not taken
        // for a user.
        let mut bare = value;
        bare["data"].as_object_mut().unwrap().remove("resolved");
        let bare = self::call(&bare);
        assert_eq!(bare.message, None);
        assert_eq!(bare.option("user"), None);
    }

    #[test]
    fn other_commands_name_no_message() {
        assert_eq!(call(&command("ping", json!([]))).message, None);
    }

    #[test]
    fn modal_submissions_skip_unknown_components_and_read_selects() {
        let value = interaction(
            5,
            json!({
                "custom_id": "gavel:note",
                "components": [
                    { "type": 99, "id": 1, "value": { "a": "shape Gavel does not know" } },
                    { "type": 18, "id": 2, "component":
                        { "type": 3, "id": 3, "custom_id": "kind", "values": ["spam", "scam"] }
                    },
                    { "type": 18, "id": 4, "component": { "type": 77, "custom_id": "future" } },
                    { "type": 1, "id": 5, "components": [
                        { "type": 98, "custom_id": "also_future", "value": 7 },
                        { "type": 4, "id": 6, "custom_id": "reason", "value": "spam" }
                    ] },
                    "not even an object"
                ]
            }),
        );
        assert_eq!(
            invocation(&value).action,
            Action::ModalSubmit {
                custom_id: "gavel:note".into(),
                fields: vec![
                    ("kind".into(), "spam,scam".into()),
                    ("reason".into(), "spam".into()),
                ],
            }
        );
    }

    #[test]
    fn snowflakes_must_be_ids() {
        for id in [json!("12a4"), json!(""), json!(-5), json!(true)] {
            let mut value = command("ping", json!([]));
            value["guild_id"] = id.clone();
            let err = parse(&value).unwrap_err();
            assert!(matches!(err, ParseError::Malformed(_)), "{id}: {err:?}");
        }
        // Numbers are ids too.
        let mut value = command("ping", json!([]));
        value["guild_id"] = json!(1174109840998400001u64);
        assert_eq!(invocation(&value).tenant, GUILD);
    }

    #[test]
    fn a_click_or_command_without_its_data_is_an_error() {
        let mut value = interaction(3, json!({ "component_type": 2 }));
        assert!(matches!(parse(&value), Err(ParseError::NoData)));
        value.as_object_mut().unwrap().remove("data");
        assert!(matches!(parse(&value), Err(ParseError::NoData)));
        let nameless = interaction(2, json!({ "type": 1 }));
        assert!(matches!(parse(&nameless), Err(ParseError::NoData)));
    }
}
