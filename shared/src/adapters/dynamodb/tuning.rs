//! How long one store call may take and how often the SDK tries it ([`StoreTuning`]), and the
//! SDK clients built with it: from the AWS environment, or for a local emulator.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;

use crate::adapters::aws::{CallBudget, EMULATOR_KEY, emulator_config};

use crate::adapters::env::ConfigError;

/// How long one store call may take and how often the SDK tries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreTuning {
    /// The budget for one store call, every attempt and backoff included. Each attempt (and
    /// connecting) gets half of it, so one hung connection still leaves room for a retry.
    pub timeout: Duration,
    /// Attempts per call, the first included (standard retry mode, exponential backoff with
    /// jitter from 50 ms, at most 500 ms between attempts).
    pub max_attempts: u32,
}

impl Default for StoreTuning {
    /// 2 s and 4 attempts: a call that retries to its end still leaves a Lambda about a second
    /// of its 3-second acknowledgement deadline to answer.
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(2_000),
            max_attempts: 4,
        }
    }
}

impl StoreTuning {
    /// Reads `GAVEL_STORE_TIMEOUT_MS` and `GAVEL_STORE_MAX_ATTEMPTS`; unset means the default.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut tuning = Self::default();
        if let Some(ms) = positive_number(&lookup, "GAVEL_STORE_TIMEOUT_MS")? {
            tuning.timeout = Duration::from_millis(ms);
        }
        if let Some(attempts) = positive_number(&lookup, "GAVEL_STORE_MAX_ATTEMPTS")? {
            tuning.max_attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
        }
        Ok(tuning)
    }

    fn budget(&self) -> CallBudget {
        CallBudget::new(self.timeout, self.max_attempts)
    }

    fn retry_config(&self) -> RetryConfig {
        self.budget().retry_config()
    }

    fn timeout_config(&self) -> TimeoutConfig {
        self.budget().timeout_config()
    }
}

pub(super) fn positive_number(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<u64>, ConfigError> {
    match lookup(name) {
        Some(raw) if !raw.trim().is_empty() => match raw.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(ConfigError::Invalid {
                name,
                expected: "a whole number above 0",
                got: raw,
            }),
        },
        _ => Ok(None),
    }
}

/// A client configured from the standard AWS environment (region, credentials, and
/// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_DYNAMODB` for an emulator), with `tuning`'s retries and
/// timeouts. Build it once per process: warm Lambda invocations reuse its connections.
pub async fn client_from_env(tuning: StoreTuning) -> Client {
    let shared = crate::adapters::aws::environment().await;
    let config = aws_sdk_dynamodb::config::Builder::from(shared)
        .retry_config(tuning.retry_config())
        .timeout_config(tuning.timeout_config())
        .build();
    Client::from_conf(config)
}

/// A client for a local emulator (moto) at `endpoint_url`: fixed fake credentials and
/// `us-east-1`, nothing read from the environment. Each call builds a fresh connection pool,
/// so each tokio runtime (each test) can have its own.
pub fn emulator_client(endpoint_url: &str, tuning: StoreTuning) -> Client {
    let shared = emulator_config(endpoint_url, EMULATOR_KEY, EMULATOR_KEY);
    let config = aws_sdk_dynamodb::config::Builder::from(&shared)
        .retry_config(tuning.retry_config())
        .timeout_config(tuning.timeout_config())
        .build();
    Client::from_conf(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuning_reads_its_variables_and_refuses_nonsense() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            StoreTuning::from_lookup(env(&[])),
            Ok(StoreTuning::default())
        );
        assert_eq!(
            StoreTuning::from_lookup(env(&[
                ("GAVEL_STORE_TIMEOUT_MS", "1500"),
                ("GAVEL_STORE_MAX_ATTEMPTS", " 2 ")
            ])),
            Ok(StoreTuning {
                timeout: Duration::from_millis(1500),
                max_attempts: 2
            })
        );
        for bad in ["0", "-1", "2s", "1.5"] {
            assert!(matches!(
                StoreTuning::from_lookup(|_: &str| Some(bad.to_owned())),
                Err(ConfigError::Invalid {
                    name: "GAVEL_STORE_TIMEOUT_MS",
                    ..
                })
            ));
        }
        let timeouts = StoreTuning::default().timeout_config();
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(2)));
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_secs(1))
        );
    }
}
