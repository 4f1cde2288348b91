//! The audit log: who did what, when, with the state before and after. Every moderation
//! action, case edit, pardon, appeal decision, settings change and permission refusal writes
//! one entry, in the same transaction as the change it records, so the log never misses a
//! change nor records one that did not happen. Entries expire after the tenant's retention.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::case::Kind;
use crate::invocation::Platform;
use crate::store::keys::Community;
use crate::store::{ItemKey, NewItem, Page, PageRequest, Store, StoreError, WriteOp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Note,
    Warning,
    Mute,
    Kick,
    TempBan,
    Ban,
    Unban,
    Pardon,
    CaseEdit,
    AppealOpened,
    AppealAccepted,
    AppealDenied,
    ConfigChange,
    PermissionRefused,
    /// A member's score decayed below a threshold (recorded by the decay job).
    ThresholdCrossed,
    /// `/economy give`: money added to a member's balance.
    MoneyGiven,
    /// `/economy take`: money taken from a member's balance.
    MoneyTaken,
    /// An AutoMod rule caught a message whose action is log only (other actions open a case,
    /// audited as that case's kind).
    AutomodHit,
}

impl AuditAction {
    pub const ALL: [AuditAction; 18] = [
        AuditAction::Note,
        AuditAction::Warning,
        AuditAction::Mute,
        AuditAction::Kick,
        AuditAction::TempBan,
        AuditAction::Ban,
        AuditAction::Unban,
        AuditAction::Pardon,
        AuditAction::CaseEdit,
        AuditAction::AppealOpened,
        AuditAction::AppealAccepted,
        AuditAction::AppealDenied,
        AuditAction::ConfigChange,
        AuditAction::PermissionRefused,
        AuditAction::ThresholdCrossed,
        AuditAction::MoneyGiven,
        AuditAction::MoneyTaken,
        AuditAction::AutomodHit,
    ];

    pub fn label(self) -> &'static str {
        match self {
            AuditAction::Note => "note",
            AuditAction::Warning => "warning",
            AuditAction::Mute => "mute",
            AuditAction::Kick => "kick",
            AuditAction::TempBan => "temporary ban",
            AuditAction::Ban => "ban",
            AuditAction::Unban => "unban",
            AuditAction::Pardon => "pardon",
            AuditAction::CaseEdit => "case edit",
            AuditAction::AppealOpened => "appeal opened",
            AuditAction::AppealAccepted => "appeal accepted",
            AuditAction::AppealDenied => "appeal denied",
            AuditAction::ConfigChange => "settings change",
            AuditAction::PermissionRefused => "permission refused",
            AuditAction::ThresholdCrossed => "threshold crossed",
            AuditAction::MoneyGiven => "money given",
            AuditAction::MoneyTaken => "money taken",
            AuditAction::AutomodHit => "automod hit",
        }
    }
}

impl From<Kind> for AuditAction {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Note => AuditAction::Note,
            Kind::Warning => AuditAction::Warning,
            Kind::Mute => AuditAction::Mute,
            Kind::Kick => AuditAction::Kick,
            Kind::TempBan => AuditAction::TempBan,
            Kind::Ban => AuditAction::Ban,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Unix milliseconds.
    pub at_ms: i64,
    pub actor: String,
    pub action: AuditAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// In words: the reason, the command refused, the setting changed.
    pub detail: String,
}

impl AuditEntry {
    pub fn new(at_ms: i64, actor: &str, action: AuditAction, detail: impl Into<String>) -> Self {
        Self {
            at_ms,
            actor: actor.to_owned(),
            action,
            target: None,
            case: None,
            before: None,
            after: None,
            detail: detail.into(),
        }
    }

    pub fn target(mut self, user: &str) -> Self {
        self.target = Some(user.to_owned());
        self
    }

    pub fn case(mut self, number: u64) -> Self {
        self.case = Some(number);
        self
    }

    pub fn change(mut self, before: Option<Value>, after: Option<Value>) -> Self {
        self.before = before;
        self.after = after;
        self
    }

    pub fn partition(platform: Platform, tenant: &str) -> String {
        Community::new(platform, tenant).audit()
    }

    /// The create that records this entry. `unique` tells apart entries written in the same
    /// millisecond (the interaction id, and an index when one request writes several); a
    /// repeated request with the same `unique` collides instead of logging twice.
    pub fn write(
        &self,
        platform: Platform,
        tenant: &str,
        unique: &str,
        retention_secs: i64,
    ) -> WriteOp {
        let key = ItemKey::new(
            Self::partition(platform, tenant),
            format!("{:013}#{unique}", self.at_ms),
        );
        let expires = self.at_ms.div_euclid(1000) + retention_secs.max(1);
        WriteOp::Create(
            NewItem::new(key, serde_json::to_value(self).unwrap_or_default()).expiring_at(expires),
        )
    }

    /// The tenant's entries, newest first.
    pub async fn recent(
        store: &dyn Store,
        platform: Platform,
        tenant: &str,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<(Vec<AuditEntry>, Option<String>), StoreError> {
        let Page { items, cursor } = store
            .query(
                &Self::partition(platform, tenant),
                "",
                PageRequest {
                    limit,
                    cursor,
                    descending: true,
                },
            )
            .await?;
        let entries = items
            .into_iter()
            .filter_map(|item| serde_json::from_value(item.data).ok())
            .collect();
        Ok((entries, cursor))
    }
}
