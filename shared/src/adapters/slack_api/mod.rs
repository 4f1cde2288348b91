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
//! already in the build, so this client is reqwest and a few dozen lines of pacing over the
//! existing GCRA math (the pacer in `adapters::http_limits`, which other clients can share).

mod endpoints;
mod errors;
mod limits;
mod mentions;
mod web;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use self::errors::{expired_response_url, retry_after, snippet};
pub use self::limits::{SlackApiLimits, Tier};
use super::env::{self, ConfigError};
use super::http_limits::{MIN_ATTEMPT, Pacer, millis};
use super::secret_registry::{NOT_CONFIGURED, configured};
use crate::platform::ApiError;
use crate::ratelimit::gcra::BucketPolicy;
use crate::ttl_map::TtlMap;

pub const DEFAULT_API_BASE: &str = "https://slack.com/api";
const SLACK_HOOKS: &str = "https://hooks.slack.com/";

/// Attempts per call for 5xx answers and network failures (429s are bounded by the deadline).
pub const MAX_ATTEMPTS: u32 = 3;
/// The first backoff after a failed attempt; it doubles after each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// The longest one attempt may take, when the deadline is further away than that.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the edge trusts who is an admin and who is in a user group: it asks on every
/// moderator command, within Slack's 3 seconds, and a promotion may take this long to count.
const MODERATOR_LOOKUP_TTL: Duration = Duration::from_secs(300);
/// How many users and user groups those answers are kept for.
const REMEMBERED: usize = 1024;

/// Which kind of endpoint answered: they report success and errors differently.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    /// `{api_base}/{method}`: JSON with `ok`, errors as `ok: false` with HTTP 200. The error
    /// codes in `handled` mean something particular to the caller, which reads them itself:
    /// such an answer comes back as it is, `ok: false` included.
    /// `admin`: called with the workspace admin's user token (`chat.delete` of a member's
    /// message), whose refusal must not stop the bot token's calls.
    WebApi {
        handled: &'static [&'static str],
        admin: bool,
    },
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
    /// `SLACK_ADMIN_USER_TOKEN` (`xoxp-…` of a workspace admin): only it can delete members'
    /// messages; a bot token deletes only its own.
    admin_token: Option<String>,
    response_url_prefixes: Vec<String>,
    limits: SlackApiLimits,
    pacer: Pacer,
    /// Set once Slack refuses the bot token; Web API calls then stop going out.
    token_refused: Mutex<Option<String>>,
    /// User → what `users.info` said of them (admin or owner, bot), for
    /// [`MODERATOR_LOOKUP_TTL`].
    users: TtlMap<web::UserFlags>,
    /// User group → its members, for [`MODERATOR_LOOKUP_TTL`].
    usergroups: TtlMap<Vec<String>>,
}

impl std::fmt::Debug for SlackApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackApiClient")
            .field("api_base", &self.api_base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
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
    ) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            // A redirect would take the request (and, for a same-host redirect, the token)
            // somewhere the prefix check never saw; Slack does not redirect API calls.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        let mut response_url_prefixes = vec![SLACK_HOOKS.to_owned()];
        response_url_prefixes.extend(extra_response_url_prefix.filter(|p| !p.trim().is_empty()));
        Ok(Self {
            http,
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            // A placeholder `gavel deploy secrets` wrote is no token (see `call_with`).
            token: configured(bot_token),
            admin_token: None,
            response_url_prefixes,
            limits: SlackApiLimits::default(),
            pacer: Pacer::new(),
            token_refused: Mutex::new(None),
            users: TtlMap::new(REMEMBERED, Some(MODERATOR_LOOKUP_TTL)),
            usergroups: TtlMap::new(REMEMBERED, Some(MODERATOR_LOOKUP_TTL)),
        })
    }

    /// `SLACK_API_BASE` (default [`DEFAULT_API_BASE`]), `SLACK_BOT_TOKEN`,
    /// `SLACK_RESPONSE_URL_PREFIX`, `SLACK_ADMIN_USER_TOKEN`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self::new(
            env::var("SLACK_API_BASE").unwrap_or_else(|| DEFAULT_API_BASE.to_owned()),
            env::var("SLACK_BOT_TOKEN"),
            env::var("SLACK_RESPONSE_URL_PREFIX"),
        )?
        .with_admin_token(env::var("SLACK_ADMIN_USER_TOKEN")))
    }

    /// Deletes members' messages with a workspace admin's user token (`chat.delete`).
    pub fn with_admin_token(mut self, token: Option<String>) -> Self {
        self.admin_token = configured(token);
        self
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
        self.web_api(method, method, &policy, args, handled, false, deadline)
            .await
    }

    /// `chat.delete` of a member's message, with the admin user token.
    pub(super) async fn delete_as_admin(
        &self,
        args: &Value,
        handled: &'static [&'static str],
        deadline: Instant,
    ) -> Result<Value, ApiError> {
        let policy = self.limits.tier(Tier::Three);
        self.web_api(
            "chat.delete",
            "chat.delete",
            &policy,
            WebArgs::Json(args),
            handled,
            true,
            deadline,
        )
        .await
    }

    /// A bot-token (or, with `admin`, admin user token) call to `{api_base}/{method}`, paced
    /// under `key`.
    #[allow(clippy::too_many_arguments)]
    async fn web_api(
        &self,
        method: &str,
        key: &str,
        policy: &BucketPolicy,
        args: WebArgs<'_>,
        handled: &'static [&'static str],
        admin: bool,
        deadline: Instant,
    ) -> Result<Value, ApiError> {
        let token = if admin {
            self.admin_token.as_ref().ok_or_else(|| {
                ApiError::NotSent(
                    format!("SLACK_ADMIN_USER_TOKEN {NOT_CONFIGURED}, and a bot token can delete only its own messages"),
                )
            })?
        } else {
            self.token.as_ref().ok_or_else(|| {
                ApiError::NotSent(format!(
                    "SLACK_BOT_TOKEN {NOT_CONFIGURED}, so Gavel cannot call Slack's Web API"
                ))
            })?
        };
        if let Some(code) = self.refused_token().filter(|_| !admin) {
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
        let endpoint = Endpoint::WebApi { handled, admin };
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
        let latest_start = deadline.checked_sub(MIN_ATTEMPT).unwrap_or(deadline);
        let mut failures = 0;
        let mut last_failure = String::from("no time was left before the deadline to call Slack");
        // The last 429's Retry-After, so that running out of time after one says so.
        let mut rate_limited: Option<Duration> = None;
        let out_of_time = |rate_limited: Option<Duration>, last_failure: String| match rate_limited
        {
            Some(wait) => ApiError::RateLimited {
                retry_after_ms: millis(wait),
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
                            retry_after_ms: millis(wait),
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
            if remaining < MIN_ATTEMPT {
                return Err(out_of_time(rate_limited, last_failure));
            }
            let attempt = request().timeout(remaining.min(ATTEMPT_TIMEOUT));
            match self.attempt(endpoint, attempt).await {
                Attempt::Done(result) => return result,
                Attempt::RateLimited(retry_after) => {
                    tracing::info!(
                        retry_after_ms = millis(retry_after),
                        key = pace.map(|(key, _)| key),
                        "Slack answered 429"
                    );
                    // By method: the pacing key's channel would make a metric per channel.
                    let bucket = pace.map_or("response_url", |(key, _)| {
                        key.split(' ').next().unwrap_or(key)
                    });
                    crate::telemetry::metrics::count(
                        "Platform429",
                        &[("Platform", "slack"), ("Bucket", bucket)],
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
            if let (Endpoint::WebApi { handled, .. }, Some(answer)) = (endpoint, &json)
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

#[cfg(test)]
mod tests {
    use super::*;

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
