//! A slash command's text, read against the command's declared options (Slack sends one
//! string where Discord sends typed options).

use crate::commands::{CommandSpec, OptionKind};
use crate::invocation::OptionValue;
use crate::moderation::duration::DurationError;

/// Why a slash command's text does not fit the command, and how to type it: shown to the
/// invoker as one sentence ending in the usage.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{problem} Usage: `{usage}`")]
pub struct UsageError {
    pub problem: TextProblem,
    /// The command's usage line, such as `/warn <user> [points] [reason]`.
    pub usage: String,
}

/// What in the text did not fit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextProblem {
    #[error("`{option}` is missing.")]
    Missing { option: &'static str },
    #[error("`{option}`: {error}")]
    BadDuration {
        option: &'static str,
        error: DurationError,
    },
    #[error("`{option}` must be one of {}.", one_of(.choices))]
    NotAChoice {
        option: &'static str,
        choices: &'static [&'static str],
    },
    #[error("`{option}` must be a whole number, not `{token}`.")]
    NotANumber { option: &'static str, token: String },
    #[error("`{option}` must mention a user, like @someone.")]
    NotAUser { option: &'static str },
    #[error("`{option}` must mention a channel, like #general.")]
    NotAChannel { option: &'static str },
    #[error("I did not expect `{rest}`.")]
    Unexpected { rest: String },
}

fn one_of(choices: &[&str]) -> String {
    choices
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a slash command's text against the command's options, in declared order:
/// a user option takes a `<@U123>` or `<@U123|name>` mention, an integer option one number, and a
/// text option one word, or the rest of the line when it is the last option. An optional
/// option is taken only when its word fits (`/warn @ann spamming` has no points, and its reason
/// is `spamming`), so one command's words can serve different actions (`/economy config daily
/// 100`, `/economy give @ann 50 prize`).
///
/// The error, displayed, is a sentence for the invoker ending in the command's usage.
pub fn options_from_text(
    spec: &CommandSpec,
    text: &str,
) -> Result<Vec<(String, OptionValue)>, UsageError> {
    let mut rest = text.trim();
    let mut out = Vec::new();
    let usage = |problem| UsageError {
        problem,
        usage: spec.usage(),
    };
    // An optional option whose word does not fit is left out, like an optional duration; if
    // no later option takes the word either, the first such misfit is what the invoker is told.
    let mut misfit = None;
    for (index, opt) in spec.options.iter().enumerate() {
        if rest.is_empty() {
            if opt.required {
                return Err(usage(TextProblem::Missing { option: opt.name }));
            }
            continue;
        }
        let is_last = index + 1 == spec.options.len();
        let (token, remainder) = if opt.kind == OptionKind::String && is_last {
            (rest, "")
        } else {
            match rest.split_once(char::is_whitespace) {
                Some((token, remainder)) => (token, remainder.trim_start()),
                None => (rest, ""),
            }
        };
        let value = match opt.kind {
            OptionKind::Duration => {
                match crate::moderation::duration::parse(token) {
                    Ok(_) => OptionValue::String(token.to_owned()),
                    // Not a duration: this optional option was left out.
                    Err(_) if !opt.required => continue,
                    Err(error) => {
                        return Err(usage(TextProblem::BadDuration {
                            option: opt.name,
                            error,
                        }));
                    }
                }
            }
            OptionKind::Choice(choices) => {
                match choices.iter().find(|c| c.eq_ignore_ascii_case(token)) {
                    Some(choice) => OptionValue::String((*choice).to_owned()),
                    None if !opt.required => continue,
                    None => {
                        return Err(usage(TextProblem::NotAChoice {
                            option: opt.name,
                            choices,
                        }));
                    }
                }
            }
            OptionKind::String => OptionValue::String(token.to_owned()),
            OptionKind::Integer | OptionKind::User | OptionKind::Channel => {
                match typed(opt.kind, opt.name, token) {
                    Ok(value) => value,
                    Err(problem) if !opt.required => {
                        misfit.get_or_insert(problem);
                        continue;
                    }
                    Err(problem) => return Err(usage(problem)),
                }
            }
        };
        out.push((opt.name.to_owned(), value));
        rest = remainder;
    }
    if !rest.is_empty() {
        return Err(usage(misfit.unwrap_or(TextProblem::Unexpected {
            rest: rest.to_owned(),
        })));
    }
    Ok(out)
}

/// One word as a number, a user mention or a channel mention.
fn typed(kind: OptionKind, option: &'static str, token: &str) -> Result<OptionValue, TextProblem> {
    match kind {
        OptionKind::Integer => {
            token
                .parse()
                .map(OptionValue::Integer)
                .map_err(|_| TextProblem::NotANumber {
                    option,
                    token: token.to_owned(),
                })
        }
        OptionKind::User => parse_mention(token)
            .map(OptionValue::User)
            .ok_or(TextProblem::NotAUser { option }),
        _ => parse_channel(token)
            .map(OptionValue::Channel)
            .ok_or(TextProblem::NotAChannel { option }),
    }
}

/// `<#C123>` or `<#C123|name>` → `C123`.
fn parse_channel(token: &str) -> Option<String> {
    let inner = token.strip_prefix("<#")?.strip_suffix('>')?;
    let id = inner.split('|').next()?;
    let valid = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric());
    valid.then(|| id.to_owned())
}

/// `<@U123>` or `<@U123|name>` → `U123`.
fn parse_mention(token: &str) -> Option<String> {
    let inner = token.strip_prefix("<@")?.strip_suffix('>')?;
    let id = inner.split('|').next()?;
    let valid = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric());
    valid.then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::OptionSpec;

    static WARN: CommandSpec = CommandSpec {
        name: "warn",
        description: "",
        options: &[
            OptionSpec {
                name: "user",
                description: "",
                kind: OptionKind::User,
                required: true,
            },
            OptionSpec {
                name: "points",
                description: "",
                kind: OptionKind::Integer,
                required: false,
            },
            OptionSpec {
                name: "reason",
                description: "",
                kind: OptionKind::String,
                required: false,
            },
        ],
        requires: None,
        context_menu: None,
        message_menu: None,
        read_only: false,
    };

    #[test]
    fn mention_number_and_rest_of_line() {
        let opts = options_from_text(&WARN, " <@U42|ann>  3 spamming the  channel ").unwrap();
        assert_eq!(
            opts,
            vec![
                ("user".to_owned(), OptionValue::User("U42".into())),
                ("points".to_owned(), OptionValue::Integer(3)),
                (
                    "reason".to_owned(),
                    OptionValue::String("spamming the  channel".into())
                ),
            ]
        );
    }

    #[test]
    fn missing_required_and_bad_values_explain_usage() {
        let err = options_from_text(&WARN, "").unwrap_err();
        assert_eq!(err.problem, TextProblem::Missing { option: "user" });
        let err = err.to_string();
        assert!(
            err.contains("`user` is missing") && err.contains("/warn <user> [points] [reason]"),
            "{err}"
        );
        let err = options_from_text(&WARN, "bob").unwrap_err();
        assert_eq!(err.problem, TextProblem::NotAUser { option: "user" });
        assert!(err.to_string().contains("must mention a user"), "{err}");
    }

    #[test]
    fn an_optional_word_that_fits_no_option_is_refused_for_the_first_it_could_be() {
        // The reason takes the word that is no number.
        assert_eq!(
            options_from_text(&WARN, "<@U1> many times").unwrap(),
            vec![
                ("user".to_owned(), OptionValue::User("U1".into())),
                (
                    "reason".to_owned(),
                    OptionValue::String("many times".into())
                ),
            ]
        );
        static INFRACTIONS: CommandSpec = CommandSpec {
            name: "infractions",
            description: "",
            options: &[
                OptionSpec {
                    name: "user",
                    description: "",
                    kind: OptionKind::User,
                    required: false,
                },
                OptionSpec {
                    name: "page",
                    description: "",
                    kind: OptionKind::Integer,
                    required: false,
                },
            ],
            requires: None,
            context_menu: None,
            message_menu: None,
            read_only: false,
        };
        let err = options_from_text(&INFRACTIONS, "bob").unwrap_err();
        assert_eq!(err.problem, TextProblem::NotAUser { option: "user" });
        let err = options_from_text(&INFRACTIONS, "<@U1> two").unwrap_err();
        assert!(err.to_string().contains("whole number, not `two`"), "{err}");
        assert_eq!(
            options_from_text(&INFRACTIONS, "2").unwrap(),
            vec![("page".to_owned(), OptionValue::Integer(2))]
        );
    }

    static CASE: CommandSpec = CommandSpec {
        name: "case",
        description: "",
        options: &[
            OptionSpec {
                name: "number",
                description: "",
                kind: OptionKind::Integer,
                required: true,
            },
            OptionSpec {
                name: "duration",
                description: "",
                kind: OptionKind::Duration,
                required: false,
            },
            OptionSpec {
                name: "appeals",
                description: "",
                kind: OptionKind::Choice(&["allow", "refuse"]),
                required: false,
            },
            OptionSpec {
                name: "reason",
                description: "",
                kind: OptionKind::String,
                required: false,
            },
        ],
        requires: None,
        context_menu: None,
        message_menu: None,
        read_only: false,
    };

    #[test]
    fn optional_durations_and_choices_are_taken_only_when_the_word_fits() {
        let s = |v: &str| OptionValue::String(v.into());
        assert_eq!(
            options_from_text(&CASE, "12 1d12h refuse spam again").unwrap(),
            vec![
                ("number".to_owned(), OptionValue::Integer(12)),
                ("duration".to_owned(), s("1d12h")),
                ("appeals".to_owned(), s("refuse")),
                ("reason".to_owned(), s("spam again")),
            ]
        );
        assert_eq!(
            options_from_text(&CASE, "12 spam again").unwrap(),
            vec![
                ("number".to_owned(), OptionValue::Integer(12)),
                ("reason".to_owned(), s("spam again")),
            ]
        );
        assert_eq!(
            options_from_text(&CASE, "12 ALLOW").unwrap(),
            vec![
                ("number".to_owned(), OptionValue::Integer(12)),
                ("appeals".to_owned(), s("allow")),
            ]
        );
    }

    #[test]
    fn a_required_duration_that_does_not_parse_explains_the_forms() {
        static MUTE: CommandSpec = CommandSpec {
            name: "mute",
            description: "",
            options: &[
                OptionSpec {
                    name: "user",
                    description: "",
                    kind: OptionKind::User,
                    required: true,
                },
                OptionSpec {
                    name: "duration",
                    description: "",
                    kind: OptionKind::Duration,
                    required: true,
                },
            ],
            requires: None,
            context_menu: None,
            message_menu: None,
            read_only: false,
        };
        let err = options_from_text(&MUTE, "<@U1> soon")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("such as `30m`") && err.contains("/mute <user> <duration>"),
            "{err}"
        );
    }

    #[test]
    fn trailing_text_without_an_option_is_refused() {
        static PING: CommandSpec = CommandSpec {
            name: "ping",
            description: "",
            options: &[],
            requires: None,
            context_menu: None,
            message_menu: None,
            read_only: false,
        };
        assert!(options_from_text(&PING, "").unwrap().is_empty());
        assert!(
            options_from_text(&PING, "extra")
                .unwrap_err()
                .to_string()
                .contains("did not expect `extra`")
        );
    }
}
