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

mod answer;
mod audit_reason;
mod automod;
mod endpoints;
mod errors;
mod limits;
mod routes;

use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};
use serde_json::Value;
use tokio::time::{Instant, sleep_until};

use self::answer::Answer;
use self::audit_reason::encode_audit_reason;
use self::errors::{Failure, refusal};
use self::limits::{Permit, State};
use self::routes::{Auth, Route};
use super::env::{self, ConfigError};
use super::http_limits::{Gate, fits, millis};
use super::secret_registry::{NOT_CONFIGURED, configured};
use crate::platform::ApiError;
use crate::ttl_map::TtlMap;

pub const DEFAULT_API_BASE: &str = "https://discord.com/api/v10";

/// First wait after a 5xx or a transport failure; doubled for each further retry.
const BACKOFF_START: Duration = Duration::from_millis(250);
/// Bounds one call's attempts even when Discord keeps answering "retry after 0".
const MAX_ATTEMPTS: u32 = 8;
/// One attempt's own limit, below any sensible deadline: a hung connection must not hold a
/// bucket slot for the whole budget.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Discord wants `DiscordBot ($url, $version)`; Gavel has no public URL, so its name stands in.
const USER_AGENT: &str = concat!("DiscordBot (Gavel, ", env!("CARGO_PKG_VERSION"), ")");
/// Discord deletes at most seven days of a banned user's messages.
pub const MAX_DELETE_MESSAGE_SECS: u32 = 604_800;
/// A guild's owner rarely changes, and the worker asks before acting on anyone.
const GUILD_OWNER_TTL: Duration = Duration::from_secs(600);
/// How many DM channels and guild owners are remembered (one per member or guild met).
const REMEMBERED: usize = 1024;

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
    /// Rate-limit state, and the waiters it holds back.
    limiter: Gate<State>,
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
    ) -> Result<Self, ConfigError> {
        if limits.global_per_sec == 0 || limits.invalid_cap == 0 {
            return Err(ConfigError::NoRequestsAllowed {
                what: "Discord limits",
            });
        }
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        let nonempty = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        Ok(Self {
            client,
            api_base: api_base.trim_end_matches('/').to_owned(),
            // A placeholder `gavel deploy secrets` wrote is no token: calls say so (below)
            // instead of earning Discord's 401s, which it counts against the IP.
            bot_token: configured(bot_token),
            application_id: nonempty(application_id),
            limits,
            limiter: Gate::default(),
            dm_channels: TtlMap::new(REMEMBERED, None),
            guild_owners: TtlMap::new(REMEMBERED, Some(GUILD_OWNER_TTL)),
        })
    }

    /// `DISCORD_API_BASE` (default [`DEFAULT_API_BASE`]), `DISCORD_BOT_TOKEN`,
    /// `DISCORD_APPLICATION_ID`, with the default [`DiscordLimits`].
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new(
            env::var("DISCORD_API_BASE").unwrap_or_else(|| DEFAULT_API_BASE.to_owned()),
            env::var("DISCORD_BOT_TOKEN"),
            env::var("DISCORD_APPLICATION_ID"),
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
                    return Err(ApiError::NotSent(format!(
                        "DISCORD_BOT_TOKEN {NOT_CONFIGURED}, so Gavel cannot act on Discord"
                    )));
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
            let permit = self.take_slot(&route, deadline).await?;
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
                crate::telemetry::metrics::count(
                    "Platform429",
                    &[
                        ("Platform", "discord"),
                        ("Bucket", &route.template.to_string()),
                    ],
                );
                // `take_slot` now holds the request back until the wait is over.
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

    /// Waits until every limit lets the request through, or fails at once when one would
    /// hold it past the deadline. The permit holds the bucket slot until the answer is read.
    async fn take_slot<'a>(
        &'a self,
        route: &'a Route,
        deadline: Instant,
    ) -> Result<Permit<'a>, ApiError> {
        self.limiter
            .wait_for_slot(
                deadline,
                |state, now| state.reserve(route, now, deadline, &self.limits),
                || Permit::new(&self.limiter, route),
            )
            .await
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
