//! What happens when AutoMod catches a message, wherever it was seen (a Slack message event, a
//! Discord message a member reported): the strongest action among the hits becomes a case
//! opened by the app, with `source: automod` and the rule, so points, decay, escalation,
//! appeals and the audit log all apply; a log-only hit becomes an audit entry. The mod log is
//! told what matched and why, with buttons for a moderator's follow-up (the shared
//! [`AutomodReview`] flow, decided once).
//!
//! Exactly once per message: the case (or audit entry), the review's run and a claim on the
//! message's key commit in one transaction, so copies of one message (Slack delivers some
//! under distinct event ids) open one case; the worker's jobs are keyed by the message too.

use serde_json::json;

use super::review::{AutomodReview, ReviewState, review_buttons};
use crate::automod::{Hit, RuleAction};
use crate::flows::FlowEngine;
use crate::idempotency::Claims;
use crate::invocation::{
    Action, Actor, Capabilities, CommandCall, Invocation, Platform, TargetMessage,
};
use crate::jobs::{Post, ReplyTarget, Task};
use crate::moderation::actions::{ModContext, NUMBER_RETRIES, Sanction, prepare_sanction};
use crate::moderation::{AuditAction, ModSettings, Source};
use crate::reply::{Reply, truncate_chars};
use crate::store::{NewItem, StoreError, WriteOp};

/// How long a caught message stays claimed: edits of it within a week act on the same case.
const CAUGHT_SECS: i64 = 7 * 86_400;
/// How much of the message the mod log quotes.
const QUOTE_CHARS: usize = 300;

/// A message AutoMod caught, and where.
pub struct Caught<'a> {
    pub platform: Platform,
    pub tenant: &'a str,
    pub message: &'a TargetMessage,
    /// The app's own user, which the case names as its moderator.
    pub app_user: Option<&'a str>,
    /// Every hit, strongest action first or not: the strongest is chosen here.
    pub hits: &'a [Hit],
    /// When the message was seen (Unix seconds).
    pub now_secs: i64,
}

/// What became of a caught message.
#[derive(Debug, PartialEq, Eq)]
pub enum Acted {
    /// A case was opened; the worker tells the member and the mod log.
    Case(u64),
    /// Log only: an audit entry (and a mod-log post, if there is a mod-log channel).
    Logged,
    /// This message was acted on already (a copy, a redelivery, an edit).
    AlreadyActed,
    /// No hits.
    Nothing,
}

/// How strong an action is, to pick the one a message with several hits gets.
fn severity(action: &RuleAction) -> u8 {
    match action {
        RuleAction::Log => 0,
        RuleAction::Warn => 1,
        RuleAction::Mute { .. } => 2,
        RuleAction::Kick => 3,
        RuleAction::TempBan { .. } => 4,
        RuleAction::Ban => 5,
    }
}

/// The hit whose action the message gets.
pub fn strongest(hits: &[Hit]) -> Option<&Hit> {
    hits.iter().max_by_key(|hit| severity(&hit.action))
}

/// One line per hit, for the mod log and dry runs.
pub fn explain(hits: &[Hit]) -> String {
    hits.iter()
        .map(|hit| format!("• `{}` ({}): {}", hit.rule, hit.action.label(), hit.why))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The request AutoMod acts as: the app, in the message's channel, identified by the message
/// so every write and job it makes is keyed by it.
fn acting_invocation(caught: &Caught<'_>) -> Invocation {
    Invocation {
        id: format!("automod:{}:{}", caught.message.channel, caught.message.id),
        platform: caught.platform,
        tenant: caught.tenant.to_owned(),
        channel: Some(caught.message.channel.clone()),
        actor: Actor {
            id: caught.app_user.unwrap_or("automod").to_owned(),
            display_name: Some("AutoMod".to_owned()),
            capabilities: Capabilities::all(),
        },
        action: Action::Command(CommandCall {
            name: "automod".to_owned(),
            options: Vec::new(),
            bots: Vec::new(),
            message: Some(caught.message.clone()),
        }),
        response_url: None,
        trigger_id: None,
        interaction_token: None,
        app: None,
    }
}

/// Acts on `caught` once: opens the case or logs the hit, with the review's run and the
/// message's claim, then hands the platform work (DM, sanction, mod-log post, deletion) to
/// the worker.
pub async fn act(
    flows: &FlowEngine,
    settings: &ModSettings,
    caught: &Caught<'_>,
) -> Result<Acted, StoreError> {
    let Some(top) = strongest(caught.hits) else {
        return Ok(Acted::Nothing);
    };
    let invocation = acting_invocation(caught);
    let store = flows.store().as_ref();
    let ctx = ModContext {
        store,
        invocation: &invocation,
        now_secs: caught.now_secs,
        settings,
    };
    let message = caught.message;
    let claim = NewItem::new(
        Claims::key(
            "automod:caught",
            &format!(
                "{}:{}:{}:{}",
                caught.platform, caught.tenant, message.channel, message.id
            ),
        ),
        json!({ "at": caught.now_secs }),
    )
    .expiring_at(caught.now_secs + CAUGHT_SECS);
    let reason = truncate_chars(&format!("AutoMod ({}): {}", top.rule, top.why), 500).into_owned();
    let quote = truncate_chars(&message.content, QUOTE_CHARS).into_owned();
    let mut attempt = 0;
    loop {
        let mut ops = vec![WriteOp::Create(claim.clone())];
        let mut jobs = Vec::new();
        let (case, outcome, prepared) = match top.action.kind() {
            Some(kind) => {
                let sanction = Sanction {
                    kind,
                    target: message.author.clone(),
                    reason: reason.clone(),
                    duration_secs: top.action.duration_secs(),
                    source: Some(Source::Automod(top.rule.clone())),
                };
                let mut prepared = prepare_sanction(&ctx, &sanction).await?;
                let number = prepared.case.number;
                // The mod log hears of it once, from the post below, with the explanation.
                if let Task::ApplySanction { modlog, .. } = &mut prepared.task {
                    *modlog = None;
                }
                // The case's writes first (index 0 is its counter), then the claim.
                let claim_at = prepared.ops.len();
                let mut case_ops = prepared.ops.clone();
                case_ops.push(ops.remove(0));
                ops = case_ops;
                jobs.push(ctx.job(prepared.task.clone(), 0, ReplyTarget::Nobody));
                (
                    Some((number, claim_at)),
                    Acted::Case(number),
                    Some(prepared),
                )
            }
            None => {
                let entry = ctx
                    .entry(AuditAction::AutomodHit, reason.clone())
                    .target(&message.author);
                ops.push(ctx.audit(&entry, "logged"));
                (None, Acted::Logged, None)
            }
        };
        let claim_index = case.map_or(0, |(_, at)| at);
        if let Some(channel) = settings.modlog_channel.clone() {
            let what = match case {
                Some((number, _)) => format!("opened case #{number} ({})", top.action.label()),
                None => "logged it (log only)".to_owned(),
            };
            let summary = format!(
                "🛡️ AutoMod caught a message by <@{}> in <#{}> and {what}.\n{}",
                message.author,
                message.channel,
                explain(caught.hits)
            );
            let state = ReviewState {
                target: message.author.clone(),
                channel: message.channel.clone(),
                message: message.id.clone(),
                case: case.map(|(number, _)| number),
                rule: top.rule.clone(),
                summary: summary.clone(),
            };
            let run = flows
                .prepare_shared(
                    &AutomodReview,
                    caught.platform,
                    caught.tenant,
                    &invocation.id,
                    state,
                    review_buttons(case.is_some()),
                )
                .map_err(|error| StoreError::Invalid(error.to_string()))?;
            ops.push(run.write);
            let mut post = Reply::public(format!("{summary}\n> {}", quote.replace('\n', "\n> ")));
            for button in run.buttons {
                post = post.with_button(button);
            }
            jobs.push(ctx.job(
                Task::Post(Post {
                    channel,
                    message: post,
                }),
                1,
                ReplyTarget::Nobody,
            ));
        }
        if caught.hits.iter().any(|hit| hit.delete) {
            jobs.push(ctx.job(
                Task::DeleteMessage {
                    channel: message.channel.clone(),
                    message: message.id.clone(),
                    modlog: settings.modlog_channel.clone(),
                },
                2,
                ReplyTarget::Nobody,
            ));
        }
        match store.transact(ops).await {
            Ok(()) => {
                flows.publish(jobs).await;
                return Ok(outcome);
            }
            Err(StoreError::TransactionConflict { index }) if index == claim_index => {
                return Ok(Acted::AlreadyActed);
            }
            // Another case took this number, or the fine's account moved: read again.
            Err(StoreError::TransactionConflict { index })
                if attempt < NUMBER_RETRIES
                    && prepared.as_ref().is_some_and(|p| p.may_retry(index)) =>
            {
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}
