//! `/pardon`, `/unban` and `/case`: changes to existing cases, each committed with its audit
//! entry in one transaction, then handed to the worker when the platform must follow.

use async_trait::async_trait;

use super::{
    check_app_may, followup, mention, mod_context, publish, settings_of, storage_failure,
    target_of, text_option,
};
use crate::commands::{Command, CommandContext, CommandSpec, OptionKind, OptionSpec};
use crate::invocation::{Capability, OptionValue, Platform};
use crate::jobs::{ReplyTarget, Task};
use crate::moderation::actions::{CaseError, prepare_edit, prepare_pardon, prepare_unban};
use crate::moderation::{AuditAction, Case, ModSettings, duration, points};
use crate::reply::{Reply, Response};

const CASE: OptionSpec = OptionSpec {
    name: "case",
    description: "The case number",
    kind: OptionKind::Integer,
    required: true,
};

static PARDON: CommandSpec = CommandSpec {
    name: "pardon",
    description: "Pardon a case: its points stop counting and a sanction in force is lifted",
    options: &[
        CASE,
        OptionSpec {
            name: "reason",
            description: "Why",
            kind: OptionKind::String,
            required: false,
        },
    ],
    requires: Some(Capability::ModerateMembers),
    context_menu: None,
    message_menu: None,
    read_only: false,
};

static UNBAN: CommandSpec = CommandSpec {
    name: "unban",
    description: "Lift a member's ban",
    options: &[
        OptionSpec {
            name: "user",
            description: "The member (on Discord, paste their user id if they left)",
            kind: OptionKind::User,
            required: true,
        },
        OptionSpec {
            name: "reason",
            description: "Why",
            kind: OptionKind::String,
            required: false,
        },
    ],
    requires: Some(Capability::BanMembers),
    context_menu: None,
    message_menu: None,
    read_only: false,
};

static CASE_SPEC: CommandSpec = CommandSpec {
    name: "case",
    description: "Show a case, or edit its duration, appeals or reason",
    options: &[
        OptionSpec {
            name: "number",
            description: "The case number",
            kind: OptionKind::Integer,
            required: true,
        },
        OptionSpec {
            name: "duration",
            description: "A new duration from the case's start (mutes and temporary bans)",
            kind: OptionKind::Duration,
            required: false,
        },
        OptionSpec {
            name: "appeals",
            description: "Whether the member may appeal this case",
            kind: OptionKind::Choice(&["allow", "refuse"]),
            required: false,
        },
        OptionSpec {
            name: "reason",
            description: "A new reason",
            kind: OptionKind::String,
            required: false,
        },
    ],
    requires: Some(Capability::ModerateMembers),
    context_menu: None,
    message_menu: None,
    read_only: false,
};

fn number_of(ctx: &CommandContext<'_>, name: &str) -> Result<u64, Response> {
    match ctx.call.option(name) {
        Some(OptionValue::Integer(n)) if *n > 0 => Ok(*n as u64),
        Some(_) => Err(Reply::ephemeral("Case numbers are whole numbers from 1.").into()),
        None => Err(Reply::ephemeral(format!(
            "Say which case: `{}`.",
            ctx.registry
                .spec(&ctx.call.name)
                .map(|s| s.usage())
                .unwrap_or_default()
        ))
        .into()),
    }
}

/// `/pardon case [reason]`.
pub struct Pardon;

#[async_trait]
impl Command for Pardon {
    fn spec(&self) -> &'static CommandSpec {
        &PARDON
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        let number = match number_of(ctx, "case") {
            Ok(n) => n,
            Err(refusal) => return refusal,
        };
        let reason = text_option(ctx, "reason").unwrap_or("no reason given");
        let settings = match settings_of(ctx).await {
            Ok(settings) => settings,
            Err(error) => return storage_failure("pardon", &error),
        };
        let mod_ctx = mod_context(ctx, &settings);
        let stored = match mod_ctx.cases().get(number).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return Reply::ephemeral(CaseError::NotFound(number).message()).into(),
            Err(error) => return storage_failure("pardon", &error),
        };
        let changed = match prepare_pardon(&mod_ctx, &stored, reason, AuditAction::Pardon).await {
            Ok(changed) => changed,
            Err(error) => return Reply::ephemeral(error.message()).into(),
        };
        if let Err(error) = ctx.store.transact(changed.ops).await {
            return Reply::ephemeral(CaseError::Store(error).message()).into();
        }
        let mut text = format!(
            "✅ Case #{number} ({} for {}) is pardoned: its {} point{} no longer count.",
            changed.before.kind.label(),
            mention(&changed.before.target),
            changed.before.points,
            if changed.before.points == 1 { "" } else { "s" }
        );
        if let Some(refunded) = changed.refunded {
            text.push_str(&format!(
                " Its fine of {} is paid back.",
                crate::economy::settings::grouped(refunded)
            ));
        }
        if let Some(task) = changed.task {
            text.push_str(&format!(
                " Lifting the {} on {}…",
                changed.before.kind.label(),
                ctx.invocation.platform.name()
            ));
            if let Some(problem) =
                publish(ctx, vec![mod_ctx.job(task, 0, followup(ctx.invocation))]).await
            {
                text.push_str(&format!("\n{problem}"));
            }
        }
        Reply::ephemeral(text).into()
    }
}

/// `/unban user [reason]`.
pub struct Unban;

#[async_trait]
impl Command for Unban {
    fn spec(&self) -> &'static CommandSpec {
        &UNBAN
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        let target = match target_of(ctx, "unban") {
            Ok(target) => target,
            Err(refusal) => return refusal,
        };
        if ctx.invocation.platform == Platform::Discord
            && let Err(refusal) = check_app_may(ctx.invocation, Some(Capability::BanMembers))
        {
            return refusal;
        }
        let reason = text_option(ctx, "reason").unwrap_or("no reason given");
        let settings = match settings_of(ctx).await {
            Ok(settings) => settings,
            Err(error) => return storage_failure("unban", &error),
        };
        let mod_ctx = mod_context(ctx, &settings);
        let (ended, ops, task) = match prepare_unban(&mod_ctx, &target, reason).await {
            Ok(prepared) => prepared,
            Err(error) => return storage_failure("unban", &error),
        };
        if let Err(error) = ctx.store.transact(ops).await {
            return Reply::ephemeral(CaseError::Store(error).message()).into();
        }
        let cases = match ended.as_slice() {
            [] => String::new(),
            [one] => format!(" Case #{one} is recorded as lifted."),
            many => format!(
                " Cases {} are recorded as lifted.",
                many.iter()
                    .map(|n| format!("#{n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut text = match ctx.invocation.platform {
            Platform::Discord | Platform::Telegram => {
                format!("🔓 Unbanning {}…{cases}", mention(&target))
            }
            Platform::Slack => format!(
                "🔓 Recorded.{cases} Slack has no bans to lift; an admin can reactivate a deactivated account."
            ),
        };
        if let Some(problem) =
            publish(ctx, vec![mod_ctx.job(task, 0, followup(ctx.invocation))]).await
        {
            text.push_str(&format!("\n{problem}"));
        }
        Reply::ephemeral(text).into()
    }
}

/// `/case number [duration] [appeals] [reason]`.
pub struct CaseCommand;

#[async_trait]
impl Command for CaseCommand {
    fn spec(&self) -> &'static CommandSpec {
        &CASE_SPEC
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        let number = match number_of(ctx, "number") {
            Ok(n) => n,
            Err(refusal) => return refusal,
        };
        let reason = text_option(ctx, "reason");
        let duration_secs = match text_option(ctx, "duration")
            .map(duration::parse)
            .transpose()
        {
            Ok(d) => d,
            Err(error) => return Reply::ephemeral(error.to_string()).into(),
        };
        let appealable = match text_option(ctx, "appeals") {
            None => None,
            Some(choice) if choice.eq_ignore_ascii_case("allow") => Some(true),
            Some(choice) if choice.eq_ignore_ascii_case("refuse") => Some(false),
            Some(other) => {
                return Reply::ephemeral(format!(
                    "`appeals` is `allow` or `refuse`, not `{other}`."
                ))
                .into();
            }
        };
        let settings = match settings_of(ctx).await {
            Ok(settings) => settings,
            Err(error) => return storage_failure("case", &error),
        };
        let mod_ctx = mod_context(ctx, &settings);
        let stored = match mod_ctx.cases().get(number).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return Reply::ephemeral(CaseError::NotFound(number).message()).into(),
            Err(error) => return storage_failure("case", &error),
        };
        if reason.is_none() && duration_secs.is_none() && appealable.is_none() {
            return view(&stored.case, mod_ctx.now_secs, &settings).into();
        }
        let changed = match prepare_edit(&mod_ctx, &stored, reason, duration_secs, appealable) {
            Ok(changed) => changed,
            Err(error) => return Reply::ephemeral(error.message()).into(),
        };
        if let Err(error) = ctx.store.transact(changed.ops).await {
            return Reply::ephemeral(CaseError::Store(error).message()).into();
        }
        let mut reply = view(&changed.after, mod_ctx.now_secs, &settings);
        reply.text = format!("✏️ Case #{number} updated.\n{}", reply.text);
        let mut jobs = Vec::new();
        if let Some(task) = changed.task {
            jobs.push(mod_ctx.job(task, 0, followup(ctx.invocation)));
        }
        let line = format!(
            "✏️ Case #{number} edited by {}: {}",
            mention(mod_ctx.actor()),
            edit_summary(&changed.before, &changed.after)
        );
        if let Some(post) = mod_ctx.modlog(line) {
            jobs.push(mod_ctx.job(Task::Post(post), 1, ReplyTarget::Nobody));
        }
        if let Some(problem) = publish(ctx, jobs).await {
            reply.text.push_str(&format!("\n{problem}"));
        }
        reply.into()
    }
}

/// "reason: spam → spam in #general" for the mod log: the edit events just added.
fn edit_summary(before: &Case, after: &Case) -> String {
    after.history[before.history.len()..]
        .iter()
        .map(|e| {
            format!(
                "{}: {} → {}",
                e.what,
                e.before.as_deref().unwrap_or("none"),
                e.after.as_deref().unwrap_or("none")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A case in full: its facts and its history.
fn view(case: &Case, now: i64, settings: &ModSettings) -> Reply {
    let mut reply = Reply::ephemeral(format!(
        "{} Case #{}: {} for {}",
        case.kind.emoji(),
        case.number,
        case.kind.label(),
        mention(&case.target)
    ))
    .with_field("Reason", case.reason.clone())
    .with_field("Moderator", mention(&case.moderator))
    .with_field("Given", crate::moderation::date_time(case.created_at))
    .with_field(
        "Points",
        format!(
            "{} given, {} still counting",
            case.points,
            points::display(points::remaining_milli(
                case,
                settings.decay_milli_per_day,
                now
            ))
        ),
    )
    .with_field("Status", case.status_at(now).label().to_owned());
    if let Some(d) = case.duration_secs {
        reply = reply.with_field("Duration", duration::format(d));
    }
    if let Some(end) = case.expires_at {
        reply = reply.with_field("Ends", crate::moderation::date_time(end));
    }
    reply = reply.with_field(
        "Appeals",
        if case.unappealable {
            "refused"
        } else {
            "allowed"
        },
    );
    if let Some(fine) = case.fine {
        let refunded = if case.status == crate::moderation::Status::Pardoned {
            " (refunded)"
        } else {
            ""
        };
        reply = reply.with_field(
            "Fine",
            format!("{}{refunded}", crate::economy::settings::grouped(fine)),
        );
    }
    if let Some(dm) = &case.dm {
        reply = reply.with_field("Direct message", dm.clone());
    }
    if !case.history.is_empty() {
        let lines: Vec<String> = case
            .history
            .iter()
            .map(|e| {
                format!(
                    "{} · {} · {}{}",
                    crate::moderation::date_time(e.at),
                    if e.by == "gavel" {
                        "Gavel".to_owned()
                    } else {
                        mention(&e.by)
                    },
                    e.what,
                    match (&e.before, &e.after) {
                        (Some(b), Some(a)) => format!(": {b} → {a}"),
                        (None, Some(a)) => format!(": {a}"),
                        _ => String::new(),
                    }
                )
            })
            .collect();
        reply = reply.with_field("History", lines.join("\n"));
    }
    reply
}
