//! A fake Telegram Bot API (wiremock) that behaves like Telegram where it matters: it answers
//! 429 with `parameters.retry_after` to a second message in a chat within a second, refuses
//! with Telegram's 400 and 403 descriptions (a private message to someone who never started
//! the bot, a ban without the right), keeps who is a member, banned or gone, and removes a
//! current member on `unbanChatMember` unless `only_if_banned` is set. Included by the suites
//! that use it (`#[path]`), so the support library needs no wiremock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gavel_shared::adapters::telegram_api::TelegramBotApi;
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const TOKEN: &str = "123456:TEST-token_value";
/// A chat where the bot is an administrator without the Ban users right.
pub const POWERLESS_GROUP: &str = "-1009999999999";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Member,
    Kicked,
    Left,
}

#[derive(Default)]
pub struct State {
    /// (chat, user) → status; absent is "left".
    pub members: HashMap<(String, String), Status>,
    /// Chat → when its last message was accepted.
    pub last_message: HashMap<String, Instant>,
    /// Method names of every call, in order, with when they arrived.
    pub calls: Vec<(String, Value, Instant)>,
    /// 429s this fake answered.
    pub too_many: u32,
    /// The next calls of this method answer 429 with `retry_after` 1.
    pub throttle: Option<(String, u32)>,
    /// Users `getChatMember` reports as administrators with the Ban users right.
    pub admins: Vec<String>,
    /// Users who have started a private chat with the bot: only they can be written to.
    pub started: Vec<String>,
}

#[derive(Clone, Default)]
pub struct FakeTelegram {
    pub state: Arc<Mutex<State>>,
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
                if !chat.starts_with('-') && !state.started.contains(&chat) {
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
            "getChatMember" if state.admins.contains(&user) => ok(json!({
                "status": "administrator",
                "user": { "id": user.parse::<u64>().unwrap_or(0), "is_bot": false, "first_name": "x" },
                "can_restrict_members": true,
                "can_delete_messages": true,
            })),
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
    pub fn set(&self, chat: &str, user: &str, status: Status) {
        self.state
            .lock()
            .unwrap()
            .members
            .insert((chat.to_owned(), user.to_owned()), status);
    }

    pub fn status(&self, chat: &str, user: &str) -> Status {
        self.state
            .lock()
            .unwrap()
            .members
            .get(&(chat.to_owned(), user.to_owned()))
            .copied()
            .unwrap_or(Status::Left)
    }

    pub fn calls_of(&self, name: &str) -> Vec<(Value, Instant)> {
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, body, at)| (body.clone(), *at))
            .collect()
    }

    pub fn too_many(&self) -> u32 {
        self.state.lock().unwrap().too_many
    }
}

/// A fake Bot API on its own server, and a client for it with the test token.
pub async fn fake() -> (MockServer, FakeTelegram, TelegramBotApi) {
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
