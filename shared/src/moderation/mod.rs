//! Moderation: cases with points that decay, escalation, pardons, appeals and the audit log.
//!
//! The rules are pure functions ([`points`], [`duration`]); the store layout is in [`cases`],
//! [`decay_seed`] (what puts a member in the decay sweep's queue), [`audit`] and [`settings`];
//! [`actions`] turns a moderator's decision into the writes and jobs that carry it out, for the
//! moderation commands and their flows.

pub mod actions;
pub mod appeal;
pub mod audit;
pub mod automod_rules;
pub mod case;
pub mod cases;
pub mod decay_seed;
pub mod duration;
pub mod points;
pub mod settings;
pub mod settings_cache;

pub use audit::{AuditAction, AuditEntry};
pub use automod_rules::RulesCache;
pub use case::{Case, CaseEvent, Kind, Source, Status};
pub use cases::{Cases, StoredCase};
pub use settings::{ModSettings, Threshold, Weights};
pub use settings_cache::{CommunityCache, SettingsCache};

/// A Unix time as a calendar date in UTC (`2026-11-24`), readable on both platforms.
pub fn date(unix_secs: i64) -> String {
    chrono::DateTime::from_timestamp(unix_secs, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| unix_secs.to_string())
}

/// A Unix time with minutes, UTC (`2026-11-24 09:30 UTC`).
pub fn date_time(unix_secs: i64) -> String {
    chrono::DateTime::from_timestamp(unix_secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| unix_secs.to_string())
}
