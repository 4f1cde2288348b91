//! Discord's native AutoMod as the [`DiscordApi`](super::DiscordApi) port sees it: rules as
//! Discord stores them (`/guilds/{guild}/auto-moderation/rules`) and the audit-log entries
//! AutoMod leaves (`/guilds/{guild}/audit-logs`, action types 143 to 146).
//!
//! Written by hand rather than taken from twilight-model: its rule type requires ids and fields
//! a create body has not got, and sync compares bodies field by field, which these plain types
//! with every field defaulted make simple. Unknown fields (`guild_id`, `creator_id`) are ignored.

use serde::{Deserialize, Serialize};

/// `trigger_type` 1: the message contains a word of `keyword_filter` or matches a regex.
pub const TRIGGER_KEYWORD: u8 = 1;
/// `trigger_type` 3: Discord's own spam detection (Gavel never manages it).
pub const TRIGGER_SPAM: u8 = 3;
/// `trigger_type` 4: Discord's word lists (`presets`).
pub const TRIGGER_KEYWORD_PRESET: u8 = 4;
/// `trigger_type` 5: more distinct user and role mentions than `mention_total_limit`.
pub const TRIGGER_MENTION_SPAM: u8 = 5;

/// `event_type` 1: checked when a member sends or edits a message.
pub const EVENT_MESSAGE_SEND: u8 = 1;

/// Action `type` 1: the message is not posted; `custom_message` is what the member sees.
pub const ACTION_BLOCK_MESSAGE: u8 = 1;
/// Action `type` 2: the message is copied, with the rule that caught it, into `channel_id`.
pub const ACTION_SEND_ALERT: u8 = 2;
/// Action `type` 3: the member is timed out for `duration_seconds`.
pub const ACTION_TIMEOUT: u8 = 3;

/// Audit-log action types AutoMod writes.
pub const AUDIT_BLOCK_MESSAGE: u16 = 143;
pub const AUDIT_FLAG_TO_CHANNEL: u16 = 144;
pub const AUDIT_USER_COMMUNICATION_DISABLED: u16 = 145;
pub const AUDIT_QUARANTINE_USER: u16 = 146;

/// One native AutoMod rule: what `GET` lists (with `id`) and what `POST`/`PATCH` send (without).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoModRule {
    /// Discord's id; absent from a body to create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub event_type: u8,
    #[serde(default)]
    pub trigger_type: u8,
    #[serde(default)]
    pub trigger_metadata: TriggerMetadata,
    #[serde(default)]
    pub actions: Vec<AutoModAction>,
    /// Discord creates a rule disabled unless this is sent.
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub exempt_roles: Vec<String>,
    #[serde(default)]
    pub exempt_channels: Vec<String>,
}

/// What triggers a rule. Only the fields its `trigger_type` reads are sent (`None` is left
/// out), and each of those is sent even when empty, so an update can clear a list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword_filter: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex_patterns: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presets: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_list: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention_total_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention_raid_protection_enabled: Option<bool>,
}

/// One thing a rule does when it triggers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoModAction {
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(default)]
    pub metadata: ActionMetadata,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_message: Option<String>,
}

/// One audit-log entry, as much of it as Gavel reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLogEntry {
    pub id: String,
    #[serde(default)]
    pub action_type: u16,
    /// Who acted: for AutoMod's entries, the member whose message triggered the rule.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Whom the action was about, when Discord names someone (the member timed out).
    #[serde(default)]
    pub target_id: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub options: AuditEntryOptions,
}

/// The `options` Discord gives AutoMod's entries. Discord documents the rule's name, its
/// trigger type and the channel; a matched keyword is read when present, since the gateway's
/// execution event has one and an entry may carry it too.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntryOptions {
    #[serde(default)]
    pub auto_moderation_rule_name: Option<String>,
    /// A string in Discord's JSON ("1").
    #[serde(default)]
    pub auto_moderation_rule_trigger_type: Option<String>,
    #[serde(default)]
    pub channel_id: Option<String>,
    #[serde(default)]
    pub matched_keyword: Option<String>,
}

impl AuditLogEntry {
    /// The member the entry is about: the target when Discord names one, else the actor.
    pub fn member(&self) -> Option<&str> {
        self.target_id
            .as_deref()
            .or(self.user_id.as_deref())
            .filter(|id| !id.is_empty())
    }

    /// The entry's id as a number, for ordering (snowflakes grow with time).
    pub fn number(&self) -> u64 {
        self.id.parse().unwrap_or(0)
    }
}
