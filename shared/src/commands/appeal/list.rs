//! `/appeals`: moderators list the appeals waiting for a decision, and decide them there.

use async_trait::async_trait;

use super::review::{AppealReview, review_buttons};
use super::unreachable_store;
use crate::commands::{Command, CommandContext, CommandSpec};
use crate::invocation::Capability;
use crate::reply::{Reply, Response, truncate_chars};

/// `/appeals` shows this many, oldest first: two buttons each stay within both platforms'
/// limits on one message (25 buttons on Discord, 25 elements in a Slack actions block).
const MAX_LISTED: usize = 10;

static LIST_SPEC: CommandSpec = CommandSpec {
    name: "appeals",
    description: "List the appeals waiting for a decision, and decide them",
    options: &[],
    requires: Some(Capability::ModerateMembers),
    context_menu: None,
    message_menu: None,
    read_only: false,
};

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
