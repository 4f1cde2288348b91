//! Reminders: `/remind in 2h text` stores a reminder for its author, a one-time schedule
//! wakes the maintenance function at its time, and the sweep over the due index
//! ([`REMINDER_QUEUE`]) catches any the schedule missed. Delivery is one conditional write on
//! the reminder's version (pending → delivered) with the delivery job in the outbox, so the
//! schedule and the sweep together, or a cancel at the same moment, deliver it at most once,
//! and the worker's claim on the job id makes it exactly once.
//!
//! Layout: `{p}:{t}#remind#{user}` holds a user's reminders (`r#{id:08}`) and the counter
//! their ids come from (`counter`), so `/remind list` is one query. A pending reminder never
//! expires; a delivered one is kept a day (so a late schedule reads "already delivered") and
//! then expires.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Budget, JobName, Maintenance, Report, Wakeup, outbox};
use crate::invocation::Platform;
use crate::jobs::{Job, ReplyTarget, Task};
use crate::store::{Item, ItemKey, NewItem, PageRequest, Store, StoreError, WriteOp};

/// The due-index queue of pending reminders.
pub const REMINDER_QUEUE: &str = "reminders";
/// Pending reminders one person may have at once.
pub const MAX_PENDING: usize = 25;
/// The longest a reminder may wait.
pub const MAX_WAIT_SECS: i64 = 366 * 86_400;
/// The longest reminder text.
pub const MAX_TEXT_CHARS: usize = 1_000;
/// How long a delivered reminder is kept.
const DELIVERED_KEPT_SECS: i64 = 86_400;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReminderStatus {
    Pending,
    Delivered,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    pub id: u64,
    pub user: String,
    /// Where it was set: where it is posted if Gavel cannot DM the user.
    pub channel: Option<String>,
    pub text: String,
    pub created_at: i64,
    pub due_at: i64,
    pub status: ReminderStatus,
}

/// A user's reminders in one community.
#[derive(Clone, Copy)]
pub struct Reminders<'a> {
    pub store: &'a dyn Store,
    pub platform: Platform,
    pub tenant: &'a str,
}

impl<'a> Reminders<'a> {
    pub fn new(store: &'a dyn Store, platform: Platform, tenant: &'a str) -> Self {
        Self {
            store,
            platform,
            tenant,
        }
    }

    fn partition(&self, user: &str) -> String {
        format!("{}:{}#remind#{user}", self.platform, self.tenant)
    }

    fn key(&self, user: &str, id: u64) -> ItemKey {
        ItemKey::new(self.partition(user), format!("r#{id:08}"))
    }

    pub fn wakeup(&self, reminder: &Reminder) -> Wakeup {
        Wakeup::DeliverReminder {
            platform: self.platform,
            tenant: self.tenant.to_owned(),
            user: reminder.user.clone(),
            id: reminder.id,
            at: reminder.due_at,
        }
    }

    /// The user's pending reminders, soonest first.
    pub async fn pending(&self, user: &str) -> Result<Vec<Reminder>, StoreError> {
        let mut pending = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .store
                .query(
                    &self.partition(user),
                    "r#",
                    PageRequest {
                        limit: 100,
                        cursor,
                        descending: false,
                    },
                )
                .await?;
            pending.extend(
                page.items
                    .into_iter()
                    .filter_map(|item| serde_json::from_value::<Reminder>(item.data).ok())
                    .filter(|r| r.status == ReminderStatus::Pending),
            );
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        pending.sort_by_key(|r| (r.due_at, r.id));
        Ok(pending)
    }

    /// Stores a reminder for `user` at `due_at`, with the next id of theirs.
    pub async fn create(
        &self,
        user: &str,
        channel: Option<String>,
        text: &str,
        now: i64,
        due_at: i64,
    ) -> Result<Reminder, StoreError> {
        let counter = ItemKey::new(self.partition(user), "counter");
        let id = self.store.increment(&counter, 1, None, None).await? as u64;
        let reminder = Reminder {
            id,
            user: user.to_owned(),
            channel,
            text: text.to_owned(),
            created_at: now,
            due_at,
            status: ReminderStatus::Pending,
        };
        self.store
            .create(NewItem::new(self.key(user, id), json!(reminder)).due(REMINDER_QUEUE, due_at))
            .await?;
        Ok(reminder)
    }

    async fn get(&self, user: &str, id: u64) -> Result<Option<(Reminder, u64)>, StoreError> {
        match self.store.get(&self.key(user, id)).await? {
            Some(item) => Ok(Some((read(&item)?, item.version))),
            None => Ok(None),
        }
    }

    /// Cancels a pending reminder; the result says what there was to cancel.
    pub async fn cancel(&self, user: &str, id: u64) -> Result<Cancelled, StoreError> {
        let Some((reminder, version)) = self.get(user, id).await? else {
            return Ok(Cancelled::NotFound);
        };
        if reminder.status == ReminderStatus::Delivered {
            return Ok(Cancelled::AlreadyDelivered);
        }
        match self.store.delete(&self.key(user, id), Some(version)).await {
            Ok(()) => Ok(Cancelled::Cancelled(reminder)),
            // Delivered this very moment.
            Err(StoreError::VersionConflict { .. }) => Ok(Cancelled::AlreadyDelivered),
            Err(error) => Err(error),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cancelled {
    Cancelled(Reminder),
    AlreadyDelivered,
    NotFound,
}

fn read(item: &Item) -> Result<Reminder, StoreError> {
    serde_json::from_value(item.data.clone())
        .map_err(|e| StoreError::Invalid(format!("unreadable reminder {}: {e}", item.key.sk)))
}

/// `{p}:{t}#remind#{user}` → the community and the user.
fn owner_of(pk: &str) -> Option<(Platform, &str, &str)> {
    let (scope, user) = pk.split_once("#remind#")?;
    let (platform, tenant) = scope.split_once(':')?;
    let platform = match platform {
        "discord" => Platform::Discord,
        "slack" => Platform::Slack,
        _ => return None,
    };
    (!tenant.is_empty() && !user.is_empty()).then_some((platform, tenant, user))
}

/// What became of one reminder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    NotDue {
        at: i64,
    },
    AlreadyDelivered,
    /// Cancelled (or never set).
    Gone,
    Contended,
}

const COUNTS: [&str; 5] = ["delivered", "stale", "contended", "republished", "failed"];

pub(super) async fn sweep(m: &Maintenance, budget: Budget) -> Report {
    let mut report = Report::new(JobName::Reminders, &COUNTS);
    let mut pages = budget.pages();
    outbox::drain(m, JobName::Reminders, &mut pages, &mut report).await;
    let now = m.now();
    let mut cursor = None;
    loop {
        if !pages.another() {
            report.more = true;
            break;
        }
        let page = match m.store.due_by(REMINDER_QUEUE, now, m.page(cursor)).await {
            Ok(page) => page,
            Err(error) => {
                report.add("failed", 1);
                report.note(format!("could not read the reminder queue: {error}"));
                break;
            }
        };
        for item in page.items {
            let Some((platform, tenant, user)) = owner_of(&item.key.pk) else {
                report.add("failed", 1);
                report.note(format!("{} is not a reminder partition", item.key.pk));
                continue;
            };
            let id = match read(&item) {
                Ok(reminder) => reminder.id,
                Err(error) => {
                    report.add("failed", 1);
                    report.note(error.to_string());
                    continue;
                }
            };
            let outcome = deliver(m, platform, tenant, user, id, now).await;
            tally(&mut report, id, outcome);
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    report
}

pub(super) async fn wake(
    m: &Maintenance,
    platform: Platform,
    tenant: &str,
    user: &str,
    id: u64,
) -> Report {
    let mut report = Report::new(JobName::Reminders, &COUNTS);
    let outcome = deliver(m, platform, tenant, user, id, m.now()).await;
    tally(&mut report, id, outcome);
    report
}

fn tally(report: &mut Report, id: u64, outcome: Result<Delivery, StoreError>) {
    match outcome {
        Ok(Delivery::Delivered) => report.add("delivered", 1),
        Ok(Delivery::Contended) => {
            report.add("contended", 1);
            report.note(format!(
                "reminder {id} changed meanwhile; the next run looks again"
            ));
        }
        Ok(other) => {
            report.add("stale", 1);
            report.note(match other {
                Delivery::NotDue { at } => format!(
                    "reminder {id} is due {}, not yet",
                    crate::moderation::date_time(at)
                ),
                Delivery::AlreadyDelivered => format!("reminder {id} was already delivered"),
                _ => format!("reminder {id} was cancelled"),
            });
        }
        Err(error) => {
            report.add("failed", 1);
            report.note(format!("reminder {id}: {error}; the next run tries again"));
        }
    }
}

/// The job that delivers reminder `id`: one per reminder, so every publish of it is absorbed
/// by the worker's claim but the first.
pub fn delivery_job_id(platform: Platform, tenant: &str, user: &str, id: u64) -> String {
    format!("remind:{platform}:{tenant}:{user}:{id}")
}

/// Delivers reminder `id` of `user` if it is pending and due, exactly once.
async fn deliver(
    m: &Maintenance,
    platform: Platform,
    tenant: &str,
    user: &str,
    id: u64,
    now: i64,
) -> Result<Delivery, StoreError> {
    let reminders = Reminders::new(m.store.as_ref(), platform, tenant);
    let Some((mut reminder, version)) = reminders.get(user, id).await? else {
        return Ok(Delivery::Gone);
    };
    match reminder.status {
        ReminderStatus::Delivered => return Ok(Delivery::AlreadyDelivered),
        ReminderStatus::Pending if reminder.due_at > now => {
            return Ok(Delivery::NotDue {
                at: reminder.due_at,
            });
        }
        ReminderStatus::Pending => {}
    }
    reminder.status = ReminderStatus::Delivered;
    let job = Job {
        id: delivery_job_id(platform, tenant, user, id),
        platform,
        tenant: tenant.to_owned(),
        task: Task::Remind {
            user: user.to_owned(),
            channel: reminder.channel.clone(),
            text: reminder.text.clone(),
            set_at: reminder.created_at,
        },
        reply_to: ReplyTarget::Nobody,
        created_at: now,
    };
    let delivered = NewItem::new(reminders.key(user, id), json!(reminder))
        .expiring_at(now + DELIVERED_KEPT_SECS);
    let ops = vec![
        WriteOp::Update {
            item: delivered,
            expected_version: version,
        },
        outbox::put(JobName::Reminders, &job, now),
    ];
    match m.store.transact(ops).await {
        Ok(()) => {
            outbox::send(m.store.as_ref(), m.bus.as_ref(), &job).await;
            Ok(Delivery::Delivered)
        }
        // The other caller delivered it, or the user cancelled it, this very moment.
        Err(StoreError::TransactionConflict { .. }) => match reminders.get(user, id).await? {
            Some((r, _)) if r.status == ReminderStatus::Delivered => Ok(Delivery::AlreadyDelivered),
            Some(_) => Ok(Delivery::Contended),
            None => Ok(Delivery::Gone),
        },
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminder_partitions_name_their_owner() {
        assert_eq!(
            owner_of("slack:T1#remind#U1"),
            Some((Platform::Slack, "T1", "U1"))
        );
        assert_eq!(owner_of("discord:1#member#2"), None);
    }
}
