//! `/note`, `/warn`, `/mute`, `/kick`, `/tempban` and `/ban`: one command definition per kind
//! of case, with the same options (`user`, `duration` for timed kinds, `reason`) on both
//! platforms, and the flows they draw:
//! - bans and temporary bans ask for confirmation first ("sanction");
//! - a reason left out (or a Discord context-menu click) opens a form ("sanction-form");
//! - a score that reaches a threshold offers the recommended sanction as one click
//!   ("escalate"), or applies it at once when the tenant switched on automatic escalation.

use std::sync::Arc;

use async_trait::async_trait;

use super::{
    check_app_may, check_target, followup, mention, mod_context, publish, settings_of,
    storage_failure, target_of, text_option,
};
use crate::commands::{Command, CommandContext, CommandSpec, OptionKind, OptionSpec};
use crate::flows::confirm::{Confirmation, ConfirmedAction, Performed};
use crate::flows::form::{Check, Field, FormFlow, FormRun, FormSpec, Length, Parsed, Values};
use crate::flows::{FlowEngine, StepContext};
use crate::invocation::{Capability, Platform};
use crate::jobs::{Job, ReplyTarget, Task};
use crate::moderation::actions::{
    ModContext, Prepared, Sanction, prepare_sanction, record_sanction,
};
use crate::moderation::settings::{MAX_MUTE_SECS, Threshold};
use crate::moderation::{Kind, ModSettings, duration, points};
use crate::reply::{ButtonStyle, Reply, Response};

pub const REASON_MAX: usize = 512;
const REASON_LENGTH: Length = Length {
    min: 1,
    max: REASON_MAX,
    too_short: "Please give a reason.",
    noun: "the reason",
};
const REASON_FIELD: &str = "reason";
const DURATION_FIELD: &str = "duration";

const USER: OptionSpec = OptionSpec {
    name: "user",
    description: "The member",
    kind: OptionKind::User,
    required: true,
};
const REASON: OptionSpec = OptionSpec {
    name: "reason",
    description: "Why (leave out to fill in a form)",
    kind: OptionKind::String,
    required: false,
};
const DURATION: OptionSpec = OptionSpec {
    name: "duration",
    description: "How long, such as 30m, 2h, 7d or 1d12h",
    kind: OptionKind::Duration,
    required: true,
};

static NOTE: CommandSpec = CommandSpec {
    name: "note",
    description: "Add a note to a member's record (no points by default, not told to them)",
    options: &[USER, REASON],
    requires: Some(Capability::ModerateMembers),
    context_menu: None,
    message_menu: None,
    read_only: false,
};
static WARN: CommandSpec = CommandSpec {
    name: "warn",
    description: "Warn a member (they are told by DM)",
    options: &[USER, REASON],
    requires: Some(Capability::ModerateMembers),
    context_menu: Some("Warn member"),
    message_menu: None,
    read_only: false,
};
static MUTE: CommandSpec = CommandSpec {
    name: "mute",
    description: "Time a member out (Discord, at most 28 days; recorded on Slack)",
    options: &[USER, DURATION, REASON],
    requires: Some(Capability::ModerateMembers),
    context_menu: Some("Mute member"),
    message_menu: None,
    read_only: false,
};
static KICK: CommandSpec = CommandSpec {
    name: "kick",
    description: "Remove a member (they may join again)",
    options: &[USER, REASON],
    requires: Some(Capability::KickMembers),
    context_menu: None,
    message_menu: None,
    read_only: false,
};
static TEMPBAN: CommandSpec = CommandSpec {
    name: "tempban",
    description: "Ban a member for a while",
    options: &[USER, DURATION, REASON],
    requires: Some(Capability::BanMembers),
    context_menu: None,
    message_menu: None,
    read_only: false,
};
static BAN: CommandSpec = CommandSpec {
    name: "ban",
    description: "Ban a member (asks to confirm)",
    options: &[USER, REASON],
    requires: Some(Capability::BanMembers),
    context_menu: Some("Ban member"),
    message_menu: None,
    read_only: false,
};

/// The command for one kind of case, with the flows it draws. The flows are shared by every
/// kind (a form or a confirmation carries its kind in its state), so each is registered once,
/// by the `/warn` command.
pub struct SanctionCommand {
    kind: Kind,
    flows: Arc<SanctionFlows>,
}

/// The three flows, shared by the six commands.
pub struct SanctionFlows {
    confirm: Arc<Confirmation<ConfirmSanction>>,
    escalate: Arc<Confirmation<Escalate>>,
    form: Arc<FormFlow<SanctionForm>>,
}

impl SanctionCommand {
    /// All six commands, sharing one set of flows.
    pub fn all() -> Vec<SanctionCommand> {
        let flows = Arc::new(SanctionFlows {
            confirm: Arc::new(Confirmation(ConfirmSanction)),
            escalate: Arc::new(Confirmation(Escalate)),
            form: Arc::new(FormFlow(SanctionForm)),
        });
        Kind::ALL
            .into_iter()
            .map(|kind| SanctionCommand {
                kind,
                flows: Arc::clone(&flows),
            })
            .collect()
    }

    fn verb(&self) -> &'static str {
        verb(self.kind)
    }
}

fn verb(kind: Kind) -> &'static str {
    match kind {
        Kind::Note => "add a note about",
        Kind::Warning => "warn",
        Kind::Mute => "mute",
        Kind::Kick => "kick",
        Kind::TempBan | Kind::Ban => "ban",
    }
}

fn spec_of(kind: Kind) -> &'static CommandSpec {
    match kind {
        Kind::Note => &NOTE,
        Kind::Warning => &WARN,
        Kind::Mute => &MUTE,
        Kind::Kick => &KICK,
        Kind::TempBan => &TEMPBAN,
        Kind::Ban => &BAN,
    }
}

#[async_trait]
impl Command for SanctionCommand {
    fn spec(&self) -> &'static CommandSpec {
        spec_of(self.kind)
    }

    fn register_flows(&self, engine: &mut FlowEngine) {
        if self.kind == Kind::Warning {
            engine.register(Arc::clone(&self.flows.confirm));
            engine.register(Arc::clone(&self.flows.escalate));
            engine.register(Arc::clone(&self.flows.form));
        }
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        let kind = self.kind;
        let target = match target_of(ctx, self.verb()) {
            Ok(target) => target,
            Err(refusal) => return refusal,
        };
        if let Err(refusal) =
            check_app_may(ctx.invocation, app_needs(ctx.invocation.platform, kind))
        {
            return refusal;
        }
        let reason = text_option(ctx, "reason");
        let typed_duration = text_option(ctx, "duration");
        let duration_secs = match typed_duration.map(|d| check_duration(kind, d)).transpose() {
            Ok(d) => d,
            Err(problem) => return Reply::ephemeral(problem).into(),
        };
        if let Some(reason) = reason
            && let Err(problem) = REASON_LENGTH.check(reason)
        {
            return Reply::ephemeral(problem).into();
        }
        // A context-menu click carries no reason or duration: ask for them in a form.
        let (Some(reason), true) = (reason, !kind.is_timed() || duration_secs.is_some()) else {
            let run = FormRun::new(Sanctioned { kind, target })
                .with(REASON_FIELD, reason)
                .with(DURATION_FIELD, typed_duration);
            let view = self.flows.form.open(&run);
            return ctx
                .flows
                .start(self.flows.form.as_ref(), ctx.invocation, run, view)
                .await;
        };
        let sanction = Sanction {
            kind,
            target,
            reason: reason.to_owned(),
            duration_secs,
            source: None,
        };
        if matches!(kind, Kind::Ban | Kind::TempBan) {
            let view = self.flows.confirm.prompt_view(&sanction);
            return ctx
                .flows
                .start(
                    self.flows.confirm.as_ref(),
                    ctx.invocation,
                    Confirmation::<ConfirmSanction>::pending(sanction),
                    view,
                )
                .await;
        }
        let settings = match settings_of(ctx).await {
            Ok(settings) => settings,
            Err(error) => return storage_failure("case", &error),
        };
        let mod_ctx = mod_context(ctx, &settings);
        let prepared = match record_sanction(&mod_ctx, &sanction).await {
            Ok(prepared) => prepared,
            Err(error) => return storage_failure("case", &error),
        };
        let mut jobs = vec![mod_ctx.job(prepared.task.clone(), 0, job_target(kind, ctx))];
        let mut reply = recorded_reply(&prepared, &settings);
        let recommendation = prepared.recommendation.clone();

        // Automatic escalation: the recommended sanction is applied at once, as its own case.
        if let (Some(next), true) = (&recommendation, settings.auto_escalate) {
            let escalation = escalation_of(&sanction, next);
            match record_sanction(&mod_ctx, &escalation).await {
                Ok(applied) => {
                    reply.text.push_str(&format!(
                        "\n⏫ Escalated automatically (score {} reached {}): case #{}, {}.",
                        points::display(prepared.score_after_milli),
                        next.points,
                        applied.case.number,
                        describe(escalation.kind, escalation.duration_secs)
                    ));
                    jobs.push(mod_ctx.job(applied.task.clone(), 1, followup(ctx.invocation)));
                }
                Err(error) => {
                    tracing::error!(%error, "automatic escalation failed");
                    reply.text.push_str(
                        "\n⚠️ The automatic escalation could not be recorded; apply it by hand.",
                    );
                }
            }
        }
        if let Some(problem) = publish(ctx, jobs).await {
            reply.text.push_str(&format!("\n{problem}"));
        }
        match (recommendation, settings.auto_escalate) {
            (Some(next), false) => {
                let escalation = escalation_of(&sanction, &next);
                let offer = Offer {
                    preface: reply.clone(),
                    sanction: escalation.clone(),
                };
                let view = self.flows.escalate.prompt_view(&offer);
                match ctx
                    .flows
                    .try_start(
                        self.flows.escalate.as_ref(),
                        ctx.invocation,
                        Confirmation::<Escalate>::pending(offer),
                        view,
                    )
                    .await
                {
                    Ok(offered) => offered,
                    // The case is recorded and its jobs are out: say so, and how to apply
                    // the recommendation without its button.
                    Err(error) => {
                        tracing::error!(%error, "the recommendation's button could not be saved");
                        reply.text.push_str(&format!(
                            "\n⚠️ I could not save the button to apply it just now; run `/{}` for {} to apply it.",
                            spec_of(escalation.kind).name,
                            mention(&escalation.target)
                        ));
                        reply.into()
                    }
                }
            }
            _ => reply.into(),
        }
    }
}

/// What the app itself needs on Discord for a kind of case.
fn app_needs(platform: Platform, kind: Kind) -> Option<Capability> {
    if platform != Platform::Discord {
        return None;
    }
    match kind {
        Kind::Note | Kind::Warning => None,
        Kind::Mute => Some(Capability::ModerateMembers),
        Kind::Kick => Some(Capability::KickMembers),
        Kind::TempBan | Kind::Ban => Some(Capability::BanMembers),
    }
}

/// A note's job only posts to the mod log: nobody waits for its outcome.
fn job_target(kind: Kind, ctx: &CommandContext<'_>) -> ReplyTarget {
    if kind == Kind::Note {
        ReplyTarget::Nobody
    } else {
        followup(ctx.invocation)
    }
}

fn check_duration(kind: Kind, text: &str) -> Result<i64, String> {
    let secs = duration::parse(text).map_err(|e| e.to_string())?;
    if kind == Kind::Mute && secs > MAX_MUTE_SECS {
        return Err(
            "Discord limits a mute (timeout) to 28 days; use `/tempban` for longer.".to_owned(),
        );
    }
    Ok(secs)
}

/// "mute for 1h", "ban".
fn describe(kind: Kind, duration_secs: Option<i64>) -> String {
    match duration_secs {
        Some(d) if kind.is_timed() => format!("{} for {}", kind.label(), duration::format(d)),
        _ => kind.label().to_owned(),
    }
}

/// How long a threshold's sanction lasts: its own duration, else the default for its kind.
fn threshold_duration(threshold: &Threshold) -> Option<i64> {
    threshold.action.is_timed().then(|| {
        threshold.duration_secs.unwrap_or(match threshold.action {
            Kind::Mute => crate::moderation::settings::DEFAULT_MUTE_SECS,
            _ => crate::moderation::settings::DEFAULT_TEMPBAN_SECS,
        })
    })
}

/// The sanction a threshold recommends, for the same member and reason.
fn escalation_of(sanction: &Sanction, threshold: &Threshold) -> Sanction {
    Sanction {
        kind: threshold.action,
        target: sanction.target.clone(),
        reason: format!(
            "Escalation at {} points: {}",
            threshold.points, sanction.reason
        ),
        duration_secs: threshold_duration(threshold),
        source: None,
    }
}

/// The moderator's answer once a case is recorded.
fn recorded_reply(prepared: &Prepared, settings: &ModSettings) -> Reply {
    let case = &prepared.case;
    let mut text = format!(
        "{} Case #{}: {} for {}. Reason: {}\n{}.",
        case.kind.emoji(),
        case.number,
        describe(case.kind, case.duration_secs),
        mention(&case.target),
        case.reason,
        prepared.score_line()
    );
    if let Some(next) = &prepared.recommendation {
        text.push_str(&format!(
            "\n📈 The score reached the {} threshold ({} points): recommended next, a {}.",
            next.action.label(),
            next.points,
            describe(next.action, threshold_duration(next))
        ));
    } else if let Some(reached) = points::reached(settings, prepared.score_after_milli) {
        text.push_str(&format!(
            "\nThe score is at or above the {} threshold ({} points).",
            reached.action.label(),
            reached.points
        ));
    }
    Reply::ephemeral(text)
}

/// Commits a sanction as a flow's effect: the flow's transition and the case commit together,
/// so however many times Confirm (or Apply) is clicked, one case is opened and one job sent.
async fn perform_sanction(ctx: &StepContext<'_>, sanction: &Sanction) -> Result<Performed, String> {
    if let Err(refusal) = check_target(ctx.invocation, &sanction.target, verb(sanction.kind)) {
        return Err(refusal_text(refusal));
    }
    let store = ctx.store;
    let (settings, _) = ModSettings::load(store, ctx.invocation.platform, &ctx.invocation.tenant)
        .await
        .map_err(|error| {
            tracing::error!(%error, "could not read the moderation settings");
            "I could not reach my storage; nothing was done. Please try again.".to_owned()
        })?;
    let mod_ctx = ModContext {
        store,
        invocation: ctx.invocation,
        now_secs: ctx.now_secs,
        settings: &settings,
    };
    let mut prepared = prepare_sanction(&mod_ctx, sanction)
        .await
        .map_err(|error| {
            tracing::error!(%error, "could not prepare a sanction");
            "I could not reach my storage; nothing was done. Please try again.".to_owned()
        })?;
    // A banned member's DM gets an Appeal button, whose run commits with the ban.
    if matches!(sanction.kind, Kind::Ban | Kind::TempBan)
        && let Some((write, button)) = crate::commands::appeal::dm_appeal_button(
            ctx.flows,
            ctx.invocation.platform,
            &ctx.invocation.tenant,
            &prepared.case,
        )
        && let Task::ApplySanction { dm: Some(dm), .. } = &mut prepared.task
    {
        dm.buttons.push(button);
        prepared.ops.push(write);
    }
    let mut reply = recorded_reply(&prepared, &settings);
    if sanction.kind.acts_on_platform() {
        reply.text.push_str(&format!(
            "\n⏳ Asking {} to apply it…",
            ctx.invocation.platform.name()
        ));
    }
    // The worker edits this very message with the outcome.
    let job: Job = mod_ctx.job(prepared.task.clone(), 0, ReplyTarget::of(ctx.invocation));
    Ok(Performed {
        effects: prepared.ops,
        jobs: vec![job],
        reply,
    })
}

fn refusal_text(response: Response) -> String {
    match response {
        Response::Message(reply) => reply.text,
        _ => "That cannot be done.".to_owned(),
    }
}

/// `/ban` and `/tempban`: "Ban @x? [Ban] [Cancel]".
pub struct ConfirmSanction;

#[async_trait]
impl ConfirmedAction for ConfirmSanction {
    const FLOW: &'static str = "sanction";
    type Payload = Sanction;

    fn restart_hint(&self) -> String {
        "Nothing was done. Run the command again to start over.".to_owned()
    }

    fn prompt(&self, sanction: &Sanction) -> Reply {
        Reply::ephemeral(format!(
            "{} {} {}?",
            sanction.kind.emoji(),
            describe(sanction.kind, sanction.duration_secs)
                .replace(sanction.kind.label(), capitalised_verb(sanction.kind)),
            mention(&sanction.target)
        ))
        .with_field("Reason", sanction.reason.clone())
    }

    fn confirm_label(&self) -> &'static str {
        "Confirm"
    }

    async fn perform(
        &self,
        ctx: &StepContext<'_>,
        sanction: &Sanction,
    ) -> Result<Performed, String> {
        perform_sanction(ctx, sanction).await
    }

    fn cancelled(&self, sanction: &Sanction) -> Reply {
        Reply::ephemeral(format!(
            "Cancelled; {} was not banned and no case was opened.",
            mention(&sanction.target)
        ))
    }
}

fn capitalised_verb(kind: Kind) -> &'static str {
    match kind {
        Kind::TempBan => "Temporarily ban",
        Kind::Ban => "Ban",
        Kind::Mute => "Mute",
        Kind::Kick => "Kick",
        Kind::Warning => "Warn",
        Kind::Note => "Note",
    }
}

/// The recommended sanction, offered under the answer that recorded the case.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Offer {
    /// The answer the offer is drawn under (not stored: only drawn once).
    #[serde(skip, default = "empty_reply")]
    pub preface: Reply,
    pub sanction: Sanction,
}

fn empty_reply() -> Reply {
    Reply::ephemeral("")
}

/// "Apply the recommended mute? [Apply] [Dismiss]".
pub struct Escalate;

#[async_trait]
impl ConfirmedAction for Escalate {
    const FLOW: &'static str = "escalate";
    type Payload = Offer;

    fn restart_hint(&self) -> String {
        "The recommendation expired; nothing was applied. Run the command for it if you still want to.".to_owned()
    }

    fn prompt(&self, offer: &Offer) -> Reply {
        let mut reply = offer.preface.clone();
        if !reply.text.is_empty() {
            reply.text.push('\n');
        }
        reply.text.push_str(&format!(
            "Apply the recommended {} to {} now?",
            describe(offer.sanction.kind, offer.sanction.duration_secs),
            mention(&offer.sanction.target)
        ));
        reply
    }

    fn confirm_label(&self) -> &'static str {
        "Apply"
    }

    fn confirm_style(&self) -> ButtonStyle {
        ButtonStyle::Primary
    }

    async fn perform(&self, ctx: &StepContext<'_>, offer: &Offer) -> Result<Performed, String> {
        perform_sanction(ctx, &offer.sanction).await
    }

    fn cancelled(&self, offer: &Offer) -> Reply {
        Reply::ephemeral(format!(
            "Recommendation dismissed; no {} was applied.",
            offer.sanction.kind.label()
        ))
    }
}

/// What a sanction form is about: what kind of case, for whom.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Sanctioned {
    pub kind: Kind,
    pub target: String,
}

/// The reason (and duration) form, for a sanction started without them.
pub struct SanctionForm;

#[async_trait]
impl FormSpec for SanctionForm {
    const NAME: &'static str = "sanction-form";
    type Context = Sanctioned;

    fn lifetime_secs(&self) -> i64 {
        15 * 60
    }

    fn restart_hint(&self) -> String {
        "The form expired; nothing was recorded. Run the command again.".to_owned()
    }

    fn fields(&self, sanctioned: &Sanctioned) -> Vec<Field> {
        let kind = sanctioned.kind;
        let mut fields = Vec::new();
        if kind.is_timed() {
            fields.push(
                Field::new(
                    DURATION_FIELD,
                    "Duration",
                    20,
                    Check::parse(move |text| check_duration(kind, text).map(Parsed::Number)),
                )
                .placeholder("30m, 2h, 7d or 1d12h"),
            );
        }
        fields.push(
            Field::text(REASON_FIELD, "Reason", REASON_LENGTH)
                .multiline()
                .placeholder("What happened? The member is told (except for notes)."),
        );
        fields
    }

    fn title(&self, sanctioned: &Sanctioned) -> String {
        format!("{} member", capitalised_verb(sanctioned.kind))
    }

    fn submit_label(&self, sanctioned: &Sanctioned) -> String {
        capitalised_verb(sanctioned.kind).to_owned()
    }

    fn not_yet(&self) -> &'static str {
        "Nothing was recorded yet:"
    }

    fn edit_label(&self) -> &'static str {
        "Edit"
    }

    async fn finish(
        &self,
        ctx: &StepContext<'_>,
        sanctioned: Sanctioned,
        values: Values,
    ) -> Result<Performed, String> {
        let sanction = Sanction {
            kind: sanctioned.kind,
            target: sanctioned.target,
            reason: values.text(REASON_FIELD).unwrap_or_default(),
            duration_secs: values.number(DURATION_FIELD),
            source: None,
        };
        let mut done = perform_sanction(ctx, &sanction).await?;
        done.jobs = done
            .jobs
            .into_iter()
            .map(|mut job| {
                // A form's answer is a new message; follow up under it.
                job.reply_to = job.reply_to.as_followup();
                job
            })
            .collect();
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalations_take_the_thresholds_duration_or_the_default() {
        let warned = Sanction {
            kind: Kind::Warning,
            target: "u".into(),
            reason: "spam".into(),
            duration_secs: None,
            source: None,
        };
        let settings = ModSettings::default();
        let mute = escalation_of(&warned, &settings.thresholds[0]);
        assert_eq!(mute.kind, Kind::Mute);
        assert_eq!(mute.duration_secs, Some(3600));
        assert_eq!(mute.reason, "Escalation at 3 points: spam");
        let kick = escalation_of(&warned, &settings.thresholds[1]);
        assert_eq!((kick.kind, kick.duration_secs), (Kind::Kick, None));
        assert_eq!(describe(mute.kind, mute.duration_secs), "mute for 1h");
    }

    #[test]
    fn mutes_beyond_discords_limit_are_refused() {
        assert_eq!(check_duration(Kind::Mute, "28d"), Ok(28 * 86_400));
        assert!(
            check_duration(Kind::Mute, "29d")
                .unwrap_err()
                .contains("28 days")
        );
        assert_eq!(check_duration(Kind::TempBan, "90d"), Ok(90 * 86_400));
        assert!(
            check_duration(Kind::TempBan, "soon")
                .unwrap_err()
                .contains("such as")
        );
    }

    #[test]
    fn every_kind_has_its_command_with_the_shared_option_names() {
        for kind in Kind::ALL {
            let spec = spec_of(kind);
            let names: Vec<_> = spec.options.iter().map(|o| o.name).collect();
            if kind.is_timed() {
                assert_eq!(names, ["user", "duration", "reason"], "{}", spec.name);
            } else {
                assert_eq!(names, ["user", "reason"], "{}", spec.name);
            }
            assert!(
                spec.requires.is_some(),
                "{} must be for moderators",
                spec.name
            );
        }
    }
}
