//! `/appeal case:<n> [reason]`: a member asks the moderators to reconsider one of their cases.
//! `/appeals`: moderators list the appeals waiting for a decision, and decide them.
//!
//! Two flows:
//! - [`AppealForm`] (the member's own): asks for the reason when the command had none, with
//!   validation errors beside the field on Slack and an "Edit appeal" button on Discord, as
//!   `/report`'s form does.
//! - [`AppealReview`] (shared, [`Machine::SHARED`]): the review any moderator may decide. Its
//!   run is created in the transaction that records the appeal, and its Accept / Deny buttons
//!   go out in a message the worker posts to the review channel (and in `/appeals`, drawn for
//!   the same run). The run's one transition finishes it, so exactly one decision commits
//!   however many moderators click at once, on however many instances. A review waits
//!   [`REVIEW_LIFETIME_SECS`] (14 days); after that its buttons answer that it expired and the
//!   member may appeal again.
//!
//! Accepting pardons the case ([`prepare_pardon`], audited as an accepted appeal) in the
//! review's finishing transaction, then the worker lifts the sanction and tells the member;
//! denying records the decision and the worker tells the member when they may appeal again.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Command, CommandContext, CommandSpec, OptionKind, OptionSpec};
use crate::flows::form;
use crate::flows::{
    FlowButton, FlowEngine, FlowEvent, FlowModal, Input, Machine, Step, StepContext, View,
};
use crate::invocation::{Capability, Invocation, OptionValue, Platform};
use crate::jobs::{Job, Post, ReplyTarget, Task};
use crate::moderation::actions::{CaseError, ModContext, prepare_pardon};
use crate::moderation::appeal::{self as record, AppealStatus, REVIEW_LIFETIME_SECS};
use crate::moderation::{AuditAction, Cases, ModSettings, StoredCase, points};
use crate::reply::{ButtonStyle, FieldError, Reply, Response, TextInput, truncate_chars};
use crate::store::{Store, StoreError, WriteOp};

const REASON_MIN: usize = 20;
const REASON_MAX: usize = 1000;
const REASON_FIELD: &str = "reason";
/// `/appeals` shows this many, oldest first: two buttons each stay within both platforms'
/// limits on one message (25 buttons on Discord, 25 elements in a Slack actions block).
const MAX_LISTED: usize = 10;

static SPEC: CommandSpec = CommandSpec {
    name: "appeal",
    description: "Ask the moderators to reconsider one of your cases",
    options: &[
        OptionSpec {
            name: "case",
            description: "The case number (from the message telling you about it)",
            kind: OptionKind::Integer,
            required: true,
        },
        OptionSpec {
            name: "reason",
            description: "Why it should be reconsidered (leave out to fill in a form)",
            kind: OptionKind::String,
            required: false,
        },
    ],
    requires: None,
    context_menu: None,
};

static LIST_SPEC: CommandSpec = CommandSpec {
    name: "appeals",
    description: "List the appeals waiting for a decision, and decide them",
    options: &[],
    requires: Some(Capability::ModerateMembers),
    context_menu: None,
};

/// `/appeal`.
pub struct Appeal {
    form: Arc<AppealForm>,
    review: Arc<AppealReview>,
    from_dm: Arc<AppealFromDm>,
}

impl Appeal {
    pub fn new() -> Self {
        Self {
            form: Arc::new(AppealForm),
            review: Arc::new(AppealReview),
            from_dm: Arc::new(AppealFromDm),
        }
    }
}

impl Default for Appeal {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Command for Appeal {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    fn register_flows(&self, engine: &mut FlowEngine) {
        engine.register(Arc::clone(&self.form));
        engine.register(Arc::clone(&self.review));
        engine.register(Arc::clone(&self.from_dm));
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        let number = match ctx.call.option("case") {
            Some(OptionValue::Integer(n)) if *n > 0 => *n as u64,
            Some(OptionValue::Integer(_)) => {
                return Reply::ephemeral("Case numbers start at 1.").into();
            }
            _ => {
                return Reply::ephemeral(
                    "Say which case you appeal: `/appeal case:<number> [reason]`.",
                )
                .into();
            }
        };
        let reason = ctx
            .call
            .option("reason")
            .and_then(OptionValue::as_str)
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if let Some(reason) = reason
            && let Err(problem) = check_reason(reason)
        {
            return Reply::ephemeral(format!(
                "{problem} Or leave the reason out to write it in a form."
            ))
            .into();
        }
        let now = ctx.flows.now_secs();
        // Refusals come before the form, so nobody writes an appeal that cannot be sent.
        let standing =
            match Standing::load(ctx.flows.store().as_ref(), ctx.invocation, number, now).await {
                Ok(standing) => standing,
                Err(refused) => return refused.into(),
            };
        match reason {
            None => {
                let state = FormState {
                    case: number,
                    reason: None,
                };
                let view = View::Modal(form_modal(&state));
                ctx.flows
                    .start(self.form.as_ref(), ctx.invocation, state, view)
                    .await
            }
            Some(reason) => open_now(
                ctx.flows,
                &self.review,
                ctx.invocation,
                &standing,
                reason,
                now,
            )
            .await
            .into(),
        }
    }
}

/// What the appeal of one case depends on, read and checked.
struct Standing {
    case: StoredCase,
    previous: Option<record::StoredAppeal>,
    settings: ModSettings,
}

impl Standing {
    /// Reads the case, its appeal and the settings, and refuses (with the member's answer)
    /// what may not be appealed.
    async fn load(
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
struct Opening {
    ops: Vec<WriteOp>,
    post: Option<Job>,
    reply: Reply,
}

/// Prepares the appeal of `standing`'s case with `reason`: the appeal record (created, or
/// replacing a decided or lapsed one at the version read), its audit entry and the review's
/// shared run, for one transaction.
async fn prepare_opening(
    flows: &FlowEngine,
    review: &AppealReview,
    invocation: &Invocation,
    standing: &Standing,
    reason: &str,
    now: i64,
) -> Result<Opening, Reply> {
    let store = flows.store().as_ref();
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
            review,
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
async fn open_now(
    flows: &FlowEngine,
    review: &AppealReview,
    invocation: &Invocation,
    standing: &Standing,
    reason: &str,
    now: i64,
) -> Reply {
    let opening = match prepare_opening(flows, review, invocation, standing, reason, now).await {
        Ok(opening) => opening,
        Err(reply) => return reply,
    };
    let number = standing.case.case.number;
    match flows.store().transact(opening.ops).await {
        Ok(()) => {}
        Err(StoreError::TransactionConflict { index: 0 }) => {
            // Someone opened (or a moderator decided) this case's appeal since it was read:
            // say what stands now.
            let again = Standing::load(flows.store().as_ref(), invocation, number, now).await;
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
    match flows.bus().publish(&post).await {
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

fn unreachable_store(error: &StoreError) -> Reply {
    tracing::error!(%error, "appeal: storage unavailable");
    Reply::ephemeral(
        "Gavel could not reach its storage, so nothing was done. Please try again in a moment.",
    )
}

// ---------------------------------------------------------------------------------------
// The form

/// The form's run: the case appealed, and the draft being corrected (Discord).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FormState {
    pub case: u64,
    pub reason: Option<String>,
}

pub use crate::flows::form::FormEvent;

/// The appeal form as a flow.
pub struct AppealForm;

#[async_trait]
impl Machine for AppealForm {
    const NAME: &'static str = "appeal-form";
    type State = FormState;
    type Event = FormEvent;

    fn lifetime_secs(&self) -> i64 {
        // Writing an appeal takes a while.
        15 * 60
    }

    fn restart_hint(&self) -> String {
        "Run `/appeal` again to write it.".to_owned()
    }

    async fn step(
        &self,
        ctx: &StepContext<'_>,
        state: FormState,
        input: Input<FormEvent>,
    ) -> Step<FormState, FormEvent> {
        match input {
            Input::Submit(FormEvent::Submit, fields) => {
                let reason = form::field(&fields, REASON_FIELD);
                match check_reason(reason.as_deref().unwrap_or("")) {
                    Ok(()) => submit(ctx, &state, reason.unwrap_or_default()).await,
                    Err(message) => invalid_form(ctx.invocation.platform, state, reason, message),
                }
            }
            Input::Click(FormEvent::Edit) => Step::Stay {
                view: View::Modal(form_modal(&state)),
            },
            Input::Click(FormEvent::Submit) | Input::Submit(FormEvent::Edit, _) => {
                Step::Invalid("That does not fit this form; use the form's own buttons.".into())
            }
        }
    }
}

/// A valid form: checked again (things may have changed while it was open), then the appeal
/// commits with the form's end.
async fn submit(
    ctx: &StepContext<'_>,
    state: &FormState,
    reason: String,
) -> Step<FormState, FormEvent> {
    let done = |reply: Reply| Step::Finish {
        effects: Vec::new(),
        jobs: Vec::new(),
        view: View::FormDone(reply),
    };
    let standing =
        match Standing::load(ctx.store.as_ref(), ctx.invocation, state.case, ctx.now_secs).await {
            Ok(standing) => standing,
            Err(refused) => return done(refused),
        };
    match prepare_opening(
        ctx.flows,
        &AppealReview,
        ctx.invocation,
        &standing,
        &reason,
        ctx.now_secs,
    )
    .await
    {
        Ok(opening) => Step::Finish {
            effects: opening.ops,
            jobs: opening.post.into_iter().collect(),
            view: View::FormDone(opening.reply),
        },
        Err(reply) => done(reply),
    }
}

// ---------------------------------------------------------------------------------------
// From a direct message

/// The Appeal button under a banned member's DM, who can no longer run commands in the
/// server. Discord sends a DM's clicks without a guild, so the run is shared within the
/// member's own DM "community" (`dm:{user}`, which only that member's clicks carry) and keeps
/// the server and case in its state.
pub struct AppealFromDm;

/// How long the DM's Appeal button works.
pub const DM_APPEAL_LIFETIME_SECS: i64 = 30 * 24 * 60 * 60;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DmState {
    pub guild: String,
    pub case: u64,
    pub reason: Option<String>,
}

/// The run behind a ban DM's Appeal button, and the button, for the ban's transaction. Only
/// Discord needs it (Slack has no bans), and an unappealable case gets none.
pub fn dm_appeal_button(
    flows: &FlowEngine,
    platform: Platform,
    guild: &str,
    case: &crate::moderation::Case,
) -> Option<(WriteOp, crate::reply::Button)> {
    if platform != Platform::Discord || case.unappealable {
        return None;
    }
    let state = DmState {
        guild: guild.to_owned(),
        case: case.number,
        reason: None,
    };
    let run = flows
        .prepare_shared(
            &AppealFromDm,
            platform,
            &format!("dm:{}", case.target),
            &format!("{guild}:{}", case.number),
            state,
            vec![FlowButton::new(
                FormEvent::Edit,
                format!("Appeal case #{}", case.number),
                ButtonStyle::Primary,
            )],
        )
        .ok()?;
    let button = run.buttons.into_iter().next()?;
    Some((run.write, button))
}

#[async_trait]
impl Machine for AppealFromDm {
    const NAME: &'static str = "appeal-dm";
    const SHARED: bool = true;
    type State = DmState;
    type Event = FormEvent;

    fn lifetime_secs(&self) -> i64 {
        DM_APPEAL_LIFETIME_SECS
    }

    fn restart_hint(&self) -> String {
        "This appeal button has expired; contact the community's moderators.".to_owned()
    }

    async fn step(
        &self,
        ctx: &StepContext<'_>,
        state: DmState,
        input: Input<FormEvent>,
    ) -> Step<DmState, FormEvent> {
        let form = FormState {
            case: state.case,
            reason: state.reason.clone(),
        };
        match input {
            Input::Click(FormEvent::Edit) => Step::Stay {
                view: View::Modal(form_modal(&form)),
            },
            Input::Submit(FormEvent::Submit, fields) => {
                let reason = form::field(&fields, REASON_FIELD);
                if let Err(message) = check_reason(reason.as_deref().unwrap_or("")) {
                    return form::errors_step(
                        ctx.invocation.platform,
                        DmState { reason, ..state },
                        vec![FieldError {
                            field: REASON_FIELD.to_owned(),
                            message,
                        }],
                        Reply::ephemeral("Your appeal was not sent yet:"),
                        |_| "Reason",
                        "Edit appeal",
                    );
                }
                // The appeal belongs to the server, as if the member had run `/appeal` there.
                let mut in_guild = ctx.invocation.clone();
                in_guild.tenant = state.guild.clone();
                let done = |reply: Reply| Step::Finish {
                    effects: Vec::new(),
                    jobs: Vec::new(),
                    view: View::FormDone(reply),
                };
                let standing =
                    match Standing::load(ctx.store.as_ref(), &in_guild, state.case, ctx.now_secs)
                        .await
                    {
                        Ok(standing) => standing,
                        Err(refused) => return done(refused),
                    };
                let reason = reason.unwrap_or_default();
                match prepare_opening(
                    ctx.flows,
                    &AppealReview,
                    &in_guild,
                    &standing,
                    &reason,
                    ctx.now_secs,
                )
                .await
                {
                    Ok(opening) => Step::Finish {
                        effects: opening.ops,
                        jobs: opening.post.into_iter().collect(),
                        view: View::FormDone(opening.reply),
                    },
                    Err(reply) => done(reply),
                }
            }
            Input::Click(FormEvent::Submit) | Input::Submit(FormEvent::Edit, _) => {
                Step::Invalid("That does not fit this form; use its own buttons.".into())
            }
        }
    }
}

fn invalid_form(
    platform: Platform,
    state: FormState,
    reason: Option<String>,
    message: String,
) -> Step<FormState, FormEvent> {
    let errors = vec![FieldError {
        field: REASON_FIELD.to_owned(),
        message,
    }];
    form::errors_step(
        platform,
        FormState { reason, ..state },
        errors,
        Reply::ephemeral("Your appeal was not sent yet:"),
        |_| "Reason",
        "Edit appeal",
    )
}

fn form_modal(state: &FormState) -> FlowModal<FormEvent> {
    FlowModal {
        event: FormEvent::Submit,
        title: format!("Appeal case #{}", state.case),
        submit_label: "Send appeal".to_owned(),
        inputs: vec![TextInput {
            id: REASON_FIELD.to_owned(),
            label: "Why should the moderators reconsider?".to_owned(),
            multiline: true,
            required: true,
            // Checked by Gavel, so the answer says what is wrong rather than the platform's
            // generic refusal.
            min_chars: None,
            max_chars: Some(REASON_MAX as u16),
            placeholder: Some("What happened, from your side?".to_owned()),
            value: state.reason.clone(),
        }],
    }
}

fn check_reason(reason: &str) -> Result<(), String> {
    let chars = reason.trim().chars().count();
    if chars < REASON_MIN {
        return Err(format!(
            "Please explain your appeal in at least {REASON_MIN} characters."
        ));
    }
    if chars > REASON_MAX {
        return Err(format!(
            "Please keep your appeal under {REASON_MAX} characters ({chars} now)."
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The review

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

fn review_buttons(listed: bool, case: u64) -> Vec<FlowButton<ReviewEvent>> {
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
        let store = ctx.store.as_ref();
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
            accept(&mod_ctx, &appeal, &case)
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
fn accept(
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
    ) {
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

// ---------------------------------------------------------------------------------------
// `/appeals`

/// `/appeals`: the appeals waiting for a decision, oldest first, each with its own Accept and
/// Deny buttons (the review's run, so a decision here and one on the review post cannot both
/// happen). The way to decide appeals where no review channel is set.
pub struct ListAppeals;

#[async_trait]
impl Command for ListAppeals {
    fn spec(&self) -> &'static CommandSpec {
        &LIST_SPEC
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        let invocation = ctx.invocation;
        let (platform, tenant) = (invocation.platform, invocation.tenant.as_str());
        let mut pending = match ctx
            .flows
            .pending_shared::<AppealReview>(platform, tenant)
            .await
        {
            Ok(pending) => pending,
            Err(error) => return unreachable_store(&error).into(),
        };
        if pending.is_empty() {
            return Reply::ephemeral("No appeals are waiting for a decision.").into();
        }
        pending.sort_by_key(|run| (run.state.opened_at, run.state.case));
        let total = pending.len();
        let mut reply = Reply::ephemeral(if total > MAX_LISTED {
            format!("{total} appeals are waiting for a decision; the oldest {MAX_LISTED}:")
        } else if total == 1 {
            "1 appeal is waiting for a decision:".to_owned()
        } else {
            format!("{total} appeals are waiting for a decision, oldest first:")
        });
        for run in pending.iter().take(MAX_LISTED) {
            let appeal = &run.state;
            reply = reply.with_field(
                format!(
                    "Case #{} · <@{}> · {}",
                    appeal.case,
                    appeal.user,
                    crate::moderation::date_time(appeal.opened_at)
                ),
                truncate_chars(&appeal.reason, 300).into_owned(),
            );
            reply
                .buttons
                .extend(ctx.flows.shared_buttons::<AppealReview>(
                    platform,
                    tenant,
                    &run.nonce,
                    run.version,
                    review_buttons(true, appeal.case),
                ));
        }
        reply.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_reason_must_be_20_to_1000_characters() {
        assert!(check_reason("too short").is_err());
        assert!(check_reason(&"é".repeat(19)).is_err());
        assert!(check_reason(&"é".repeat(20)).is_ok());
        assert!(check_reason(&"a".repeat(1000)).is_ok());
        let long = check_reason(&"a".repeat(1001)).unwrap_err();
        assert!(long.contains("1001 now"), "{long}");
    }
}
