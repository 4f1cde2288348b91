//! The moderation commands: `/note`, `/warn`, `/mute`, `/kick`, `/tempban`, `/ban` (one
//! definition, [`sanction::SanctionCommand`], per kind), `/unban`, `/pardon`, `/case` and
//! `/infractions`, with Discord user context menus for the common ones.
//!
//! Commands decide and record; the worker acts on the platform. Every command checks, before
//! anything is written, what Discord would refuse anyway (acting on oneself or on the app, the
//! app lacking the permission), so the moderator is told at once instead of by a failed job.

mod history;
mod manage;
mod sanction;

use crate::commands::CommandContext;
use crate::invocation::{Capability, Invocation, OptionValue};
use crate::jobs::{Job, ReplyTarget};
use crate::moderation::ModSettings;
use crate::moderation::actions::ModContext;
use crate::reply::{Reply, Response};
use crate::store::StoreError;

pub use history::Infractions;
pub use manage::{CaseCommand, Pardon, Unban};
pub use sanction::SanctionCommand;

/// The storage failure answer: nothing happened, try again.
fn storage_failure(what: &str, error: &StoreError) -> Response {
    if matches!(
        error,
        StoreError::TransactionConflict { .. } | StoreError::VersionConflict { .. }
    ) {
        return Reply::ephemeral(format!(
            "Other moderators were changing the same records at that moment, so the {what} was not recorded. Please try again."
        ))
        .into();
    }
    tracing::error!(%error, what, "moderation storage failure");
    Reply::ephemeral(format!(
        "I could not reach my storage, so the {what} was not recorded. Please try again."
    ))
    .into()
}

/// The `user` option, checked: not the invoker, not the app.
fn target_of(ctx: &CommandContext<'_>, verb: &str) -> Result<String, Response> {
    let Some(OptionValue::User(target)) = ctx.call.option("user") else {
        return Err(Reply::ephemeral(format!(
            "Say whom to {verb}: `{}`.",
            ctx.registry
                .spec(&ctx.call.name)
                .map(|s| s.usage())
                .unwrap_or_default()
        ))
        .into());
    };
    check_target(ctx.invocation, target, verb)?;
    Ok(target.clone())
}

fn check_target(invocation: &Invocation, target: &str, verb: &str) -> Result<(), Response> {
    if target == invocation.actor.id {
        return Err(Reply::ephemeral(format!("You cannot {verb} yourself.")).into());
    }
    if invocation
        .app
        .as_ref()
        .is_some_and(|app| app.user_id == target)
    {
        return Err(Reply::ephemeral(format!("I cannot {verb} myself.")).into());
    }
    Ok(())
}

/// Discord tells us the app's own permissions in the channel: refuse what it would refuse.
fn check_app_may(invocation: &Invocation, needed: Option<Capability>) -> Result<(), Response> {
    if let (Some(app), Some(cap)) = (&invocation.app, needed)
        && !app.capabilities.contains(cap)
    {
        return Err(Reply::ephemeral(format!(
            "I need the {} permission in this server to do that. Ask an admin to give my role that permission, then try again.",
            cap.label()
        ))
        .into());
    }
    Ok(())
}

fn text_option<'a>(ctx: &'a CommandContext<'_>, name: &str) -> Option<&'a str> {
    ctx.call
        .option(name)
        .and_then(OptionValue::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The community's settings, through this instance's one-minute copy: commands only read them.
async fn settings_of(ctx: &CommandContext<'_>) -> Result<ModSettings, StoreError> {
    ctx.registry
        .settings_cache()
        .get(
            ctx.store,
            ctx.invocation.platform,
            &ctx.invocation.tenant,
            ctx.now_ms(),
        )
        .await
}

fn mod_context<'a>(ctx: &'a CommandContext<'_>, settings: &'a ModSettings) -> ModContext<'a> {
    ModContext {
        store: ctx.store,
        invocation: ctx.invocation,
        now_secs: ctx.now_secs(),
        settings,
    }
}

/// Hands committed work to the worker; a job that cannot be published is logged and the
/// moderator told, since the record stands but the platform was not asked.
async fn publish(ctx: &CommandContext<'_>, jobs: Vec<Job>) -> Option<String> {
    let mut failed = false;
    for job in jobs {
        if let Err(error) = ctx.bus.publish(&job).await {
            tracing::error!(%error, job = %job.log_id(), "could not hand a moderation job to the worker");
            failed = true;
        }
    }
    failed.then(|| {
        "⚠️ The case is recorded, but I could not queue the platform action; please repeat it by hand or try again.".to_owned()
    })
}

/// Where the worker reports how a job went: a follow-up, so the moderator's answer (and its
/// buttons) stays.
fn followup(invocation: &Invocation) -> ReplyTarget {
    ReplyTarget::of(invocation).as_followup()
}

fn mention(user: &str) -> String {
    format!("<@{user}>")
}
