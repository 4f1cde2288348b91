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

use std::collections::HashMap;

use crate::platform::recording::Recent;

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

    /// `users.info`: whether `user` is a workspace admin or owner (`is_admin`, `is_owner` or
    /// `is_primary_owner`), who may moderate without being named a moderator.
    async fn user_is_admin(&self, user: &str) -> Result<bool, SlackWebError>;

    /// `usergroups.users.list`: the user ids in the user group `group` (e.g. `S0614TZR7`).
    async fn usergroup_members(&self, group: &str) -> Result<Vec<String>, SlackWebError>;

    /// `users.info`: whether `user` is a bot (`is_bot`, or Slackbot itself), which a slash
    /// command's text does not say and a payment must know.
    async fn user_is_bot(&self, user: &str) -> Result<bool, SlackWebError>;
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
    UserIsAdmin {
        user: String,
    },
    UsergroupMembers {
        group: String,
    },
    UserIsBot {
        user: String,
    },
}

/// Keeps every call instead of sending it, and logs it. Nobody is an admin or a bot and no
/// user group has members unless a builder says so.
#[derive(Debug, Default)]
pub struct RecordingSlackWeb {
    calls: Recent<SlackCall>,
    admins: Vec<String>,
    bots: Vec<String>,
    usergroups: HashMap<String, Vec<String>>,
}

impl RecordingSlackWeb {
    pub fn new() -> Self {
        Self::default()
    }

    /// These users are workspace admins or owners.
    pub fn with_admins(mut self, admins: Vec<String>) -> Self {
        self.admins = admins;
        self
    }

    /// These users are bots.
    pub fn with_bots(mut self, bots: Vec<String>) -> Self {
        self.bots = bots;
        self
    }

    /// The user group `group` has these members; an unknown group has none.
    pub fn with_usergroup(mut self, group: impl Into<String>, members: Vec<String>) -> Self {
        self.usergroups.insert(group.into(), members);
        self
    }

    /// The calls so far (the last `RECENT_CALLS`, see the platform recorder), oldest first.
    pub fn calls(&self) -> Vec<SlackCall> {
        self.calls.all()
    }

    fn push(&self, call: SlackCall) {
        self.calls.push(call);
    }
}

#[async_trait]
impl SlackWeb for RecordingSlackWeb {
    async fn respond(&self, response_url: &str, message: &Value) -> Result<(), SlackWebError> {
        // The URL lets anyone post into the channel for 30 minutes: never in a log.
        tracing::info!(%message, "Slack response_url post (recorded, not sent)");
        self.push(SlackCall::Respond {
            response_url: response_url.to_owned(),
            message: message.clone(),
        });
        Ok(())
    }

    async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<(), SlackWebError> {
        tracing::info!(%view, "Slack views.open (recorded, not sent)");
        self.push(SlackCall::OpenView {
            trigger_id: trigger_id.to_owned(),
            view: view.clone(),
        });
        Ok(())
    }

    async fn user_is_admin(&self, user: &str) -> Result<bool, SlackWebError> {
        self.push(SlackCall::UserIsAdmin {
            user: user.to_owned(),
        });
        Ok(self.admins.iter().any(|a| a == user))
    }

    async fn usergroup_members(&self, group: &str) -> Result<Vec<String>, SlackWebError> {
        self.push(SlackCall::UsergroupMembers {
            group: group.to_owned(),
        });
        Ok(self.usergroups.get(group).cloned().unwrap_or_default())
    }

    async fn user_is_bot(&self, user: &str) -> Result<bool, SlackWebError> {
        self.push(SlackCall::UserIsBot {
            user: user.to_owned(),
        });
        Ok(self.bots.iter().any(|b| b == user))
    }
}
