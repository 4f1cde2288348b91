//! The kinds of case: the vocabulary shared by the case ledger (moderation) and the jobs
//! that enforce cases (the job contract's `Task`). A leaf module, so the job contract can name
//! a sanction without depending on the moderation records.

use serde::{Deserialize, Serialize};

/// The kinds of infraction, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Note,
    Warning,
    Mute,
    Kick,
    TempBan,
    Ban,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Note,
        Kind::Warning,
        Kind::Mute,
        Kind::Kick,
        Kind::TempBan,
        Kind::Ban,
    ];

    /// As written in settings and `/modconfig` (`tempban`).
    pub fn code(self) -> &'static str {
        match self {
            Kind::Note => "note",
            Kind::Warning => "warning",
            Kind::Mute => "mute",
            Kind::Kick => "kick",
            Kind::TempBan => "tempban",
            Kind::Ban => "ban",
        }
    }

    /// As moderators say it: "temporary ban".
    pub fn label(self) -> &'static str {
        match self {
            Kind::Note => "note",
            Kind::Warning => "warning",
            Kind::Mute => "mute",
            Kind::Kick => "kick",
            Kind::TempBan => "temporary ban",
            Kind::Ban => "ban",
        }
    }

    /// Sanctions that last for a duration.
    pub fn is_timed(self) -> bool {
        matches!(self, Kind::Mute | Kind::TempBan)
    }

    /// Whether the platform is asked to do something (else the case is only recorded).
    pub fn acts_on_platform(self) -> bool {
        !matches!(self, Kind::Note | Kind::Warning)
    }

    pub fn emoji(self) -> &'static str {
        match self {
            Kind::Note => "📝",
            Kind::Warning => "⚠️",
            Kind::Mute => "🔇",
            Kind::Kick => "👢",
            Kind::TempBan => "⏳",
            Kind::Ban => "🔨",
        }
    }
}
