//! The HTTP edge both transports share (Lambda events and `gavel serve`): routes, status codes,
//! body limits, signature checks, then the platform codecs and the command registry.
//!
//! Order of checks for every platform route, so that nothing unverified is ever parsed:
//! route (404) → method (405) → platform configured (404) → body size (413) → signature and
//! timestamp (401) → parse (400) → claim the request's id (one store round trip; a repeat is
//! answered without acting) → dispatch (200).

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderMap, Method, StatusCode};
use serde_json::json;
use tracing::{Instrument, field};

use crate::clock::Clock;
use crate::commands::{Command, CommandRegistry, Help};
use crate::discord::{self, DiscordInbound};
use crate::flows::FlowEngine;
use crate::flows::component_id::ComponentKey;
use crate::idempotency::{Claim, Claims, lifetimes};
use crate::invocation::{Action, Capabilities, Invocation, Platform};
use crate::ratelimit::limiter::{Admission, RateLimiter, limited_message};
use crate::ratelimit::policy::Policies;
use crate::reply::{Reply, Response};
use crate::slack::web::{RecordingSlackWeb, SlackWeb};
use crate::slack::{self, CommandParse, SlackEvent};
use crate::store::{NewItem, Store, WriteOp, round_trips};
use crate::verify::{DiscordVerifier, Rejection, SlackVerifier, discord_headers, slack_headers};

/// Bodies larger than this are refused with 413 before verification. Discord and Slack payloads
/// are a few KiB; 1 MiB leaves room for large modals and resolved data without inviting abuse.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long the Slack Web API may take to say whether an invoker is a workspace admin or in
/// the moderator user group. Slack wants its acknowledgement within 3 seconds, and the command
/// still has to run after this; past the budget the configured lists decide alone.
pub const SLACK_MODERATOR_LOOKUP_BUDGET: Duration = Duration::from_millis(1000);

/// The routes Gavel serves, on Lambda and locally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    DiscordInteractions,
    SlackCommands,
    SlackInteractions,
    SlackEvents,
    Health,
}

impl Route {
    pub const ALL: [Route; 5] = [
        Route::DiscordInteractions,
        Route::SlackCommands,
        Route::SlackInteractions,
        Route::SlackEvents,
        Route::Health,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Route::DiscordInteractions => "/discord/interactions",
            Route::SlackCommands => "/slack/commands",
            Route::SlackInteractions => "/slack/interactions",
            Route::SlackEvents => "/slack/events",
            Route::Health => "/healthz",
        }
    }

    pub fn from_path(path: &str) -> Option<Route> {
        // Tolerate one trailing slash: people paste URLs both ways into the platforms' settings.
        let path = path
            .strip_suffix('/')
            .filter(|p| !p.is_empty())
            .unwrap_or(path);
        Route::ALL.into_iter().find(|r| r.path() == path)
    }

    fn method(self) -> Method {
        match self {
            Route::Health => Method::GET,
            _ => Method::POST,
        }
    }
}

/// A transport-neutral HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeResponse {
    pub status: StatusCode,
    /// `None` for an empty body.
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
    /// Store round trips made while handling the request (not sent; for traces and tests).
    pub store_round_trips: u32,
}

impl EdgeResponse {
    fn json(status: StatusCode, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type: Some("application/json"),
            body,
            store_round_trips: 0,
        }
    }

    pub fn error(status: StatusCode, message: &str) -> Self {
        Self::json(status, json!({ "error": message }).to_string().into_bytes())
    }

    fn empty_ok() -> Self {
        Self {
            status: StatusCode::OK,
            content_type: None,
            body: Vec::new(),
            store_round_trips: 0,
        }
    }

    fn serialized<T: serde::Serialize>(value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::json(StatusCode::OK, body),
            Err(e) => {
                tracing::error!(error = %e, "could not serialise a reply");
                Self::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "could not render the reply",
                )
            }
        }
    }
}

/// The verified entry point for both platforms. Which platforms it serves depends on which
/// verifiers it holds: each Lambda function holds only its own platform's.
pub struct Edge {
    discord: Option<DiscordVerifier>,
    slack: Option<SlackVerifier>,
    registry: Arc<CommandRegistry>,
    clock: Arc<dyn Clock>,
    store: Arc<dyn Store>,
    claims: Claims,
    flows: FlowEngine,
    limiter: RateLimiter,
    slack_web: Arc<dyn SlackWeb>,
    slack_moderators: std::collections::HashSet<String>,
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
        Self {
            discord,
            slack,
            registry,
            claims: Claims::new(Arc::clone(&store), Arc::clone(&clock)),
            limiter: RateLimiter::new(Arc::clone(&store), Arc::clone(&clock), Policies::default()),
            clock,
            store,
            flows,
            slack_web: Arc::new(RecordingSlackWeb::new()),
            slack_moderators: Default::default(),
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
        self.slack_moderators = users.into_iter().collect();
        self
    }

    /// Where Slack `response_url` posts and `views.open` calls go.
    pub fn with_slack_web(mut self, web: Arc<dyn SlackWeb>) -> Self {
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
            round_trips::measure(self.route(route, headers, body, received_at))
                .instrument(span.clone())
                .await;
        span.record("status", response.status.as_u16());
        span.record("store_round_trips", trips);
        response.store_round_trips = trips;
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
                if let Err(refused) = self.admit(
                    Platform::Discord,
                    check,
                    discord_headers::SIGNATURE,
                    discord_headers::TIMESTAMP,
                    headers,
                    body,
                ) {
                    return refused;
                }
                self.discord_interaction(body, received_at).await
            }
            Route::SlackCommands | Route::SlackInteractions | Route::SlackEvents => {
                let check = self.slack.as_ref().map(|v| {
                    move |sig: Option<&str>, ts: Option<&str>, body: &[u8], now: i64| {
                        v.verify(sig, ts, body, now)
                    }
                });
                if let Err(refused) = self.admit(
                    Platform::Slack,
                    check,
                    slack_headers::SIGNATURE,
                    slack_headers::TIMESTAMP,
                    headers,
                    body,
                ) {
                    return refused;
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

    /// The checks every platform request passes before its body is read: the platform is
    /// served here (404), the body is within the cap (413), and the signature and timestamp
    /// verify (401).
    fn admit(
        &self,
        platform: Platform,
        verify: Option<impl Fn(Option<&str>, Option<&str>, &[u8], i64) -> Result<(), Rejection>>,
        signature_header: &str,
        timestamp_header: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), EdgeResponse> {
        tracing::Span::current().record("platform", platform.as_str());
        let Some(verify) = verify else {
            let message = format!("{} is not served here", platform.name());
            return Err(EdgeResponse::error(StatusCode::NOT_FOUND, &message));
        };
        check_size(body)?;
        verify(
            header(headers, signature_header),
            header(headers, timestamp_header),
            body,
            self.clock.now_secs(),
        )
        .map_err(|rejection| unauthorized(&rejection))
    }

    async fn discord_interaction(&self, body: &[u8], received_at: Instant) -> EdgeResponse {
        let invocation = match discord::parse_interaction(body) {
            Ok(DiscordInbound::Ping) => {
                return EdgeResponse::json(StatusCode::OK, discord::PONG.as_bytes().to_vec());
            }
            Ok(DiscordInbound::Autocomplete) => {
                return EdgeResponse::serialized(&discord::autocomplete_empty());
            }
            Ok(DiscordInbound::Invocation(invocation)) => invocation,
            Err(problem) => return bad_request(&problem.to_string()),
        };
        record_invocation(&invocation);
        let response = match invocation.action {
            // Commands are claimed by interaction id before they run. Clicks and form
            // submissions are not: the flow's versioned transition already lets exactly one
            // of any number of copies act, and skipping the claim keeps them at two round
            // trips (read the state, write the transition).
            Action::Command(_) => {
                let claim = self.claims.claim_item(
                    "discord:interaction",
                    &invocation.id,
                    lifetimes::DISCORD_INTERACTION_SECS,
                );
                self.admit_then_dispatch(&invocation, Some(claim), received_at)
                    .await
            }
            Action::Component { .. } | Action::ModalSubmit { .. } => {
                self.dispatch(&invocation, received_at).await
            }
        };
        EdgeResponse::serialized(&discord::render_response(&response))
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
                let claim = claim.map(WriteOp::Create);
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

    async fn slack_command(&self, body: &[u8], received_at: Instant) -> EdgeResponse {
        let (invocation, response) = match slack::parse_command(body, &self.registry) {
            // No claim here: Slack never retries a slash command and every invocation has
            // its own trigger id, so a claim would only cost a round trip. Commands with
            // effects guard them with their own conditional writes.
            Ok(CommandParse::Invocation(mut invocation)) => {
                record_invocation(&invocation);
                self.grant_slack_moderators(&mut invocation).await;
                let response = self
                    .admit_then_dispatch(&invocation, None, received_at)
                    .await;
                (Some(invocation), response)
            }
            Ok(CommandParse::Usage(reply)) => (None, reply.into()),
            Err(problem) => return bad_request(&problem.to_string()),
        };
        let reply = match response {
            Response::Modal(modal) => {
                let trigger = invocation.as_ref().and_then(|i| i.trigger_id.as_deref());
                match self.open_slack_modal(trigger, &modal).await {
                    // The form is open; an empty acknowledgement leaves the channel untouched.
                    Ok(()) => return EdgeResponse::empty_ok(),
                    Err(reply) => reply,
                }
            }
            Response::Message(reply)
            | Response::Update(reply)
            | Response::FormDone(reply)
            | Response::Deferred(reply) => reply,
            Response::FormErrors { fallback, .. } => fallback,
        };
        EdgeResponse::serialized(&slack::render_command_reply(&reply))
    }

    /// Opens a form with `views.open`. The trigger id lives 3 seconds, so this happens here,
    /// inside the acknowledgement, not in the worker.
    async fn open_slack_modal(
        &self,
        trigger_id: Option<&str>,
        modal: &crate::reply::Modal,
    ) -> Result<(), Reply> {
        let Some(trigger_id) = trigger_id else {
            return Err(Reply::ephemeral(
                "Slack sent no trigger id with this request, so the form could not be opened.",
            ));
        };
        let view = match serde_json::to_value(slack::render_modal(modal)) {
            Ok(view) => view,
            Err(error) => {
                tracing::error!(%error, "could not serialise a modal");
                return Err(Reply::ephemeral(
                    "The form could not be drawn; nothing was done.",
                ));
            }
        };
        self.slack_web
            .open_view(trigger_id, &view)
            .await
            .map_err(|error| {
                tracing::warn!(%error, "views.open failed");
                Reply::ephemeral(format!(
                    "Slack did not open the form ({error}). Please try again."
                ))
            })
    }

    /// Block actions: Slack reads nothing from the HTTP body, so the answer goes to the
    /// `response_url` (or opens a form) and the body is an empty acknowledgement. View
    /// submissions: the answer is the body (`response_action`).
    async fn slack_interaction(&self, body: &[u8], received_at: Instant) -> EdgeResponse {
        let mut invocation = match slack::parse_interaction(body) {
            Ok(Some(invocation)) => invocation,
            Ok(None) => return EdgeResponse::empty_ok(),
            Err(problem) => return bad_request(&problem.to_string()),
        };
        record_invocation(&invocation);
        self.grant_slack_moderators(&mut invocation).await;
        let response = self.dispatch(&invocation, received_at).await;
        match &invocation.action {
            Action::ModalSubmit { .. } => {
                EdgeResponse::serialized(&slack::render_view_submission(&response))
            }
            _ => {
                match response {
                    Response::Modal(modal) => {
                        if let Err(reply) = self
                            .open_slack_modal(invocation.trigger_id.as_deref(), &modal)
                            .await
                        {
                            self.post_to_response_url(&invocation, &Response::Message(reply))
                                .await;
                        }
                    }
                    other => self.post_to_response_url(&invocation, &other).await,
                }
                EdgeResponse::empty_ok()
            }
        }
    }

    /// Slack payloads carry no roles. Moderators, who get every capability, are the users
    /// listed in the environment or in the workspace's settings, the members of its moderator
    /// user group, and the workspace's admins and owners.
    ///
    /// Only requests that need to know pay for finding out: a command that requires a
    /// capability, `/help` (which lists what the invoker may run), and clicks and forms (a
    /// flow may be a moderator's, such as an appeal's review buttons). The settings come from
    /// this instance's one-minute copy. A store or Slack failure, or Slack taking longer than
    /// [`SLACK_MODERATOR_LOOKUP_BUDGET`], leaves the lists that could be read to decide; it is
    /// logged and never fails the request.
    async fn grant_slack_moderators(&self, invocation: &mut Invocation) {
        let user = invocation.actor.id.clone();
        if self.slack_moderators.contains(&user) {
            invocation.actor.capabilities = Capabilities::all();
            return;
        }
        if !self.needs_moderator_check(invocation) {
            return;
        }
        let settings = match self
            .registry
            .settings_cache()
            .get(
                self.store.as_ref(),
                invocation.platform,
                &invocation.tenant,
                self.clock.now_ms(),
            )
            .await
        {
            Ok(settings) => settings,
            Err(error) => {
                tracing::warn!(%error, "could not read the workspace's moderators; only GAVEL_SLACK_MODERATORS count");
                return;
            }
        };
        if settings.slack_moderators.contains(&user)
            || self
                .slack_says_moderator(&user, settings.slack_moderator_group.as_deref())
                .await
        {
            invocation.actor.capabilities = Capabilities::all();
        }
    }

    fn needs_moderator_check(&self, invocation: &Invocation) -> bool {
        match &invocation.action {
            Action::Command(call) => {
                call.name.eq_ignore_ascii_case(Help.spec().name)
                    || self
                        .registry
                        .spec(&call.name)
                        .is_some_and(|spec| spec.requires.is_some())
            }
            Action::Component { .. } | Action::ModalSubmit { .. } => true,
        }
    }

    /// Asks Slack, both questions at once, whether `user` is a workspace admin or owner or a
    /// member of `group`; the first yes ends the wait.
    async fn slack_says_moderator(&self, user: &str, group: Option<&str>) -> bool {
        let admin = async {
            match self.slack_web.user_is_admin(user).await {
                Ok(admin) => admin,
                Err(error) => {
                    tracing::warn!(%error, "could not ask Slack whether the invoker is a workspace admin; the configured moderators decide");
                    false
                }
            }
        };
        let member = async {
            let Some(group) = group else {
                return false;
            };
            match self.slack_web.usergroup_members(group).await {
                Ok(members) => members.iter().any(|m| m == user),
                Err(error) => {
                    tracing::warn!(%error, group, "could not list the moderator user group; the configured moderators decide");
                    false
                }
            }
        };
        let either = async {
            tokio::pin!(admin, member);
            let (mut admin_done, mut member_done) = (false, false);
            loop {
                tokio::select! {
                    yes = &mut admin, if !admin_done => {
                        if yes {
                            return true;
                        }
                        admin_done = true;
                    }
                    yes = &mut member, if !member_done => {
                        if yes {
                            return true;
                        }
                        member_done = true;
                    }
                    else => return false,
                }
            }
        };
        match tokio::time::timeout(SLACK_MODERATOR_LOOKUP_BUDGET, either).await {
            Ok(found) => found,
            Err(_) => {
                tracing::warn!(
                    budget_ms = SLACK_MODERATOR_LOOKUP_BUDGET.as_millis() as u64,
                    "Slack did not answer the moderator lookups in time; the configured moderators decide"
                );
                false
            }
        }
    }

    async fn post_to_response_url(&self, invocation: &Invocation, response: &Response) {
        let Some(url) = invocation.response_url.as_deref() else {
            tracing::warn!("block action without a response_url; the answer is dropped");
            return;
        };
        let message = slack::render_response_url_message(response);
        if let Err(error) = self.slack_web.respond(url, &message).await {
            tracing::warn!(%error, "response_url post failed");
        }
    }
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

impl Edge {
    /// Events are claimed by `event_id` before anything acts on them: Slack retries events it
    /// thinks were not acknowledged in time (`X-Slack-Retry-Num`) and has been seen to deliver
    /// copies, and each must have one effect. A claim that cannot be made is answered 503, so
    /// Slack retries later and nothing is lost.
    async fn slack_event(&self, body: &[u8], retry: Option<&str>) -> EdgeResponse {
        let (event_id, event_type) = match slack::parse_event(body) {
            Ok(SlackEvent::Callback {
                event_id,
                event_type,
            }) => (event_id, event_type),
            Ok(SlackEvent::UrlVerification { challenge }) => {
                #[derive(serde::Serialize)]
                struct Challenge<'a> {
                    challenge: &'a str,
                }
                return EdgeResponse::serialized(&Challenge {
                    challenge: &challenge,
                });
            }
            Ok(SlackEvent::RateLimited) => {
                tracing::warn!("Slack reports it is rate limiting this app's events");
                return EdgeResponse::empty_ok();
            }
            Ok(SlackEvent::Other { kind }) => {
                tracing::info!(kind, "unhandled Events API delivery acknowledged");
                return EdgeResponse::empty_ok();
            }
            Err(problem) => return bad_request(&problem.to_string()),
        };
        let event_type = event_type.as_deref().unwrap_or("-");
        let Some(event_id) = event_id else {
            tracing::info!(event_type, "event without an event_id acknowledged");
            return EdgeResponse::empty_ok();
        };
        tracing::Span::current().record("interaction_id", event_id.as_str());
        match self
            .claims
            .claim("slack:event", &event_id, lifetimes::SLACK_EVENT_SECS)
            .await
        {
            Ok(Claim::First) => {
                tracing::info!(event_type, retry, "event acknowledged");
                EdgeResponse::empty_ok()
            }
            Ok(Claim::Repeat) => {
                tracing::info!(
                    event_type,
                    retry,
                    "event already handled; acknowledged without reprocessing"
                );
                EdgeResponse::empty_ok()
            }
            Err(error) => {
                tracing::error!(%error, "could not claim the event id; asking Slack to retry");
                EdgeResponse::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage unavailable, retry later",
                )
            }
        }
    }
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

fn bad_request(problem: &str) -> EdgeResponse {
    tracing::info!(problem, "signed request could not be parsed");
    EdgeResponse::error(StatusCode::BAD_REQUEST, problem)
}

fn record_invocation(invocation: &Invocation) {
    let span = tracing::Span::current();
    span.record("interaction_id", invocation.id.as_str());
    span.record("tenant", invocation.tenant.as_str());
}
