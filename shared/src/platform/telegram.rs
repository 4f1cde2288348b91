//! What Gavel needs from the Telegram Bot API: the worker's moderation and messages, and the
//! edge's two calls inside a webhook answer (a member's administrator rights, and the edit of a
//! clicked message). Chats and users are Telegram's numeric ids, as decimal text.

use std::time::Instant;

use async_trait::async_trait;

use super::ApiError;
use crate::reply::Reply;

/// `until_date` values Telegram reads as "forever": under 30 seconds or over 366 days from now.
/// A temporary sanction outside that window is applied as a permanent one, and Gavel's own
/// expiry lifts it (the maintenance sweep), as on Discord.
pub const MIN_UNTIL_SECS: i64 = 30;
pub const MAX_UNTIL_SECS: i64 = 366 * 24 * 60 * 60;

/// The `until_date` to send for a sanction ending at `until` (Unix seconds), seen at `now`.
/// A sanction ending sooner than Telegram can express lasts its 30 seconds (rather than
/// forever); one ending later than 366 days is sent as forever (`None`), and Gavel's own
/// expiry lifts it on time.
pub fn until_date(until: Option<i64>, now: i64) -> Option<i64> {
    let until = until?;
    let ahead = until - now;
    if ahead < MIN_UNTIL_SECS {
        Some(now + MIN_UNTIL_SECS)
    } else if ahead > MAX_UNTIL_SECS {
        None
    } else {
        Some(until)
    }
}

/// What a member may do in a group, from `getChatMember`: the administrator rights Gavel maps
/// to its capabilities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemberRights {
    /// The group's creator: every right.
    pub owner: bool,
    pub administrator: bool,
    /// Ban, restrict (mute) and unban members.
    pub can_restrict_members: bool,
    pub can_delete_messages: bool,
    /// Change the group's settings: what Discord calls Manage Server.
    pub can_change_info: bool,
}

/// The Telegram Bot API, as the worker and the edge call it.
#[async_trait]
pub trait TelegramApi: Send + Sync {
    /// `sendMessage` with the reply as HTML (everything escaped) and its buttons as an inline
    /// keyboard; returns the message's id. To a user's id it is a private message, which
    /// Telegram refuses (403) unless the user has started the bot.
    async fn send_reply(
        &self,
        chat: &str,
        reply: &Reply,
        deadline: Instant,
    ) -> Result<String, ApiError>;

    /// `editMessageText` of a message the bot sent (a clicked message's new content).
    async fn edit_reply(
        &self,
        chat: &str,
        message: &str,
        reply: &Reply,
        deadline: Instant,
    ) -> Result<(), ApiError>;

    /// `answerCallbackQuery`: stops the clicking user's spinner, with an optional toast.
    async fn answer_callback(
        &self,
        callback: &str,
        text: Option<&str>,
        deadline: Instant,
    ) -> Result<(), ApiError>;

    /// `restrictChatMember`: no sending until `until` (Unix seconds; `None` lifts the
    /// restriction, giving back the group's default permissions).
    async fn restrict_member(
        &self,
        chat: &str,
        user: &str,
        until: Option<i64>,
        deadline: Instant,
    ) -> Result<(), ApiError>;

    /// `banChatMember` until `until` (`None` forever), deleting their recent messages when
    /// `revoke_messages`.
    async fn ban_member(
        &self,
        chat: &str,
        user: &str,
        until: Option<i64>,
        revoke_messages: bool,
        deadline: Instant,
    ) -> Result<(), ApiError>;

    /// `unbanChatMember` with `only_if_banned: true`: without it Telegram removes a member
    /// who is in the group (one who rejoined after the ban ended on Telegram's side).
    async fn unban_member(&self, chat: &str, user: &str, deadline: Instant)
    -> Result<(), ApiError>;

    /// `deleteMessage` (messages under 48 hours old). A message already gone is `Ok`.
    async fn delete_message(
        &self,
        chat: &str,
        message: &str,
        deadline: Instant,
    ) -> Result<(), ApiError>;

    /// `getChatMember`: the member's administrator rights (reliable only while the bot is an
    /// administrator). Clients may keep answers for a while.
    async fn member_rights(
        &self,
        chat: &str,
        user: &str,
        deadline: Instant,
    ) -> Result<MemberRights, ApiError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanctions_telegram_would_read_as_forever_are_sent_as_forever() {
        let now = 1_700_000_000;
        assert_eq!(until_date(Some(now + 3600), now), Some(now + 3600));
        assert_eq!(until_date(Some(now + 29), now), Some(now + MIN_UNTIL_SECS));
        assert_eq!(until_date(Some(now + MAX_UNTIL_SECS + 1), now), None);
        assert_eq!(
            until_date(Some(now + MAX_UNTIL_SECS), now),
            Some(now + MAX_UNTIL_SECS)
        );
        assert_eq!(until_date(None, now), None);
    }
}
