//! Slack's three routes: slash commands (answered in the body, forms opened with
//! `views.open`), interactivity (answered through the `response_url`, or in the body for a
//! form submission) and the Events API (claimed by `event_id`).
//!
//! Slack's payloads carry no roles: before a request that needs to know, the invoker's
//! capabilities come from [`SlackModerators`](crate::slack::SlackModerators).

use std::time::Instant;

use http::StatusCode;

use super::{Edge, EdgeResponse, UNSUPPORTED_TEXT, bad_request, record_invocation};
use crate::commands::{Command, Help};
use crate::idempotency::{Claim, lifetimes};
use crate::invocation::{Action, Capabilities, Invocation, OptionValue};
use crate::reply::{Modal, Reply, Response};
use crate::slack::{self, CommandParse, SlackEvent, SlackInteraction};

/// How long a command waits to learn whether the users it names are bots.
const BOT_LOOKUP_BUDGET: std::time::Duration = std::time::Duration::from_millis(800);

impl Edge {
    pub(super) async fn slack_command(&self, body: &[u8], received_at: Instant) -> EdgeResponse {
        let (invocation, response) = match slack::parse_command(body, &self.registry) {
            // Slack never retries a slash command, but a captured request replayed inside the
            // signature window verifies again: its trigger id (per team) is claimed in the
            // admission transaction that takes the rate-limit tokens, so a replay acts never
            // and the claim costs no round trip. Unknown commands take neither: their answer
            // is help text with no effect.
            Ok(CommandParse::Invocation(mut invocation)) => {
                record_invocation(&invocation);
                self.grant_slack_moderators(&mut invocation).await;
                self.mark_slack_bots(&mut invocation).await;
                let claim = match &invocation.action {
                    Action::Command(call) if self.registry.spec(&call.name).is_some() => {
                        Some(self.claims.claim_item(
                            "slack:command",
                            &format!("{}:{}", invocation.tenant, invocation.id),
                            lifetimes::SLACK_COMMAND_SECS,
                        ))
                    }
                    _ => None,
                };
                let response = self
                    .admit_then_dispatch(&invocation, claim, received_at)
                    .await;
                (Some(invocation), response)
            }
            Ok(CommandParse::Usage(reply)) => (None, reply.into()),
            Err(problem) => return bad_request(&problem),
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

    /// Block actions: Slack reads nothing from the HTTP body, so the answer goes to the
    /// `response_url` (or opens a form) and the body is an empty acknowledgement. View
    /// submissions: the answer is the body (`response_action`).
    pub(super) async fn slack_interaction(
        &self,
        body: &[u8],
        received_at: Instant,
    ) -> EdgeResponse {
        let mut invocation = match slack::parse_interaction(body) {
            Ok(SlackInteraction::Invocation(invocation)) => *invocation,
            Ok(SlackInteraction::Unhandled { kind, notice_url }) => {
                tracing::info!(
                    kind,
                    "Slack interaction of a kind Gavel does not handle acknowledged"
                );
                if let Some(url) = notice_url {
                    let notice = Response::Message(Reply::ephemeral(UNSUPPORTED_TEXT));
                    let message = slack::render_response_url_message(&notice);
                    if let Err(error) = self.slack_web.respond(&url, &message).await {
                        tracing::warn!(%error, "response_url post failed");
                    }
                }
                return EdgeResponse::empty_ok();
            }
            Err(problem) => return bad_request(&problem),
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

    /// Events are claimed by `event_id` before anything acts on them: Slack retries events it
    /// thinks were not acknowledged in time (`X-Slack-Retry-Num`) and has been seen to deliver
    /// copies, and each must have one effect. A claim that cannot be made is answered 503, so
    /// Slack retries later and nothing is lost.
    pub(super) async fn slack_event(&self, body: &[u8], retry: Option<&str>) -> EdgeResponse {
        let (event_id, event_type, message) = match slack::parse_event(body) {
            Ok(SlackEvent::Callback {
                event_id,
                event_type,
                message,
            }) => (event_id, event_type, message),
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
            Err(problem) => return bad_request(&problem),
        };
        let event_type = event_type.as_deref().unwrap_or("-");
        let Some(event_id) = event_id else {
            tracing::info!(event_type, "event without an event_id acknowledged");
            return EdgeResponse::empty_ok();
        };
        tracing::Span::current().record("interaction_id", event_id.as_str());
        if let Some(message) = message {
            // AutoMod: its claims are in the message's own transaction.
            return self
                .check_message(&event_id, &message.as_ref().into())
                .await;
        }
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

    /// Gives a moderator every capability. Only requests that need to know pay for finding
    /// out: a command that requires a capability, `/help` (which lists what the invoker may
    /// run), and clicks and forms (a flow may be a moderator's, such as an appeal's review
    /// buttons).
    async fn grant_slack_moderators(&self, invocation: &mut Invocation) {
        let moderators = &self.slack_moderators;
        let is_moderator = moderators.is_listed_everywhere(&invocation.actor.id)
            || (self.needs_moderator_check(invocation)
                && moderators
                    .is_moderator(invocation, self.registry.settings_cache())
                    .await);
        if is_moderator {
            invocation.actor.capabilities = Capabilities::all();
        }
    }

    /// For a command that refuses bots, asks Slack which of the users it names are bots,
    /// within [`BOT_LOOKUP_BUDGET`]. A lookup that fails or is slow leaves the
    /// user unmarked: the command goes on as Slack's text alone would let it.
    async fn mark_slack_bots(&self, invocation: &mut Invocation) {
        let Action::Command(call) = &mut invocation.action else {
            return;
        };
        if !self.registry.refuses_bots(&call.name) {
            return;
        }
        let named: Vec<String> = call
            .options
            .iter()
            .filter_map(|(_, value)| match value {
                OptionValue::User(user) => Some(user.clone()),
                _ => None,
            })
            .collect();
        // A command names one or two users: asked in turn, inside one budget.
        let web = &self.slack_web;
        let lookups = async {
            let mut bots = Vec::new();
            for user in &named {
                match web.user_is_bot(user).await {
                    Ok(true) => bots.push(user.clone()),
                    Ok(false) => {}
                    Err(error) => {
                        tracing::warn!(%error, "could not ask Slack whether a user is a bot")
                    }
                }
            }
            bots
        };
        match tokio::time::timeout(BOT_LOOKUP_BUDGET, lookups).await {
            Ok(bots) => call.bots = bots,
            Err(_) => tracing::warn!("Slack did not say in time whether the users named are bots"),
        }
    }

    pub(super) fn needs_moderator_check(&self, invocation: &Invocation) -> bool {
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

    /// Opens a form with `views.open`. The trigger id lives 3 seconds, so this happens here,
    /// inside the acknowledgement, not in the worker.
    async fn open_slack_modal(&self, trigger_id: Option<&str>, modal: &Modal) -> Result<(), Reply> {
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
