//! Delivering reminders ([`crate::reminders`]): a one-time schedule wakes the maintenance
//! function at a reminder's time, and the sweep over the due index ([`REMINDER_QUEUE`])
//! catches any the schedule missed. Delivery is one conditional write on the reminder's
//! version (pending → delivered) with the delivery job in the outbox, so the schedule and the
//! sweep together, or a cancel at the same moment, deliver it at most once, and the worker's
//! claim on the job id makes it exactly once.

use super::sweep::DueSweep;
use super::{Budget, Maintenance, Report, Sweep, outbox};
use crate::invocation::Platform;
use crate::jobs::{Job, ReplyTarget, Task};
use crate::reminders::{
    REMINDER_QUEUE, ReminderStatus, Reminders, delivery_job_id, owner_of, read,
};
use crate::store::StoreError;

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
    let (mut due, mut report) = DueSweep::start(
        m,
        Sweep::Reminders,
        &COUNTS,
        REMINDER_QUEUE,
        "the reminder queue",
        budget,
    )
    .await;
    let now = due.now;
    while let Some(items) = due.next_page(&mut report).await {
        for item in items {
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
    let mut report = Report::new(Sweep::Reminders, &COUNTS);
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
    let Some((reminder, version)) = reminders.get(user, id).await? else {
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
    let ops = vec![
        reminders.delivered_op(&reminder, version, now),
        outbox::put(Sweep::Reminders, &job, now),
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
