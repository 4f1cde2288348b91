//! Lambda entry point for scheduled maintenance. EventBridge Scheduler invokes it with the
//! `Input` of its schedule: `{"run": [...]}` from the periodic schedules in template.yaml (the
//! sweep of expiry and reminders every few minutes, decay and cleanup daily), or
//! `{"wake": {...}}` from a one-time schedule at a temporary ban's end or a reminder's time.
//!
//! Each run stops taking new pages when the invocation's remaining time runs short, and the
//! next run continues. Platform work goes to the worker through the job bus. A run that could
//! not start (unreadable input) fails the invocation, so Scheduler's retries and then the
//! dead-letter queue keep it; store failures inside a run are in its report and retried by the
//! next run.

use std::sync::Arc;
use std::time::Duration;

use gavel_shared::adapters::dynamodb::DynamoStore;
use gavel_shared::adapters::eventbridge::EventBridgeBus;
use gavel_shared::clock::{Clock, SystemClock, work_deadline};
use gavel_shared::jobs::Trigger;
use gavel_shared::maintenance::{Budget, Maintenance};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// Left for the last page's writes and the return before Lambda's own timeout.
const SAFETY_MARGIN: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gavel_shared::telemetry::init_json();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(DynamoStore::from_env(Arc::clone(&clock)).await?);
    let bus = Arc::new(EventBridgeBus::from_env().await?);
    let maintenance = Arc::new(Maintenance::new(store, bus, Arc::clone(&clock)));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let maintenance = Arc::clone(&maintenance);
        let clock = Arc::clone(&clock);
        async move {
            let trigger: Trigger = serde_json::from_value(event.payload).map_err(|e| {
                format!("not a maintenance trigger ({e}); expected {{\"run\": [...]}} or {{\"wake\": {{...}}}}")
            })?;
            let deadline = work_deadline(clock.as_ref(), event.context.deadline, SAFETY_MARGIN);
            let reports = maintenance.handle(&trigger, Budget::until(deadline)).await;
            Ok::<_, lambda_runtime::Error>(json!({ "reports": reports }))
        }
    }))
    .await
}
