//! Secrets from AWS Secrets Manager, read once per cold start: a Lambda function's secrets
//! never sit in its configuration (where anyone allowed to read the function could see them),
//! and a rotation needs no deploy.
//!
//! Each secret value lives in a secret of its own, named by a variable: `{NAME}_ID` holds the
//! id (name or ARN) of the secret whose string is `NAME`'s value, for the names in
//! [`SECRET_VARIABLES`]. A function is given the ids of the values it uses and may read only
//! those secrets, so the public endpoints never hold a bot token they do not need. The values
//! read are then what every `from_env` sees under `NAME`; a process without any `{NAME}_ID`
//! (`gavel serve`, tests) keeps reading `NAME` from its environment.
//!
//! The Slack signing secret is also a [`SigningSecretSource`]: the edge reads it again after a
//! signature fails to match, at most once a minute, so a rotated secret takes effect within a
//! minute of the first request signed with it.

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;

use std::time::Duration;

use super::aws::{CallBudget, EMULATOR_KEY, emulator_config};
use super::env::{self, ConfigError};
use crate::edge::SigningSecretSource;

pub use super::secret_registry::SECRET_VARIABLES;

/// A read of the Slack signing secret again happens inside a request, within the platform's 3
/// seconds: at most 800 ms and 2 attempts (a read takes tens of milliseconds in the region). The
/// cold start's reads get the same budget, well inside Lambda's 10-second init.
pub const READ_BUDGET: CallBudget = CallBudget::new(Duration::from_millis(800), 2);

/// A Secrets Manager client.
#[derive(Clone, Debug)]
pub struct SecretsManager {
    client: Client,
}

impl SecretsManager {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The standard AWS environment (the function's role).
    pub async fn from_env() -> Self {
        let shared = super::aws::environment().await;
        let config = aws_sdk_secretsmanager::config::Builder::from(shared)
            .retry_config(READ_BUDGET.retry_config())
            .timeout_config(READ_BUDGET.timeout_config())
            .build();
        Self::new(Client::from_conf(config))
    }

    /// moto at `endpoint_url`, with fixed fake credentials.
    pub fn on_emulator(endpoint_url: &str) -> Self {
        Self::new(Client::new(&emulator_config(
            endpoint_url,
            EMULATOR_KEY,
            EMULATOR_KEY,
        )))
    }

    /// The secret `id`'s string.
    pub async fn value(&self, id: &str) -> Result<String, String> {
        let answer = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string())?;
        answer
            .secret_string
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| format!("secret {id} holds no string"))
    }

    /// Reads every `{NAME}_ID` secret of [`SECRET_VARIABLES`] that is configured, all at once,
    /// and makes each value the process's `NAME`. Returns the names loaded. A secret that
    /// cannot be read fails the cold start, naming the variable (never the value).
    pub async fn load_configured(&self) -> Result<Vec<&'static str>, ConfigError> {
        self.load(env::var).await
    }

    /// [`load_configured`](Self::load_configured) with the `{NAME}_ID` variables looked up by
    /// `id_of`.
    pub async fn load(
        &self,
        id_of: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<&'static str>, ConfigError> {
        let mut reads = tokio::task::JoinSet::new();
        for name in SECRET_VARIABLES {
            let Some(id) = id_of(&format!("{name}_ID")) else {
                continue;
            };
            let manager = self.clone();
            reads.spawn(async move { (name, manager.value(&id).await) });
        }
        let mut loaded = Vec::new();
        while let Some(read) = reads.join_next().await {
            let (name, value) = read.map_err(|e| ConfigError::Invalid {
                name: "secrets",
                expected: "a completed read",
                got: e.to_string(),
            })?;
            let value = value.map_err(|problem| ConfigError::Invalid {
                name,
                expected: "a readable Secrets Manager secret (see its _ID variable)",
                got: problem,
            })?;
            env::set_secret(name, value);
            loaded.push(name);
        }
        loaded.sort_unstable();
        Ok(loaded)
    }

    /// The Slack signing secret's source, if this process read it from Secrets Manager.
    pub fn slack_signing_secret(&self) -> Option<SecretValue> {
        env::var("SLACK_SIGNING_SECRET_ID").map(|id| SecretValue {
            manager: self.clone(),
            id,
        })
    }
}

/// One secret, read again on demand.
#[derive(Clone, Debug)]
pub struct SecretValue {
    manager: SecretsManager,
    id: String,
}

impl SecretValue {
    pub fn new(manager: SecretsManager, id: impl Into<String>) -> Self {
        Self {
            manager,
            id: id.into(),
        }
    }
}

#[async_trait]
impl SigningSecretSource for SecretValue {
    async fn current(&self) -> Result<String, String> {
        self.manager.value(&self.id).await
    }
}
