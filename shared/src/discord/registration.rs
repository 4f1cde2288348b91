//! The application commands Discord must know about, built from the same [`CommandSpec`]s that
//! dispatch them: slash commands with typed options, user context-menu commands, and
//! `default_member_permissions` so moderator commands are hidden from members until a server
//! admin decides otherwise (Discord's own Integrations settings).
//!
//! The body is written as JSON rather than with twilight-model's `Command`: that type models
//! the command Discord *returns* (with `id`, `version`, `application_id`), not the
//! create-or-overwrite parameters, and would send fields Discord does not take.

use serde_json::{Value, json};

use crate::commands::{CommandRegistry, CommandSpec, OptionKind};
use crate::invocation::Capability;

/// Discord's permission bit for each capability.
pub fn permission_bit(capability: Capability) -> u64 {
    match capability {
        Capability::KickMembers => 1 << 1,
        Capability::BanMembers => 1 << 2,
        Capability::ManageGuild => 1 << 5,
        Capability::ModerateMembers => 1 << 40,
    }
}

/// The body of `PUT /applications/{app}/commands` (or the guild route): every command, and a
/// user command for each context menu.
pub fn application_commands(registry: &CommandRegistry) -> Value {
    let mut commands = Vec::new();
    for spec in registry.specs() {
        commands.push(slash_command(spec));
        if let Some(menu) = spec.context_menu {
            commands.push(json!({
                "type": 2,
                "name": menu,
                "default_member_permissions": permissions(spec),
                // Guilds only: there is nobody to moderate in a DM.
                "contexts": [0],
                "integration_types": [0],
            }));
        }
    }
    Value::Array(commands)
}

fn permissions(spec: &CommandSpec) -> Value {
    match spec.requires {
        Some(cap) => Value::String(permission_bit(cap).to_string()),
        None => Value::Null,
    }
}

fn slash_command(spec: &CommandSpec) -> Value {
    let options: Vec<Value> = spec
        .options
        .iter()
        .map(|option| {
            let mut value = json!({
                "name": option.name,
                "description": truncate(option.description, 100),
                "required": option.required,
            });
            let kind = match option.kind {
                OptionKind::String => 3,
                OptionKind::Integer => {
                    value["min_value"] = json!(1);
                    4
                }
                OptionKind::User => 6,
                OptionKind::Channel => {
                    // Text and announcement channels: where messages can be posted.
                    value["channel_types"] = json!([0, 5]);
                    7
                }
                OptionKind::Duration => {
                    value["max_length"] = json!(20);
                    3
                }
                OptionKind::Choice(choices) => {
                    value["choices"] = Value::Array(
                        choices
                            .iter()
                            .map(|c| json!({ "name": c, "value": c }))
                            .collect(),
                    );
                    3
                }
            };
            value["type"] = json!(kind);
            value
        })
        .collect();
    json!({
        "type": 1,
        "name": spec.name,
        "description": truncate(spec.description, 100),
        "options": options,
        "default_member_permissions": permissions(spec),
        "contexts": [0],
        "integration_types": [0],
    })
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_name<'a>(commands: &'a Value, name: &str, kind: u64) -> &'a Value {
        commands
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name && c["type"] == kind)
            .unwrap_or_else(|| panic!("{name} (type {kind}) is registered"))
    }

    #[test]
    fn moderator_commands_carry_their_default_permissions() {
        let commands = application_commands(&CommandRegistry::standard());
        assert_eq!(
            by_name(&commands, "ban", 1)["default_member_permissions"],
            "4"
        );
        assert_eq!(
            by_name(&commands, "kick", 1)["default_member_permissions"],
            "2"
        );
        assert_eq!(
            by_name(&commands, "warn", 1)["default_member_permissions"],
            (1u64 << 40).to_string()
        );
        assert_eq!(
            by_name(&commands, "ping", 1)["default_member_permissions"],
            Value::Null
        );
        assert_eq!(
            by_name(&commands, "report", 1)["default_member_permissions"],
            Value::Null
        );
    }

    #[test]
    fn context_menus_are_user_commands_with_the_same_permissions() {
        let commands = application_commands(&CommandRegistry::standard());
        let warn = by_name(&commands, "Warn member", 2);
        assert_eq!(warn["default_member_permissions"], (1u64 << 40).to_string());
        assert!(warn.get("options").is_none() && warn.get("description").is_none());
        assert_eq!(
            by_name(&commands, "Ban member", 2)["default_member_permissions"],
            "4"
        );
    }

    #[test]
    fn options_have_discord_types_and_valid_shapes() {
        let commands = application_commands(&CommandRegistry::standard());
        let mute = by_name(&commands, "mute", 1);
        let types: Vec<_> = mute["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (o["name"].as_str().unwrap(), o["type"].as_u64().unwrap()))
            .collect();
        assert_eq!(types, [("user", 6), ("duration", 3), ("reason", 3)]);
        for command in commands.as_array().unwrap() {
            let name = command["name"].as_str().unwrap();
            assert!(name.chars().count() <= 32, "{name}");
            if command["type"] == 1 {
                assert!(
                    name.chars()
                        .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_'),
                    "{name}"
                );
                let description = command["description"].as_str().unwrap();
                assert!((1..=100).contains(&description.chars().count()), "{name}");
                // Discord refuses a required option after an optional one.
                let required: Vec<bool> = command["options"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o["required"].as_bool().unwrap())
                    .collect();
                assert!(
                    required.windows(2).all(|w| w[0] || !w[1]),
                    "{name}: {required:?}"
                );
            }
        }
    }
}
