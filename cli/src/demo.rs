//! `gavel demo`: a scripted tour through a real local server with signed requests for both
//! platforms, printed as a transcript. Exits non-zero if any step answers differently than a
//! correct deployment would.

mod automod;
mod economy;
mod moderation;
mod telegram;

use std::sync::Arc;

use anyhow::{Result, bail};
use gavel_shared::commands::CommandRegistry;
use gavel_shared::config::EdgeSettings;
use gavel_shared::edge::Route;
use gavel_shared::invocation::Platform;
use gavel_shared::platform::recording::{PlatformCall, RecordingPlatform};
use gavel_shared::slack::web::{RecordingSlackWeb, SlackCall};
use gavel_shared::store::keys::Community;
use gavel_shared::worker::InProcessBus;
use serde_json::Value;

use crate::credentials::DevCredentials;
use crate::payloads::{self, Invoker};
use crate::send::{Answer, post};
use crate::serve;
use crate::signing::{SignedRequest, sign_discord, sign_slack, unix_now};

/// One scripted request and what a correct server answers.
struct Step {
    title: &'static str,
    request: SignedRequest,
    expect: fn(&Answer) -> Result<String, String>,
}

pub async fn run() -> Result<()> {
    let credentials = DevCredentials::generate()?;
    // The demo signs with its own throwaway credentials, whatever the environment says.
    let settings = EdgeSettings {
        discord_public_key: Some(credentials.discord_public_key.clone()),
        slack_signing_secret: Some(credentials.slack_signing_secret.clone()),
        replay_window_secs: None,
        component_secret: Some(credentials.component_secret()),
        slack_moderators: vec![payloads::SLACK_DEV_MODERATOR.to_owned()],
        telegram_webhook_secret: Some(credentials.telegram_webhook_secret()),
        telegram_bot_username: None,
    };
    // A throwaway store too: the demo leaves nothing behind.
    let data = tempfile::tempdir()?;
    let store = serve::open_embedded_store(data.path())?;
    // The tour runs a moderator's whole afternoon in seconds; the demo communities raise their
    // per-moderator limit through the stored overrides, as any community can.
    for community in [
        Community::new(Platform::Discord, payloads::DEMO_GUILD),
        Community::new(Platform::Slack, payloads::SLACK_TEAM),
        Community::new(
            Platform::Telegram,
            &payloads::TELEGRAM_DEV_GROUP.to_string(),
        ),
    ] {
        let overrides = serde_json::json!({
            "moderation": { "capacity": 100, "window_secs": 60, "burst": 50 },
            "user_command": { "capacity": 100, "window_secs": 60, "burst": 50 }
        });
        store
            .create(gavel_shared::store::NewItem::new(
                gavel_shared::ratelimit::limiter::RateLimiter::overrides_key(community),
                overrides,
            ))
            .await?;
    }
    // Slack calls are recorded, so the transcript can show what Slack would have been sent.
    let slack_web = Arc::new(RecordingSlackWeb::new());
    // The worker's platform calls are recorded too, and every job is delivered twice, as
    // EventBridge may: the transcript shows each still acts once.
    // The Telegram moderator is an administrator to the recording Bot API's getChatMember.
    let platform = Arc::new(
        RecordingPlatform::new().with_telegram_admin(payloads::TELEGRAM_DEV_MODERATOR.to_string()),
    );
    let parts = serve::ServeParts {
        slack_web: slack_web.clone(),
        discord_api: Some(platform.clone()),
        slack_api: Some(platform.clone()),
        telegram_api: Some(platform.clone()),
        deliveries: 2,
        limits: serve::ConnectionLimits::default(),
        max_queued_jobs: gavel_shared::worker::local_bus::MAX_PENDING,
    };
    let server = serve::start_with_parts(
        "127.0.0.1:0".parse()?,
        &settings,
        None,
        store.clone(),
        parts,
    )
    .await?;
    let base = format!("http://{}", server.addr);
    println!(
        "Gavel {} demo: a local server on {base}, driven with signed requests.\n",
        gavel_shared::VERSION
    );

    let steps = script(&credentials)?;
    let client = reqwest::Client::new();
    let mut failures = 0;
    for (index, step) in steps.iter().enumerate() {
        let answer = post(&client, &base, &step.request).await?;
        println!("[{:>2}] {}", index + 1, step.title);
        println!(
            "     → POST {} ({} bytes)",
            step.request.path,
            step.request.body.len()
        );
        match (step.expect)(&answer) {
            Ok(summary) => println!("     ← {} {summary}\n", answer.status),
            Err(problem) => {
                failures += 1;
                println!(
                    "     ← {} UNEXPECTED: {problem}\n       body: {}\n",
                    answer.status, answer.body
                );
            }
        }
    }
    let flow_steps = steps.len();
    let mut tour = FlowTour {
        client: &client,
        base: &base,
        credentials: &credentials,
        slack_web: &slack_web,
        number: flow_steps,
        failures: 0,
    };
    tour.run().await?;
    tour.background(&platform, &server.jobs).await?;
    tour.moderation::<moderation::Discord>(&platform, &server.jobs)
        .await?;
    tour.moderation::<moderation::Slack>(&platform, &server.jobs)
        .await?;
    tour.telegram_moderation(&platform, &server.jobs).await?;
    tour.economy().await?;
    tour.automod(&platform, &server.jobs, store.as_ref())
        .await?;
    failures += tour.failures;
    let total = tour.number;

    let health = client.get(format!("{base}/healthz")).send().await?;
    println!(
        "GET /healthz ← {} {}",
        health.status().as_u16(),
        health.text().await?
    );
    server.task.abort();
    if failures > 0 {
        bail!("{failures} of {total} demo steps answered unexpectedly");
    }
    println!("\nAll {total} steps answered as expected.");
    Ok(())
}

/// The second half of the demo: conversation flows, where each step depends on the answer
/// before it (the buttons' ids).
struct FlowTour<'a> {
    client: &'a reqwest::Client,
    base: &'a str,
    credentials: &'a DevCredentials,
    slack_web: &'a RecordingSlackWeb,
    number: usize,
    failures: usize,
}

impl FlowTour<'_> {
    async fn run(&mut self) -> Result<()> {
        println!("Conversation flows: state in the store, buttons with signed ids.\n");
        let member = Invoker { moderator: false };
        let target = "100000000000000077";

        // Discord: confirm, with a double click.
        let prompt = self
            .discord(
                "Discord: /report with a reason asks to confirm",
                payloads::discord_command(
                    &CommandRegistry::standard(),
                    &format!("/report user={target} reason=posted-scam-links-in-general"),
                    member,
                )?,
            )
            .await?;
        let ids = discord_buttons(&prompt);
        self.check(
            ids.len() == 2,
            &format!("buttons: {}", discord_labels(&prompt)),
        );
        if let Some(confirm) = ids.first() {
            let click = || payloads::discord_component(confirm, member);
            let (a, b) = tokio::join!(self.send_discord(click()?), self.send_discord(click()?));
            let answers = [a?, b?];
            self.title("Discord: Confirm double-clicked (two requests at once)");
            let updated = answers.iter().filter(|j| j["type"] == 7).count();
            let handled = answers
                .iter()
                .filter(|j| discord_text(j).contains("already handled"))
                .count();
            self.check(
                updated == 1 && handled == 1,
                "one click sent the report and replaced the prompt; the other was told it was already handled",
            );
        }

        // Discord: cancel.
        let prompt = self
            .discord(
                "Discord: another /report, then Cancel",
                payloads::discord_command(
                    &CommandRegistry::standard(),
                    &format!("/report user={target} reason=spamming-the-help-channel"),
                    member,
                )?,
            )
            .await?;
        self.check(discord_buttons(&prompt).len() == 2, "a new prompt");
        if let Some(cancel) = discord_buttons(&prompt).get(1) {
            let answer = self
                .send_discord(payloads::discord_component(cancel, member)?)
                .await?;
            self.title("Discord: Cancel clicked");
            self.check(
                answer["type"] == 7 && discord_text(&answer).contains("cancelled"),
                first_line(discord_text(&answer)),
            );
        }

        // Discord: the form, with a validation error first.
        let modal = self
            .discord(
                "Discord: /report without a reason opens a form (a modal as the first answer)",
                payloads::discord_command(
                    &CommandRegistry::standard(),
                    &format!("/report user={target}"),
                    member,
                )?,
            )
            .await?;
        self.check(modal["type"] == 9, "a modal (type 9)");
        if let Some(form) = modal["data"]["custom_id"].as_str() {
            let bad = self
                .send_discord(payloads::discord_modal_submit(
                    form,
                    &[("reason", "spam"), ("evidence", "not a link")],
                    member,
                )?)
                .await?;
            self.title("Discord: the form submitted with a 4-character reason and a bad link");
            self.check(
                discord_text(&bad).contains("at least 10") && discord_buttons(&bad).len() == 1,
                "errors listed, with an \"Edit report\" button that reopens the form",
            );
            let edit = discord_buttons(&bad).into_iter().next().unwrap_or_default();
            let reopened = self
                .send_discord(payloads::discord_component(&edit, member)?)
                .await?;
            self.title("Discord: \"Edit report\" clicked");
            self.check(
                reopened["type"] == 9
                    && reopened["data"]["components"][0]["component"]["value"] == "spam",
                "the form reopens with the draft filled in",
            );
            let form = reopened["data"]["custom_id"].as_str().unwrap_or_default();
            let good = self
                .send_discord(payloads::discord_modal_submit(
                    form,
                    &[("reason", "Posted the same scam link in five channels")],
                    member,
                )?)
                .await?;
            self.title("Discord: the form submitted again, valid");
            let text = discord_text(&good);
            self.check(text.contains("was sent"), first_line(text));
        }

        // Slack: confirm through response_url.
        let prompt = self
            .slack(
                "Slack: /report with a reason asks to confirm (same command definition)",
                Route::SlackCommands.path(),
                payloads::slack_command("/report <@U0GAVELTGT> posted scam links", member)?,
            )
            .await?;
        let action_ids: Vec<String> = prompt["blocks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| b["type"] == "actions")
            .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["action_id"].as_str().map(str::to_owned))
            .collect();
        self.check(
            action_ids.len() == 2,
            "Block Kit buttons: Send report, Cancel",
        );
        if let Some(confirm) = action_ids.first() {
            let before = self.slack_web.calls().len();
            self.slack(
                "Slack: Send report clicked (block_actions)",
                Route::SlackInteractions.path(),
                payloads::slack_block_action(confirm, member)?,
            )
            .await?;
            let posted = self
                .slack_web
                .calls()
                .into_iter()
                .skip(before)
                .find_map(|c| match c {
                    SlackCall::Respond { message, .. } => Some(message),
                    _ => None,
                });
            let replaced = posted.as_ref().is_some_and(|m| {
                m["replace_original"] == true
                    && m["text"].as_str().unwrap_or("").contains("was sent")
            });
            self.check(
                replaced,
                "the prompt was replaced through response_url: report sent",
            );
        }

        // Slack: the form through views.open, with field errors.
        let before = self.slack_web.calls().len();
        self.slack(
            "Slack: /report without a reason opens a form (views.open with the trigger id)",
            Route::SlackCommands.path(),
            payloads::slack_command("/report <@U0GAVELTGT>", member)?,
        )
        .await?;
        let callback = self
            .slack_web
            .calls()
            .into_iter()
            .skip(before)
            .find_map(|c| match c {
                SlackCall::OpenView { view, .. } => view["callback_id"].as_str().map(str::to_owned),
                _ => None,
            });
        self.check(callback.is_some(), "views.open called with a modal");
        if let Some(callback) = callback {
            let bad = self
                .slack(
                    "Slack: the form submitted with a short reason",
                    Route::SlackInteractions.path(),
                    payloads::slack_view_submission(&callback, &[("reason", "spam")], member)?,
                )
                .await?;
            self.check(
                bad["response_action"] == "errors" && bad["errors"]["reason"].is_string(),
                "response_action: errors, shown beside the reason field",
            );
            let good = self
                .slack(
                    "Slack: the form submitted again, valid",
                    Route::SlackInteractions.path(),
                    payloads::slack_view_submission(
                        &callback,
                        &[("reason", "Posted the same scam link in five channels")],
                        member,
                    )?,
                )
                .await?;
            self.check(
                good["response_action"] == "update",
                "response_action: update, the form closes on \"report sent\"",
            );
        }
        println!();
        Ok(())
    }

    /// Ack then continue: deferred answers, the worker, exactly one platform call per job.
    async fn background(
        &mut self,
        platform: &RecordingPlatform,
        jobs: &InProcessBus,
    ) -> Result<()> {
        println!(
            "Background work: answer at once, the worker calls the platform and edits the answer.\n"
        );
        let moderator = Invoker { moderator: true };
        let before = platform.calls().len();
        let answer = self
            .discord(
                "Discord: a moderator runs /reportchannel (needs a Discord API call)",
                payloads::discord_command(
                    &CommandRegistry::standard(),
                    "/reportchannel channel=100000000000000555",
                    moderator,
                )?,
            )
            .await?;
        self.check(
            answer["type"] == 5,
            "a deferred answer at once (type 5: \"Gavel is thinking…\")",
        );
        jobs.drained().await;
        let calls: Vec<PlatformCall> = platform.calls().into_iter().skip(before).collect();
        let posts = calls
            .iter()
            .filter(|c| matches!(c, PlatformCall::DiscordMessage { .. }))
            .count();
        let edit = calls.iter().find_map(|c| match c {
            PlatformCall::DiscordEditOriginal { content } => Some(content.clone()),
            _ => None,
        });
        self.title("Discord: the worker ran the job (delivered twice)");
        self.check(
            posts == 1 && edit.as_deref().is_some_and(|e| e.contains("✅")),
            &format!(
                "one message posted in the channel; the answer edited to: {}",
                edit.unwrap_or_default()
            ),
        );

        let before = platform.calls().len();
        let answer = self
            .slack(
                "Slack: a moderator runs /reportchannel #mods",
                Route::SlackCommands.path(),
                payloads::slack_command("/reportchannel <#C0GAVELMODS|mods>", moderator)?,
            )
            .await?;
        self.check(
            answer["text"]
                .as_str()
                .is_some_and(|t| t.contains("Checking")),
            "acknowledged at once with a placeholder",
        );
        jobs.drained().await;
        let calls: Vec<PlatformCall> = platform.calls().into_iter().skip(before).collect();
        let posts = calls
            .iter()
            .filter(|c| matches!(c, PlatformCall::SlackMessage { .. }))
            .count();
        let replaced = calls.iter().find_map(|c| match c {
            PlatformCall::SlackRespond {
                text,
                replace_original: true,
            } => Some(text.clone()),
            _ => None,
        });
        self.title("Slack: the worker ran the job (delivered twice)");
        self.check(
            posts == 1 && replaced.as_deref().is_some_and(|t| t.contains("✅")),
            &format!(
                "one chat.postMessage; the placeholder replaced through response_url: {}",
                replaced.unwrap_or_default()
            ),
        );
        println!();
        Ok(())
    }

    fn title(&mut self, title: &str) {
        self.number += 1;
        println!("[{:>2}] {title}", self.number);
    }

    fn check(&mut self, ok: bool, summary: &str) {
        if ok {
            println!("     ← {summary}\n");
        } else {
            self.failures += 1;
            println!("     ← UNEXPECTED: wanted {summary}\n");
        }
    }

    async fn discord(&mut self, title: &str, body: Vec<u8>) -> Result<Value> {
        self.title(title);
        self.send_discord(body).await
    }

    async fn send_discord(&self, body: Vec<u8>) -> Result<Value> {
        let key = self.credentials.signing_key()?;
        let request = sign_discord(&key, Route::DiscordInteractions.path(), body, unix_now());
        let answer = post(self.client, self.base, &request).await?;
        Ok(answer.json().unwrap_or(Value::Null))
    }

    async fn slack(&mut self, title: &str, path: &str, body: Vec<u8>) -> Result<Value> {
        self.title(title);
        self.send_slack_to(path, body).await
    }

    async fn send_slack_to(&self, path: &str, body: Vec<u8>) -> Result<Value> {
        let request = sign_slack(
            &self.credentials.slack_signing_secret,
            path,
            "application/x-www-form-urlencoded",
            body,
            unix_now(),
        );
        let answer = post(self.client, self.base, &request).await?;
        Ok(answer.json().unwrap_or(Value::Null))
    }
}

fn discord_buttons(answer: &Value) -> Vec<String> {
    answer["data"]["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["custom_id"].as_str().map(str::to_owned))
        .collect()
}

fn discord_labels(answer: &Value) -> String {
    answer["data"]["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["label"].as_str().map(|l| format!("[{l}]")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn count(calls: &[PlatformCall], matches: impl Fn(&PlatformCall) -> bool) -> usize {
    calls.iter().filter(|c| matches(c)).count()
}

fn slack_actions(answer: &Value) -> Vec<String> {
    answer["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["action_id"].as_str().map(str::to_owned))
        .collect()
}

fn slack_text(answer: &Value) -> &str {
    answer["text"].as_str().unwrap_or("")
}

fn discord_text(answer: &Value) -> &str {
    answer["data"]["content"].as_str().unwrap_or("")
}

fn script(credentials: &DevCredentials) -> Result<Vec<Step>> {
    let key = credentials.signing_key()?;
    let secret = &credentials.slack_signing_secret;
    let registry = CommandRegistry::standard();
    let now = unix_now();
    let member = Invoker { moderator: false };
    let discord = |body: Vec<u8>| sign_discord(&key, Route::DiscordInteractions.path(), body, now);
    let slack_command = |body: Vec<u8>| {
        sign_slack(
            secret,
            Route::SlackCommands.path(),
            "application/x-www-form-urlencoded",
            body,
            now,
        )
    };

    let forged_key = DevCredentials::generate()?.signing_key()?;
    // A command with an effect (a stored reminder): `/ping` only answers, so its repeat is
    // answered again and takes no claim.
    let replayed = discord(payloads::discord_command(
        &registry,
        "/remind action=in duration=10m text=stretch",
        member,
    )?);
    let mut tampered = discord(payloads::discord_command(&registry, "/ping", member)?);
    tampered.body = payloads::discord_command(&registry, "/help", member)?;

    Ok(vec![
        Step {
            title: "Discord checks the endpoint with a PING",
            request: discord(payloads::discord_ping()),
            expect: |a| {
                expect_json(a, 200, |j| {
                    (j["type"] == 1).then(|| "PONG {\"type\":1}".to_owned())
                })
            },
        },
        Step {
            title: "Discord: a member runs /ping",
            request: discord(payloads::discord_command(&registry, "/ping", member)?),
            expect: |a| discord_ephemeral(a, "Pong!"),
        },
        Step {
            title: "Discord: a member runs /help",
            request: discord(payloads::discord_command(&registry, "/help", member)?),
            expect: |a| discord_ephemeral(a, "/ping"),
        },
        Step {
            title: "Discord: /help command=ping explains one command",
            request: discord(payloads::discord_command(
                &registry,
                "/help command=ping",
                member,
            )?),
            expect: |a| discord_ephemeral(a, "`/ping`:"),
        },
        Step {
            title: "Discord: a typo, /pnig, gets a suggestion instead of an error",
            request: discord(payloads::discord_command(&registry, "/pnig", member)?),
            expect: |a| discord_ephemeral(a, "Did you mean `/ping`?"),
        },
        Step {
            title: "Discord: an interaction arrives (first delivery): /remind in 10m stretch",
            request: replayed.clone(),
            expect: |a| discord_ephemeral(a, "Reminder 1 set"),
        },
        Step {
            title: "Discord: the same signed interaction again (a replay) sets no second reminder",
            request: replayed,
            expect: |a| discord_ephemeral(a, "already handled"),
        },
        Step {
            title: "Discord: a request signed with someone else's key is refused",
            request: sign_discord(
                &forged_key,
                Route::DiscordInteractions.path(),
                payloads::discord_ping(),
                now,
            ),
            expect: |a| expect_status(a, 401, "refused: invalid signature"),
        },
        Step {
            title: "Discord: a body changed after signing is refused",
            request: tampered,
            expect: |a| expect_status(a, 401, "refused: body does not match its signature"),
        },
        Step {
            title: "Discord: a replayed request from 10 minutes ago is refused",
            request: sign_discord(
                &key,
                Route::DiscordInteractions.path(),
                payloads::discord_ping(),
                now - 600,
            ),
            expect: |a| expect_status(a, 401, "refused: timestamp outside the 5-minute window"),
        },
        Step {
            title: "Discord: a correctly signed body that is not an interaction",
            request: discord(b"{not json".to_vec()),
            expect: |a| expect_status(a, 400, "rejected as malformed (signature was valid)"),
        },
        Step {
            title: "Discord: a body over the 1 MiB cap",
            request: discord(vec![b' '; 1024 * 1024 + 1]),
            expect: |a| expect_status(a, 413, "rejected as too large, before verification"),
        },
        Step {
            title: "Slack saves the Events URL with a url_verification challenge",
            request: sign_slack(
                secret,
                Route::SlackEvents.path(),
                "application/json",
                payloads::slack_url_verification("gavel-demo-challenge"),
                now,
            ),
            expect: |a| {
                expect_json(a, 200, |j| {
                    (j["challenge"] == "gavel-demo-challenge")
                        .then(|| "challenge echoed".to_owned())
                })
            },
        },
        Step {
            title: "Slack: a member runs /ping",
            request: slack_command(payloads::slack_command("/ping", member)?),
            expect: |a| slack_ephemeral(a, "Pong!"),
        },
        Step {
            title: "Slack: a member runs /help (same command definitions as Discord)",
            request: slack_command(payloads::slack_command("/help", member)?),
            expect: |a| slack_ephemeral(a, "Commands you can use"),
        },
        Step {
            title: "Slack: /ping with words it does not take gets its usage",
            request: slack_command(payloads::slack_command("/ping now please", member)?),
            expect: |a| slack_ephemeral(a, "Usage: `/ping`"),
        },
        Step {
            title: "Slack: an unknown command gets a helpful reply",
            request: slack_command(payloads::slack_command("/gavel-does-not-know", member)?),
            expect: |a| slack_ephemeral(a, "I don't know the command"),
        },
        Step {
            title: "Slack: a request with a wrong signature is refused",
            request: sign_slack(
                "not-the-secret",
                Route::SlackCommands.path(),
                "application/x-www-form-urlencoded",
                payloads::slack_command("/ping", member)?,
                now,
            ),
            expect: |a| expect_status(a, 401, "refused: invalid signature"),
        },
    ])
}

fn expect_status(answer: &Answer, status: u16, summary: &str) -> Result<String, String> {
    if answer.status == status {
        Ok(summary.to_owned())
    } else {
        Err(format!("expected HTTP {status}"))
    }
}

fn expect_json(
    answer: &Answer,
    status: u16,
    check: impl Fn(&Value) -> Option<String>,
) -> Result<String, String> {
    if answer.status != status {
        return Err(format!("expected HTTP {status}"));
    }
    let json = answer.json().ok_or("the body is not JSON")?;
    check(&json).ok_or_else(|| "the JSON is not the expected answer".to_owned())
}

/// A type-4 message, flagged ephemeral (64), whose content contains `needle`.
fn discord_ephemeral(answer: &Answer, needle: &str) -> Result<String, String> {
    expect_json(answer, 200, |j| {
        let content = j["data"]["content"].as_str()?;
        let ephemeral = j["data"]["flags"].as_u64()? & 64 == 64;
        (j["type"] == 4 && ephemeral && content.contains(needle))
            .then(|| format!("ephemeral: {}", first_line(content)))
    })
}

fn slack_ephemeral(answer: &Answer, needle: &str) -> Result<String, String> {
    expect_json(answer, 200, |j| {
        let text = j["text"].as_str()?;
        (j["response_type"] == "ephemeral" && text.contains(needle))
            .then(|| format!("ephemeral: {}", first_line(text)))
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}
