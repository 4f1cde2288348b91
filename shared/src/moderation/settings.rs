//! A community's moderation settings: weights, decay, thresholds, channels, retention, who
//! moderates on Slack. Stored as one item per tenant (`{platform}:{tenant}#config` /
//! `moderation`); every field has a default, so a community that never ran `/modconfig` gets the
//! documented behaviour and a stored document from an older version still reads.

use serde::{Deserialize, Serialize};

use super::case::Kind;
use crate::invocation::Platform;
use crate::store::keys::Community;
use crate::store::{Item, ItemKey, Store, StoreError, document};

/// Points each kind of case adds to a member's score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Weights {
    pub note: u32,
    pub warning: u32,
    pub mute: u32,
    pub kick: u32,
    pub tempban: u32,
    pub ban: u32,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            note: 0,
            warning: 1,
            mute: 2,
            kick: 3,
            tempban: 5,
            ban: 10,
        }
    }
}

impl Weights {
    pub fn of(&self, kind: Kind) -> u32 {
        match kind {
            Kind::Note => self.note,
            Kind::Warning => self.warning,
            Kind::Mute => self.mute,
            Kind::Kick => self.kick,
            Kind::TempBan => self.tempban,
            Kind::Ban => self.ban,
        }
    }

    pub fn set(&mut self, kind: Kind, points: u32) {
        let slot = match kind {
            Kind::Note => &mut self.note,
            Kind::Warning => &mut self.warning,
            Kind::Mute => &mut self.mute,
            Kind::Kick => &mut self.kick,
            Kind::TempBan => &mut self.tempban,
            Kind::Ban => &mut self.ban,
        };
        *slot = points;
    }
}

/// At `points` or more, recommend `action` (for `duration_secs` when it is timed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threshold {
    pub points: u32,
    pub action: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModSettings {
    pub weights: Weights,
    /// Linear decay of every case's points, in thousandths of a point per day (100 = 0.1).
    pub decay_milli_per_day: u32,
    pub thresholds: Vec<Threshold>,
    /// Apply a reached threshold's sanction at once instead of recommending it.
    pub auto_escalate: bool,
    /// Where every moderation action is also posted, if set.
    pub modlog_channel: Option<String>,
    /// Where appeals are posted for review, if set (else the mod-log channel).
    pub appeal_channel: Option<String>,
    /// How long after a decision the same case may be appealed again.
    pub appeal_cooldown_secs: i64,
    /// Audit entries are kept this many days.
    pub audit_retention_days: u32,
    /// Messages of the last this-many seconds removed with a ban (Discord, at most 7 days).
    pub ban_delete_message_secs: u32,
    /// Slack members who moderate besides the workspace's admins and owners.
    pub slack_moderators: Vec<String>,
    /// A Slack user group whose members moderate.
    pub slack_moderator_group: Option<String>,
}

pub const DEFAULT_MUTE_SECS: i64 = 60 * 60;
pub const DEFAULT_TEMPBAN_SECS: i64 = 7 * 86_400;
/// Discord's limit on a timeout.
pub const MAX_MUTE_SECS: i64 = 28 * 86_400;
pub const MAX_BAN_DELETE_SECS: u32 = 7 * 86_400;
pub const MAX_RETENTION_DAYS: u32 = 3_650;

impl Default for ModSettings {
    fn default() -> Self {
        Self {
            weights: Weights::default(),
            decay_milli_per_day: 100,
            thresholds: vec![
                Threshold {
                    points: 3,
                    action: Kind::Mute,
                    duration_secs: Some(DEFAULT_MUTE_SECS),
                },
                Threshold {
                    points: 6,
                    action: Kind::Kick,
                    duration_secs: None,
                },
                Threshold {
                    points: 10,
                    action: Kind::TempBan,
                    duration_secs: Some(DEFAULT_TEMPBAN_SECS),
                },
                Threshold {
                    points: 15,
                    action: Kind::Ban,
                    duration_secs: None,
                },
            ],
            auto_escalate: false,
            modlog_channel: None,
            appeal_channel: None,
            appeal_cooldown_secs: 7 * 86_400,
            audit_retention_days: 90,
            ban_delete_message_secs: 0,
            slack_moderators: Vec::new(),
            slack_moderator_group: None,
        }
    }
}

impl ModSettings {
    pub fn key(platform: Platform, tenant: &str) -> ItemKey {
        ItemKey::new(Community::new(platform, tenant).config(), "moderation")
    }

    /// Where appeals go: the appeal channel, else the mod-log channel.
    pub fn review_channel(&self) -> Option<&str> {
        self.appeal_channel
            .as_deref()
            .or(self.modlog_channel.as_deref())
    }

    pub fn retention_secs(&self) -> i64 {
        i64::from(self.audit_retention_days) * 86_400
    }

    /// The tenant's settings and the stored item's version (`None`: defaults, never saved).
    pub async fn load(
        store: &dyn Store,
        platform: Platform,
        tenant: &str,
    ) -> Result<(Self, Option<u64>), StoreError> {
        document::load(store, &Self::key(platform, tenant), "moderation settings").await
    }

    /// A stored document that no longer parses (hand-edited) falls back to the defaults
    /// rather than locking moderators out; the log says so.
    pub fn from_item(item: &Item) -> Self {
        document::read(item, "moderation settings")
    }

    /// The write that saves these settings over `version` (or creates them).
    pub fn write(
        &self,
        platform: Platform,
        tenant: &str,
        version: Option<u64>,
    ) -> crate::store::WriteOp {
        document::write(Self::key(platform, tenant), self, version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_or_partial_document_reads_as_the_defaults() {
        let empty: ModSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, ModSettings::default());
        let partial: ModSettings =
            serde_json::from_str(r#"{"weights":{"warning":2},"auto_escalate":true}"#).unwrap();
        assert_eq!(partial.weights.warning, 2);
        assert_eq!(partial.weights.ban, 10);
        assert!(partial.auto_escalate);
        assert_eq!(partial.audit_retention_days, 90);
    }

    #[test]
    fn the_review_channel_falls_back_to_the_mod_log() {
        let mut s = ModSettings {
            modlog_channel: Some("C1".into()),
            ..ModSettings::default()
        };
        assert_eq!(s.review_channel(), Some("C1"));
        s.appeal_channel = Some("C2".into());
        assert_eq!(s.review_channel(), Some("C2"));
    }
}
