//! `gavel send`: sign a request with the development credentials and post it to a server.

use std::path::Path;

use anyhow::{Context, Result, bail};
use gavel_shared::commands::CommandRegistry;
use gavel_shared::edge::Route;
use serde_json::Value;

use crate::credentials::DevCredentials;
use crate::payloads::{self, Invoker};
use crate::signing::{SignedRequest, sign_discord, sign_slack, unix_now, with_telegram_secret};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    Discord,
    Slack,
    Telegram,
}

/// The answer, as received.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// Posts `request` to its route under `base_url` (a server's or a deployment's root).
pub async fn post(
    client: &reqwest::Client,
    base_url: &str,
    request: &SignedRequest,
) -> Result<Answer> {
    post_to(client, &url_for(base_url, &request.path), request)
        .await
        .context("is the server running (`gavel serve`)?")
}

/// A route's `path` under `base_url`.
pub fn url_for(base_url: &str, path: &str) -> String {
    format!("{}{}", base_url.trim_end_matches('/'), path)
}

/// Posts `request` to `url` as it is (a stack output names a route's whole URL).
pub async fn post_to(
    client: &reqwest::Client,
    url: &str,
    request: &SignedRequest,
) -> Result<Answer> {
    let mut builder = client.post(url).body(request.body.clone());
    for (name, value) in &request.headers {
        builder = builder.header(*name, value);
    }
    let response = builder
        .send()
        .await
        .with_context(|| format!("posting to {url}"))?;
    let status = response.status().as_u16();
    let body = response.text().await?;
    Ok(Answer { status, body })
}

/// Builds the signed request for `gavel send`. `reply_to` (Telegram) is the user whose
/// message the command answers.
pub fn build(
    credentials: &DevCredentials,
    platform: Platform,
    command_line: Option<&str>,
    file: Option<&Path>,
    invoker: Invoker,
    reply_to: Option<u64>,
) -> Result<SignedRequest> {
    let now = unix_now();
    let registry = CommandRegistry::standard();
    match (platform, command_line, file) {
        (_, Some(_), Some(_)) => bail!("give either a command or --file, not both"),
        (_, None, None) => bail!("give a command such as /ping, or --file events/<name>.json"),
        (Platform::Telegram, line, file) => {
            let body = match (line, file) {
                (Some(line), _) => payloads::telegram_message(line, reply_to, invoker),
                (None, Some(path)) => read_event_file(path)?.1,
                (None, None) => unreachable!("refused above"),
            };
            Ok(with_telegram_secret(
                &credentials.telegram_webhook_secret(),
                Route::TelegramWebhook.path(),
                body,
            ))
        }
        (Platform::Discord, Some(line), None) => {
            let body = if line.trim() == "ping-interaction" {
                payloads::discord_ping()
            } else {
                payloads::discord_command(&registry, line, invoker)?
            };
            Ok(sign_discord(
                &credentials.signing_key()?,
                Route::DiscordInteractions.path(),
                body,
                now,
            ))
        }
        (Platform::Slack, Some(line), None) => Ok(sign_slack(
            &credentials.slack_signing_secret,
            Route::SlackCommands.path(),
            "application/x-www-form-urlencoded",
            payloads::slack_command(line, invoker)?,
            now,
        )),
        (platform, None, Some(path)) => {
            let (route, body) = read_event_file(path)?;
            let for_discord = route == Route::DiscordInteractions.path();
            if for_discord != (platform == Platform::Discord) {
                let (is, use_) = if for_discord {
                    ("Discord", "discord")
                } else {
                    ("Slack", "slack")
                };
                bail!(
                    "{} is a {is} request (route {route}); send it with `gavel send {use_} --file {}`",
                    path.display(),
                    path.display()
                );
            }
            Ok(match platform {
                Platform::Discord => sign_discord(&credentials.signing_key()?, &route, body, now),
                Platform::Telegram => unreachable!("handled above"),
                Platform::Slack => {
                    let content_type = if route == Route::SlackEvents.path() {
                        "application/json"
                    } else {
                        "application/x-www-form-urlencoded"
                    };
                    sign_slack(
                        &credentials.slack_signing_secret,
                        &route,
                        content_type,
                        body,
                        now,
                    )
                }
            })
        }
    }
}

/// Reads an API Gateway HTTP API event from `events/` and returns its route and decoded body,
/// to be signed afresh (the file's own signature is for the in-process tests' fixed clock).
pub fn read_event_file(path: &Path) -> Result<(String, Vec<u8>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let event: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let route = event["rawPath"]
        .as_str()
        .with_context(|| {
            format!(
                "{} has no rawPath; is it an HTTP API event?",
                path.display()
            )
        })?
        .to_owned();
    let body = event["body"].as_str().unwrap_or_default();
    let body = if event["isBase64Encoded"].as_bool().unwrap_or(false) {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(body)?
    } else {
        body.as_bytes().to_vec()
    };
    Ok((route, body))
}

/// Prints an answer for a person: status line, then the body (pretty JSON where it is JSON).
pub fn print_answer(answer: &Answer) {
    println!("HTTP {}", answer.status);
    match answer.json() {
        Some(json) => println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        ),
        None if answer.body.is_empty() => println!("(empty body)"),
        None => println!("{}", answer.body),
    }
}
