//! The Telegram Bot API client: the worker's moderation and messages, the edge's
//! `getChatMember` and clicked-message edits, and the operator's `setWebhook` and
//! `setMyCommands` ([`TelegramBotApi::call`]).
//!
//! Configuration ([`TelegramBotApi::from_env`]):
//! - `TELEGRAM_API_BASE`: the Bot API's base URL (default `https://api.telegram.org`), for fakes.
//! - `TELEGRAM_BOT_TOKEN`: the bot's token. Without it nothing is sent ([`ApiError::NotSent`]).
//!   The token is part of every request's URL (`/bot{token}/{method}`), so no URL is ever
//!   logged or put in an error: errors name the method.
//!
//! # Rate limits
//!
//! Telegram publishes no exact limits, only guidance: about one message per second in a chat,
//! at most 20 per minute in a group, about 30 per second overall. The client keeps a GCRA
//! cursor (the shared [`Pacer`]) for each: every call takes a slot of the global cursor;
//! messages (`sendMessage`, `editMessageText`) also take one of their chat's and, in a group
//! (a negative chat id), one of the group's per-minute cursor. A wait that would end past the
//! call's deadline is not started: [`ApiError::RateLimited`] with the wait. A 429 carries
//! `parameters.retry_after` (seconds): it pushes back the cursors the call used, and the call
//! is retried if the wait fits its deadline.
//!
//! # Errors
//!
//! Telegram answers `{"ok":false,"error_code":…,"description":…}`; the description says
//! what went wrong in English ("Bad Request: not enough rights to restrict/unrestrict chat
//! member"), and [`errors`] turns the ones moderators can fix into what to do about it
//! ("make me an administrator with the Ban users right"). 5xx answers and network failures
//! are retried with backoff, at most [`MAX_ATTEMPTS`], never past the deadline. After a 401
//! (the token was revoked) nothing more is sent until the process restarts with a new token.

mod errors;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Value, json};

use super::env::{self, ConfigError};
use super::http_limits::{MIN_ATTEMPT, Pacer, millis};
use super::secret_registry::{NOT_CONFIGURED, configured};
use crate::platform::{ApiError, MemberRights, TelegramApi};
use crate::ratelimit::gcra::BucketPolicy;
use crate::reply::Reply;
use crate::telegram::render;
use crate::ttl_map::TtlMap;

pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";

/// Attempts per call for 5xx answers and network failures (429s are bounded by the deadline).
pub const MAX_ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a member's rights are trusted: the edge asks on every moderator command, and a
/// promotion or demotion may take this long to count.
const RIGHTS_TTL: Duration = Duration::from_secs(120);
const REMEMBERED: usize = 4096;

/// The pace the client keeps. [`Default`] follows Telegram's guidance; tests shorten it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TelegramLimits {
    /// Every call.
    pub global: BucketPolicy,
    /// Messages to one chat.
    pub per_chat: BucketPolicy,
    /// Messages to one group.
    pub per_group: BucketPolicy,
}

impl Default for TelegramLimits {
    fn default() -> Self {
        Self {
            global: BucketPolicy {
                capacity: 30,
                window_ms: 1000,
                burst: 10,
            },
            // One a second, and a margin for network jitter between two paced sends.
            per_chat: BucketPolicy {
                capacity: 1,
                window_ms: 1050,
                burst: 1,
            },
            per_group: BucketPolicy {
                capacity: 20,
                window_ms: 60_000,
                burst: 3,
            },
        }
    }
}

/// What one attempt came to.
enum Attempt {
    Done(Result<Value, ApiError>),
    RateLimited(Duration),
    Transient(String),
}

/// The Bot API over HTTPS, with Telegram's limits honoured. See the module docs.
pub struct TelegramBotApi {
    http: reqwest::Client,
    api_base: String,
    token: Option<String>,
    limits: TelegramLimits,
    pacer: Pacer,
    token_refused: AtomicBool,
    /// `{chat}:{user}` → what `getChatMember` said, for [`RIGHTS_TTL`].
    rights: TtlMap<MemberRights>,
}

impl std::fmt::Debug for TelegramBotApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramBotApi")
            .field("api_base", &self.api_base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl TelegramBotApi {
    pub fn new(api_base: impl Into<String>, token: Option<String>) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            // A redirect would carry the token (in the path) somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        Ok(Self {
            http,
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            // A placeholder `gavel deploy secrets` wrote is no token (see `send`).
            token: configured(token),
            limits: TelegramLimits::default(),
            pacer: Pacer::new(),
            token_refused: AtomicBool::new(false),
            rights: TtlMap::new(REMEMBERED, Some(RIGHTS_TTL)),
        })
    }

    /// `TELEGRAM_API_BASE` (default [`DEFAULT_API_BASE`]) and `TELEGRAM_BOT_TOKEN`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new(
            env::var("TELEGRAM_API_BASE").unwrap_or_else(|| DEFAULT_API_BASE.to_owned()),
            env::var("TELEGRAM_BOT_TOKEN"),
        )
    }

    pub fn with_limits(mut self, limits: TelegramLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Calls a Bot API `method` with JSON `params`, paced by the global limit; returns the
    /// answer's `result`.
    pub async fn call(
        &self,
        method: &str,
        params: &impl Serialize,
        deadline: Instant,
    ) -> Result<Value, ApiError> {
        self.send(method, params, None, deadline).await
    }

    /// A message to `chat`: its chat's and group's cursors too.
    async fn message(
        &self,
        method: &str,
        chat: &str,
        params: &impl Serialize,
        deadline: Instant,
    ) -> Result<Value, ApiError> {
        self.send(method, params, Some(chat), deadline).await
    }

    fn keys(&self, chat: Option<&str>) -> Vec<(String, BucketPolicy)> {
        let mut keys = vec![("global".to_owned(), self.limits.global)];
        if let Some(chat) = chat {
            keys.push((format!("chat:{chat}"), self.limits.per_chat));
            if chat.starts_with('-') {
                keys.push((format!("group:{chat}"), self.limits.per_group));
            }
        }
        keys
    }

    async fn send(
        &self,
        method: &str,
        params: &impl Serialize,
        chat: Option<&str>,
        deadline: Instant,
    ) -> Result<Value, ApiError> {
        let token = self.token.as_deref().ok_or_else(|| {
            ApiError::NotSent(format!(
                "TELEGRAM_BOT_TOKEN {NOT_CONFIGURED}, so Gavel cannot call Telegram's Bot API"
            ))
        })?;
        if self.token_refused.load(Ordering::Relaxed) {
            return Err(ApiError::NotSent(
                "Telegram refused the bot token earlier; replace TELEGRAM_BOT_TOKEN and restart"
                    .to_owned(),
            ));
        }
        let body = serde_json::to_value(params)
            .map_err(|e| ApiError::NotSent(format!("the parameters could not be encoded: {e}")))?;
        let url = format!("{}/bot{token}/{method}", self.api_base);
        let keys = self.keys(chat);
        let mut failures = 0;
        let mut backoff = FIRST_BACKOFF;
        loop {
            self.wait_for_slots(&keys, deadline).await?;
            let now = Instant::now();
            let timeout = deadline.saturating_duration_since(now).min(ATTEMPT_TIMEOUT);
            match self.attempt(method, &url, &body, timeout).await {
                Attempt::Done(result) => return result,
                Attempt::RateLimited(wait) => {
                    let now = Instant::now();
                    for (key, policy) in &keys {
                        self.pacer.push_back(key, policy, now, wait);
                    }
                    tracing::warn!(
                        method,
                        retry_after_ms = millis(wait),
                        "Telegram answered 429"
                    );
                    if now + wait + MIN_ATTEMPT > deadline {
                        return Err(ApiError::RateLimited {
                            retry_after_ms: millis(wait),
                        });
                    }
                }
                Attempt::Transient(why) => {
                    failures += 1;
                    if failures >= MAX_ATTEMPTS || Instant::now() + backoff + MIN_ATTEMPT > deadline
                    {
                        return Err(ApiError::Unavailable(format!("{method}: {why}")));
                    }
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
            }
        }
    }

    /// Takes a slot of each cursor and sleeps until the latest; refuses a wait past the deadline.
    async fn wait_for_slots(
        &self,
        keys: &[(String, BucketPolicy)],
        deadline: Instant,
    ) -> Result<(), ApiError> {
        let now = Instant::now();
        let latest_start = deadline.checked_sub(MIN_ATTEMPT).unwrap_or(now);
        let mut wait = Duration::ZERO;
        for (key, policy) in keys {
            match self.pacer.reserve(key, policy, now, latest_start) {
                Ok(slot) => wait = wait.max(slot),
                Err(slot) => {
                    return Err(ApiError::RateLimited {
                        retry_after_ms: millis(slot),
                    });
                }
            }
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    async fn attempt(&self, method: &str, url: &str, body: &Value, timeout: Duration) -> Attempt {
        let sent = self.http.post(url).json(body).timeout(timeout).send().await;
        let response = match sent {
            Ok(response) => response,
            // reqwest's error would name the URL, and with it the token: say only what failed.
            Err(error) => {
                let what = if error.is_timeout() {
                    "timed out"
                } else if error.is_connect() {
                    "could not connect"
                } else {
                    "request failed"
                };
                return Attempt::Transient(what.to_owned());
            }
        };
        let status = response.status().as_u16();
        let answer: Value = match response.json().await {
            Ok(answer) => answer,
            Err(_) if status >= 500 => return Attempt::Transient(format!("HTTP {status}")),
            Err(_) => {
                return Attempt::Done(Err(ApiError::Rejected {
                    status,
                    message: format!("{method}: the answer was not JSON"),
                }));
            }
        };
        if answer["ok"] == true {
            return Attempt::Done(Ok(answer["result"].clone()));
        }
        let description = answer["description"].as_str().unwrap_or_default();
        match status {
            429 => {
                let secs = answer["parameters"]["retry_after"].as_u64().unwrap_or(1);
                Attempt::RateLimited(Duration::from_secs(secs.max(1)))
            }
            500..=599 => Attempt::Transient(format!("HTTP {status}")),
            401 | 404 if description.contains("Unauthorized") || status == 401 => {
                self.token_refused.store(true, Ordering::Relaxed);
                tracing::error!(
                    method,
                    "Telegram refused the bot token; no more calls are sent"
                );
                Attempt::Done(Err(ApiError::Rejected {
                    status,
                    message: "Telegram refused the bot token (TELEGRAM_BOT_TOKEN)".to_owned(),
                }))
            }
            _ => Attempt::Done(Err(errors::classify(
                method,
                status,
                description,
                &answer["parameters"],
            ))),
        }
    }

    fn user_id(user: &str) -> Result<u64, ApiError> {
        user.parse()
            .map_err(|_| ApiError::NotSent(format!("{user:?} is not a Telegram user id")))
    }
}

#[async_trait]
impl TelegramApi for TelegramBotApi {
    async fn send_reply(
        &self,
        chat: &str,
        reply: &Reply,
        deadline: Instant,
    ) -> Result<String, ApiError> {
        let params = render::send_message(chat, reply, None);
        let sent = self.message("sendMessage", chat, &params, deadline).await?;
        Ok(sent["message_id"]
            .as_i64()
            .map(|id| id.to_string())
            .unwrap_or_default())
    }

    async fn edit_reply(
        &self,
        chat: &str,
        message: &str,
        reply: &Reply,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        let params = render::edit_message(chat, message, reply)
            .ok_or_else(|| ApiError::NotSent(format!("{message:?} is not a message id")))?;
        match self
            .message("editMessageText", chat, &params, deadline)
            .await
        {
            // A second click drew the same message: nothing to change is success.
            Err(ApiError::Rejected { message, .. })
                if message.contains("message is not modified") =>
            {
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    async fn answer_callback(
        &self,
        callback: &str,
        text: Option<&str>,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        let params = render::answer_callback(callback, text);
        self.call("answerCallbackQuery", &params, deadline)
            .await
            .map(|_| ())
    }

    async fn restrict_member(
        &self,
        chat: &str,
        user: &str,
        until: Option<i64>,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        let user_id = Self::user_id(user)?;
        // Muted: nothing may be sent. Lifted: every sending permission back, and Telegram
        // applies the group's own defaults on top (a member never gets more than those).
        let allowed = until.is_none();
        let permissions = json!({
            "can_send_messages": allowed,
            "can_send_audios": allowed,
            "can_send_documents": allowed,
            "can_send_photos": allowed,
            "can_send_videos": allowed,
            "can_send_video_notes": allowed,
            "can_send_voice_notes": allowed,
            "can_send_polls": allowed,
            "can_send_other_messages": allowed,
            "can_add_web_page_previews": allowed,
        });
        let mut params = json!({
            "chat_id": render::chat_id(chat),
            "user_id": user_id,
            "permissions": permissions,
            "use_independent_chat_permissions": true,
        });
        if let Some(until) = until {
            params["until_date"] = until.into();
        }
        self.call("restrictChatMember", &params, deadline)
            .await
            .map(|_| ())
    }

    async fn ban_member(
        &self,
        chat: &str,
        user: &str,
        until: Option<i64>,
        revoke_messages: bool,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        let params = frankenstein::methods::BanChatMemberParams::builder()
            .chat_id(render::chat_id(chat))
            .user_id(Self::user_id(user)?)
            .maybe_until_date(until.and_then(|u| u64::try_from(u).ok()))
            .revoke_messages(revoke_messages)
            .build();
        self.call("banChatMember", &params, deadline)
            .await
            .map(|_| ())
    }

    async fn unban_member(
        &self,
        chat: &str,
        user: &str,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        let params = frankenstein::methods::UnbanChatMemberParams::builder()
            .chat_id(render::chat_id(chat))
            .user_id(Self::user_id(user)?)
            .only_if_banned(true)
            .build();
        self.call("unbanChatMember", &params, deadline)
            .await
            .map(|_| ())
    }

    async fn delete_message(
        &self,
        chat: &str,
        message: &str,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        let message_id: i32 = message
            .parse()
            .map_err(|_| ApiError::NotSent(format!("{message:?} is not a message id")))?;
        let params = frankenstein::methods::DeleteMessageParams::builder()
            .chat_id(render::chat_id(chat))
            .message_id(message_id)
            .build();
        match self.call("deleteMessage", &params, deadline).await {
            Err(ApiError::NotFound(_)) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    async fn member_rights(
        &self,
        chat: &str,
        user: &str,
        deadline: Instant,
    ) -> Result<MemberRights, ApiError> {
        let key = format!("{chat}:{user}");
        if let Some(rights) = self.rights.get(&key, Instant::now()) {
            return Ok(rights);
        }
        let params = frankenstein::methods::GetChatMemberParams::builder()
            .chat_id(render::chat_id(chat))
            .user_id(Self::user_id(user)?)
            .build();
        let member = self.call("getChatMember", &params, deadline).await?;
        let rights = errors::rights_of(&member);
        self.rights.insert(&key, rights, Instant::now());
        Ok(rights)
    }
}
