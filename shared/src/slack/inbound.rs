use serde::Deserialize;
use slack_morphism::prelude::{
    SlackCommandEvent, SlackInteractionEvent, SlackPushEvent, SlackView,
};

use super::options_from_text;
use crate::commands::CommandRegistry;
use crate::invocation::{
    Action, Actor, Capabilities, CommandCall, Invocation, OptionValue, Platform,
};
use crate::reply::Reply;

/// A slash command is either runnable, or its text did not fit the command's options.
#[derive(Debug, PartialEq)]
pub enum CommandParse {
    Invocation(Box<Invocation>),
    /// Answer this (an ephemeral usage message) instead of running anything.
    Usage(Reply),
}

/// Parses a verified slash-command body (form-encoded). The error is for a 400 and the log.
pub fn parse_command(body: &[u8], registry: &CommandRegistry) -> Result<CommandParse, String> {
    let event: SlackCommandEvent =
        serde_urlencoded::from_bytes(body).map_err(|e| format!("malformed slash command: {e}"))?;
    let name = event
        .command
        .0
        .trim()
        .trim_start_matches('/')
        .to_ascii_lowercase();
    let text = event.text.as_deref().unwrap_or("");
    // Unknown commands keep no options; the registry answers them with help.
    let options = match registry.spec(&name) {
        Some(spec) => match options_from_text(spec, text) {
            Ok(options) => options,
            Err(usage) => return Ok(CommandParse::Usage(Reply::ephemeral(usage))),
        },
        None => Vec::<(String, OptionValue)>::new(),
    };
    Ok(CommandParse::Invocation(Box::new(Invocation {
        id: event.trigger_id.0,
        platform: Platform::Slack,
        tenant: event.team_id.0,
        channel: Some(event.channel_id.0),
        actor: Actor {
            id: event.user_id.0,
            display_name: None,
            // Slack payloads carry no roles; moderators come from tenant configuration.
            capabilities: Capabilities::NONE,
        },
        action: Action::Command(CommandCall { name, options }),
    })))
}

#[derive(Deserialize)]
struct InteractionForm {
    payload: String,
}

#[derive(Deserialize)]
struct TypeHead {
    #[serde(rename = "type")]
    kind: String,
}

/// Parses a verified interactivity body (`payload=` JSON in a form). Returns `None` for payload
/// kinds Gavel does not act on (shortcuts, view_closed, …), which are acknowledged and dropped.
pub fn parse_interaction(body: &[u8]) -> Result<Option<Invocation>, String> {
    let form: InteractionForm = serde_urlencoded::from_bytes(body)
        .map_err(|e| format!("malformed interaction form: {e}"))?;
    let head: TypeHead = serde_json::from_str(&form.payload)
        .map_err(|e| format!("malformed interaction payload: {e}"))?;
    // slack-morphism's enum has no fallback variant, so only hand it the kinds we handle.
    if head.kind != "block_actions" && head.kind != "view_submission" {
        return Ok(None);
    }
    let event: SlackInteractionEvent = serde_json::from_str(&form.payload)
        .map_err(|e| format!("malformed {} payload: {e}", head.kind))?;
    let actor = |id: String| Actor {
        id,
        display_name: None,
        capabilities: Capabilities::NONE,
    };
    Ok(match event {
        SlackInteractionEvent::BlockActions(ev) => {
            let action = ev
                .actions
                .as_ref()
                .and_then(|a| a.first())
                .ok_or("block_actions without an action")?;
            Some(Invocation {
                id: ev.trigger_id.0.clone(),
                platform: Platform::Slack,
                tenant: ev.team.id.0.clone(),
                channel: ev.channel.as_ref().map(|c| c.id.0.clone()),
                actor: actor(
                    ev.user
                        .as_ref()
                        .ok_or("block_actions without a user")?
                        .id
                        .0
                        .clone(),
                ),
                action: Action::Component {
                    custom_id: action.action_id.0.clone(),
                },
            })
        }
        SlackInteractionEvent::ViewSubmission(ev) => {
            let custom_id = match &ev.view.view {
                SlackView::Modal(modal) => modal.callback_id.as_ref().map(|c| c.0.clone()),
                SlackView::Home(_) => None,
            }
            .unwrap_or_default();
            let mut fields = Vec::new();
            if let Some(state) = &ev.view.state_params.state {
                for actions in state.values.values() {
                    for (action_id, value) in actions {
                        if let Some(v) = &value.value {
                            fields.push((action_id.0.clone(), v.clone()));
                        }
                    }
                }
            }
            fields.sort();
            Some(Invocation {
                id: ev.view.state_params.id.0.clone(),
                platform: Platform::Slack,
                tenant: ev.team.id.0.clone(),
                channel: None,
                actor: actor(ev.user.id.0.clone()),
                action: Action::ModalSubmit { custom_id, fields },
            })
        }
        _ => None,
    })
}

/// An Events API delivery, reduced to what the edge acts on.
#[derive(Debug, PartialEq)]
pub enum SlackEvent {
    /// Sent when the Request URL is saved; answer with the challenge.
    UrlVerification { challenge: String },
    /// A subscribed event; `event_id` is Slack's id for idempotency.
    Callback {
        event_id: Option<String>,
        event_type: Option<String>,
    },
    /// Slack telling us it is dropping events for this app; acknowledge and log.
    RateLimited,
    /// Anything else that is well-formed JSON with a `type`.
    Other { kind: String },
}

#[derive(Deserialize)]
struct CallbackHead {
    event_id: Option<String>,
    event: Option<TypeHeadOpt>,
}

#[derive(Deserialize)]
struct TypeHeadOpt {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Parses a verified Events API body (JSON).
pub fn parse_event(body: &[u8]) -> Result<SlackEvent, String> {
    let head: TypeHead =
        serde_json::from_slice(body).map_err(|e| format!("malformed event: {e}"))?;
    match head.kind.as_str() {
        "url_verification" => match serde_json::from_slice::<SlackPushEvent>(body) {
            Ok(SlackPushEvent::UrlVerification(v)) => Ok(SlackEvent::UrlVerification {
                challenge: v.challenge,
            }),
            Ok(_) => Err("url_verification with another shape".to_owned()),
            Err(e) => Err(format!("malformed url_verification: {e}")),
        },
        // Read the envelope only: slack-morphism models every event type strictly, and an
        // event type it does not know must still be acknowledged, not answered with a 400.
        "event_callback" => {
            let head: CallbackHead = serde_json::from_slice(body)
                .map_err(|e| format!("malformed event_callback: {e}"))?;
            Ok(SlackEvent::Callback {
                event_id: head.event_id,
                event_type: head.event.and_then(|e| e.kind),
            })
        }
        "app_rate_limited" => Ok(SlackEvent::RateLimited),
        other => Ok(SlackEvent::Other {
            kind: other.to_owned(),
        }),
    }
}
