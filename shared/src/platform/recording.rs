//! Platform APIs that record instead of sending: what `gavel serve` uses where no token is
//! configured (every call is logged, so the worker's effect is visible), and what the demo
//! prints from. Production uses `adapters::discord_rest` and `adapters::slack_api`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;

use super::{
    ApiError, AuditLogEntry, AutoModRule, DiscordApi, MemberRights, SlackApi, TelegramApi,
};
use crate::reply::Reply;

/// The guild owner a recording API reports unless told otherwise: no snowflake is 0, so no
/// member a test or `gavel serve` meets is taken for the owner.
pub const NOBODY: &str = "0";

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
    DiscordFollowup {
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
    DiscordTimeout {
        guild: String,
        user: String,
        /// Unix seconds; `None` lifts the timeout.
        until: Option<i64>,
        reason: String,
    },
    DiscordKick {
        guild: String,
        user: String,
        reason: String,
    },
    DiscordBan {
        guild: String,
        user: String,
        delete_message_secs: u32,
        reason: String,
    },
    DiscordUnban {
        guild: String,
        user: String,
        reason: String,
    },
    DiscordDm {
        user: String,
        content: String,
        /// The ids of the DM's buttons, if it has any.
        buttons: Vec<String>,
    },
    DiscordReply {
        channel: String,
        reply: Reply,
    },
    SlackDm {
        user: String,
        text: String,
    },
    SlackKick {
        channel: String,
        user: String,
    },
    /// `chat.delete` with the admin user token.
    SlackDelete {
        channel: String,
        message: String,
    },
    DiscordDelete {
        channel: String,
        message: String,
        reason: String,
    },
    SlackReply {
        channel: String,
        reply: Reply,
    },
    DiscordAutoModCreate {
        guild: String,
        rule: AutoModRule,
    },
    DiscordAutoModModify {
        guild: String,
        rule_id: String,
        rule: AutoModRule,
    },
    DiscordAutoModDelete {
        guild: String,
        rule_id: String,
    },
    /// `sendMessage` (to a user's id: a private message).
    TelegramMessage {
        chat: String,
        reply: Reply,
    },
    TelegramEdit {
        chat: String,
        message: String,
        reply: Reply,
    },
    TelegramAnswerCallback {
        callback: String,
        text: Option<String>,
    },
    /// `restrictChatMember`; `until` `None` gives the permissions back.
    TelegramRestrict {
        chat: String,
        user: String,
        until: Option<i64>,
    },
    TelegramBan {
        chat: String,
        user: String,
        until: Option<i64>,
        revoke_messages: bool,
    },
    /// `unbanChatMember` with `only_if_banned: true`.
    TelegramUnban {
        chat: String,
        user: String,
    },
    TelegramDelete {
        chat: String,
        message: String,
    },
}

/// How many calls a recording client keeps: enough for any test or demo to read back, and a
/// bound, so a `gavel serve` left running for days keeps its memory flat.
pub const RECENT_CALLS: usize = 1000;

/// The last [`RECENT_CALLS`] calls a recording client received, oldest first.
#[derive(Debug)]
pub struct Recent<T> {
    calls: Mutex<std::collections::VecDeque<T>>,
}

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Self {
            calls: Mutex::new(std::collections::VecDeque::new()),
        }
    }
}

impl<T: Clone> Recent<T> {
    pub fn push(&self, call: T) {
        let mut calls = self
            .calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if calls.len() == RECENT_CALLS {
            calls.pop_front();
        }
        calls.push_back(call);
    }

    pub fn all(&self) -> Vec<T> {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

/// Records the calls to either platform (the last [`RECENT_CALLS`]), oldest first.
#[derive(Debug)]
pub struct RecordingPlatform {
    calls: Recent<PlatformCall>,
    next_id: AtomicU64,
    guild_owner: String,
    /// Each guild's native AutoMod rules as the recorded calls left them, so a second sync
    /// lists what the first created and has nothing to write.
    automod: Mutex<HashMap<String, Vec<AutoModRule>>>,
    /// Audit-log entries handed in with [`RecordingPlatform::add_audit_entry`], per guild.
    audit: Mutex<HashMap<String, Vec<AuditLogEntry>>>,
    /// Telegram users `getChatMember` reports as administrators with every right, in any group.
    telegram_admins: Vec<String>,
}

impl Default for RecordingPlatform {
    fn default() -> Self {
        Self {
            calls: Recent::default(),
            next_id: AtomicU64::default(),
            guild_owner: NOBODY.to_owned(),
            automod: Mutex::default(),
            audit: Mutex::default(),
            telegram_admins: Vec::new(),
        }
    }
}

impl RecordingPlatform {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every guild's owner is `owner` (default [`NOBODY`]), for tests of acting on the owner.
    pub fn with_guild_owner(mut self, owner: impl Into<String>) -> Self {
        self.guild_owner = owner.into();
        self
    }

    /// Telegram's `getChatMember` reports `user` as an administrator with every right.
    pub fn with_telegram_admin(mut self, user: impl Into<String>) -> Self {
        self.telegram_admins.push(user.into());
        self
    }

    pub fn calls(&self) -> Vec<PlatformCall> {
        self.calls.all()
    }

    /// An entry Discord's audit log of `guild` now holds (what a native AutoMod rule did), for
    /// the demo and tests of reading it.
    pub fn add_audit_entry(&self, guild: &str, entry: AuditLogEntry) {
        lock(&self.audit)
            .entry(guild.to_owned())
            .or_default()
            .push(entry);
    }

    /// The AutoMod rules `guild` has now.
    pub fn automod_rules(&self, guild: &str) -> Vec<AutoModRule> {
        lock(&self.automod).get(guild).cloned().unwrap_or_default()
    }

    fn push(&self, call: PlatformCall) -> String {
        tracing::info!(?call, "platform call (recorded, not sent)");
        self.calls.push(call);
        (self.next_id.fetch_add(1, Ordering::Relaxed) + 1).to_string()
    }
}

#[async_trait]
impl DiscordApi for RecordingPlatform {
    async fn create_followup(
        &self,
        _token: &str,
        content: &str,
        _: Instant,
    ) -> Result<(), ApiError> {
        self.push(PlatformCall::DiscordFollowup {
            content: content.to_owned(),
        });
        Ok(())
    }

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

    async fn timeout_member(
        &self,
        guild: &str,
        user: &str,
        until: Option<i64>,
        reason: &str,
        _: Instant,
    ) -> Result<(), ApiError> {
        self.push(PlatformCall::DiscordTimeout {
            guild: guild.to_owned(),
            user: user.to_owned(),
            until,
            reason: reason.to_owned(),
        });
        Ok(())
    }

    async fn delete_message(
        &self,
        channel: &str,
        message: &str,
        reason: &str,
        _: Instant,
    ) -> Result<(), ApiError> {
        self.push(PlatformCall::DiscordDelete {
            channel: channel.to_owned(),
            message: message.to_owned(),
            reason: reason.to_owned(),
        });
        Ok(())
    }

    async fn kick_member(
        &self,
        guild: &str,
        user: &str,
        reason: &str,
        _: Instant,
    ) -> Result<(), ApiError> {
        self.push(PlatformCall::DiscordKick {
            guild: guild.to_owned(),
            user: user.to_owned(),
            reason: reason.to_owned(),
        });
        Ok(())
    }

    async fn ban_member(
        &self,
        guild: &str,
        user: &str,
        delete_message_secs: u32,
        reason: &str,
        _: Instant,
    ) -> Result<(), ApiError> {
        self.push(PlatformCall::DiscordBan {
            guild: guild.to_owned(),
            user: user.to_owned(),
            delete_message_secs,
            reason: reason.to_owned(),
        });
        Ok(())
    }

    async fn unban_member(
        &self,
        guild: &str,
        user: &str,
        reason: &str,
        _: Instant,
    ) -> Result<(), ApiError> {
        self.push(PlatformCall::DiscordUnban {
            guild: guild.to_owned(),
            user: user.to_owned(),
            reason: reason.to_owned(),
        });
        Ok(())
    }

    async fn send_dm(&self, user: &str, content: &str, _: Instant) -> Result<String, ApiError> {
        Ok(self.push(PlatformCall::DiscordDm {
            user: user.to_owned(),
            content: content.to_owned(),
            buttons: Vec::new(),
        }))
    }

    async fn send_dm_reply(
        &self,
        user: &str,
        reply: &Reply,
        _: Instant,
    ) -> Result<String, ApiError> {
        Ok(self.push(PlatformCall::DiscordDm {
            user: user.to_owned(),
            content: reply.text.clone(),
            buttons: reply.buttons.iter().map(|b| b.id.clone()).collect(),
        }))
    }

    /// Not recorded: it reads, and the worker asks before most actions.
    async fn guild_owner(&self, _guild: &str, _: Instant) -> Result<String, ApiError> {
        Ok(self.guild_owner.clone())
    }

    async fn post_reply(
        &self,
        channel: &str,
        reply: &Reply,
        _: Instant,
    ) -> Result<String, ApiError> {
        Ok(self.push(PlatformCall::DiscordReply {
            channel: channel.to_owned(),
            reply: reply.clone(),
        }))
    }

    /// Not recorded: it reads.
    async fn list_automod_rules(
        &self,
        guild: &str,
        _: Instant,
    ) -> Result<Vec<AutoModRule>, ApiError> {
        Ok(self.automod_rules(guild))
    }

    async fn create_automod_rule(
        &self,
        guild: &str,
        rule: &AutoModRule,
        _reason: &str,
        _: Instant,
    ) -> Result<AutoModRule, ApiError> {
        let id = self.push(PlatformCall::DiscordAutoModCreate {
            guild: guild.to_owned(),
            rule: rule.clone(),
        });
        let created = AutoModRule {
            id: Some(id),
            ..rule.clone()
        };
        lock(&self.automod)
            .entry(guild.to_owned())
            .or_default()
            .push(created.clone());
        Ok(created)
    }

    async fn modify_automod_rule(
        &self,
        guild: &str,
        rule_id: &str,
        rule: &AutoModRule,
        _reason: &str,
        _: Instant,
    ) -> Result<AutoModRule, ApiError> {
        self.push(PlatformCall::DiscordAutoModModify {
            guild: guild.to_owned(),
            rule_id: rule_id.to_owned(),
            rule: rule.clone(),
        });
        let mut rules = lock(&self.automod);
        let stored = rules
            .get_mut(guild)
            .and_then(|rules| rules.iter_mut().find(|r| r.id.as_deref() == Some(rule_id)))
            .ok_or_else(|| ApiError::NotFound(format!("Unknown Auto Moderation Rule {rule_id}")))?;
        // As Discord does: the trigger type stays what it was created with.
        *stored = AutoModRule {
            id: Some(rule_id.to_owned()),
            trigger_type: stored.trigger_type,
            ..rule.clone()
        };
        Ok(stored.clone())
    }

    async fn delete_automod_rule(
        &self,
        guild: &str,
        rule_id: &str,
        _reason: &str,
        _: Instant,
    ) -> Result<(), ApiError> {
        self.push(PlatformCall::DiscordAutoModDelete {
            guild: guild.to_owned(),
            rule_id: rule_id.to_owned(),
        });
        if let Some(rules) = lock(&self.automod).get_mut(guild) {
            rules.retain(|r| r.id.as_deref() != Some(rule_id));
        }
        Ok(())
    }

    /// Not recorded: it reads. Entries of `action_type` newer than `after`, oldest first, at
    /// most 100, as Discord pages them.
    async fn audit_log_entries(
        &self,
        guild: &str,
        action_type: u16,
        after: Option<&str>,
        _: Instant,
    ) -> Result<Vec<AuditLogEntry>, ApiError> {
        let after = after.and_then(|a| a.parse::<u64>().ok()).unwrap_or(0);
        let mut entries: Vec<AuditLogEntry> = lock(&self.audit)
            .get(guild)
            .into_iter()
            .flatten()
            .filter(|e| e.action_type == action_type && e.number() > after)
            .cloned()
            .collect();
        entries.sort_by_key(AuditLogEntry::number);
        entries.truncate(100);
        Ok(entries)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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

    async fn send_dm(&self, user: &str, text: &str, _: Instant) -> Result<String, ApiError> {
        Ok(self.push(PlatformCall::SlackDm {
            user: user.to_owned(),
            text: text.to_owned(),
        }))
    }

    async fn delete_message(
        &self,
        channel: &str,
        message: &str,
        _: Instant,
    ) -> Result<(), ApiError> {
        self.push(PlatformCall::SlackDelete {
            channel: channel.to_owned(),
            message: message.to_owned(),
        });
        Ok(())
    }

    async fn kick_from_channel(
        &self,
        channel: &str,
        user: &str,
        _: Instant,
    ) -> Result<(), ApiError> {
        self.push(PlatformCall::SlackKick {
            channel: channel.to_owned(),
            user: user.to_owned(),
        });
        Ok(())
    }

    async fn post_reply(
        &self,
        channel: &str,
        reply: &Reply,
        _: Instant,
    ) -> Result<String, ApiError> {
        Ok(self.push(PlatformCall::SlackReply {
            channel: channel.to_owned(),
            reply: reply.clone(),
        }))
    }
}

#[async_trait]
impl TelegramApi for RecordingPlatform {
    async fn send_reply(&self, chat: &str, reply: &Reply, _: Instant) -> Result<String, ApiError> {
        Ok(self.push(PlatformCall::TelegramMessage {
            chat: chat.to_owned(),
            reply: reply.clone(),
        }))
    }

    async fn edit_reply(
        &self,
        chat: &str,
        message: &str,
        reply: &Reply,
        _: Instant,
    ) -> Result<(), ApiError> {
        self.push(PlatformCall::TelegramEdit {
            chat: chat.to_owned(),
            message: message.to_owned(),
            reply: reply.clone(),
        });
        Ok(())
    }

    async fn answer_callback(
        &self,
        callback: &str,
        text: Option<&str>,
        _: Instant,
    ) -> Result<(), ApiError> {
        self.push(PlatformCall::TelegramAnswerCallback {
            callback: callback.to_owned(),
            text: text.map(str::to_owned),
        });
        Ok(())
    }

    async fn restrict_member(
        &self,
        chat: &str,
        user: &str,
        until: Option<i64>,
        _: Instant,
    ) -> Result<(), ApiError> {
        self.push(PlatformCall::TelegramRestrict {
            chat: chat.to_owned(),
            user: user.to_owned(),
            until,
        });
        Ok(())
    }

    async fn ban_member(
        &self,
        chat: &str,
        user: &str,
        until: Option<i64>,
        revoke_messages: bool,
        _: Instant,
    ) -> Result<(), ApiError> {
        self.push(PlatformCall::TelegramBan {
            chat: chat.to_owned(),
            user: user.to_owned(),
            until,
            revoke_messages,
        });
        Ok(())
    }

    async fn unban_member(&self, chat: &str, user: &str, _: Instant) -> Result<(), ApiError> {
        self.push(PlatformCall::TelegramUnban {
            chat: chat.to_owned(),
            user: user.to_owned(),
        });
        Ok(())
    }

    async fn delete_message(&self, chat: &str, message: &str, _: Instant) -> Result<(), ApiError> {
        self.push(PlatformCall::TelegramDelete {
            chat: chat.to_owned(),
            message: message.to_owned(),
        });
        Ok(())
    }

    /// Not recorded: it reads.
    async fn member_rights(
        &self,
        _chat: &str,
        user: &str,
        _: Instant,
    ) -> Result<MemberRights, ApiError> {
        let admin = self.telegram_admins.iter().any(|a| a == user);
        Ok(MemberRights {
            owner: false,
            administrator: admin,
            can_restrict_members: admin,
            can_delete_messages: admin,
            can_change_info: admin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorder_keeps_only_the_most_recent_calls() {
        let recent = Recent::default();
        for n in 0..RECENT_CALLS + 500 {
            recent.push(n);
        }
        let kept = recent.all();
        assert_eq!(kept.len(), RECENT_CALLS);
        assert_eq!(kept.first(), Some(&500));
        assert_eq!(kept.last(), Some(&(RECENT_CALLS + 499)));
    }
}
