//! The demo's AutoMod section: a moderator bans a phrase and tries an obfuscated text with
//! `/automod test`; a member's Slack message with it is delivered three times (a retry and a
//! copy under another event id) and acts once: one case, one DM, one mod-log post with the
//! follow-up buttons; a clean message is left alone. On Discord: a word banned and tried through
//! a zero-width space, Report message and Check message, and `gavel discord automod sync`
//! compiling the rules into the (recording) Discord's native AutoMod, twice: the second sync
//! writes nothing.

use anyhow::Result;
use gavel_shared::commands::CommandRegistry;
use gavel_shared::edge::Route;
use gavel_shared::platform::recording::{PlatformCall, RecordingPlatform};
use gavel_shared::store::Store;
use gavel_shared::worker::InProcessBus;
use gavel_shared::worker::automod::sync_stored;
use std::time::{Duration, Instant};

use super::{FlowTour, count, discord_text, first_line, slack_text};
use crate::payloads::{self, DEMO_GUILD, Invoker};
use crate::signing::{sign_slack, unix_now};

/// The member whose message is reported on Discord.
const REPORTED: &str = "100000000000000078";
/// Where the demo communities' mod log is.
const SLACK_MODLOG: &str = "C0GAVELMODLOG";

impl FlowTour<'_> {
    pub(super) async fn automod(
        &mut self,
        platform: &RecordingPlatform,
        jobs: &InProcessBus,
        store: &dyn Store,
    ) -> Result<()> {
        println!("AutoMod: rules that watch Slack messages and explain every catch.\n");
        let registry = CommandRegistry::standard();
        let moderator = Invoker { moderator: true };
        let commands = Route::SlackCommands.path();

        let modlog = self
            .slack(
                "Slack: a moderator sets the mod-log channel",
                commands,
                payloads::slack_command(
                    &format!("/modconfig modlog <#{SLACK_MODLOG}|mod-log>"),
                    moderator,
                )?,
            )
            .await?;
        self.check(
            slack_text(&modlog).contains("modlog"),
            first_line(slack_text(&modlog)),
        );
        let added = self
            .slack(
                "Slack: /automod add-word free nitro (the first word picks the action)",
                commands,
                payloads::slack_command("/automod add-word free nitro", moderator)?,
            )
            .await?;
        let text = slack_text(&added);
        self.check(
            text.contains("`free nitro` is now banned"),
            first_line(text),
        );
        let tried = self
            .slack(
                "Slack: /automod test fr33 n1tr0 explains the match",
                commands,
                payloads::slack_command("/automod test fr33 n1tr0", moderator)?,
            )
            .await?;
        let text = slack_text(&tried);
        self.check(
            text.contains("free nitro") && text.contains("substitution"),
            text.lines().nth(1).unwrap_or(text),
        );

        let before = platform.calls().len();
        let message = |event_id| {
            payloads::slack_message_event(event_id, "1764000000.000900", "get your fr33 n1tr0 here")
        };
        let mut statuses = Vec::new();
        for (title, event_id) in [
            (
                "Slack: a member's message with the phrase arrives (message event)",
                "Ev0DEMO1",
            ),
            ("Slack: the same delivery again (a retry)", "Ev0DEMO1"),
            (
                "Slack: a copy of the message under another event id",
                "Ev0DEMO2",
            ),
        ] {
            self.title(title);
            let status = self.send_event(message(event_id)).await?;
            statuses.push(status);
            self.check(status == 200, "200, acknowledged inside Slack's 3 seconds");
        }
        jobs.drained().await;
        let calls: Vec<PlatformCall> = platform.calls().into_iter().skip(before).collect();
        let dms = count(&calls, |c| matches!(c, PlatformCall::SlackDm { .. }));
        let post = calls.iter().find_map(|c| match c {
            PlatformCall::SlackReply { channel, reply } if channel == SLACK_MODLOG => Some(reply),
            _ => None,
        });
        let posts = count(
            &calls,
            |c| matches!(c, PlatformCall::SlackReply { channel, .. } if channel == SLACK_MODLOG),
        );
        self.title("Slack: three deliveries, one effect (the worker ran every job twice)");
        let buttons = post
            .map(|p| {
                p.buttons
                    .iter()
                    .map(|b| format!("[{}]", b.label))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        self.check(
            dms == 1 && posts == 1 && buttons.contains("Dismiss"),
            &format!(
                "one warning case, one DM, one mod-log post: {} {buttons}",
                post.map(|p| first_line(&p.text).to_owned())
                    .unwrap_or_default()
            ),
        );

        self.title("Slack: an ordinary message (\"a classic from Scunthorpe\") is left alone");
        let before = platform.calls().len();
        let status = self
            .send_event(payloads::slack_message_event(
                "Ev0DEMO3",
                "1764000001.000900",
                "a classic from Scunthorpe",
            ))
            .await?;
        jobs.drained().await;
        let quiet = platform.calls().len() == before;
        self.check(status == 200 && quiet, "200, and no platform call");

        let discord = |line: &str| payloads::discord_command(&registry, line, moderator);
        let added = self
            .discord(
                "Discord: /automod action=add-word value=scam",
                discord("/automod action=add-word value=scam")?,
            )
            .await?;
        self.check(
            discord_text(&added).contains("`scam` is now banned"),
            first_line(discord_text(&added)),
        );
        let tried = self
            .discord(
                "Discord: /automod action=test value=sc\u{200b}4m (a zero-width space inside)",
                discord("/automod action=test value=sc\u{200b}4m")?,
            )
            .await?;
        let text = discord_text(&tried);
        self.check(text.contains("`scam`"), text.lines().nth(1).unwrap_or(text));

        let member = Invoker { moderator: false };
        let reported = self
            .discord(
                "Discord: a member uses Report message on a message (HTTP-only: Discord sends its content)",
                payloads::discord_message_command(
                    "Report message",
                    REPORTED,
                    "this is a sc4m, DM me",
                    member,
                )?,
            )
            .await?;
        let shown = reported.to_string();
        self.check(
            shown.contains("Send this report about") && shown.contains("`scam`"),
            "asked to confirm a report that quotes the message and what AutoMod matched",
        );
        let checked = self
            .discord(
                "Discord: a moderator uses Check message on it",
                payloads::discord_message_command(
                    "Check message",
                    REPORTED,
                    "this is a sc4m, DM me",
                    moderator,
                )?,
            )
            .await?;
        let text = discord_text(&checked);
        self.check(
            text.contains("breaks 1 rule") && super::discord_labels(&checked).contains("[Warn]"),
            &format!("{} {}", first_line(text), super::discord_labels(&checked)),
        );
        let blocking = self
            .discord(
                "Discord: /automod action=delete rule=words value=on (so Discord itself can block such messages)",
                discord("/automod action=delete rule=words value=on")?,
            )
            .await?;
        self.check(
            discord_text(&blocking).contains("delete"),
            first_line(discord_text(&blocking)),
        );
        self.native_sync(platform, store).await?;
        println!();
        Ok(())
    }

    /// `gavel discord automod sync`: the code that command runs, against the demo's store and
    /// its recording Discord (which keeps the native rules it is given, as Discord would).
    async fn native_sync(&mut self, platform: &RecordingPlatform, store: &dyn Store) -> Result<()> {
        let sync = || async {
            let deadline = Instant::now() + Duration::from_secs(30);
            sync_stored(platform, store, DEMO_GUILD, unix_now(), deadline)
                .await
                .map_err(|e| anyhow::anyhow!("the AutoMod sync did not finish: {e}"))
        };
        self.title(&format!(
            "gavel discord automod sync --guild {DEMO_GUILD}: the rules into Discord's native AutoMod"
        ));
        let first = sync().await?;
        let native = platform.automod_rules(DEMO_GUILD);
        let keywords: Vec<String> = native
            .iter()
            .flat_map(|rule| {
                rule.trigger_metadata
                    .keyword_filter
                    .clone()
                    .unwrap_or_default()
            })
            .collect();
        self.check(
            !first.created.is_empty()
                && native.len() == first.created.len()
                && keywords.iter().any(|k| k == "scam")
                && !first.not_compiled.is_empty(),
            &format!(
                "{} native rules created ({}), keywords {}; not compiled: {}",
                first.created.len(),
                first.created.join(", "),
                keywords.join(" "),
                first.not_compiled.len()
            ),
        );
        self.title("gavel discord automod sync again, nothing changed: no write call");
        // The recording keeps only its latest calls, so the last one tells whether a write was
        // made, not the count.
        let last_call = platform.calls().last().cloned();
        let second = sync().await?;
        self.check(
            second.writes() == 0
                && platform.calls().last().cloned() == last_call
                && platform.automod_rules(DEMO_GUILD) == native,
            first_line(&second.to_string()),
        );
        Ok(())
    }

    /// An Events API delivery, signed as Slack signs it; its status.
    async fn send_event(&self, body: Vec<u8>) -> Result<u16> {
        let request = sign_slack(
            &self.credentials.slack_signing_secret,
            Route::SlackEvents.path(),
            "application/json",
            body,
            unix_now(),
        );
        Ok(crate::send::post(self.client, self.base, &request)
            .await?
            .status)
    }
}
