//! Native AutoMod's hits into the points ledger, the maintenance half: every run, each guild in
//! the [`AUDIT_QUEUE`] (written by `sync_native` when Gavel manages its native rules, so no scan
//! finds them) gets a worker job that reads its audit log into cases
//! ([`ingest_audit_log`](crate::worker::automod::ingest_audit_log)). The worker reads, because
//! it alone holds the bot token; this function holds none.
//!
//! Each guild's registry item moves to its next due time in the same transaction that puts the
//! job in the outbox, so two runs at once hand a guild over once per period, and the job's id
//! (guild and period) lets the worker's claim absorb a repeated publish.

use super::sweep::DueSweep;
use super::{Budget, Maintenance, Report, Sweep, outbox};
use crate::invocation::Platform;
use crate::jobs::{Job, ReplyTarget, Task};
use crate::store::{NewItem, StoreError, WriteOp};
use crate::worker::automod::{AUDIT_EVERY_SECS, AUDIT_QUEUE};

const COUNTS: [&str; 4] = ["handed", "contended", "republished", "failed"];

pub(super) async fn sweep(m: &Maintenance, budget: Budget) -> Report {
    let (mut due, mut report) = DueSweep::start(
        m,
        Sweep::AutomodAudit,
        &COUNTS,
        AUDIT_QUEUE,
        "the AutoMod audit queue",
        budget,
    )
    .await;
    let now = due.now;
    while let Some(items) = due.next_page(&mut report).await {
        for item in items {
            let Some(guild) = guild_of(&item.key.pk) else {
                report.add("failed", 1);
                report.note(format!("{} is not a Discord guild's config", item.key.pk));
                continue;
            };
            let job = Job {
                id: format!("automod-audit:{guild}:{}", now / AUDIT_EVERY_SECS),
                platform: Platform::Discord,
                tenant: guild.to_owned(),
                task: Task::IngestAutomodAudit {
                    guild: guild.to_owned(),
                },
                reply_to: ReplyTarget::Nobody,
                created_at: now,
            };
            let next = NewItem::new(item.key.clone(), item.data.clone())
                .due(AUDIT_QUEUE, now + AUDIT_EVERY_SECS);
            let ops = vec![
                WriteOp::Update {
                    item: next,
                    expected_version: item.version,
                },
                outbox::put(Sweep::AutomodAudit, &job, now),
            ];
            match m.store.transact(ops).await {
                Ok(()) => {
                    outbox::send(m.store.as_ref(), m.bus.as_ref(), &job).await;
                    report.add("handed", 1);
                }
                // A sync rewrote the item (due now again) or another run handed it over.
                Err(StoreError::TransactionConflict { .. }) => report.add("contended", 1),
                Err(error) => {
                    report.add("failed", 1);
                    report.note(format!("guild {guild}: {error}"));
                }
            }
        }
    }
    report
}

/// The guild of a config partition (`discord:{guild}#config`).
fn guild_of(pk: &str) -> Option<&str> {
    let scope = pk.strip_suffix("#config")?;
    let guild = scope.strip_prefix("discord:")?;
    (!guild.is_empty() && !guild.contains('#')).then_some(guild)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guilds_are_read_back_from_their_config_partition() {
        assert_eq!(guild_of("discord:123#config"), Some("123"));
        assert_eq!(guild_of("slack:T1#config"), None);
        assert_eq!(guild_of("discord:1#member#2"), None);
        assert_eq!(guild_of("discord:#config"), None);
    }
}
