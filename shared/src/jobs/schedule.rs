//! Schedules: the periodic ones that run maintenance sweeps ([`Sweep`]), and the one-time
//! ones at the exact moment a temporary ban ends or a reminder is due ([`Wakeup`]).
//!
//! The [`Scheduler`] port creates a schedule that delivers a [`Trigger::Wake`] to the
//! maintenance function at a time, and deletes it. On AWS it is EventBridge Scheduler
//! (`adapters::scheduler`: an `at(...)` expression, deleted after it runs); under `gavel serve`
//! it is [`InProcessScheduler`], ticked by the server. Schedules are an optimisation for
//! punctuality only: the periodic sweep over the due index finds everything a schedule would,
//! so a schedule that was never created, or fired twice, or fired after the item changed,
//! costs nothing but a look.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::invocation::Platform;

/// The maintenance sweeps, as named in periodic schedules and on the command line. They live
/// here, beside the triggers that name them, because the schedules (and so the jobs that
/// make them) need the names without depending on the maintenance driver that runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sweep {
    /// Lift temporary bans whose end has come.
    Expire,
    /// Record threshold crossings as scores decay; prune fully decayed points.
    Decay,
    /// Delete what expired but TTL has not removed yet.
    Cleanup,
    /// Deliver reminders whose time has come.
    Reminders,
    /// Hand the worker each guild whose native AutoMod Gavel manages, to read what it did
    /// from the audit log into cases.
    AutomodAudit,
}

impl Sweep {
    pub const ALL: [Sweep; 5] = [
        Sweep::Expire,
        Sweep::Decay,
        Sweep::Cleanup,
        Sweep::Reminders,
        Sweep::AutomodAudit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Sweep::Expire => "expire",
            Sweep::Decay => "decay",
            Sweep::Cleanup => "cleanup",
            Sweep::Reminders => "reminders",
            Sweep::AutomodAudit => "automod_audit",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|j| j.as_str() == name)
    }
}

impl fmt::Display for Sweep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a one-time schedule wakes the maintenance function for. It names the item, never its
/// state: the maintenance function reads the item and decides, so a stale schedule (the ban
/// was edited, pardoned, superseded; the reminder cancelled) does nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Wakeup {
    /// A temporary ban's end: lift case `case` of `target` if it is still due.
    LiftExpired {
        platform: Platform,
        tenant: String,
        target: String,
        case: u64,
        /// The case's end when the schedule was made (Unix seconds).
        at: i64,
    },
    /// A reminder's time: deliver reminder `id` of `user` if it is still pending.
    DeliverReminder {
        platform: Platform,
        tenant: String,
        user: String,
        id: u64,
        at: i64,
    },
}

impl Wakeup {
    /// When it fires (Unix seconds).
    pub fn at(&self) -> i64 {
        match self {
            Wakeup::LiftExpired { at, .. } | Wakeup::DeliverReminder { at, .. } => *at,
        }
    }

    /// The schedule's name: derived from the item and the time, so creating it again (a
    /// redelivered job) finds the same schedule instead of making a second, and an edited end
    /// gets a schedule of its own. EventBridge Scheduler allows `[0-9a-zA-Z-_.]`, 64 at most;
    /// tenant and user ids are hashed to stay within that whatever they hold.
    pub fn name(&self) -> String {
        let (kind, item) = match self {
            Wakeup::LiftExpired {
                platform,
                tenant,
                target,
                case,
                ..
            } => ("lift", format!("{platform}:{tenant}:{target}:{case}")),
            Wakeup::DeliverReminder {
                platform,
                tenant,
                user,
                id,
                ..
            } => ("remind", format!("{platform}:{tenant}:{user}:{id}")),
        };
        let digest = hex::encode(Sha256::digest(item.as_bytes()));
        format!("gavel-{kind}-{}-{}", &digest[..20], self.at())
    }
}

/// What invokes the maintenance function: a periodic schedule naming sweeps to run, or a
/// one-time schedule for one item. As JSON: `{"run": ["expire", "reminders"]}` or
/// `{"wake": {"kind": "lift_expired", ...}}` (the `Input` of the schedules in template.yaml).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Run(Vec<Sweep>),
    Wake(Wakeup),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Throttled or unreachable: worth trying again later.
    #[error("the scheduler is unavailable: {0}")]
    Unavailable(String),
    #[error("the schedule could not be changed: {0}")]
    Failed(String),
}

/// One-time schedules that deliver a [`Trigger::Wake`] to the maintenance function.
#[async_trait]
pub trait Scheduler: Send + Sync {
    /// Creates the schedule for `wakeup` at its time, deleted once it has run. Creating a
    /// schedule that exists (same [`Wakeup::name`]) succeeds and changes nothing.
    async fn create(&self, wakeup: &Wakeup) -> Result<(), ScheduleError>;

    /// Deletes the schedule for `wakeup`; one that is gone already (it ran, or was never made)
    /// counts as deleted.
    async fn delete(&self, wakeup: &Wakeup) -> Result<(), ScheduleError>;
}

/// The scheduler of `gavel serve`: schedules in memory, handed out by [`Self::take_due`] when
/// the server's ticker asks. Not persisted: after a restart the periodic sweep finds what was
/// pending, as it would after any missed schedule on AWS.
#[derive(Default)]
pub struct InProcessScheduler {
    pending: Mutex<BTreeMap<String, Wakeup>>,
}

impl InProcessScheduler {
    pub fn new() -> Self {
        Self::default()
    }

    /// The schedules due at `now`, removed as they are handed out (as EventBridge Scheduler
    /// deletes a one-time schedule after it ran).
    pub fn take_due(&self, now: i64) -> Vec<Wakeup> {
        let mut pending = self.lock();
        let due: Vec<String> = pending
            .iter()
            .filter(|(_, w)| w.at() <= now)
            .map(|(name, _)| name.clone())
            .collect();
        due.iter().filter_map(|name| pending.remove(name)).collect()
    }

    /// How many schedules wait.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Wakeup>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Scheduler for InProcessScheduler {
    async fn create(&self, wakeup: &Wakeup) -> Result<(), ScheduleError> {
        self.lock()
            .entry(wakeup.name())
            .or_insert_with(|| wakeup.clone());
        Ok(())
    }

    async fn delete(&self, wakeup: &Wakeup) -> Result<(), ScheduleError> {
        self.lock().remove(&wakeup.name());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lift(at: i64) -> Wakeup {
        Wakeup::LiftExpired {
            platform: Platform::Discord,
            tenant: "1174109840998400001".into(),
            target: "1174109840998400077".into(),
            case: 12,
            at,
        }
    }

    #[test]
    fn names_are_stable_valid_and_differ_by_item_and_time() {
        let name = lift(1_800_000_000).name();
        assert_eq!(name, lift(1_800_000_000).name());
        assert_ne!(name, lift(1_800_000_060).name());
        assert!(name.len() <= 64, "{name}");
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'),
            "{name}"
        );
        let reminder = Wakeup::DeliverReminder {
            platform: Platform::Slack,
            tenant: "T0".repeat(40),
            user: "U".repeat(80),
            id: 3,
            at: 1_800_000_000,
        };
        assert!(reminder.name().len() <= 64);
        assert!(reminder.name().starts_with("gavel-remind-"));
    }

    #[test]
    fn triggers_read_as_the_template_writes_them() {
        let run: Trigger = serde_json::from_str(r#"{"run": ["expire", "reminders"]}"#).unwrap();
        assert_eq!(run, Trigger::Run(vec![Sweep::Expire, Sweep::Reminders]));
        let wake = Trigger::Wake(lift(5));
        let json = serde_json::to_value(&wake).unwrap();
        assert_eq!(json["wake"]["kind"], "lift_expired");
        assert_eq!(serde_json::from_value::<Trigger>(json).unwrap(), wake);
    }

    #[test]
    fn sweep_names_round_trip() {
        for sweep in Sweep::ALL {
            assert_eq!(Sweep::parse(sweep.as_str()), Some(sweep));
        }
        assert_eq!(Sweep::parse("sweep"), None);
    }

    #[tokio::test]
    async fn the_in_process_scheduler_hands_out_each_due_schedule_once() {
        let scheduler = InProcessScheduler::new();
        scheduler.create(&lift(10)).await.unwrap();
        scheduler.create(&lift(10)).await.unwrap();
        scheduler.create(&lift(20)).await.unwrap();
        assert_eq!(
            scheduler.pending(),
            2,
            "creating a name twice makes one schedule"
        );
        assert!(scheduler.take_due(9).is_empty());
        assert_eq!(scheduler.take_due(10), vec![lift(10)]);
        assert!(scheduler.take_due(15).is_empty(), "deleted after it ran");
        scheduler.delete(&lift(20)).await.unwrap();
        scheduler.delete(&lift(20)).await.unwrap();
        assert!(scheduler.take_due(100).is_empty());
    }
}
