//! The bus on AWS: each job is one EventBridge event on Gavel's own bus (`GAVEL_BUS`), which a
//! rule delivers to the worker function (see `template.yaml`: retries, then a dead-letter queue).
//!
//! Event shape: `source` = [`SOURCE`], `detail-type` = [`DETAIL_TYPE`], `detail` = the job as
//! JSON. EventBridge delivers at least once; the worker's job claim makes that safe.

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;

use std::time::Duration;

use super::aws::{CallBudget, EMULATOR_KEY, emulator_config};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::env::{self, ConfigError};
use crate::jobs::{Bus, BusError, Job};

pub const SOURCE: &str = "gavel";
pub const DETAIL_TYPE: &str = "gavel.job";
/// EventBridge caps an entry at 256 KiB; jobs are a few hundred bytes, so a larger one is a bug.
const MAX_DETAIL_BYTES: usize = 256 * 1024;

/// A publish happens inside the 3-second acknowledgement, after the store's work: at most
/// 700 ms and 3 attempts (PutEvents answers in tens of milliseconds), so a slow EventBridge
/// costs the user a "try again" answer rather than the platform's timeout.
pub const PUBLISH_BUDGET: CallBudget = CallBudget::new(Duration::from_millis(700), 3);

pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
}

impl EventBridgeBus {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }

    /// A bus on a local emulator (moto) at `endpoint_url`, with fixed fake credentials; it
    /// creates the bus (idempotently) so tests start from nothing.
    pub async fn on_emulator(endpoint_url: &str, bus_name: &str) -> Result<Self, BusError> {
        let client = Client::new(&emulator_config(endpoint_url, EMULATOR_KEY, EMULATOR_KEY));
        match client.create_event_bus().name(bus_name).send().await {
            Ok(_) => {}
            Err(error) => {
                let text = aws_sdk_eventbridge::error::DisplayErrorContext(&error).to_string();
                if !text.contains("ResourceAlreadyExists") {
                    return Err(BusError::Failed(text));
                }
            }
        }
        Ok(Self::new(client, bus_name))
    }

    /// The standard AWS environment, and `GAVEL_BUS` for the bus name.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let bus_name = env::required("GAVEL_BUS")?;
        let shared = super::aws::environment().await;
        let config = aws_sdk_eventbridge::config::Builder::from(shared)
            .retry_config(PUBLISH_BUDGET.retry_config())
            .timeout_config(PUBLISH_BUDGET.timeout_config())
            .build();
        Ok(Self::new(Client::from_conf(config), bus_name))
    }
}

#[async_trait]
impl Bus for EventBridgeBus {
    async fn publish(&self, job: &Job) -> Result<(), BusError> {
        let detail = serde_json::to_string(job).map_err(|e| BusError::Failed(e.to_string()))?;
        if detail.len() > MAX_DETAIL_BYTES {
            return Err(BusError::Failed(format!(
                "job {} is {} bytes, over EventBridge's 256 KiB",
                job.id,
                detail.len()
            )));
        }
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(SOURCE)
            .detail_type(DETAIL_TYPE)
            .detail(detail)
            .build();
        let output = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| {
                BusError::Failed(aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string())
            })?;
        // PutEvents answers 200 even when an entry failed; the count says.
        if output.failed_entry_count() > 0 {
            let why = output
                .entries()
                .iter()
                .filter_map(|e| e.error_message())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(BusError::Failed(format!(
                "EventBridge refused the job: {why}"
            )));
        }
        Ok(())
    }
}
