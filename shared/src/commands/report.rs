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
use crate::flows::form;
use crate::flows::{FlowEngine, FlowModal, Input, Machine, Step, StepContext, View};
use crate::invocation::{Capability, Invocation, OptionValue};
use crate::jobs::{Job, ReplyTarget, Task};
use crate::reply::{ButtonStyle, FieldError, Reply, Response, TextInput};
use crate::store::{ItemKey, NewItem, PageRequest, WriteOp};

/// Reports are kept this long, like the audit log's default retention.
const REPORT_RETENTION_SECS: i64 = 90 * 24 * 60 * 60;
const REASON_MIN: usize = 10;
const REASON_MAX: usize = 1000;
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
};

static LIST_SPEC: CommandSpec = CommandSpec {
    name: "reports",
    description: "List the latest member reports",
    options: &[],
    requires: Some(Capability::ModerateMembers),
    context_menu: None,
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
    form: Arc<ReportForm>,
}

impl Report {
    pub fn new() -> Self {
        Self {
            confirm: Arc::new(Confirmation(FileReport)),
            form: Arc::new(ReportForm),
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
        let Some(OptionValue::User(target)) = ctx.call.option("user") else {
            return Reply::ephemeral("Say who you are reporting: `/report @user [reason]`.").into();
        };
        if *target == ctx.invocation.actor.id {
            return Reply::ephemeral("You cannot report yourself.").into();
        }
        let reason = ctx.call.option("reason").and_then(OptionValue::as_str);
        match reason {
            None => {
                let state = FormState {
                    target: target.clone(),
                    channel: ctx.invocation.channel.clone(),
                    reason: None,
                    evidence: None,
                };
                let view = View::Modal(form_modal(&state));
                ctx.flows
                    .start(self.form.as_ref(), ctx.invocation, state, view)
                    .await
            }
            Some(reason) => {
                if let Err(problem) = check_reason(reason) {
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
    }
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
        Ok(Performed {
            effects: vec![report_write(ctx, draft)],
            jobs: vec![delivery(ctx, draft)],
            reply: sent(draft),
        })
    }

    fn cancelled(&self, _: &Draft) -> Reply {
        Reply::ephemeral("Report cancelled; nothing was sent.")
    }
}

/// The form's run: who is reported, and the draft being corrected.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FormState {
    pub target: String,
    pub channel: Option<String>,
    pub reason: Option<String>,
    pub evidence: Option<String>,
}

pub use crate::flows::form::FormEvent;

/// The report form as a flow.
pub struct ReportForm;

#[async_trait]
impl Machine for ReportForm {
    const NAME: &'static str = "report-form";
    type State = FormState;
    type Event = FormEvent;

    fn lifetime_secs(&self) -> i64 {
        // Writing a report takes longer than clicking Confirm.
        15 * 60
    }

    fn restart_hint(&self) -> String {
        "Run `/report` again to start a new one.".to_owned()
    }

    async fn step(
        &self,
        ctx: &StepContext<'_>,
        state: FormState,
        input: Input<FormEvent>,
    ) -> Step<FormState, FormEvent> {
        match input {
            Input::Submit(FormEvent::Submit, fields) => {
                let field = |name: &str| form::field(&fields, name);
                let reason = field(REASON_FIELD);
                let evidence = field(LINK_FIELD);
                let mut errors = Vec::new();
                if let Err(message) = check_reason(reason.as_deref().unwrap_or("")) {
                    errors.push(FieldError {
                        field: REASON_FIELD.to_owned(),
                        message,
                    });
                }
                if let Some(link) = &evidence
                    && let Err(message) = check_link(link)
                {
                    errors.push(FieldError {
                        field: LINK_FIELD.to_owned(),
                        message,
                    });
                }
                if errors.is_empty() {
                    let draft = Draft {
                        target: state.target,
                        reason: reason.unwrap_or_default(),
                        evidence,
                        channel: state.channel,
                    };
                    return Step::Finish {
                        effects: vec![report_write(ctx, &draft)],
                        jobs: vec![delivery(ctx, &draft)],
                        view: View::FormDone(sent(&draft)),
                    };
                }
                form::errors_step(
                    ctx.invocation.platform,
                    FormState {
                        reason,
                        evidence,
                        ..state
                    },
                    errors,
                    Reply::ephemeral("Your report was not sent yet:"),
                    label_of,
                    "Edit report",
                )
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
        let store = ctx.flows.store();
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
                    ago(ctx.flows.now_secs() - when)
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
    format!("{}:{}#reports", invocation.platform, invocation.tenant)
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

fn form_modal(state: &FormState) -> FlowModal<FormEvent> {
    FlowModal {
        event: FormEvent::Submit,
        title: "Report a member".to_owned(),
        submit_label: "Send report".to_owned(),
        inputs: vec![
            TextInput {
                id: REASON_FIELD.to_owned(),
                label: label_of(REASON_FIELD).to_owned(),
                multiline: true,
                required: true,
                min_chars: None,
                max_chars: Some(REASON_MAX as u16),
                placeholder: Some("What happened, and where?".to_owned()),
                value: state.reason.clone(),
            },
            TextInput {
                id: LINK_FIELD.to_owned(),
                label: label_of(LINK_FIELD).to_owned(),
                multiline: false,
                required: false,
                min_chars: None,
                max_chars: Some(LINK_MAX as u16),
                placeholder: Some("https://… (a message link, optional)".to_owned()),
                value: state.evidence.clone(),
            },
        ],
    }
}

fn label_of(field: &str) -> &'static str {
    match field {
        REASON_FIELD => "Reason",
        _ => "Evidence link",
    }
}

fn check_reason(reason: &str) -> Result<(), String> {
    let chars = reason.trim().chars().count();
    if chars < REASON_MIN {
        return Err(format!(
            "Please describe what happened in at least {REASON_MIN} characters."
        ));
    }
    if chars > REASON_MAX {
        return Err(format!(
            "Please keep the reason under {REASON_MAX} characters ({chars} now)."
        ));
    }
    Ok(())
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
