//! One-time schedules on EventBridge Scheduler: each [`Wakeup`] becomes a schedule named by
//! [`Wakeup::name`] in Gavel's own schedule group, with an `at(yyyy-mm-ddThh:mm:ss)` (UTC)
//! expression, no flexible window, the maintenance function as target (invoked through the
//! Scheduler execution role) with the wakeup as its input, and `ActionAfterCompletion: DELETE`
//! so it removes itself once it ran. Creating a name that exists is a success (a redelivered
//! job), deleting one that is gone too (it ran, or never existed).
//!
//! Environment, read by [`EventBridgeScheduler::from_env`] (set by template.yaml):
//! `GAVEL_SCHEDULE_GROUP`, `GAVEL_SCHEDULE_TARGET_ARN` (the maintenance function),
//! `GAVEL_SCHEDULER_ROLE_ARN` (the role Scheduler assumes to invoke it), and optionally
//! `GAVEL_SCHEDULE_DLQ_ARN` (where an invocation that keeps failing is kept).

use async_trait::async_trait;
use aws_sdk_scheduler::Client;

use super::aws::{EMULATOR_KEY, emulator_config};
use aws_sdk_scheduler::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_scheduler::operation::create_schedule::CreateScheduleError;
use aws_sdk_scheduler::operation::delete_schedule::DeleteScheduleError;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
    RetryPolicy, Target,
};

use super::env::{self, ConfigError};
use crate::jobs::{ScheduleError, Scheduler, Trigger, Wakeup};

/// Where schedules go and what they invoke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleTarget {
    pub group: String,
    /// The maintenance function's ARN.
    pub function_arn: String,
    /// The role EventBridge Scheduler assumes to invoke it.
    pub role_arn: String,
    pub dead_letter_arn: Option<String>,
}

impl ScheduleTarget {
    /// From the environment; `None` when no target is configured (no one-time schedules: the
    /// maintenance sweep alone then finds what is due).
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        let Some(function_arn) = env::var("GAVEL_SCHEDULE_TARGET_ARN") else {
            return Ok(None);
        };
        let role_arn = env::var("GAVEL_SCHEDULER_ROLE_ARN").ok_or(ConfigError::MissingWith {
            name: "GAVEL_SCHEDULER_ROLE_ARN",
            with: "GAVEL_SCHEDULE_TARGET_ARN",
        })?;
        Ok(Some(Self {
            group: env::var("GAVEL_SCHEDULE_GROUP").unwrap_or_else(|| "default".to_owned()),
            function_arn,
            role_arn,
            dead_letter_arn: env::var("GAVEL_SCHEDULE_DLQ_ARN"),
        }))
    }
}

pub struct EventBridgeScheduler {
    client: Client,
    target: ScheduleTarget,
}

/// Scheduler retries a failed invocation itself before the dead-letter queue; the maintenance
/// function is idempotent, so retrying is always safe.
const RETRY_ATTEMPTS: i32 = 10;
const RETRY_MAX_AGE_SECS: i32 = 6 * 3600;

impl EventBridgeScheduler {
    pub fn new(client: Client, target: ScheduleTarget) -> Self {
        Self { client, target }
    }

    /// The standard AWS environment and [`ScheduleTarget::from_env`]; `None` without a target.
    pub async fn from_env() -> Result<Option<Self>, ConfigError> {
        let Some(target) = ScheduleTarget::from_env()? else {
            return Ok(None);
        };
        let config = super::aws::environment().await;
        Ok(Some(Self::new(Client::new(config), target)))
    }

    /// A scheduler on a local emulator (moto) at `endpoint_url`, with fixed fake credentials.
    pub fn on_emulator(endpoint_url: &str, target: ScheduleTarget) -> Self {
        let config = emulator_config(endpoint_url, EMULATOR_KEY, EMULATOR_KEY);
        Self::new(Client::new(&config), target)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// `at(2026-11-24T09:30:00)`: Scheduler's one-time expression, read in UTC (the default
/// `ScheduleExpressionTimezone`).
pub fn at_expression(unix_secs: i64) -> Result<String, ScheduleError> {
    chrono::DateTime::from_timestamp(unix_secs, 0)
        .map(|t| format!("at({})", t.format("%Y-%m-%dT%H:%M:%S")))
        .ok_or_else(|| ScheduleError::Failed(format!("{unix_secs} is not a time")))
}

fn failure<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    error: &aws_sdk_scheduler::error::SdkError<E, R>,
    transient: bool,
) -> ScheduleError {
    let text = DisplayErrorContext(error).to_string();
    if transient {
        ScheduleError::Unavailable(text)
    } else {
        ScheduleError::Failed(text)
    }
}

#[async_trait]
impl Scheduler for EventBridgeScheduler {
    async fn create(&self, wakeup: &Wakeup) -> Result<(), ScheduleError> {
        let input = serde_json::to_string(&Trigger::Wake(wakeup.clone()))
            .map_err(|e| ScheduleError::Failed(e.to_string()))?;
        let mut target = Target::builder()
            .arn(&self.target.function_arn)
            .role_arn(&self.target.role_arn)
            .input(input)
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(RETRY_ATTEMPTS)
                    .maximum_event_age_in_seconds(RETRY_MAX_AGE_SECS)
                    .build(),
            );
        if let Some(dlq) = &self.target.dead_letter_arn {
            target = target.dead_letter_config(DeadLetterConfig::builder().arn(dlq).build());
        }
        let target = target
            .build()
            .map_err(|e| ScheduleError::Failed(e.to_string()))?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| ScheduleError::Failed(e.to_string()))?;
        let result = self
            .client
            .create_schedule()
            .name(wakeup.name())
            .group_name(&self.target.group)
            .schedule_expression(at_expression(wakeup.at())?)
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .target(target)
            .action_after_completion(ActionAfterCompletion::Delete)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match error.as_service_error() {
                // The same name exists: made by an earlier delivery of the same job.
                Some(CreateScheduleError::ConflictException(_)) => Ok(()),
                Some(
                    CreateScheduleError::ThrottlingException(_)
                    | CreateScheduleError::InternalServerException(_),
                ) => Err(failure(&error, true)),
                Some(_) => Err(failure(&error, false)),
                // No answer (timeout, connection): worth trying again.
                None => Err(failure(&error, true)),
            },
        }
    }

    async fn delete(&self, wakeup: &Wakeup) -> Result<(), ScheduleError> {
        let result = self
            .client
            .delete_schedule()
            .name(wakeup.name())
            .group_name(&self.target.group)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match error.as_service_error() {
                Some(DeleteScheduleError::ResourceNotFoundException(_)) => Ok(()),
                Some(
                    DeleteScheduleError::ThrottlingException(_)
                    | DeleteScheduleError::InternalServerException(_)
                    | DeleteScheduleError::ConflictException(_),
                ) => Err(failure(&error, true)),
                Some(_) => Err(failure(&error, false)),
                None => Err(failure(&error, true)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_expressions_are_utc_to_the_second() {
        assert_eq!(
            at_expression(1_764_000_000).unwrap(),
            "at(2025-11-24T16:00:00)"
        );
        assert_eq!(at_expression(0).unwrap(), "at(1970-01-01T00:00:00)");
    }
}
