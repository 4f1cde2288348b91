//! Settings read from the environment, once per process (cold start, or `gavel serve`).

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::commands::CommandRegistry;
use crate::edge::Edge;
use crate::flows::component_id::ComponentKey;
use crate::store::Store;
use crate::verify::{
    DEFAULT_REPLAY_WINDOW_SECS, DiscordVerifier, KeyError, SlackVerifier, TelegramVerifier,
};

/// Which platforms a process serves. A Lambda function serves one; `gavel serve` Discord and
/// Slack (`Both`), and Telegram too where its webhook secret is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serves {
    Discord,
    Slack,
    Telegram,
    Both,
}

/// Verification settings.
///
/// - `DISCORD_PUBLIC_KEY`: the application's public key, hex (not a secret).
/// - `SLACK_SIGNING_SECRET`: the app's signing secret (a secret: set it from Secrets Manager).
/// - `GAVEL_REPLAY_WINDOW_SECS`: how far a request timestamp may be from now (default 300).
/// - `GAVEL_COMPONENT_SECRET`: signs the ids of buttons and forms (a secret, at least 16
///   bytes; every instance must share it, so set it from Secrets Manager).
/// - `GAVEL_SLACK_MODERATORS`: Slack user ids (comma-separated) with moderator powers.
/// - `TELEGRAM_WEBHOOK_SECRET`: the `secret_token` given to `setWebhook` (a secret).
/// - `TELEGRAM_BOT_USERNAME`: the bot's username, so `/warn@OtherBot` is left to that bot.
#[derive(Clone, Default)]
pub struct EdgeSettings {
    pub discord_public_key: Option<String>,
    pub slack_signing_secret: Option<String>,
    pub telegram_webhook_secret: Option<String>,
    pub telegram_bot_username: Option<String>,
    pub replay_window_secs: Option<i64>,
    pub component_secret: Option<String>,
    pub slack_moderators: Vec<String>,
}

impl std::fmt::Debug for EdgeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeSettings")
            .field("discord_public_key", &self.discord_public_key)
            .field(
                "slack_signing_secret",
                &self.slack_signing_secret.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "telegram_webhook_secret",
                &self.telegram_webhook_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("telegram_bot_username", &self.telegram_bot_username)
            .field("replay_window_secs", &self.replay_window_secs)
            .field("slack_moderators", &self.slack_moderators)
            .field(
                "component_secret",
                &self.component_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// What can go wrong turning settings into a working edge.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {problem}")]
    Invalid { name: &'static str, problem: String },
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl EdgeSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let replay_window_secs = match non_empty_env("GAVEL_REPLAY_WINDOW_SECS") {
            None => None,
            Some(raw) => Some(raw.parse::<i64>().ok().filter(|w| *w > 0).ok_or(
                ConfigError::Invalid {
                    name: "GAVEL_REPLAY_WINDOW_SECS",
                    problem: format!("expected a positive number of seconds, got {raw:?}"),
                },
            )?),
        };
        Ok(Self {
            discord_public_key: non_empty_env("DISCORD_PUBLIC_KEY"),
            slack_signing_secret: non_empty_env("SLACK_SIGNING_SECRET"),
            telegram_webhook_secret: non_empty_env("TELEGRAM_WEBHOOK_SECRET"),
            telegram_bot_username: non_empty_env("TELEGRAM_BOT_USERNAME"),
            replay_window_secs,
            component_secret: non_empty_env("GAVEL_COMPONENT_SECRET"),
            slack_moderators: non_empty_env("GAVEL_SLACK_MODERATORS")
                .map(|list| {
                    list.split(',')
                        .map(|id| id.trim().to_owned())
                        .filter(|id| !id.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// Builds the edge for the given platforms; each one served must have its secret set.
    pub fn build_edge(
        &self,
        serves: Serves,
        registry: Arc<CommandRegistry>,
        clock: Arc<dyn Clock>,
        store: Arc<dyn Store>,
    ) -> Result<Edge, ConfigError> {
        let window = self
            .replay_window_secs
            .unwrap_or(DEFAULT_REPLAY_WINDOW_SECS);
        let discord = match serves {
            Serves::Slack | Serves::Telegram => None,
            Serves::Discord | Serves::Both => {
                let key = self
                    .discord_public_key
                    .as_deref()
                    .ok_or(ConfigError::Missing("DISCORD_PUBLIC_KEY"))?;
                Some(DiscordVerifier::from_hex(key, window)?)
            }
        };
        let slack = match serves {
            Serves::Discord | Serves::Telegram => None,
            Serves::Slack | Serves::Both => {
                let secret = self
                    .slack_signing_secret
                    .as_deref()
                    .ok_or(ConfigError::Missing("SLACK_SIGNING_SECRET"))?;
                Some(SlackVerifier::new(secret, window)?)
            }
        };
        let secret = self
            .component_secret
            .as_deref()
            .ok_or(ConfigError::Missing("GAVEL_COMPONENT_SECRET"))?;
        let key = ComponentKey::new(secret.as_bytes()).map_err(|problem| ConfigError::Invalid {
            name: "GAVEL_COMPONENT_SECRET",
            problem,
        })?;
        // Telegram is served by its own function, and by `gavel serve` where it is configured.
        let telegram = match (serves, self.telegram_webhook_secret.as_deref()) {
            (Serves::Telegram | Serves::Both, Some(secret)) => Some(TelegramVerifier::new(secret)?),
            (Serves::Telegram, None) => {
                return Err(ConfigError::Missing("TELEGRAM_WEBHOOK_SECRET"));
            }
            _ => None,
        };
        let mut edge = Edge::new(discord, slack, registry, clock, store)
            .with_component_key(key)
            .with_slack_moderators(self.slack_moderators.iter().cloned())
            .with_telegram_bot_username(self.telegram_bot_username.clone());
        if let Some(verifier) = telegram {
            edge = edge.with_telegram(verifier);
        }
        Ok(edge)
    }

    /// The production edge: the standard commands on the system clock, over `store`.
    pub fn build_standard_edge(
        &self,
        serves: Serves,
        store: Arc<dyn Store>,
    ) -> Result<Edge, ConfigError> {
        self.build_edge(
            serves,
            Arc::new(CommandRegistry::standard()),
            Arc::new(SystemClock),
            store,
        )
    }
}

/// Through the adapters' reader, so a secret loaded from Secrets Manager at cold start counts.
fn non_empty_env(name: &str) -> Option<String> {
    crate::adapters::env::var(name)
}
