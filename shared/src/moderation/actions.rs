//! A moderator's decision turned into writes and jobs: the case and its audit entry commit
//! together (one transaction), and the platform work (DM, timeout, kick, ban, mod-log post)
//! goes to the worker as jobs published after the commit.
//!
//! Each operation has a `prepare_*` form that only reads and returns the writes, for flows that
//! must commit them with their own state change (a confirmed ban happens exactly once however
//! many times Confirm is clicked), and a direct form that commits them itself.

use serde::{Deserialize, Serialize};

use super::audit::{AuditAction, AuditEntry};
use super::case::{Case, CaseEvent, Kind, Source, Status};
use super::cases::{Cases, StoredCase};
use super::decay_seed::seed_op;
use super::points;
use super::settings::{ModSettings, Threshold};
use crate::economy::{Books, Cause, Conflict, EconomySettings, EntryKind, Leg, Planned};
use crate::invocation::Invocation;
use crate::jobs::{Job, Post, ReplyTarget, Task, Wakeup};
use crate::reply::Reply;
use crate::store::{ItemKey, Store, StoreError, WriteOp, found_after_failure};

/// How often a direct operation retries when another moderator took the case number first:
/// each round one of the racing writers wins, so this covers that many moderators at once.
pub const NUMBER_RETRIES: usize = 16;

/// What a moderator decided, before it is a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sanction {
    pub kind: Kind,
    pub target: String,
    pub reason: String,
    pub duration_secs: Option<i64>,
    /// An AutoMod rule, when it is the rule's action and no moderator's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// Who acts, where, and when.
pub struct ModContext<'a> {
    pub store: &'a dyn Store,
    pub invocation: &'a Invocation,
    pub now_secs: i64,
    pub settings: &'a ModSettings,
}

impl<'a> ModContext<'a> {
    pub fn cases(&self) -> Cases<'a> {
        Cases::new(
            self.store,
            self.invocation.platform,
            &self.invocation.tenant,
        )
    }

    pub fn actor(&self) -> &str {
        &self.invocation.actor.id
    }

    fn retention(&self) -> i64 {
        self.settings.retention_secs()
    }

    /// The audit write for `entry`, unique per invocation and `slot`.
    pub fn audit(&self, entry: &AuditEntry, slot: &str) -> WriteOp {
        entry.write(
            self.invocation.platform,
            &self.invocation.tenant,
            &format!("{}#{slot}", self.invocation.id),
            self.retention(),
        )
    }

    pub fn entry(&self, action: AuditAction, detail: impl Into<String>) -> AuditEntry {
        AuditEntry::new(self.now_secs * 1000, self.actor(), action, detail)
    }

    /// A job of this invocation; `index` tells apart several jobs of one request.
    pub fn job(&self, task: Task, index: usize, reply_to: ReplyTarget) -> Job {
        let mut job = Job::for_invocation(self.invocation, task, self.now_secs).numbered(index);
        job.reply_to = reply_to;
        job
    }

    /// A mod-log post of `text`, if the tenant has a mod-log channel.
    pub fn modlog(&self, text: String) -> Option<Post> {
        self.settings.modlog_channel.as_ref().map(|channel| Post {
            channel: channel.clone(),
            message: Reply::public(text),
        })
    }
}

/// A sanction ready to commit.
#[derive(Debug)]
pub struct Prepared {
    pub case: Case,
    /// Writes: the case number's counter first, then the case, its index and the audit entry.
    pub ops: Vec<WriteOp>,
    pub score_before_milli: i64,
    pub score_after_milli: i64,
    /// The sanction the new score recommends, if stronger than this one.
    pub recommendation: Option<Threshold>,
    /// The platform work: DM, action, mod-log post.
    pub task: Task,
    /// The fine's writes, when the case takes one (they are in `ops`): a conflict on its
    /// account means the balance moved since it was read, and the case is prepared again.
    fine: Option<Planned>,
    /// The audit entry's key: it names this invocation, so it exists exactly when `ops`
    /// committed. A commit that timed out is told from one that failed by reading it.
    pub receipt: ItemKey,
}

impl Prepared {
    /// Whether a conflict at `index` of [`Prepared::ops`] is one a fresh read resolves.
    pub fn may_retry(&self, index: usize) -> bool {
        index == 0
            || self.fine.as_ref().is_some_and(|fine| {
                self.ops
                    .get(index)
                    .is_some_and(|op| fine.conflict_at(op.key()) == Conflict::Contended)
            })
    }

    /// "Score 3.0 (was 2.0)".
    pub fn score_line(&self) -> String {
        format!(
            "Score {} (was {})",
            points::display(self.score_after_milli),
            points::display(self.score_before_milli)
        )
    }
}

/// Reads what a sanction needs (the next case number, the member's history) and prepares it.
pub async fn prepare_sanction(
    ctx: &ModContext<'_>,
    sanction: &Sanction,
) -> Result<Prepared, StoreError> {
    let cases = ctx.cases();
    let (number, history, economy) = tokio::join!(
        cases.next_number(),
        cases.all_of(&sanction.target),
        EconomySettings::load(ctx.store, ctx.invocation.platform, &ctx.invocation.tenant)
    );
    let (number, history, (economy, _)) = (number?, history?, economy?);
    let fine = match economy.fine_for(sanction.kind) {
        Some(fine) => prepare_fine(ctx, &economy, sanction, number, fine).await?,
        None => None,
    };
    Ok(prepare_with(ctx, sanction, number, &history, fine))
}

/// A case's fine, planned: what it takes, in words, and its writes.
#[derive(Debug)]
pub struct Fine {
    pub taken: i64,
    /// "30 🪙 coins", for the member's DM.
    pub money: String,
    planned: Planned,
}

/// A case's fine: its kind's amount, or what the member has if that is less (a balance never
/// goes below zero), taken in the case's own transaction. `None` when there is nothing to take.
async fn prepare_fine(
    ctx: &ModContext<'_>,
    economy: &EconomySettings,
    sanction: &Sanction,
    number: u64,
    fine: i64,
) -> Result<Option<Fine>, StoreError> {
    let books = Books::new(
        ctx.store,
        ctx.invocation.platform,
        &ctx.invocation.tenant,
        economy,
    );
    let account = books.account(&sanction.target).await?;
    let taken = fine.min(account.balance());
    if taken <= 0 {
        return Ok(None);
    }
    let cause = fine_cause(number, "fine");
    let leg = Leg::new(
        &sanction.target,
        -taken,
        EntryKind::Fine,
        format!("case #{number}: {}", sanction.reason),
    );
    let cause = Cause {
        id: &cause,
        by: ctx.actor(),
        at: ctx.now_secs,
    };
    // A debit the balance covers is never refused.
    Ok(books
        .plan(&cause, &[account], &[leg])
        .ok()
        .map(|planned| Fine {
            taken,
            money: economy.money(taken),
            planned,
        }))
}

/// The receipt of a case's fine (`fine`) or its refund (`refund`): one each per case.
fn fine_cause(number: u64, what: &str) -> String {
    format!("case#{number}#{what}")
}

/// The pure part of [`prepare_sanction`]; `fine` is the case's fine, if it takes one.
pub fn prepare_with(
    ctx: &ModContext<'_>,
    sanction: &Sanction,
    number: u64,
    history: &[StoredCase],
    fine: Option<Fine>,
) -> Prepared {
    let settings = ctx.settings;
    let mut case = Case::new(
        number,
        sanction.kind,
        &sanction.target,
        ctx.actor(),
        &sanction.reason,
        ctx.now_secs,
        sanction.duration_secs.filter(|_| sanction.kind.is_timed()),
    );
    case.points = settings.weights.of(sanction.kind);
    case.fine = fine.as_ref().map(|fine| fine.taken);
    case.source = sanction.source.clone();
    let before = points::score_milli(history.iter().map(|s| &s.case), settings, ctx.now_secs);
    let after = before + i64::from(case.points) * points::MILLI;
    let recommendation = points::recommendation(settings, after, sanction.kind).cloned();

    let entry = ctx
        .entry(AuditAction::from(sanction.kind), sanction.reason.clone())
        .target(&sanction.target)
        .case(number)
        .change(None, serde_json::to_value(&case).ok());
    let mut ops = ctx.cases().open_ops(&case);
    let audit = ctx.audit(&entry, &format!("case{number}"));
    let receipt = audit.key().clone();
    ops.push(audit);
    // Tells the decay job when this member's score next changes (it never scans for members).
    ops.extend(seed_op(
        &ctx.cases(),
        &case,
        history,
        settings,
        ctx.now_secs,
    ));
    let fine_money = fine.as_ref().map(|fine| fine.money.clone());
    let fine = fine.map(|fine| {
        ops.extend(fine.planned.ops.iter().cloned());
        fine.planned
    });

    let modlog = ctx.modlog(format!(
        "{} Case #{number}: <@{}> gave <@{}> a {}{} · {}",
        sanction.kind.emoji(),
        ctx.actor(),
        sanction.target,
        sanction.kind.label(),
        case.duration_secs
            .map(|d| format!(" ({})", super::duration::format(d)))
            .unwrap_or_default(),
        sanction.reason
    ));
    let task = Task::ApplySanction {
        case: number,
        action: sanction.kind,
        target: sanction.target.clone(),
        reason: sanction.reason.clone(),
        until: case
            .expires_at
            .filter(|_| matches!(sanction.kind, Kind::Mute | Kind::TempBan)),
        delete_message_secs: if matches!(sanction.kind, Kind::Ban | Kind::TempBan) {
            settings.ban_delete_message_secs
        } else {
            0
        },
        channel: ctx.invocation.channel.clone(),
        // A note is for the moderators only.
        dm: (sanction.kind != Kind::Note).then(|| sanction_dm(&case, fine_money.as_deref(), ctx)),
        modlog,
    };
    Prepared {
        case,
        ops,
        score_before_milli: before,
        score_after_milli: after,
        recommendation,
        task,
        fine,
        receipt,
    }
}

/// What the member is told.
fn sanction_dm(case: &Case, fine: Option<&str>, ctx: &ModContext<'_>) -> Reply {
    let what = match case.kind {
        Kind::Note => "A note was added to your record",
        Kind::Warning => "You received a warning",
        Kind::Mute => "You were muted",
        Kind::Kick => "You were removed from the community",
        Kind::TempBan => "You were banned for a while",
        Kind::Ban => "You were banned",
    };
    let by = match case.source {
        Some(Source::Automod(_)) => "automatically, by the community's AutoMod rules",
        None => "by the moderators",
    };
    let mut text = format!(
        "{} {what} (case #{}) {by}.\nReason: {}",
        case.kind.emoji(),
        case.number,
        case.reason
    );
    if let Some(fine) = fine {
        text.push_str(&format!(
            "\nFine: {fine} (paid back if the case is pardoned)"
        ));
    }
    if let Some(d) = case.duration_secs {
        text.push_str(&format!("\nDuration: {}", super::duration::words(d)));
    }
    if !case.unappealable {
        text.push_str("\nIf you believe this is a mistake, you can appeal ");
        text.push_str(&how_to_appeal(case, ctx.invocation.platform));
    }
    Reply::ephemeral(text)
}

/// The end of the DM's "you can appeal …": each platform's way.
fn how_to_appeal(case: &Case, platform: crate::invocation::Platform) -> String {
    use crate::invocation::Platform;
    let number = case.number;
    match platform {
        // A banned member can no longer run commands in a Discord server: their DM carries
        // an Appeal button instead (added by the ban's flow, `commands::appeal`).
        Platform::Discord if matches!(case.kind, Kind::TempBan | Kind::Ban) => {
            "with the button below.".to_owned()
        }
        Platform::Discord => format!("with `/appeal case:{number}` in the community."),
        // A muted or banned member cannot post in the group, but this DM is the private chat
        // with the bot, where `/appeal` finds the group's case.
        Platform::Telegram => {
            format!("by sending `/appeal {number} <reason>` here, in this private chat.")
        }
        Platform::Slack => format!("with `/appeal {number}` in the community."),
    }
}

/// Prepares and commits a sanction, retrying when another moderator took the case number. A
/// commit that timed out is read back (its audit entry): one that went through is a success.
pub async fn record_sanction(
    ctx: &ModContext<'_>,
    sanction: &Sanction,
) -> Result<Prepared, StoreError> {
    let mut attempt = 0;
    loop {
        let prepared = prepare_sanction(ctx, sanction).await?;
        match ctx.store.transact(prepared.ops.clone()).await {
            Ok(()) => return Ok(prepared),
            // Index 0 is the counter: someone else took this number. Or the fine's account
            // moved since it was read.
            Err(StoreError::TransactionConflict { index })
                if attempt < NUMBER_RETRIES && prepared.may_retry(index) =>
            {
                attempt += 1;
                // A short random pause, so the losers of one round do not collide again in
                // lockstep.
                let mut byte = [0u8; 1];
                let _ = getrandom::fill(&mut byte);
                tokio::time::sleep(std::time::Duration::from_millis(u64::from(byte[0] % 20))).await;
            }
            // A timeout may hide a commit whose answer was lost: the case is then recorded,
            // and saying otherwise would have the moderator record it twice.
            Err(error)
                if error.is_transient()
                    && found_after_failure(ctx.store, &prepared.receipt, |_| true).await =>
            {
                tracing::warn!(%error, "the case's commit reported a failure but went through");
                return Ok(prepared);
            }
            Err(error) => return Err(error),
        }
    }
}

/// Why a change to a case was refused, in words for the moderator.
#[derive(Debug)]
pub enum CaseError {
    NotFound(u64),
    Refused(String),
    Store(StoreError),
}

impl From<StoreError> for CaseError {
    fn from(error: StoreError) -> Self {
        CaseError::Store(error)
    }
}

impl CaseError {
    pub fn message(&self) -> String {
        match self {
            CaseError::NotFound(n) => format!("There is no case #{n} here."),
            CaseError::Refused(why) => why.clone(),
            CaseError::Store(StoreError::VersionConflict { .. })
            | CaseError::Store(StoreError::TransactionConflict { .. }) => {
                "The case changed while you were editing it; nothing was saved. Please try again."
                    .to_owned()
            }
            CaseError::Store(error) => {
                tracing::error!(%error, "case change failed");
                "I could not reach my storage, so nothing was changed. Please try again.".to_owned()
            }
        }
    }
}

/// A case change ready to commit.
#[derive(Debug)]
pub struct Changed {
    pub before: Case,
    pub after: Case,
    pub ops: Vec<WriteOp>,
    /// Platform work the change needs (lifting a sanction), if any.
    pub task: Option<Task>,
    /// The case's fine paid back by a pardon, if it had one.
    pub refunded: Option<i64>,
}

/// Whether a sanction is still in force on the platform at `now`.
pub fn in_force(case: &Case, now: i64) -> bool {
    case.status_at(now) == Status::Active
        && matches!(case.kind, Kind::Mute | Kind::TempBan | Kind::Ban)
}

/// Pardons `stored`: its points stop counting, a sanction still in force is lifted, and its
/// fine is paid back through the ledger (in the pardon's transaction, once per case).
pub async fn prepare_pardon(
    ctx: &ModContext<'_>,
    stored: &StoredCase,
    reason: &str,
    action: AuditAction,
) -> Result<Changed, CaseError> {
    let before = stored.case.clone();
    if before.status == Status::Pardoned {
        return Err(CaseError::Refused(format!(
            "Case #{} is already pardoned.",
            before.number
        )));
    }
    let lift = in_force(&before, ctx.now_secs);
    let mut after = before.clone();
    after.status = Status::Pardoned;
    after.history.push(CaseEvent {
        at: ctx.now_secs,
        by: ctx.actor().to_owned(),
        what: "pardoned".into(),
        before: Some(before.status.label().into()),
        after: Some(reason.to_owned()),
    });
    let entry = ctx
        .entry(action, reason.to_owned())
        .target(&before.target)
        .case(before.number)
        .change(
            Some(serde_json::json!({ "status": before.status })),
            Some(serde_json::json!({ "status": after.status })),
        );
    let mut ops = vec![
        ctx.cases().update_op(&StoredCase {
            case: after.clone(),
            version: stored.version,
        }),
        ctx.audit(&entry, &format!("pardon{}", before.number)),
    ];
    let refunded = match before.fine.filter(|fine| *fine > 0) {
        Some(fine) => refund(ctx, &before, fine).await?,
        None => None,
    };
    let refunded = refunded.map(|(amount, writes)| {
        ops.extend(writes);
        amount
    });
    let task = lift.then(|| Task::LiftSanction {
        case: Some(before.number),
        action: before.kind,
        target: before.target.clone(),
        reason: format!("Case #{} pardoned: {reason}", before.number),
        dm: Some(Reply::ephemeral(format!(
            "✅ Case #{} ({}) was pardoned by the moderators: {reason}",
            before.number,
            before.kind.label()
        ))),
        modlog: ctx.modlog(format!(
            "✅ Case #{} pardoned by <@{}>: {reason}",
            before.number,
            ctx.actor()
        )),
    });
    Ok(Changed {
        before,
        after,
        ops,
        task,
        refunded,
    })
}

/// The writes that pay a pardoned case's fine back: all of it, or what fits under the
/// community's maximum balance.
async fn refund(
    ctx: &ModContext<'_>,
    case: &Case,
    fine: i64,
) -> Result<Option<(i64, Vec<WriteOp>)>, StoreError> {
    let (economy, _) =
        EconomySettings::load(ctx.store, ctx.invocation.platform, &ctx.invocation.tenant).await?;
    let books = Books::new(
        ctx.store,
        ctx.invocation.platform,
        &ctx.invocation.tenant,
        &economy,
    );
    let account = books.account(&case.target).await?;
    let amount = fine.min(economy.max_balance - account.balance());
    if amount <= 0 {
        return Ok(None);
    }
    let cause = fine_cause(case.number, "refund");
    let cause = Cause {
        id: &cause,
        by: ctx.actor(),
        at: ctx.now_secs,
    };
    let leg = Leg::new(
        &case.target,
        amount,
        EntryKind::Refund,
        format!("case #{} pardoned", case.number),
    );
    Ok(books
        .plan(&cause, &[account], &[leg])
        .ok()
        .map(|planned| (amount, planned.ops)))
}

/// Edits a case's reason or duration (a temporary ban's end moves with it, a mute is
/// re-applied with its new end), recorded in the case's history and the audit log.
pub fn prepare_edit(
    ctx: &ModContext<'_>,
    stored: &StoredCase,
    reason: Option<&str>,
    duration_secs: Option<i64>,
    appealable: Option<bool>,
) -> Result<Changed, CaseError> {
    let before = stored.case.clone();
    let mut after = before.clone();
    let mut changes = Vec::new();
    if let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty())
        && reason != before.reason
    {
        after.reason = reason.to_owned();
        changes.push(CaseEvent {
            at: ctx.now_secs,
            by: ctx.actor().to_owned(),
            what: "reason".into(),
            before: Some(before.reason.clone()),
            after: Some(reason.to_owned()),
        });
    }
    if let Some(duration) = duration_secs {
        if !before.kind.is_timed() {
            return Err(CaseError::Refused(format!(
                "Case #{} is a {}, which has no duration.",
                before.number,
                before.kind.label()
            )));
        }
        if before.status != Status::Active {
            return Err(CaseError::Refused(format!(
                "Case #{} is {}; its duration can no longer change.",
                before.number,
                before.status.label()
            )));
        }
        if before.kind == Kind::Mute && duration > super::settings::MAX_MUTE_SECS {
            return Err(CaseError::Refused(
                "Discord limits a mute (timeout) to 28 days.".to_owned(),
            ));
        }
        let end = before.created_at + duration;
        if end <= ctx.now_secs {
            return Err(CaseError::Refused(format!(
                "Case #{} began {}; a duration of {} would already be over. Use `/pardon` or `/unban` to end it now.",
                before.number,
                super::date_time(before.created_at),
                super::duration::format(duration)
            )));
        }
        after.duration_secs = Some(duration);
        after.expires_at = Some(end);
        changes.push(CaseEvent {
            at: ctx.now_secs,
            by: ctx.actor().to_owned(),
            what: "duration".into(),
            before: before.duration_secs.map(super::duration::format),
            after: Some(super::duration::format(duration)),
        });
    }
    if let Some(appealable) = appealable
        && appealable == before.unappealable
    {
        after.unappealable = !appealable;
        changes.push(CaseEvent {
            at: ctx.now_secs,
            by: ctx.actor().to_owned(),
            what: "appeals".into(),
            before: Some(
                if before.unappealable {
                    "refused"
                } else {
                    "allowed"
                }
                .into(),
            ),
            after: Some(if appealable { "allowed" } else { "refused" }.into()),
        });
    }
    if changes.is_empty() {
        return Err(CaseError::Refused(format!(
            "That would not change case #{}.",
            before.number
        )));
    }
    let detail = changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                c.what,
                c.before.as_deref().unwrap_or("none"),
                c.after.as_deref().unwrap_or("none")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    after.history.extend(changes);
    let entry = ctx
        .entry(AuditAction::CaseEdit, detail.clone())
        .target(&before.target)
        .case(before.number)
        .change(
            serde_json::to_value(&before).ok(),
            serde_json::to_value(&after).ok(),
        );
    let ops = vec![
        ctx.cases().update_op(&StoredCase {
            case: after.clone(),
            version: stored.version,
        }),
        ctx.audit(&entry, &format!("edit{}", before.number)),
    ];
    // A mute's end lives on Discord too; a temporary ban's in the case, and in a one-time
    // schedule at its end for the expiry job (the old schedule finds the case not yet due).
    let moved = after.expires_at != before.expires_at;
    if let (Kind::TempBan, true, Some(at)) = (before.kind, moved, after.expires_at) {
        let wakeup = Wakeup::LiftExpired {
            platform: ctx.invocation.platform,
            tenant: ctx.invocation.tenant.clone(),
            target: before.target.clone(),
            case: before.number,
            at,
        };
        return Ok(Changed {
            before,
            after,
            ops,
            task: Some(Task::Schedule { wakeup }),
            refunded: None,
        });
    }
    let task = (before.kind == Kind::Mute && moved).then(|| Task::ApplySanction {
        case: before.number,
        action: Kind::Mute,
        target: before.target.clone(),
        reason: format!("Case #{} edited: {detail}", before.number),
        until: after.expires_at,
        delete_message_secs: 0,
        channel: None,
        dm: None,
        modlog: None,
    });
    Ok(Changed {
        before,
        after,
        ops,
        task,
        refunded: None,
    })
}

/// `/unban`: the member's ban cases in force end (recorded as expired, points unchanged), and
/// the worker lifts the ban whether or not Gavel recorded it.
pub async fn prepare_unban(
    ctx: &ModContext<'_>,
    target: &str,
    reason: &str,
) -> Result<(Vec<u64>, Vec<WriteOp>, Task), StoreError> {
    let history = ctx.cases().all_of(target).await?;
    let mut ops = Vec::new();
    let mut ended = Vec::new();
    for stored in history {
        if !(matches!(stored.case.kind, Kind::Ban | Kind::TempBan)
            && stored.case.status_at(ctx.now_secs) == Status::Active)
        {
            continue;
        }
        let mut case = stored.case.clone();
        case.status = Status::Expired;
        case.history.push(CaseEvent {
            at: ctx.now_secs,
            by: ctx.actor().to_owned(),
            what: "lifted".into(),
            before: Some("active".into()),
            after: Some(reason.to_owned()),
        });
        ended.push(case.number);
        ops.push(ctx.cases().update_op(&StoredCase {
            case,
            version: stored.version,
        }));
    }
    let cases_text = if ended.is_empty() {
        "no case of Gavel's".to_owned()
    } else {
        ended
            .iter()
            .map(|n| format!("#{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let entry = ctx
        .entry(AuditAction::Unban, format!("{reason} (ends {cases_text})"))
        .target(target);
    ops.push(ctx.audit(&entry, "unban"));
    let task = Task::LiftSanction {
        case: ended.first().copied(),
        action: Kind::Ban,
        target: target.to_owned(),
        reason: reason.to_owned(),
        dm: None,
        modlog: ctx.modlog(format!(
            "🔓 <@{}> unbanned <@{target}>: {reason}",
            ctx.actor()
        )),
    };
    Ok((ended, ops, task))
}
