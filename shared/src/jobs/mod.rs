//! Work that outlives the 3-second acknowledgement: the interactions functions answer at once
//! (a deferred answer, or a final one) and publish a [`Job`] on the [`Bus`]; the worker does
//! the platform calls and tells the user the outcome by editing the answer.
//!
//! Delivery is at least once (EventBridge, and the in-process queue under `gavel serve`, may
//! deliver a job twice): the worker claims each job id in the store before acting, so a
//! redelivered job does not post twice.

pub mod bus;
pub mod worker;

use serde::{Deserialize, Serialize};

use crate::invocation::{Invocation, Platform};

pub use bus::{Bus, BusError, InProcessBus, UnconfiguredBus};
pub use worker::{Outcome, Worker};

/// One unit of background work.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The idempotency key: however often the job is delivered, it is done once.
    pub id: String,
    pub platform: Platform,
    pub tenant: String,
    pub task: Task,
    /// Where the outcome is told.
    pub reply_to: ReplyTarget,
    /// Unix seconds; reply targets expire (Discord tokens after 15 min, `response_url`s 30).
    pub created_at: i64,
}

/// What to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Task {
    /// `/reportchannel`: post a first message in `channel` to prove Gavel can, then make it the
    /// community's channel for member reports.
    SetReportChannel { channel: String },
    /// A member report was sent: post it in the community's report channel, if one is set.
    DeliverReport {
        target: String,
        reporter: String,
        reason: String,
        evidence: Option<String>,
    },
}

/// Where the worker tells the outcome. Its `Debug` hides the token and URL: both are
/// credentials for the interaction.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplyTarget {
    /// Edit the interaction's original answer with its token (Discord).
    DiscordInteraction { token: String },
    /// Replace the original message through the `response_url` (Slack).
    SlackResponseUrl { url: String },
    /// Nobody waits for this job's outcome.
    Nobody,
}

impl std::fmt::Debug for ReplyTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyTarget::DiscordInteraction { .. } => f.write_str("DiscordInteraction(<token>)"),
            ReplyTarget::SlackResponseUrl { .. } => f.write_str("SlackResponseUrl(<url>)"),
            ReplyTarget::Nobody => f.write_str("Nobody"),
        }
    }
}

impl ReplyTarget {
    /// Where the answer to `invocation` can be edited later, if anywhere.
    pub fn of(invocation: &Invocation) -> Self {
        match (
            &invocation.platform,
            &invocation.interaction_token,
            &invocation.response_url,
        ) {
            (Platform::Discord, Some(token), _) => ReplyTarget::DiscordInteraction {
                token: token.clone(),
            },
            (Platform::Slack, _, Some(url)) => ReplyTarget::SlackResponseUrl { url: url.clone() },
            _ => ReplyTarget::Nobody,
        }
    }

    /// How long the platform lets us use it.
    pub fn lifetime_secs(&self) -> i64 {
        match self {
            ReplyTarget::DiscordInteraction { .. } => 15 * 60,
            ReplyTarget::SlackResponseUrl { .. } => 30 * 60,
            ReplyTarget::Nobody => i64::MAX,
        }
    }
}

impl Job {
    /// The job in an EventBridge delivery (its `detail`).
    pub fn from_eventbridge(event: &serde_json::Value) -> Result<Self, String> {
        let detail = event
            .get("detail")
            .ok_or("the event has no detail: not an EventBridge delivery")?;
        serde_json::from_value(detail.clone()).map_err(|e| format!("not a Gavel job: {e}"))
    }

    /// A job answering `invocation`, keyed by its interaction id.
    pub fn for_invocation(invocation: &Invocation, task: Task, now_secs: i64) -> Self {
        Self {
            id: format!("{}:{}", invocation.platform, invocation.id),
            platform: invocation.platform,
            tenant: invocation.tenant.clone(),
            task,
            reply_to: ReplyTarget::of(invocation),
            created_at: now_secs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_tokens_or_response_urls() {
        let job = Job {
            id: "discord:1".into(),
            platform: Platform::Discord,
            tenant: "g".into(),
            task: Task::SetReportChannel {
                channel: "c".into(),
            },
            reply_to: ReplyTarget::DiscordInteraction {
                token: "SECRET-TOKEN".into(),
            },
            created_at: 0,
        };
        let shown = format!("{job:?}");
        assert!(!shown.contains("SECRET-TOKEN"), "{shown}");
        assert!(shown.contains("DiscordInteraction(<token>)"));
        let url = ReplyTarget::SlackResponseUrl {
            url: "https://hooks.slack.com/actions/T/1/SECRET".into(),
        };
        assert!(!format!("{url:?}").contains("SECRET"));
        // Serialised for the bus, the token is there: the worker needs it.
        assert!(
            serde_json::to_string(&job)
                .unwrap()
                .contains("SECRET-TOKEN")
        );
    }
}
