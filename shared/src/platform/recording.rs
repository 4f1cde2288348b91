//! Platform APIs that record instead of sending: what `gavel serve` uses where no token is
//! configured (every call is logged, so the worker's effect is visible), and what the demo
//! prints from. Production uses `adapters::discord_rest` and `adapters::slack_api`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;

use super::{ApiError, DiscordApi, SlackApi};

/// One call a recording API received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlatformCall {
    DiscordMessage {
        channel: String,
        content: String,
    },
    DiscordEditOriginal {
        content: String,
    },
    SlackMessage {
        channel: String,
        text: String,
    },
    SlackRespond {
        text: String,
        replace_original: bool,
    },
}

/// Records every call to either platform, oldest first.
#[derive(Debug, Default)]
pub struct RecordingPlatform {
    calls: Mutex<Vec<PlatformCall>>,
    next_id: AtomicU64,
}

impl RecordingPlatform {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn calls(&self) -> Vec<PlatformCall> {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn push(&self, call: PlatformCall) -> String {
        tracing::info!(?call, "platform call (recorded, not sent)");
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(call);
        (self.next_id.fetch_add(1, Ordering::Relaxed) + 1).to_string()
    }
}

#[async_trait]
impl DiscordApi for RecordingPlatform {
    async fn create_message(
        &self,
        channel_id: &str,
        content: &str,
        _: Instant,
    ) -> Result<String, ApiError> {
        Ok(self.push(PlatformCall::DiscordMessage {
            channel: channel_id.to_owned(),
            content: content.to_owned(),
        }))
    }

    async fn edit_original_response(
        &self,
        _token: &str,
        content: &str,
        _: Instant,
    ) -> Result<(), ApiError> {
        self.push(PlatformCall::DiscordEditOriginal {
            content: content.to_owned(),
        });
        Ok(())
    }
}

#[async_trait]
impl SlackApi for RecordingPlatform {
    async fn post_message(
        &self,
        channel: &str,
        text: &str,
        _: Instant,
    ) -> Result<String, ApiError> {
        Ok(self.push(PlatformCall::SlackMessage {
            channel: channel.to_owned(),
            text: text.to_owned(),
        }))
    }

    async fn respond(
        &self,
        _response_url: &str,
        text: &str,
        replace_original: bool,
        _: Instant,
    ) -> Result<(), ApiError> {
        self.push(PlatformCall::SlackRespond {
            text: text.to_owned(),
            replace_original,
        });
        Ok(())
    }
}
