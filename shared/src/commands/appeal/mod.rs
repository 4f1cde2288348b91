//! `/appeal case:<n> [reason]`: a member asks the moderators to reconsider one of their cases.
//! `/appeals` ([`list`]): moderators list the appeals waiting for a decision, and decide them.
//!
//! The flows:
//! - [`form`]: the member's own form, asking for the reason when the command had none (or
//!   from the Appeal button under a ban's direct message), with validation errors beside the
//!   field on Slack and an "Edit appeal" button on Discord, as `/report`'s form does.
//! - [`review`]: the shared review any moderator may decide, created with the appeal
//!   ([`opening`]) and posted to the review channel by the worker.
//!
//! Sent in a DM with the bot (Discord, Telegram), `/appeal` finds the community of the case
//! through the member's index across communities ([`elsewhere`]).

mod elsewhere;
mod form;
mod list;
mod opening;
mod review;

use std::sync::Arc;

use async_trait::async_trait;

use super::{Command, CommandContext, CommandSpec, OptionKind, OptionSpec};
use crate::flows::FlowEngine;
use crate::flows::form::{FormFlow, FormRun, Length};
use crate::invocation::{Invocation, OptionValue};
use crate::reply::{Reply, Response};
use crate::store::StoreError;
use form::{AppealForm, Appealed, DmAppeal, DmAppealed};
use opening::{Standing, open_now};
use review::AppealReview;

pub use form::{DM_APPEAL_LIFETIME_SECS, dm_appeal_button};
pub use list::ListAppeals;

const REASON: Length = Length {
    min: 20,
    max: 1000,
    too_short: "Please explain your appeal in at least {min} characters.",
    noun: "your appeal",
};

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
    message_menu: None,
    read_only: false,
};

/// `/appeal`.
pub struct Appeal {
    form: Arc<FormFlow<AppealForm>>,
    review: Arc<AppealReview>,
    from_dm: Arc<FormFlow<DmAppeal>>,
}

impl Appeal {
    pub fn new() -> Self {
        Self {
            form: Arc::new(FormFlow(AppealForm)),
            review: Arc::new(AppealReview),
            from_dm: Arc::new(FormFlow(DmAppeal)),
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

    /// A muted or banned member may no longer reach the community: the DM is where they
    /// still can appeal ([`elsewhere`]).
    fn in_dms(&self) -> bool {
        true
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
            && let Err(problem) = REASON.check(reason)
        {
            return Reply::ephemeral(format!(
                "{problem} Or leave the reason out to write it in a form."
            ))
            .into();
        }
        let now = ctx.now_secs();
        // Refusals come before the form, so nobody writes an appeal that cannot be sent.
        let located = if ctx.invocation.outside_community() {
            elsewhere::locate(ctx, number, now).await
        } else {
            Standing::load(ctx.store, ctx.invocation, number, now)
                .await
                .map(|standing| (ctx.invocation.clone(), standing))
        };
        let (there, standing) = match located {
            Ok(located) => located,
            Err(refused) => return refused.into(),
        };
        match reason {
            None => self.open_form(ctx, &there, number).await,
            Some(reason) => open_now(ctx, &there, &standing, reason, now).await.into(),
        }
    }
}

impl Appeal {
    /// The form asking for the reason. From a DM it is the ban DM's form, whose run lives in
    /// the member's DM (where the form's submission comes from) and keeps the community.
    async fn open_form(&self, ctx: &CommandContext<'_>, there: &Invocation, case: u64) -> Response {
        if ctx.invocation.outside_community() {
            let run = FormRun::new(DmAppealed {
                guild: there.tenant.clone(),
                case,
            });
            let view = self.from_dm.open(&run);
            return ctx
                .flows
                .start(self.from_dm.as_ref(), ctx.invocation, run, view)
                .await;
        }
        let run = FormRun::new(Appealed { case });
        let view = self.form.open(&run);
        ctx.flows
            .start(self.form.as_ref(), ctx.invocation, run, view)
            .await
    }
}

fn unreachable_store(error: &StoreError) -> Reply {
    tracing::error!(%error, "appeal: storage unavailable");
    Reply::ephemeral(
        "Gavel could not reach its storage, so nothing was done. Please try again in a moment.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_must_be_20_to_1000_characters() {
        let check_reason = |reason: &str| REASON.check(reason);
        assert!(check_reason("too short").is_err());
        assert!(check_reason(&"é".repeat(19)).is_err());
        assert!(check_reason(&"é".repeat(20)).is_ok());
        assert!(check_reason(&"a".repeat(1000)).is_ok());
        let long = check_reason(&"a".repeat(1001)).unwrap_err();
        assert!(long.contains("1001 now"), "{long}");
    }
}
