//! `gavel demo`: a scripted tour through a real local server with signed requests for both
//! platforms, printed as a transcript. Exits non-zero if any step answers differently than a
//! correct deployment would.

use anyhow::{Result, bail};
use gavel_shared::commands::CommandRegistry;
use gavel_shared::config::EdgeSettings;
use gavel_shared::edge::Route;
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
    };
    // A throwaway store too: the demo leaves nothing behind.
    let data = tempfile::tempdir()?;
    let store = serve::open_embedded_store(data.path())?;
    let server = serve::start_with("127.0.0.1:0".parse()?, &settings, None, store).await?;
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
    let health = client.get(format!("{base}/healthz")).send().await?;
    println!(
        "GET /healthz ← {} {}",
        health.status().as_u16(),
        health.text().await?
    );
    server.task.abort();
    if failures > 0 {
        bail!(
            "{failures} of {} demo steps answered unexpectedly",
            steps.len()
        );
    }
    println!("\nAll {} steps answered as expected.", steps.len());
    Ok(())
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
    let replayed = discord(payloads::discord_command(&registry, "/ping", member)?);
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
            title: "Discord: an interaction arrives (first delivery)",
            request: replayed.clone(),
            expect: |a| discord_ephemeral(a, "Pong!"),
        },
        Step {
            title: "Discord: the same signed interaction again (a replay) has no second effect",
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
