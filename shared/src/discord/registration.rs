//! The application commands Discord must know about, built from the same [`CommandSpec`]s that
//! dispatch them: slash commands with typed options, user context-menu commands, and
//! `default_member_permissions` so moderator commands are hidden from members until a server
//! admin decides otherwise (Discord's own Integrations settings).
//!
//! The body is written as JSON rather than with twilight-model's `Command`: that type models
//! the command Discord *returns* (with `id`, `version`, `application_id`), not the
//! create-or-overwrite parameters, and would send fields Discord does not take.
//!
//! Discord refuses the whole batch when one command breaks its limits (name lengths and
//! characters, description lengths, option and choice counts), so a spec that breaks one is
//! refused here, by name, before anything is sent; nothing is shortened to fit.

use serde_json::{Value, json};

use crate::commands::{CommandRegistry, CommandSpec, OptionKind};
use crate::invocation::Capability;

/// The longest name of a command, option or context-menu command.
pub const MAX_NAME_CHARS: usize = 32;
/// The longest description of a command or option.
pub const MAX_DESCRIPTION_CHARS: usize = 100;
/// The longest name (and value) of a choice.
pub const MAX_CHOICE_CHARS: usize = 100;
/// The most options a command takes.
pub const MAX_OPTIONS: usize = 25;
/// The most choices an option offers.
pub const MAX_CHOICES: usize = 25;

/// A command Discord would refuse, and which of its limits it breaks. `command` is the
/// slash command's name as declared; `name` the name (or choice) at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    #[error(
        "/{command}: the name `{name}` is empty; Discord takes 1 to {MAX_NAME_CHARS} characters"
    )]
    NameEmpty {
        command: &'static str,
        name: &'static str,
    },
    #[error("/{command}: the name `{name}` is {len} characters long; Discord allows at most {max}")]
    NameTooLong {
        command: &'static str,
        name: &'static str,
        len: usize,
        max: usize,
    },
    #[error(
        "/{command}: the name `{name}` may hold only lowercase letters, digits, `-`, `_` and `'`"
    )]
    NameNotAllowed {
        command: &'static str,
        name: &'static str,
    },
    #[error("/{command}: the description of `{name}` is empty; Discord requires one")]
    DescriptionEmpty {
        command: &'static str,
        name: &'static str,
    },
    #[error(
        "/{command}: the description of `{name}` is {len} characters long; Discord allows at most {max}"
    )]
    DescriptionTooLong {
        command: &'static str,
        name: &'static str,
        len: usize,
        max: usize,
    },
    #[error("/{command} has {count} options; Discord allows at most {max}")]
    TooManyOptions {
        command: &'static str,
        count: usize,
        max: usize,
    },
    #[error("/{command}: `{option}` has {count} choices; Discord allows at most {max}")]
    TooManyChoices {
        command: &'static str,
        option: &'static str,
        count: usize,
        max: usize,
    },
    #[error(
        "/{command}: the choice `{choice}` of `{option}` is {len} characters long; Discord allows 1 to {max}"
    )]
    ChoiceLength {
        command: &'static str,
        option: &'static str,
        choice: &'static str,
        len: usize,
        max: usize,
    },
    #[error("/{command}: the required option `{option}` follows an optional one")]
    RequiredAfterOptional {
        command: &'static str,
        option: &'static str,
    },
}

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
/// user command for each context menu. The first command that breaks Discord's limits is
/// the error.
pub fn application_commands(registry: &CommandRegistry) -> Result<Value, RegistrationError> {
    let mut commands = Vec::new();
    for spec in registry.specs() {
        check(spec)?;
        commands.push(slash_command(spec, registry.in_dms(spec.name)));
        // Type 2 runs on a member, type 3 on a message.
        for (kind, menu) in [(2, spec.context_menu), (3, spec.message_menu)] {
            let Some(menu) = menu else { continue };
            commands.push(json!({
                "type": kind,
                "name": menu,
                "default_member_permissions": permissions(spec),
                // Guilds only: there is nobody to moderate in a DM.
                "contexts": [0],
                "integration_types": [0],
            }));
        }
    }
    Ok(Value::Array(commands))
}

/// Every limit Discord sets on `spec` and its context menu.
fn check(spec: &CommandSpec) -> Result<(), RegistrationError> {
    let command = spec.name;
    check_slash_name(command, command)?;
    check_description(command, command, spec.description)?;
    if spec.options.len() > MAX_OPTIONS {
        return Err(RegistrationError::TooManyOptions {
            command,
            count: spec.options.len(),
            max: MAX_OPTIONS,
        });
    }
    let mut optional_seen = false;
    for option in spec.options {
        check_slash_name(command, option.name)?;
        check_description(command, option.name, option.description)?;
        if option.required && optional_seen {
            return Err(RegistrationError::RequiredAfterOptional {
                command,
                option: option.name,
            });
        }
        optional_seen |= !option.required;
        if let OptionKind::Choice(choices) = option.kind {
            check_choices(command, option.name, choices)?;
        }
    }
    // A user command's name may have capitals and spaces ("Warn member"); only its length
    // is limited.
    for menu in [spec.context_menu, spec.message_menu].into_iter().flatten() {
        check_name_length(command, menu)?;
    }
    Ok(())
}

fn check_name_length(command: &'static str, name: &'static str) -> Result<(), RegistrationError> {
    match name.chars().count() {
        0 => Err(RegistrationError::NameEmpty { command, name }),
        len if len > MAX_NAME_CHARS => Err(RegistrationError::NameTooLong {
            command,
            name,
            len,
            max: MAX_NAME_CHARS,
        }),
        _ => Ok(()),
    }
}

/// Slash command and option names: Discord's `^[-_'\p{L}\p{N}]{1,32}$`, in lowercase where
/// a letter has a lowercase form.
fn check_slash_name(command: &'static str, name: &'static str) -> Result<(), RegistrationError> {
    check_name_length(command, name)?;
    let allowed = |c: char| (c.is_alphanumeric() && !c.is_uppercase()) || "-_'".contains(c);
    if name.chars().all(allowed) {
        Ok(())
    } else {
        Err(RegistrationError::NameNotAllowed { command, name })
    }
}

fn check_description(
    command: &'static str,
    name: &'static str,
    description: &'static str,
) -> Result<(), RegistrationError> {
    match description.chars().count() {
        0 => Err(RegistrationError::DescriptionEmpty { command, name }),
        len if len > MAX_DESCRIPTION_CHARS => Err(RegistrationError::DescriptionTooLong {
            command,
            name,
            len,
            max: MAX_DESCRIPTION_CHARS,
        }),
        _ => Ok(()),
    }
}

fn check_choices(
    command: &'static str,
    option: &'static str,
    choices: &'static [&'static str],
) -> Result<(), RegistrationError> {
    if choices.len() > MAX_CHOICES {
        return Err(RegistrationError::TooManyChoices {
            command,
            option,
            count: choices.len(),
            max: MAX_CHOICES,
        });
    }
    // A choice is sent as both its name and its value, so one limit covers both.
    for &choice in choices {
        let len = choice.chars().count();
        if len == 0 || len > MAX_CHOICE_CHARS {
            return Err(RegistrationError::ChoiceLength {
                command,
                option,
                choice,
                len,
                max: MAX_CHOICE_CHARS,
            });
        }
    }
    Ok(())
}

fn permissions(spec: &CommandSpec) -> Value {
    match spec.requires {
        Some(cap) => Value::String(permission_bit(cap).to_string()),
        None => Value::Null,
    }
}

/// The slash command for a spec that passed [`check`].
fn slash_command(spec: &CommandSpec, in_dms: bool) -> Value {
    let options: Vec<Value> = spec
        .options
        .iter()
        .map(|option| {
            let mut value = json!({
                "name": option.name,
                "description": option.description,
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
        "description": spec.description,
        "options": options,
        "default_member_permissions": permissions(spec),
        // Guilds (0), and the DM with the bot (1) for the commands that work there.
        "contexts": if in_dms { json!([0, 1]) } else { json!([0]) },
        "integration_types": [0],
    })
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;

    use super::*;
    use crate::commands::{Command, CommandContext, OptionSpec};
    use crate::reply::{Reply, Response};

    fn by_name<'a>(commands: &'a Value, name: &str, kind: u64) -> &'a Value {
        commands
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name && c["type"] == kind)
            .unwrap_or_else(|| panic!("{name} (type {kind}) is registered"))
    }

    #[test]
    fn only_commands_that_work_in_a_dm_are_offered_there() {
        let commands = application_commands(&CommandRegistry::standard()).unwrap();
        assert_eq!(by_name(&commands, "appeal", 1)["contexts"], json!([0, 1]));
        assert_eq!(by_name(&commands, "warn", 1)["contexts"], json!([0]));
        assert_eq!(by_name(&commands, "pay", 1)["contexts"], json!([0]));
    }

    #[test]
    fn moderator_commands_carry_their_default_permissions() {
        let commands = application_commands(&CommandRegistry::standard()).unwrap();
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
        let commands = application_commands(&CommandRegistry::standard()).unwrap();
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
        let commands = application_commands(&CommandRegistry::standard()).unwrap();
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

    #[test]
    fn every_shipped_command_is_within_discords_limits() {
        let registry = CommandRegistry::standard();
        for spec in registry.specs() {
            assert_eq!(check(spec), Ok(()), "/{}", spec.name);
        }
        let commands = application_commands(&registry).expect("the shipped commands register");
        let menus = registry
            .specs()
            .map(|s| usize::from(s.context_menu.is_some()) + usize::from(s.message_menu.is_some()))
            .sum::<usize>();
        let commands = commands.as_array().unwrap();
        assert_eq!(commands.len(), registry.specs().count() + menus);
        // Message commands are type 3: "Report message" for members, "Check message" for
        // moderators.
        let message_commands: Vec<&str> = commands
            .iter()
            .filter(|c| c["type"] == 3)
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(message_commands, ["Report message", "Check message"]);
    }

    /// A registry serving only `spec`: what `gavel discord register` would send for it.
    fn registry_of(spec: &'static CommandSpec) -> CommandRegistry {
        struct Only(&'static CommandSpec);
        #[async_trait]
        impl Command for Only {
            fn spec(&self) -> &'static CommandSpec {
                self.0
            }
            async fn run(&self, _ctx: &CommandContext<'_>) -> Response {
                Response::Message(Reply::ephemeral("unused"))
            }
        }
        CommandRegistry::new(vec![Box::new(Only(spec))])
    }

    const OPTION: OptionSpec = OptionSpec {
        name: "user",
        description: "Who",
        kind: OptionKind::User,
        required: true,
    };

    const SPEC: CommandSpec = CommandSpec {
        name: "warn",
        description: "Warn a member",
        options: &[OPTION],
        requires: None,
        context_menu: Some("Warn member"),
        message_menu: None,
        read_only: false,
    };

    /// What `application_commands` answers for a registry of `spec` alone.
    fn refusal(spec: &'static CommandSpec) -> RegistrationError {
        application_commands(&registry_of(spec)).expect_err("the spec is refused")
    }

    #[test]
    fn a_spec_within_the_limits_registers_as_declared() {
        static LONGEST: CommandSpec = CommandSpec {
            name: "a234567890123456789012345678901z",
            description: "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd!",
            ..SPEC
        };
        let commands = application_commands(&registry_of(&LONGEST)).unwrap();
        let command = by_name(&commands, LONGEST.name, 1);
        // Nothing is shortened: the limits are reached exactly.
        assert_eq!(command["name"].as_str().unwrap().chars().count(), 32);
        assert_eq!(command["description"], LONGEST.description);
        assert_eq!(LONGEST.description.chars().count(), 100);
    }

    #[test]
    fn an_over_long_command_name_is_refused_by_name() {
        static LONG: CommandSpec = CommandSpec {
            name: "a-command-name-that-is-far-too-long",
            ..SPEC
        };
        assert_eq!(
            refusal(&LONG),
            RegistrationError::NameTooLong {
                command: LONG.name,
                name: LONG.name,
                len: 35,
                max: MAX_NAME_CHARS,
            }
        );
        assert_eq!(
            refusal(&LONG).to_string(),
            "/a-command-name-that-is-far-too-long: the name `a-command-name-that-is-far-too-long` \
             is 35 characters long; Discord allows at most 32"
        );
    }

    #[test]
    fn an_over_long_option_or_context_menu_name_is_refused_by_name() {
        static LONG_OPTION: CommandSpec = CommandSpec {
            options: &[OptionSpec {
                name: "the-member-who-is-being-warned-now",
                ..OPTION
            }],
            ..SPEC
        };
        assert_eq!(
            refusal(&LONG_OPTION),
            RegistrationError::NameTooLong {
                command: "warn",
                name: "the-member-who-is-being-warned-now",
                len: 34,
                max: MAX_NAME_CHARS,
            }
        );
        static LONG_MENU: CommandSpec = CommandSpec {
            context_menu: Some("Warn this member about what they did"),
            message_menu: None,
            read_only: false,
            ..SPEC
        };
        assert_eq!(
            refusal(&LONG_MENU),
            RegistrationError::NameTooLong {
                command: "warn",
                name: "Warn this member about what they did",
                len: 36,
                max: MAX_NAME_CHARS,
            }
        );
    }

    #[test]
    fn empty_and_capitalised_slash_names_are_refused() {
        static EMPTY: CommandSpec = CommandSpec { name: "", ..SPEC };
        assert_eq!(
            refusal(&EMPTY),
            RegistrationError::NameEmpty {
                command: "",
                name: ""
            }
        );
        static CAPITAL: CommandSpec = CommandSpec {
            name: "Warn",
            ..SPEC
        };
        assert_eq!(
            refusal(&CAPITAL),
            RegistrationError::NameNotAllowed {
                command: "Warn",
                name: "Warn"
            }
        );
        static SPACED: CommandSpec = CommandSpec {
            options: &[OptionSpec {
                name: "the user",
                ..OPTION
            }],
            ..SPEC
        };
        assert_eq!(
            refusal(&SPACED),
            RegistrationError::NameNotAllowed {
                command: "warn",
                name: "the user"
            }
        );
    }

    #[test]
    fn an_over_long_or_empty_description_is_refused_by_name() {
        static LONG: CommandSpec = CommandSpec {
            description: "Warn a member: a case is opened, points are added, and the member is told why by direct message......",
            ..SPEC
        };
        assert_eq!(
            refusal(&LONG),
            RegistrationError::DescriptionTooLong {
                command: "warn",
                name: "warn",
                len: 101,
                max: MAX_DESCRIPTION_CHARS,
            }
        );
        static LONG_OPTION: CommandSpec = CommandSpec {
            options: &[OptionSpec {
                description: LONG.description,
                ..OPTION
            }],
            ..SPEC
        };
        assert_eq!(
            refusal(&LONG_OPTION),
            RegistrationError::DescriptionTooLong {
                command: "warn",
                name: "user",
                len: 101,
                max: MAX_DESCRIPTION_CHARS,
            }
        );
        static EMPTY_OPTION: CommandSpec = CommandSpec {
            options: &[OptionSpec {
                description: "",
                ..OPTION
            }],
            ..SPEC
        };
        assert_eq!(
            refusal(&EMPTY_OPTION),
            RegistrationError::DescriptionEmpty {
                command: "warn",
                name: "user"
            }
        );
    }

    #[test]
    fn too_many_options_or_choices_and_over_long_choices_are_refused() {
        static OPTIONS: [OptionSpec; 26] = [OptionSpec {
            required: false,
            ..OPTION
        }; 26];
        static MANY: CommandSpec = CommandSpec {
            options: &OPTIONS,
            ..SPEC
        };
        assert_eq!(
            refusal(&MANY),
            RegistrationError::TooManyOptions {
                command: "warn",
                count: 26,
                max: MAX_OPTIONS,
            }
        );
        static CHOICES: [&str; 26] = ["x"; 26];
        static MANY_CHOICES: CommandSpec = CommandSpec {
            options: &[OptionSpec {
                name: "level",
                kind: OptionKind::Choice(&CHOICES),
                ..OPTION
            }],
            ..SPEC
        };
        assert_eq!(
            refusal(&MANY_CHOICES),
            RegistrationError::TooManyChoices {
                command: "warn",
                option: "level",
                count: 26,
                max: MAX_CHOICES,
            }
        );
        const LONG_CHOICE: &str = "a choice of one hundred and one characters, which Discord refuses as a name and as a value alike.....";
        static LONG_CHOICES: CommandSpec = CommandSpec {
            options: &[OptionSpec {
                name: "level",
                kind: OptionKind::Choice(&["low", LONG_CHOICE]),
                ..OPTION
            }],
            ..SPEC
        };
        assert_eq!(
            refusal(&LONG_CHOICES),
            RegistrationError::ChoiceLength {
                command: "warn",
                option: "level",
                choice: LONG_CHOICE,
                len: 101,
                max: MAX_CHOICE_CHARS,
            }
        );
    }

    #[test]
    fn a_required_option_after_an_optional_one_is_refused() {
        static ORDER: CommandSpec = CommandSpec {
            options: &[
                OptionSpec {
                    name: "reason",
                    required: false,
                    ..OPTION
                },
                OPTION,
            ],
            ..SPEC
        };
        assert_eq!(
            refusal(&ORDER),
            RegistrationError::RequiredAfterOptional {
                command: "warn",
                option: "user"
            }
        );
    }
}
