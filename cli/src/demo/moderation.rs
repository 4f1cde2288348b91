//! The demo's moderation walkthrough, written once and run on each platform: a member from
//! warnings to a mute recommendation, a temporary ban, an appeal accepted by a moderator and
//! the pardon that lifts it, every platform call recorded by the fakes.
//!
//! What differs between the platforms sits behind [`Walk`]: how a command is typed and signed,
//! how a click is sent and where its answer shows, what the fakes recorded, and the
//! transcript's wording ([`Lines`]).

use anyhow::Result;
use gavel_shared::commands::CommandRegistry;
use gavel_shared::edge::Route;
use gavel_shared::platform::recording::{PlatformCall, RecordingPlatform};
use gavel_shared::reply::Reply;
use gavel_shared::slack::web::SlackCall;
use gavel_shared::worker::InProcessBus;
use serde_json::Value;

use super::{
    FlowTour, count, discord_buttons, discord_text, first_line, slack_actions, slack_text,
};
use crate::payloads::{self, Invoker};

/// The walkthrough's wording and commands on one platform. `{n}` stands for the warning's
/// number, `{target}` for the member's id.
pub(super) struct Lines {
    pub heading: &'static str,
    pub set_review: &'static str,
    pub set_review_command: &'static str,
    pub warning: &'static str,
    pub warn_command: &'static str,
    pub threshold: &'static str,
    pub threshold_summary: &'static str,
    /// Clicking the recommendation's Apply, where the platform can apply a mute.
    pub apply: Option<&'static str>,
    pub tempban: &'static str,
    pub tempban_command: &'static str,
    /// Whether the transcript shows the confirmation prompt itself.
    pub shows_prompt: bool,
    pub confirm: &'static str,
    /// Before the confirmed ban's first line: where that answer was shown.
    pub confirmed_prefix: &'static str,
    pub carried_out: &'static str,
    pub appeal: &'static str,
    pub appeal_command: &'static str,
    pub review_posted: &'static str,
    pub review_summary: &'static str,
    pub accept: &'static str,
    pub pardoned: &'static str,
    pub pardoned_summary: &'static str,
    pub infractions: &'static str,
    pub infractions_command: &'static str,
    /// What the history's text says, and what else its answer shows.
    pub history: &'static str,
    pub history_also: &'static [&'static str],
}

/// One platform's side of the walkthrough.
pub(super) trait Walk {
    const LINES: Lines;
    /// The member being moderated.
    const TARGET: &'static str;
    /// Where appeals are posted for review.
    const REVIEW_CHANNEL: &'static str;

    /// Sends `command_line` as `invoker`, titled `title`; the answer.
    async fn command(
        tour: &mut FlowTour<'_>,
        title: &str,
        command_line: &str,
        invoker: Invoker,
    ) -> Result<Value>;

    /// Clicks the button `id` as a moderator, titled `title`; the text shown afterwards.
    async fn click(tour: &mut FlowTour<'_>, title: &str, id: &str) -> Result<String>;

    fn text(answer: &Value) -> &str;

    fn buttons(answer: &Value) -> Vec<String>;

    /// The review post in `channel`, among `calls`.
    fn review(calls: Vec<PlatformCall>, channel: &str) -> Option<Reply>;

    /// Whether the worker carried out the cases (warnings, a mute where applied, the ban), and
    /// how the transcript says what it did.
    fn carried_out(calls: &[PlatformCall]) -> (bool, String);

    /// Whether the worker carried out the accepted appeal's pardon.
    fn pardon_carried_out(calls: &[PlatformCall]) -> bool;
}

pub(super) struct Discord;

impl Walk for Discord {
    const LINES: Lines = Lines {
        heading: "Moderation on Discord: a member from a warning to an appeal, against a fake Discord.\n",
        set_review: "Discord: /modconfig sets the channel where appeals are reviewed",
        set_review_command: "/modconfig setting=appeal-channel value=<#100000000000000556>",
        warning: "Discord: warning {n} of 3 (/warn)",
        warn_command: "/warn user={target} reason=spam-in-general",
        threshold: "Discord: the third warning reaches the mute threshold",
        threshold_summary: "score 3.0: a mute for 1h is recommended, with [Apply] [Cancel]",
        apply: Some("Discord: the moderator clicks Apply"),
        tempban: "Discord: /tempban for 7 days asks to confirm",
        tempban_command: "/tempban user={target} duration=7d reason=raided-the-voice-channels",
        shows_prompt: false,
        confirm: "Discord: Confirm",
        confirmed_prefix: "",
        carried_out: "Discord: the worker carried out the five cases (each job delivered twice)",
        appeal: "Discord: the member appeals the temporary ban (/appeal)",
        appeal_command: "/appeal case=5 reason=I-was-not-in-that-voice-channel-that-night",
        review_posted: "Discord: the worker posted the appeal in the review channel",
        review_summary: "the appeal, the case and the score, with [Accept] [Deny]",
        accept: "Discord: a moderator clicks Accept",
        pardoned: "Discord: the case is pardoned and the worker lifts the ban",
        pardoned_summary: "one unban, and the member is told by DM",
        infractions: "Discord: /infractions shows the history and the score without the pardoned case",
        infractions_command: "/infractions user={target}",
        history: "5 cases, score 5.0",
        history_also: &["pardoned"],
    };
    const TARGET: &'static str = payloads::DEMO_USER;
    const REVIEW_CHANNEL: &'static str = "100000000000000556";

    async fn command(
        tour: &mut FlowTour<'_>,
        title: &str,
        command_line: &str,
        invoker: Invoker,
    ) -> Result<Value> {
        let body = payloads::discord_command(&CommandRegistry::standard(), command_line, invoker)?;
        tour.discord(title, body).await
    }

    async fn click(tour: &mut FlowTour<'_>, title: &str, id: &str) -> Result<String> {
        let body = payloads::discord_component(id, Invoker { moderator: true })?;
        let answer = tour.discord(title, body).await?;
        Ok(discord_text(&answer).to_owned())
    }

    fn text(answer: &Value) -> &str {
        discord_text(answer)
    }

    fn buttons(answer: &Value) -> Vec<String> {
        discord_buttons(answer)
    }

    fn review(calls: Vec<PlatformCall>, channel: &str) -> Option<Reply> {
        calls.into_iter().find_map(|c| match c {
            PlatformCall::DiscordReply { channel: to, reply } if to == channel => Some(reply),
            _ => None,
        })
    }

    fn carried_out(calls: &[PlatformCall]) -> (bool, String) {
        let dms = count(calls, |c| matches!(c, PlatformCall::DiscordDm { .. }));
        let timeouts = count(calls, |c| matches!(c, PlatformCall::DiscordTimeout { .. }));
        let bans = count(calls, |c| matches!(c, PlatformCall::DiscordBan { .. }));
        (
            dms == 5 && timeouts == 1 && bans == 1,
            format!("{dms} DMs to the member, {timeouts} timeout, {bans} ban"),
        )
    }

    fn pardon_carried_out(calls: &[PlatformCall]) -> bool {
        let unbans = count(calls, |c| matches!(c, PlatformCall::DiscordUnban { .. }));
        let told = count(calls, |c| matches!(c, PlatformCall::DiscordDm { .. }));
        unbans == 1 && told == 1
    }
}

pub(super) struct Slack;

impl Walk for Slack {
    const LINES: Lines = Lines {
        heading: "Moderation on Slack: the same commands, what Slack can apply.\n",
        set_review: "Slack: /modconfig appeal-channel #mod-review",
        set_review_command: "/modconfig appeal-channel <#C0GAVELREV|mod-review>",
        warning: "Slack: warning {n} of 3",
        warn_command: "/warn <@{target}> spam in #general",
        threshold: "Slack: the third warning recommends a mute",
        threshold_summary: "a mute for 1h is recommended, with Block Kit buttons",
        apply: None,
        tempban: "Slack: /tempban for 7 days",
        tempban_command: "/tempban <@{target}> 7d raided the channels",
        shows_prompt: true,
        confirm: "Slack: Confirm (block_actions)",
        confirmed_prefix: "the prompt replaced through response_url: ",
        carried_out: "Slack: the worker DMs, removes from the channel, and says what Slack cannot do",
        appeal: "Slack: the member appeals (/appeal 4)",
        appeal_command: "/appeal 4 I was not in those channels that night",
        review_posted: "Slack: the appeal is posted for review",
        review_summary: "with Accept and Deny",
        accept: "Slack: a moderator clicks Accept",
        pardoned: "Slack: the case is pardoned and the member told",
        pardoned_summary: "one DM: the appeal was accepted",
        infractions: "Slack: /infractions",
        infractions_command: "/infractions <@{target}>",
        history: "4 cases, score 3.0",
        history_also: &[],
    };
    const TARGET: &'static str = payloads::SLACK_USER;
    const REVIEW_CHANNEL: &'static str = "C0GAVELREV";

    async fn command(
        tour: &mut FlowTour<'_>,
        title: &str,
        command_line: &str,
        invoker: Invoker,
    ) -> Result<Value> {
        let body = payloads::slack_command(command_line, invoker)?;
        tour.slack(title, Route::SlackCommands.path(), body).await
    }

    /// Slack's answer to a click goes to the message's `response_url`: the text is what the
    /// recording Slack Web API was sent.
    async fn click(tour: &mut FlowTour<'_>, title: &str, id: &str) -> Result<String> {
        let seen = tour.slack_web.calls().len();
        let body = payloads::slack_block_action(id, Invoker { moderator: true })?;
        tour.slack(title, Route::SlackInteractions.path(), body)
            .await?;
        Ok(tour
            .slack_web
            .calls()
            .into_iter()
            .skip(seen)
            .find_map(|c| match c {
                SlackCall::Respond { message, .. } => message["text"].as_str().map(str::to_owned),
                _ => None,
            })
            .unwrap_or_default())
    }

    fn text(answer: &Value) -> &str {
        slack_text(answer)
    }

    fn buttons(answer: &Value) -> Vec<String> {
        slack_actions(answer)
    }

    fn review(calls: Vec<PlatformCall>, channel: &str) -> Option<Reply> {
        calls.into_iter().find_map(|c| match c {
            PlatformCall::SlackReply { channel: to, reply } if to == channel => Some(reply),
            _ => None,
        })
    }

    fn carried_out(calls: &[PlatformCall]) -> (bool, String) {
        let kicks = count(calls, |c| matches!(c, PlatformCall::SlackKick { .. }));
        let dms = count(calls, |c| matches!(c, PlatformCall::SlackDm { .. }));
        let said = calls.iter().any(|c| matches!(c, PlatformCall::SlackRespond { text, .. } if text.contains("Slack does not let apps")));
        (
            kicks == 1 && dms == 4 && said,
            format!(
                "{dms} DMs, {kicks} removal from the channel; \"Slack does not let apps remove or ban members from the workspace\""
            ),
        )
    }

    fn pardon_carried_out(calls: &[PlatformCall]) -> bool {
        count(calls, |c| matches!(c, PlatformCall::SlackDm { .. })) == 1
    }
}

impl FlowTour<'_> {
    /// The moderation walkthrough on platform `P`.
    pub(super) async fn moderation<P: Walk>(
        &mut self,
        platform: &RecordingPlatform,
        jobs: &InProcessBus,
    ) -> Result<()> {
        let lines = P::LINES;
        println!("{}", lines.heading);
        let moderator = Invoker { moderator: true };
        let member = Invoker { moderator: false };
        let on_target = |line: &str| line.replace("{target}", P::TARGET);
        // The local worker runs jobs as they arrive: count calls from here.
        let start = platform.calls().len();
        let since = |from: usize| -> Vec<PlatformCall> {
            platform.calls().into_iter().skip(from).collect()
        };

        let set = P::command(self, lines.set_review, lines.set_review_command, moderator).await?;
        self.check(
            P::text(&set).contains(P::REVIEW_CHANNEL),
            first_line(P::text(&set)),
        );
        let mut cases = 0;
        let mut last = Value::Null;
        for n in 1..=3 {
            let title = lines.warning.replace("{n}", &n.to_string());
            last = P::command(self, &title, &on_target(lines.warn_command), moderator).await?;
            cases += 1;
            let text = P::text(&last);
            self.check(
                text.contains(&format!("Case #{n}: warning")),
                first_line(text),
            );
        }
        let offer = P::buttons(&last);
        self.title(lines.threshold);
        self.check(
            P::text(&last).contains("recommended next, a mute for 1h") && offer.len() == 2,
            lines.threshold_summary,
        );
        if let (Some(title), Some(apply)) = (lines.apply, offer.first()) {
            let applied = P::click(self, title, apply).await?;
            cases += 1;
            self.check(
                applied.contains(&format!("Case #{cases}: mute for 1h")),
                first_line(&applied),
            );
        }
        let prompt = P::command(
            self,
            lines.tempban,
            &on_target(lines.tempban_command),
            moderator,
        )
        .await?;
        if lines.shows_prompt {
            self.check(P::buttons(&prompt).len() == 2, first_line(P::text(&prompt)));
        }
        if let Some(confirm) = P::buttons(&prompt).first() {
            let banned = P::click(self, lines.confirm, confirm).await?;
            cases += 1;
            self.check(
                banned.contains(&format!("Case #{cases}: temporary ban for 7d")),
                &format!("{}{}", lines.confirmed_prefix, first_line(&banned)),
            );
        } else {
            self.check(false, "a Confirm button");
        }
        jobs.drained().await;
        let (done, summary) = P::carried_out(&since(start));
        self.title(lines.carried_out);
        self.check(done, &summary);

        let before = platform.calls().len();
        let appeal = P::command(self, lines.appeal, lines.appeal_command, member).await?;
        self.check(
            P::text(&appeal).contains("appeal"),
            first_line(P::text(&appeal)),
        );
        jobs.drained().await;
        let review = P::review(since(before), P::REVIEW_CHANNEL);
        self.title(lines.review_posted);
        self.check(
            review.as_ref().is_some_and(|r| r.buttons.len() == 2),
            lines.review_summary,
        );
        if let Some(accept) = review.as_ref().and_then(|r| r.buttons.first()) {
            let before = platform.calls().len();
            let decided = P::click(self, lines.accept, &accept.id).await?;
            self.check(decided.contains("Accepted"), first_line(&decided));
            jobs.drained().await;
            self.title(lines.pardoned);
            self.check(
                P::pardon_carried_out(&since(before)),
                lines.pardoned_summary,
            );
        }
        let history = P::command(
            self,
            lines.infractions,
            &on_target(lines.infractions_command),
            moderator,
        )
        .await?;
        let text = P::text(&history);
        let shown = history.to_string();
        self.check(
            text.contains(lines.history)
                && lines.history_also.iter().all(|also| shown.contains(also)),
            first_line(text),
        );
        println!();
        Ok(())
    }
}
