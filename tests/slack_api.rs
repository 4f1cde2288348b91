//! The worker's Slack Web API client against fake Slacks (wiremock): pacing per channel and per
//! method tier as the fake sees it, 429 and Retry-After, 5xx retries within the deadline,
//! Slack's error codes in moderators' words, and what goes out on the wire.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gavel_shared::adapters::slack_api::{MAX_ATTEMPTS, SlackApiClient, SlackApiLimits, Tier};
use gavel_shared::platform::{ApiError, SlackApi};
use gavel_shared::reply::{Button, ButtonStyle, Reply};
// Not imported as a trait: its `respond` would make `SlackApi::respond` calls ambiguous.
use gavel_shared::slack::web::{self, SlackWebError};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, body_string, header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "xoxb-test-token";

fn client(server: &MockServer) -> SlackApiClient {
    SlackApiClient::new(
        server.uri(),
        Some(TOKEN.to_owned()),
        Some(format!("{}/hooks/", server.uri())),
    )
    .unwrap()
}

fn in_secs(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

fn posted(ts: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "ok": true, "channel": "C1", "ts": ts }))
}

fn slack_error(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn too_many(retry_after_secs: u64) -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("Retry-After", retry_after_secs.to_string().as_str())
        .set_body_json(json!({ "ok": false, "error": "ratelimited" }))
}

/// One `chat.postMessage` as the fake saw it.
#[derive(Clone, Debug)]
struct Arrival {
    channel: String,
    at: Instant,
    status: u16,
}

/// Slack's per-channel limit, enforced: a post to a channel less than `min_gap` after the last
/// one it accepted there gets a 429. Every arrival is recorded with its time.
#[derive(Clone)]
struct ChannelLimitedSlack {
    min_gap: Duration,
    log: Arc<Mutex<Vec<Arrival>>>,
}

impl ChannelLimitedSlack {
    fn new(min_gap: Duration) -> Self {
        Self {
            min_gap,
            log: Arc::default(),
        }
    }

    fn arrivals(&self) -> Vec<Arrival> {
        self.log.lock().unwrap().clone()
    }
}

impl Respond for ChannelLimitedSlack {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let at = Instant::now();
        let body: Value = request.body_json().unwrap_or_default();
        let channel = body["channel"].as_str().unwrap_or_default().to_owned();
        let mut log = self.log.lock().unwrap();
        let last_accepted = log
            .iter()
            .rev()
            .find(|a| a.channel == channel && a.status == 200)
            .map(|a| a.at);
        let too_soon = last_accepted.is_some_and(|last| at.duration_since(last) < self.min_gap);
        let status = if too_soon { 429 } else { 200 };
        let ts = format!("1700000000.{:06}", log.len());
        log.push(Arrival {
            channel,
            at,
            status,
        });
        if too_soon { too_many(1) } else { posted(&ts) }
    }
}

/// Answers from a script, one per request, the last one repeated; records arrival times.
#[derive(Clone)]
struct Scripted {
    answers: Vec<ResponseTemplate>,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Scripted {
    fn new(answers: Vec<ResponseTemplate>) -> Self {
        Self {
            answers,
            arrivals: Arc::default(),
        }
    }

    fn arrivals(&self) -> Vec<Instant> {
        self.arrivals.lock().unwrap().clone()
    }
}

impl Respond for Scripted {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let mut arrivals = self.arrivals.lock().unwrap();
        let answer = self.answers[arrivals.len().min(self.answers.len() - 1)].clone();
        arrivals.push(Instant::now());
        answer
    }
}

async fn fake(responder: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(responder)
        .mount(&server)
        .await;
    server
}

async fn request_count(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

// (a) One message per second per channel, as the fake sees it; channels apart.
#[tokio::test]
async fn posts_to_one_channel_arrive_a_second_apart_and_other_channels_do_not_wait() {
    let slack = ChannelLimitedSlack::new(Duration::from_secs(1));
    let server = fake(slack.clone()).await;
    let client = client(&server);

    let (first, second, other) = tokio::join!(
        client.post_message("C1", "first", in_secs(5)),
        client.post_message("C1", "second", in_secs(5)),
        client.post_message("C2", "other", in_secs(5)),
    );
    for result in [&first, &second, &other] {
        assert!(result.is_ok(), "{result:?}");
    }

    let arrivals = slack.arrivals();
    assert!(arrivals.iter().all(|a| a.status == 200), "{arrivals:?}");
    let c1: Vec<Instant> = arrivals
        .iter()
        .filter(|a| a.channel == "C1")
        .map(|a| a.at)
        .collect();
    let c2: Vec<Instant> = arrivals
        .iter()
        .filter(|a| a.channel == "C2")
        .map(|a| a.at)
        .collect();
    assert_eq!((c1.len(), c2.len()), (2, 1));
    assert!(
        c1[1].duration_since(c1[0]) >= Duration::from_secs(1),
        "the second post to C1 came {:?} after the first",
        c1[1].duration_since(c1[0])
    );
    assert!(
        c2[0].saturating_duration_since(c1[0]) < Duration::from_millis(500),
        "C2 waited {:?} for C1",
        c2[0].saturating_duration_since(c1[0])
    );
}

// (b) A 429 is waited out (Retry-After: 1) and retried once.
#[tokio::test]
async fn a_429_is_waited_out_and_retried_once() {
    let slack = Scripted::new(vec![too_many(1), posted("1700000000.000100")]);
    let server = fake(slack.clone()).await;

    let ts = client(&server)
        .post_message("C1", "hello", in_secs(5))
        .await
        .unwrap();

    assert_eq!(ts, "1700000000.000100");
    let arrivals = slack.arrivals();
    assert_eq!(arrivals.len(), 2, "exactly one 429, then the success");
    assert!(
        arrivals[1].duration_since(arrivals[0]) >= Duration::from_secs(1),
        "retried after {:?}, before Retry-After",
        arrivals[1].duration_since(arrivals[0])
    );
}

// (b) Ten posts at once to one channel: the client paces them, the fake never refuses one.
#[tokio::test]
async fn ten_concurrent_posts_to_one_channel_draw_no_429() {
    let gap = Duration::from_millis(200);
    let slack = ChannelLimitedSlack::new(gap);
    let server = fake(slack.clone()).await;
    let client = Arc::new(client(&server).with_limits(SlackApiLimits {
        channel_interval: gap,
        ..SlackApiLimits::default()
    }));

    let mut posts = tokio::task::JoinSet::new();
    for n in 0..10 {
        let client = Arc::clone(&client);
        posts.spawn(async move {
            client
                .post_message("C1", &format!("notice {n}"), in_secs(10))
                .await
        });
    }
    while let Some(result) = posts.join_next().await {
        assert!(result.unwrap().is_ok());
    }

    let arrivals = slack.arrivals();
    assert_eq!(arrivals.len(), 10, "{arrivals:?}");
    assert_eq!(
        arrivals.iter().filter(|a| a.status == 429).count(),
        0,
        "{arrivals:?}"
    );
}

// (b) A Retry-After past the deadline is reported at once, and holds back later posts too.
#[tokio::test]
async fn a_retry_after_past_the_deadline_is_reported_not_waited() {
    let slack = Scripted::new(vec![too_many(30)]);
    let server = fake(slack.clone()).await;
    let client = client(&server);
    let started = Instant::now();

    let first = client.post_message("C1", "hello", in_secs(3)).await;
    let second = client.post_message("C1", "again", in_secs(3)).await;

    for result in [first, second] {
        match result {
            Err(ApiError::RateLimited { retry_after_ms }) => {
                assert!(retry_after_ms > 25_000, "{retry_after_ms}")
            }
            other => panic!("expected RateLimited, got {other:?}"),
        }
    }
    assert!(started.elapsed() < Duration::from_secs(1), "it waited");
    assert_eq!(
        slack.arrivals().len(),
        1,
        "the second post knew of the block without asking Slack"
    );
}

// (c) Slack's error codes, in words that say how to fix them.
#[tokio::test]
async fn channel_and_scope_errors_tell_the_moderator_what_to_do() {
    let server = MockServer::start().await;
    for (channel, answer) in [
        ("C_OUT", json!({ "ok": false, "error": "not_in_channel" })),
        (
            "C_GONE",
            json!({ "ok": false, "error": "channel_not_found" }),
        ),
        (
            "C_SCOPE",
            json!({ "ok": false, "error": "missing_scope", "needed": "chat:write", "provided": "commands" }),
        ),
    ] {
        Mock::given(method("POST"))
            .and(path("/chat.postMessage"))
            .and(body_partial_json(json!({ "channel": channel })))
            .respond_with(slack_error(answer))
            .mount(&server)
            .await;
    }
    let client = client(&server);

    match client.post_message("C_OUT", "x", in_secs(5)).await {
        Err(ApiError::Forbidden { message }) => {
            assert!(message.contains("/invite @Gavel"), "{message}")
        }
        other => panic!("expected Forbidden, got {other:?}"),
    }
    match client.post_message("C_GONE", "x", in_secs(5)).await {
        Err(ApiError::NotFound(message)) => {
            assert!(message.contains("/invite @Gavel"), "{message}")
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    match client.post_message("C_SCOPE", "x", in_secs(5)).await {
        Err(ApiError::Forbidden { message }) => {
            assert!(message.contains("chat:write"), "{message}")
        }
        other => panic!("expected Forbidden, got {other:?}"),
    }
    assert_eq!(request_count(&server).await, 3, "none of these is retried");
}

// (c) A refused token: said once, then nothing more goes out.
#[tokio::test]
async fn a_refused_token_stops_further_calls() {
    let slack = Scripted::new(vec![slack_error(
        json!({ "ok": false, "error": "token_revoked" }),
    )]);
    let server = fake(slack.clone()).await;
    let client = client(&server);

    match client.post_message("C1", "x", in_secs(5)).await {
        Err(ApiError::Rejected { message, .. }) => {
            assert!(message.contains("SLACK_BOT_TOKEN"), "{message}")
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(matches!(
        client.post_message("C2", "x", in_secs(5)).await,
        Err(ApiError::NotSent(_))
    ));
    assert_eq!(slack.arrivals().len(), 1);
}

// (d) A 500, then a success.
#[tokio::test]
async fn a_500_then_200_succeeds() {
    let slack = Scripted::new(vec![
        ResponseTemplate::new(500),
        posted("1700000000.000200"),
    ]);
    let server = fake(slack.clone()).await;

    let ts = client(&server)
        .post_message("C1", "hello", in_secs(5))
        .await
        .unwrap();

    assert_eq!(ts, "1700000000.000200");
    assert_eq!(slack.arrivals().len(), 2);
}

// (d) Persistent 500s: a bounded number of attempts, Unavailable before the deadline.
#[tokio::test]
async fn persistent_500s_are_unavailable_before_the_deadline() {
    let slack = Scripted::new(vec![ResponseTemplate::new(500)]);
    let server = fake(slack.clone()).await;
    let deadline = in_secs(5);

    let result = client(&server).post_message("C1", "hello", deadline).await;

    assert!(
        matches!(&result, Err(ApiError::Unavailable(_))),
        "{result:?}"
    );
    assert!(result.unwrap_err().is_transient());
    assert!(Instant::now() < deadline);
    assert_eq!(slack.arrivals().len(), MAX_ATTEMPTS as usize);
}

// (d) A 500 that keeps coming with a deadline too close for the backoff: no sleep past it.
#[tokio::test]
async fn retries_never_sleep_past_the_deadline() {
    let slack = Scripted::new(vec![ResponseTemplate::new(500)]);
    let server = fake(slack.clone()).await;
    let deadline = Instant::now() + Duration::from_millis(250);

    let result = client(&server).post_message("C1", "hello", deadline).await;

    assert!(
        matches!(result, Err(ApiError::Unavailable(_))),
        "{result:?}"
    );
    assert!(Instant::now() <= deadline);
    assert_eq!(slack.arrivals().len(), 1);
}

// (d) A 500 whose retry the channel's pace cannot fit before the deadline: the 500 is the
// answer, not the pace.
#[tokio::test]
async fn a_retry_the_channel_pace_cannot_fit_reports_the_failure() {
    let slack = Scripted::new(vec![ResponseTemplate::new(500)]);
    let server = fake(slack.clone()).await;
    let deadline = Instant::now() + Duration::from_millis(700);

    let result = client(&server).post_message("C1", "hello", deadline).await;

    assert!(
        matches!(&result, Err(ApiError::Unavailable(m)) if m.contains("500")),
        "{result:?}"
    );
    assert!(Instant::now() <= deadline);
    assert_eq!(slack.arrivals().len(), 1);
}

// (d) Nobody listening: network failures are retried, then Unavailable.
#[tokio::test]
async fn an_unreachable_slack_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = SlackApiClient::new(base, Some(TOKEN.to_owned()), None).unwrap();

    let result = client.post_message("C1", "hello", in_secs(5)).await;

    match result {
        Err(ApiError::Unavailable(message)) => {
            assert!(message.contains("could not be reached"), "{message}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

// (e) A response_url outside Slack's hooks and the configured prefix: refused, nothing sent.
#[tokio::test]
async fn a_response_url_outside_the_allowed_prefixes_is_refused_without_a_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let client = client(&server);

    for url in [
        "https://evil.example/hooks/T1/B1/x".to_owned(),
        format!("{}/elsewhere/T1/B1/x", server.uri()),
        "https://hooks.slack.com.evil.example/T1/B1/x".to_owned(),
    ] {
        let result = client.respond(&url, "done", true, in_secs(5)).await;
        assert!(
            matches!(&result, Err(ApiError::NotSent(m)) if m.contains("response_url")),
            "{url}: {result:?}"
        );
    }
    assert_eq!(request_count(&server).await, 0);
}

// (e) respond posts the text and replace_original; no token needed.
#[tokio::test]
async fn respond_posts_replace_original() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/T1/B1/abc"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let client =
        SlackApiClient::new(server.uri(), None, Some(format!("{}/hooks/", server.uri()))).unwrap();
    let url = format!("{}/hooks/T1/B1/abc", server.uri());

    client
        .respond(&url, "Warned.", true, in_secs(5))
        .await
        .unwrap();
    client
        .respond(&url, "Also logged.", false, in_secs(5))
        .await
        .unwrap();

    let bodies: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.body_json().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            json!({ "text": "Warned.", "replace_original": true }),
            json!({ "text": "Also logged.", "replace_original": false }),
        ]
    );
}

// (e) Slack's answer once a response_url is spent or expired.
#[tokio::test]
async fn an_expired_response_url_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_string("expired_url"))
        .mount(&server)
        .await;
    let client = client(&server);

    let result = client
        .respond(
            &format!("{}/hooks/T1/B1/abc", server.uri()),
            "late",
            false,
            in_secs(5),
        )
        .await;

    assert!(
        matches!(&result, Err(ApiError::NotFound(m)) if m.contains("30 minutes")),
        "{result:?}"
    );
}

// (f) The wire: the bot token as a Bearer header, mentions left unparsed, broadcasts escaped.
#[tokio::test]
async fn the_token_goes_as_bearer_and_nothing_notifies_the_channel() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_partial_json(json!({
            "channel": "C1",
            "parse": "none",
            "link_names": false,
        })))
        .respond_with(posted("1700000000.000300"))
        .mount(&server)
        .await;

    let ts = client(&server)
        .post_message("C1", "<!here> @channel: <@U1> was warned", in_secs(5))
        .await
        .unwrap();

    assert_eq!(ts, "1700000000.000300");
    let requests = server.received_requests().await.unwrap();
    let body: Value = requests[0].body_json().unwrap();
    assert_eq!(body["text"], "&lt;!here> @channel: <@U1> was warned");
}

// Without a bot token, Web API calls are not attempted.
#[tokio::test]
async fn without_a_token_nothing_is_sent() {
    let server = MockServer::start().await;
    let client = SlackApiClient::new(server.uri(), None, None).unwrap();

    let result = client.post_message("C1", "hello", in_secs(5)).await;

    assert!(
        matches!(&result, Err(ApiError::NotSent(m)) if m.contains("SLACK_BOT_TOKEN")),
        "{result:?}"
    );
    assert_eq!(request_count(&server).await, 0);
    assert!(!format!("{client:?}").contains("xoxb"));
}

// Method tiers: a Tier 1 method gets about one call a minute; other methods are not held up.
#[tokio::test]
async fn a_tier_1_method_is_paced_to_one_call_a_minute() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "ok": true })))
        .mount(&server)
        .await;
    let client = client(&server);

    let first = client
        .call("admin.rare", Tier::One, &json!({}), in_secs(2))
        .await;
    let second = client
        .call("admin.rare", Tier::One, &json!({}), in_secs(2))
        .await;
    let other = client
        .call("admin.other", Tier::One, &json!({}), in_secs(2))
        .await;

    assert_eq!(first, Ok(json!({ "ok": true })));
    match second {
        Err(ApiError::RateLimited { retry_after_ms }) => {
            assert!(retry_after_ms > 55_000, "{retry_after_ms}")
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(other.is_ok(), "{other:?}");
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(paths, ["/admin.rare", "/admin.other"]);
    assert!(matches!(
        client
            .call("../auth.test", Tier::Four, &json!({}), in_secs(2))
            .await,
        Err(ApiError::NotSent(_))
    ));
}

// (g) The moderation calls.

/// A fake Slack answering `method` (a Web API method name) with `answers` in turn, the last
/// one repeated.
async fn mount(server: &MockServer, web_method: &str, answers: Vec<ResponseTemplate>) -> Scripted {
    let slack = Scripted::new(answers);
    Mock::given(method("POST"))
        .and(path(format!("/{web_method}")))
        .respond_with(slack.clone())
        .mount(server)
        .await;
    slack
}

fn ok(body: Value) -> ResponseTemplate {
    let mut body = body;
    body["ok"] = json!(true);
    ResponseTemplate::new(200).set_body_json(body)
}

fn refused(code: &str) -> ResponseTemplate {
    slack_error(json!({ "ok": false, "error": code }))
}

/// The bodies of the requests the fake received for `web_method`, in order.
async fn bodies(server: &MockServer, web_method: &str) -> Vec<(Option<String>, String)> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == format!("/{web_method}"))
        .map(|r| {
            let content_type = r
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (content_type, String::from_utf8(r.body).unwrap())
        })
        .collect()
}

#[tokio::test]
async fn send_dm_posts_to_the_user_id_without_broadcasts() {
    let server = MockServer::start().await;
    mount(
        &server,
        "chat.postMessage",
        vec![posted("1700000000.000400")],
    )
    .await;

    let ts = client(&server)
        .send_dm("U0TARGET", "You were warned <!channel>", in_secs(5))
        .await
        .unwrap();

    assert_eq!(ts, "1700000000.000400");
    let sent = bodies(&server, "chat.postMessage").await;
    assert_eq!(sent.len(), 1);
    let body: Value = serde_json::from_str(&sent[0].1).unwrap();
    assert_eq!(
        body["channel"], "U0TARGET",
        "a user id: the app's DM with them"
    );
    assert_eq!(body["text"], "You were warned &lt;!channel>");
    assert_eq!(body["parse"], "none");
}

#[tokio::test]
async fn a_dm_that_cannot_reach_the_member_says_why() {
    let server = MockServer::start().await;
    mount(
        &server,
        "chat.postMessage",
        vec![
            refused("messages_tab_disabled"),
            refused("channel_not_found"),
        ],
    )
    .await;
    let client = client(&server);

    match client.send_dm("U0TARGET", "x", in_secs(5)).await {
        Err(ApiError::Forbidden { message }) => {
            assert!(message.contains("Messages tab"), "{message}")
        }
        other => panic!("expected Forbidden, got {other:?}"),
    }
    match client.send_dm("U0GONE", "x", in_secs(5)).await {
        Err(ApiError::NotFound(message)) => {
            assert!(
                message.contains("DM") && !message.contains("/invite"),
                "a user is not a channel to invite Gavel to: {message}"
            )
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    let refused_target = client.send_dm("C0MODS", "x", in_secs(5)).await;
    assert!(
        matches!(&refused_target, Err(ApiError::NotSent(m)) if m.contains("user id")),
        "{refused_target:?}"
    );
    assert_eq!(request_count(&server).await, 2);
}

#[tokio::test]
async fn kick_from_channel_calls_conversations_kick() {
    let server = MockServer::start().await;
    let kick = mount(&server, "conversations.kick", vec![ok(json!({}))]).await;

    client(&server)
        .kick_from_channel("C0GENERAL", "U0TARGET", in_secs(5))
        .await
        .unwrap();

    assert_eq!(kick.arrivals().len(), 1);
    let sent = bodies(&server, "conversations.kick").await;
    let body: Value = serde_json::from_str(&sent[0].1).unwrap();
    assert_eq!(body, json!({ "channel": "C0GENERAL", "user": "U0TARGET" }));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].headers.get("authorization").unwrap(),
        format!("Bearer {TOKEN}").as_str()
    );
}

#[tokio::test]
async fn a_member_already_out_of_the_channel_is_ok_but_gavel_out_of_it_is_forbidden() {
    // Slack answers not_in_channel for both; conversations.info says whether Gavel is in.
    let server = MockServer::start().await;
    mount(
        &server,
        "conversations.kick",
        vec![refused("not_in_channel")],
    )
    .await;
    let info = mount(
        &server,
        "conversations.info",
        vec![
            ok(json!({ "channel": { "id": "C0GENERAL", "is_member": true } })),
            ok(json!({ "channel": { "id": "C0GENERAL", "is_member": false } })),
            refused("channel_not_found"),
        ],
    )
    .await;
    let client = client(&server);

    assert_eq!(
        client
            .kick_from_channel("C0GENERAL", "U0TARGET", in_secs(5))
            .await,
        Ok(()),
        "the member is not in the channel: the goal state holds"
    );
    for _ in 0..2 {
        match client
            .kick_from_channel("C0GENERAL", "U0TARGET", in_secs(5))
            .await
        {
            Err(ApiError::Forbidden { message }) => {
                assert!(message.contains("/invite @Gavel"), "{message}")
            }
            other => panic!("expected Forbidden, got {other:?}"),
        }
    }
    assert_eq!(info.arrivals().len(), 3);
    // conversations.info reads: its channel goes as a form, which it reads (not JSON).
    let sent = bodies(&server, "conversations.info").await;
    assert_eq!(
        sent[0],
        (
            Some("application/x-www-form-urlencoded".to_owned()),
            "channel=C0GENERAL".to_owned()
        )
    );
}

#[tokio::test]
async fn kick_refusals_are_in_moderators_words() {
    let server = MockServer::start().await;
    let cases = [
        ("cant_kick_self", "myself"),
        ("restricted_action", "workspace's settings"),
        ("cant_kick_from_general", "general channel"),
        (
            "method_not_supported_for_channel_type",
            "kind of conversation",
        ),
    ];
    let mut answers: Vec<ResponseTemplate> = cases.iter().map(|(code, _)| refused(code)).collect();
    answers.push(slack_error(json!({
        "ok": false, "error": "missing_scope", "needed": "channels:manage", "provided": "chat:write"
    })));
    answers.push(refused("user_not_found"));
    let kick = mount(&server, "conversations.kick", answers).await;
    let client = client(&server);

    for (code, words) in cases {
        match client
            .kick_from_channel("C0GENERAL", "U0TARGET", in_secs(5))
            .await
        {
            Err(ApiError::Forbidden { message }) => {
                assert!(message.contains(words), "{code}: {message}")
            }
            other => panic!("{code}: expected Forbidden, got {other:?}"),
        }
    }
    match client
        .kick_from_channel("C0GENERAL", "U0TARGET", in_secs(5))
        .await
    {
        Err(ApiError::Forbidden { message }) => {
            assert!(message.contains("channels:manage"), "{message}")
        }
        other => panic!("missing_scope: expected Forbidden, got {other:?}"),
    }
    assert!(matches!(
        client
            .kick_from_channel("C0GENERAL", "U0TARGET", in_secs(5))
            .await,
        Err(ApiError::NotFound(_))
    ));
    assert_eq!(kick.arrivals().len(), 6, "none of these is retried");
    let bad = client
        .kick_from_channel("C0GENERAL", "<@U0TARGET>", in_secs(5))
        .await;
    assert!(matches!(bad, Err(ApiError::NotSent(_))), "{bad:?}");
    assert_eq!(kick.arrivals().len(), 6, "a malformed id is not sent");
}

#[tokio::test]
async fn post_reply_sends_block_kit_with_the_button_ids_and_a_text_fallback() {
    let server = MockServer::start().await;
    mount(
        &server,
        "chat.postMessage",
        vec![posted("1700000000.000500")],
    )
    .await;
    let reply = Reply::ephemeral("New report about <@U0TARGET> <!here>")
        .with_field("Reason", "spam <!channel>")
        .with_button(Button {
            id: "v1:kick:abc".to_owned(),
            label: "Remove from channel".to_owned(),
            style: ButtonStyle::Danger,
        });

    let ts = client(&server)
        .post_reply("C0MODS", &reply, in_secs(5))
        .await
        .unwrap();

    assert_eq!(ts, "1700000000.000500");
    let sent = bodies(&server, "chat.postMessage").await;
    let body: Value = serde_json::from_str(&sent[0].1).unwrap();
    assert_eq!(body["channel"], "C0MODS");
    assert_eq!(body["text"], "New report about <@U0TARGET> &lt;!here>");
    assert_eq!(
        (&body["parse"], &body["unfurl_links"]),
        (&json!("none"), &json!(false))
    );
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
    assert_eq!(
        blocks[0]["text"]["text"],
        "New report about <@U0TARGET> &lt;!here>"
    );
    assert_eq!(
        blocks[1]["fields"][0]["text"],
        "*Reason*\nspam &lt;!channel>"
    );
    let button = &blocks[2]["elements"][0];
    assert_eq!(blocks[2]["type"], "actions");
    assert_eq!(
        (
            &button["action_id"],
            &button["style"],
            &button["text"]["text"]
        ),
        (
            &json!("v1:kick:abc"),
            &json!("danger"),
            &json!("Remove from channel")
        )
    );
}

#[tokio::test]
async fn admins_and_owners_are_found_with_users_info_and_remembered() {
    let server = MockServer::start().await;
    let answers = [
        ("U0ADMIN", json!({ "is_admin": true, "is_owner": false })),
        ("U0OWNER", json!({ "is_admin": false, "is_owner": true })),
        ("U0PRIMARY", json!({ "is_primary_owner": true })),
        (
            "U0MEMBER",
            json!({ "is_admin": false, "is_owner": false, "is_primary_owner": false }),
        ),
    ];
    for (user, flags) in &answers {
        let mut profile = flags.clone();
        profile["id"] = json!(user);
        Mock::given(method("POST"))
            .and(path("/users.info"))
            .and(body_string(format!("user={user}")))
            .and(header("content-type", "application/x-www-form-urlencoded"))
            .respond_with(ok(json!({ "user": profile })))
            .mount(&server)
            .await;
    }
    let client = client(&server);

    let mut seen = Vec::new();
    for (user, _) in &answers {
        seen.push(web::SlackWeb::user_is_admin(&client, user).await.unwrap());
    }
    assert_eq!(seen, [true, true, true, false]);
    assert_eq!(request_count(&server).await, 4);

    // Asked again within five minutes: from memory, no request.
    assert!(
        web::SlackWeb::user_is_admin(&client, "U0ADMIN")
            .await
            .unwrap()
    );
    assert!(
        !web::SlackWeb::user_is_admin(&client, "U0MEMBER")
            .await
            .unwrap()
    );
    assert_eq!(request_count(&server).await, 4);
}

#[tokio::test]
async fn bots_are_told_by_the_same_users_info_lookup() {
    let server = MockServer::start().await;
    for (user, flags) in [
        ("U0ROBOT", json!({ "is_bot": true })),
        ("USLACKBOT", json!({ "is_bot": false })),
        ("U0PERSON", json!({ "is_bot": false, "is_admin": true })),
    ] {
        let mut profile = flags;
        profile["id"] = json!(user);
        Mock::given(method("POST"))
            .and(path("/users.info"))
            .and(body_string(format!("user={user}")))
            .respond_with(ok(json!({ "user": profile })))
            .mount(&server)
            .await;
    }
    let client = client(&server);
    let mut seen = Vec::new();
    for user in ["U0ROBOT", "USLACKBOT", "U0PERSON"] {
        seen.push(web::SlackWeb::user_is_bot(&client, user).await.unwrap());
    }
    assert_eq!(seen, [true, true, false]);
    // The admin question about a user already looked up is answered from memory.
    assert!(
        web::SlackWeb::user_is_admin(&client, "U0PERSON")
            .await
            .unwrap()
    );
    assert_eq!(request_count(&server).await, 3);
}

#[tokio::test]
async fn a_failed_users_info_is_an_error_and_not_remembered() {
    let server = MockServer::start().await;
    let info = mount(
        &server,
        "users.info",
        vec![
            refused("user_not_found"),
            ok(json!({ "user": { "id": "U0NEW", "is_admin": true } })),
        ],
    )
    .await;
    let client = client(&server);

    let first = web::SlackWeb::user_is_admin(&client, "U0NEW").await;
    assert!(
        matches!(&first, Err(SlackWebError::Refused(m)) if m.contains("user_not_found")),
        "{first:?}"
    );
    assert_eq!(
        web::SlackWeb::user_is_admin(&client, "U0NEW").await,
        Ok(true)
    );
    assert_eq!(info.arrivals().len(), 2);
}

#[tokio::test]
async fn usergroup_members_are_listed_and_remembered() {
    let server = MockServer::start().await;
    let list = mount(
        &server,
        "usergroups.users.list",
        vec![ok(json!({ "users": ["U0MOD1", "W0MOD2"] }))],
    )
    .await;
    let client = client(&server);

    let members = web::SlackWeb::usergroup_members(&client, "S0MODS")
        .await
        .unwrap();
    assert_eq!(members, ["U0MOD1", "W0MOD2"]);
    let again = web::SlackWeb::usergroup_members(&client, "S0MODS")
        .await
        .unwrap();
    assert_eq!(again, members);
    assert_eq!(list.arrivals().len(), 1, "the second ask is remembered");
    let sent = bodies(&server, "usergroups.users.list").await;
    assert_eq!(
        sent[0],
        (
            Some("application/x-www-form-urlencoded".to_owned()),
            "usergroup=S0MODS".to_owned()
        )
    );
    let bad = web::SlackWeb::usergroup_members(&client, "U0MOD1").await;
    assert!(
        matches!(bad, Err(SlackWebError::NotConfigured(_))),
        "{bad:?}"
    );
    assert_eq!(list.arrivals().len(), 1);
}
