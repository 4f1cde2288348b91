//! `/report @user [reason]`: any member reports someone to the moderators; `/reports` lists
//! the latest reports for moderators.
//!
//! The first real flows. With a reason, the member confirms before anything is sent (the
//! generic [`Confirmation`] flow that moderation commands reuse). Without one, a form asks for
//! the reason and an optional evidence link, with validation errors shown beside the fields on
//! Slack and in a message with an "Edit report" button on Discord (which cannot mark fields).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use super::{Command, CommandContext, CommandSpec, OptionKind, OptionSpec};
use crate::flows::confirm::{Confirmation, ConfirmedAction, Performed};
use crate::flows::form::{Check, Field, FormFlow, FormRun, FormSpec, Length, Parsed, Values};
use crate::flows::{FlowEngine, StepContext};
use crate::invocation::{Capability, Invocation, OptionValue, TargetMessage};
use crate::jobs::{Job, ReplyTarget, Task};
use crate::reply::{ButtonStyle, Reply, Response};
use crate::store::keys::Community;
use crate::store::{ItemKey, NewItem, PageRequest, WriteOp};

/// Reports are kept this long, like the audit log's default retention.
const REPORT_RETENTION_SECS: i64 = 90 * 24 * 60 * 60;
const REASON: Length = Length {
    min: 10,
    max: 1000,
    too_short: "Please describe what happened in at least {min} characters.",
    noun: "the reason",
};
const LINK_MAX: usize = 500;

const REASON_FIELD: &str = "reason";
const LINK_FIELD: &str = "evidence";

static SPEC: CommandSpec = CommandSpec {
    name: "report",
    description: "Report a member to the moderators",
    options: &[
        OptionSpec {
            name: "user",
            description: "Who you are reporting",
            kind: OptionKind::User,
            required: true,
        },
        OptionSpec {
            name: "reason",
            description: "What happened (leave out to fill in a form)",
            kind: OptionKind::String,
            required: false,
        },
    ],
    requires: None,
    context_menu: None,
    message_menu: Some("Report message"),
    read_only: false,
};

static LIST_SPEC: CommandSpec = CommandSpec {
    name: "reports",
    description: "List the latest member reports",
    options: &[],
    requires: Some(Capability::ModerateMembers),
    context_menu: None,
    message_menu: None,
    read_only: false,
};

/// What a report records.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Draft {
    pub target: String,
    pub reason: String,
    pub evidence: Option<String>,
    pub channel: Option<String>,
}

/// `/report`.
pub struct Report {
    confirm: Arc<Confirmation<FileReport>>,
    form: Arc<FormFlow<ReportForm>>,
}

impl Report {
    pub fn new() -> Self {
        Self {
            confirm: Arc::new(Confirmation(FileReport)),
            form: Arc::new(FormFlow(ReportForm)),
        }
    }
}

impl Default for Report {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Command for Report {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    fn register_flows(&self, engine: &mut FlowEngine) {
        engine.register(Arc::clone(&self.confirm));
        engine.register(Arc::clone(&self.form));
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        if let Some(message) = &ctx.call.message {
            return self.report_message(ctx, message).await;
        }
        let Some(OptionValue::User(target)) = ctx.call.option("user") else {
            return Reply::ephemeral("Say who you are reporting: `/report @user [reason]`.").into();
        };
        if *target == ctx.invocation.actor.id {
            return Reply::ephemeral("You cannot report yourself.").into();
        }
        let reason = ctx.call.option("reason").and_then(OptionValue::as_str);
        match reason {
            None => {
                let run = FormRun::new(Reported {
                    target: target.clone(),
                    channel: ctx.invocation.channel.clone(),
                });
                let view = self.form.open(&run);
                ctx.flows
                    .start(self.form.as_ref(), ctx.invocation, run, view)
                    .await
            }
            Some(reason) => {
                if let Err(problem) = REASON.check(reason) {
                    return Reply::ephemeral(format!(
                        "{problem} Or leave the reason out to fill in a form."
                    ))
                    .into();
                }
                let draft = Draft {
                    target: target.clone(),
                    reason: reason.trim().to_owned(),
                    evidence: None,
                    channel: ctx.invocation.channel.clone(),
                };
                self.confirm_draft(ctx, draft).await
            }
        }
    }
}

impl Report {
    /// **Report message**: the report's reason is the message's snapshot and what AutoMod
    /// makes of it; the member confirms before it is sent, as with a typed reason.
    async fn report_message(&self, ctx: &CommandContext<'_>, message: &TargetMessage) -> Response {
        if message.author == ctx.invocation.actor.id {
            return Reply::ephemeral("You cannot report your own message.").into();
        }
        if message.author_is_bot {
            return Reply::ephemeral(
                "That message is a bot's; tell the moderators directly if it misbehaves.",
            )
            .into();
        }
        let draft = Draft {
            target: message.author.clone(),
            reason: super::automod::report_draft(ctx, message).await,
            evidence: message_link(&ctx.invocation.tenant, &message.channel, &message.id),
            channel: Some(message.channel.clone()),
        };
        self.confirm_draft(ctx, draft).await
    }

    /// Asks the member to confirm `draft` before it is sent.
    async fn confirm_draft(&self, ctx: &CommandContext<'_>, draft: Draft) -> Response {
        let view = self.confirm.prompt_view(&draft);
        ctx.flows
            .start(
                self.confirm.as_ref(),
                ctx.invocation,
                Confirmation::<FileReport>::pending(draft),
                view,
            )
            .await
    }
}

/// A link to a Discord message, for the report's evidence.
fn message_link(guild: &str, channel: &str, message: &str) -> Option<String> {
    let ids = [guild, channel, message];
    ids.iter()
        .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("https://discord.com/channels/{guild}/{channel}/{message}"))
}

/// Sending a report, behind Confirm / Cancel.
pub struct FileReport;

#[async_trait]
impl ConfirmedAction for FileReport {
    const FLOW: &'static str = "report";
    type Payload = Draft;

    fn restart_hint(&self) -> String {
        "Run `/report` again to send it.".to_owned()
    }

    fn prompt(&self, draft: &Draft) -> Reply {
        Reply::ephemeral(format!(
            "Send this report about {} to the moderators?",
            mention(draft.target.as_str())
        ))
        .with_field("Reason", draft.reason.clone())
    }

    fn confirm_label(&self) -> &'static str {
        "Send report"
    }

    fn confirm_style(&self) -> ButtonStyle {
        ButtonStyle::Primary
    }

    async fn perform(&self, ctx: &StepContext<'_>, draft: &Draft) -> Result<Performed, String> {
        Ok(filing(ctx, draft))
    }

    fn cancelled(&self, _: &Draft) -> Reply {
        Reply::ephemeral("Report cancelled; nothing was sent.")
    }
}

/// What the report form is about: who is reported, from which channel.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Reported {
    pub target: String,
    pub channel: Option<String>,
}

/// The report form: the reason and an optional evidence link.
pub struct ReportForm;

#[async_trait]
impl FormSpec for ReportForm {
    const NAME: &'static str = "report-form";
    type Context = Reported;

    fn lifetime_secs(&self) -> i64 {
        // Writing a report takes longer than clicking Confirm.
        15 * 60
    }

    fn restart_hint(&self) -> String {
        "Run `/report` again to start a new one.".to_owned()
    }

    fn fields(&self, _: &Reported) -> Vec<Field> {
        vec![
            Field::text(REASON_FIELD, "Reason", REASON)
                .multiline()
                .placeholder("What happened, and where?"),
            Field::new(
                LINK_FIELD,
                "Evidence link",
                LINK_MAX as u16,
                Check::parse(|link| check_link(link).map(|()| Parsed::Text(link.to_owned()))),
            )
            .optional()
            .placeholder("https://… (a message link, optional)"),
        ]
    }

    fn title(&self, _: &Reported) -> String {
        "Report a member".to_owned()
    }

    fn submit_label(&self, _: &Reported) -> String {
        "Send report".to_owned()
    }

    fn not_yet(&self) -> &'static str {
        "Your report was not sent yet:"
    }

    fn edit_label(&self) -> &'static str {
        "Edit report"
    }

    async fn finish(
        &self,
        ctx: &StepContext<'_>,
        reported: Reported,
        values: Values,
    ) -> Result<Performed, String> {
        let draft = Draft {
            target: reported.target,
            reason: values.text(REASON_FIELD).unwrap_or_default(),
            evidence: values.text(LINK_FIELD),
            channel: reported.channel,
        };
        Ok(filing(ctx, &draft))
    }
}

/// `/reports`: the latest reports, newest first.
pub struct ListReports;

#[async_trait]
impl Command for ListReports {
    fn spec(&self) -> &'static CommandSpec {
        &LIST_SPEC
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        let page = PageRequest {
            limit: 10,
            cursor: None,
            descending: true,
        };
        let store = ctx.store;
        let found = match store
            .query(&reports_pk(ctx.invocation), "report#", page)
            .await
        {
            Ok(found) => found,
            Err(error) => {
                tracing::error!(%error, "could not list reports");
                return Reply::ephemeral(
                    "Gavel could not reach its storage. Please try again in a moment.",
                )
                .into();
            }
        };
        if found.items.is_empty() {
            return Reply::ephemeral("No reports in the last 90 days.").into();
        }
        let mut reply = Reply::ephemeral(format!("The latest {} reports:", found.items.len()));
        for item in &found.items {
            let d = &item.data;
            let text = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or("");
            let mut value = format!("by {}: {}", mention(text("reporter")), text("reason"));
            if !text("evidence").is_empty() {
                value.push_str(&format!(" ({})", text("evidence")));
            }
            let when = d.get("at").and_then(|v| v.as_i64()).unwrap_or(0);
            reply = reply.with_field(
                format!(
                    "{}, {}",
                    mention(text("target")),
                    ago(ctx.now_secs() - when)
                ),
                value,
            );
        }
        reply.into()
    }
}

/// "3 h ago": both platforms' timestamp markup differs, so plain words.
fn ago(secs: i64) -> String {
    match secs.max(0) {
        s if s < 60 => "just now".to_owned(),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

fn reports_pk(invocation: &Invocation) -> String {
    Community::new(invocation.platform, &invocation.tenant).reports()
}

/// Filing a report, confirmed or submitted: the report item, its delivery, the answer.
fn filing(ctx: &StepContext<'_>, draft: &Draft) -> Performed {
    Performed {
        effects: vec![report_write(ctx, draft)],
        jobs: vec![delivery(ctx, draft)],
        reply: sent(draft),
    }
}

/// The report item, written in the same transaction that finishes the flow: a report is sent
/// exactly once, whatever the clicks.
fn report_write(ctx: &StepContext<'_>, draft: &Draft) -> WriteOp {
    let invocation = ctx.invocation;
    // Newest-first listing by time; the interaction id keeps two reports in one second apart.
    let sk = format!("report#{:012}#{}", ctx.now_secs, invocation.id);
    WriteOp::Create(
        NewItem::new(
            ItemKey::new(reports_pk(invocation), sk),
            json!({
                "target": draft.target,
                "reporter": invocation.actor.id,
                "reason": draft.reason,
                "evidence": draft.evidence,
                "channel": draft.channel,
                "at": ctx.now_secs,
            }),
        )
        .expiring_at(ctx.now_secs + REPORT_RETENTION_SECS),
    )
}

/// Posting the report in the community's report channel, if one is set, is the worker's.
fn delivery(ctx: &StepContext<'_>, draft: &Draft) -> Job {
    let mut job = Job::for_invocation(
        ctx.invocation,
        Task::DeliverReport {
            target: draft.target.clone(),
            reporter: ctx.invocation.actor.id.clone(),
            reason: draft.reason.clone(),
            evidence: draft.evidence.clone(),
        },
        ctx.now_secs,
    );
    // The member was already told the report is sent; the channel post is the moderators'.
    job.reply_to = ReplyTarget::Nobody;
    job
}

fn sent(draft: &Draft) -> Reply {
    Reply::ephemeral(format!(
        "✅ Your report about {} was sent to the moderators. Thank you.",
        mention(&draft.target)
    ))
}

fn check_link(link: &str) -> Result<(), String> {
    let ok = link.len() <= LINK_MAX
        && link.starts_with("https://")
        && link.len() > "https://".len()
        && !link.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err("The evidence must be a single https:// link, such as a message link.".to_owned())
    }
}

/// Both platforms render `<@id>` as a mention; replies never ping (allowed mentions are empty
/// on Discord, and Slack ephemeral messages notify nobody).
fn mention(user: &str) -> String {
    format!("<@{user}>")
}
