//! The Discord REST adapter against a fake Discord (wiremock) that enforces its rate limits the
//! way Discord does: a bucket of `limit` requests per window, a 429 past it. Every timing claim
//! is checked on the arrival times the fake recorded, never on how long the client took.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gavel_shared::adapters::discord_rest::{DiscordLimits, DiscordRest};
use gavel_shared::platform::{ApiError, DiscordApi};
use gavel_shared::reply::{Button, ButtonStyle, Reply};
use http::Method;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "test-bot-token";
const APPLICATION: &str = "42";

/// One request as the fake saw it.
#[derive(Clone, Debug)]
struct Hit {
    at: Instant,
    method: String,
    path: String,
    status: u16,
    authorization: Option<String>,
    audit_reason: Option<String>,
    user_agent: Option<String>,
    body: Value,
}

/// Every request the fake answered, in arrival order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Hit>>>);

impl Log {
    fn record(&self, request: &Request, status: u16) {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        self.0.lock().unwrap().push(Hit {
            at: Instant::now(),
            method: request.method.to_string(),
            path: request.url.path().to_owned(),
            status,
            authorization: header("authorization"),
            audit_reason: header("x-audit-log-reason"),
            user_agent: header("user-agent"),
            body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
        });
    }

    fn hits(&self) -> Vec<Hit> {
        self.0.lock().unwrap().clone()
    }

    fn count(&self, status: u16) -> usize {
        self.hits().iter().filter(|h| h.status == status).count()
    }
}

/// A Discord bucket as Discord keeps it, one per top-level resource (here: per path): `limit`
/// requests per window, a window starting with the first request after the previous one ended,
/// and past the limit a 429 with `retry_after`.
struct BucketFake {
    limit: u32,
    window: Duration,
    /// The first window is already empty for this long, as if another instance had used it.
    emptied_by_another: Option<Duration>,
    /// Path → remaining and reset time.
    state: Mutex<HashMap<String, (u32, Instant)>>,
    next_id: AtomicU64,
    log: Log,
}

impl BucketFake {
    fn new(limit: u32, window: Duration, log: &Log) -> Self {
        Self {
            limit,
            window,
            emptied_by_another: None,
            state: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            log: log.clone(),
        }
    }
}

impl Respond for BucketFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let now = Instant::now();
        let mut buckets = self.state.lock().unwrap();
        let path = request.url.path().to_owned();
        let seen = buckets.get(&path).copied();
        let (remaining, reset_at) = match (seen, self.emptied_by_another) {
            (Some((remaining, reset_at)), _) if now < reset_at => (remaining, reset_at),
            (None, Some(empty_for)) => (0, now + empty_for),
            _ => (self.limit, now + self.window),
        };
        let reset_after = (reset_at - now).as_secs_f64();
        let limited = remaining == 0;
        let left = remaining.saturating_sub(1);
        buckets.insert(path, (if limited { 0 } else { left }, reset_at));
        let template = if limited {
            ResponseTemplate::new(429)
                .insert_header("Retry-After", format!("{}", reset_after.ceil()).as_str())
                .insert_header("X-RateLimit-Scope", "user")
                .set_body_json(json!({
                    "message": "You are being rate limited.",
                    "retry_after": (reset_after * 1000.0).ceil() / 1000.0,
                    "global": false,
                }))
        } else {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            ResponseTemplate::new(200).set_body_json(json!({ "id": id.to_string() }))
        };
        self.log.record(request, if limited { 429 } else { 200 });
        template
            .insert_header("X-RateLimit-Limit", self.limit.to_string().as_str())
            .insert_header(
                "X-RateLimit-Remaining",
                (if limited { 0 } else { left }).to_string().as_str(),
            )
            .insert_header(
                "X-RateLimit-Reset-After",
                format!("{reset_after:.3}").as_str(),
            )
            .insert_header("X-RateLimit-Bucket", "f00dfeed")
    }
}

/// An answer of the script, with its status (wiremock keeps a template's status private).
type Scripted = (u16, ResponseTemplate);

/// Answers from a script, in order, repeating the last one; records every request.
struct Script {
    answers: Mutex<VecDeque<Scripted>>,
    log: Log,
}

fn script(log: &Log, answers: impl IntoIterator<Item = Scripted>) -> Script {
    Script {
        answers: Mutex::new(answers.into_iter().collect()),
        log: log.clone(),
    }
}

impl Respond for Script {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut answers = self.answers.lock().unwrap();
        let (status, template) = if answers.len() > 1 {
            answers.pop_front()
        } else {
            answers.front().cloned()
        }
        .expect("a script has at least one answer");
        self.log.record(request, status);
        template
    }
}

fn status(code: u16) -> Scripted {
    (code, ResponseTemplate::new(code))
}

fn ok(body: Value) -> Scripted {
    (200, ResponseTemplate::new(200).set_body_json(body))
}

fn discord_error(code: u16, discord_code: u32, message: &str) -> Scripted {
    (
        code,
        ResponseTemplate::new(code)
            .set_body_json(json!({ "code": discord_code, "message": message })),
    )
}

async fn serve(responder: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(responder)
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer, limits: DiscordLimits) -> Arc<DiscordRest> {
    Arc::new(
        DiscordRest::new(
            server.uri(),
            Some(TOKEN.to_owned()),
            Some(APPLICATION.to_owned()),
            limits,
        )
        .unwrap(),
    )
}

fn within(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

/// `calls` concurrent `create_message`s to one channel; every result.
async fn concurrent_messages(
    client: &Arc<DiscordRest>,
    calls: usize,
    deadline: Instant,
) -> Vec<Result<String, ApiError>> {
    let mut set = JoinSet::new();
    for i in 0..calls {
        let client = Arc::clone(client);
        set.spawn(async move {
            client
                .create_message("1000", &format!("notice {i}"), deadline)
                .await
        });
    }
    set.join_all().await
}

// (a) An empty bucket holds the next request back until the reset.

#[tokio::test]
async fn an_empty_bucket_holds_the_next_request_until_it_resets() {
    let log = Log::default();
    let server = serve(BucketFake::new(1, Duration::from_secs(1), &log)).await;
    let client = client(&server, DiscordLimits::default());

    client
        .create_message("1000", "first", within(5000))
        .await
        .unwrap();
    // The fake said remaining 0, reset after 1 s: this one must wait for it.
    client
        .create_message("1000", "second", within(5000))
        .await
        .unwrap();

    let hits = log.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(log.count(429), 0, "{hits:#?}");
    let gap = hits[1].at - hits[0].at;
    assert!(
        gap >= Duration::from_secs(1),
        "second request arrived {gap:?} after the first"
    );
}

#[tokio::test]
async fn an_empty_bucket_and_a_short_deadline_answer_rate_limited_without_sending() {
    let log = Log::default();
    let server = serve(BucketFake::new(1, Duration::from_secs(1), &log)).await;
    let client = client(&server, DiscordLimits::default());

    client
        .create_message("1000", "first", within(5000))
        .await
        .unwrap();
    let err = client
        .create_message("1000", "second", within(300))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::RateLimited { retry_after_ms } if (500..=1100).contains(&retry_after_ms)),
        "{err:?}"
    );
    assert_eq!(
        log.hits().len(),
        1,
        "nothing may reach Discord while the bucket is empty"
    );
    // Another channel is another bucket, free to go.
    client
        .create_message("2000", "elsewhere", within(300))
        .await
        .unwrap();
}

// (b) 429s: honoured, and never a second one.

#[tokio::test]
async fn a_429_is_waited_out_and_retried_once() {
    let log = Log::default();
    let mut fake = BucketFake::new(5, Duration::from_millis(500), &log);
    fake.emptied_by_another = Some(Duration::from_millis(400));
    let server = serve(fake).await;
    let client = client(&server, DiscordLimits::default());

    let id = client
        .create_message("1000", "hello", within(3000))
        .await
        .unwrap();
    assert_eq!(id, "1");
    let hits = log.hits();
    assert_eq!(
        hits.iter().map(|h| h.status).collect::<Vec<_>>(),
        [429, 200]
    );
    let gap = hits[1].at - hits[0].at;
    assert!(
        gap >= Duration::from_millis(400),
        "retried {gap:?} after the 429"
    );
}

#[tokio::test]
async fn after_a_429_twenty_concurrent_calls_cause_no_other() {
    let log = Log::default();
    let mut fake = BucketFake::new(5, Duration::from_millis(500), &log);
    fake.emptied_by_another = Some(Duration::from_millis(400));
    let server = serve(fake).await;
    let client = client(&server, DiscordLimits::default());

    let results = concurrent_messages(&client, 20, within(10_000)).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        log.count(429),
        1,
        "the 429s after the first must be zero: {:#?}",
        log.hits()
    );
    assert_eq!(log.count(200), 20);
}

#[tokio::test]
async fn a_429_past_the_deadline_answers_rate_limited() {
    let log = Log::default();
    let mut fake = BucketFake::new(5, Duration::from_secs(1), &log);
    fake.emptied_by_another = Some(Duration::from_secs(2));
    let server = serve(fake).await;
    let client = client(&server, DiscordLimits::default());

    let err = client
        .create_message("1000", "hello", within(500))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::RateLimited { retry_after_ms } if retry_after_ms >= 1900),
        "{err:?}"
    );
    assert!(err.is_transient());
    // The bucket stays blocked: a second call sends nothing either.
    let err = client
        .create_message("1000", "again", within(500))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::RateLimited { .. }), "{err:?}");
    assert_eq!(log.hits().len(), 1);
}

// Under load: many callers, one client, one bucket.

#[tokio::test]
async fn concurrent_callers_on_one_bucket_never_overshoot_it() {
    let log = Log::default();
    let server = serve(BucketFake::new(5, Duration::from_secs(1), &log)).await;
    let client = client(&server, DiscordLimits::default());

    let results = concurrent_messages(&client, 20, within(15_000)).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let hits = log.hits();
    assert_eq!(log.count(429), 0, "{hits:#?}");
    assert_eq!(hits.len(), 20, "no request was sent twice");
    // Every message got its own id.
    let mut ids: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
}

// (c) Refusals in a moderator's words.

#[tokio::test]
async fn missing_permissions_is_forbidden_in_words() {
    let log = Log::default();
    let server = serve(script(
        &log,
        [discord_error(403, 50013, "Missing Permissions")],
    ))
    .await;
    let client = client(&server, DiscordLimits::default());

    let err = client
        .create_message("1000", "hi", within(2000))
        .await
        .unwrap_err();
    match err {
        ApiError::Forbidden { message } => {
            assert!(message.contains("permissions"), "{message}");
            assert!(message.contains("Missing Permissions"), "{message}");
        }
        other => panic!("expected Forbidden, got {other:?}"),
    }
    assert_eq!(log.hits().len(), 1, "a 403 is not retried");
}

#[tokio::test]
async fn unknown_channel_is_not_found_and_bad_requests_are_rejected() {
    let log = Log::default();
    let server = serve(script(
        &log,
        [
            discord_error(404, 10003, "Unknown Channel"),
            discord_error(400, 50035, "Invalid Form Body"),
        ],
    ))
    .await;
    let client = client(&server, DiscordLimits::default());

    let err = client
        .create_message("1000", "hi", within(2000))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ApiError::NotFound("Unknown Channel (Discord code 10003)".to_owned())
    );
    let err = client
        .create_message("1000", "hi", within(2000))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::Rejected { status: 400, ref message } if message.contains("Invalid Form Body")),
        "{err:?}"
    );
}

// (d) 5xx: retried with backoff while the deadline allows.

#[tokio::test]
async fn a_server_error_is_retried_after_a_backoff() {
    let log = Log::default();
    let server = serve(script(&log, [status(500), ok(json!({ "id": "77" }))])).await;
    let client = client(&server, DiscordLimits::default());

    let id = client
        .create_message("1000", "hi", within(3000))
        .await
        .unwrap();
    assert_eq!(id, "77");
    let hits = log.hits();
    assert_eq!(
        hits.iter().map(|h| h.status).collect::<Vec<_>>(),
        [500, 200]
    );
    assert!(hits[1].at - hits[0].at >= Duration::from_millis(250));
}

#[tokio::test]
async fn server_errors_until_the_deadline_are_unavailable_in_time() {
    let log = Log::default();
    let server = serve(script(&log, [status(503)])).await;
    let client = client(&server, DiscordLimits::default());

    let deadline = within(1200);
    let err = client
        .create_message("1000", "hi", deadline)
        .await
        .unwrap_err();
    let returned = Instant::now();
    assert!(matches!(err, ApiError::Unavailable(_)), "{err:?}");
    assert!(err.is_transient());
    assert!(
        returned <= deadline,
        "returned {:?} after the deadline",
        returned - deadline
    );
    // Attempts at 0, 250 ms and 750 ms; the next (1,750 ms) would not fit.
    let hits = log.hits();
    assert_eq!(hits.len(), 3, "{hits:#?}");
    assert!(hits[2].at - hits[1].at >= Duration::from_millis(500));
}

#[tokio::test]
async fn an_unreachable_discord_is_unavailable_in_time() {
    // A port nothing listens on: every attempt fails to connect, so even a POST is retried.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client =
        DiscordRest::new(base, Some(TOKEN.to_owned()), None, DiscordLimits::default()).unwrap();

    let deadline = within(1000);
    let err = client
        .create_message("1000", "hi", deadline)
        .await
        .unwrap_err();
    assert!(Instant::now() <= deadline);
    match err {
        ApiError::Unavailable(message) => assert!(message.contains("onnect"), "{message}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

// (e) A global 429 blocks every bot route.

#[tokio::test]
async fn a_global_429_blocks_another_route() {
    let log = Log::default();
    let server = MockServer::start().await;
    let global = (429, ResponseTemplate::new(429)
        .insert_header("X-RateLimit-Global", "true")
        .insert_header("X-RateLimit-Scope", "global")
        .insert_header("Retry-After", "1")
        .set_body_json(json!({ "message": "You are being rate limited.", "retry_after": 0.6, "global": true })));
    Mock::given(path("/channels/1000/messages"))
        .respond_with(script(&log, [global]))
        .mount(&server)
        .await;
    Mock::given(path("/channels/2000/messages"))
        .respond_with(script(&log, [ok(json!({ "id": "5" }))]))
        .mount(&server)
        .await;
    let client = client(&server, DiscordLimits::default());

    let err = client
        .create_message("1000", "hi", within(300))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::RateLimited { retry_after_ms } if retry_after_ms >= 600),
        "{err:?}"
    );
    // Another channel, another bucket, but the same global block.
    let err = client
        .create_message("2000", "hi", within(200))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::RateLimited { .. }), "{err:?}");
    assert_eq!(log.hits().len(), 1, "nothing is sent during a global block");

    client
        .create_message("2000", "hi", within(3000))
        .await
        .unwrap();
    let hits = log.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[1].path, "/channels/2000/messages");
    assert!(
        hits[1].at - hits[0].at >= Duration::from_millis(600),
        "{hits:#?}"
    );
}

// The global limit: bot requests per second, webhooks exempt.

#[tokio::test]
async fn the_global_limit_spaces_bot_requests_but_not_webhooks() {
    let log = Log::default();
    // No rate-limit headers: no per-route limit, only the global one applies.
    let server = serve(script(&log, [ok(json!({ "id": "9" }))])).await;
    let limits = DiscordLimits {
        global_per_sec: 4,
        ..DiscordLimits::default()
    };
    let client = client(&server, limits);

    let mut set = JoinSet::new();
    for channel in 0..8 {
        let client = Arc::clone(&client);
        set.spawn(async move {
            client
                .create_message(&format!("{}", 3000 + channel), "hi", within(5000))
                .await
        });
    }
    assert!(set.join_all().await.iter().all(Result::is_ok));
    let hits = log.hits();
    assert_eq!(hits.len(), 8);
    for i in 4..8 {
        let gap = hits[i].at - hits[i - 4].at;
        // The client spaces sends by a full second; arrival jitter on loopback is far below 50 ms.
        assert!(
            gap >= Duration::from_millis(950),
            "request {i} came {gap:?} after request {}",
            i - 4
        );
    }

    let before = log.hits().len();
    let mut set = JoinSet::new();
    for n in 0..8 {
        let client = Arc::clone(&client);
        set.spawn(async move {
            client
                .edit_original_response(&format!("token-{n}"), "done", within(5000))
                .await
        });
    }
    assert!(set.join_all().await.iter().all(Result::is_ok));
    let edits = &log.hits()[before..];
    assert_eq!(edits.len(), 8);
    let spread = edits[7].at - edits[0].at;
    assert!(
        spread < Duration::from_millis(500),
        "webhook edits were spaced out: {spread:?}"
    );
}

// (f) The invalid-request cap, and a wrong token.

#[tokio::test]
async fn the_invalid_request_cap_stops_all_sending() {
    let log = Log::default();
    let server = serve(script(
        &log,
        [discord_error(403, 50013, "Missing Permissions")],
    ))
    .await;
    let limits = DiscordLimits {
        invalid_cap: 3,
        ..DiscordLimits::default()
    };
    let client = client(&server, limits);

    for _ in 0..3 {
        let err = client
            .create_message("1000", "hi", within(2000))
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::Forbidden { .. }), "{err:?}");
    }
    for channel in ["1000", "2000"] {
        let err = client
            .create_message(channel, "hi", within(2000))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApiError::NotSent(ref m) if m.contains("invalid-request cap")),
            "{err:?}"
        );
    }
    let err = client
        .edit_original_response("tok", "hi", within(2000))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::NotSent(_)), "{err:?}");
    assert_eq!(log.hits().len(), 3, "nothing reaches Discord past the cap");
}

#[tokio::test]
async fn a_rejected_bot_token_stops_bot_calls_but_not_interaction_edits() {
    let log = Log::default();
    let server = MockServer::start().await;
    Mock::given(path("/channels/1000/messages"))
        .respond_with(script(&log, [discord_error(401, 0, "401: Unauthorized")]))
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(script(&log, [ok(json!({}))]))
        .mount(&server)
        .await;
    let client = client(&server, DiscordLimits::default());

    let err = client
        .create_message("1000", "hi", within(2000))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::Rejected { status: 401, ref message } if message.contains("DISCORD_BOT_TOKEN")),
        "{err:?}"
    );
    let err = client
        .create_message("2000", "hi", within(2000))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::NotSent(ref m) if m.contains("bot token")),
        "{err:?}"
    );
    assert_eq!(log.hits().len(), 1);
    // The interaction's own token still works, so the moderator can be told.
    client
        .edit_original_response("tok", "I cannot act: my token was refused", within(2000))
        .await
        .unwrap();
    assert_eq!(log.hits().len(), 2);
}

// (g) Authentication and the message bodies.

#[tokio::test]
async fn create_message_sends_the_bot_token_and_parses_no_mentions() {
    let log = Log::default();
    let server = serve(script(&log, [ok(json!({ "id": "1234567890" }))])).await;
    let client = client(&server, DiscordLimits::default());

    let id = client
        .create_message("1000", "Warned @everyone", within(2000))
        .await
        .unwrap();
    assert_eq!(id, "1234567890");
    let hit = &log.hits()[0];
    assert_eq!(
        (hit.method.as_str(), hit.path.as_str()),
        ("POST", "/channels/1000/messages")
    );
    assert_eq!(hit.authorization.as_deref(), Some("Bot test-bot-token"));
    assert_eq!(
        hit.body,
        json!({ "content": "Warned @everyone", "allowed_mentions": { "parse": [] } })
    );
    assert!(
        hit.user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("DiscordBot ("))
    );
    assert_eq!(hit.audit_reason, None);
}

#[tokio::test]
async fn edit_original_response_uses_the_webhook_path_without_the_bot_token() {
    let log = Log::default();
    let server = serve(script(&log, [ok(json!({ "id": "1" }))])).await;
    let client = client(&server, DiscordLimits::default());

    client
        .edit_original_response("aW50ZXJhY3Rpb24-token_1", "Done.", within(2000))
        .await
        .unwrap();
    let hit = &log.hits()[0];
    assert_eq!(hit.method, "PATCH");
    assert_eq!(
        hit.path,
        "/webhooks/42/aW50ZXJhY3Rpb24-token_1/messages/@original"
    );
    assert_eq!(hit.authorization, None);
    assert_eq!(hit.body["content"], "Done.");

    // A token that could steer the path elsewhere is refused before sending.
    let err = client
        .edit_original_response("../../channels/1", "x", within(2000))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::NotSent(_)), "{err:?}");
    assert_eq!(log.hits().len(), 1);
}

#[tokio::test]
async fn calls_without_their_credentials_are_not_sent() {
    let log = Log::default();
    let server = serve(script(&log, [ok(json!({ "id": "1" }))])).await;
    let client = DiscordRest::new(server.uri(), None, None, DiscordLimits::default()).unwrap();

    let err = client
        .create_message("1000", "hi", within(2000))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::NotSent(ref m) if m.contains("DISCORD_BOT_TOKEN")),
        "{err:?}"
    );
    let err = client
        .edit_original_response("tok", "hi", within(2000))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::NotSent(ref m) if m.contains("DISCORD_APPLICATION_ID")),
        "{err:?}"
    );
    assert!(log.hits().is_empty());
}

// (h) Moderation calls: the audit-log reason.

#[tokio::test]
async fn the_audit_log_reason_is_sent_percent_encoded() {
    let log = Log::default();
    let server = serve(script(&log, [status(204)])).await;
    let client = client(&server, DiscordLimits::default());

    let reply = client
        .request(
            Method::PUT,
            "/guilds/1000/bans/2000",
            Some(&json!({ "delete_message_seconds": 0 })),
            Some("Spam – répété (3×)"),
            within(2000),
        )
        .await
        .unwrap();
    assert_eq!((reply.status, reply.body), (204, Value::Null));
    let hit = &log.hits()[0];
    assert_eq!(
        (hit.method.as_str(), hit.path.as_str()),
        ("PUT", "/guilds/1000/bans/2000")
    );
    assert_eq!(
        hit.audit_reason.as_deref(),
        Some("Spam%20%E2%80%93%20r%C3%A9p%C3%A9t%C3%A9%20%283%C3%97%29")
    );
    assert_eq!(hit.authorization.as_deref(), Some("Bot test-bot-token"));
}

// (i) The moderation calls: method, path, audit-log reason and body.

/// A fake Discord that answers each `(method, path)` from its own script, all into one log;
/// any other request is a 404 the test would see.
async fn serve_routes(log: &Log, routes: Vec<(&str, &str, Vec<Scripted>)>) -> MockServer {
    let server = MockServer::start().await;
    for (verb, route, answers) in routes {
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(script(log, answers))
            .mount(&server)
            .await;
    }
    server
}

fn member() -> Scripted {
    ok(json!({ "user": { "id": "2000" }, "roles": [] }))
}

#[tokio::test]
async fn timeout_member_sets_and_lifts_communication_disabled_until_with_the_reason() {
    let log = Log::default();
    let server = serve(script(&log, [member()])).await;
    let client = client(&server, DiscordLimits::default());

    client
        .timeout_member(
            "1000",
            "2000",
            Some(1_800_000_000),
            "spam, again",
            within(2000),
        )
        .await
        .unwrap();
    client
        .timeout_member("1000", "2000", None, "appeal accepted", within(2000))
        .await
        .unwrap();

    let hits = log.hits();
    assert_eq!(hits.len(), 2);
    for hit in &hits {
        assert_eq!(
            (hit.method.as_str(), hit.path.as_str()),
            ("PATCH", "/guilds/1000/members/2000")
        );
        assert_eq!(hit.authorization.as_deref(), Some("Bot test-bot-token"));
    }
    assert_eq!(
        hits[0].body,
        json!({ "communication_disabled_until": "2027-01-15T08:00:00+00:00" })
    );
    assert_eq!(hits[0].audit_reason.as_deref(), Some("spam%2C%20again"));
    assert_eq!(
        hits[1].body,
        json!({ "communication_disabled_until": null }),
        "lifting a timeout sends null"
    );
    assert_eq!(hits[1].audit_reason.as_deref(), Some("appeal%20accepted"));
}

#[tokio::test]
async fn kick_and_ban_send_their_routes_and_bans_delete_at_most_seven_days() {
    let log = Log::default();
    let server = serve(script(&log, [status(204)])).await;
    let client = client(&server, DiscordLimits::default());

    client
        .kick_member("1000", "2000", "raid", within(2000))
        .await
        .unwrap();
    client
        .ban_member("1000", "2001", 3600, "scam links", within(2000))
        .await
        .unwrap();
    client
        .ban_member("1000", "2002", 30 * 86_400, "raid", within(2000))
        .await
        .unwrap();

    let hits = log.hits();
    let seen: Vec<(&str, &str, &Value, Option<&str>)> = hits
        .iter()
        .map(|h| {
            (
                h.method.as_str(),
                h.path.as_str(),
                &h.body,
                h.audit_reason.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "DELETE",
                "/guilds/1000/members/2000",
                &Value::Null,
                Some("raid")
            ),
            (
                "PUT",
                "/guilds/1000/bans/2001",
                &json!({ "delete_message_seconds": 3600 }),
                Some("scam%20links")
            ),
            (
                "PUT",
                "/guilds/1000/bans/2002",
                &json!({ "delete_message_seconds": 604_800 }),
                Some("raid")
            ),
        ]
    );
}

#[tokio::test]
async fn unbanning_someone_not_banned_is_ok_but_other_refusals_are_not() {
    let log = Log::default();
    let server = serve(script(
        &log,
        [
            status(204),
            discord_error(404, 10026, "Unknown Ban"),
            discord_error(404, 10013, "Unknown User"),
            discord_error(403, 50013, "Missing Permissions"),
        ],
    ))
    .await;
    let client = client(&server, DiscordLimits::default());

    let unban = || client.unban_member("1000", "2000", "appeal", within(2000));
    assert_eq!(unban().await, Ok(()));
    assert_eq!(unban().await, Ok(()), "Unknown Ban: the goal state holds");
    assert!(
        matches!(unban().await, Err(ApiError::NotFound(m)) if m.contains("Unknown User")),
        "another 404 is still NotFound"
    );
    assert!(matches!(
        unban().await,
        Err(ApiError::Forbidden { message }) if message.contains("permissions")
    ));
    let hits = log.hits();
    assert_eq!(hits.len(), 4);
    assert!(hits.iter().all(|h| h.method == "DELETE"
        && h.path == "/guilds/1000/bans/2000"
        && h.audit_reason.as_deref() == Some("appeal")));
}

#[tokio::test]
async fn a_second_dm_reuses_the_dm_channel() {
    let log = Log::default();
    let server = serve_routes(
        &log,
        vec![
            (
                "POST",
                "/users/@me/channels",
                vec![ok(json!({ "id": "5000", "type": 1 }))],
            ),
            (
                "POST",
                "/channels/5000/messages",
                vec![ok(json!({ "id": "6001" })), ok(json!({ "id": "6002" }))],
            ),
        ],
    )
    .await;
    let client = client(&server, DiscordLimits::default());

    let first = client
        .send_dm("2000", "You were warned: spam @everyone", within(2000))
        .await
        .unwrap();
    let second = client
        .send_dm("2000", "You were timed out", within(2000))
        .await
        .unwrap();
    assert_eq!((first.as_str(), second.as_str()), ("6001", "6002"));

    let hits = log.hits();
    let routes: Vec<(&str, &str)> = hits
        .iter()
        .map(|h| (h.method.as_str(), h.path.as_str()))
        .collect();
    assert_eq!(
        routes,
        [
            ("POST", "/users/@me/channels"),
            ("POST", "/channels/5000/messages"),
            ("POST", "/channels/5000/messages"),
        ],
        "one DM channel opened for two DMs"
    );
    assert_eq!(hits[0].body, json!({ "recipient_id": "2000" }));
    assert_eq!(
        hits[1].body,
        json!({ "content": "You were warned: spam @everyone", "allowed_mentions": { "parse": [] } })
    );
    assert_eq!(hits[1].audit_reason, None);
}

#[tokio::test]
async fn a_dm_channel_that_is_gone_is_opened_again_and_remembered() {
    let log = Log::default();
    let server = serve_routes(
        &log,
        vec![
            (
                "POST",
                "/users/@me/channels",
                vec![ok(json!({ "id": "5000" })), ok(json!({ "id": "5001" }))],
            ),
            (
                "POST",
                "/channels/5000/messages",
                vec![
                    ok(json!({ "id": "6001" })),
                    discord_error(404, 10003, "Unknown Channel"),
                ],
            ),
            (
                "POST",
                "/channels/5001/messages",
                vec![ok(json!({ "id": "6002" }))],
            ),
        ],
    )
    .await;
    let client = client(&server, DiscordLimits::default());

    for expected in ["6001", "6002", "6002"] {
        let id = client
            .send_dm("2000", "notice", within(2000))
            .await
            .unwrap();
        assert_eq!(id, expected);
    }
    let hits = log.hits();
    let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/users/@me/channels",
            "/channels/5000/messages",
            "/channels/5000/messages",
            "/users/@me/channels",
            "/channels/5001/messages",
            "/channels/5001/messages",
        ]
    );
}

#[tokio::test]
async fn a_member_who_refuses_dms_is_forbidden_in_words() {
    let log = Log::default();
    let server = serve_routes(
        &log,
        vec![
            (
                "POST",
                "/users/@me/channels",
                vec![ok(json!({ "id": "5000" }))],
            ),
            (
                "POST",
                "/channels/5000/messages",
                vec![discord_error(
                    403,
                    50007,
                    "Cannot send messages to this user",
                )],
            ),
        ],
    )
    .await;
    let client = client(&server, DiscordLimits::default());

    let err = client
        .send_dm("2000", "You were warned", within(2000))
        .await
        .unwrap_err();
    let ApiError::Forbidden { message } = &err else {
        panic!("{err:?}")
    };
    assert!(
        message.contains("does not accept direct messages")
            && message.contains("server's members")
            && message.contains("Cannot send messages to this user"),
        "{message}"
    );
    assert_eq!(log.hits().len(), 2);
}

#[tokio::test]
async fn the_guild_owner_is_read_once_and_remembered() {
    let log = Log::default();
    let server = serve_routes(
        &log,
        vec![
            (
                "GET",
                "/guilds/1000",
                vec![ok(
                    json!({ "id": "1000", "name": "Gavel Test", "owner_id": "3000" }),
                )],
            ),
            (
                "GET",
                "/guilds/1001",
                vec![ok(
                    json!({ "id": "1001", "name": "Other", "owner_id": "3001" }),
                )],
            ),
        ],
    )
    .await;
    let client = client(&server, DiscordLimits::default());

    assert_eq!(
        client.guild_owner("1000", within(2000)).await.unwrap(),
        "3000"
    );
    assert_eq!(
        client.guild_owner("1000", within(2000)).await.unwrap(),
        "3000"
    );
    assert_eq!(
        client.guild_owner("1001", within(2000)).await.unwrap(),
        "3001"
    );
    let hits = log.hits();
    let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/guilds/1000", "/guilds/1001"],
        "the second ask is remembered"
    );
    assert!(hits.iter().all(|h| h.method == "GET"));
}

#[tokio::test]
async fn post_reply_sends_the_content_the_buttons_and_no_mentions() {
    let log = Log::default();
    let server = serve(script(&log, [ok(json!({ "id": "7000" }))])).await;
    let client = client(&server, DiscordLimits::default());
    let reply = Reply::ephemeral("New report about <@2000> @here")
        .with_field("Reason", "spam")
        .with_button(Button {
            id: "v1:ban:abc".to_owned(),
            label: "Ban".to_owned(),
            style: ButtonStyle::Danger,
        })
        .with_button(Button {
            id: "v1:dismiss:abc".to_owned(),
            label: "Dismiss".to_owned(),
            style: ButtonStyle::Secondary,
        });

    let id = client
        .post_reply("1500", &reply, within(2000))
        .await
        .unwrap();
    assert_eq!(id, "7000");
    let hit = &log.hits()[0];
    assert_eq!(
        (hit.method.as_str(), hit.path.as_str()),
        ("POST", "/channels/1500/messages")
    );
    assert_eq!(
        hit.body["content"],
        "New report about <@2000> @here\n**Reason**\nspam"
    );
    assert_eq!(hit.body["allowed_mentions"], json!({ "parse": [] }));
    assert_eq!(
        hit.body.get("flags"),
        None,
        "a channel message is never ephemeral"
    );
    let row = &hit.body["components"][0];
    assert_eq!(row["type"], 1, "an action row");
    let buttons: Vec<(&Value, &Value, &Value)> = row["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (&b["custom_id"], &b["label"], &b["style"]))
        .collect();
    assert_eq!(
        buttons,
        [
            (&json!("v1:ban:abc"), &json!("Ban"), &json!(4)),
            (&json!("v1:dismiss:abc"), &json!("Dismiss"), &json!(2)),
        ]
    );
}

#[tokio::test]
async fn member_patches_in_one_guild_share_a_bucket_and_other_guilds_do_not_wait() {
    let log = Log::default();
    // One request per second per guild, as Discord announces it for the member route.
    let limited = || {
        (
            200,
            ResponseTemplate::new(200)
                .set_body_json(json!({ "user": { "id": "2000" } }))
                .insert_header("X-RateLimit-Limit", "1")
                .insert_header("X-RateLimit-Remaining", "0")
                .insert_header("X-RateLimit-Reset-After", "1.000")
                .insert_header("X-RateLimit-Bucket", "members"),
        )
    };
    let server = serve(script(&log, [limited()])).await;
    let client = client(&server, DiscordLimits::default());

    client
        .timeout_member("1000", "2000", None, "a", within(5000))
        .await
        .unwrap();
    client
        .timeout_member("1001", "2000", None, "b", within(5000))
        .await
        .unwrap();
    client
        .timeout_member("1000", "2001", None, "c", within(5000))
        .await
        .unwrap();

    let hits = log.hits();
    let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/guilds/1000/members/2000",
            "/guilds/1001/members/2000",
            "/guilds/1000/members/2001"
        ]
    );
    assert!(
        hits[1].at - hits[0].at < Duration::from_millis(500),
        "another guild is another bucket"
    );
    assert!(
        hits[2].at - hits[0].at >= Duration::from_secs(1),
        "another member of the same guild waited {:?}, not the bucket's reset",
        hits[2].at - hits[0].at
    );
}

#[tokio::test]
async fn moderation_calls_with_malformed_ids_are_not_sent() {
    let log = Log::default();
    let server = serve(script(&log, [status(204)])).await;
    let client = client(&server, DiscordLimits::default());

    let results = [
        client
            .kick_member("1000", "../2000", "x", within(2000))
            .await,
        client
            .ban_member("guild", "2000", 0, "x", within(2000))
            .await,
        client
            .timeout_member("1000", "2000 ", None, "x", within(2000))
            .await,
        client.unban_member("", "2000", "x", within(2000)).await,
        client.send_dm("@me", "hi", within(2000)).await.map(|_| ()),
        client
            .guild_owner("1000/bans", within(2000))
            .await
            .map(|_| ()),
        client
            .post_reply("C0MODS", &Reply::public("x"), within(2000))
            .await
            .map(|_| ()),
    ];
    for result in &results {
        assert!(
            matches!(result, Err(ApiError::NotSent(m)) if m.contains("is not a Discord")),
            "{result:?}"
        );
    }
    assert!(log.hits().is_empty());
}
