//! A case: one infraction, numbered per tenant, with its history of edits. Cases are never
//! deleted; a pardon or an expiry changes the status and adds to the history.

use serde::{Deserialize, Serialize};

/// A case's kind; defined in a leaf module so the job contract can name it too.
pub use crate::case_kind::Kind;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    /// A timed sanction that ran out, or a ban lifted by `/unban`.
    Expired,
    /// Forgiven: its points no longer count. Kept, never deleted.
    Pardoned,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Expired => "expired",
            Status::Pardoned => "pardoned",
        }
    }
}

/// One change to a case, kept forever with the case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEvent {
    pub at: i64,
    pub by: String,
    /// "reason", "duration", "pardoned", "lifted", "dm", "appeal", ...
    pub what: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub number: u64,
    pub kind: Kind,
    pub target: String,
    pub moderator: String,
    pub reason: String,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    pub points: u32,
    pub status: Status,
    #[serde(default)]
    pub history: Vec<CaseEvent>,
    /// Appeals against this case are refused.
    #[serde(default)]
    pub unappealable: bool,
    /// What became of the direct message to the member ("sent", or why it failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dm: Option<String>,
    /// When the decay job found its points fully decayed and took them out of the score for
    /// good (the case itself stays, with its history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decayed_at: Option<i64>,
    /// What the case's fine took from the member's balance (never more than they had); paid
    /// back when the case is pardoned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fine: Option<i64>,
    /// What opened the case when no moderator did: an AutoMod rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// What opened a case on its own. Stored as `{"automod": "<rule id>"}`, so the rule that
/// caught a member stays on record with the case and its audit entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Automod(String),
}

impl Case {
    pub fn new(
        number: u64,
        kind: Kind,
        target: &str,
        moderator: &str,
        reason: &str,
        created_at: i64,
        duration_secs: Option<i64>,
    ) -> Self {
        Self {
            number,
            kind,
            target: target.to_owned(),
            moderator: moderator.to_owned(),
            reason: reason.to_owned(),
            created_at,
            duration_secs,
            expires_at: duration_secs.map(|d| created_at + d),
            points: 0,
            status: Status::Active,
            history: Vec::new(),
            unappealable: false,
            dm: None,
            decayed_at: None,
            fine: None,
            source: None,
        }
    }

    /// The status as of `now`: a timed sanction past its end reads as expired even before the
    /// expiry job has recorded it.
    pub fn status_at(&self, now: i64) -> Status {
        match (self.status, self.expires_at) {
            (Status::Active, Some(end)) if end <= now => Status::Expired,
            (status, _) => status,
        }
    }

    /// One line for lists: "#12 ⚠️ warning · 1 pt · active · 2026-11-24 · spam".
    pub fn summary(&self, now: i64) -> String {
        let mut line = format!(
            "#{} {} {}",
            self.number,
            self.kind.emoji(),
            self.kind.label()
        );
        if let Some(d) = self.duration_secs {
            line.push_str(&format!(" ({})", super::duration::format(d)));
        }
        line.push_str(&format!(
            " · {} pt{} · {} · {} · {}",
            self.points,
            if self.points == 1 { "" } else { "s" },
            self.status_at(now).label(),
            super::date(self.created_at),
            self.reason
        ));
        line
    }
}
