//! Expiry of temporary bans: the one-time schedule at a ban's end, and the sweep over the due
//! index ([`EXPIRY_QUEUE`]) that catches anything a schedule missed.
//!
//! Both come here, and both decide from the case as it is now, read strongly consistent:
//! a case is lifted only while it is an active temporary ban whose end has come. The lift is
//! one transaction on the version read: the case becomes expired (history "expired", out of
//! the due index), an audit entry, and the unban job in the outbox. Whoever loses the race (the
//! schedule and the sweep together, two sweeps, a moderator's edit at that moment) reads again
//! and finds nothing left to do. A member still banned by another case (a permanent ban, or a
//! temporary one ending later) keeps that ban: the case ends without an unban.

use super::sweep::DueSweep;
use super::{Budget, Maintenance, Report, Sweep, Tenants, outbox};
use crate::invocation::Platform;
use crate::jobs::{Job, Post, ReplyTarget, Task};
use crate::moderation::cases::{EXPIRY_QUEUE, decode, member_of};
use crate::moderation::{
    AuditAction, AuditEntry, Case, CaseEvent, Cases, Kind, ModSettings, Status, StoredCase,
};
use crate::reply::Reply;
use crate::store::StoreError;

/// What became of one temporary ban.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lift {
    /// Ended now; the unban is with the worker.
    Lifted,
    /// Ended now without an unban: this other case keeps the member banned.
    Superseded {
        by: u64,
    },
    /// Still active, ending later (its duration was edited since the schedule was made).
    NotDue {
        ends: i64,
    },
    Pardoned,
    /// Ended before (by another run, or `/unban`).
    AlreadyEnded,
    NotFound,
    /// Not a timed ban (a damaged index entry).
    NotATempBan(Kind),
    /// The case kept changing under us; the next run looks again.
    Contended,
}

impl Lift {
    fn count(&self) -> &'static str {
        match self {
            Lift::Lifted => "lifted",
            Lift::Superseded { .. } => "superseded",
            Lift::Contended => "contended",
            _ => "stale",
        }
    }

    fn note(&self, number: u64) -> Option<String> {
        Some(match self {
            Lift::Lifted => return None,
            Lift::Superseded { by } => {
                format!("case #{number} ended without an unban: case #{by} keeps the member banned")
            }
            Lift::NotDue { ends } => format!(
                "case #{number} not lifted: it now ends {}",
                crate::moderation::date_time(*ends)
            ),
            Lift::Pardoned => {
                format!("case #{number} not lifted: it was pardoned (and lifted then)")
            }
            Lift::AlreadyEnded => format!("case #{number} not lifted: it had already ended"),
            Lift::NotFound => format!("case #{number} not lifted: no such case"),
            Lift::NotATempBan(kind) => {
                format!("case #{number} not lifted: it is a {}", kind.label())
            }
            Lift::Contended => {
                format!("case #{number} kept changing; the next run looks again")
            }
        })
    }
}

const COUNTS: [&str; 6] = [
    "lifted",
    "superseded",
    "stale",
    "contended",
    "republished",
    "failed",
];

/// The periodic sweep: every temporary ban due by now.
pub(super) async fn sweep(m: &Maintenance, budget: Budget) -> Report {
    let (mut due, mut report) = DueSweep::start(
        m,
        Sweep::Expire,
        &COUNTS,
        EXPIRY_QUEUE,
        "the expiry queue",
        budget,
    )
    .await;
    let mut tenants = Tenants::default();
    let now = due.now;
    while let Some(items) = due.next_page(&mut report).await {
        for item in items {
            let pk = item.key.pk.clone();
            let Some((platform, tenant, target)) = member_of(&pk) else {
                report.add("failed", 1);
                report.note(format!("{pk} is not a member's case; left alone"));
                continue;
            };
            let number = match decode(item) {
                Ok(stored) => stored.case.number,
                Err(error) => {
                    report.add("failed", 1);
                    report.note(format!("unreadable case in {pk}: {error}"));
                    continue;
                }
            };
            tally(
                &mut report,
                number,
                lift(m, &mut tenants, platform, tenant, target, number, now).await,
            );
        }
    }
    report
}

/// A temporary ban's one-time schedule fired.
pub(super) async fn wake(
    m: &Maintenance,
    platform: Platform,
    tenant: &str,
    target: &str,
    number: u64,
) -> Report {
    let mut report = Report::new(Sweep::Expire, &COUNTS);
    let now = m.now();
    let outcome = lift(
        m,
        &mut Tenants::default(),
        platform,
        tenant,
        target,
        number,
        now,
    )
    .await;
    tally(&mut report, number, outcome);
    report
}

fn tally(report: &mut Report, number: u64, outcome: Result<Lift, StoreError>) {
    match outcome {
        Ok(lift) => {
            report.add(lift.count(), 1);
            if let Some(note) = lift.note(number) {
                report.note(note);
            }
        }
        Err(error) => {
            report.add("failed", 1);
            report.note(format!("case #{number}: {error}; the next run tries again"));
        }
    }
}

/// Lifts case `number` of `target` if it is due, exactly once however many callers race.
pub(super) async fn lift(
    m: &Maintenance,
    tenants: &mut Tenants,
    platform: Platform,
    tenant: &str,
    target: &str,
    number: u64,
    now: i64,
) -> Result<Lift, StoreError> {
    let cases = Cases::new(m.store.as_ref(), platform, tenant);
    // Two looks: a lost race reads again and, almost always, finds the case ended.
    for _ in 0..2 {
        let history = cases.all_of(target).await?;
        let Some(stored) = history.iter().find(|s| s.case.number == number) else {
            return Ok(Lift::NotFound);
        };
        let case = &stored.case;
        if case.kind != Kind::TempBan {
            return Ok(Lift::NotATempBan(case.kind));
        }
        match case.status {
            Status::Pardoned => return Ok(Lift::Pardoned),
            Status::Expired => return Ok(Lift::AlreadyEnded),
            Status::Active => {}
        }
        match case.expires_at {
            Some(end) if end <= now => {}
            Some(end) => return Ok(Lift::NotDue { ends: end }),
            None => return Ok(Lift::NotATempBan(case.kind)),
        }
        let superseded_by = still_banned_by(&history, case, now);
        let settings = tenants.settings(m.store.as_ref(), platform, tenant).await?;
        let (ops, job) = lift_writes(&cases, stored, superseded_by, settings, now);
        match m.store.transact(ops).await {
            Ok(()) => {
                if let Some(job) = job {
                    outbox::send(m.store.as_ref(), m.bus.as_ref(), &job).await;
                }
                return Ok(match superseded_by {
                    Some(by) => Lift::Superseded { by },
                    None => Lift::Lifted,
                });
            }
            Err(StoreError::TransactionConflict { .. }) => continue,
            Err(error) => return Err(error),
        }
    }
    Ok(Lift::Contended)
}

/// Another case of the member that keeps them banned after this one ends: a permanent ban in
/// force, or a temporary one ending later.
fn still_banned_by(history: &[StoredCase], ending: &Case, now: i64) -> Option<u64> {
    history
        .iter()
        .map(|s| &s.case)
        .filter(|c| c.number != ending.number && c.status_at(now) == Status::Active)
        .find(|c| match c.kind {
            Kind::Ban => true,
            Kind::TempBan => c.expires_at > ending.expires_at,
            _ => false,
        })
        .map(|c| c.number)
}

/// The transaction that ends the case, and the unban job it puts in the outbox (none when
/// another case keeps the member banned).
fn lift_writes(
    cases: &Cases<'_>,
    stored: &StoredCase,
    superseded_by: Option<u64>,
    settings: &ModSettings,
    now: i64,
) -> (Vec<crate::store::WriteOp>, Option<Job>) {
    let before = &stored.case;
    let number = before.number;
    let mut after = before.clone();
    after.status = Status::Expired;
    after.history.push(CaseEvent {
        at: now,
        by: "gavel".to_owned(),
        what: "expired".to_owned(),
        before: Some(Status::Active.label().to_owned()),
        after: Some(match superseded_by {
            Some(by) => format!("not lifted: case #{by} keeps the member banned"),
            None => "lifted".to_owned(),
        }),
    });
    let entry = match superseded_by {
        Some(by) => AuditEntry::new(
            now * 1000,
            "gavel",
            AuditAction::CaseEdit,
            format!("temporary ban ended; not lifted, case #{by} keeps the member banned"),
        ),
        None => AuditEntry::new(
            now * 1000,
            "gavel",
            AuditAction::Unban,
            "temporary ban ended",
        ),
    }
    .target(&before.target)
    .case(number)
    .change(
        Some(serde_json::json!({ "status": before.status })),
        Some(serde_json::json!({ "status": after.status })),
    );
    let mut ops = vec![
        cases.update_op(&StoredCase {
            case: after,
            version: stored.version,
        }),
        entry.write(
            cases.platform,
            cases.tenant,
            &format!("expire{number}"),
            settings.retention_secs(),
        ),
    ];
    let job = superseded_by
        .is_none()
        .then(|| lift_job(cases.platform, cases.tenant, before, settings, now));
    if let Some(job) = &job {
        ops.push(outbox::put(Sweep::Expire, job, now));
    }
    (ops, job)
}

/// The id of the unban job of case `number`: a case ends once, so this is its only lift job,
/// and the worker's claim makes every repeated publish of it a no-op.
pub fn lift_job_id(platform: Platform, tenant: &str, number: u64) -> String {
    format!("expire:{platform}:{tenant}:{number}")
}

fn lift_job(
    platform: Platform,
    tenant: &str,
    case: &Case,
    settings: &ModSettings,
    now: i64,
) -> Job {
    let (number, target) = (case.number, case.target.as_str());
    let (line, dm) = match platform {
        // After the unban the bot shares no server with them, so Discord would refuse a DM.
        Platform::Discord => (
            format!("⏳ Case #{number}: <@{target}>'s temporary ban ended; they were unbanned."),
            None,
        ),
        // Telegram lets the bot write to anyone who has started it, banned or not.
        Platform::Telegram => (
            format!("⏳ Case #{number}: <@{target}>'s temporary ban ended; they were unbanned."),
            Some(Reply::ephemeral(format!(
                "⏳ Your temporary ban (case #{number}) has ended; you may rejoin the group."
            ))),
        ),
        Platform::Slack => (
            format!("⏳ Case #{number}: <@{target}>'s temporary ban ended."),
            Some(Reply::ephemeral(format!(
                "⏳ Your temporary ban (case #{number}) has ended."
            ))),
        ),
    };
    Job {
        id: lift_job_id(platform, tenant, number),
        platform,
        tenant: tenant.to_owned(),
        task: Task::LiftSanction {
            case: Some(number),
            action: Kind::TempBan,
            target: target.to_owned(),
            reason: "temporary ban ended".to_owned(),
            dm,
            modlog: settings.modlog_channel.clone().map(|channel| Post {
                channel,
                message: Reply::public(line),
            }),
        },
        reply_to: ReplyTarget::Nobody,
        created_at: now,
    }
}
