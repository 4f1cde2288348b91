//! The decay records in a member's partition, beside their cases: what puts a member in the
//! due index ([`DECAY_QUEUE`]) of the decay sweep (maintenance's `decay`), which never
//! scans for members.
//!
//! - a **seed** (`decay#{case}`), created in the same transaction as each new case with points
//!   ([`seed_op`], called by `actions`: a create on a key no one else writes, so it never
//!   conflicts), holding the threshold level the member reached then, due at the next moment
//!   something changes for them ([`points::next_change_at`]);
//! - the member's **standing** (`standing`), written only by the decay sweep: the level last
//!   recorded, due at the next change after that.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::cases::{Cases, StoredCase};
use super::points;
use super::{Case, ModSettings};
use crate::store::{ItemKey, NewItem, WriteOp};

/// The due-index queue of members whose score is about to change in a way the sweep acts on.
pub const DECAY_QUEUE: &str = "decay";
/// Sort keys of seeds start with this.
pub const SEED_PREFIX: &str = "decay#";
/// The sort key of a member's standing.
pub const STANDING: &str = "standing";

/// A threshold level (the points of the highest threshold reached, 0 for none) as of a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    pub level: u32,
    pub at: i64,
}

/// The level `cases` reach at `now`.
pub fn level_of(cases: &[Case], settings: &ModSettings, now: i64) -> u32 {
    points::reached(settings, points::score_milli(cases, settings, now)).map_or(0, |t| t.points)
}

/// The seed that puts the member of a new `case` in the decay queue; `history` is their
/// earlier cases. `None` when nothing will ever change for them (no points, or decay off).
pub fn seed_op(
    cases: &Cases<'_>,
    case: &Case,
    history: &[StoredCase],
    settings: &ModSettings,
    now: i64,
) -> Option<WriteOp> {
    let all: Vec<Case> = history
        .iter()
        .map(|s| s.case.clone())
        .chain(std::iter::once(case.clone()))
        .collect();
    let due = points::next_change_at(&all, settings, now)?;
    let level = Level {
        level: level_of(&all, settings, now),
        at: now,
    };
    Some(WriteOp::Create(
        NewItem::new(
            ItemKey::new(
                cases.member_partition(&case.target),
                format!("{SEED_PREFIX}{:010}", case.number),
            ),
            json!(level),
        )
        .due(DECAY_QUEUE, due),
    ))
}
