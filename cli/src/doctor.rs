//! `gavel doctor --url https://…`: checks that each endpoint of a deployment answers the way
//! the platforms require before they will use it, so a team knows after `sam deploy` that the
//! routes, the functions and their signature checks work, without waiting for a user.
//!
//! Forged requests must get 401 on every route (Discord refuses to save an endpoint that
//! accepts them). With `SLACK_SIGNING_SECRET` in the environment (read it from the secret, as
//! the runbook shows), it also sends correctly signed requests: the Events API challenge must
//! come back and `/ping` must answer. Discord's positive check needs Discord's own key, which
//! only Discord has: the developer portal makes it when the URL is saved.

use anyhow::{Result, bail};
use ed25519_dalek::SigningKey;
use gavel_shared::edge::Route;

use crate::payloads::{self, Invoker};
use crate::send::{post, post_to, url_for};
use crate::signing::{SignedRequest, sign_discord, sign_slack, unix_now, with_telegram_secret};

/// One check: what was sent, what was wanted, and whether the answer was it.
pub struct Check {
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

/// The client every check uses: a deployment that does not answer within 10 s fails.
pub fn http_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?)
}

/// What a forger can send to `route`: a Discord PING signed with a key that is not the
/// application's, a Slack request signed with a secret that is not the app's, a Telegram
/// update with a secret token that is not the webhook's. `None` for the health check, which
/// anyone may call.
pub fn forged(route: Route) -> Option<SignedRequest> {
    let path = route.path();
    match route {
        Route::DiscordInteractions => Some(sign_discord(
            &SigningKey::from_bytes(&[7; 32]),
            path,
            payloads::discord_ping(),
            unix_now(),
        )),
        Route::SlackCommands | Route::SlackInteractions | Route::SlackEvents => Some(sign_slack(
            "not the app's signing secret",
            path,
            "application/x-www-form-urlencoded",
            b"token=x".to_vec(),
            unix_now(),
        )),
        Route::TelegramWebhook => Some(with_telegram_secret(
            "not-the-webhook-secret",
            path,
            payloads::telegram_private_message("/ping"),
        )),
        Route::Health => None,
    }
}

/// Whether `url` (the route's whole URL) refuses a forged request with 401, as the platforms
/// require before they use an endpoint.
pub async fn refuses_forgery(client: &reqwest::Client, url: &str, route: Route) -> Check {
    let what = format!("{url}: a forged request is refused");
    match forged(route) {
        Some(request) => expect_status(client, url, &what, &request, 401).await,
        None => Check {
            what,
            ok: false,
            detail: format!("{} takes no signed requests", route.path()),
        },
    }
}

/// Runs every check against `url`; `slack_signing_secret` adds the signed ones.
pub async fn run(url: &str, slack_signing_secret: Option<&str>) -> Result<()> {
    let client = http_client()?;
    let mut checks = Vec::new();
    for route in [
        Route::DiscordInteractions,
        Route::SlackCommands,
        Route::SlackInteractions,
        Route::SlackEvents,
    ] {
        checks.push(refuses_forgery(&client, &url_for(url, route.path()), route).await);
    }
    match slack_signing_secret.filter(|s| !s.trim().is_empty()) {
        Some(secret) => {
            let challenge = format!("gavel-doctor-{}", unix_now());
            let request = sign_slack(
                secret,
                Route::SlackEvents.path(),
                "application/json",
                payloads::slack_url_verification(&challenge),
                unix_now(),
            );
            let answer = post(&client, url, &request).await;
            checks.push(match answer {
                Ok(a) => Check {
                    what: "Slack /slack/events: the signed url_verification challenge comes back"
                        .into(),
                    ok: a.status == 200 && a.body.contains(&challenge),
                    detail: format!("HTTP {} {}", a.status, first_line(&a.body)),
                },
                Err(error) => unreachable_check("Slack /slack/events challenge", &error),
            });
            let request = sign_slack(
                secret,
                Route::SlackCommands.path(),
                "application/x-www-form-urlencoded",
                payloads::slack_command("/ping", Invoker { moderator: false })?,
                unix_now(),
            );
            let answer = post(&client, url, &request).await;
            checks.push(match answer {
                Ok(a) => Check {
                    what: "Slack /slack/commands: a signed /ping is answered".into(),
                    ok: a.status == 200 && a.body.contains("Pong"),
                    detail: format!("HTTP {} {}", a.status, first_line(&a.body)),
                },
                Err(error) => unreachable_check("Slack /ping", &error),
            });
        }
        None => println!(
            "(No Slack signing secret given (SLACK_SIGNING_SECRET): only the refusals are \
             checked. Set it from the secret to check signed requests too.)\n"
        ),
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    let mut out = std::io::stdout().lock();
    for check in &checks {
        write_check(&mut out, check)?;
    }
    if failed > 0 {
        bail!("{failed} of {} checks failed", checks.len());
    }
    println!("\nAll {} checks passed.", checks.len());
    Ok(())
}

async fn expect_status(
    client: &reqwest::Client,
    url: &str,
    what: &str,
    request: &SignedRequest,
    status: u16,
) -> Check {
    match post_to(client, url, request).await {
        Ok(answer) => Check {
            what: what.to_owned(),
            ok: answer.status == status,
            detail: format!(
                "HTTP {} (wanted {status}) {}",
                answer.status,
                first_line(&answer.body)
            ),
        },
        Err(error) => unreachable_check(what, &error),
    }
}

/// A check's two lines: verdict and what, then the answer.
pub fn write_check(out: &mut dyn std::io::Write, check: &Check) -> std::io::Result<()> {
    writeln!(
        out,
        "{} {}\n    {}",
        if check.ok { "ok  " } else { "FAIL" },
        check.what,
        check.detail
    )
}

fn unreachable_check(what: &str, error: &anyhow::Error) -> Check {
    Check {
        what: what.to_owned(),
        ok: false,
        detail: format!("no answer: {error:#}"),
    }
}

fn first_line(body: &str) -> String {
    body.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(160)
        .collect()
}
