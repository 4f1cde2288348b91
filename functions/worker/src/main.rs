//! Lambda entry point for the worker. Jobs arrive in batches from the jobs queue, at least once
//! (EventBridge queues them there); the worker claims each, makes the platform calls, and edits
//! the user's answer with the outcome. Only this function holds the bot tokens, and only it
//! creates and deletes one-time schedules.
//!
//! A job that should be tried again (a platform outage, a rate limit beyond the budget, or the
//! job running elsewhere) is reported back to the queue, which hands it out again for over an
//! hour before its dead-letter queue takes it (`adapters::job_queue`, `template.yaml`).

use std::sync::Arc;
use std::time::Duration;

use gavel_shared::adapters::discord_rest::DiscordRest;
use gavel_shared::adapters::dynamodb::DynamoStore;
use gavel_shared::adapters::job_queue::handle_delivery;
use gavel_shared::adapters::scheduler::EventBridgeScheduler;
use gavel_shared::adapters::secrets::SecretsManager;
use gavel_shared::adapters::slack_api::SlackApiClient;
use gavel_shared::adapters::telegram_api::TelegramBotApi;
use gavel_shared::clock::{Clock, SystemClock, work_deadline};
use gavel_shared::worker::Worker;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde_json::Value;

/// Left for marking the job and returning before Lambda's own timeout.
const SAFETY_MARGIN: Duration = Duration::from_secs(3);

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gavel_shared::telemetry::init_json();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // The bot tokens come from Secrets Manager (their _ID variables), read while the
    // DynamoDB client is made.
    let secrets = SecretsManager::from_env().await;
    let (store, loaded) = tokio::join!(
        DynamoStore::from_env(Arc::clone(&clock)),
        secrets.load_configured()
    );
    loaded?;
    let store = Arc::new(store?);
    let discord = Arc::new(DiscordRest::from_env()?);
    let slack = Arc::new(SlackApiClient::from_env()?);
    let telegram = Arc::new(TelegramBotApi::from_env()?);
    let mut worker =
        Worker::new(store, Arc::clone(&clock), Some(discord), Some(slack)).with_telegram(telegram);
    // One-time schedules at temporary bans' ends and reminders' times (GAVEL_SCHEDULE_*);
    // without them the maintenance sweep alone lifts and delivers, a few minutes late at most.
    match EventBridgeScheduler::from_env().await? {
        Some(scheduler) => worker = worker.with_scheduler(Arc::new(scheduler)),
        None => tracing::warn!("GAVEL_SCHEDULE_TARGET_ARN unset: no one-time schedules"),
    }
    let worker = Arc::new(worker);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let worker = Arc::clone(&worker);
        let clock = Arc::clone(&clock);
        async move {
            let deadline = work_deadline(clock.as_ref(), event.context.deadline, SAFETY_MARGIN);
            handle_delivery(&worker, &event.payload, deadline)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}
