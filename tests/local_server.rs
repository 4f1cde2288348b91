//! `gavel serve`, started in-process on a free port and spoken to over real HTTP.
//!
//! Every request is signed with ed25519-compact or hmac-sha256 (the support crate), never with
//! Gavel's own signer: a pass shows the server accepts what a second implementation of each
//! platform's scheme produces. The server runs on the system clock, so requests are signed "now".

use std::time::{SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use gavel_cli::serve::{RunningServer, start_with};
use gavel_shared::adapters::embedded::EmbeddedStore;
use gavel_shared::clock::SystemClock;
use gavel_shared::edge::{MAX_BODY_BYTES, Route};
use gavel_tests::events::{FORM, JSON};
use gavel_tests::payloads::{self, DiscordInvoker};
use gavel_tests::{
    DISCORD_TEST_SEED, discord_signature_with, discord_signed_headers, slack_signed_headers,
    test_settings,
};
use serde_json::{Value, json};

struct Server {
    base: String,
    client: reqwest::Client,
    running: RunningServer,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.running.task.abort();
    }
}

async fn start() -> Server {
    let store = EmbeddedStore::in_memory(Arc::new(SystemClock)).expect("an in-memory store");
    let running = start_with(
        "127.0.0.1:0".parse().unwrap(),
        &test_settings(),
        None,
        Arc::new(store),
    )
    .await
    .expect("the local server starts");
    Server {
        base: format!("http://{}", running.addr),
        client: reqwest::Client::new(),
        running,
    }
}

struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("HTTP {}: {:?} is not JSON: {e}", self.status, self.body))
    }
}

impl Server {
    async fn post(&self, route: Route, headers: &[(&str, String)], body: Vec<u8>) -> Answer {
        let mut request = self
            .client
            .post(format!("{}{}", self.base, route.path()))
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("the server answers");
        Answer {
            status: response.status().as_u16(),
            body: response.text().await.expect("a readable body"),
        }
    }

    async fn discord(&self, body: Vec<u8>) -> Answer {
        let headers = discord_signed_headers(&now(), &body);
        self.post(Route::DiscordInteractions, &headers, body).await
    }

    async fn slack_command(&self, command: &str, text: &str) -> Answer {
        let trigger = format!("1764000000.1000000000001.{}", unique_id());
        let body = payloads::slack_command(command, text, &trigger);
        let headers = slack_signed_headers(FORM, &now(), &body);
        self.post(Route::SlackCommands, &headers, body).await
    }
}

fn now() -> String {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string()
}

/// Every real interaction has its own id, and Gavel answers a repeated id without acting.
fn discord_command(name: &str, options: Value) -> Vec<u8> {
    let id = (1_442_545_296_998_400_100u64 + unique_id()).to_string();
    payloads::discord_command(&id, name, options, DiscordInvoker::Member)
}

fn unique_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The content of an ephemeral Discord message answer.
fn discord_ephemeral_content(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["type"], 4, "{body}");
    assert_eq!(body["data"]["flags"], 64, "ephemeral: {body}");
    body["data"]["content"].as_str().unwrap().to_owned()
}

/// The fallback text and blocks of an ephemeral Slack answer, as one string.
fn slack_ephemeral_text(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["response_type"], "ephemeral", "{body}");
    format!("{}\n{}", body["text"], body["blocks"])
}

#[tokio::test]
async fn both_platforms_answer_ping_ephemerally_with_the_version() {
    let server = start().await;

    let content =
        discord_ephemeral_content(&server.discord(discord_command("ping", json!([]))).await);
    assert!(content.contains("Pong!"), "{content}");
    assert!(content.contains(gavel_shared::VERSION), "{content}");

    let text = slack_ephemeral_text(&server.slack_command("/ping", "").await);
    assert!(text.contains("Pong!"), "{text}");
    assert!(text.contains(gavel_shared::VERSION), "{text}");

    let answer = server.discord(payloads::discord_ping()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json(), json!({ "type": 1 }));
}

#[tokio::test]
async fn both_platforms_answer_help() {
    let server = start().await;

    let content =
        discord_ephemeral_content(&server.discord(discord_command("help", json!([]))).await);
    assert!(content.contains("Commands you can use"), "{content}");
    assert!(content.contains("/ping"), "{content}");

    let options = json!([{ "name": "command", "type": 3, "value": "ping" }]);
    let content =
        discord_ephemeral_content(&server.discord(discord_command("help", options)).await);
    assert!(content.contains("/ping"), "{content}");
    assert!(
        !content.contains("Commands you can use"),
        "one command explained: {content}"
    );

    let text = slack_ephemeral_text(&server.slack_command("/help", "").await);
    assert!(text.contains("Commands you can use"), "{text}");
    assert!(text.contains("/ping"), "{text}");
}

#[tokio::test]
async fn an_unknown_command_gets_a_helpful_ephemeral_reply() {
    let server = start().await;

    let content =
        discord_ephemeral_content(&server.discord(discord_command("pnig", json!([]))).await);
    assert!(
        content.contains("I don't know the command `/pnig`"),
        "{content}"
    );
    assert!(content.contains("Did you mean `/ping`?"), "{content}");
    assert!(content.contains("/help"), "{content}");

    let text = slack_ephemeral_text(&server.slack_command("/frobnicate", "all the things").await);
    assert!(
        text.contains("I don't know the command `/frobnicate`"),
        "{text}"
    );
    assert!(!text.contains("Did you mean"), "nothing is close: {text}");
}

#[tokio::test]
async fn a_slash_command_whose_text_does_not_fit_gets_its_usage() {
    let server = start().await;
    let text = slack_ephemeral_text(&server.slack_command("/ping", "now please").await);
    assert!(text.contains("Usage: `/ping`"), "{text}");
}

#[tokio::test]
async fn forged_requests_are_401() {
    let server = start().await;

    let body = discord_command("ping", json!([]));
    let ts = now();
    let mut other_seed = DISCORD_TEST_SEED;
    other_seed[31] ^= 0x80;
    let forged = vec![
        ("content-type", JSON.to_owned()),
        (
            "x-signature-ed25519",
            discord_signature_with(other_seed, &ts, &body),
        ),
        ("x-signature-timestamp", ts.clone()),
    ];
    let answer = server.post(Route::DiscordInteractions, &forged, body).await;
    assert_eq!(answer.status, 401, "{}", answer.body);

    let body = payloads::slack_command("/ping", "", "1.2.3");
    let forged = vec![
        ("content-type", FORM.to_owned()),
        (
            "x-slack-signature",
            gavel_tests::slack_signature_with("a-guessed-secret", &ts, &body),
        ),
        ("x-slack-request-timestamp", ts),
    ];
    let answer = server.post(Route::SlackCommands, &forged, body).await;
    assert_eq!(answer.status, 401, "{}", answer.body);

    // Unsigned: what anyone who finds the URL can send.
    let answer = server
        .post(
            Route::SlackEvents,
            &[],
            payloads::slack_url_verification("x"),
        )
        .await;
    assert_eq!(answer.status, 401);
}

#[tokio::test]
async fn stale_requests_are_401_even_when_correctly_signed() {
    let server = start().await;
    let an_hour_ago = (now().parse::<i64>().unwrap() - 3600).to_string();

    let body = discord_command("ping", json!([]));
    let headers = discord_signed_headers(&an_hour_ago, &body);
    let answer = server
        .post(Route::DiscordInteractions, &headers, body)
        .await;
    assert_eq!(answer.status, 401, "{}", answer.body);

    let body = payloads::slack_command("/ping", "", "1.2.3");
    let headers = slack_signed_headers(FORM, &an_hour_ago, &body);
    let answer = server.post(Route::SlackCommands, &headers, body).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let server = start().await;
    let body = vec![b'{'; MAX_BODY_BYTES + 1];
    let headers = discord_signed_headers(&now(), &body);
    let answer = server
        .post(Route::DiscordInteractions, &headers, body.clone())
        .await;
    assert_eq!(answer.status, 413, "{}", answer.body);

    let headers = slack_signed_headers(JSON, &now(), &body);
    let answer = server.post(Route::SlackEvents, &headers, body).await;
    assert_eq!(answer.status, 413, "{}", answer.body);

    // Far past the cap the transport stops reading and still answers 413.
    let body = vec![b'{'; 3 * MAX_BODY_BYTES];
    let answer = server.post(Route::SlackCommands, &[], body).await;
    assert_eq!(answer.status, 413, "{}", answer.body);
}

#[tokio::test]
async fn malformed_but_signed_bodies_are_400() {
    let server = start().await;

    let answer = server
        .discord(b"{\"type\": 2, \"id\": \"not a snowflake\"".to_vec())
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.json()["error"].is_string());

    let body = b"team_id=T1&text=no+command".to_vec();
    let headers = slack_signed_headers(FORM, &now(), &body);
    let answer = server.post(Route::SlackCommands, &headers, body).await;
    assert_eq!(answer.status, 400, "{}", answer.body);

    let body = b"{\"challenge\":\"no type\"}".to_vec();
    let headers = slack_signed_headers(JSON, &now(), &body);
    let answer = server.post(Route::SlackEvents, &headers, body).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
}

#[tokio::test]
async fn healthz_is_200_with_the_version_and_unknown_paths_404() {
    let server = start().await;
    let response = server
        .client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "status": "ok", "version": gavel_shared::VERSION })
    );

    let response = server
        .client
        .get(format!("{}/nothing-here", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);

    let response = server
        .client
        .get(format!(
            "{}{}",
            server.base,
            Route::DiscordInteractions.path()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
}

#[tokio::test]
async fn slack_url_verification_over_http_echoes_the_challenge() {
    let server = start().await;
    let body = payloads::slack_url_verification("over-http");
    let headers = slack_signed_headers(JSON, &now(), &body);
    let answer = server.post(Route::SlackEvents, &headers, body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json(), json!({ "challenge": "over-http" }));
}

/// `gavel doctor` against a running server: forged requests refused on every route, signed
/// Slack requests answered; with the wrong signing secret it says what failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_each_endpoint_as_the_platforms_do() {
    let server = start().await;
    gavel_cli::doctor::run(&server.base, None)
        .await
        .expect("the refusals pass");
    gavel_cli::doctor::run(&server.base, Some(gavel_tests::SLACK_TEST_SIGNING_SECRET))
        .await
        .expect("signed requests are answered");
    let wrong = gavel_cli::doctor::run(&server.base, Some("not the secret"))
        .await
        .unwrap_err()
        .to_string();
    assert!(wrong.contains("2 of 6 checks failed"), "{wrong}");
}
