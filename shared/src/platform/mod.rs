//! Ports for the platforms' Web APIs, called by the worker (never on the acknowledgement
//! path, except Slack's `views.open` and `response_url`, see [`crate::slack::web`]).
//!
//! Adapters: `adapters::discord_rest` and `adapters::slack_api` over HTTPS, with each
//! platform's rate limits honoured; tests point them at fake APIs.

pub mod recording;

use std::time::Instant;

use async_trait::async_trait;

/// Why a platform call did not happen, sorted by what the worker tells the moderator.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The app lacks a permission (Discord 403, Slack `missing_scope`/`not_in_channel`/...).
    /// `message` says which, in words a moderator understands.
    #[error("forbidden: {message}")]
    Forbidden { message: String },
    /// The target (channel, user, message, interaction) does not exist or is gone.
    #[error("not found: {0}")]
    NotFound(String),
    /// Still rate limited when the time budget ran out.
    #[error("rate limited; retry after {retry_after_ms} ms")]
    RateLimited { retry_after_ms: i64 },
    /// 5xx or network failures that outlasted the retries the budget allowed.
    #[error("the platform is unavailable: {0}")]
    Unavailable(String),
    /// Any other refusal (invalid request, invalid token).
    #[error("refused (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    /// The adapter refuses to send: missing token, or the invalid-request safety cap reached.
    #[error("not sent: {0}")]
    NotSent(String),
}

impl ApiError {
    /// Worth another delivery of the job later (EventBridge retries).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ApiError::RateLimited { .. } | ApiError::Unavailable(_)
        )
    }
}

/// What the worker needs from Discord's REST API. Every call gets a deadline: retries and
/// rate-limit waits that would pass it are not attempted.
#[async_trait]
pub trait DiscordApi: Send + Sync {
    /// `POST /channels/{channel}/messages`; returns the new message's id. Mentions are never
    /// parsed (`allowed_mentions` empty).
    async fn create_message(
        &self,
        channel_id: &str,
        content: &str,
        deadline: Instant,
    ) -> Result<String, ApiError>;

    /// `PATCH /webhooks/{application}/{interaction token}/messages/@original`: edits the
    /// interaction's first answer (a deferred one included). Valid for 15 minutes.
    async fn edit_original_response(
        &self,
        interaction_token: &str,
        content: &str,
        deadline: Instant,
    ) -> Result<(), ApiError>;
}

/// What the worker needs from Slack's Web API.
#[async_trait]
pub trait SlackApi: Send + Sync {
    /// `chat.postMessage` to a channel; returns the message's `ts`.
    async fn post_message(
        &self,
        channel: &str,
        text: &str,
        deadline: Instant,
    ) -> Result<String, ApiError>;

    /// Posts to an interaction's `response_url` (up to 5 times within 30 minutes);
    /// `replace_original` replaces the message the interaction came from.
    async fn respond(
        &self,
        response_url: &str,
        text: &str,
        replace_original: bool,
        deadline: Instant,
    ) -> Result<(), ApiError>;
}
