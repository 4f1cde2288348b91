//! Discord's REST API over HTTPS ([`DiscordRest`]), with Discord's rate limits honoured.
//!
//! - `DISCORD_API_BASE`: the API's base URL (default `https://discord.com/api/v10`), for fakes.
//! - `DISCORD_BOT_TOKEN`: the bot token, for every route except the token-authenticated
//!   webhook and interaction routes.
//! - `DISCORD_APPLICATION_ID`: the application's id, for editing interaction responses.
//!
//! Every call goes through one path ([`DiscordRest::request`]), which applies, in order:
//!
//! 1. **The safety stops.** After a 401 on a bot-authenticated route the token is wrong, and
//!    no bot-authenticated request is sent until the process restarts (interaction edits,
//!    authenticated by their own token, still go, so the moderator can be told). 401, 403 and
//!    429 answers (except 429s with scope `shared`, which Discord does not count) are counted
//!    over a sliding 10 minutes; at [`DiscordLimits::invalid_cap`] (default 1,000, a tenth of the 10,000 at which
//!    Discord's edge bans the IP) nothing is sent until the window frees up. Requests in flight
//!    count against the cap, since any of them may come back refused.
//! 2. **A global 429** (scope `global`) blocks every bot-authenticated route until its
//!    `retry_after` has passed.
//! 3. **Per-route buckets, learned from the headers.** A route is its method and path with the
//!    top-level resource (channel, guild, webhook with its token, interaction) kept and every
//!    other id replaced by a placeholder; `X-RateLimit-Bucket` maps routes onto the buckets
//!    Discord shares between them, counted per top-level resource. A request reserves a slot
//!    (`X-RateLimit-Remaining`, less the requests already in flight) before it is sent, so
//!    concurrent callers never overshoot; with no slot it waits for `X-RateLimit-Reset-After`.
//!    Until a route's first answer says what its bucket allows, its requests go one at a time.
//! 4. **The global limit**: at most [`DiscordLimits::global_per_sec`] bot-authenticated
//!    requests in any second. Webhook and interaction routes (authenticated by the token in
//!    their path) are exempt, as Discord exempts them.
//! 5. **Retries.** A 429 is retried once its wait fits before the deadline; 5xx answers and
//!    transport failures are retried with backoff (250 ms, 500 ms, 1 s, …) while the next attempt
//!    fits (a POST after a transport failure only if it never connected: one lost after it was
//!    sent may have posted, and a duplicate notice is worse than a late one). A wait that would pass the deadline is not started: the call returns
//!    [`ApiError::RateLimited`] or [`ApiError::Unavailable`] at once, without sending.
//!
//! The client remembers each member's DM channel (a second DM to them is one request) and
//! each guild's owner for 10 minutes (the worker asks before acting on anyone), both in
//! bounded maps.
//!
//! # Rate-limit state is per worker instance
//!
//! Bucket state, the global limit and the invalid-request count live in one [`DiscordRest`],
//! which a worker builds once per instance. Instances do not share it: the worker's reserved
//! concurrency bounds how many instances exist, so the app-wide request rate is at most
//! instances × the bucket's limit, and Discord's per-route buckets are shared across instances
//! only through 429 handling: an instance that meets a bucket another instance emptied gets
//! one 429, blocks that bucket for its `retry_after`, and sends nothing more to it until then.
//! Sharing the state through the store would cost a round trip per call to save a rare 429.
//! Within one instance, concurrent callers never overshoot a bucket whose headers it has seen:
//! only another instance's use of the same bucket can cause a 429, and then only one.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

use super::ttl_map::TtlMap;
use crate::discord::render_channel_message;
use crate::platform::{ApiError, DiscordApi};
use crate::reply::Reply;

pub const DEFAULT_API_BASE: &str = "https://discord.com/api/v10";

/// Discord counts invalid requests over 10 minutes.
const INVALID_WINDOW: Duration = Duration::from_secs(600);
/// The global limit is counted per second.
const GLOBAL_WINDOW: Duration = Duration::from_secs(1);
/// First wait after a 5xx or a transport failure; doubled for each further retry.
const BACKOFF_START: Duration = Duration::from_millis(250);
/// A wait or a retry is only worth it with at least this long left before the deadline.
const MIN_ATTEMPT: Duration = Duration::from_millis(100);
/// Bounds one call's attempts even when Discord keeps answering "retry after 0".
const MAX_ATTEMPTS: u32 = 8;
/// One attempt's own limit, below any sensible deadline: a hung connection must not hold a
/// bucket slot for the whole budget.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Added to every reset Discord announces: the headers carry milliseconds, rounded, and being
/// a little late costs far less than a 429.
const RESET_MARGIN: Duration = Duration::from_millis(20);
/// Longest wait a header may impose; anything longer is a broken header, not a rate limit.
const MAX_WAIT: Duration = Duration::from_secs(3600);
/// Discord accepts at most 512 characters of audit-log reason.
const AUDIT_REASON_MAX_CHARS: usize = 512;
/// Past this many tracked buckets, idle ones are forgotten (one exists per channel and guild).
const PRUNE_ABOVE: usize = 4096;
/// Discord wants `DiscordBot ($url, $version)`; Gavel has no public URL, so its name stands in.
const USER_AGENT: &str = concat!("DiscordBot (Gavel, ", env!("CARGO_PKG_VERSION"), ")");
/// Discord deletes at most seven days of a banned user's messages.
pub const MAX_DELETE_MESSAGE_SECS: u32 = 604_800;
/// A guild's owner rarely changes, and the worker asks before acting on anyone.
const GUILD_OWNER_TTL: Duration = Duration::from_secs(600);
/// How many DM channels and guild owners are remembered (one per member or guild met).
const REMEMBERED: usize = 1024;
/// Discord's JSON error code for "Unknown Ban".
const UNKNOWN_BAN: i64 = 10026;
/// Discord's JSON error code for "Cannot send messages to this user".
const CANNOT_MESSAGE_USER: i64 = 50007;

/// The limits the client keeps on its own side of Discord's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscordLimits {
    /// Bot-authenticated requests per second across the client (Discord's global limit is 50).
    pub global_per_sec: u32,
    /// 401/403/429 answers in 10 minutes after which nothing more is sent.
    pub invalid_cap: u32,
}

impl Default for DiscordLimits {
    fn default() -> Self {
        Self {
            global_per_sec: 50,
            invalid_cap: 1000,
        }
    }
}

/// A successful answer: its status and its JSON body (`Null` when empty, as for 204).
#[derive(Clone, Debug, PartialEq)]
pub struct DiscordReply {
    pub status: u16,
    pub body: Value,
}

pub struct DiscordRest {
    client: reqwest::Client,
    api_base: String,
    bot_token: Option<String>,
    application_id: Option<String>,
    limits: DiscordLimits,
    state: Mutex<State>,
    /// Woken whenever an answer changes what the waiters may do.
    answered: Notify,
    /// User → DM channel id: a DM channel never changes, so a second DM is one request.
    dm_channels: TtlMap<String>,
    /// Guild → owner's user id, for [`GUILD_OWNER_TTL`].
    guild_owners: TtlMap<String>,
}

impl std::fmt::Debug for DiscordRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordRest")
            .field("api_base", &self.api_base)
            .field("bot_token", &self.bot_token.as_ref().map(|_| "<redacted>"))
            .field("application_id", &self.application_id)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl DiscordRest {
    pub fn new(
        api_base: String,
        bot_token: Option<String>,
        application_id: Option<String>,
        limits: DiscordLimits,
    ) -> Result<Self, String> {
        if limits.global_per_sec == 0 || limits.invalid_cap == 0 {
            return Err("Discord limits must allow at least one request".to_owned());
        }
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| format!("could not build the HTTP client: {e}"))?;
        let nonempty = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        Ok(Self {
            client,
            api_base: api_base.trim_end_matches('/').to_owned(),
            bot_token: nonempty(bot_token),
            application_id: nonempty(application_id),
            limits,
            state: Mutex::new(State::default()),
            answered: Notify::new(),
            dm_channels: TtlMap::new(REMEMBERED, None),
            guild_owners: TtlMap::new(REMEMBERED, Some(GUILD_OWNER_TTL)),
        })
    }

    pub fn from_env() -> Result<Self, String> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self::new(
            env("DISCORD_API_BASE").unwrap_or_else(|| DEFAULT_API_BASE.to_owned()),
            env("DISCORD_BOT_TOKEN"),
            env("DISCORD_APPLICATION_ID"),
            DiscordLimits::default(),
        )
    }

    /// Any REST call, with every rate limit honoured: `path` starts after the API base
    /// (`/guilds/{guild}/bans/{user}`). Webhook and interaction routes with a token in the path
    /// are sent without the bot token. `audit_reason` becomes `X-Audit-Log-Reason`
    /// (percent-encoded, at most 512 characters), shown in the server's audit log.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        audit_reason: Option<&str>,
        deadline: std::time::Instant,
    ) -> Result<DiscordReply, ApiError> {
        self.request_accepting(method, path, body, audit_reason, &[], deadline)
            .await
    }

    /// [`Self::request`], where a 4xx answer carrying one of the `accepted` Discord error codes
    /// is returned as a reply instead of an error: the caller knows what it means.
    async fn request_accepting(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        audit_reason: Option<&str>,
        accepted: &[i64],
        deadline: std::time::Instant,
    ) -> Result<DiscordReply, ApiError> {
        let safe = path.starts_with('/')
            && !path.starts_with("//")
            && !path.split('/').any(|s| s == "." || s == "..")
            && !path.chars().any(|c| c.is_whitespace() || c.is_control());
        if !safe {
            return Err(ApiError::NotSent(format!(
                "{path:?} is not a Discord API path"
            )));
        }
        let route = Route::new(&method, path);
        let auth = route.auth;
        self.send(
            route,
            method,
            path,
            body,
            audit_reason,
            accepted,
            auth,
            Instant::from_std(deadline),
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        route: Route,
        method: Method,
        path: &str,
        body: Option<&Value>,
        audit_reason: Option<&str>,
        accepted: &[i64],
        auth: Auth,
        deadline: Instant,
    ) -> Result<DiscordReply, ApiError> {
        let authorization = match auth {
            Auth::Bot => match &self.bot_token {
                Some(token) => Some(format!("Bot {token}")),
                None => {
                    return Err(ApiError::NotSent(
                        "DISCORD_BOT_TOKEN is not set, so Gavel cannot act on Discord".to_owned(),
                    ));
                }
            },
            Auth::None => None,
        };
        let reason = audit_reason
            .filter(|r| !r.trim().is_empty())
            .map(encode_audit_reason);
        if Instant::now() >= deadline {
            // Worth another delivery later, like any call the time budget cut short.
            return Err(ApiError::Unavailable(
                "the call's deadline had passed before it started; nothing was sent".to_owned(),
            ));
        }
        let url = format!("{}{path}", self.api_base);
        let mut backoff = BACKOFF_START;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let permit = self.admit(&route, deadline).await?;
            let sent = self
                .attempt(
                    &method,
                    &url,
                    authorization.as_deref(),
                    body,
                    reason.as_deref(),
                    deadline,
                )
                .await;
            let now = Instant::now();
            let (status, headers, text) = match sent {
                Ok(answer) => answer,
                Err(failure) => {
                    permit.finish(now, None);
                    // A POST that failed after it left may have been done (a message posted);
                    // only a failure to connect proves it was not, so only that is retried.
                    let retryable = failure.connect || method != Method::POST;
                    if retryable && attempts < MAX_ATTEMPTS && fits(now + backoff, deadline) {
                        sleep_until(now + backoff).await;
                        backoff *= 2;
                        continue;
                    }
                    return Err(ApiError::Unavailable(failure.message));
                }
            };
            let body = if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            };
            let answer = Answer::read(status, &headers, &body);
            permit.finish(now, Some(&answer));
            if status.is_success() {
                return Ok(DiscordReply {
                    status: status.as_u16(),
                    body,
                });
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = answer.retry_after.unwrap_or(Duration::from_secs(1));
                tracing::warn!(route = %route.template, scope = ?answer.scope, wait_ms = wait.as_millis() as u64, "Discord answered 429");
                // The gates in `admit` now hold the request back until the wait is over.
                if attempts < MAX_ATTEMPTS && fits(now + wait, deadline) {
                    continue;
                }
                return Err(ApiError::RateLimited {
                    retry_after_ms: millis(wait),
                });
            }
            if status.is_server_error() {
                if attempts < MAX_ATTEMPTS && fits(now + backoff, deadline) {
                    sleep_until(now + backoff).await;
                    backoff *= 2;
                    continue;
                }
                return Err(ApiError::Unavailable(format!(
                    "Discord answered HTTP {} after {attempts} attempts",
                    status.as_u16()
                )));
            }
            let code = body.get("code").and_then(Value::as_i64);
            if status.is_client_error() && code.is_some_and(|c| accepted.contains(&c)) {
                return Ok(DiscordReply {
                    status: status.as_u16(),
                    body,
                });
            }
            return Err(refusal(status, auth, &body));
        }
    }

    /// Waits until every gate lets the request through, or fails at once when a gate would
    /// hold it past the deadline. The permit holds the bucket slot until the answer is read.
    async fn admit<'a>(
        &'a self,
        route: &'a Route,
        deadline: Instant,
    ) -> Result<Permit<'a>, ApiError> {
        loop {
            // Registered before the state is read, so an answer that lands in between still
            // wakes this waiter.
            let answered = self.answered.notified();
            tokio::pin!(answered);
            answered.as_mut().enable();
            let now = Instant::now();
            let step = self.lock().admit(route, now, deadline, &self.limits)?;
            match step {
                Step::Send { at } => {
                    let permit = Permit {
                        client: self,
                        route,
                        done: false,
                    };
                    if at > now {
                        sleep_until(at).await;
                    }
                    return Ok(permit);
                }
                Step::WaitUntil(until) => {
                    tokio::select! {
                        _ = &mut answered => {}
                        _ = sleep_until(until) => {}
                    }
                }
                Step::WaitForAnswer => {
                    tokio::select! {
                        _ = &mut answered => {}
                        _ = sleep_until(deadline) => {
                            // The bucket is held by requests in flight, each bounded by its own
                            // timeout; a second is the soonest a new attempt is worth making.
                            return Err(ApiError::RateLimited { retry_after_ms: 1000 });
                        }
                    }
                }
            }
        }
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &str,
        authorization: Option<&str>,
        body: Option<&Value>,
        reason: Option<&str>,
        deadline: Instant,
    ) -> Result<(StatusCode, HeaderMap, String), Failure> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure {
                connect: true,
                message: "the deadline passed before Discord answered".to_owned(),
            });
        }
        let mut request = self
            .client
            .request(method.clone(), url)
            .timeout(left.min(ATTEMPT_TIMEOUT));
        if let Some(authorization) = authorization {
            request = request.header(http::header::AUTHORIZATION, authorization);
        }
        if let Some(reason) = reason {
            request = request.header("X-Audit-Log-Reason", reason);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(Failure::from)?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(|e| Failure {
            // The request was sent: only the answer's body was lost.
            connect: false,
            ..Failure::from(e)
        })?;
        Ok((status, headers, text))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain counters, valid after any panic that poisoned the lock.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl DiscordApi for DiscordRest {
    async fn create_message(
        &self,
        channel_id: &str,
        content: &str,
        deadline: std::time::Instant,
    ) -> Result<String, ApiError> {
        if !is_snowflake(channel_id) {
            return Err(ApiError::NotSent(format!(
                "{channel_id:?} is not a Discord channel id"
            )));
        }
        let body = json!({ "content": content, "allowed_mentions": { "parse": [] } });
        let path = format!("/channels/{channel_id}/messages");
        let reply = self
            .request(Method::POST, &path, Some(&body), None, deadline)
            .await?;
        match reply.body.get("id").and_then(Value::as_str) {
            Some(id) => Ok(id.to_owned()),
            None => Err(ApiError::Rejected {
                status: reply.status,
                message: "Discord posted the message but answered without its id".to_owned(),
            }),
        }
    }

    async fn edit_original_response(
        &self,
        interaction_token: &str,
        content: &str,
        deadline: std::time::Instant,
    ) -> Result<(), ApiError> {
        let Some(application_id) = &self.application_id else {
            return Err(ApiError::NotSent(
                "DISCORD_APPLICATION_ID is not set, so interaction answers cannot be edited"
                    .to_owned(),
            ));
        };
        if !valid_interaction_token(interaction_token) {
            return Err(ApiError::NotSent(
                "the interaction token is malformed".to_owned(),
            ));
        }
        let body = json!({ "content": content, "allowed_mentions": { "parse": [] } });
        let path = format!("/webhooks/{application_id}/{interaction_token}/messages/@original");
        self.request(Method::PATCH, &path, Some(&body), None, deadline)
            .await
            .map(|_| ())
    }

    async fn create_followup(
        &self,
        interaction_token: &str,
        content: &str,
        deadline: std::time::Instant,
    ) -> Result<(), ApiError> {
        let Some(application_id) = &self.application_id else {
            return Err(ApiError::NotSent(
                "DISCORD_APPLICATION_ID is not set, so interactions cannot be followed up"
                    .to_owned(),
            ));
        };
        if !valid_interaction_token(interaction_token) {
            return Err(ApiError::NotSent(
                "the interaction token is malformed".to_owned(),
            ));
        }
        // Flag 64: ephemeral, like the moderator's own answer.
        let body = json!({
            "content": content,
            "flags": 64,
            "allowed_mentions": { "parse": [] }
        });
        let path = format!("/webhooks/{application_id}/{interaction_token}");
        self.request(Method::POST, &path, Some(&body), None, deadline)
            .await
            .map(|_| ())
    }

    async fn timeout_member(
        &self,
        guild: &str,
        user: &str,
        until: Option<i64>,
        reason: &str,
        deadline: std::time::Instant,
    ) -> Result<(), ApiError> {
        check_ids(&[("server", guild), ("user", user)])?;
        let until = match until {
            Some(secs) => Value::String(rfc3339(secs)?),
            None => Value::Null,
        };
        let body = json!({ "communication_disabled_until": until });
        let path = format!("/guilds/{guild}/members/{user}");
        self.request(Method::PATCH, &path, Some(&body), Some(reason), deadline)
            .await
            .map(|_| ())
    }

    async fn kick_member(
        &self,
        guild: &str,
        user: &str,
        reason: &str,
        deadline: std::time::Instant,
    ) -> Result<(), ApiError> {
        check_ids(&[("server", guild), ("user", user)])?;
        let path = format!("/guilds/{guild}/members/{user}");
        self.request(Method::DELETE, &path, None, Some(reason), deadline)
            .await
            .map(|_| ())
    }

    async fn ban_member(
        &self,
        guild: &str,
        user: &str,
        delete_message_secs: u32,
        reason: &str,
        deadline: std::time::Instant,
    ) -> Result<(), ApiError> {
        check_ids(&[("server", guild), ("user", user)])?;
        // Discord refuses the whole ban past seven days; the ban matters more than how much
        // history goes with it, so a longer request deletes the seven days Discord allows.
        let delete_message_secs = delete_message_secs.min(MAX_DELETE_MESSAGE_SECS);
        let body = json!({ "delete_message_seconds": delete_message_secs });
        let path = format!("/guilds/{guild}/bans/{user}");
        self.request(Method::PUT, &path, Some(&body), Some(reason), deadline)
            .await
            .map(|_| ())
    }

    async fn unban_member(
        &self,
        guild: &str,
        user: &str,
        reason: &str,
        deadline: std::time::Instant,
    ) -> Result<(), ApiError> {
        check_ids(&[("server", guild), ("user", user)])?;
        let path = format!("/guilds/{guild}/bans/{user}");
        // Unknown Ban: not banned, which is what the moderator asked for.
        self.request_accepting(
            Method::DELETE,
            &path,
            None,
            Some(reason),
            &[UNKNOWN_BAN],
            deadline,
        )
        .await
        .map(|_| ())
    }

    async fn send_dm(
        &self,
        user: &str,
        content: &str,
        deadline: std::time::Instant,
    ) -> Result<String, ApiError> {
        self.in_dm(user, deadline, |channel| async move {
            self.create_message(&channel, content, deadline).await
        })
        .await
    }

    async fn send_dm_reply(
        &self,
        user: &str,
        reply: &Reply,
        deadline: std::time::Instant,
    ) -> Result<String, ApiError> {
        self.in_dm(user, deadline, |channel| async move {
            self.post_reply(&channel, reply, deadline).await
        })
        .await
    }

    async fn guild_owner(
        &self,
        guild: &str,
        deadline: std::time::Instant,
    ) -> Result<String, ApiError> {
        check_ids(&[("server", guild)])?;
        if let Some(owner) = self.guild_owners.get(guild, std::time::Instant::now()) {
            return Ok(owner);
        }
        let path = format!("/guilds/{guild}");
        let reply = self
            .request(Method::GET, &path, None, None, deadline)
            .await?;
        let owner = answered_id(&reply, "owner_id", "sent the server")?;
        self.guild_owners
            .insert(guild, owner.clone(), std::time::Instant::now());
        Ok(owner)
    }

    async fn post_reply(
        &self,
        channel: &str,
        reply: &Reply,
        deadline: std::time::Instant,
    ) -> Result<String, ApiError> {
        check_ids(&[("channel", channel)])?;
        let body = serde_json::to_value(render_channel_message(reply)).map_err(|e| {
            ApiError::NotSent(format!("the message could not be written as JSON: {e}"))
        })?;
        let path = format!("/channels/{channel}/messages");
        let answer = self
            .request(Method::POST, &path, Some(&body), None, deadline)
            .await?;
        answered_id(&answer, "id", "posted the message")
    }
}

impl DiscordRest {
    /// Sends into the DM channel with `user`: the remembered one, or one opened now
    /// (`POST /users/@me/channels`), which is then remembered.
    async fn in_dm<F, Fut>(
        &self,
        user: &str,
        deadline: std::time::Instant,
        send: F,
    ) -> Result<String, ApiError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<String, ApiError>>,
    {
        check_ids(&[("user", user)])?;
        if let Some(channel) = self.dm_channels.get(user, std::time::Instant::now()) {
            match send(channel).await {
                // The remembered channel is gone (rare): open it again below, which replaces
                // it in the map.
                Err(ApiError::NotFound(_)) => {}
                done => return done,
            }
        }
        let body = json!({ "recipient_id": user });
        let reply = self
            .request(
                Method::POST,
                "/users/@me/channels",
                Some(&body),
                None,
                deadline,
            )
            .await?;
        let channel = answered_id(&reply, "id", "opened the DM channel")?;
        self.dm_channels
            .insert(user, channel.clone(), std::time::Instant::now());
        send(channel).await
    }
}

/// Refuses to send when an id is not a snowflake: it would change the request's path.
fn check_ids(ids: &[(&str, &str)]) -> Result<(), ApiError> {
    match ids.iter().find(|(_, id)| !is_snowflake(id)) {
        Some((kind, id)) => Err(ApiError::NotSent(format!(
            "{id:?} is not a Discord {kind} id"
        ))),
        None => Ok(()),
    }
}

/// Unix seconds as the RFC 3339 time Discord reads (`2026-01-02T03:04:05+00:00`).
fn rfc3339(unix_secs: i64) -> Result<String, ApiError> {
    twilight_model::util::Timestamp::from_secs(unix_secs)
        .map(|t| t.iso_8601().with_microseconds(false).to_string())
        .map_err(|_| ApiError::NotSent(format!("{unix_secs} is not a time Discord can read")))
}

/// The string id `field` of a successful answer.
fn answered_id(reply: &DiscordReply, field: &str, did: &str) -> Result<String, ApiError> {
    reply
        .body
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::Rejected {
            status: reply.status,
            message: format!("Discord {did} but answered without its {field}"),
        })
}

/// Interaction tokens go into URL paths: only their own alphabet may pass.
fn valid_interaction_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// Whether a request is sent with the bot token or authenticated by the token in its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Auth {
    Bot,
    None,
}

/// Which rate limits a request falls under.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Route {
    /// Method and path with every id replaced by a placeholder: the requests that share one
    /// `X-RateLimit-Bucket`.
    template: String,
    /// The top-level resource that Discord counts each bucket per (`channels/123`); a token
    /// in it is hashed, so the state and the logs never hold one.
    major: String,
    auth: Auth,
}

impl Route {
    fn new(method: &Method, path: &str) -> Self {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut parts: Vec<String> = Vec::with_capacity(segments.len());
        let mut major = String::new();
        let mut auth = Auth::Bot;
        let mut rest = 0;
        match segments.as_slice() {
            [kind @ ("webhooks" | "interactions"), id, token, ..] => {
                major = format!("{kind}/{id}/{:016x}", hash(token));
                auth = Auth::None;
                parts.extend([kind.to_string(), ":major".to_owned()]);
                rest = 3;
            }
            [kind @ ("channels" | "guilds" | "webhooks"), id, ..] => {
                major = format!("{kind}/{id}");
                parts.extend([kind.to_string(), ":major".to_owned()]);
                rest = 2;
            }
            _ => {}
        }
        let mut previous = "";
        for segment in &segments[rest..] {
            parts.push(if previous == "reactions" {
                ":emoji".to_owned()
            } else if is_snowflake(segment) {
                ":id".to_owned()
            } else {
                (*segment).to_owned()
            });
            previous = segment;
        }
        Self {
            template: format!("{method} /{}", parts.join("/")),
            major,
            auth,
        }
    }
}

fn hash(value: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

fn is_snowflake(value: &str) -> bool {
    (1..=20).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
}

fn fits(at: Instant, deadline: Instant) -> bool {
    at + MIN_ATTEMPT <= deadline
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Discord wants the reason URL-encoded (UTF-8); everything but the unreserved characters is
/// escaped, so any language survives the header.
fn encode_audit_reason(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let end = reason
        .char_indices()
        .nth(AUDIT_REASON_MAX_CHARS)
        .map_or(reason.len(), |(i, _)| i);
    for b in reason[..end].bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The error for a 4xx other than 429, in words for the moderator who asked.
fn refusal(status: StatusCode, auth: Auth, body: &Value) -> ApiError {
    let code = body.get("code").and_then(Value::as_i64);
    let said = body
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("no reason").to_owned());
    if code == Some(CANNOT_MESSAGE_USER) {
        // Sometimes a 400: still a member's setting, not a malformed request.
        return ApiError::Forbidden {
            message: cannot_message_user(&said),
        };
    }
    match status {
        StatusCode::UNAUTHORIZED if auth == Auth::Bot => ApiError::Rejected {
            status: 401,
            message: format!("{BAD_TOKEN}; Gavel stopped calling Discord ({said})"),
        },
        StatusCode::FORBIDDEN => ApiError::Forbidden {
            message: match code {
                Some(50013) => format!("I lack the permissions for that here ({said})"),
                Some(50001) => {
                    format!("I have no access to that channel or server ({said})")
                }
                Some(CANNOT_MESSAGE_USER) => cannot_message_user(&said),
                _ => format!("Discord does not let me do that ({said})"),
            },
        },
        StatusCode::NOT_FOUND => ApiError::NotFound(match code {
            Some(code) => format!("{said} (Discord code {code})"),
            None => said,
        }),
        _ => ApiError::Rejected {
            status: status.as_u16(),
            message: match code {
                Some(code) => format!("{said} (Discord code {code})"),
                None => said,
            },
        },
    }
}

fn cannot_message_user(said: &str) -> String {
    format!(
        "that member does not accept direct messages from this server's members or from this app, so I could not DM them ({said})"
    )
}

const BAD_TOKEN: &str = "Discord rejected the bot token (HTTP 401): check DISCORD_BOT_TOKEN";

/// A failed attempt that got no HTTP answer.
struct Failure {
    /// The connection was never made, so the request certainly was not done.
    connect: bool,
    message: String,
}

impl From<reqwest::Error> for Failure {
    fn from(e: reqwest::Error) -> Self {
        let connect = e.is_connect();
        // `without_url`: webhook URLs carry the interaction token. reqwest's own text is generic
        // ("error sending request"); the causes say what happened.
        let e = e.without_url();
        let mut message = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            let _ = write!(message, ": {c}");
            cause = c.source();
        }
        Self { connect, message }
    }
}

/// What an answer says about the rate limits.
#[derive(Clone, Debug, Default, PartialEq)]
struct Answer {
    status: u16,
    bucket: Option<String>,
    limits: Option<BucketHeaders>,
    retry_after: Option<Duration>,
    scope: Option<String>,
    global: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct BucketHeaders {
    limit: u32,
    remaining: u32,
    reset_after: Duration,
}

impl Answer {
    fn read(status: StatusCode, headers: &HeaderMap, body: &Value) -> Self {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        let seconds = |v: f64| Duration::try_from_secs_f64(v).ok().map(|d| d.min(MAX_WAIT));
        let limits = (|| {
            Some(BucketHeaders {
                limit: header("x-ratelimit-limit")?.parse().ok()?,
                remaining: header("x-ratelimit-remaining")?.parse().ok()?,
                reset_after: seconds(header("x-ratelimit-reset-after")?.parse().ok()?)?,
            })
        })();
        let scope = header("x-ratelimit-scope").map(str::to_ascii_lowercase);
        let is_429 = status == StatusCode::TOO_MANY_REQUESTS;
        // The body's `retry_after` has milliseconds; the `Retry-After` header whole seconds.
        let retry_after = is_429
            .then(|| {
                body.get("retry_after")
                    .and_then(Value::as_f64)
                    .or_else(|| header("retry-after")?.parse().ok())
                    .and_then(seconds)
                    .or(limits.map(|l| l.reset_after))
            })
            .flatten();
        let global = is_429
            && (scope.as_deref() == Some("global")
                || header("x-ratelimit-global") == Some("true")
                || body.get("global").and_then(Value::as_bool) == Some(true));
        Self {
            status: status.as_u16(),
            bucket: header("x-ratelimit-bucket")
                .filter(|b| !b.is_empty())
                .map(str::to_owned),
            limits,
            retry_after,
            scope,
            global,
        }
    }
}

/// A reserved bucket slot; released with what the answer said, or, if the caller gave up
/// first, released without returning the slot (the request may have been counted).
struct Permit<'a> {
    client: &'a DiscordRest,
    route: &'a Route,
    done: bool,
}

impl Permit<'_> {
    fn finish(mut self, now: Instant, answer: Option<&Answer>) {
        self.done = true;
        self.client.lock().finish(self.route, now, answer);
        self.client.answered.notify_waiters();
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.client.lock().finish(self.route, Instant::now(), None);
            self.client.answered.notify_waiters();
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Sent at `at` (now, or the global limit's next free slot).
    Send {
        at: Instant,
    },
    WaitUntil(Instant),
    /// Every slot is held by requests in flight; their answers say what comes next.
    WaitForAnswer,
}

#[derive(Debug, Default)]
struct State {
    /// Route template → Discord's bucket id.
    bucket_ids: HashMap<String, String>,
    /// `{bucket id or route template}|{major}` → the bucket's counters.
    buckets: HashMap<String, Bucket>,
    /// Send times of the last `global_per_sec` bot-authenticated requests (some in the future:
    /// reserved slots).
    global_sends: VecDeque<Instant>,
    global_blocked_until: Option<Instant>,
    /// Arrival times of the 401/403/429 answers of the last 10 minutes.
    invalid: VecDeque<Instant>,
    /// Requests admitted and not yet answered.
    in_flight: u32,
    /// Why nothing is sent any more (a 401 on the bot token).
    disabled: Option<String>,
}

impl State {
    fn key(&self, route: &Route) -> String {
        let id = self
            .bucket_ids
            .get(&route.template)
            .unwrap_or(&route.template);
        format!("{id}|{}", route.major)
    }

    fn admit(
        &mut self,
        route: &Route,
        now: Instant,
        deadline: Instant,
        limits: &DiscordLimits,
    ) -> Result<Step, ApiError> {
        // Webhook and interaction routes carry their own token, so a moderator can still be
        // told that the bot token was refused.
        if route.auth == Auth::Bot
            && let Some(why) = &self.disabled
        {
            return Err(ApiError::NotSent(why.clone()));
        }
        while self
            .invalid
            .front()
            .is_some_and(|t| *t + INVALID_WINDOW <= now)
        {
            self.invalid.pop_front();
        }
        let invalid = self.invalid.len() as u64;
        if invalid + u64::from(self.in_flight) >= u64::from(limits.invalid_cap) {
            let frees_in = self.invalid.front().map_or(Duration::ZERO, |t| {
                (*t + INVALID_WINDOW).saturating_duration_since(now)
            });
            return Err(ApiError::NotSent(format!(
                "invalid-request cap reached: {invalid} refused answers (401/403/429) in the last \
                 10 minutes and {} requests in flight, cap {}; sending resumes within {} s",
                self.in_flight,
                limits.invalid_cap,
                frees_in.as_secs() + 1
            )));
        }
        if route.auth == Auth::Bot
            && let Some(until) = self.global_blocked_until.filter(|u| *u > now)
        {
            return wait_until(until, now, deadline);
        }
        let key = self.key(route);
        let bucket = self.buckets.entry(key).or_default();
        match bucket.reserve(now) {
            Step::Send { .. } => {}
            Step::WaitUntil(until) => return wait_until(until, now, deadline),
            Step::WaitForAnswer => return Ok(Step::WaitForAnswer),
        }
        let mut at = now;
        if route.auth == Auth::Bot {
            let per_sec = limits.global_per_sec as usize;
            if self.global_sends.len() >= per_sec
                && let Some(oldest) = self.global_sends.front()
            {
                at = at.max(*oldest + GLOBAL_WINDOW);
            }
            if at > now && !fits(at, deadline) {
                bucket.unreserve();
                return Err(ApiError::RateLimited {
                    retry_after_ms: millis(at - now),
                });
            }
            self.global_sends.push_back(at);
            while self.global_sends.len() > per_sec {
                self.global_sends.pop_front();
            }
        }
        self.in_flight += 1;
        Ok(Step::Send { at })
    }

    fn finish(&mut self, route: &Route, now: Instant, answer: Option<&Answer>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if let Some(id) = answer.and_then(|a| a.bucket.as_ref()) {
            self.learn_bucket_id(route, id);
        }
        let key = self.key(route);
        let bucket = self.buckets.entry(key).or_default();
        bucket.in_flight = bucket.in_flight.saturating_sub(1);
        bucket.roll(now);
        if let Some(answer) = answer {
            match answer.limits {
                Some(headers) => bucket.learn(now, headers),
                // A real answer without the headers: the route has no per-route limit.
                None if answer.status < 500 && answer.status != 429 && bucket.limit.is_none() => {
                    bucket.unlimited = true;
                }
                None => {}
            }
            let wait = answer.retry_after.unwrap_or(Duration::from_secs(1));
            match answer.status {
                429 if answer.global => {
                    let until = now + wait + RESET_MARGIN;
                    self.global_blocked_until = self.global_blocked_until.max(Some(until));
                }
                429 => bucket.block_until(now + wait + RESET_MARGIN),
                _ => {}
            }
            let counted = match answer.status {
                401 | 403 => true,
                429 => answer.scope.as_deref() != Some("shared"),
                _ => false,
            };
            if counted {
                self.invalid.push_back(now);
            }
            if answer.status == 401 && route.auth == Auth::Bot {
                self.disabled = Some(format!(
                    "{BAD_TOKEN}; nothing more is sent until Gavel restarts with a valid token"
                ));
            }
        }
        if self.buckets.len() > PRUNE_ABOVE {
            self.buckets.retain(|_, b| !b.idle(now));
        }
    }

    /// Moves a route's counters under the bucket id Discord named, merging with what other
    /// routes of the same bucket already learned.
    fn learn_bucket_id(&mut self, route: &Route, id: &str) {
        if self.bucket_ids.get(&route.template).map(String::as_str) == Some(id) {
            return;
        }
        let old = self.key(route);
        self.bucket_ids
            .insert(route.template.clone(), id.to_owned());
        let new = self.key(route);
        if let Some(moved) = self.buckets.remove(&old) {
            match self.buckets.get_mut(&new) {
                // The id's counters came from answers too; they stay, and the requests still
                // in flight under the route take slots from them.
                Some(existing) => {
                    existing.in_flight += moved.in_flight;
                    existing.remaining = existing.remaining.saturating_sub(moved.in_flight);
                }
                None => {
                    self.buckets.insert(new, moved);
                }
            }
        }
    }
}

fn wait_until(until: Instant, now: Instant, deadline: Instant) -> Result<Step, ApiError> {
    if !fits(until, deadline) {
        Err(ApiError::RateLimited {
            retry_after_ms: millis(until - now),
        })
    } else {
        Ok(Step::WaitUntil(until))
    }
}

/// One bucket's counters, for one top-level resource.
///
/// Safety argument: `remaining` counts the slots left in the current window after every
/// reservation, and an answer can only lower it (to the answer's `remaining` less the requests
/// still in flight), never raise it. Only the end of the window restores it, to the limit less
/// the requests still in flight (they may land in the new window). The window ends at the
/// latest reset any answer announced, and an answer's reset is never earlier than the server's
/// (the answer left the server before it arrived), so a request the client forgets has landed
/// in a window the server has closed too.
#[derive(Debug, Default)]
struct Bucket {
    /// `X-RateLimit-Limit`; unknown until an answer said it.
    limit: Option<u32>,
    remaining: u32,
    /// When the current window ends; `None` after it ended, until an answer starts the next.
    reset_at: Option<Instant>,
    in_flight: u32,
    /// Answers came without rate-limit headers: no per-route limit applies.
    unlimited: bool,
}

impl Bucket {
    fn roll(&mut self, now: Instant) {
        if self.reset_at.is_some_and(|r| now >= r) {
            self.reset_at = None;
            self.remaining = self
                .limit
                .map_or(0, |limit| limit.saturating_sub(self.in_flight));
        }
    }

    fn reserve(&mut self, now: Instant) -> Step {
        self.roll(now);
        let go = if self.unlimited {
            true
        } else if self.remaining > 0 && self.limit.is_some() {
            self.remaining -= 1;
            true
        } else if let Some(reset) = self.reset_at {
            return Step::WaitUntil(reset);
        } else {
            // Nothing known about the current window: one request at a time until an answer
            // tells (a route's first request, or after the in-flight ones took every slot).
            self.in_flight == 0
        };
        if go {
            self.in_flight += 1;
            Step::Send { at: now }
        } else {
            Step::WaitForAnswer
        }
    }

    /// Gives back a reservation that was never sent (the global limit refused it).
    fn unreserve(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.limit.is_some() && !self.unlimited {
            self.remaining += 1;
        }
    }

    fn learn(&mut self, now: Instant, headers: BucketHeaders) {
        let known = self.limit.is_some() && !self.unlimited;
        self.unlimited = false;
        self.limit = Some(headers.limit.max(1));
        let left = headers.remaining.saturating_sub(self.in_flight);
        let reset = now + headers.reset_after + RESET_MARGIN;
        self.remaining = if known {
            self.remaining.min(left)
        } else {
            left
        };
        self.reset_at = Some(self.reset_at.map_or(reset, |r| r.max(reset)));
    }

    fn block_until(&mut self, until: Instant) {
        self.unlimited = false;
        self.remaining = 0;
        self.reset_at = Some(self.reset_at.map_or(until, |r| r.max(until)));
    }

    fn idle(&self, now: Instant) -> bool {
        self.in_flight == 0 && self.reset_at.is_none_or(|r| r <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_keep_the_top_level_resource_and_hide_other_ids() {
        let r = Route::new(&Method::POST, "/channels/123/messages");
        assert_eq!(r.template, "POST /channels/:major/messages");
        assert_eq!(r.major, "channels/123");
        assert_eq!(r.auth, Auth::Bot);

        let r = Route::new(&Method::DELETE, "/channels/123/messages/456?x=1");
        assert_eq!(r.template, "DELETE /channels/:major/messages/:id");

        let r = Route::new(&Method::PUT, "/guilds/9/bans/77");
        assert_eq!(
            (r.template.as_str(), r.major.as_str()),
            ("PUT /guilds/:major/bans/:id", "guilds/9")
        );

        let r = Route::new(
            &Method::PUT,
            "/channels/1/messages/2/reactions/%F0%9F%91%8D/@me",
        );
        assert_eq!(
            r.template,
            "PUT /channels/:major/messages/:id/reactions/:emoji/@me"
        );

        let r = Route::new(&Method::GET, "/users/@me");
        assert_eq!(
            (r.template.as_str(), r.major.as_str()),
            ("GET /users/@me", "")
        );
    }

    #[test]
    fn moderation_routes_share_a_bucket_per_guild() {
        let a = Route::new(&Method::PATCH, "/guilds/9/members/77");
        let b = Route::new(&Method::PATCH, "/guilds/9/members/78");
        let c = Route::new(&Method::PATCH, "/guilds/10/members/77");
        assert_eq!(a.template, "PATCH /guilds/:major/members/:id");
        assert_eq!((a.template == b.template, a.major == b.major), (true, true));
        assert_eq!(
            (a.template == c.template, a.major == c.major),
            (true, false)
        );
        assert_eq!(
            Route::new(&Method::DELETE, "/guilds/9/bans/77").template,
            "DELETE /guilds/:major/bans/:id"
        );
        assert_eq!(
            Route::new(&Method::GET, "/guilds/9").template,
            "GET /guilds/:major"
        );
        let dm = Route::new(&Method::POST, "/users/@me/channels");
        assert_eq!(
            (dm.template.as_str(), dm.major.as_str(), dm.auth),
            ("POST /users/@me/channels", "", Auth::Bot)
        );
    }

    #[test]
    fn timeouts_are_sent_as_rfc3339_in_utc() {
        assert_eq!(rfc3339(0).unwrap(), "1970-01-01T00:00:00+00:00");
        assert_eq!(rfc3339(1_800_000_000).unwrap(), "2027-01-15T08:00:00+00:00");
        assert!(matches!(rfc3339(i64::MAX), Err(ApiError::NotSent(_))));
    }

    #[test]
    fn token_routes_go_without_the_bot_token_and_never_keep_the_token() {
        let r = Route::new(
            &Method::PATCH,
            "/webhooks/42/secret-token/messages/@original",
        );
        assert_eq!(r.template, "PATCH /webhooks/:major/messages/@original");
        assert_eq!(r.auth, Auth::None);
        assert!(r.major.starts_with("webhooks/42/"));
        assert!(!r.major.contains("secret-token"));
        // Another interaction's token is another bucket.
        let other = Route::new(&Method::PATCH, "/webhooks/42/other/messages/@original");
        assert_ne!(r.major, other.major);

        let r = Route::new(&Method::POST, "/interactions/5/tok/callback");
        assert_eq!(
            (r.template.as_str(), r.auth),
            ("POST /interactions/:major/callback", Auth::None)
        );

        // A webhook read by id alone is a bot call.
        assert_eq!(Route::new(&Method::GET, "/webhooks/42").auth, Auth::Bot);
    }

    #[test]
    fn audit_reasons_are_percent_encoded_and_capped() {
        assert_eq!(encode_audit_reason("spam"), "spam");
        assert_eq!(
            encode_audit_reason("spam, répété – 3×"),
            "spam%2C%20r%C3%A9p%C3%A9t%C3%A9%20%E2%80%93%203%C3%97"
        );
        let long = "é".repeat(600);
        assert_eq!(encode_audit_reason(&long), "%C3%A9".repeat(512));
    }

    #[test]
    fn refusals_read_as_moderators_need() {
        let forbidden = |code, message: &str| {
            refusal(
                StatusCode::FORBIDDEN,
                Auth::Bot,
                &json!({ "code": code, "message": message }),
            )
        };
        assert_eq!(
            forbidden(50013, "Missing Permissions"),
            ApiError::Forbidden {
                message: "I lack the permissions for that here (Missing Permissions)".to_owned()
            }
        );
        for status in [StatusCode::FORBIDDEN, StatusCode::BAD_REQUEST] {
            assert!(matches!(
                refusal(status, Auth::Bot, &json!({ "code": 50007, "message": "Cannot send messages to this user" })),
                ApiError::Forbidden { message } if message.contains("does not accept direct messages")
            ));
        }
        assert!(matches!(forbidden(50001, "Missing Access"),
            ApiError::Forbidden { message } if message.contains("no access") && message.contains("Missing Access")));
        assert_eq!(
            refusal(
                StatusCode::NOT_FOUND,
                Auth::Bot,
                &json!({ "code": 10003, "message": "Unknown Channel" })
            ),
            ApiError::NotFound("Unknown Channel (Discord code 10003)".to_owned())
        );
        assert_eq!(
            refusal(StatusCode::BAD_REQUEST, Auth::Bot, &Value::Null),
            ApiError::Rejected {
                status: 400,
                message: "Bad Request".to_owned()
            }
        );
        // A webhook's 401 is that interaction's token, not the bot's.
        assert!(matches!(
            refusal(StatusCode::UNAUTHORIZED, Auth::None, &json!({ "code": 50027, "message": "Invalid Webhook Token" })),
            ApiError::Rejected { status: 401, message } if message.contains("Invalid Webhook Token")
        ));
    }

    #[test]
    fn answers_read_the_rate_limit_headers_and_the_429_body() {
        let mut headers = HeaderMap::new();
        for (k, v) in [
            ("X-RateLimit-Limit", "5"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset-After", "0.250"),
            ("X-RateLimit-Bucket", "abcd"),
            ("X-RateLimit-Scope", "shared"),
            ("Retry-After", "1"),
        ] {
            headers.insert(k, v.parse().unwrap());
        }
        let a = Answer::read(
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            &json!({ "retry_after": 0.75, "global": false }),
        );
        assert_eq!(a.bucket.as_deref(), Some("abcd"));
        assert_eq!(
            a.limits,
            Some(BucketHeaders {
                limit: 5,
                remaining: 0,
                reset_after: Duration::from_millis(250)
            })
        );
        assert_eq!(a.retry_after, Some(Duration::from_millis(750)));
        assert_eq!((a.scope.as_deref(), a.global), (Some("shared"), false));

        // Without a body, the header's seconds; with scope global, global.
        headers.insert("X-RateLimit-Scope", "global".parse().unwrap());
        let a = Answer::read(StatusCode::TOO_MANY_REQUESTS, &headers, &Value::Null);
        assert_eq!(
            (a.retry_after, a.global),
            (Some(Duration::from_secs(1)), true)
        );

        // A success carries no retry.
        let a = Answer::read(StatusCode::OK, &headers, &Value::Null);
        assert_eq!((a.retry_after, a.global), (None, false));
    }

    fn headers(limit: u32, remaining: u32, reset_ms: u64) -> BucketHeaders {
        BucketHeaders {
            limit,
            remaining,
            reset_after: Duration::from_millis(reset_ms),
        }
    }

    #[test]
    fn a_new_bucket_sends_one_request_until_the_first_answer() {
        let now = Instant::now();
        let mut b = Bucket::default();
        assert_eq!(b.reserve(now), Step::Send { at: now });
        assert_eq!(b.reserve(now), Step::WaitForAnswer);
        b.in_flight -= 1;
        b.learn(now, headers(5, 4, 1000));
        for _ in 0..4 {
            assert_eq!(b.reserve(now), Step::Send { at: now });
        }
        assert!(matches!(b.reserve(now), Step::WaitUntil(_)));
    }

    #[test]
    fn late_answers_never_hand_back_slots_in_the_same_window() {
        let now = Instant::now();
        let mut b = Bucket::default();
        b.reserve(now);
        b.in_flight -= 1;
        b.learn(now, headers(5, 4, 1000));
        for _ in 0..4 {
            b.reserve(now);
        }
        // Answers in reverse order: the one saying "3 left" arrives last and must not reopen.
        for remaining in [0, 1, 2, 3] {
            b.in_flight -= 1;
            b.learn(now, headers(5, remaining, 900));
            assert_eq!(b.remaining, 0);
        }
        // The window's end restores the limit; the next answer starts the next window.
        let later = now + Duration::from_secs(2);
        b.reserve(later);
        b.reserve(later);
        assert_eq!((b.remaining, b.in_flight), (3, 2));
        b.in_flight -= 1;
        b.learn(later, headers(5, 3, 1000));
        assert_eq!(
            b.remaining, 2,
            "the other request in flight takes a slot the answer counted free"
        );
        // At that window's end, the request still in flight may land in the new one.
        b.roll(later + Duration::from_secs(2));
        assert_eq!(b.remaining, 4);
    }

    #[test]
    fn a_429_blocks_the_bucket_until_its_retry_after() {
        let now = Instant::now();
        let mut b = Bucket::default();
        b.learn(now, headers(5, 3, 100));
        b.block_until(now + Duration::from_millis(500));
        assert_eq!(
            b.reserve(now + Duration::from_millis(200)),
            Step::WaitUntil(now + Duration::from_millis(500))
        );
        assert_eq!(
            b.reserve(now + Duration::from_millis(500)),
            Step::Send {
                at: now + Duration::from_millis(500)
            }
        );
    }

    #[test]
    fn debug_redacts_the_token() {
        let client = DiscordRest::new(
            "http://127.0.0.1:1/".to_owned(),
            Some("MTIz.secret".to_owned()),
            Some("42".to_owned()),
            DiscordLimits::default(),
        )
        .unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("<redacted>") && shown.contains("http://127.0.0.1:1\""));
    }

    #[test]
    fn zero_limits_are_refused() {
        let limits = DiscordLimits {
            global_per_sec: 0,
            ..DiscordLimits::default()
        };
        assert!(DiscordRest::new(DEFAULT_API_BASE.to_owned(), None, None, limits).is_err());
    }
}
