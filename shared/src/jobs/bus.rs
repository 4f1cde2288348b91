//! The bus port: EventBridge on AWS (`adapters::eventbridge`), an in-process queue with its own
//! worker task under `gavel serve` and in tests (the worker module's `InProcessBus`, beside the
//! worker it drives).

use async_trait::async_trait;

use super::Job;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    #[error("background work is not configured here")]
    NotConfigured,
    #[error("the job could not be published: {0}")]
    Failed(String),
}

#[async_trait]
pub trait Bus: Send + Sync {
    async fn publish(&self, job: &Job) -> Result<(), BusError>;
}

/// A deployment without a bus: commands that need background work say so.
pub struct UnconfiguredBus;

#[async_trait]
impl Bus for UnconfiguredBus {
    async fn publish(&self, _job: &Job) -> Result<(), BusError> {
        Err(BusError::NotConfigured)
    }
}
