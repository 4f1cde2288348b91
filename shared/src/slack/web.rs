//! The Slack Web API port: what the edge itself must send to Slack while it answers an
//! interaction, because Slack reads nothing else from the HTTP response:
//! - a button click's answer goes to the interaction's `response_url` (replace the message, or
//!   add an ephemeral one);
//! - a form opens with `views.open` and the `trigger_id`, which lives 3 seconds, too short to
//!   hand over to the worker.
//!
//! The production adapter is `adapters::slack_api`'s client, the worker's too (HTTPS, bot
//! token from the environment);
//! [`RecordingSlackWeb`] keeps what would have been sent, for `gavel serve` without a token and
//! for tests.

use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SlackWebError {
    /// The call cannot be made here (no bot token configured, or a `response_url` that is not
    /// Slack's).
    #[error("{0}")]
    NotConfigured(String),
    /// Slack answered with an error (`ok: false`, or an HTTP error status).
    #[error("Slack refused the call: {0}")]
    Refused(String),
    #[error("Slack could not be reached: {0}")]
    Unreachable(String),
}

#[async_trait]
pub trait SlackWeb: Send + Sync {
    /// Posts `message` (a Block Kit message with `replace_original` or `response_type`) to an
    /// interaction's `response_url`.
    async fn respond(&self, response_url: &str, message: &Value) -> Result<(), SlackWebError>;

    /// Opens `view` (a modal) for the user whose interaction carried `trigger_id`.
    async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<(), SlackWebError>;
}

/// One call [`RecordingSlackWeb`] received.
#[derive(Clone, Debug, PartialEq)]
pub enum SlackCall {
    Respond {
        response_url: String,
        message: Value,
    },
    OpenView {
        trigger_id: String,
        view: Value,
    },
}

/// Keeps every call instead of sending it, and logs it.
#[derive(Debug, Default)]
pub struct RecordingSlackWeb {
    calls: Mutex<Vec<SlackCall>>,
}

impl RecordingSlackWeb {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<SlackCall> {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn push(&self, call: SlackCall) {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(call);
    }
}

#[async_trait]
impl SlackWeb for RecordingSlackWeb {
    async fn respond(&self, response_url: &str, message: &Value) -> Result<(), SlackWebError> {
        tracing::info!(response_url, %message, "Slack response_url post (recorded, not sent)");
        self.push(SlackCall::Respond {
            response_url: response_url.to_owned(),
            message: message.clone(),
        });
        Ok(())
    }

    async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<(), SlackWebError> {
        tracing::info!(trigger_id, %view, "Slack views.open (recorded, not sent)");
        self.push(SlackCall::OpenView {
            trigger_id: trigger_id.to_owned(),
            view: view.clone(),
        });
        Ok(())
    }
}
