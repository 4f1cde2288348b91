use serde::Deserialize;
use twilight_model::application::interaction::application_command::{
    CommandDataOption, CommandOptionValue,
};
use twilight_model::application::interaction::{Interaction, InteractionData, InteractionType};
use twilight_model::guild::Permissions;

use crate::invocation::{
    Action, Actor, Capabilities, Capability, CommandCall, Invocation, OptionValue, Platform,
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

/// Parses a verified interaction body. Errors are for a 400 answer and the log.
pub fn parse_interaction(body: &[u8]) -> Result<DiscordInbound, String> {
    let head: Head =
        serde_json::from_slice(body).map_err(|e| format!("not an interaction: {e}"))?;
    if head.kind == 1 {
        return Ok(DiscordInbound::Ping);
    }
    let interaction: Interaction =
        serde_json::from_slice(body).map_err(|e| format!("malformed interaction: {e}"))?;
    match interaction.kind {
        InteractionType::Ping => Ok(DiscordInbound::Ping),
        InteractionType::ApplicationCommandAutocomplete => Ok(DiscordInbound::Autocomplete),
        InteractionType::ApplicationCommand
        | InteractionType::MessageComponent
        | InteractionType::ModalSubmit => {
            to_invocation(interaction).map(|i| DiscordInbound::Invocation(Box::new(i)))
        }
        other => Err(format!("unsupported interaction type {other:?}")),
    }
}

fn to_invocation(interaction: Interaction) -> Result<Invocation, String> {
    let user = interaction
        .member
        .as_ref()
        .and_then(|m| m.user.as_ref())
        .or(interaction.user.as_ref())
        .ok_or("interaction has no user")?;
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
            Action::Command(CommandCall {
                name: data.name.to_ascii_lowercase(),
                options,
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
        Some(_) | None => return Err("interaction has no data".to_owned()),
    };
    Ok(Invocation {
        id: interaction.id.to_string(),
        platform: Platform::Discord,
        tenant,
        channel: interaction.channel.map(|c| c.id.to_string()),
        actor,
        action,
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
