//! The review of an appeal ([`AppealReview`], a shared flow): any moderator may decide it. Its
//! run is created in the transaction that records the appeal, and its Accept / Deny buttons
//! go out in a message the worker posts to the review channel (and in `/appeals`, drawn for
//! the same run). The run's one transition finishes it, so exactly one decision commits
//! however many moderators click at once, on however many instances. A review waits
//! [`REVIEW_LIFETIME_SECS`] (14 days); after that its buttons answer that it expired and the
//! member may appeal again.
//!
//! Accepting pardons the case ([`prepare_pardon`], audited as an accepted appeal) in the
//! review's finishing transaction, then the worker lifts the sanction and tells the member;
//! denying records the decision and the worker tells the member when they may appeal again.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::flows::{FlowButton, FlowEvent, Input, Machine, Step, StepContext, View};
use crate::invocation::Capability;
use crate::jobs::{ReplyTarget, Task};
use crate::moderation::actions::{CaseError, ModContext, prepare_pardon};
use crate::moderation::appeal::{self as record, AppealStatus, REVIEW_LIFETIME_SECS};
use crate::moderation::{AuditAction, Cases, ModSettings, StoredCase};
use crate::reply::{ButtonStyle, Reply};
use crate::store::{StoreError, WriteOp};

/// A review's run: the appeal under review.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReviewState {
    pub case: u64,
    pub user: String,
    pub reason: String,
    pub opened_at: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewEvent {
    /// On the review post: the post is replaced by the decision.
    Accept,
    Deny,
    /// In a moderator's `/appeals` list: the decision is a new message, so the list (and its
    /// other appeals' buttons) stays.
    AcceptListed,
    DenyListed,
}

impl FlowEvent for ReviewEvent {
    fn code(self) -> &'static str {
        match self {
            ReviewEvent::Accept => "accept",
            ReviewEvent::Deny => "deny",
            ReviewEvent::AcceptListed => "accept-list",
            ReviewEvent::DenyListed => "deny-list",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        match code {
            "accept" => Some(ReviewEvent::Accept),
            "deny" => Some(ReviewEvent::Deny),
            "accept-list" => Some(ReviewEvent::AcceptListed),
            "deny-list" => Some(ReviewEvent::DenyListed),
            _ => None,
        }
    }
}

impl ReviewEvent {
    fn accepts(self) -> bool {
        matches!(self, ReviewEvent::Accept | ReviewEvent::AcceptListed)
    }

    fn listed(self) -> bool {
        matches!(self, ReviewEvent::AcceptListed | ReviewEvent::DenyListed)
    }
}

pub(super) fn review_buttons(listed: bool, case: u64) -> Vec<FlowButton<ReviewEvent>> {
    let (accept, deny) = if listed {
        (ReviewEvent::AcceptListed, ReviewEvent::DenyListed)
    } else {
        (ReviewEvent::Accept, ReviewEvent::Deny)
    };
    let suffix = if listed {
        format!(" #{case}")
    } else {
        String::new()
    };
    vec![
        FlowButton::new(accept, format!("Accept{suffix}"), ButtonStyle::Primary),
        FlowButton::new(deny, format!("Deny{suffix}"), ButtonStyle::Danger),
    ]
}

/// The review of an appeal, decided by any one moderator.
pub struct AppealReview;

#[async_trait]
impl Machine for AppealReview {
    const NAME: &'static str = "appeal-review";
    const SHARED: bool = true;
    type State = ReviewState;
    type Event = ReviewEvent;

    fn lifetime_secs(&self) -> i64 {
        REVIEW_LIFETIME_SECS
    }

    fn restart_hint(&self) -> String {
        "The appeal lapsed undecided; the member may appeal again with `/appeal`.".to_owned()
    }

    async fn step(
        &self,
        ctx: &StepContext<'_>,
        state: ReviewState,
        input: Input<ReviewEvent>,
    ) -> Step<ReviewState, ReviewEvent> {
        let event = match input {
            Input::Click(event) => event,
            Input::Submit(..) => {
                return Step::Invalid("A review has no form to submit.".to_owned());
            }
        };
        let store = ctx.store;
        let invocation = ctx.invocation;
        let (platform, tenant) = (invocation.platform, invocation.tenant.as_str());
        let cases = Cases::new(store, platform, tenant);
        let (settings, appeal, case) = tokio::join!(
            ModSettings::load(store, platform, tenant),
            record::load(store, platform, tenant, state.case),
            cases.get_of(&state.user, state.case)
        );
        let ((settings, _), appeal, case) = match (settings, appeal, case) {
            (Ok(settings), Ok(appeal), Ok(case)) => (settings, appeal, case),
            (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => {
                tracing::error!(%error, "appeal review: storage unavailable");
                return Step::Invalid(
                    "Gavel could not reach its storage, so nothing was decided. Please try again in a moment."
                        .to_owned(),
                );
            }
        };
        let mod_ctx = ModContext {
            store,
            invocation,
            now_secs: ctx.now_secs,
            settings: &settings,
        };
        if !invocation
            .actor
            .capabilities
            .contains(Capability::ModerateMembers)
        {
            return refuse(&mod_ctx, &state, event).await;
        }
        let appeal = match appeal {
            Some(a) if a.appeal.opened_at == state.opened_at => a,
            // The run is live, so its appeal is the one it was made with; anything else means
            // the record was changed by hand, and nothing is decided on a guess.
            _ => {
                return Step::Invalid(format!(
                    "The appeal of case #{} is no longer open; nothing was done.",
                    state.case
                ));
            }
        };
        // Another moderator's decision committed between this click's read of the run and
        // its read of the appeal: the click lost the race, as it would at the commit.
        if let (Some(by), AppealStatus::Accepted | AppealStatus::Denied) =
            (&appeal.appeal.decided_by, appeal.appeal.status)
        {
            return Step::Invalid(format!(
                "That was already handled: <@{by}> {} this appeal; nothing was done twice.",
                if appeal.appeal.status == AppealStatus::Accepted {
                    "accepted"
                } else {
                    "denied"
                }
            ));
        }
        let Some(case) = case else {
            return Step::Invalid(format!(
                "Case #{} could not be found; nothing was done.",
                state.case
            ));
        };
        let decision = if event.accepts() {
            accept(&mod_ctx, &appeal, &case).await
        } else {
            Ok(deny(&mod_ctx, &appeal, &case))
        };
        let Decision {
            effects,
            task,
            modlog,
            text,
            case_line,
        } = match decision {
            Ok(decision) => decision,
            Err(why) => return Step::Invalid(why),
        };
        // The worker tells the moderator what came of the lift or the message, below the
        // decision.
        let mut jobs = vec![mod_ctx.job(task, 0, ReplyTarget::of(invocation).as_followup())];
        jobs.extend(
            modlog
                .and_then(|line| mod_ctx.modlog(line))
                .map(|post| mod_ctx.job(Task::Post(post), 1, ReplyTarget::Nobody)),
        );
        let view = if event.listed() {
            View::message(Reply::ephemeral(text))
        } else {
            View::update(
                Reply::public(text)
                    .with_field("Case", case_line)
                    .with_field("Their appeal", state.reason.clone()),
            )
        };
        Step::Finish {
            effects,
            jobs,
            view,
        }
    }
}

/// A decision's writes, the worker's task, and the line that replaces the review.
struct Decision {
    effects: Vec<WriteOp>,
    task: Task,
    /// A mod-log line for a decision whose task does not post one itself.
    modlog: Option<String>,
    text: String,
    /// The case as the decision leaves it, for the replaced review.
    case_line: String,
}

/// Accepting pardons the case (its points stop counting) and, for a sanction still in force,
/// has the worker lift it; the member is told either way.
async fn accept(
    ctx: &ModContext<'_>,
    appeal: &record::StoredAppeal,
    case: &StoredCase,
) -> Result<Decision, String> {
    let number = case.case.number;
    let label = case.case.kind.label();
    let mut case_line = case.case.summary(ctx.now_secs);
    let (mut ops, task, note) = match prepare_pardon(
        ctx,
        case,
        "appeal accepted",
        AuditAction::AppealAccepted,
    )
    .await
    {
        Ok(changed) => {
            case_line = changed.after.summary(ctx.now_secs);
            let dm = Reply::ephemeral(format!(
                "✅ Your appeal of case #{number} was accepted by the moderators: the {label} is pardoned{}.",
                if changed.task.is_some() {
                    " and lifted"
                } else {
                    " and no longer counts against you"
                }
            ));
            match changed.task {
                Some(Task::LiftSanction {
                    case,
                    action,
                    target,
                    reason,
                    modlog,
                    ..
                }) => (
                    changed.ops,
                    Task::LiftSanction {
                        case,
                        action,
                        target,
                        reason,
                        dm: Some(dm),
                        modlog,
                    },
                    "pardoned; sanction lifted",
                ),
                _ => (
                    changed.ops,
                    Task::Notify {
                        user: appeal.appeal.user.clone(),
                        message: dm,
                    },
                    "pardoned",
                ),
            }
        }
        // A moderator pardoned it meanwhile: the appeal is still accepted, and audited.
        Err(CaseError::Refused(_)) => {
            let entry = ctx
                .entry(
                    AuditAction::AppealAccepted,
                    "appeal accepted; the case was already pardoned",
                )
                .target(&appeal.appeal.user)
                .case(number);
            (
                vec![ctx.audit(&entry, &format!("appeal{number}"))],
                Task::Notify {
                    user: appeal.appeal.user.clone(),
                    message: Reply::ephemeral(format!(
                        "✅ Your appeal of case #{number} was accepted by the moderators; the {label} is pardoned."
                    )),
                },
                "the case was already pardoned",
            )
        }
        Err(error) => return Err(error.message()),
    };
    let mut decided = appeal
        .appeal
        .decided(AppealStatus::Accepted, ctx.actor(), ctx.now_secs);
    decided.note = Some(note.to_owned());
    ops.insert(0, appeal_write(ctx, &decided, appeal.version));
    // A lift posts the pardon to the mod log itself; a notification does not.
    let modlog = matches!(task, Task::Notify { .. }).then(|| {
        format!(
            "✅ <@{}> accepted <@{}>'s appeal of case #{number}: {note}.",
            ctx.actor(),
            appeal.appeal.user
        )
    });
    Ok(Decision {
        effects: ops,
        task,
        modlog,
        case_line,
        text: format!(
            "✅ Accepted by <@{}>: <@{}>'s appeal of case #{number}.",
            ctx.actor(),
            appeal.appeal.user
        ),
    })
}

/// Denying records the decision; the member is told when they may appeal again.
fn deny(ctx: &ModContext<'_>, appeal: &record::StoredAppeal, case: &StoredCase) -> Decision {
    let number = appeal.appeal.case;
    let decided = appeal
        .appeal
        .decided(AppealStatus::Denied, ctx.actor(), ctx.now_secs);
    let entry = ctx
        .entry(AuditAction::AppealDenied, appeal.appeal.reason.clone())
        .target(&appeal.appeal.user)
        .case(number)
        .change(
            serde_json::to_value(&appeal.appeal).ok(),
            serde_json::to_value(&decided).ok(),
        );
    let again = ctx.now_secs + ctx.settings.appeal_cooldown_secs;
    Decision {
        case_line: case.case.summary(ctx.now_secs),
        effects: vec![
            appeal_write(ctx, &decided, appeal.version),
            ctx.audit(&entry, &format!("appeal{number}")),
        ],
        task: Task::Notify {
            user: appeal.appeal.user.clone(),
            message: Reply::ephemeral(format!(
                "❌ Your appeal of case #{number} was denied by the moderators. You can appeal it again from {}.",
                crate::moderation::date_time(again)
            )),
        },
        modlog: Some(format!(
            "❌ <@{}> denied <@{}>'s appeal of case #{number}.",
            ctx.actor(),
            appeal.appeal.user
        )),
        text: format!(
            "❌ Denied by <@{}>: <@{}>'s appeal of case #{number}.",
            ctx.actor(),
            appeal.appeal.user
        ),
    }
}

fn appeal_write(ctx: &ModContext<'_>, appeal: &record::Appeal, version: u64) -> WriteOp {
    record::write(
        ctx.invocation.platform,
        &ctx.invocation.tenant,
        appeal,
        Some(version),
    )
}

/// A member without Moderate Members clicked a decision: refused, and the attempt is
/// audited. The run is left as it was, so a moderator's click still decides.
async fn refuse(
    ctx: &ModContext<'_>,
    state: &ReviewState,
    event: ReviewEvent,
) -> Step<ReviewState, ReviewEvent> {
    let what = if event.accepts() { "Accept" } else { "Deny" };
    let entry = ctx
        .entry(
            AuditAction::PermissionRefused,
            format!(
                "{what} on the appeal of case #{} (needs Moderate Members)",
                state.case
            ),
        )
        .target(&state.user)
        .case(state.case);
    // One entry per click: a repeated delivery of the same click collides and is not logged
    // twice, which is the outcome wanted, so that failure is not reported.
    match ctx.store.transact(vec![ctx.audit(&entry, "refused")]).await {
        Ok(()) | Err(StoreError::TransactionConflict { .. }) => {}
        Err(error) => tracing::error!(%error, "could not audit a refused appeal decision"),
    }
    Step::Invalid(
        "Only moderators (with the Moderate Members permission) can decide appeals; nothing was done."
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::super::form::AppealForm;
    use super::*;
    use crate::flows::form::FormSpec;

    #[test]
    fn event_codes_round_trip_and_are_valid_in_ids() {
        for event in [
            ReviewEvent::Accept,
            ReviewEvent::Deny,
            ReviewEvent::AcceptListed,
            ReviewEvent::DenyListed,
        ] {
            assert_eq!(ReviewEvent::from_code(event.code()), Some(event));
            assert!(crate::flows::component_id::valid_name(
                event.code(),
                crate::flows::component_id::MAX_NAME_CHARS
            ));
        }
        for name in [AppealReview::NAME, AppealForm::NAME] {
            assert!(crate::flows::component_id::valid_name(
                name,
                crate::flows::component_id::MAX_NAME_CHARS
            ));
        }
    }
}
