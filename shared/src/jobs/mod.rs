//! Work that outlives the 3-second acknowledgement: the interactions functions answer at once
//! (a deferred answer, or a final one) and publish a [`Job`] on the [`Bus`]; the worker (the
//! `worker` module, a driver above this one) does the platform calls and tells the user the
//! outcome by editing the answer. This module is the contract between them (the job, the bus port) and the schedules
//! ([`schedule`]) that wake the maintenance function.
//!
//! Delivery is at least once (EventBridge, and the in-process queue under `gavel serve`, may
//! deliver a job twice): the worker claims each job id in the store before acting, so a
//! redelivered job does not post twice.

pub mod bus;
pub mod schedule;

use serde::{Deserialize, Serialize};

use crate::case_kind::Kind;
use crate::invocation::{Invocation, Platform};
use crate::reply::Reply;

pub use bus::{Bus, BusError, UnconfiguredBus};
pub use schedule::{InProcessScheduler, ScheduleError, Scheduler, Sweep, Trigger, Wakeup};

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
    /// A case was opened: tell the member by direct message (with how to appeal), then apply
    /// the sanction on the platform (timeout, kick, ban), then post to the mod log. The DM goes
    /// first because after a kick or ban Discord no longer lets the bot reach the member.
    ApplySanction {
        case: u64,
        action: Kind,
        target: String,
        reason: String,
        /// End of a timeout or a temporary ban (Unix seconds). Temporary bans are lifted by
        /// the expiry job on every platform; Telegram is also told the end (`until_date`).
        until: Option<i64>,
        delete_message_secs: u32,
        /// Where the command was run: on Slack, the channel a kick or ban removes them from.
        channel: Option<String>,
        dm: Option<Reply>,
        modlog: Option<Post>,
    },
    /// Undo a sanction on the platform: unban, or end a timeout; then tell the member.
    LiftSanction {
        case: Option<u64>,
        action: Kind,
        target: String,
        reason: String,
        dm: Option<Reply>,
        modlog: Option<Post>,
    },
    /// An AutoMod rule deletes what it caught: delete the message, and tell the mod log
    /// (`modlog`) if it could not be done (on Slack only an admin user token may).
    DeleteMessage {
        channel: String,
        message: String,
        modlog: Option<String>,
    },
    /// A direct message to a member (an appeal's outcome).
    Notify { user: String, message: Reply },
    /// A message in a channel: a mod-log line, an appeal waiting for review with its buttons.
    Post(Post),
    /// Create the one-time schedule that wakes the maintenance function at `wakeup`'s time (a
    /// temporary ban's new end, a reminder). The worker does it, not the edge, so a command
    /// never waits on EventBridge Scheduler inside its 3 seconds.
    Schedule { wakeup: Wakeup },
    /// Delete that schedule (a cancelled reminder).
    Unschedule { wakeup: Wakeup },
    /// A reminder's time has come: DM `user` the text, or, where Gavel cannot DM them, post it
    /// in `channel` (where it was set) mentioning them.
    Remind {
        user: String,
        channel: Option<String>,
        text: String,
        /// When it was set (Unix seconds), for "set 2 hours ago".
        set_at: i64,
    },
    /// `/automod sync`: compile the community's rules into the guild's native AutoMod rules
    /// and tell what was created, updated, deleted and could not be compiled.
    SyncAutomod { guild: String },
    /// Read what the guild's native AutoMod rules did (its audit log) into cases.
    IngestAutomodAudit { guild: String },
}

/// A message for a channel, prepared by the edge (buttons included, their ids already signed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub channel: String,
    pub message: Reply,
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
    /// Send a new ephemeral follow-up with the token, leaving the answer (and its buttons) as
    /// it is (Discord).
    DiscordFollowup { token: String },
    /// Send a new ephemeral message through the `response_url`, leaving the original (Slack).
    SlackFollowup { url: String },
    /// Send the outcome as a new message in the Telegram chat the command came from (a bot
    /// cannot answer a Telegram command privately inside a group).
    TelegramChat { chat: String },
    /// Nobody waits for this job's outcome.
    Nobody,
}

impl std::fmt::Debug for ReplyTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyTarget::DiscordInteraction { .. } => f.write_str("DiscordInteraction(<token>)"),
            ReplyTarget::SlackResponseUrl { .. } => f.write_str("SlackResponseUrl(<url>)"),
            ReplyTarget::DiscordFollowup { .. } => f.write_str("DiscordFollowup(<token>)"),
            ReplyTarget::SlackFollowup { .. } => f.write_str("SlackFollowup(<url>)"),
            ReplyTarget::TelegramChat { chat } => write!(f, "TelegramChat({chat})"),
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
            (Platform::Telegram, _, _) => match &invocation.channel {
                Some(chat) => ReplyTarget::TelegramChat { chat: chat.clone() },
                None => ReplyTarget::Nobody,
            },
            _ => ReplyTarget::Nobody,
        }
    }

    /// How long the platform lets us use it.
    pub fn lifetime_secs(&self) -> i64 {
        match self {
            ReplyTarget::DiscordInteraction { .. } | ReplyTarget::DiscordFollowup { .. } => 15 * 60,
            ReplyTarget::SlackResponseUrl { .. } | ReplyTarget::SlackFollowup { .. } => 30 * 60,
            // A new message, not an edit: an hour still reads as an answer to the command.
            ReplyTarget::TelegramChat { .. } => 60 * 60,
            ReplyTarget::Nobody => i64::MAX,
        }
    }

    /// The same target, answered with a new message instead of an edit.
    pub fn as_followup(self) -> Self {
        match self {
            ReplyTarget::DiscordInteraction { token } => ReplyTarget::DiscordFollowup { token },
            ReplyTarget::SlackResponseUrl { url } => ReplyTarget::SlackFollowup { url },
            other => other,
        }
    }
}

/// Why an event handed to the worker holds no job.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the event has no detail: not an EventBridge delivery")]
    NoDetail,
    #[error("not a Gavel job: {0}")]
    NotAJob(#[source] serde_json::Error),
}

impl Job {
    /// The job in an EventBridge delivery (its `detail`).
    pub fn from_eventbridge(event: &serde_json::Value) -> Result<Self, DeliveryError> {
        let detail = event.get("detail").ok_or(DeliveryError::NoDetail)?;
        serde_json::from_value(detail.clone()).map_err(DeliveryError::NotAJob)
    }

    /// A second (third, ...) job of one invocation: its own id, so each is done once.
    pub fn numbered(mut self, index: usize) -> Self {
        if index > 0 {
            self.id = format!("{}#{index}", self.id);
        }
        self
    }

    /// A job answering `invocation`, keyed by its interaction id.
    /// The id to log: a Slack job's id holds the command's trigger id, so only its
    /// fingerprint (see [`Invocation::log_id`]).
    pub fn log_id(&self) -> String {
        match self.platform {
            Platform::Discord | Platform::Telegram => self.id.clone(),
            Platform::Slack => format!("slack-{}", crate::telemetry::fingerprint(&self.id)),
        }
    }

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
