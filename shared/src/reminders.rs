//! Reminders' records: `/remind in 2h text` stores a reminder for its author, which a one-time
//! schedule and the maintenance sweep over the due index ([`REMINDER_QUEUE`]) deliver at its
//! time (maintenance's `reminders`). The command and the sweep share these records and
//! their limits; neither owns them.
//!
//! Layout: `{p}:{t}#remind#{user}` holds a user's reminders (`r#{id:08}`) and the counter
//! their ids come from (`counter`), so `/remind list` is one query. A pending reminder never
//! expires; a delivered one is kept a day (so a late schedule reads "already delivered") and
//! then expires.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::invocation::Platform;
use crate::jobs::Wakeup;
use crate::store::keys::{self, Community};
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
        Community::new(self.platform, self.tenant).reminders_of(user)
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

    /// Reminder `id` of `user`, with its version.
    pub async fn get(&self, user: &str, id: u64) -> Result<Option<(Reminder, u64)>, StoreError> {
        match self.store.get(&self.key(user, id)).await? {
            Some(item) => Ok(Some((read(&item)?, item.version))),
            None => Ok(None),
        }
    }

    /// The write that marks `reminder` (read at `version`) delivered: kept a day from `now`,
    /// out of the due index. It fails on a version conflict if it was delivered or cancelled
    /// meanwhile.
    pub fn delivered_op(&self, reminder: &Reminder, version: u64, now: i64) -> WriteOp {
        let delivered = Reminder {
            status: ReminderStatus::Delivered,
            ..reminder.clone()
        };
        WriteOp::Update {
            item: NewItem::new(self.key(&reminder.user, reminder.id), json!(delivered))
                .expiring_at(now + DELIVERED_KEPT_SECS),
            expected_version: version,
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

/// The reminder an item holds.
pub fn read(item: &Item) -> Result<Reminder, StoreError> {
    serde_json::from_value(item.data.clone())
        .map_err(|e| StoreError::Invalid(format!("unreadable reminder {}: {e}", item.key.sk)))
}

/// `{p}:{t}#remind#{user}` → the community and the user.
pub fn owner_of(pk: &str) -> Option<(Platform, &str, &str)> {
    let (community, user) = keys::user_partition(pk, "remind")?;
    Some((community.platform, community.tenant, user))
}

/// The job that delivers reminder `id`: one per reminder, so every publish of it is absorbed
/// by the worker's claim but the first.
pub fn delivery_job_id(platform: Platform, tenant: &str, user: &str, id: u64) -> String {
    format!("remind:{platform}:{tenant}:{user}:{id}")
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
