//! The Discord message commands. An HTTP-only app never sees messages on its own; these bring
//! one to it, content included (Discord sends it in the interaction's resolved data without the
//! message-content intent):
//! - **Report message** (any member, on `/report`): a report with a snapshot of the message and
//!   what AutoMod makes of it, so moderators see what matched;
//! - **Check message** (moderators, on `/automod`): the dry run on that message, with the
//!   follow-up buttons of an AutoMod catch (Warn, Mute 1h, Dismiss).

use super::caught::{explain, strongest};
use super::review::{AutomodReview, ReviewState, review_buttons};
use crate::automod::{Hit, Message};
use crate::commands::CommandContext;
use crate::invocation::TargetMessage;
use crate::reply::{Reply, Response, truncate_chars};
use crate::store::{StoreError, WriteOp};

/// How much of the message a report quotes.
const SNAPSHOT_CHARS: usize = 400;

/// The rules' hits on `message`, as if it were posted now (its author's exemptions apply).
async fn hits_on(
    ctx: &CommandContext<'_>,
    message: &TargetMessage,
) -> Result<Vec<Hit>, StoreError> {
    let invocation = ctx.invocation;
    let compiled = ctx
        .registry
        .automod_rules()
        .get(
            ctx.store,
            invocation.platform,
            &invocation.tenant,
            ctx.now_ms(),
        )
        .await?;
    Ok(compiled.engine.check(&Message {
        text: &message.content,
        author: &message.author,
        author_roles: &[],
        channel: &message.channel,
        platform: invocation.platform,
        at_secs: ctx.now_secs(),
    }))
}

/// A report's reason for a reported message: the snapshot, and what AutoMod found. A store
/// failure only leaves AutoMod's verdict out: the report still goes.
pub async fn report_draft(ctx: &CommandContext<'_>, message: &TargetMessage) -> String {
    let snapshot = truncate_chars(message.content.trim(), SNAPSHOT_CHARS);
    let verdict = match hits_on(ctx, message).await {
        Ok(hits) if hits.is_empty() => "AutoMod: no rule matches.".to_owned(),
        Ok(hits) => format!("AutoMod:\n{}", explain(&hits)),
        Err(error) => {
            tracing::warn!(%error, "could not read the automod rules for a reported message");
            "AutoMod: not checked (storage unavailable).".to_owned()
        }
    };
    let snapshot = if snapshot.is_empty() {
        "(no text: an attachment or embed only)".into()
    } else {
        snapshot
    };
    truncate_chars(&format!("Reported message: “{snapshot}”\n{verdict}"), 1000).into_owned()
}

/// **Check message**: the dry run on the message, with follow-up buttons when it is caught.
pub(super) async fn check(ctx: &CommandContext<'_>, message: &TargetMessage) -> Response {
    if message.author_is_bot {
        return Reply::ephemeral("That message is a bot's; AutoMod does not check bots.").into();
    }
    let hits = match hits_on(ctx, message).await {
        Ok(hits) => hits,
        Err(error) => {
            tracing::error!(%error, "could not read the automod rules");
            return Reply::ephemeral(
                "Gavel could not read the AutoMod rules. Please try again in a moment.",
            )
            .into();
        }
    };
    let Some(top) = strongest(&hits) else {
        return Reply::ephemeral(format!(
            "✅ No rule catches this message by <@{}>.",
            message.author
        ))
        .into();
    };
    let summary = format!(
        "🛡️ This message by <@{}> in <#{}> breaks {} rule{} (the action would be: {}).\n{}",
        message.author,
        message.channel,
        hits.len(),
        if hits.len() == 1 { "" } else { "s" },
        top.action.label(),
        explain(&hits)
    );
    let invocation = ctx.invocation;
    let state = ReviewState {
        target: message.author.clone(),
        channel: message.channel.clone(),
        message: message.id.clone(),
        case: None,
        rule: top.rule.clone(),
        summary: summary.clone(),
    };
    let run = match ctx.flows.prepare_shared(
        &AutomodReview,
        invocation.platform,
        &invocation.tenant,
        &invocation.id,
        state,
        review_buttons(false),
    ) {
        Ok(run) => run,
        Err(error) => {
            tracing::error!(%error, "could not prepare the automod review");
            return Reply::ephemeral(summary).into();
        }
    };
    let WriteOp::Create(item) = run.write else {
        return Reply::ephemeral(summary).into();
    };
    match ctx.store.create(item).await {
        Ok(_) | Err(StoreError::AlreadyExists) => {}
        Err(error) => {
            tracing::error!(%error, "could not save the automod review");
            return Reply::ephemeral(format!(
                "{summary}\n(Gavel could not save the follow-up buttons; use `/warn` or `/mute`.)"
            ))
            .into();
        }
    }
    let mut reply = Reply::ephemeral(summary);
    for button in run.buttons {
        reply = reply.with_button(button);
    }
    reply.into()
}
