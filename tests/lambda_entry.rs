//! The Lambda entry point, in-process: `events/` fixtures (and variations of them) deserialised as
//! the `ApiGatewayV2httpRequest` the runtime hands the functions, through
//! `adapters::lambda::handle_http_event`, on an edge whose clock is pinned to the fixtures' time.

use base64::Engine;
use gavel_shared::adapters::lambda::handle_http_event;
use gavel_shared::config::{EdgeSettings, Serves};
use gavel_shared::edge::{Edge, MAX_BODY_BYTES, Route};
use gavel_shared::invocation::{Action, Platform};
use gavel_shared::slack::SlackInteraction;
use gavel_shared::verify::{discord_headers, slack_headers};
use gavel_tests::events::{FORM, JSON, catalogue, http_api_event};
use gavel_tests::{
    DISCORD_TEST_SEED, FIXTURE_TIMESTAMP, discord_signature, discord_signature_with,
    discord_signed_headers, event_body, load_event, payloads, slack_signature,
    slack_signature_with, slack_signed_headers, test_edge,
};
use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::aws_lambda_events::encodings::Body;
use serde_json::{Value, json};

const NOW: i64 = FIXTURE_TIMESTAMP;

async fn invoke(edge: &Edge, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    handle_http_event(edge, event).await
}

fn to_event(value: Value) -> ApiGatewayV2httpRequest {
    serde_json::from_value(value).expect("a payload-format-2.0 event")
}

fn body_text(response: &ApiGatewayV2httpResponse) -> String {
    assert!(
        !response.is_base64_encoded,
        "Gavel's answers are JSON text, not base64"
    );
    match &response.body {
        None => String::new(),
        Some(Body::Text(text)) => text.clone(),
        Some(other) => panic!("unexpected body {other:?}"),
    }
}

fn body_json(response: &ApiGatewayV2httpResponse) -> Value {
    let text = body_text(response);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("body {text:?} is not JSON: {e}"))
}

fn content_type(response: &ApiGatewayV2httpResponse) -> Option<&str> {
    response
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
}

/// Runs a fixture through the edge that serves both platforms.
async fn run_fixture(name: &str) -> ApiGatewayV2httpResponse {
    invoke(&test_edge(Serves::Both), load_event(name)).await
}

fn assert_ephemeral_discord_message(response: &ApiGatewayV2httpResponse) -> String {
    assert_eq!(response.status_code, 200, "{}", body_text(response));
    assert_eq!(content_type(response), Some("application/json"));
    let body = body_json(response);
    assert_eq!(body["type"], 4, "a channel message with source: {body}");
    assert_eq!(body["data"]["flags"], 64, "ephemeral: {body}");
    assert_eq!(body["data"]["allowed_mentions"], json!({ "parse": [] }));
    body["data"]["content"]
        .as_str()
        .expect("message content")
        .to_owned()
}

fn assert_ephemeral_slack_message(response: &ApiGatewayV2httpResponse) -> String {
    assert_eq!(response.status_code, 200, "{}", body_text(response));
    assert_eq!(content_type(response), Some("application/json"));
    let body = body_json(response);
    assert_eq!(body["response_type"], "ephemeral", "{body}");
    assert!(body["blocks"].as_array().is_some_and(|b| !b.is_empty()));
    body.to_string()
}

// ---- The fixtures, as they are ---------------------------------------------------------------

#[tokio::test]
async fn discord_ping_answers_pong() {
    let response = run_fixture("discord-ping.json").await;
    assert_eq!(response.status_code, 200);
    assert_eq!(content_type(&response), Some("application/json"));
    assert_eq!(body_json(&response), json!({ "type": 1 }));
}

#[tokio::test]
async fn discord_ping_with_a_base64_body_answers_pong() {
    let event = load_event("discord-ping-base64.json");
    assert!(event.is_base64_encoded, "the fixture exercises base64");
    let response = invoke(&test_edge(Serves::Discord), event).await;
    assert_eq!(response.status_code, 200);
    assert_eq!(body_json(&response), json!({ "type": 1 }));
}

#[tokio::test]
async fn discord_slash_ping_answers_an_ephemeral_pong_with_the_version() {
    let content = assert_ephemeral_discord_message(&run_fixture("discord-command-ping.json").await);
    assert!(content.starts_with("Pong!"), "{content}");
    assert!(content.contains(gavel_shared::VERSION), "{content}");
}

#[tokio::test]
async fn discord_slash_help_lists_the_member_commands() {
    let content = assert_ephemeral_discord_message(&run_fixture("discord-command-help.json").await);
    assert!(content.contains("Commands you can use"), "{content}");
    assert!(
        content.contains("/help") && content.contains("/ping"),
        "{content}"
    );
}

#[tokio::test]
async fn slack_slash_ping_answers_an_ephemeral_pong() {
    let body = assert_ephemeral_slack_message(&run_fixture("slack-command-ping.json").await);
    assert!(body.contains("Pong!"), "{body}");
    assert!(body.contains(gavel_shared::VERSION), "{body}");
}

#[tokio::test]
async fn slack_slash_help_lists_the_commands() {
    let body = assert_ephemeral_slack_message(&run_fixture("slack-command-help.json").await);
    assert!(body.contains("Commands you can use"), "{body}");
    assert!(body.contains("/help") && body.contains("/ping"), "{body}");
}

#[tokio::test]
async fn slack_url_verification_echoes_the_challenge() {
    let event = load_event("slack-url-verification.json");
    let sent: Value = serde_json::from_slice(&event_body(&event)).unwrap();
    let response = invoke(&test_edge(Serves::Slack), event).await;
    assert_eq!(response.status_code, 200);
    assert_eq!(
        body_json(&response),
        json!({ "challenge": sent["challenge"] })
    );
    assert!(sent["challenge"].as_str().is_some_and(|c| !c.is_empty()));
}

#[tokio::test]
async fn slack_event_callback_is_acknowledged_with_an_empty_200() {
    let response = run_fixture("slack-event-callback.json").await;
    assert_eq!(response.status_code, 200);
    assert_eq!(response.body, None);
    assert_eq!(content_type(&response), None);
}

#[tokio::test]
async fn slack_block_actions_is_acknowledged_with_an_empty_200() {
    let event = load_event("slack-interaction-block-actions.json");
    // The fixture is a real button click, not a payload kind the parser drops.
    let SlackInteraction::Invocation(invocation) =
        gavel_shared::slack::parse_interaction(&event_body(&event)).expect("the fixture parses")
    else {
        panic!("block_actions becomes an invocation");
    };
    assert_eq!(
        invocation.action,
        Action::Component {
            custom_id: "gavel:confirm".into()
        }
    );
    assert_eq!(invocation.tenant, payloads::SLACK_TEAM);
    let response = invoke(&test_edge(Serves::Slack), event).await;
    assert_eq!(response.status_code, 200);
    assert_eq!(response.body, None);
}

#[tokio::test]
async fn each_single_platform_edge_serves_only_its_own_fixtures() {
    let discord_only = test_edge(Serves::Discord);
    let slack_only = test_edge(Serves::Slack);
    let telegram_only = test_edge(Serves::Telegram);
    for fixture in catalogue() {
        let (own, other) = match fixture.platform {
            Platform::Discord => (&discord_only, &slack_only),
            Platform::Slack => (&slack_only, &discord_only),
            Platform::Telegram => (&telegram_only, &slack_only),
        };
        let answered = invoke(own, load_event(fixture.file)).await;
        assert_eq!(
            answered.status_code, 200,
            "{} on its own edge",
            fixture.file
        );
        let refused = invoke(other, load_event(fixture.file)).await;
        assert_eq!(
            refused.status_code, 404,
            "{} on the other platform's edge",
            fixture.file
        );
    }
}

// ---- Transport: base64, size, routes, methods -------------------------------------------------

#[tokio::test]
async fn invalid_base64_is_a_400_not_a_panic() {
    let mut event = load_event("discord-ping-base64.json");
    event.body = Some("this is *not* base64!".into());
    let response = invoke(&test_edge(Serves::Both), event).await;
    assert_eq!(response.status_code, 400);
    assert!(body_text(&response).contains("base64"));
}

/// A signed body of `len` bytes that is not an interaction.
fn oversized_discord_event(len: usize, base64: bool) -> ApiGatewayV2httpRequest {
    let body = vec![b'x'; len];
    let headers = discord_signed_headers(&NOW.to_string(), &body);
    to_event(http_api_event(
        "POST",
        Route::DiscordInteractions.path(),
        &headers,
        &body,
        base64,
    ))
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_refused_with_413() {
    let edge = test_edge(Serves::Both);
    for base64 in [false, true] {
        let response = invoke(&edge, oversized_discord_event(MAX_BODY_BYTES + 1, base64)).await;
        assert_eq!(response.status_code, 413, "base64: {base64}");
        // At the cap the body is let through; this one is signed, so it reaches the parser.
        let response = invoke(&edge, oversized_discord_event(MAX_BODY_BYTES, base64)).await;
        assert_eq!(response.status_code, 400, "base64: {base64}");
    }
}

#[tokio::test]
async fn a_much_larger_base64_body_is_refused_before_decoding() {
    let mut event = oversized_discord_event(16, true);
    // Not valid base64 either: the size check must answer first.
    event.body = Some("!".repeat(4 * MAX_BODY_BYTES));
    let response = invoke(&test_edge(Serves::Both), event).await;
    assert_eq!(response.status_code, 413);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let edge = test_edge(Serves::Both);
    let ping = payloads::discord_ping();
    let headers = discord_signed_headers(&NOW.to_string(), &ping);
    for path in [
        "/",
        "/discord",
        "/discord/interactions/extra",
        "/slack/command",
    ] {
        let event = to_event(http_api_event("POST", path, &headers, &ping, false));
        assert_eq!(invoke(&edge, event).await.status_code, 404, "{path}");
    }
    for (method, path) in [
        ("GET", "/discord/interactions"),
        ("PUT", "/discord/interactions"),
        ("GET", "/slack/commands"),
        ("GET", "/slack/events"),
        ("DELETE", "/slack/interactions"),
        ("POST", "/healthz"),
    ] {
        let event = to_event(http_api_event(method, path, &headers, &ping, false));
        assert_eq!(
            invoke(&edge, event).await.status_code,
            405,
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn health_answers_ok_with_the_version() {
    let event = to_event(http_api_event("GET", "/healthz", &[], b"", false));
    let response = invoke(&test_edge(Serves::Discord), event).await;
    assert_eq!(response.status_code, 200);
    assert_eq!(
        body_json(&response),
        json!({ "status": "ok", "version": gavel_shared::VERSION })
    );
}

#[tokio::test]
async fn a_trailing_slash_on_the_route_is_tolerated() {
    let ping = payloads::discord_ping();
    let headers = discord_signed_headers(&NOW.to_string(), &ping);
    let event = to_event(http_api_event(
        "POST",
        "/discord/interactions/",
        &headers,
        &ping,
        false,
    ));
    let response = invoke(&test_edge(Serves::Discord), event).await;
    assert_eq!(response.status_code, 200);
    assert_eq!(body_json(&response), json!({ "type": 1 }));
}

// ---- Signatures and timestamps: every rejection is the same 401 --------------------------------

/// A Discord event for `body` with the given header values (`None` leaves a header out).
fn discord_event(signature: Option<String>, timestamp: Option<String>, body: &[u8]) -> Value {
    let mut headers = vec![("content-type", JSON.to_owned())];
    if let Some(signature) = signature {
        headers.push((discord_headers::SIGNATURE, signature));
    }
    if let Some(timestamp) = timestamp {
        headers.push((discord_headers::TIMESTAMP, timestamp));
    }
    http_api_event(
        "POST",
        Route::DiscordInteractions.path(),
        &headers,
        body,
        false,
    )
}

/// A Slack slash-command event for `body` with the given header values.
fn slack_event(signature: Option<String>, timestamp: Option<String>, body: &[u8]) -> Value {
    let mut headers = vec![("content-type", FORM.to_owned())];
    if let Some(signature) = signature {
        headers.push((slack_headers::SIGNATURE, signature));
    }
    if let Some(timestamp) = timestamp {
        headers.push((slack_headers::TIMESTAMP, timestamp));
    }
    http_api_event("POST", Route::SlackCommands.path(), &headers, body, false)
}

/// A named case: the signature header, the timestamp header (`None` leaves it out) and the body.
type RejectionCase<'a> = (&'a str, Option<String>, Option<String>, &'a [u8]);

async fn assert_unauthorized(edge: &Edge, case: &str, event: Value) {
    let response = invoke(edge, to_event(event)).await;
    assert_eq!(
        response.status_code,
        401,
        "{case}: {}",
        body_text(&response)
    );
    // Every reason gets the same answer, so a prober learns nothing from it.
    assert_eq!(
        body_json(&response),
        json!({ "error": "invalid request signature" }),
        "{case}"
    );
}

#[tokio::test]
async fn every_discord_signature_or_timestamp_problem_is_401() {
    let edge = test_edge(Serves::Discord);
    let body = payloads::discord_command(
        "1442545296998400009",
        "ping",
        json!([]),
        payloads::DiscordInvoker::Member,
    );
    let now = NOW.to_string();
    let good = discord_signature(&now, &body);
    let signed_at = |ts: i64| {
        let ts = ts.to_string();
        (Some(discord_signature(&ts, &body)), Some(ts))
    };
    let mut other_seed = DISCORD_TEST_SEED;
    other_seed[0] ^= 1;
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");

    let cases: Vec<RejectionCase> = vec![
        ("missing signature", None, Some(now.clone()), &body),
        ("missing timestamp", Some(good.clone()), None, &body),
        (
            "malformed hex",
            Some("zz".repeat(64)),
            Some(now.clone()),
            &body,
        ),
        (
            "short signature",
            Some(good[..126].to_owned()),
            Some(now.clone()),
            &body,
        ),
        (
            "long signature",
            Some(format!("{good}00")),
            Some(now.clone()),
            &body,
        ),
        (
            "empty signature",
            Some(String::new()),
            Some(now.clone()),
            &body,
        ),
        (
            "garbage timestamp",
            Some(good.clone()),
            Some("yesterday".into()),
            &body,
        ),
        (
            "signed decimal timestamp",
            Some(good.clone()),
            Some(format!("+{now}")),
            &body,
        ),
        (
            "fractional timestamp",
            Some(good.clone()),
            Some(format!("{now}.0")),
            &body,
        ),
        (
            "wrong key",
            Some(discord_signature_with(other_seed, &now, &body)),
            Some(now.clone()),
            &body,
        ),
        (
            "tampered body",
            Some(good.clone()),
            Some(now.clone()),
            &tampered,
        ),
        (
            "signature for another timestamp",
            Some(good.clone()),
            Some((NOW - 1).to_string()),
            &body,
        ),
    ];
    for (case, signature, timestamp, body) in cases {
        assert_unauthorized(&edge, case, discord_event(signature, timestamp, body)).await;
    }
    let (signature, timestamp) = signed_at(NOW - 301);
    assert_unauthorized(&edge, "too old", discord_event(signature, timestamp, &body)).await;
    let (signature, timestamp) = signed_at(NOW + 301);
    assert_unauthorized(&edge, "too new", discord_event(signature, timestamp, &body)).await;

    // The window's edges themselves are accepted.
    for ts in [NOW - 300, NOW + 300] {
        let (signature, timestamp) = signed_at(ts);
        let response = invoke(&edge, to_event(discord_event(signature, timestamp, &body))).await;
        assert_eq!(response.status_code, 200, "signed at now{:+}", ts - NOW);
    }
}

#[tokio::test]
async fn every_slack_signature_or_timestamp_problem_is_401() {
    let edge = test_edge(Serves::Slack);
    let body = payloads::slack_command("/ping", "", "1764000000.1.abc");
    let now = NOW.to_string();
    let good = slack_signature(&now, &body);
    let signed_at = |ts: i64| {
        let ts = ts.to_string();
        (Some(slack_signature(&ts, &body)), Some(ts))
    };
    let mut tampered = body.clone();
    tampered.extend_from_slice(b"&extra=1");

    let cases: Vec<RejectionCase> = vec![
        ("missing signature", None, Some(now.clone()), &body),
        ("missing timestamp", Some(good.clone()), None, &body),
        (
            "missing v0= prefix",
            Some(good[3..].to_owned()),
            Some(now.clone()),
            &body,
        ),
        (
            "another version prefix",
            Some(format!("v1={}", &good[3..])),
            Some(now.clone()),
            &body,
        ),
        (
            "malformed hex",
            Some(format!("v0={}", "zz".repeat(32))),
            Some(now.clone()),
            &body,
        ),
        (
            "short digest",
            Some(good[..good.len() - 2].to_owned()),
            Some(now.clone()),
            &body,
        ),
        (
            "long digest",
            Some(format!("{good}00")),
            Some(now.clone()),
            &body,
        ),
        (
            "garbage timestamp",
            Some(good.clone()),
            Some("now".into()),
            &body,
        ),
        (
            "negative timestamp",
            Some(good.clone()),
            Some(format!("-{now}")),
            &body,
        ),
        (
            "wrong secret",
            Some(slack_signature_with("not-the-secret", &now, &body)),
            Some(now.clone()),
            &body,
        ),
        (
            "tampered body",
            Some(good.clone()),
            Some(now.clone()),
            &tampered,
        ),
        (
            "signature for another timestamp",
            Some(good.clone()),
            Some((NOW + 1).to_string()),
            &body,
        ),
    ];
    for (case, signature, timestamp, body) in cases {
        assert_unauthorized(&edge, case, slack_event(signature, timestamp, body)).await;
    }
    let (signature, timestamp) = signed_at(NOW - 301);
    assert_unauthorized(&edge, "too old", slack_event(signature, timestamp, &body)).await;
    let (signature, timestamp) = signed_at(NOW + 301);
    assert_unauthorized(&edge, "too new", slack_event(signature, timestamp, &body)).await;

    for ts in [NOW - 300, NOW + 300] {
        let (signature, timestamp) = signed_at(ts);
        let response = invoke(&edge, to_event(slack_event(signature, timestamp, &body))).await;
        assert_eq!(response.status_code, 200, "signed at now{:+}", ts - NOW);
    }
}

#[tokio::test]
async fn a_non_ascii_timestamp_header_is_401() {
    // API Gateway passes header values through as JSON strings, so any UTF-8 can arrive.
    let body = payloads::discord_ping();
    let event = discord_event(
        Some(discord_signature("１７６４０００００００", &body)),
        Some("１７６４０００００００".into()),
        &body,
    );
    assert_unauthorized(&test_edge(Serves::Discord), "full-width digits", event).await;
}

#[tokio::test]
async fn a_configured_replay_window_is_honoured() {
    let settings = EdgeSettings {
        replay_window_secs: Some(30),
        ..gavel_tests::test_settings()
    };
    let edge = gavel_tests::edge_with(&settings, Serves::Slack);
    let body = payloads::slack_command("/ping", "", "1764000000.1.abc");
    for (offset, status) in [(-31, 401), (-30, 200), (30, 200), (31, 401)] {
        let ts = (NOW + offset).to_string();
        let headers = slack_signed_headers(FORM, &ts, &body);
        let event = to_event(http_api_event(
            "POST",
            Route::SlackCommands.path(),
            &headers,
            &body,
            false,
        ));
        assert_eq!(
            invoke(&edge, event).await.status_code,
            status,
            "signed at now{offset:+}"
        );
    }
}

#[tokio::test]
async fn a_signed_body_that_does_not_parse_is_400() {
    let edge = test_edge(Serves::Both);
    let now = NOW.to_string();
    let cases: [(Route, &str, &[u8]); 4] = [
        (Route::DiscordInteractions, JSON, b"{\"type\":2}"),
        (Route::SlackCommands, FORM, b"text=no+command+here"),
        (Route::SlackInteractions, FORM, b"payload=not-json"),
        (Route::SlackEvents, JSON, b"[1,2,3]"),
    ];
    for (route, content_type, body) in cases {
        let headers = match route {
            Route::DiscordInteractions => discord_signed_headers(&now, body),
            _ => slack_signed_headers(content_type, &now, body),
        };
        let event = to_event(http_api_event("POST", route.path(), &headers, body, false));
        let response = invoke(&edge, event).await;
        assert_eq!(response.status_code, 400, "{route:?}");
        assert!(body_json(&response)["error"].is_string());
    }
}

#[tokio::test]
async fn base64_bodies_are_verified_after_decoding() {
    // The signature covers the decoded bytes; a signature over the base64 text must fail.
    let body = payloads::discord_ping();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&body);
    let now = NOW.to_string();
    let event = discord_event(
        Some(discord_signature(&now, encoded.as_bytes())),
        Some(now.clone()),
        &body,
    );
    let mut event = event;
    event["isBase64Encoded"] = json!(true);
    event["body"] = json!(encoded);
    assert_unauthorized(
        &test_edge(Serves::Discord),
        "signed over base64 text",
        event,
    )
    .await;
}

#[tokio::test]
async fn a_named_http_api_stage_in_the_raw_path_is_not_part_of_the_route() {
    // HTTP APIs deliver `/{stage}/...` in rawPath for any stage but `$default`.
    let edge = test_edge(Serves::Both);
    let mut event = serde_json::to_value(load_event("discord-ping.json")).unwrap();
    event["rawPath"] = json!("/prod/discord/interactions");
    event["requestContext"]["http"]["path"] = json!("/prod/discord/interactions");
    event["requestContext"]["stage"] = json!("prod");
    let response = invoke(&edge, to_event(event.clone())).await;
    assert_eq!(response.status_code, 200, "{}", body_text(&response));
    assert_eq!(body_json(&response), json!({ "type": 1 }));

    // Only the stage itself is stripped: another prefix is still an unknown route.
    event["rawPath"] = json!("/dev/discord/interactions");
    assert_eq!(
        invoke(&edge, to_event(event.clone())).await.status_code,
        404
    );
    // On the `$default` stage nothing is stripped.
    event["rawPath"] = json!("/prod/discord/interactions");
    event["requestContext"]["stage"] = json!("$default");
    assert_eq!(invoke(&edge, to_event(event)).await.status_code, 404);
}
