//! What each secret a function may read from Secrets Manager IS: its id's suffix under the
//! stack's `SecretName` prefix, what it holds, and how its value comes to be. The one list the
//! `gavel deploy` commands, docs/deploy.md and the tests use; which function reads which
//! secret is template.yaml's to say (its `{NAME}_ID` variables), not this module's.
//!
//! A secret whose real value cannot exist yet (the Slack app is made from a manifest that
//! needs the deployed URLs) is written as a [`placeholder`]: a recognisable string that every
//! start-up check accepts, so a function still starts, and that the platform clients treat as
//! "not configured" (see [`is_placeholder`]), so a call fails with a message saying what to
//! replace instead of a platform's 401.

/// How a secret's value comes to be when `gavel deploy secrets` creates it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueSource {
    /// Random, made here ([`generate`]): nobody needs to know it.
    Generated,
    /// Only its owner has it (a bot token from a developer portal): asked for on a terminal.
    Asked,
    /// Exists only once the deployed URLs do (the Slack app): a placeholder until then.
    AfterDeploy,
    /// Asked for, like [`ValueSource::Asked`], but only a stack with an option on names it.
    OptionalUserToken,
}

/// What a value must look like: a value that would fail a function's start-up check (or a
/// platform's) is refused before it is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// At least this many characters.
    AtLeast(usize),
    /// Telegram's `secret_token`: 1 to 256 of `A-Z a-z 0-9 _ -`.
    TelegramSecretToken,
    /// Starts with this prefix (Slack's token kinds).
    Prefix(&'static str),
    /// Anything not blank.
    NonEmpty,
}

impl Shape {
    /// Why `value` is not of this shape (never quoting the value).
    pub fn check(self, value: &str) -> Result<(), String> {
        if value.trim().is_empty() {
            return Err("is empty".to_owned());
        }
        match self {
            Shape::AtLeast(n) if value.chars().count() < n => {
                Err(format!("must be at least {n} characters"))
            }
            Shape::TelegramSecretToken if !telegram_secret_token(value) => {
                Err("must be 1 to 256 of A-Z a-z 0-9 _ - (Telegram's secret_token)".to_owned())
            }
            Shape::Prefix(prefix) if !value.starts_with(prefix) => {
                Err(format!("must start with {prefix}"))
            }
            _ => Ok(()),
        }
    }
}

/// What the Telegram function's start-up check accepts: one rule, the verifier's.
fn telegram_secret_token(value: &str) -> bool {
    crate::verify::TelegramVerifier::new(value).is_ok()
}

/// One secret: the variable `NAME` its value becomes (its id is in `{NAME}_ID`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretSpec {
    pub name: &'static str,
    /// The id's last part: `{SecretName}/{suffix}`.
    pub suffix: &'static str,
    /// What it is and where it comes from, in one line.
    pub description: &'static str,
    pub source: ValueSource,
    pub shape: Shape,
}

/// Every secret a function may read, in the order the commands list them.
pub const SECRETS: [SecretSpec; 7] = [
    SecretSpec {
        name: "GAVEL_COMPONENT_SECRET",
        suffix: "component-secret",
        description: "signs button and form ids (random, made by gavel)",
        source: ValueSource::Generated,
        shape: Shape::AtLeast(32),
    },
    SecretSpec {
        name: "DISCORD_BOT_TOKEN",
        suffix: "discord-bot-token",
        description: "Discord developer portal: Bot -> Token",
        source: ValueSource::Asked,
        shape: Shape::NonEmpty,
    },
    SecretSpec {
        name: "SLACK_SIGNING_SECRET",
        suffix: "slack-signing-secret",
        description: "Slack app: Basic Information -> App Credentials -> Signing Secret",
        source: ValueSource::AfterDeploy,
        shape: Shape::NonEmpty,
    },
    SecretSpec {
        name: "SLACK_BOT_TOKEN",
        suffix: "slack-bot-token",
        description: "Slack app: OAuth & Permissions -> Bot User OAuth Token (xoxb-...)",
        source: ValueSource::AfterDeploy,
        shape: Shape::Prefix("xoxb-"),
    },
    SecretSpec {
        name: "SLACK_ADMIN_USER_TOKEN",
        suffix: "slack-admin-user-token",
        description: "Slack app: a workspace admin's User OAuth Token (xoxp-...), \
                      only with SlackMessageDeletion=on",
        source: ValueSource::OptionalUserToken,
        shape: Shape::Prefix("xoxp-"),
    },
    SecretSpec {
        name: "TELEGRAM_WEBHOOK_SECRET",
        suffix: "telegram-webhook-secret",
        description: "the webhook's secret_token (random, made by gavel)",
        source: ValueSource::Generated,
        shape: Shape::TelegramSecretToken,
    },
    SecretSpec {
        name: "TELEGRAM_BOT_TOKEN",
        suffix: "telegram-bot-token",
        description: "Telegram: the token @BotFather gave the bot",
        source: ValueSource::Asked,
        shape: Shape::NonEmpty,
    },
];

/// The variables whose values may come from Secrets Manager: [`SECRETS`]' names.
pub const SECRET_VARIABLES: [&str; SECRETS.len()] = {
    let mut names = [""; SECRETS.len()];
    let mut i = 0;
    while i < SECRETS.len() {
        names[i] = SECRETS[i].name;
        i += 1;
    }
    names
};

/// The secret named `name`, if there is one.
pub fn spec(name: &str) -> Option<&'static SecretSpec> {
    SECRETS.iter().find(|s| s.name == name)
}

/// Every placeholder starts with this.
pub const PLACEHOLDER_PREFIX: &str = "gavel-placeholder-";

/// The placeholder written for `name`. Only `A-Z a-z 0-9 _ -` and longer than 32 characters,
/// so every start-up check passes it (a Slack signing secret, a component key of 16+ bytes,
/// Telegram's secret_token, an HTTP header): the function starts, and a request signed with
/// the real secret is refused (401) until the placeholder is replaced.
pub fn placeholder(name: &str) -> String {
    format!("{PLACEHOLDER_PREFIX}{name}-replace-with-gavel-deploy-secrets")
}

/// Whether `value` is a placeholder `gavel deploy secrets` wrote.
pub fn is_placeholder(value: &str) -> bool {
    value.trim().starts_with(PLACEHOLDER_PREFIX)
}

/// How a platform client's error names a token it does not have: unset, or a placeholder.
pub const NOT_CONFIGURED: &str = "is not set (or still holds the placeholder `gavel deploy \
     secrets` wrote: give the real value with `gavel deploy secrets --from-env` or --from-file)";

/// A token from the environment, unless it is blank or a placeholder: the platform clients
/// treat both as "not configured" and say so when a call would need it.
pub fn configured(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty() && !is_placeholder(v))
}

/// A fresh random value for a [`ValueSource::Generated`] secret: 64 characters of the
/// base64url alphabet (`A-Z a-z 0-9 - _`, 384 bits), which fits both the component key's
/// 32+ characters and Telegram's secret_token.
pub fn generate() -> Result<String, String> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = [0u8; 64];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the system: {e}"))?;
    // 64 symbols: each byte's low six bits pick one with no bias.
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 63)]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_pass_every_start_up_check_and_are_recognised() {
        for spec in SECRETS {
            let value = placeholder(spec.name);
            assert!(is_placeholder(&value));
            assert!(value.len() >= 32, "{value}");
            assert!(telegram_secret_token(&value), "{value}");
            assert_eq!(configured(Some(value)), None);
        }
        assert!(!is_placeholder("xoxb-123"));
        assert_eq!(configured(Some("t".into())).as_deref(), Some("t"));
    }

    #[test]
    fn generated_values_fit_the_generated_secrets() {
        let a = generate().unwrap();
        assert_ne!(a, generate().unwrap());
        for spec in SECRETS
            .iter()
            .filter(|s| s.source == ValueSource::Generated)
        {
            assert_eq!(spec.shape.check(&a), Ok(()), "{}", spec.name);
        }
    }

    #[test]
    fn shapes_refuse_without_quoting_the_value() {
        let problem = Shape::Prefix("xoxb-").check("secret-value").unwrap_err();
        assert!(!problem.contains("secret-value"));
        assert!(Shape::AtLeast(32).check("short").is_err());
        assert!(Shape::TelegramSecretToken.check("has space").is_err());
        assert!(Shape::NonEmpty.check("  ").is_err());
        assert_eq!(SECRET_VARIABLES[0], SECRETS[0].name);
    }
}
