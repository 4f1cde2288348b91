//! Appeals: a member asks the moderators to reconsider one of their cases.
//!
//! One record per case, `{platform}:{tenant}#appeal` / `case#{n:010}`, created when the case is
//! first appealed and replaced (a versioned update) when it is appealed again after a decision
//! and the cooldown, so there is never more than one open appeal per case. The record is
//! written in one transaction with its audit entry and the review's flow state; the decision
//! (the `/appeal` command's review flow) updates it in the review's finishing transaction.
//!
//! A review waits [`REVIEW_LIFETIME_SECS`]. An appeal nobody decided by then has *lapsed*: its
//! buttons answer that they expired, and the member may appeal again at once (no decision, so
//! no cooldown).

use serde::{Deserialize, Serialize};

use super::case::{Case, Status};
use super::settings::ModSettings;
use crate::invocation::Platform;
use crate::store::keys::Community;
use crate::store::{ItemKey, NewItem, Store, StoreError, WriteOp};

/// How long an appeal waits for a moderator's decision: long enough for a small team's
/// weekly round, short enough that a forgotten appeal does not block the member for ever.
pub const REVIEW_LIFETIME_SECS: i64 = 14 * 86_400;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppealStatus {
    Open,
    Accepted,
    Denied,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appeal {
    pub case: u64,
    /// The member who appealed (the case's target).
    pub user: String,
    pub reason: String,
    pub status: AppealStatus,
    pub opened_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// What the decision did beyond its status ("pardoned, sanction lifted").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The nonce of the review's shared flow run.
    pub review: String,
}

impl Appeal {
    pub fn open(case: u64, user: &str, reason: &str, now: i64, review: &str) -> Self {
        Self {
            case,
            user: user.to_owned(),
            reason: reason.to_owned(),
            status: AppealStatus::Open,
            opened_at: now,
            decided_at: None,
            decided_by: None,
            note: None,
            review: review.to_owned(),
        }
    }

    /// Open, but its review expired undecided.
    pub fn lapsed(&self, now: i64) -> bool {
        self.status == AppealStatus::Open && now >= self.opened_at + REVIEW_LIFETIME_SECS
    }

    /// Open and still waiting for a decision.
    pub fn pending(&self, now: i64) -> bool {
        self.status == AppealStatus::Open && !self.lapsed(now)
    }

    /// This appeal decided by `moderator` at `now`.
    pub fn decided(&self, status: AppealStatus, moderator: &str, now: i64) -> Self {
        Self {
            status,
            decided_at: Some(now),
            decided_by: Some(moderator.to_owned()),
            ..self.clone()
        }
    }
}

/// An appeal as read, with the version its next write must name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAppeal {
    pub appeal: Appeal,
    pub version: u64,
}

pub fn key(platform: Platform, tenant: &str, case: u64) -> ItemKey {
    ItemKey::new(
        Community::new(platform, tenant).appeals(),
        format!("case#{case:010}"),
    )
}

/// The appeal of `case`, if it was ever appealed.
pub async fn load(
    store: &dyn Store,
    platform: Platform,
    tenant: &str,
    case: u64,
) -> Result<Option<StoredAppeal>, StoreError> {
    let Some(item) = store.get(&key(platform, tenant, case)).await? else {
        return Ok(None);
    };
    let appeal = serde_json::from_value(item.data)
        .map_err(|e| StoreError::Invalid(format!("unreadable appeal of case {case}: {e}")))?;
    Ok(Some(StoredAppeal {
        appeal,
        version: item.version,
    }))
}

/// The write that saves `appeal`: a create for a case never appealed, else an update of the
/// version read, so two writers never both succeed.
pub fn write(platform: Platform, tenant: &str, appeal: &Appeal, previous: Option<u64>) -> WriteOp {
    let item = NewItem::new(
        key(platform, tenant, appeal.case),
        serde_json::to_value(appeal).unwrap_or_default(),
    );
    match previous {
        Some(expected_version) => WriteOp::Update {
            item,
            expected_version,
        },
        None => WriteOp::Create(item),
    }
}

/// Why `user` may not appeal `case` now, in a sentence for them; `None` if they may.
pub fn refusal(
    case: &Case,
    user: &str,
    previous: Option<&Appeal>,
    settings: &ModSettings,
    now: i64,
) -> Option<String> {
    let n = case.number;
    if case.target != user {
        return Some(format!(
            "Case #{n} is not one of yours; you can only appeal your own cases."
        ));
    }
    if previous.is_some_and(|a| a.status == AppealStatus::Accepted) {
        return Some(format!(
            "Your appeal of case #{n} was already accepted; there is nothing more to appeal."
        ));
    }
    if case.status == Status::Pardoned {
        return Some(format!(
            "Case #{n} is already pardoned; there is nothing to appeal."
        ));
    }
    if case.unappealable {
        return Some(format!(
            "The moderators marked case #{n} as not open to appeal."
        ));
    }
    match previous {
        Some(appeal) if appeal.pending(now) => Some(format!(
            "Your appeal of case #{n} is already open; the moderators will decide on it (until {} at the latest).",
            super::date(appeal.opened_at + REVIEW_LIFETIME_SECS)
        )),
        Some(Appeal {
            status: AppealStatus::Denied,
            decided_at: Some(decided),
            ..
        }) if now < decided + settings.appeal_cooldown_secs => Some(format!(
            "Your appeal of case #{n} was denied on {}; you can appeal it again from {}.",
            super::date_time(*decided),
            super::date_time(decided + settings.appeal_cooldown_secs)
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moderation::Kind;

    const NOW: i64 = 1_764_000_000;

    fn case() -> Case {
        Case::new(7, Kind::Ban, "u1", "m1", "spam", NOW - 86_400, None)
    }

    fn denied(at: i64) -> Appeal {
        Appeal::open(7, "u1", "sorry", at - 60, "n").decided(AppealStatus::Denied, "m2", at)
    }

    #[test]
    fn a_fresh_case_of_ones_own_may_be_appealed() {
        assert_eq!(
            refusal(&case(), "u1", None, &ModSettings::default(), NOW),
            None
        );
    }

    #[test]
    fn each_refusal_says_why() {
        let s = ModSettings::default();
        let says = |c: &Case, user: &str, prev: Option<&Appeal>, now: i64| {
            refusal(c, user, prev, &s, now).unwrap_or_default()
        };
        assert!(says(&case(), "u2", None, NOW).contains("not one of yours"));
        let mut pardoned = case();
        pardoned.status = Status::Pardoned;
        assert!(says(&pardoned, "u1", None, NOW).contains("already pardoned"));
        let accepted = denied(NOW).decided(AppealStatus::Accepted, "m2", NOW);
        assert!(says(&pardoned, "u1", Some(&accepted), NOW).contains("already accepted"));
        let mut closed = case();
        closed.unappealable = true;
        assert!(says(&closed, "u1", None, NOW).contains("not open to appeal"));
        let open = Appeal::open(7, "u1", "sorry", NOW - 60, "n");
        assert!(says(&case(), "u1", Some(&open), NOW).contains("already open"));
        let cooling = says(&case(), "u1", Some(&denied(NOW - 3600)), NOW);
        assert!(cooling.contains("appeal it again from"), "{cooling}");
        assert!(
            cooling.contains(&crate::moderation::date_time(
                NOW - 3600 + s.appeal_cooldown_secs
            )),
            "{cooling}"
        );
    }

    #[test]
    fn the_cooldown_and_the_review_lifetime_end() {
        let s = ModSettings::default();
        let decided = NOW - s.appeal_cooldown_secs;
        assert_eq!(
            refusal(&case(), "u1", Some(&denied(decided)), &s, NOW),
            None
        );
        assert!(refusal(&case(), "u1", Some(&denied(decided + 1)), &s, NOW).is_some());
        // An appeal nobody decided within the review's lifetime lapses: no cooldown applies.
        let open = Appeal::open(7, "u1", "sorry", NOW - REVIEW_LIFETIME_SECS, "n");
        assert!(open.lapsed(NOW) && !open.pending(NOW));
        assert_eq!(refusal(&case(), "u1", Some(&open), &s, NOW), None);
        assert!(open.pending(NOW - 1));
    }
}
