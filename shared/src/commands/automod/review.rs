//! A moderator's follow-up to an AutoMod catch ([`AutomodReview`], a shared flow): the mod-log
//! post's **Warn**, **Mute 1h** and **Dismiss** buttons. Any moderator may decide, once: the
//! run's one transition finishes it, so concurrent clicks on any instance have one effect.
//!
//! Warn and Mute open a moderator's case on top of AutoMod's; Dismiss pardons AutoMod's case
//! (a false positive: its points stop counting, a mute is lifted, a fine paid back) or, for a
//! log-only catch, closes the review.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::flows::{FlowButton, FlowEvent, Input, Machine, Step, StepContext, View};
use crate::invocation::Capability;
use crate::jobs::ReplyTarget;
use crate::moderation::actions::{ModContext, Sanction, prepare_pardon, prepare_sanction};
use crate::moderation::settings::DEFAULT_MUTE_SECS;
use crate::moderation::{AuditAction, Cases, Kind, ModSettings};
use crate::reply::{ButtonStyle, Reply};

/// How long moderators have to follow a catch up.
pub const REVIEW_LIFETIME_SECS: i64 = 7 * 86_400;

/// A review's run: the caught message and AutoMod's case, if it opened one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewState {
    pub target: String,
    pub channel: String,
    pub message: String,
    pub case: Option<u64>,
    pub rule: String,
    /// What AutoMod said in the mod log, kept under the decision that replaces the post.
    pub summary: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewEvent {
    Warn,
    Mute,
    Dismiss,
}

impl FlowEvent for ReviewEvent {
    fn code(self) -> &'static str {
        match self {
            ReviewEvent::Warn => "warn",
            ReviewEvent::Mute => "mute",
            ReviewEvent::Dismiss => "dismiss",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        match code {
            "warn" => Some(ReviewEvent::Warn),
            "mute" => Some(ReviewEvent::Mute),
            "dismiss" => Some(ReviewEvent::Dismiss),
            _ => None,
        }
    }
}

/// The buttons under a catch. With a case, Dismiss pardons it.
pub fn review_buttons(with_case: bool) -> Vec<FlowButton<ReviewEvent>> {
    vec![
        FlowButton::new(ReviewEvent::Warn, "Warn", ButtonStyle::Primary),
        FlowButton::new(ReviewEvent::Mute, "Mute 1h", ButtonStyle::Danger),
        FlowButton::new(
            ReviewEvent::Dismiss,
            if with_case {
                "Dismiss (pardon)"
            } else {
                "Dismiss"
            },
            ButtonStyle::Secondary,
        ),
    ]
}

pub struct AutomodReview;

#[async_trait]
impl Machine for AutomodReview {
    const NAME: &'static str = "automod-review";
    const SHARED: bool = true;
    type State = ReviewState;
    type Event = ReviewEvent;

    fn lifetime_secs(&self) -> i64 {
        REVIEW_LIFETIME_SECS
    }

    fn restart_hint(&self) -> String {
        "This catch is over a week old; use `/warn`, `/mute` or `/pardon` directly.".to_owned()
    }

    async fn step(
        &self,
        ctx: &StepContext<'_>,
        state: ReviewState,
        input: Input<ReviewEvent>,
    ) -> Step<ReviewState, ReviewEvent> {
        let Input::Click(event) = input else {
            return Step::Invalid("A catch has no form to submit.".to_owned());
        };
        let invocation = ctx.invocation;
        if !invocation
            .actor
            .capabilities
            .contains(Capability::ModerateMembers)
        {
            return Step::Invalid(
                "Only moderators (Moderate Members) can decide AutoMod catches; nothing was done."
                    .to_owned(),
            );
        }
        let (platform, tenant) = (invocation.platform, invocation.tenant.as_str());
        let settings = match ModSettings::load(ctx.store, platform, tenant).await {
            Ok((settings, _)) => settings,
            Err(error) => {
                tracing::error!(%error, "automod review: storage unavailable");
                return Step::Invalid(
                    "Gavel could not reach its storage, so nothing was decided. Please try again in a moment."
                        .to_owned(),
                );
            }
        };
        let mod_ctx = ModContext {
            store: ctx.store,
            invocation,
            now_secs: ctx.now_secs,
            settings: &settings,
        };
        let moderator = &invocation.actor.id;
        let decided = match event {
            ReviewEvent::Warn | ReviewEvent::Mute => {
                let (kind, duration_secs) = match event {
                    ReviewEvent::Mute => (Kind::Mute, Some(DEFAULT_MUTE_SECS)),
                    _ => (Kind::Warning, None),
                };
                let sanction = Sanction {
                    kind,
                    target: state.target.clone(),
                    reason: format!("Follow-up to an AutoMod catch ({})", state.rule),
                    duration_secs,
                    source: None,
                };
                match prepare_sanction(&mod_ctx, &sanction).await {
                    Ok(prepared) => {
                        let text = format!(
                            "{} <@{moderator}> followed this catch up: case #{} ({}) for <@{}>.",
                            kind.emoji(),
                            prepared.case.number,
                            kind.label(),
                            state.target
                        );
                        let job = mod_ctx.job(prepared.task, 0, ReplyTarget::Nobody);
                        (prepared.ops, vec![job], text)
                    }
                    Err(error) => return storage_refusal(&error),
                }
            }
            ReviewEvent::Dismiss => match state.case {
                None => (
                    Vec::new(),
                    Vec::new(),
                    format!(
                        "👍 <@{moderator}> dismissed this catch; nothing was recorded against <@{}>.",
                        state.target
                    ),
                ),
                Some(number) => {
                    let cases = Cases::new(ctx.store, platform, tenant);
                    let stored = match cases.get_of(&state.target, number).await {
                        Ok(Some(stored)) => stored,
                        Ok(None) => {
                            return Step::Invalid(format!(
                                "Case #{number} could not be found; nothing was done."
                            ));
                        }
                        Err(error) => return storage_refusal(&error),
                    };
                    match prepare_pardon(
                        &mod_ctx,
                        &stored,
                        "AutoMod catch dismissed",
                        AuditAction::Pardon,
                    )
                    .await
                    {
                        Ok(changed) => {
                            let jobs = changed
                                .task
                                .map(|task| mod_ctx.job(task, 0, ReplyTarget::Nobody))
                                .into_iter()
                                .collect();
                            let text = format!(
                                "👍 <@{moderator}> dismissed this catch: case #{number} is pardoned{}.",
                                if changed.refunded.is_some() {
                                    " and its fine paid back"
                                } else {
                                    ""
                                }
                            );
                            (changed.ops, jobs, text)
                        }
                        Err(error) => return Step::Invalid(error.message()),
                    }
                }
            },
        };
        let (effects, jobs, text) = decided;
        Step::Finish {
            effects,
            jobs,
            view: View::update(Reply::public(format!("{text}\n{}", state.summary))),
        }
    }
}

fn storage_refusal(error: &crate::store::StoreError) -> Step<ReviewState, ReviewEvent> {
    tracing::error!(%error, "automod review: storage unavailable");
    Step::Invalid(
        "Gavel could not reach its storage, so nothing was decided. Please try again in a moment."
            .to_owned(),
    )
}
