//! `/remind in 2h text`, `/remind list`, `/remind cancel 3`: personal reminders, delivered by
//! DM at their time (or in the channel where they were set, if Gavel cannot DM the person).
//!
//! The command only stores the reminder and answers; the one-time schedule is made by the
//! worker (a job published after the write), so the answer never waits on EventBridge
//! Scheduler. The maintenance sweep delivers a reminder whose schedule was never made.

use async_trait::async_trait;

use super::{Command, CommandContext, CommandSpec, OptionKind, OptionSpec};
use crate::invocation::OptionValue;
use crate::jobs::{Job, ReplyTarget, Task};
use crate::moderation::{date_time, duration};
use crate::reminders::{
    Cancelled, MAX_PENDING, MAX_TEXT_CHARS, MAX_WAIT_SECS, Reminder, Reminders,
};
use crate::reply::{Reply, Response};

static SPEC: CommandSpec = CommandSpec {
    name: "remind",
    description: "Set a reminder (`in 2h stand-up notes`), list yours, or cancel one",
    options: &[
        OptionSpec {
            name: "action",
            description: "in, list or cancel",
            kind: OptionKind::Choice(&["in", "list", "cancel"]),
            required: true,
        },
        OptionSpec {
            name: "duration",
            description: "With `in`: how long from now, such as 30m, 2h or 1d12h",
            kind: OptionKind::Duration,
            required: false,
        },
        OptionSpec {
            name: "text",
            description: "With `in`: what to remind you of. With `cancel`: the reminder's number",
            kind: OptionKind::String,
            required: false,
        },
    ],
    requires: None,
    context_menu: None,
    message_menu: None,
    read_only: false,
};

pub struct Remind;

#[async_trait]
impl Command for Remind {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        let option = |name: &str| {
            ctx.call
                .option(name)
                .and_then(OptionValue::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let reminders = Reminders::new(ctx.store, ctx.invocation.platform, &ctx.invocation.tenant);
        let reply = match option("action").map(str::to_ascii_lowercase).as_deref() {
            Some("in") => set(ctx, &reminders, option("duration"), option("text")).await,
            Some("list") => list(ctx, &reminders).await,
            Some("cancel") => cancel(ctx, &reminders, option("text")).await,
            _ => Reply::ephemeral(usage()),
        };
        reply.into()
    }
}

fn usage() -> String {
    "Use `/remind in 2h what to remember`, `/remind list` or `/remind cancel 3`.".to_owned()
}

fn storage_failure(error: &crate::store::StoreError) -> Reply {
    tracing::error!(%error, "reminder storage failure");
    Reply::ephemeral("I could not reach my storage, so nothing was changed. Please try again.")
}

/// Hands a schedule change to the worker. Not fatal if it fails: the sweep delivers anyway.
async fn publish(ctx: &CommandContext<'_>, task: Task) {
    let mut job = Job::for_invocation(ctx.invocation, task, ctx.now_secs());
    job.reply_to = ReplyTarget::Nobody;
    if let Err(error) = ctx.bus.publish(&job).await {
        tracing::warn!(%error, "no schedule change queued; the maintenance sweep covers it");
    }
}

async fn set(
    ctx: &CommandContext<'_>,
    reminders: &Reminders<'_>,
    wait: Option<&str>,
    text: Option<&str>,
) -> Reply {
    let Some(wait) = wait else {
        return Reply::ephemeral(format!("Say when: {}", usage()));
    };
    let secs = match duration::parse(wait) {
        Ok(secs) if secs <= MAX_WAIT_SECS => secs,
        Ok(_) => return Reply::ephemeral("A reminder can wait at most a year."),
        Err(error) => return Reply::ephemeral(error.to_string()),
    };
    let Some(text) = text else {
        return Reply::ephemeral(format!("Say what to remind you of: {}", usage()));
    };
    if text.chars().count() > MAX_TEXT_CHARS {
        return Reply::ephemeral(format!(
            "A reminder holds at most {MAX_TEXT_CHARS} characters."
        ));
    }
    let user = &ctx.invocation.actor.id;
    match reminders.pending(user).await {
        Ok(pending) if pending.len() >= MAX_PENDING => {
            return Reply::ephemeral(format!(
                "You have {MAX_PENDING} reminders waiting, the most I keep. Cancel one with `/remind cancel <number>` first."
            ));
        }
        Ok(_) => {}
        Err(error) => return storage_failure(&error),
    }
    let now = ctx.now_secs();
    let reminder = match reminders
        .create(user, ctx.invocation.channel.clone(), text, now, now + secs)
        .await
    {
        Ok(reminder) => reminder,
        Err(error) => return storage_failure(&error),
    };
    publish(
        ctx,
        Task::Schedule {
            wakeup: reminders.wakeup(&reminder),
        },
    )
    .await;
    Reply::ephemeral(format!(
        "⏰ Reminder {} set for {} (in {}): {}\nCancel it with `/remind cancel {}`.",
        reminder.id,
        date_time(reminder.due_at),
        duration::words(secs),
        reminder.text,
        reminder.id
    ))
}

fn line(reminder: &Reminder, now: i64) -> String {
    format!(
        "`{}` · {} (in {}) · {}",
        reminder.id,
        date_time(reminder.due_at),
        duration::format((reminder.due_at - now).max(0)),
        reminder.text
    )
}

async fn list(ctx: &CommandContext<'_>, reminders: &Reminders<'_>) -> Reply {
    let pending = match reminders.pending(&ctx.invocation.actor.id).await {
        Ok(pending) => pending,
        Err(error) => return storage_failure(&error),
    };
    if pending.is_empty() {
        return Reply::ephemeral(
            "You have no reminders waiting. Set one with `/remind in 2h what to remember`.",
        );
    }
    let now = ctx.now_secs();
    let lines: Vec<String> = pending.iter().map(|r| line(r, now)).collect();
    Reply::ephemeral(format!(
        "⏰ Your reminders ({}):\n{}",
        pending.len(),
        lines.join("\n")
    ))
}

async fn cancel(ctx: &CommandContext<'_>, reminders: &Reminders<'_>, id: Option<&str>) -> Reply {
    let Some(id) = id.and_then(|t| t.trim_start_matches('#').parse::<u64>().ok()) else {
        return Reply::ephemeral(
            "Say which reminder: `/remind cancel 3` (`/remind list` shows the numbers).",
        );
    };
    match reminders.cancel(&ctx.invocation.actor.id, id).await {
        Ok(Cancelled::Cancelled(reminder)) => {
            publish(
                ctx,
                Task::Unschedule {
                    wakeup: reminders.wakeup(&reminder),
                },
            )
            .await;
            Reply::ephemeral(format!("🗑️ Reminder {id} cancelled: {}", reminder.text))
        }
        Ok(Cancelled::AlreadyDelivered) => {
            Reply::ephemeral(format!("Reminder {id} was already delivered."))
        }
        Ok(Cancelled::NotFound) => Reply::ephemeral(format!(
            "You have no reminder {id}. `/remind list` shows yours."
        )),
        Err(error) => storage_failure(&error),
    }
}
