//! Appealing a case: what may be appealed ([`Standing`]), and the appeal's record, audit
//! entry, review run and review post, committed together ([`prepare_opening`]).

use super::review::{AppealReview, ReviewState, review_buttons};
use super::unreachable_store;
use crate::commands::CommandContext;
use crate::flows::FlowEngine;
use crate::invocation::Invocation;
use crate::jobs::{Job, Post, ReplyTarget, Task};
use crate::moderation::actions::ModContext;
use crate::moderation::appeal::{self as record, REVIEW_LIFETIME_SECS};
use crate::moderation::{AuditAction, Cases, ModSettings, StoredCase, points};
use crate::reply::Reply;
use crate::store::{Store, StoreError, WriteOp};

/// What the appeal of one case depends on, read and checked.
pub(super) struct Standing {
    pub(super) case: StoredCase,
    previous: Option<record::StoredAppeal>,
    settings: ModSettings,
}

impl Standing {
    /// Reads the case, its appeal and the settings, and refuses (with the member's answer)
    /// what may not be appealed.
    pub(super) async fn load(
        store: &dyn Store,
        invocation: &Invocation,
        number: u64,
        now: i64,
    ) -> Result<Self, Reply> {
        let (platform, tenant) = (invocation.platform, invocation.tenant.as_str());
        let cases = Cases::new(store, platform, tenant);
        let (case, previous, settings) = tokio::join!(
            cases.get(number),
            record::load(store, platform, tenant, number),
            ModSettings::load(store, platform, tenant)
        );
        let (case, previous, (settings, _)) = match (case, previous, settings) {
            (Ok(case), Ok(previous), Ok(settings)) => (case, previous, settings),
            (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => {
                return Err(unreachable_store(&error));
            }
        };
        let Some(case) = case else {
            return Err(Reply::ephemeral(format!(
                "There is no case #{number} here."
            )));
        };
        let refusal = record::refusal(
            &case.case,
            &invocation.actor.id,
            previous.as_ref().map(|p| &p.appeal),
            &settings,
            now,
        );
        match refusal {
            Some(why) => Err(Reply::ephemeral(why)),
            None => Ok(Self {
                case,
                previous,
                settings,
            }),
        }
    }
}

/// An appeal ready to commit: its writes, the review post (if the tenant has a review
/// channel) and what the member is told.
pub(super) struct Opening {
    pub(super) ops: Vec<WriteOp>,
    pub(super) post: Option<Job>,
    pub(super) reply: Reply,
}

/// Prepares the appeal of `standing`'s case with `reason`: the appeal record (created, or
/// replacing a decided or lapsed one at the version read), its audit entry and the review's
/// shared run, for one transaction.
pub(super) async fn prepare_opening(
    store: &dyn Store,
    flows: &FlowEngine,
    invocation: &Invocation,
    standing: &Standing,
    reason: &str,
    now: i64,
) -> Result<Opening, Reply> {
    let case = &standing.case.case;
    let number = case.number;
    let user = invocation.actor.id.as_str();
    let history = Cases::new(store, invocation.platform, &invocation.tenant)
        .all_of(user)
        .await
        .map_err(|error| unreachable_store(&error))?;
    let score = points::score_milli(history.iter().map(|s| &s.case), &standing.settings, now);

    let state = ReviewState {
        case: number,
        user: user.to_owned(),
        reason: reason.to_owned(),
        opened_at: now,
    };
    let run = flows
        .prepare_shared(
            &AppealReview,
            invocation.platform,
            &invocation.tenant,
            &format!("{}#appeal{number}", invocation.id),
            state,
            review_buttons(false, number),
        )
        .map_err(|error| {
            tracing::error!(%error, "the review's state could not be serialised");
            Reply::ephemeral(
                "Something went wrong on Gavel's side and nothing was sent. Please try again.",
            )
        })?;
    let appeal = record::Appeal::open(number, user, reason, now, &run.nonce);
    let mod_ctx = ModContext {
        store,
        invocation,
        now_secs: now,
        settings: &standing.settings,
    };
    let entry = mod_ctx
        .entry(AuditAction::AppealOpened, reason.to_owned())
        .target(user)
        .case(number)
        .change(
            standing
                .previous
                .as_ref()
                .and_then(|p| serde_json::to_value(&p.appeal).ok()),
            serde_json::to_value(&appeal).ok(),
        );
    // The record first: a lost race with another opening of this case is index 0.
    let ops = vec![
        record::write(
            invocation.platform,
            &invocation.tenant,
            &appeal,
            standing.previous.as_ref().map(|p| p.version),
        ),
        mod_ctx.audit(&entry, &format!("appeal{number}")),
        run.write,
    ];

    let channel = standing.settings.review_channel();
    let post = channel.map(|channel| {
        let mut message = Reply::public(format!("📨 <@{user}> appeals case #{number}."))
            .with_field("Case", case.summary(now))
            .with_field("Their appeal", reason)
            .with_field(
                "Current score",
                format!("{} points", points::display(score)),
            )
            .with_field(
                "Decide by",
                format!(
                    "{} (any moderator; then the appeal lapses)",
                    crate::moderation::date(now + REVIEW_LIFETIME_SECS)
                ),
            );
        message.buttons = run.buttons;
        let mut job = Job::for_invocation(
            invocation,
            Task::Post(Post {
                channel: channel.to_owned(),
                message,
            }),
            now,
        );
        // The member is answered at once; the post is the moderators'.
        job.reply_to = ReplyTarget::Nobody;
        job
    });
    let reply = if post.is_some() {
        sent(number)
    } else {
        recorded_for_listing(number)
    };
    Ok(Opening { ops, post, reply })
}

/// `/appeal` with its reason: records the appeal now and hands the review post to the worker.
/// `invocation` is the command's, in the case's community (re-targeted when sent in a DM).
pub(super) async fn open_now(
    ctx: &CommandContext<'_>,
    invocation: &Invocation,
    standing: &Standing,
    reason: &str,
    now: i64,
) -> Reply {
    let opening =
        match prepare_opening(ctx.store, ctx.flows, invocation, standing, reason, now).await {
            Ok(opening) => opening,
            Err(reply) => return reply,
        };
    let number = standing.case.case.number;
    match ctx.store.transact(opening.ops).await {
        Ok(()) => {}
        Err(StoreError::TransactionConflict { index: 0 }) => {
            // Someone opened (or a moderator decided) this case's appeal since it was read:
            // say what stands now.
            let again = Standing::load(ctx.store, invocation, number, now).await;
            return match again {
                Err(refused) => refused,
                Ok(_) => Reply::ephemeral(format!(
                    "The appeal of case #{number} changed while yours was being sent; nothing was saved. Please try again."
                )),
            };
        }
        // The audit entry or the review's run already exists: this very request was
        // applied before (the same interaction delivered twice).
        Err(StoreError::TransactionConflict { .. }) => {
            return Reply::ephemeral("This request was already handled; nothing was done twice.");
        }
        Err(error) => return unreachable_store(&error),
    }
    let Some(post) = opening.post else {
        return opening.reply;
    };
    match ctx.bus.publish(&post).await {
        Ok(()) => opening.reply,
        Err(error) => {
            // The appeal stands and its run is live: moderators can still decide it.
            tracing::error!(%error, job = post.id, "could not hand the review post to the worker");
            recorded_for_listing(number)
        }
    }
}

fn sent(number: u64) -> Reply {
    Reply::ephemeral(format!(
        "📨 Your appeal of case #{number} was sent to the moderators. You will get a direct message when they decide."
    ))
}

fn recorded_for_listing(number: u64) -> Reply {
    Reply::ephemeral(format!(
        "📨 Your appeal of case #{number} is recorded. The moderators will see it in `/appeals`; you will get a direct message when they decide."
    ))
}
