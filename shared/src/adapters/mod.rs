//! Adapters that connect the core to a runtime. Each is compiled only where it is used.

#[cfg(any(
    feature = "dynamodb",
    feature = "eventbridge",
    feature = "scheduler",
    feature = "secrets"
))]
pub mod aws;
#[cfg(feature = "discord-rest")]
pub mod discord_rest;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
pub mod job_queue;
#[cfg(feature = "lambda")]
pub mod lambda;

#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(feature = "eventbridge")]
pub mod eventbridge;
#[cfg(feature = "scheduler")]
pub mod scheduler;
#[cfg(feature = "secrets")]
pub mod secrets;

#[cfg(feature = "slack-api")]
pub mod slack_api;
#[cfg(feature = "telegram-api")]
pub mod telegram_api;

pub(crate) mod env;
pub mod secret_registry;
pub use self::env::ConfigError;

#[cfg(any(
    feature = "discord-rest",
    feature = "slack-api",
    feature = "telegram-api"
))]
mod http_limits;
