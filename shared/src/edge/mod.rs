//! The HTTP edge both transports share (Lambda events and `gavel serve`): routes, status codes,
//! body limits, signature checks, claims and admission, then dispatch to the command registry.
//! Each platform's own handling is in its file ([`discord`], [`slack`], [`telegram`]).
//!
//! Order of checks for every platform route, so that nothing unverified is ever parsed:
//! route (404) → method (405) → platform configured (404) → body size (413) → signature and
//! timestamp (401) → parse (400) → claim the request's id (one store round trip; a repeat is
//! answered without acting) → dispatch (200). Telegram's route compares a shared secret
//! instead of a signature (401), and answers every verified update it cannot read or does not
//! handle 200, because Telegram retries anything else for a day.

mod checks;
mod discord;
mod response;
mod rotation;
mod slack;
mod telegram;
mod watch;

use std::sync::Arc;
use std::time::Instant;

use http::{HeaderMap, Method, StatusCode};
use serde_json::json;
use tracing::{Instrument, field};

use crate::clock::Clock;
use crate::commands::{CommandRegistry, CommandSpec};
use crate::flows::FlowEngine;
use crate::flows::component_id::ComponentKey;
use crate::idempotency::{Claim, Claims};
use crate::invocation::{Action, Invocation, Platform};
use crate::platform::TelegramApi;
use crate::platform::recording::RecordingPlatform;
use crate::ratelimit::limiter::{Admission, RateLimiter, limited_message};
use crate::ratelimit::policy::Policies;
use crate::reply::{Reply, Response};
use crate::slack::SlackModerators;
use crate::slack::web::{RecordingSlackWeb, SlackWeb};
use crate::store::{NewItem, Store, WriteOp, round_trips};
use crate::telegram::usernames::UsernameDirectory;
use crate::telemetry::metrics::{self, MetricSet, Unit};
use crate::verify::{
    DiscordVerifier, Rejection, SlackVerifier, TelegramVerifier, discord_headers, slack_headers,
    telegram_headers,
};

use checks::{Refusal, refused};
pub use response::{EdgeResponse, Route};
use rotation::SlackSecret;
pub use rotation::{REREAD_SECS, SigningSecretSource};

/// Bodies larger than this are refused with 413 before verification. Discord and Slack payloads
/// are a few KiB; 1 MiB leaves room for large modals and resolved data without inviting abuse.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The verified entry point for both platforms. Which platforms it serves depends on which
/// verifiers it holds: each Lambda function holds only its own platform's.
pub struct Edge {
    discord: Option<DiscordVerifier>,
    slack: Option<SlackSecret>,
    registry: Arc<CommandRegistry>,
    clock: Arc<dyn Clock>,
    store: Arc<dyn Store>,
    claims: Claims,
    flows: FlowEngine,
    limiter: RateLimiter,
    slack_web: Arc<dyn SlackWeb>,
    slack_moderators: SlackModerators,
    telegram: Option<TelegramVerifier>,
    /// Member rights and clicked messages' edits, inside the webhook answer.
    telegram_api: Arc<dyn TelegramApi>,
    /// The bot's username, so commands addressed to another bot are left alone.
    telegram_bot: Option<String>,
    /// Usernames learned from updates, so `/warn @ann` can name a member.
    telegram_usernames: UsernameDirectory,
}

impl Edge {
    /// An edge with a random component-id key (valid only in this process) and a Slack Web
    /// API that records instead of sending; deployments set both with the `with_` methods.
    pub fn new(
        discord: Option<DiscordVerifier>,
        slack: Option<SlackVerifier>,
        registry: Arc<CommandRegistry>,
        clock: Arc<dyn Clock>,
        store: Arc<dyn Store>,
    ) -> Self {
        let flows = flow_engine(&registry, &store, &clock, ComponentKey::random());
        let slack_web: Arc<dyn SlackWeb> = Arc::new(RecordingSlackWeb::new());
        let slack_moderators = SlackModerators::new(
            Arc::clone(&slack_web),
            Arc::clone(&store),
            Arc::clone(&clock),
        );
        Self {
            discord,
            slack: slack.map(SlackSecret::new),
            registry,
            claims: Claims::new(Arc::clone(&store), Arc::clone(&clock)),
            limiter: RateLimiter::new(Arc::clone(&store), Arc::clone(&clock), Policies::default()),
            telegram_usernames: UsernameDirectory::new(Arc::clone(&store), Arc::clone(&clock)),
            clock,
            store,
            flows,
            slack_moderators,
            slack_web,
            telegram: None,
            telegram_api: Arc::new(RecordingPlatform::new()),
            telegram_bot: None,
        }
    }

    /// Rate limits other than the defaults (tenants' stored overrides still apply on top).
    pub fn with_rate_limits(mut self, defaults: Policies) -> Self {
        self.limiter = RateLimiter::new(Arc::clone(&self.store), Arc::clone(&self.clock), defaults);
        self
    }

    /// Signs component ids with the deployment's key, shared by every instance.
    pub fn with_component_key(mut self, key: ComponentKey) -> Self {
        self.flows = flow_engine(&self.registry, &self.store, &self.clock, key);
        self
    }

    /// Where jobs for the worker go (EventBridge on AWS, the in-process queue locally).
    pub fn with_bus(mut self, bus: Arc<dyn crate::jobs::Bus>) -> Self {
        self.flows = self.flows.with_bus(bus);
        self
    }

    /// Slack users with moderator powers in every workspace this deployment serves (Slack
    /// payloads carry no roles). Each workspace adds its own with `/modconfig`, and its admins
    /// and owners moderate too.
    pub fn with_slack_moderators(mut self, users: impl IntoIterator<Item = String>) -> Self {
        self.slack_moderators = self.slack_moderators.listing(users);
        self
    }

    /// Where Slack `response_url` posts and `views.open` calls go.
    /// Reads the Slack signing secret again from `source` after a signature fails to match
    /// (at most once a minute), so a rotation takes effect without a deploy.
    pub fn with_slack_secret_source(mut self, source: Arc<dyn SigningSecretSource>) -> Self {
        self.slack = self.slack.map(|secret| secret.with_source(source));
        self
    }

    pub fn with_slack_web(mut self, web: Arc<dyn SlackWeb>) -> Self {
        self.slack_moderators = self.slack_moderators.asking(Arc::clone(&web));
        self.slack_web = web;
        self
    }

    /// Handles one HTTP request. Never panics on any input; every failure is a status code.
    pub async fn handle(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> EdgeResponse {
        let received_at = Instant::now();
        let Some(route) = Route::from_path(path) else {
            return EdgeResponse::error(StatusCode::NOT_FOUND, "no such route");
        };
        if method != route.method() {
            return EdgeResponse::error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
        }
        let span = tracing::info_span!(
            "request",
            route = route.path(),
            platform = field::Empty,
            interaction_id = field::Empty,
            tenant = field::Empty,
            status = field::Empty,
            store_round_trips = field::Empty,
        );
        let (mut response, trips) =
            round_trips::measure_timed(self.route(route, headers, body, received_at))
                .instrument(span.clone())
                .await;
        span.record("status", response.status.as_u16());
        span.record("store_round_trips", trips.count);
        response.store_round_trips = trips.count;
        if let Some(name) = route.metric_name() {
            MetricSet::new()
                .dimension("Route", name)
                .value(
                    "AckLatency",
                    Unit::Milliseconds,
                    millis(received_at.elapsed()),
                )
                .value("StoreRoundTrips", Unit::Count, f64::from(trips.count))
                .value("StoreLatency", Unit::Milliseconds, millis(trips.latency))
                .emit();
        }
        tracing::debug!(parent: &span, elapsed_us = received_at.elapsed().as_micros() as u64, "answered");
        response
    }

    async fn route(
        &self,
        route: Route,
        headers: &HeaderMap,
        body: &[u8],
        received_at: Instant,
    ) -> EdgeResponse {
        match route {
            Route::Health => EdgeResponse::json(
                StatusCode::OK,
                json!({ "status": "ok", "version": crate::VERSION })
                    .to_string()
                    .into_bytes(),
            ),
            Route::DiscordInteractions => {
                let check = self.discord.as_ref().map(|v| {
                    move |sig: Option<&str>, ts: Option<&str>, body: &[u8], now: i64| {
                        v.verify(sig, ts, body, now)
                    }
                });
                if let Err(refusal) = self.verify_request(
                    Platform::Discord,
                    check,
                    discord_headers::SIGNATURE,
                    discord_headers::TIMESTAMP,
                    headers,
                    body,
                ) {
                    return refused(Platform::Discord, refusal);
                }
                self.discord_interaction(body, received_at).await
            }
            Route::TelegramWebhook => {
                let check = self.telegram.as_ref().map(|v| {
                    move |secret: Option<&str>, _: Option<&str>, _: &[u8], _: i64| v.verify(secret)
                });
                // Telegram sends no timestamp: the secret is the whole check.
                if let Err(refusal) = self.verify_request(
                    Platform::Telegram,
                    check,
                    telegram_headers::SECRET,
                    telegram_headers::SECRET,
                    headers,
                    body,
                ) {
                    return refused(Platform::Telegram, refusal);
                }
                self.telegram_update(body, received_at).await
            }
            Route::SlackCommands | Route::SlackInteractions | Route::SlackEvents => {
                let mut verified = self.verify_slack(headers, body);
                // The request may be signed with a secret rotated since this instance read
                // it: read it again (at most once a minute) and check once more.
                if matches!(verified, Err(Refusal::Rejected(Rejection::BadSignature)))
                    && self.reread_slack_secret().await
                {
                    verified = self.verify_slack(headers, body);
                }
                if let Err(refusal) = verified {
                    return refused(Platform::Slack, refusal);
                }
                match route {
                    Route::SlackCommands => self.slack_command(body, received_at).await,
                    Route::SlackInteractions => self.slack_interaction(body, received_at).await,
                    _ => {
                        let retry = header(headers, slack_headers::RETRY_NUM);
                        self.slack_event(body, retry).await
                    }
                }
            }
        }
    }

    async fn dispatch(&self, invocation: &Invocation, received_at: Instant) -> Response {
        self.registry
            .dispatch(invocation, received_at, &self.flows)
            .await
    }

    /// Takes the command's rate-limit tokens and the interaction's claim (Discord) in one
    /// store round trip, then runs it. A repeat is told it was already handled; a limited user
    /// is told how long to wait, and nothing else happens. Unknown commands take no tokens:
    /// their answer is help text with no effect.
    async fn admit_then_dispatch(
        &self,
        invocation: &Invocation,
        claim: Option<NewItem>,
        received_at: Instant,
    ) -> Response {
        let spec = match &invocation.action {
            Action::Command(call) => self.registry.spec(&call.name),
            _ => None,
        };
        let admission = match (spec, claim) {
            (Some(spec), claim) => {
                let claim = claim
                    .filter(|_| !answer_only(spec, invocation.platform))
                    .map(WriteOp::Create);
                self.limiter.admit(invocation, spec, claim).await
            }
            (None, Some(claim)) => self.claims.take(claim).await.map(|taken| match taken {
                Claim::First => Admission::Allowed,
                Claim::Repeat => Admission::Repeat,
            }),
            (None, None) => Ok(Admission::Allowed),
        };
        match admission {
            Ok(Admission::Allowed) => self.dispatch(invocation, received_at).await,
            Ok(Admission::Repeat) => {
                tracing::info!("repeated request answered without acting");
                Reply::ephemeral("This request was already handled; nothing was done twice.").into()
            }
            Ok(Admission::Limited {
                scope,
                retry_after_ms,
            }) => {
                tracing::info!(?scope, retry_after_ms, "rate limited");
                metrics::count("RateLimited", &[("Platform", invocation.platform.as_str())]);
                let name = spec.map_or("", |s| s.name);
                Reply::ephemeral(limited_message(scope, name, retry_after_ms)).into()
            }
            Err(error) => {
                tracing::error!(%error, "could not take rate-limit tokens or claim the request id");
                Reply::ephemeral(
                    "Gavel could not reach its storage, so nothing was done. Please try again in a moment.",
                )
                .into()
            }
        }
    }
}

/// Whether a command's whole effect is its answer to this request, so a repeat of it needs no
/// claim: the repeat is answered again, and nothing was done to do twice. On Discord and Slack
/// the answer is the HTTP response itself; on Telegram it is a message posted into the chat,
/// which a redelivered update would post twice, so there every command is claimed.
fn answer_only(spec: &CommandSpec, platform: Platform) -> bool {
    spec.read_only && platform != Platform::Telegram
}

fn flow_engine(
    registry: &CommandRegistry,
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
    key: ComponentKey,
) -> FlowEngine {
    let mut engine = FlowEngine::new(Arc::clone(store), Arc::clone(clock), key);
    registry.register_flows(&mut engine);
    engine
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn check_size(body: &[u8]) -> Result<(), EdgeResponse> {
    if body.len() > MAX_BODY_BYTES {
        tracing::info!(bytes = body.len(), "body over the size cap");
        return Err(EdgeResponse::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body is larger than 1 MiB",
        ));
    }
    Ok(())
}

fn unauthorized(rejection: &Rejection) -> EdgeResponse {
    // Discord probes endpoints with bad signatures on purpose; that is routine, not a warning.
    tracing::info!(reason = %rejection, "request rejected");
    EdgeResponse::error(StatusCode::UNAUTHORIZED, "invalid request signature")
}

/// The answer, where the platform shows one, to a verified interaction of a kind Gavel does not
/// know: the platforms add kinds, and a 400 would show the user only a generic failure.
const UNSUPPORTED_TEXT: &str = "Gavel can't handle this kind of interaction yet.";

fn bad_request(problem: impl std::fmt::Display) -> EdgeResponse {
    tracing::info!(%problem, "signed request could not be parsed");
    EdgeResponse::error(StatusCode::BAD_REQUEST, &problem.to_string())
}

fn record_invocation(invocation: &Invocation) {
    let span = tracing::Span::current();
    span.record("interaction_id", invocation.log_id().as_str());
    span.record("tenant", invocation.tenant.as_str());
}

/// A duration in milliseconds with microsecond precision, as metrics carry it.
fn millis(d: std::time::Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}
