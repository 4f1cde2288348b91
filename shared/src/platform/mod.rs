//! Ports for the platforms' Web APIs, called by the worker (never on the acknowledgement
//! path, except Slack's `views.open` and `response_url`, which the edge calls through the
//! Slack codec's own `web` port).
//!
//! Adapters: `adapters::discord_rest`, `adapters::slack_api` and `adapters::telegram_api` over HTTPS, with each
//! platform's rate limits honoured; tests point them at fake APIs.

pub mod automod;
pub mod recording;
pub mod telegram;

use std::time::Instant;

use async_trait::async_trait;

use crate::reply::Reply;

pub use automod::{AuditLogEntry, AutoModRule};
pub use telegram::{MemberRights, TelegramApi};

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

    /// `POST /webhooks/{application}/{interaction token}`: a new ephemeral follow-up message
    /// under the interaction, leaving its answer (and the answer's buttons) as they are.
    async fn create_followup(
        &self,
        interaction_token: &str,
        content: &str,
        deadline: Instant,
    ) -> Result<(), ApiError>;

    /// `PATCH /guilds/{guild}/members/{user}` with `communication_disabled_until`: the RFC 3339
    /// time of the Unix seconds `until` (at most 28 days ahead, Discord's limit), or `None` to
    /// lift a timeout. `reason` goes to the audit log (`X-Audit-Log-Reason`).
    async fn timeout_member(
        &self,
        guild: &str,
        user: &str,
        until: Option<i64>,
        reason: &str,
        deadline: Instant,
    ) -> Result<(), ApiError>;

    /// `DELETE /channels/{channel}/messages/{message}` (Manage Messages): an AutoMod rule that
    /// deletes what it catches. A message already gone is `Ok`.
    async fn delete_message(
        &self,
        channel: &str,
        message: &str,
        reason: &str,
        deadline: Instant,
    ) -> Result<(), ApiError>;

    /// `DELETE /guilds/{guild}/members/{user}`: removes the member (they may join again).
    async fn kick_member(
        &self,
        guild: &str,
        user: &str,
        reason: &str,
        deadline: Instant,
    ) -> Result<(), ApiError>;

    /// `PUT /guilds/{guild}/bans/{user}` with `delete_message_seconds`: bans the user and
    /// deletes their messages of that many seconds back, at most 604800 (seven days, Discord's
    /// limit; a longer span deletes seven days rather than refusing the ban).
    async fn ban_member(
        &self,
        guild: &str,
        user: &str,
        delete_message_secs: u32,
        reason: &str,
        deadline: Instant,
    ) -> Result<(), ApiError>;

    /// `DELETE /guilds/{guild}/bans/{user}`. A user who is not banned (Unknown Ban) is `Ok`:
    /// the state the moderator asked for holds.
    async fn unban_member(
        &self,
        guild: &str,
        user: &str,
        reason: &str,
        deadline: Instant,
    ) -> Result<(), ApiError>;

    /// `POST /users/@me/channels` (`recipient_id`), then `POST /channels/{dm}/messages`;
    /// returns the message's id. A member who does not accept DMs is [`ApiError::Forbidden`].
    async fn send_dm(
        &self,
        user: &str,
        content: &str,
        deadline: Instant,
    ) -> Result<String, ApiError>;

    /// Like [`Self::send_dm`], with the reply's fields and buttons (an "Appeal" button for a
    /// banned member, who can no longer run commands in the server).
    async fn send_dm_reply(
        &self,
        user: &str,
        reply: &Reply,
        deadline: Instant,
    ) -> Result<String, ApiError>;

    /// `GET /guilds/{guild}`: the guild owner's user id (nobody may act against the owner).
    async fn guild_owner(&self, guild: &str, deadline: Instant) -> Result<String, ApiError>;

    /// `POST /channels/{channel}/messages` with the reply's text, fields and buttons (as an
    /// interaction answer renders them); returns the message's id. Mentions are never parsed.
    async fn post_reply(
        &self,
        channel: &str,
        reply: &Reply,
        deadline: Instant,
    ) -> Result<String, ApiError>;

    // Native AutoMod. Default bodies refuse without sending, so a client (a test double) that
    // only acts on members need not implement them; both real clients do.

    /// `GET /guilds/{guild}/auto-moderation/rules`: every rule of the guild, Gavel's or not.
    async fn list_automod_rules(
        &self,
        guild: &str,
        deadline: Instant,
    ) -> Result<Vec<AutoModRule>, ApiError> {
        let _ = (guild, deadline);
        Err(no_automod())
    }

    /// `POST /guilds/{guild}/auto-moderation/rules`; returns the rule as created (with its id).
    async fn create_automod_rule(
        &self,
        guild: &str,
        rule: &AutoModRule,
        reason: &str,
        deadline: Instant,
    ) -> Result<AutoModRule, ApiError> {
        let _ = (guild, rule, reason, deadline);
        Err(no_automod())
    }

    /// `PATCH /guilds/{guild}/auto-moderation/rules/{rule_id}` with `rule`'s body (its
    /// `trigger_type` is not sent: Discord cannot change it).
    async fn modify_automod_rule(
        &self,
        guild: &str,
        rule_id: &str,
        rule: &AutoModRule,
        reason: &str,
        deadline: Instant,
    ) -> Result<AutoModRule, ApiError> {
        let _ = (guild, rule_id, rule, reason, deadline);
        Err(no_automod())
    }

    /// `DELETE /guilds/{guild}/auto-moderation/rules/{rule_id}`. A rule already gone is `Ok`.
    async fn delete_automod_rule(
        &self,
        guild: &str,
        rule_id: &str,
        reason: &str,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        let _ = (guild, rule_id, reason, deadline);
        Err(no_automod())
    }

    /// `GET /guilds/{guild}/audit-logs?action_type={action_type}&after={after}&limit=100`:
    /// up to 100 entries of that type newer than `after` (all kept ones without), oldest first.
    async fn audit_log_entries(
        &self,
        guild: &str,
        action_type: u16,
        after: Option<&str>,
        deadline: Instant,
    ) -> Result<Vec<AuditLogEntry>, ApiError> {
        let _ = (guild, action_type, after, deadline);
        Err(no_automod())
    }
}

fn no_automod() -> ApiError {
    ApiError::NotSent("this Discord client does not manage AutoMod".to_owned())
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

    /// `chat.postMessage` with `channel` = the user's id: the message goes to the app's DM
    /// with the user. Returns the message's `ts`.
    async fn send_dm(&self, user: &str, text: &str, deadline: Instant) -> Result<String, ApiError>;

    /// `chat.delete` of a member's message (`message` is its `ts`). Only a workspace admin's
    /// user token may (`SLACK_ADMIN_USER_TOKEN`): a bot token deletes only its own messages.
    /// A message already gone is `Ok`.
    async fn delete_message(
        &self,
        channel: &str,
        message: &str,
        deadline: Instant,
    ) -> Result<(), ApiError>;

    /// `conversations.kick`: removes `user` from `channel`. A user already outside the channel
    /// is `Ok`: the state the moderator asked for holds.
    async fn kick_from_channel(
        &self,
        channel: &str,
        user: &str,
        deadline: Instant,
    ) -> Result<(), ApiError>;

    /// `chat.postMessage` with the reply as Block Kit (as an interaction answer renders it) and
    /// its text as the notification fallback; returns the message's `ts`.
    async fn post_reply(
        &self,
        channel: &str,
        reply: &Reply,
        deadline: Instant,
    ) -> Result<String, ApiError>;
}
