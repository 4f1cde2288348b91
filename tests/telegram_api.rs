//! The Telegram Bot API client against a fake Bot API (wiremock) that behaves like Telegram
//! where it matters: it answers 429 with `parameters.retry_after` to a second message in a
//! chat within a second, refuses with Telegram's 400 and 403 descriptions, keeps who is a
//! member, banned or gone, and removes a current member on `unbanChatMember` unless
//! `only_if_banned` is set.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gavel_shared::adapters::telegram_api::TelegramBotApi;
use gavel_shared::platform::{ApiError, TelegramApi};
use gavel_shared::reply::Reply;
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "123456:TEST-token_value";
const GROUP: &str = "-1001234567890";
/// A chat where the bot is an administrator without the Ban users right.
const POWERLESS_GROUP: &str = "-1009999999999";
const MEMBER: &str = "4242";
/// Has never started a private chat with the bot.
const STRANGER: &str = "5151";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Member,
    Kicked,
    Left,
}

#[derive(Default)]
struct State {
    /// (chat, user) → status; absent is "left".
    members: HashMap<(String, String), Status>,
    /// Chat → when its last message was accepted.
    last_message: HashMap<String, Instant>,
    /// Method names of every call, in order, with when they arrived.
    calls: Vec<(String, Value, Instant)>,
    /// 429s this fake answered.
    too_many: u32,
    /// The next calls of this method answer 429 with `retry_after` 1.
    throttle: Option<(String, u32)>,
}

#[derive(Clone, Default)]
struct FakeTelegram {
    state: Arc<Mutex<State>>,
}

fn ok(result: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "ok": true, "result": result }))
}

fn refuse(code: u16, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(code)
        .set_body_json(json!({ "ok": false, "error_code": code, "description": description }))
}

fn too_many(retry_after: u64) -> ResponseTemplate {
    ResponseTemplate::new(429).set_body_json(json!({
        "ok": false,
        "error_code": 429,
        "description": format!("Too Many Requests: retry after {retry_after}"),
        "parameters": { "retry_after": retry_after }
    }))
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Respond for FakeTelegram {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path();
        let Some(rest) = path.strip_prefix(&format!("/bot{TOKEN}/")) else {
            return refuse(401, "Unauthorized");
        };
        let name = rest.to_owned();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let now = Instant::now();
        let mut state = self.state.lock().unwrap();
        state.calls.push((name.clone(), body.clone(), now));
        if let Some((throttled, left)) = state.throttle.clone()
            && throttled == name
            && left > 0
        {
            state.throttle = Some((throttled, left - 1));
            state.too_many += 1;
            return too_many(1);
        }
        let chat = text(&body["chat_id"]);
        let user = text(&body["user_id"]);
        match name.as_str() {
            "sendMessage" | "editMessageText" => {
                if let Some(last) = state.last_message.get(&chat)
                    && now.duration_since(*last) < Duration::from_secs(1)
                {
                    state.too_many += 1;
                    return too_many(1);
                }
                if chat == STRANGER {
                    return refuse(
                        403,
                        "Forbidden: bot can't initiate conversation with a user",
                    );
                }
                state.last_message.insert(chat, now);
                ok(
                    json!({ "message_id": state.calls.len(), "date": 0, "chat": { "id": 1, "type": "private" } }),
                )
            }
            "banChatMember" if chat == POWERLESS_GROUP => refuse(
                400,
                "Bad Request: not enough rights to restrict/unrestrict chat member",
            ),
            "banChatMember" => {
                state.members.insert((chat, user), Status::Kicked);
                ok(json!(true))
            }
            "unbanChatMember" => {
                let key = (chat, user);
                let status = state.members.get(&key).copied().unwrap_or(Status::Left);
                let only_if_banned = body["only_if_banned"] == true;
                match (status, only_if_banned) {
                    (Status::Kicked, _) => {
                        state.members.insert(key, Status::Left);
                    }
                    // What Telegram does: without the flag, a current member is removed.
                    (Status::Member, false) => {
                        state.members.insert(key, Status::Left);
                    }
                    _ => {}
                }
                ok(json!(true))
            }
            "getChatMember" => {
                let status = match state.members.get(&(chat, user.clone())) {
                    Some(Status::Member) => "member",
                    Some(Status::Kicked) => "kicked",
                    _ => "left",
                };
                ok(
                    json!({ "status": status, "user": { "id": user.parse::<u64>().unwrap_or(0), "is_bot": false, "first_name": "x" } }),
                )
            }
            _ => ok(json!(true)),
        }
    }
}

impl FakeTelegram {
    fn set(&self, chat: &str, user: &str, status: Status) {
        self.state
            .lock()
            .unwrap()
            .members
            .insert((chat.to_owned(), user.to_owned()), status);
    }

    fn status(&self, chat: &str, user: &str) -> Status {
        self.state
            .lock()
            .unwrap()
            .members
            .get(&(chat.to_owned(), user.to_owned()))
            .copied()
            .unwrap_or(Status::Left)
    }

    fn calls_of(&self, name: &str) -> Vec<(Value, Instant)> {
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, body, at)| (body.clone(), *at))
            .collect()
    }

    fn too_many(&self) -> u32 {
        self.state.lock().unwrap().too_many
    }
}

async fn fake() -> (MockServer, FakeTelegram, TelegramBotApi) {
    let server = MockServer::start().await;
    let fake = FakeTelegram::default();
    Mock::given(method("POST"))
        .and(path_regex("^/bot.*"))
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    let client = TelegramBotApi::new(server.uri(), Some(TOKEN.to_owned())).unwrap();
    (server, fake, client)
}

fn soon(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

#[tokio::test]
async fn messages_to_one_chat_are_paced_so_telegram_never_answers_429() {
    let (_server, fake, client) = fake().await;
    for n in 0..3 {
        client
            .send_reply(GROUP, &Reply::public(format!("notice {n}")), soon(10))
            .await
            .expect("paced messages are accepted");
    }
    assert_eq!(fake.too_many(), 0, "the client kept the pace itself");
    let sent = fake.calls_of("sendMessage");
    assert_eq!(sent.len(), 3);
    for pair in sent.windows(2) {
        assert!(pair[1].1 - pair[0].1 >= Duration::from_secs(1));
    }
    // Another chat does not wait behind this one.
    let started = Instant::now();
    client
        .send_reply("-1005555555555", &Reply::public("elsewhere"), soon(10))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(900));
}

#[tokio::test]
async fn a_429_is_waited_out_within_the_deadline_and_reported_past_it() {
    let (_server, fake, client) = fake().await;
    fake.state.lock().unwrap().throttle = Some(("banChatMember".into(), 1));
    let started = Instant::now();
    client
        .ban_member(GROUP, MEMBER, None, false, soon(10))
        .await
        .expect("retried after retry_after");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(fake.calls_of("banChatMember").len(), 2);

    fake.state.lock().unwrap().throttle = Some(("restrictChatMember".into(), 1));
    let short = Instant::now() + Duration::from_millis(500);
    match client
        .restrict_member(GROUP, MEMBER, Some(2_000_000_000), short)
        .await
    {
        Err(ApiError::RateLimited { retry_after_ms }) => assert!(retry_after_ms >= 1000),
        other => panic!("expected a rate limit, got {other:?}"),
    }
}

#[tokio::test]
async fn refusals_say_what_to_do() {
    let (_server, _fake, client) = fake().await;
    match client
        .ban_member(POWERLESS_GROUP, MEMBER, None, false, soon(5))
        .await
    {
        Err(ApiError::Forbidden { message }) => assert!(message.contains("Ban users"), "{message}"),
        other => panic!("{other:?}"),
    }
    match client
        .send_reply(STRANGER, &Reply::ephemeral("hi"), soon(5))
        .await
    {
        Err(ApiError::Forbidden { message }) => {
            assert!(message.contains("started a private chat"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_unban_never_removes_a_member_who_rejoined() {
    let (server, fake, client) = fake().await;
    fake.set(GROUP, MEMBER, Status::Member);
    client
        .ban_member(GROUP, MEMBER, Some(2_000_000_000), false, soon(5))
        .await
        .unwrap();
    assert_eq!(fake.status(GROUP, MEMBER), Status::Kicked);
    // Telegram lifted the ban on its own and the member came back before Gavel's sweep.
    fake.set(GROUP, MEMBER, Status::Member);
    client.unban_member(GROUP, MEMBER, soon(5)).await.unwrap();
    assert_eq!(
        fake.status(GROUP, MEMBER),
        Status::Member,
        "still in the group"
    );
    let (body, _) = fake.calls_of("unbanChatMember").pop().unwrap();
    assert_eq!(body["only_if_banned"], true);

    // The fake would have caught the flag's absence: a plain unban removes the member.
    reqwest::Client::new()
        .post(format!("{}/bot{TOKEN}/unbanChatMember", server.uri()))
        .json(&json!({ "chat_id": GROUP, "user_id": MEMBER }))
        .send()
        .await
        .unwrap();
    assert_eq!(fake.status(GROUP, MEMBER), Status::Left);
}

#[tokio::test]
async fn member_rights_are_read_once_and_kept() {
    let (_server, fake, client) = fake().await;
    let rights = client.member_rights(GROUP, MEMBER, soon(5)).await.unwrap();
    assert!(!rights.administrator);
    client.member_rights(GROUP, MEMBER, soon(5)).await.unwrap();
    assert_eq!(
        fake.calls_of("getChatMember").len(),
        1,
        "the second answer came from memory"
    );
}

#[tokio::test]
async fn the_token_never_appears_in_an_error_and_a_refused_token_stops_calls() {
    // Nothing listens there: the network error must not carry the URL.
    let offline = TelegramBotApi::new("http://127.0.0.1:9", Some(TOKEN.to_owned())).unwrap();
    let error = offline
        .send_reply(GROUP, &Reply::ephemeral("x"), soon(2))
        .await
        .unwrap_err();
    assert!(!error.to_string().contains(TOKEN), "{error}");
    assert!(!format!("{offline:?}").contains(TOKEN));

    let (server, _fake, _) = fake().await;
    let wrong = TelegramBotApi::new(server.uri(), Some("999:wrong".to_owned())).unwrap();
    let refused = wrong.delete_message(GROUP, "5", soon(5)).await.unwrap_err();
    assert!(
        matches!(refused, ApiError::Rejected { status: 401, .. }),
        "{refused:?}"
    );
    let after = wrong.delete_message(GROUP, "6", soon(5)).await.unwrap_err();
    assert!(matches!(after, ApiError::NotSent(_)), "{after:?}");
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(
        requests.len(),
        1,
        "nothing more was sent with the refused token"
    );
}
