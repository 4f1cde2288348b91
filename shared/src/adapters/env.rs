//! Adapter settings read from the environment, and what can be wrong with them
//! ([`ConfigError`]): every adapter's `from_env` reports the variable and the problem.

// Only the adapters that read variables use the helpers; a build with none of them has no use
// for them.
#![cfg_attr(
    not(any(
        feature = "discord-rest",
        feature = "dynamodb",
        feature = "eventbridge",
        feature = "scheduler",
        feature = "secrets",
        feature = "slack-api"
    )),
    allow(dead_code)
)]

use std::collections::BTreeMap;
use std::sync::RwLock;

/// What is wrong with an adapter's configuration: which setting, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A variable the adapter needs is unset or blank.
    #[error("{name} is not set")]
    Missing { name: &'static str },
    /// A variable needed because another one is set.
    #[error("{name} is not set (needed with {with})")]
    MissingWith {
        name: &'static str,
        with: &'static str,
    },
    /// A variable holds something the adapter cannot use.
    #[error("{name} must be {expected}, got {got:?}")]
    Invalid {
        name: &'static str,
        expected: &'static str,
        got: String,
    },
    /// Limits given in code that would let no request through.
    #[error("{what} must allow at least one request")]
    NoRequestsAllowed { what: &'static str },
    /// The HTTP client could not be built (its TLS backend did not load, say).
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
}

/// Values read from a secret store at cold start (see `adapters::secrets`), in place of the
/// variables of the same names: a Lambda function's secrets never sit in its configuration.
static OVERLAY: RwLock<BTreeMap<String, String>> = RwLock::new(BTreeMap::new());

/// Sets `name` for every later [`var`] in this process, over the environment.
#[cfg_attr(not(feature = "secrets"), allow(dead_code))]
pub(crate) fn set_secret(name: &str, value: String) {
    OVERLAY
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(name.to_owned(), value);
}

/// The variable `name` (a secret loaded at cold start first, then the environment), unless it
/// is unset or blank.
pub(crate) fn var(name: &str) -> Option<String> {
    let loaded = OVERLAY
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(name)
        .cloned();
    loaded
        .or_else(|| std::env::var(name).ok())
        .filter(|v| !v.trim().is_empty())
}

/// The variable `name`, which must be set.
pub(crate) fn required(name: &'static str) -> Result<String, ConfigError> {
    var(name).ok_or(ConfigError::Missing { name })
}
