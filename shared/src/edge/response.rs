//! What the edge answers, independent of the transport: the routes it serves and a status,
//! content type and body that Lambda and `gavel serve` each turn into their own response.

use http::{Method, StatusCode};
use serde_json::json;

/// The routes Gavel serves, on Lambda and locally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    DiscordInteractions,
    SlackCommands,
    SlackInteractions,
    SlackEvents,
    TelegramWebhook,
    Health,
}

impl Route {
    pub const ALL: [Route; 6] = [
        Route::DiscordInteractions,
        Route::SlackCommands,
        Route::SlackInteractions,
        Route::SlackEvents,
        Route::TelegramWebhook,
        Route::Health,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Route::DiscordInteractions => "/discord/interactions",
            Route::SlackCommands => "/slack/commands",
            Route::SlackInteractions => "/slack/interactions",
            Route::SlackEvents => "/slack/events",
            Route::TelegramWebhook => "/telegram/webhook",
            Route::Health => "/healthz",
        }
    }

    /// The route's name in metrics (`Route` dimension); the health check has none.
    pub fn metric_name(self) -> Option<&'static str> {
        match self {
            Route::DiscordInteractions => Some("discord"),
            Route::SlackCommands => Some("slack_commands"),
            Route::SlackInteractions => Some("slack_interactions"),
            Route::SlackEvents => Some("slack_events"),
            Route::TelegramWebhook => Some("telegram"),
            Route::Health => None,
        }
    }

    pub fn from_path(path: &str) -> Option<Route> {
        // Tolerate one trailing slash: people paste URLs both ways into the platforms' settings.
        let path = path
            .strip_suffix('/')
            .filter(|p| !p.is_empty())
            .unwrap_or(path);
        Route::ALL.into_iter().find(|r| r.path() == path)
    }

    pub(super) fn method(self) -> Method {
        match self {
            Route::Health => Method::GET,
            _ => Method::POST,
        }
    }
}

/// A transport-neutral HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeResponse {
    pub status: StatusCode,
    /// `None` for an empty body.
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
    /// Store round trips made while handling the request (not sent; for traces and tests).
    pub store_round_trips: u32,
}

impl EdgeResponse {
    pub(super) fn json(status: StatusCode, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type: Some("application/json"),
            body,
            store_round_trips: 0,
        }
    }

    pub fn error(status: StatusCode, message: &str) -> Self {
        Self::json(status, json!({ "error": message }).to_string().into_bytes())
    }

    pub(super) fn empty_ok() -> Self {
        Self {
            status: StatusCode::OK,
            content_type: None,
            body: Vec::new(),
            store_round_trips: 0,
        }
    }

    pub(super) fn serialized<T: serde::Serialize>(value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::json(StatusCode::OK, body),
            Err(e) => {
                tracing::error!(error = %e, "could not serialise a reply");
                Self::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "could not render the reply",
                )
            }
        }
    }
}
