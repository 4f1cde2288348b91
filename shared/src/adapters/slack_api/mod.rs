//! The Slack Web API client the worker uses: `chat.postMessage` (notices, DMs, Block Kit
//! replies), `conversations.kick`, posts to an interaction's `response_url`, and any other Web
//! API method by its tier ([`SlackApiClient::call`]), all paced so that Slack rarely has to
//! answer 429. The edge uses it too ([`SlackWeb`]): for `views.open`, and to learn who may
//! moderate (`users.info`, `usergroups.users.list`), answers it keeps for five minutes because
//! the edge asks on every moderator command within Slack's 3 seconds.
//!
//! Configuration ([`SlackApiClient::from_env`]):
//! - `SLACK_API_BASE`: the Web API's base URL (default `https://slack.com/api`), for fakes.
//! - `SLACK_BOT_TOKEN`: the bot token (`xoxb-…`). Without it Web API calls are not sent
//!   ([`ApiError::NotSent`]); `response_url` posts need no token.
//! - `SLACK_RESPONSE_URL_PREFIX`: an extra accepted `response_url` prefix, for fakes. Otherwise
//!   only Slack's own `https://hooks.slack.com/` is accepted, so a payload can never make Gavel
//!   post somewhere else.
//!
//! # Rate limits
//!
//! Slack limits each Web API method per app and workspace by tier (Tier 1 about 1 call a
//! minute, Tier 2 20, Tier 3 50, Tier 4 100), and `chat.postMessage` to about one message per
//! second per channel. The client keeps a GCRA cursor ([`crate::ratelimit::gcra`]) per tiered
//! method and per channel for `chat.postMessage`, reserves the next free slot before each
//! request and sleeps until it. A wait that would end past the call's deadline is not started:
//! the call returns [`ApiError::RateLimited`] with the wait, and the slot stays free for others.
//! Slack tolerates short bursts of `chat.postMessage` but does not promise them; the client
//! spaces posts to one channel by a full interval (plus a small margin for network jitter), so
//! a moderation channel never sees a flood and Slack has no reason to refuse.
//!
//! When Slack answers 429 anyway, its `Retry-After` pushes the cursor back, so every request
//! queued on the same method or channel waits too, and the refused call is retried if the wait
//! fits before its deadline.
//!
//! The cursors live in this client's memory, so they are per worker instance: two instances
//! each pace themselves, not each other. The worker's reserved concurrency bounds the number of
//! instances, and Slack's `Retry-After` covers what local pacing cannot see. One client holds
//! one bot token, hence one workspace.
//!
//! # Retries
//!
//! 5xx answers, Slack's transient error codes and network failures are retried with backoff,
//! at most [`MAX_ATTEMPTS`] attempts and never past the deadline; then
//! [`ApiError::Unavailable`], which the worker treats as worth a later redelivery. Each
//! attempt takes its own slot, so a retried post still keeps its channel's pace.
//! `chat.postMessage` has no idempotency key, so a retry after an answer got lost may post
//! twice; a rare duplicate notice is preferred over a lost one (a redelivered job would repeat
//! it as well). After Slack refuses the bot token itself (`invalid_auth`, `token_revoked`, …),
//! further Web API calls are not sent: they cannot succeed until the token is replaced, and
//! repeated unauthorised requests only count against the app.
//!
//! # Why not slack-morphism's client
//!
//! slack-morphism (whose models Gavel uses) has a hyper client with a rate controller, but it
//! does not fit: its `chat.postMessage` limit is keyed by the method, not the channel, so posts
//! to different channels would queue behind each other at one per second; its tier limits only
//! apply when the token carries a team id; its throttle sleeps and 429 retries know no deadline
//! (`max_delay_timeout` is never read in 2.31) and 5xx answers are not retried. Its `hyper`
//! feature also compiles `ring` next to the `aws-lc-rs` the AWS SDK and reqwest already use
//! (with both, rustls no longer picks a default crypto provider by itself), plus
//! tokio-tungstenite and signal-hook for Socket Mode, which a Lambda never uses. reqwest is
//! already in the build, so this client is reqwest and a few dozen
//! lines of pacing over the existing GCRA math.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::ttl_map::TtlMap;
use crate::platform::{ApiError, SlackApi};
use crate::ratelimit::gcra::{self, BucketPolicy, Decision};
use crate::reply::Reply;
use crate::slack::render_message;
use crate::slack::web::{SlackWeb, SlackWebError};

pub const DEFAULT_API_BASE: &str = "https://slack.com/api";
const SLACK_HOOKS: &str = "https://hooks.slack.com/";

/// Attempts per call for 5xx answers and network failures (429s are bounded by the deadline).
pub const MAX_ATTEMPTS: u32 = 3;
/// The first backoff after a failed attempt; it doubles after each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// The longest one attempt may take, when the deadline is further away than that.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Less time than this before the deadline is not worth a request: it could not complete.
const MIN_ATTEMPT_TIME: Duration = Duration::from_millis(100);
/// A 429 without a readable `Retry-After` waits this long (Slack always sends one in seconds).
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Added to the channel interval: a connection set up for one request but not the next, or a
/// scheduling delay, lets two requests paced exactly one interval apart arrive closer than that.
const CHANNEL_PACING_MARGIN: Duration = Duration::from_millis(50);
/// Cursors whose time has passed are equivalent to absent ones; drop them once there are many.
const PRUNE_ABOVE: usize = 1024;
/// How much of an unexpected answer's body goes into an error message.
const BODY_SNIPPET_CHARS: usize = 200;
/// How long the edge trusts who is an admin and who is in a user group: it asks on every
/// moderator command, within Slack's 3 seconds, and a promotion may take this long to count.
const MODERATOR_LOOKUP_TTL: Duration = Duration::from_secs(300);
/// How many users and user groups those answers are kept for.
const REMEMBERED: usize = 1024;

/// A Web API method's rate-limit tier, as Slack's method documentation lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tier {
    /// About 1 call per minute (`admin.*`, rarely needed).
    One,
    /// About 20 per minute (`conversations.list`, …).
    Two,
    /// About 50 per minute (`conversations.kick`, `chat.delete`, `conversations.history`, …).
    Three,
    /// About 100 per minute (`users.info`, `chat.postEphemeral`, …).
    Four,
}

/// The pace the client keeps. [`Default`] follows Slack's published limits; tests shorten them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlackApiLimits {
    pub tier1: BucketPolicy,
    pub tier2: BucketPolicy,
    pub tier3: BucketPolicy,
    pub tier4: BucketPolicy,
    /// The least time between two `chat.postMessage` calls to one channel.
    pub channel_interval: Duration,
}

impl Default for SlackApiLimits {
    /// Each tier's per-minute budget, a tenth of it (at least one call) allowed at once, the
    /// rest spread over the minute: short bursts like Slack's, never more than the minute holds.
    fn default() -> Self {
        let per_minute = |capacity: u32| BucketPolicy {
            capacity,
            window_ms: 60_000,
            burst: (capacity / 10).max(1),
        };
        Self {
            tier1: per_minute(1),
            tier2: per_minute(20),
            tier3: per_minute(50),
            tier4: per_minute(100),
            channel_interval: Duration::from_secs(1),
        }
    }
}

impl SlackApiLimits {
    fn tier(&self, tier: Tier) -> BucketPolicy {
        match tier {
            Tier::One => self.tier1,
            Tier::Two => self.tier2,
            Tier::Three => self.tier3,
            Tier::Four => self.tier4,
        }
    }

    /// One post per interval (plus the margin), no burst.
    fn channel(&self) -> BucketPolicy {
        let window = self.channel_interval + CHANNEL_PACING_MARGIN;
        BucketPolicy {
            capacity: 1,
            window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX),
            burst: 1,
        }
    }
}

/// GCRA cursors by key (a method name, or `chat.postMessage` and a channel), in milliseconds
/// since the client was built. Reservations move a cursor before the request waits, so
/// concurrent callers line up one slot after another instead of all waking at once.
struct Pacer {
    origin: Instant,
    cursors: Mutex<HashMap<String, i64>>,
}

impl Pacer {
    fn new() -> Self {
        Self {
            origin: Instant::now(),
            cursors: Mutex::new(HashMap::new()),
        }
    }

    fn ms(&self, t: Instant) -> i64 {
        i64::try_from(t.saturating_duration_since(self.origin).as_millis()).unwrap_or(i64::MAX)
    }

    fn cursors(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        // The map holds plain numbers; a panic elsewhere cannot leave it half-updated.
        self.cursors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the next slot for `key` and returns how long to wait for it, unless the slot
    /// starts after `latest_start`: then nothing is taken and the wait is the error.
    fn reserve(
        &self,
        key: &str,
        policy: &BucketPolicy,
        now: Instant,
        latest_start: Instant,
    ) -> Result<Duration, Duration> {
        let now_ms = self.ms(now);
        let mut cursors = self.cursors();
        let current = cursors.get(key).copied();
        let wait_ms = current.map_or(0, |d| gcra::retry_after_ms(d, now_ms, policy));
        let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(u64::MAX));
        let start_ms = now_ms.saturating_add(wait_ms);
        if start_ms > self.ms(latest_start) || latest_start < now {
            return Err(wait);
        }
        // At the slot's start the request is allowed by construction; the new cursor is the one
        // GCRA gives a request arriving then.
        match gcra::decide(current, start_ms, policy) {
            Decision::Allowed { deadline_ms } => {
                if cursors.len() >= PRUNE_ABOVE {
                    cursors.retain(|_, d| *d > now_ms);
                }
                cursors.insert(key.to_owned(), deadline_ms);
                Ok(wait)
            }
            Decision::Denied { retry_after_ms } => Err(Duration::from_millis(
                u64::try_from(retry_after_ms).unwrap_or(u64::MAX),
            )),
        }
    }

    /// After a 429: no slot for `key` opens before `now + retry_after`.
    fn push_back(&self, key: &str, policy: &BucketPolicy, now: Instant, retry_after: Duration) {
        let tolerance = policy.max_ahead_ms() - policy.step_ms();
        let retry_ms = i64::try_from(retry_after.as_millis()).unwrap_or(i64::MAX);
        let blocked_until = self
            .ms(now)
            .saturating_add(retry_ms)
            .saturating_add(tolerance);
        let mut cursors = self.cursors();
        let cursor = cursors.entry(key.to_owned()).or_insert(blocked_until);
        *cursor = (*cursor).max(blocked_until);
    }
}

/// Which kind of endpoint answered: they report success and errors differently.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    /// `{api_base}/{method}`: JSON with `ok`, errors as `ok: false` with HTTP 200. The error
    /// codes in `handled` mean something particular to the caller, which reads them itself:
    /// such an answer comes back as it is, `ok: false` included.
    WebApi { handled: &'static [&'static str] },
    /// An interaction's `response_url`: plain `ok`, or an error status or code.
    ResponseUrl,
}

/// How a Web API call's arguments travel: JSON for the methods that write, a form for the
/// older read methods (`users.info`, `conversations.info`, `usergroups.users.list`), which
/// ignore a JSON body and answer as if no argument had been sent.
#[derive(Clone, Copy)]
enum WebArgs<'a> {
    Json(&'a Value),
    Form(&'a [(&'a str, &'a str)]),
}

/// What one attempt came to.
enum Attempt {
    Done(Result<Value, ApiError>),
    /// HTTP 429, with Slack's `Retry-After`.
    RateLimited(Duration),
    /// Worth another attempt: a 5xx, a transient error code, a network failure.
    Transient(String),
}

/// The Slack Web API over HTTPS, with Slack's rate limits honoured. See the module docs.
pub struct SlackApiClient {
    http: reqwest::Client,
    api_base: String,
    token: Option<String>,
    response_url_prefixes: Vec<String>,
    limits: SlackApiLimits,
    pacer: Pacer,
    /// Set once Slack refuses the bot token; Web API calls then stop going out.
    token_refused: Mutex<Option<String>>,
    /// User → whether they are a workspace admin or owner, for [`MODERATOR_LOOKUP_TTL`].
    admins: TtlMap<bool>,
    /// User group → its members, for [`MODERATOR_LOOKUP_TTL`].
    usergroups: TtlMap<Vec<String>>,
}

impl std::fmt::Debug for SlackApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackApiClient")
            .field("api_base", &self.api_base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("response_url_prefixes", &self.response_url_prefixes)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl SlackApiClient {
    /// `extra_response_url_prefix` is accepted for `response_url` besides Slack's own
    /// `https://hooks.slack.com/`; an empty token or prefix counts as none.
    pub fn new(
        api_base: impl Into<String>,
        bot_token: Option<String>,
        extra_response_url_prefix: Option<String>,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            // A redirect would take the request (and, for a same-host redirect, the token)
            // somewhere the prefix check never saw; Slack does not redirect API calls.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("could not build the HTTP client: {e}"))?;
        let mut response_url_prefixes = vec![SLACK_HOOKS.to_owned()];
        response_url_prefixes.extend(extra_response_url_prefix.filter(|p| !p.trim().is_empty()));
        Ok(Self {
            http,
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            token: bot_token.filter(|t| !t.trim().is_empty()),
            response_url_prefixes,
            limits: SlackApiLimits::default(),
            pacer: Pacer::new(),
            token_refused: Mutex::new(None),
            admins: TtlMap::new(REMEMBERED, Some(MODERATOR_LOOKUP_TTL)),
            usergroups: TtlMap::new(REMEMBERED, Some(MODERATOR_LOOKUP_TTL)),
        })
    }

    /// `SLACK_API_BASE` (default [`DEFAULT_API_BASE`]), `SLACK_BOT_TOKEN`,
    /// `SLACK_RESPONSE_URL_PREFIX`.
    pub fn from_env() -> Result<Self, String> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self::new(
            env("SLACK_API_BASE").unwrap_or_else(|| DEFAULT_API_BASE.to_owned()),
            env("SLACK_BOT_TOKEN"),
            env("SLACK_RESPONSE_URL_PREFIX"),
        )
    }

    /// Replaces the pace the client keeps (tests use short intervals).
    pub fn with_limits(mut self, limits: SlackApiLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Calls a Web API `method` (e.g. `conversations.kick`, [`Tier::Three`]) with JSON `args`,
    /// paced by the method's tier; returns Slack's whole answer (`ok` was true).
    pub async fn call(
        &self,
        method: &str,
        tier: Tier,
        args: &Value,
        deadline: Instant,
    ) -> Result<Value, ApiError> {
        self.call_with(method, tier, WebArgs::Json(args), &[], deadline)
            .await
    }

    /// [`Self::call`] with the arguments as JSON or as a form, and the error codes the caller
    /// reads itself (see [`Endpoint::WebApi`]).
    async fn call_with(
        &self,
        method: &str,
        tier: Tier,
        args: WebArgs<'_>,
        handled: &'static [&'static str],
        deadline: Instant,
    ) -> Result<Value, ApiError> {
        if method.is_empty()
            || !method
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        {
            return Err(ApiError::NotSent(format!(
                "{method:?} is not a Slack Web API method name"
            )));
        }
        let policy = self.limits.tier(tier);
        self.web_api(method, method, &policy, args, handled, deadline)
            .await
    }

    /// A bot-token call to `{api_base}/{method}`, paced under `key`.
    async fn web_api(
        &self,
        method: &str,
        key: &str,
        policy: &BucketPolicy,
        args: WebArgs<'_>,
        handled: &'static [&'static str],
        deadline: Instant,
    ) -> Result<Value, ApiError> {
        let Some(token) = &self.token else {
            return Err(ApiError::NotSent(
                "SLACK_BOT_TOKEN is not set, so Gavel cannot call Slack's Web API".to_owned(),
            ));
        };
        if let Some(code) = self.refused_token() {
            return Err(ApiError::NotSent(format!(
                "Slack refused the bot token earlier ({code}); replace SLACK_BOT_TOKEN and restart"
            )));
        }
        let url = format!("{}/{method}", self.api_base);
        let form = match args {
            WebArgs::Form(pairs) => Some(serde_urlencoded::to_string(pairs).map_err(|e| {
                ApiError::NotSent(format!("the arguments could not be form-encoded: {e}"))
            })?),
            WebArgs::Json(_) => None,
        };
        let endpoint = Endpoint::WebApi { handled };
        self.send(endpoint, Some((key, policy)), deadline, || {
            let request = self.http.post(&url).bearer_auth(token);
            match (args, &form) {
                (WebArgs::Json(json), _) => request.json(json),
                (WebArgs::Form(_), form) => request
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(form.clone().unwrap_or_default()),
            }
        })
        .await
    }

    fn refused_token(&self) -> Option<String> {
        self.token_refused
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn refuse_token(&self, code: &str) {
        *self
            .token_refused
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(code.to_owned());
    }

    /// Paces, sends, and retries as the module docs describe, until a final answer or the
    /// deadline.
    async fn send(
        &self,
        endpoint: Endpoint,
        pace: Option<(&str, &BucketPolicy)>,
        deadline: Instant,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Value, ApiError> {
        let latest_start = deadline.checked_sub(MIN_ATTEMPT_TIME).unwrap_or(deadline);
        let mut failures = 0;
        let mut last_failure = String::from("no time was left before the deadline to call Slack");
        // The last 429's Retry-After, so that running out of time after one says so.
        let mut rate_limited: Option<Duration> = None;
        let out_of_time = |rate_limited: Option<Duration>, last_failure: String| match rate_limited
        {
            Some(wait) => ApiError::RateLimited {
                retry_after_ms: duration_ms(wait),
            },
            None => ApiError::Unavailable(last_failure),
        };
        loop {
            let now = Instant::now();
            if now > latest_start {
                return Err(out_of_time(rate_limited, last_failure));
            }
            let wait = match pace {
                Some((key, policy)) => match self.pacer.reserve(key, policy, now, latest_start) {
                    Ok(wait) => wait,
                    // A retry that our own pace cannot fit in: the failure it was retrying is
                    // what the caller needs to hear, not the pace.
                    Err(_) if failures > 0 && rate_limited.is_none() => {
                        return Err(ApiError::Unavailable(last_failure));
                    }
                    Err(wait) => {
                        return Err(ApiError::RateLimited {
                            retry_after_ms: duration_ms(wait),
                        });
                    }
                },
                // An unpaced endpoint (a response_url) waits out a 429 here, not in a cursor.
                None => {
                    let wait = rate_limited.unwrap_or_default();
                    if now + wait > latest_start {
                        return Err(out_of_time(rate_limited, last_failure));
                    }
                    wait
                }
            };
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < MIN_ATTEMPT_TIME {
                return Err(out_of_time(rate_limited, last_failure));
            }
            let attempt = request().timeout(remaining.min(ATTEMPT_TIMEOUT));
            match self.attempt(endpoint, attempt).await {
                Attempt::Done(result) => return result,
                Attempt::RateLimited(retry_after) => {
                    tracing::info!(
                        retry_after_ms = duration_ms(retry_after),
                        key = pace.map(|(key, _)| key),
                        "Slack answered 429"
                    );
                    if let Some((key, policy)) = pace {
                        self.pacer
                            .push_back(key, policy, Instant::now(), retry_after);
                    }
                    rate_limited = Some(retry_after);
                }
                Attempt::Transient(failure) => {
                    failures += 1;
                    tracing::warn!(failures, %failure, "Slack call failed");
                    let backoff = FIRST_BACKOFF * 2u32.pow(failures - 1);
                    if failures >= MAX_ATTEMPTS || Instant::now() + backoff > latest_start {
                        return Err(ApiError::Unavailable(failure));
                    }
                    tokio::time::sleep(backoff).await;
                    last_failure = failure;
                    rate_limited = None;
                }
            }
        }
    }

    async fn attempt(&self, endpoint: Endpoint, request: reqwest::RequestBuilder) -> Attempt {
        let response = match request.send().await {
            Ok(response) => response,
            // Without the URL: a response_url is a bearer credential for its interaction.
            Err(e) => {
                return Attempt::Transient(format!(
                    "Slack could not be reached: {}",
                    e.without_url()
                ));
            }
        };
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Attempt::RateLimited(retry_after(response.headers()));
        }
        if status.is_server_error() {
            return Attempt::Transient(format!("Slack answered HTTP {status}"));
        }
        let body = match response.text().await {
            Ok(body) => body,
            Err(e) => {
                return Attempt::Transient(format!(
                    "Slack's answer was cut off: {}",
                    e.without_url()
                ));
            }
        };
        let json: Option<Value> = serde_json::from_str(&body).ok();
        let code = json
            .as_ref()
            .filter(|j| j.get("ok") == Some(&Value::Bool(false)))
            .map(|j| {
                j.get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown_error")
            });
        if let Some(code) = code {
            if let (Endpoint::WebApi { handled }, Some(answer)) = (endpoint, &json)
                && handled.contains(&code)
            {
                return Attempt::Done(Ok(answer.clone()));
            }
            return self.slack_error(endpoint, status.as_u16(), code, json.as_ref());
        }
        match endpoint {
            Endpoint::WebApi { .. } => match json {
                Some(answer)
                    if status.is_success() && answer.get("ok") == Some(&Value::Bool(true)) =>
                {
                    Attempt::Done(Ok(answer))
                }
                _ => Attempt::Done(Err(ApiError::Rejected {
                    status: status.as_u16(),
                    message: format!("unexpected answer from Slack: {}", snippet(&body)),
                })),
            },
            Endpoint::ResponseUrl if status.is_success() => {
                Attempt::Done(Ok(json.unwrap_or(Value::Null)))
            }
            Endpoint::ResponseUrl if status == reqwest::StatusCode::NOT_FOUND => {
                Attempt::Done(Err(expired_response_url()))
            }
            Endpoint::ResponseUrl => Attempt::Done(Err(ApiError::Rejected {
                status: status.as_u16(),
                message: format!("Slack refused the response_url post: {}", snippet(&body)),
            })),
        }
    }

    /// Slack's `ok: false` codes, in words a moderator can act on.
    fn slack_error(
        &self,
        endpoint: Endpoint,
        status: u16,
        code: &str,
        answer: Option<&Value>,
    ) -> Attempt {
        let error = match code {
            "internal_error" | "service_unavailable" | "request_timeout" => {
                return Attempt::Transient(format!("Slack had a temporary problem ({code})"));
            }
            "ratelimited" | "rate_limited" => return Attempt::RateLimited(DEFAULT_RETRY_AFTER),
            // Slack says part of the call may have happened; repeating it could do it twice.
            "fatal_error" => ApiError::Unavailable(
                "Slack failed part-way through the call (fatal_error); not repeated, as part of it may have happened".to_owned(),
            ),
            "not_in_channel" => ApiError::Forbidden {
                message: "I'm not in that channel; invite me with /invite @Gavel".to_owned(),
            },
            "channel_not_found" => ApiError::NotFound(
                "I can't see that channel: it doesn't exist, or it is private and I'm not in it; invite me with /invite @Gavel".to_owned(),
            ),
            "is_archived" => ApiError::Forbidden {
                message: "that channel is archived; unarchive it or choose another channel".to_owned(),
            },
            code if code.starts_with("restricted_action") => ApiError::Forbidden {
                message: "this workspace's settings don't let me post in that channel".to_owned(),
            },
            "missing_scope" => {
                let needed = answer
                    .and_then(|a| a.get("needed"))
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty())
                    .unwrap_or("a permission Slack did not name");
                ApiError::Forbidden {
                    message: format!(
                        "Gavel's Slack app is missing the {needed} scope; add it under OAuth & Permissions and reinstall the app"
                    ),
                }
            }
            "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive"
                if matches!(endpoint, Endpoint::WebApi { .. }) =>
            {
                self.refuse_token(code);
                ApiError::Rejected {
                    status,
                    message: format!(
                        "Slack refused the bot token ({code}); reinstall the app or replace SLACK_BOT_TOKEN"
                    ),
                }
            }
            "expired_url" | "used_url" => expired_response_url(),
            code => ApiError::Rejected {
                status,
                message: format!("Slack refused the call: {code}"),
            },
        };
        Attempt::Done(Err(error))
    }
}

#[async_trait]
impl SlackApi for SlackApiClient {
    async fn post_message(
        &self,
        channel: &str,
        text: &str,
        deadline: Instant,
    ) -> Result<String, ApiError> {
        let args = json!({ "channel": channel, "text": no_broadcasts(text) });
        let answer = self.chat_post(channel, args, &[], deadline).await?;
        posted_ts(&answer)
    }

    async fn respond(
        &self,
        response_url: &str,
        text: &str,
        replace_original: bool,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        // Without `response_type`, Slack shows a new message to the moderator only.
        let body = json!({
            "text": no_broadcasts(text),
            "replace_original": replace_original,
        });
        self.post_to_response_url(response_url, &body, deadline)
            .await
    }

    async fn send_dm(&self, user: &str, text: &str, deadline: Instant) -> Result<String, ApiError> {
        check_slack_id("user", user, USER_PREFIXES)?;
        // A user id as the channel: Slack posts to the app's DM with them (its Messages tab).
        let args = json!({ "channel": user, "text": no_broadcasts(text) });
        let answer = self.chat_post(user, args, DM_REFUSALS, deadline).await?;
        match refused_code(&answer) {
            None => posted_ts(&answer),
            Some("messages_tab_disabled") => Err(ApiError::Forbidden {
                message: "members cannot receive DMs from Gavel: its Messages tab is turned off (App Home in the app's settings)".to_owned(),
            }),
            Some(code) => Err(ApiError::NotFound(format!(
                "I can't send that member a DM: they are not in this workspace or their account is deactivated ({code})"
            ))),
        }
    }

    async fn kick_from_channel(
        &self,
        channel: &str,
        user: &str,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        check_slack_id("channel", channel, CHANNEL_PREFIXES)?;
        check_slack_id("user", user, USER_PREFIXES)?;
        let args = json!({ "channel": channel, "user": user });
        let answer = self
            .call_with(
                "conversations.kick",
                Tier::Three,
                WebArgs::Json(&args),
                KICK_REFUSALS,
                deadline,
            )
            .await?;
        let forbidden = |message: &str| {
            Err(ApiError::Forbidden {
                message: message.to_owned(),
            })
        };
        match refused_code(&answer) {
            None => Ok(()),
            // Slack says this both when the member is not in the channel and when I am not.
            Some("not_in_channel") => self.kick_found_nobody(channel, deadline).await,
            Some("cant_kick_self") => forbidden("I can't remove myself from a channel"),
            Some("cant_kick_from_general") => forbidden(
                "Slack doesn't let anyone be removed from the workspace's general channel",
            ),
            Some("cant_kick_from_last_channel") => {
                forbidden("Slack doesn't let a member be removed from the last channel they are in")
            }
            Some("method_not_supported_for_channel_type" | "not_supported") => forbidden(
                "Slack doesn't let me remove members from this kind of conversation (a DM, a group DM, or a channel shared with another organisation)",
            ),
            Some("user_not_found") => Err(ApiError::NotFound(
                "that member is not in this workspace".to_owned(),
            )),
            // restricted_action, and any code the list above does not know.
            Some(code) => forbidden(&format!(
                "this workspace's settings don't let me remove members from channels; a workspace admin can allow it ({code})"
            )),
        }
    }

    async fn post_reply(
        &self,
        channel: &str,
        reply: &Reply,
        deadline: Instant,
    ) -> Result<String, ApiError> {
        check_slack_id("channel", channel, CHANNEL_PREFIXES)?;
        let mut args = serde_json::to_value(render_message(reply)).map_err(|e| {
            ApiError::NotSent(format!("the message could not be written as JSON: {e}"))
        })?;
        no_broadcasts_in_blocks(&mut args);
        args["channel"] = Value::String(channel.to_owned());
        let answer = self.chat_post(channel, args, &[], deadline).await?;
        posted_ts(&answer)
    }
}

/// The error codes of `conversations.kick` that [`SlackApi::kick_from_channel`] words itself.
const KICK_REFUSALS: &[&str] = &[
    "not_in_channel",
    "cant_kick_self",
    "cant_kick_from_general",
    "cant_kick_from_last_channel",
    "method_not_supported_for_channel_type",
    "not_supported",
    "restricted_action",
    "user_not_found",
];

/// A user id in `channel`: Slack's "channel not found" means the user, not a channel.
const DM_REFUSALS: &[&str] = &[
    "channel_not_found",
    "user_not_found",
    "user_disabled",
    "messages_tab_disabled",
];

/// Member ids start with U (W on Enterprise Grid); channels C (public), G (older private)
/// or D (a DM); user groups S.
const USER_PREFIXES: &[char] = &['U', 'W'];
const CHANNEL_PREFIXES: &[char] = &['C', 'G', 'D'];
const USERGROUP_PREFIXES: &[char] = &['S'];

impl SlackApiClient {
    /// `chat.postMessage` with `args` (an object with `channel` and the message), paced to
    /// one post per second per channel. Mentions in the text stay text, and links do not
    /// unfold into previews.
    async fn chat_post(
        &self,
        channel: &str,
        mut args: Value,
        handled: &'static [&'static str],
        deadline: Instant,
    ) -> Result<Value, ApiError> {
        if let Some(args) = args.as_object_mut() {
            // Plain `@channel` or `#general` in the text stays text.
            args.insert("parse".to_owned(), json!("none"));
            args.insert("link_names".to_owned(), json!(false));
            // A reported link must not unfold into a preview in the moderators' channel.
            args.insert("unfurl_links".to_owned(), json!(false));
            args.insert("unfurl_media".to_owned(), json!(false));
        }
        let key = format!("chat.postMessage {channel}");
        let policy = self.limits.channel();
        self.web_api(
            "chat.postMessage",
            &key,
            &policy,
            WebArgs::Json(&args),
            handled,
            deadline,
        )
        .await
    }

    /// After `conversations.kick` answered `not_in_channel`: if I am in the channel, the
    /// member is not, which is what the moderator asked for; if I am not, I could not remove
    /// anyone. `conversations.info` tells which.
    async fn kick_found_nobody(&self, channel: &str, deadline: Instant) -> Result<(), ApiError> {
        let not_a_member = || {
            ApiError::Forbidden {
            message: "I'm not in that channel, so I can't remove anyone from it; invite me with /invite @Gavel".to_owned(),
        }
        };
        let answer = self
            .call_with(
                "conversations.info",
                Tier::Three,
                WebArgs::Form(&[("channel", channel)]),
                // A private channel I am not in is invisible to me.
                &["channel_not_found"],
                deadline,
            )
            .await;
        match answer {
            Ok(answer) if refused_code(&answer).is_some() => Err(not_a_member()),
            Ok(answer) if answer["channel"]["is_member"] == true => Ok(()),
            Ok(_) => Err(not_a_member()),
            Err(e) if e.is_transient() => Err(e),
            Err(e) => Err(ApiError::Forbidden {
                message: format!(
                    "Slack says the member or I am not in that channel, and I could not check which ({e}); if the member is still there, invite me with /invite @Gavel"
                ),
            }),
        }
    }
}

/// What the edge sends while it answers (a click's answer, opening a form): the same client,
/// inside Slack's 3-second deadline.
const EDGE_BUDGET: Duration = Duration::from_millis(2000);

#[async_trait]
impl SlackWeb for SlackApiClient {
    async fn respond(&self, response_url: &str, message: &Value) -> Result<(), SlackWebError> {
        self.post_to_response_url(response_url, message, Instant::now() + EDGE_BUDGET)
            .await
            .map_err(web_error)
    }

    async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<(), SlackWebError> {
        let args = json!({ "trigger_id": trigger_id, "view": view });
        self.call(
            "views.open",
            Tier::Four,
            &args,
            Instant::now() + EDGE_BUDGET,
        )
        .await
        .map(|_| ())
        .map_err(web_error)
    }

    async fn user_is_admin(&self, user: &str) -> Result<bool, SlackWebError> {
        check_slack_id("user", user, USER_PREFIXES).map_err(web_error)?;
        if let Some(admin) = self.admins.get(user, Instant::now()) {
            return Ok(admin);
        }
        let answer = self
            .call_with(
                "users.info",
                Tier::Four,
                WebArgs::Form(&[("user", user)]),
                &[],
                Instant::now() + EDGE_BUDGET,
            )
            .await
            .map_err(web_error)?;
        let Some(profile) = answer.get("user").filter(|u| u.is_object()) else {
            return Err(SlackWebError::Refused(
                "users.info answered without the user".to_owned(),
            ));
        };
        let admin = ["is_admin", "is_owner", "is_primary_owner"]
            .iter()
            .any(|flag| profile[flag] == true);
        self.admins.insert(user, admin, Instant::now());
        Ok(admin)
    }

    async fn usergroup_members(&self, group: &str) -> Result<Vec<String>, SlackWebError> {
        check_slack_id("user group", group, USERGROUP_PREFIXES).map_err(web_error)?;
        if let Some(members) = self.usergroups.get(group, Instant::now()) {
            return Ok(members);
        }
        let answer = self
            .call_with(
                "usergroups.users.list",
                Tier::Two,
                WebArgs::Form(&[("usergroup", group)]),
                &[],
                Instant::now() + EDGE_BUDGET,
            )
            .await
            .map_err(web_error)?;
        let Some(users) = answer.get("users").and_then(Value::as_array) else {
            return Err(SlackWebError::Refused(
                "usergroups.users.list answered without the users".to_owned(),
            ));
        };
        let members: Vec<String> = users
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        self.usergroups
            .insert(group, members.clone(), Instant::now());
        Ok(members)
    }
}

fn web_error(error: ApiError) -> SlackWebError {
    match error {
        ApiError::NotSent(why) => SlackWebError::NotConfigured(why),
        ApiError::RateLimited { .. } | ApiError::Unavailable(_) => {
            SlackWebError::Unreachable(error.to_string())
        }
        other => SlackWebError::Refused(other.to_string()),
    }
}

impl SlackApiClient {
    /// Posts `body` to an interaction's `response_url`, which must be Slack's (or the one
    /// configured extra prefix): a payload can never make Gavel post somewhere else.
    async fn post_to_response_url(
        &self,
        response_url: &str,
        body: &Value,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        if !self
            .response_url_prefixes
            .iter()
            .any(|p| response_url.starts_with(p.as_str()))
        {
            return Err(ApiError::NotSent(format!(
                "refusing to post to a response_url outside {}",
                self.response_url_prefixes.join(", ")
            )));
        }
        self.send(Endpoint::ResponseUrl, None, deadline, || {
            self.http.post(response_url).json(body)
        })
        .await
        .map(|_| ())
    }
}

/// `parse: none` leaves `<!channel>`, `<!here>`, `<!everyone>` and `<!subteam^…>` working, and
/// a member's reason or message quoted in a notice could carry one. Escaped, Slack shows the
/// characters and notifies nobody. User mentions (`<@U…>`) stay: they are how a notice names
/// someone.
fn no_broadcasts(text: &str) -> String {
    text.replace("<!", "&lt;!")
}

/// [`no_broadcasts`] for a Block Kit message: its fallback text and every mrkdwn text object
/// (plain text objects never notify, and buttons' ids stay as they are).
fn no_broadcasts_in_blocks(message: &mut Value) {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(object) => {
                let mrkdwn = object.get("type").and_then(Value::as_str) == Some("mrkdwn");
                for (key, child) in object.iter_mut() {
                    match child {
                        Value::String(text) if mrkdwn && key == "text" => {
                            *text = no_broadcasts(text);
                        }
                        _ => walk(child),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    if let Some(Value::String(text)) = message.get_mut("text") {
        *text = no_broadcasts(text);
    }
    if let Some(blocks) = message.get_mut("blocks") {
        walk(blocks);
    }
}

/// Refuses to send an id that is not a Slack id of the expected kind (`U0123ABCD`): a typo
/// would otherwise reach Slack as an argument it reports in less helpful words.
fn check_slack_id(kind: &str, id: &str, prefixes: &[char]) -> Result<(), ApiError> {
    let valid = (2..=24).contains(&id.len())
        && id.starts_with(prefixes)
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(ApiError::NotSent(format!(
            "{id:?} is not a Slack {kind} id"
        )))
    }
}

/// The error code of an answer a caller asked to read itself; `None` when Slack said `ok`.
fn refused_code(answer: &Value) -> Option<&str> {
    (answer.get("ok") == Some(&Value::Bool(false))).then(|| {
        answer
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown_error")
    })
}

fn posted_ts(answer: &Value) -> Result<String, ApiError> {
    answer
        .get("ts")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::Rejected {
            status: 200,
            message: "Slack accepted the message but sent no ts".to_owned(),
        })
}

fn expired_response_url() -> ApiError {
    ApiError::NotFound(
        "this interaction can no longer be answered (Slack allows 5 answers within 30 minutes)"
            .to_owned(),
    )
}

/// `Retry-After` in seconds, as Slack sends it.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RETRY_AFTER, Duration::from_secs)
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn snippet(body: &str) -> String {
    let mut chars = body.chars();
    let head: String = chars.by_ref().take(BODY_SNIPPET_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(capacity: u32, window_ms: i64, burst: u32) -> BucketPolicy {
        BucketPolicy {
            capacity,
            window_ms,
            burst,
        }
    }

    #[test]
    fn reservations_line_up_one_interval_apart() {
        let pacer = Pacer::new();
        let p = policy(1, 1000, 1);
        let now = pacer.origin;
        let far = now + Duration::from_secs(60);
        let waits: Vec<_> = (0..3)
            .map(|_| pacer.reserve("c", &p, now, far).unwrap())
            .collect();
        assert_eq!(
            waits,
            [0, 1000, 2000].map(Duration::from_millis),
            "each caller gets the next free slot"
        );
        assert_eq!(
            pacer.reserve("other", &p, now, far),
            Ok(Duration::ZERO),
            "keys are independent"
        );
    }

    #[test]
    fn a_slot_past_the_latest_start_is_refused_and_not_taken() {
        let pacer = Pacer::new();
        let p = policy(1, 1000, 1);
        let now = pacer.origin;
        assert_eq!(pacer.reserve("c", &p, now, now), Ok(Duration::ZERO));
        let soon = now + Duration::from_millis(500);
        assert_eq!(
            pacer.reserve("c", &p, now, soon),
            Err(Duration::from_millis(1000))
        );
        // The refused caller took nothing: the next one still gets the second slot.
        let far = now + Duration::from_secs(60);
        assert_eq!(
            pacer.reserve("c", &p, now, far),
            Ok(Duration::from_millis(1000))
        );
    }

    #[test]
    fn bursts_go_at_once_and_the_rest_spread_over_the_window() {
        let pacer = Pacer::new();
        // 50 a minute, 5 at once: T = 60 s / 46.
        let p = policy(50, 60_000, 5);
        let now = pacer.origin;
        let far = now + Duration::from_secs(3600);
        let waits: Vec<_> = (0..6)
            .map(|_| pacer.reserve("m", &p, now, far).unwrap())
            .collect();
        assert!(waits[..5].iter().all(Duration::is_zero), "{waits:?}");
        assert_eq!(waits[5], Duration::from_millis(p.step_ms() as u64));
    }

    #[test]
    fn a_429_holds_back_every_later_slot() {
        let pacer = Pacer::new();
        let p = policy(5, 1000, 5);
        let now = pacer.origin;
        let far = now + Duration::from_secs(60);
        pacer.push_back("m", &p, now, Duration::from_secs(3));
        assert_eq!(pacer.reserve("m", &p, now, far), Ok(Duration::from_secs(3)));
        // A shorter Retry-After later never shortens a longer block.
        pacer.push_back("m", &p, now, Duration::from_secs(1));
        assert!(pacer.reserve("m", &p, now, far).unwrap() >= Duration::from_secs(3));
    }

    #[test]
    fn default_limits_follow_slacks_tiers() {
        let limits = SlackApiLimits::default();
        assert_eq!(limits.tier1.capacity, 1);
        assert_eq!(limits.tier(Tier::Two).capacity, 20);
        assert_eq!(limits.tier(Tier::Three).burst, 5);
        assert_eq!(limits.tier(Tier::Four).window_ms, 60_000);
        let channel = limits.channel();
        assert_eq!((channel.capacity, channel.burst), (1, 1));
        assert!(channel.step_ms() >= 1000);
    }

    #[test]
    fn broadcast_mentions_are_escaped_and_user_mentions_kept() {
        assert_eq!(
            no_broadcasts("<!here> <!channel|channel> <@U123> <!subteam^S1>"),
            "&lt;!here> &lt;!channel|channel> <@U123> &lt;!subteam^S1>"
        );
    }

    #[test]
    fn broadcasts_are_escaped_in_mrkdwn_blocks_but_not_in_ids() {
        let mut message = json!({
            "text": "<!here> report",
            "blocks": [
                { "type": "section", "text": { "type": "mrkdwn", "text": "<!channel> look" },
                  "fields": [{ "type": "mrkdwn", "text": "*Reason*\n<!everyone>" }] },
                { "type": "actions", "elements": [{ "type": "button", "action_id": "<!keep>",
                  "text": { "type": "plain_text", "text": "<!plain>" } }] },
            ],
        });
        no_broadcasts_in_blocks(&mut message);
        assert_eq!(message["text"], "&lt;!here> report");
        assert_eq!(message["blocks"][0]["text"]["text"], "&lt;!channel> look");
        assert_eq!(
            message["blocks"][0]["fields"][0]["text"],
            "*Reason*\n&lt;!everyone>"
        );
        let button = &message["blocks"][1]["elements"][0];
        assert_eq!(
            (&button["action_id"], &button["text"]["text"]),
            (&json!("<!keep>"), &json!("<!plain>"))
        );
    }

    #[test]
    fn slack_ids_are_checked_by_kind() {
        assert!(check_slack_id("user", "U0123ABCD", USER_PREFIXES).is_ok());
        assert!(check_slack_id("user", "W0123ABCD", USER_PREFIXES).is_ok());
        assert!(check_slack_id("channel", "C0MODS", CHANNEL_PREFIXES).is_ok());
        assert!(check_slack_id("user group", "S0614TZR7", USERGROUP_PREFIXES).is_ok());
        for (id, prefixes) in [
            ("C0MODS", USER_PREFIXES),
            ("U1 ", USER_PREFIXES),
            ("u0123", USER_PREFIXES),
            ("U", USER_PREFIXES),
            ("C1/../x", CHANNEL_PREFIXES),
            ("", USERGROUP_PREFIXES),
        ] {
            assert!(
                matches!(check_slack_id("x", id, prefixes), Err(ApiError::NotSent(_))),
                "{id:?}"
            );
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_defaults_to_one() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), DEFAULT_RETRY_AFTER);
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Duration::from_secs(7));
    }

    #[test]
    fn debug_redacts_the_token() {
        let client = SlackApiClient::new("http://x", Some("xoxb-secret".into()), None).unwrap();
        let shown = format!("{client:?}");
        assert!(
            !shown.contains("xoxb-secret") && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}
