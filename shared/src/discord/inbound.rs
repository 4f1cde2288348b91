//! A verified Discord interaction body, read into [`DiscordInbound`]: a ping, an autocomplete
//! request, or an [`Invocation`] with its actor, tenant and capabilities.

use serde::Deserialize;
use twilight_model::application::interaction::application_command::{
    CommandDataOption, CommandOptionValue,
};
use twilight_model::application::interaction::{Interaction, InteractionData, InteractionType};
use twilight_model::guild::Permissions;

use crate::invocation::{
    Action, Actor, AppContext, Capabilities, Capability, CommandCall, Invocation, OptionValue,
    Platform,
};

/// What a verified Discord request turned out to be.
#[derive(Debug, PartialEq)]
pub enum DiscordInbound {
    /// Type 1: Discord checking that the endpoint is alive.
    Ping,
    /// Type 4: the user is typing an option; no command offers suggestions yet.
    Autocomplete,
    Invocation(Box<Invocation>),
}

/// Just the `type` field, so a PING is answered without building the full model (a bare
/// `{"type":1}` lacks fields twilight-model requires, and the ping path stays cheap).
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
    /// A `type`, but not a body twilight-model accepts as an interaction.
    #[error("malformed interaction: {0}")]
    Malformed(#[source] serde_json::Error),
    #[error("unsupported interaction type {0:?}")]
    UnsupportedType(InteractionType),
    #[error("interaction has no user")]
    NoUser,
    #[error("interaction has no data")]
    NoData,
}

/// Parses a verified interaction body. Errors are for a 400 answer and the log.
pub fn parse_interaction(body: &[u8]) -> Result<DiscordInbound, ParseError> {
    let head: Head = serde_json::from_slice(body).map_err(ParseError::NotAnInteraction)?;
    if head.kind == 1 {
        return Ok(DiscordInbound::Ping);
    }
    let interaction: Interaction = serde_json::from_slice(body).map_err(ParseError::Malformed)?;
    match interaction.kind {
        InteractionType::Ping => Ok(DiscordInbound::Ping),
        InteractionType::ApplicationCommandAutocomplete => Ok(DiscordInbound::Autocomplete),
        InteractionType::ApplicationCommand
        | InteractionType::MessageComponent
        | InteractionType::ModalSubmit => {
            to_invocation(interaction).map(|i| DiscordInbound::Invocation(Box::new(i)))
        }
        other => Err(ParseError::UnsupportedType(other)),
    }
}

fn to_invocation(interaction: Interaction) -> Result<Invocation, ParseError> {
    let user = interaction
        .member
        .as_ref()
        .and_then(|m| m.user.as_ref())
        .or(interaction.user.as_ref())
        .ok_or(ParseError::NoUser)?;
    let actor = Actor {
        id: user.id.to_string(),
        display_name: interaction
            .member
            .as_ref()
            .and_then(|m| m.nick.clone())
            .or_else(|| user.global_name.clone())
            .or_else(|| Some(user.name.clone())),
        // Outside a guild there is no one to moderate, so no capabilities.
        capabilities: interaction
            .member
            .as_ref()
            .and_then(|m| m.permissions)
            .map(capabilities_of)
            .unwrap_or_default(),
    };
    // Only in a guild does the app have permissions worth checking.
    let app = match (interaction.guild_id, interaction.app_permissions) {
        (Some(_), Some(perms)) => Some(AppContext {
            user_id: interaction.application_id.to_string(),
            capabilities: capabilities_of(perms),
        }),
        _ => None,
    };
    let tenant = match interaction.guild_id {
        Some(guild) => guild.to_string(),
        None => format!("dm:{}", actor.id),
    };
    let action = match interaction.data {
        Some(InteractionData::ApplicationCommand(data)) => {
            let mut options = Vec::new();
            flatten_options(data.options, &mut options);
            // A user context-menu command targets a user without an option; give it the
            // same shape as the slash command's `user` option.
            if let Some(target) = data.target_id {
                options.push(("user".to_owned(), OptionValue::User(target.to_string())));
            }
            // Discord marks bot accounts among the users an interaction names.
            let mut bots: Vec<String> = data
                .resolved
                .iter()
                .flat_map(|resolved| resolved.users.values())
                .filter(|user| user.bot)
                .map(|user| user.id.to_string())
                .collect();
            bots.sort();
            Action::Command(CommandCall {
                name: data.name.to_ascii_lowercase(),
                options,
                bots,
                message: None,
            })
        }
        Some(InteractionData::MessageComponent(data)) => Action::Component {
            custom_id: data.custom_id,
        },
        Some(InteractionData::ModalSubmit(data)) => {
            let mut fields = Vec::new();
            collect_modal_fields(&data.components, &mut fields);
            Action::ModalSubmit {
                custom_id: data.custom_id,
                fields,
            }
        }
        // Not #[non_exhaustive] today, but Discord adds interaction kinds; keep this total.
        #[allow(unreachable_patterns)]
        Some(_) | None => return Err(ParseError::NoData),
    };
    Ok(Invocation {
        id: interaction.id.to_string(),
        platform: Platform::Discord,
        tenant,
        channel: interaction.channel.map(|c| c.id.to_string()),
        actor,
        action,
        response_url: None,
        trigger_id: None,
        interaction_token: Some(interaction.token),
        app,
    })
}

/// Subcommands become a `subcommand` option followed by their own options, so handlers see one
/// flat list on both platforms.
fn flatten_options(options: Vec<CommandDataOption>, out: &mut Vec<(String, OptionValue)>) {
    for option in options {
        let value = match option.value {
            CommandOptionValue::SubCommand(inner) | CommandOptionValue::SubCommandGroup(inner) => {
                out.push(("subcommand".to_owned(), OptionValue::String(option.name)));
                flatten_options(inner, out);
                continue;
            }
            CommandOptionValue::String(s) => OptionValue::String(s),
            CommandOptionValue::Integer(i) => OptionValue::Integer(i),
            CommandOptionValue::Number(n) => OptionValue::Number(n),
            CommandOptionValue::Boolean(b) => OptionValue::Boolean(b),
            CommandOptionValue::User(id) => OptionValue::User(id.to_string()),
            CommandOptionValue::Mentionable(id) => OptionValue::User(id.to_string()),
            CommandOptionValue::Channel(id) => OptionValue::Channel(id.to_string()),
            CommandOptionValue::Role(id) => OptionValue::Role(id.to_string()),
            // Attachments and half-typed autocomplete values carry nothing a handler uses.
            CommandOptionValue::Attachment(_) | CommandOptionValue::Focused(..) => continue,
        };
        out.push((option.name, value));
    }
}

fn collect_modal_fields(
    components: &[twilight_model::application::interaction::modal::ModalInteractionComponent],
    out: &mut Vec<(String, String)>,
) {
    use twilight_model::application::interaction::modal::ModalInteractionComponent as C;
    for component in components {
        match component {
            C::ActionRow(row) => collect_modal_fields(&row.components, out),
            C::Label(label) => {
                collect_modal_fields(std::slice::from_ref(label.component.as_ref()), out)
            }
            C::TextInput(input) => out.push((input.custom_id.clone(), input.value.clone())),
            _ => {}
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
        ] {
            let err = parse_interaction(body).unwrap_err();
            assert!(
                matches!(err, ParseError::NotAnInteraction(_)),
                "{body:?}: {err:?}"
            );
            assert!(
                err.to_string().starts_with("not an interaction"),
                "{body:?}: {err}"
            );
        }
        // Well-formed head, but not an interaction twilight-model accepts.
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
}
