//! Verified Slack bodies, read into domain types: slash commands (form-encoded), interactivity
//! payloads (`payload=` JSON in a form) and Events API deliveries (JSON).

use serde::Deserialize;
use slack_morphism::prelude::SlackCommandEvent;

use super::message_event::{SlackMessage, message_of};
use super::options_from_text;
use crate::commands::CommandRegistry;
use crate::invocation::{
    Action, Actor, Capabilities, CommandCall, Invocation, OptionValue, Platform,
};
use crate::reply::Reply;

/// Why a verified Slack body could not be read. The text is the 400 answer's message and the
/// log's.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("malformed slash command: {0}")]
    SlashCommand(#[source] serde_urlencoded::de::Error),
    /// The interactivity body is not a form with a `payload` field.
    #[error("malformed interaction form: {0}")]
    InteractionForm(#[source] serde_urlencoded::de::Error),
    /// The `payload` is not JSON with a string `type`.
    #[error("malformed interaction payload: {0}")]
    InteractionPayload(#[source] serde_json::Error),
    /// A payload of a kind Gavel handles without the fields it needs (a click's `trigger_id`,
    /// a submission's `user` and `view.id`).
    #[error("malformed {kind} payload: {source}")]
    Payload {
        kind: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("block_actions without an action")]
    NoAction,
    #[error("block_actions without a user")]
    NoUser,
    /// Neither `team`, the user's `team_id` nor an enterprise: no community to act in.
    #[error("{0} without a team")]
    NoTeam(String),
    /// The Events API body is not JSON with a string `type`.
    #[error("malformed event: {0}")]
    Event(#[source] serde_json::Error),
    #[error("malformed url_verification: no challenge")]
    NoChallenge,
}

/// A slash command is either runnable, or its text did not fit the command's options.
#[derive(Debug, PartialEq)]
pub enum CommandParse {
    Invocation(Box<Invocation>),
    /// Answer this (an ephemeral usage message) instead of running anything.
    Usage(Reply),
}

/// Parses a verified slash-command body (form-encoded). The error is for a 400 and the log.
pub fn parse_command(body: &[u8], registry: &CommandRegistry) -> Result<CommandParse, ParseError> {
    let event: SlackCommandEvent =
        serde_urlencoded::from_bytes(body).map_err(ParseError::SlashCommand)?;
    // slack-morphism's command model has no Enterprise Grid fields; read them beside it.
    let grid: GridForm = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let tenant = tenant_of(
        Some(&event.team_id.0),
        grid.enterprise_id.as_deref(),
        grid.is_enterprise_install.as_deref() == Some("true"),
    )
    .unwrap_or_else(|| event.team_id.0.clone());
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
            Err(usage) => return Ok(CommandParse::Usage(Reply::ephemeral(usage.to_string()))),
        },
        None => Vec::<(String, OptionValue)>::new(),
    };
    let trigger_id = event.trigger_id.0.clone();
    Ok(CommandParse::Invocation(Box::new(Invocation {
        id: event.trigger_id.0,
        platform: Platform::Slack,
        tenant,
        channel: Some(event.channel_id.0),
        actor: Actor {
            id: event.user_id.0,
            display_name: None,
            // Slack payloads carry no roles; moderators come from tenant configuration.
            capabilities: Capabilities::NONE,
        },
        action: Action::Command(CommandCall {
            name,
            options,
            bots: Vec::new(),
            message: None,
        }),
        response_url: Some(event.response_url.0.to_string()),
        trigger_id: Some(trigger_id),
        interaction_token: None,
        app: None,
    })))
}

#[derive(Deserialize)]
struct InteractionForm {
    payload: String,
}

/// A slash command's Enterprise Grid fields.
#[derive(Default, Deserialize)]
struct GridForm {
    enterprise_id: Option<String>,
    is_enterprise_install: Option<String>,
}

/// The community a Slack request belongs to (`docs/DATA.md`, "Slack Enterprise Grid"): its
/// workspace, except on an org-wide install, where it is the enterprise. An org-wide install's
/// clicks and form submissions say `"team": null`, so the enterprise is the one id every
/// payload of such an install carries; moderation, settings and balances are then the
/// organisation's. `None` when the payload names neither.
pub(super) fn tenant_of(
    team: Option<&str>,
    enterprise: Option<&str>,
    org_wide: bool,
) -> Option<String> {
    let non_empty = |id: Option<&str>| id.filter(|id| !id.trim().is_empty()).map(str::to_owned);
    match (org_wide, non_empty(enterprise)) {
        (true, Some(enterprise)) => Some(enterprise),
        (_, enterprise) => non_empty(team).or(enterprise),
    }
}

#[derive(Deserialize)]
struct TypeHead {
    #[serde(rename = "type")]
    kind: String,
}

/// What a verified interactivity payload turned out to be.
#[derive(Debug, PartialEq)]
pub enum SlackInteraction {
    /// A click (`block_actions`) or a form submission (`view_submission`).
    Invocation(Box<Invocation>),
    /// A kind Gavel does not act on (shortcuts, `view_closed`, `block_suggestion`, kinds Slack
    /// adds later): acknowledged, never refused. `notice_url` is the payload's `response_url`
    /// when it has one and a message there is what the user expects, so they can be told
    /// Gavel cannot handle it; Slack shows nothing from the HTTP body of these.
    Unhandled {
        kind: String,
        notice_url: Option<String>,
    },
}

/// The kinds that must get no message even when they carry a `response_url`: Gavel's own
/// forms closing, and the requests for a select's options, whose answer is the option list.
const SILENT_KINDS: [&str; 2] = ["view_closed", "block_suggestion"];

/// Gavel's own read model of a `block_actions` payload: the fields it acts on, the rest
/// ignored. slack-morphism's requires fields Gavel does not use (`api_app_id`, `container`,
/// `team`) and models every block and element strictly, so a block type Slack adds to a
/// message would fail the click; this one cannot.
#[derive(Deserialize)]
struct BlockActionsPayload {
    trigger_id: String,
    #[serde(default)]
    user: Option<SlackUser>,
    #[serde(default)]
    channel: Option<SlackId>,
    #[serde(default)]
    container: Option<SlackContainer>,
    #[serde(default)]
    response_url: Option<String>,
    #[serde(default)]
    actions: Vec<serde_json::Value>,
}

/// A `view_submission` payload, read the same way.
#[derive(Deserialize)]
struct ViewSubmissionPayload {
    user: SlackUser,
    view: SubmittedView,
    #[serde(default)]
    trigger_id: Option<String>,
}

#[derive(Deserialize)]
struct SubmittedView {
    id: String,
    #[serde(default)]
    callback_id: Option<String>,
    #[serde(default)]
    state: Option<ViewState>,
}

#[derive(Deserialize)]
struct ViewState {
    /// Block id → action id → the element's state.
    #[serde(default)]
    values: std::collections::BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct SlackUser {
    id: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct SlackId {
    id: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct SlackContainer {
    channel_id: Option<String>,
}

/// Parses a verified interactivity body (`payload=` JSON in a form). Kinds Gavel does not act
/// on are [`SlackInteraction::Unhandled`], whatever else their payload holds.
pub fn parse_interaction(body: &[u8]) -> Result<SlackInteraction, ParseError> {
    let form: InteractionForm =
        serde_urlencoded::from_bytes(body).map_err(ParseError::InteractionForm)?;
    let payload: serde_json::Value =
        serde_json::from_str(&form.payload).map_err(ParseError::InteractionPayload)?;
    let head = TypeHead::deserialize(&payload).map_err(ParseError::InteractionPayload)?;
    let kind = head.kind;
    if kind != "block_actions" && kind != "view_submission" {
        let notice_url = payload["response_url"]
            .as_str()
            .filter(|_| !SILENT_KINDS.contains(&kind.as_str()))
            .map(str::to_owned);
        return Ok(SlackInteraction::Unhandled { kind, notice_url });
    }
    let malformed = |source| ParseError::Payload {
        kind: kind.clone(),
        source,
    };
    // An org-wide Grid install sends `"team": null`: the workspace is then in the user's
    // `team_id`, and the community is the enterprise (`tenant_of`).
    let org_wide = payload["is_enterprise_install"] == true;
    let team = payload["team"]["id"]
        .as_str()
        .or(payload["user"]["team_id"].as_str());
    let enterprise = payload["enterprise"]["id"]
        .as_str()
        .or(payload["user"]["enterprise_id"].as_str());
    let tenant = tenant_of(team, enterprise, org_wide);
    let actor = |id: String| Actor {
        id,
        display_name: None,
        capabilities: Capabilities::NONE,
    };
    let invocation = if kind == "block_actions" {
        let ev = BlockActionsPayload::deserialize(&payload).map_err(malformed)?;
        // The first action that names itself: Slack sends one per click.
        let custom_id = ev
            .actions
            .iter()
            .find_map(|action| action["action_id"].as_str())
            .ok_or(ParseError::NoAction)?
            .to_owned();
        let user = ev.user.ok_or(ParseError::NoUser)?;
        Invocation {
            id: ev.trigger_id.clone(),
            platform: Platform::Slack,
            tenant: tenant.ok_or(ParseError::NoTeam(kind))?,
            channel: ev
                .channel
                .and_then(|c| c.id)
                .or(ev.container.and_then(|c| c.channel_id)),
            actor: actor(user.id),
            action: Action::Component { custom_id },
            response_url: ev.response_url,
            trigger_id: Some(ev.trigger_id),
            interaction_token: None,
            app: None,
        }
    } else {
        let ev = ViewSubmissionPayload::deserialize(&payload).map_err(malformed)?;
        let mut fields: Vec<(String, String)> = ev
            .view
            .state
            .into_iter()
            .flat_map(|state| state.values.into_values())
            .flatten()
            .filter_map(|(action_id, element)| Some((action_id, state_value(&element)?)))
            .collect();
        fields.sort();
        Invocation {
            id: ev.view.id,
            platform: Platform::Slack,
            tenant: tenant.ok_or(ParseError::NoTeam(kind))?,
            channel: None,
            actor: actor(ev.user.id),
            action: Action::ModalSubmit {
                custom_id: ev.view.callback_id.unwrap_or_default(),
                fields,
            },
            response_url: None,
            trigger_id: ev.trigger_id,
            interaction_token: None,
            app: None,
        }
    };
    Ok(SlackInteraction::Invocation(Box::new(invocation)))
}

/// What one input in a submitted form holds, as text: a text input's value, a select's or
/// radio group's chosen option value or id, a picker's date (`2025-11-24`), time (`16:00`) or
/// date and time (Unix seconds). Several chosen values (multi-selects, checkboxes) are joined
/// with commas: the form fields are one string each, the same on both platforms, and the
/// values are Slack ids or Gavel's own option values, none of which holds a comma. `None`
/// for an input left empty and for element types Gavel does not know.
fn state_value(element: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let text = |key: &str| element.get(key).and_then(Value::as_str).map(str::to_owned);
    let list = |key: &str, inner: Option<&str>| {
        let items = element.get(key)?.as_array()?;
        let values: Vec<&str> = items
            .iter()
            .filter_map(|item| match inner {
                Some(inner) => item.get(inner)?.as_str(),
                None => item.as_str(),
            })
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    text("value")
        .or_else(|| {
            element
                .get("selected_option")
                .and_then(|o| o.get("value"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .or_else(|| text("selected_user"))
        .or_else(|| text("selected_conversation"))
        .or_else(|| text("selected_channel"))
        .or_else(|| text("selected_date"))
        .or_else(|| text("selected_time"))
        .or_else(|| {
            element
                .get("selected_date_time")
                .and_then(Value::as_i64)
                .map(|t| t.to_string())
        })
        .or_else(|| list("selected_options", Some("value")))
        .or_else(|| list("selected_users", None))
        .or_else(|| list("selected_conversations", None))
        .or_else(|| list("selected_channels", None))
}

/// An Events API delivery, reduced to what the edge acts on.
#[derive(Debug, PartialEq)]
pub enum SlackEvent {
    /// Sent when the Request URL is saved; answer with the challenge.
    UrlVerification { challenge: String },
    /// A subscribed event; `event_id` is Slack's id for idempotency. `message` is a member's
    /// message for AutoMod to check, when the event is one.
    Callback {
        event_id: Option<String>,
        event_type: Option<String>,
        message: Option<Box<SlackMessage>>,
    },
    /// Slack telling us it is dropping events for this app; acknowledge and log.
    RateLimited,
    /// Anything else that is well-formed JSON with a `type`.
    Other { kind: String },
}

/// The Events API envelope, read in one pass: what the edge needs from every delivery kind.
/// slack-morphism models every event type strictly, and an event type it does not know must
/// still be acknowledged, not answered with a 400, so the envelope is read by hand.
#[derive(Deserialize)]
struct EventEnvelope {
    #[serde(rename = "type")]
    kind: String,
    challenge: Option<String>,
    event_id: Option<String>,
}

/// Parses a verified Events API body (JSON).
pub fn parse_event(body: &[u8]) -> Result<SlackEvent, ParseError> {
    let body: serde_json::Value = serde_json::from_slice(body).map_err(ParseError::Event)?;
    let envelope = EventEnvelope::deserialize(&body).map_err(ParseError::Event)?;
    match envelope.kind.as_str() {
        "url_verification" => envelope
            .challenge
            .map(|challenge| SlackEvent::UrlVerification { challenge })
            .ok_or(ParseError::NoChallenge),
        "event_callback" => Ok(SlackEvent::Callback {
            event_id: envelope.event_id,
            event_type: body["event"]["type"].as_str().map(str::to_owned),
            message: message_of(&body).map(Box::new),
        }),
        "app_rate_limited" => Ok(SlackEvent::RateLimited),
        _ => Ok(SlackEvent::Other {
            kind: envelope.kind,
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn command_form(command: &str, text: &str) -> Vec<u8> {
        serde_urlencoded::to_string([
            ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
            ("team_id", "T0GAVELTST"),
            ("team_domain", "gavel-test"),
            ("channel_id", "C0GAVELTST"),
            ("channel_name", "general"),
            ("user_id", "U0GAVELTST"),
            ("user_name", "ann"),
            ("command", command),
            ("text", text),
            ("api_app_id", "A0GAVELTST"),
            (
                "response_url",
                "https://hooks.slack.com/commands/T0GAVELTST/1/abc",
            ),
            ("trigger_id", "1764000000.1.abc"),
        ])
        .unwrap()
        .into_bytes()
    }

    fn parse_command_text(command: &str, text: &str) -> CommandParse {
        parse_command(&command_form(command, text), &CommandRegistry::standard()).unwrap()
    }

    fn interaction_form(payload: &Value) -> Vec<u8> {
        serde_urlencoded::to_string([("payload", payload.to_string())])
            .unwrap()
            .into_bytes()
    }

    /// The invocation a handled payload becomes.
    fn handled(payload: &Value) -> Invocation {
        match parse_interaction(&interaction_form(payload)) {
            Ok(SlackInteraction::Invocation(invocation)) => *invocation,
            other => panic!("expected an invocation, got {other:?}"),
        }
    }

    fn block_actions() -> Value {
        json!({
            "type": "block_actions",
            "user": { "id": "U0GAVELTST", "username": "ann", "name": "ann", "team_id": "T0GAVELTST" },
            "api_app_id": "A0GAVELTST",
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "container": { "type": "message", "message_ts": "1764000000.000200", "channel_id": "C0GAVELTST", "is_ephemeral": true },
            "trigger_id": "1764000000.1.def",
            "team": { "id": "T0GAVELTST", "domain": "gavel-test" },
            "channel": { "id": "C0GAVELTST", "name": "general" },
            "response_url": "https://hooks.slack.com/actions/T0GAVELTST/2/def",
            "actions": [{
                "action_id": "gavel:confirm",
                "block_id": "confirm",
                "text": { "type": "plain_text", "text": "Confirm" },
                "value": "yes",
                "type": "button",
                "action_ts": "1764000000.123456"
            }]
        })
    }

    fn view_submission() -> Value {
        json!({
            "type": "view_submission",
            "team": { "id": "T0GAVELTST", "domain": "gavel-test" },
            "user": { "id": "U0GAVELTST", "username": "ann", "name": "ann", "team_id": "T0GAVELTST" },
            "api_app_id": "A0GAVELTST",
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "trigger_id": "1764000000.1.ghi",
            "view": {
                "id": "V0GAVELTST",
                "team_id": "T0GAVELTST",
                "type": "modal",
                "blocks": [],
                "private_metadata": "",
                "callback_id": "gavel:note",
                "state": { "values": {
                    "reason_block": { "reason": { "type": "plain_text_input", "value": "spam" } },
                    "details_block": {
                        "details": { "type": "plain_text_input", "value": "three links" },
                        "unset": { "type": "plain_text_input", "value": null }
                    }
                } },
                "hash": "1764000000.abc",
                "title": { "type": "plain_text", "text": "Note" },
                "close": { "type": "plain_text", "text": "Cancel" },
                "submit": { "type": "plain_text", "text": "Save" },
                "app_id": "A0GAVELTST",
                "bot_id": "B0GAVELTST"
            }
        })
    }

    #[test]
    fn a_slash_command_becomes_an_invocation_with_its_context() {
        let CommandParse::Invocation(invocation) = parse_command_text("/Ping", "") else {
            panic!("expected an invocation");
        };
        assert_eq!(invocation.id, "1764000000.1.abc");
        assert_eq!(invocation.platform, Platform::Slack);
        assert_eq!(invocation.tenant, "T0GAVELTST");
        assert_eq!(invocation.channel.as_deref(), Some("C0GAVELTST"));
        assert_eq!(invocation.actor.id, "U0GAVELTST");
        assert_eq!(invocation.actor.capabilities, Capabilities::NONE);
        assert_eq!(
            invocation.action,
            Action::Command(CommandCall {
                name: "ping".into(),
                options: vec![],
                bots: vec![],
                message: None,
            })
        );
    }

    #[test]
    fn the_text_is_parsed_against_the_commands_options() {
        let CommandParse::Invocation(invocation) = parse_command_text("/help", " ping ") else {
            panic!("expected an invocation");
        };
        let Action::Command(call) = invocation.action else {
            panic!("expected a command");
        };
        assert_eq!(
            call.options,
            vec![("command".into(), OptionValue::String("ping".into()))]
        );
    }

    #[test]
    fn an_unknown_command_keeps_no_options() {
        let CommandParse::Invocation(invocation) = parse_command_text("/frobnicate", "<@U1> 3 a b")
        else {
            panic!("expected an invocation");
        };
        assert_eq!(
            invocation.action,
            Action::Command(CommandCall {
                name: "frobnicate".into(),
                options: vec![],
                bots: vec![],
                message: None,
            })
        );
    }

    #[test]
    fn text_that_does_not_fit_gets_an_ephemeral_usage_reply() {
        let CommandParse::Usage(reply) = parse_command_text("/ping", "right now") else {
            panic!("expected a usage reply");
        };
        assert!(reply.is_ephemeral());
        assert!(
            reply.text.contains("did not expect `right now`"),
            "{}",
            reply.text
        );
        assert!(reply.text.contains("Usage: `/ping`"), "{}", reply.text);
    }

    #[test]
    fn malformed_slash_commands_are_errors() {
        let registry = CommandRegistry::standard();
        for body in [
            &b""[..],
            b"text=hi",
            b"command=%2Fping&team_id=T1",
            b"\xff\xfe",
        ] {
            let err = parse_command(body, &registry).unwrap_err();
            assert!(matches!(err, ParseError::SlashCommand(_)), "{err:?}");
            assert!(
                err.to_string().starts_with("malformed slash command"),
                "{body:?}: {err}"
            );
        }
    }

    #[test]
    fn block_actions_become_a_component_action() {
        let invocation = handled(&block_actions());
        assert_eq!(invocation.id, "1764000000.1.def");
        assert_eq!(invocation.tenant, "T0GAVELTST");
        assert_eq!(invocation.channel.as_deref(), Some("C0GAVELTST"));
        assert_eq!(invocation.actor.id, "U0GAVELTST");
        assert_eq!(
            invocation.action,
            Action::Component {
                custom_id: "gavel:confirm".into()
            }
        );
    }

    #[test]
    fn block_actions_without_an_action_or_a_user_are_errors() {
        let mut payload = block_actions();
        payload["actions"] = json!([]);
        let err = parse_interaction(&interaction_form(&payload)).unwrap_err();
        assert!(matches!(err, ParseError::NoAction), "{err:?}");
        assert_eq!(err.to_string(), "block_actions without an action");
        let mut payload = block_actions();
        payload.as_object_mut().unwrap().remove("user");
        let err = parse_interaction(&interaction_form(&payload)).unwrap_err();
        assert!(matches!(err, ParseError::NoUser), "{err:?}");
        assert_eq!(err.to_string(), "block_actions without a user");
    }

    #[test]
    fn view_submissions_carry_their_callback_id_and_sorted_filled_fields() {
        let invocation = handled(&view_submission());
        assert_eq!(invocation.id, "V0GAVELTST");
        assert_eq!(invocation.tenant, "T0GAVELTST");
        assert_eq!(invocation.channel, None);
        assert_eq!(invocation.actor.id, "U0GAVELTST");
        assert_eq!(
            invocation.action,
            Action::ModalSubmit {
                custom_id: "gavel:note".into(),
                fields: vec![
                    ("details".into(), "three links".into()),
                    ("reason".into(), "spam".into()),
                ],
            }
        );
    }

    /// An org-wide Enterprise Grid install: clicks and form submissions say `"team": null`,
    /// and every payload names the enterprise, which is then the tenant.
    #[test]
    fn an_org_wide_grid_install_is_one_community_and_its_null_team_parses() {
        let grid = |mut payload: Value| {
            payload["team"] = Value::Null;
            payload["is_enterprise_install"] = json!(true);
            payload["enterprise"] = json!({ "id": "E0GAVELORG", "name": "Gavel Org" });
            payload["user"]["team_id"] = json!("T0GAVELTST");
            payload
        };
        for payload in [grid(block_actions()), grid(view_submission())] {
            // What made every click there a 400: slack-morphism alone refuses it.
            assert!(
                serde_json::from_value::<slack_morphism::prelude::SlackInteractionEvent>(
                    payload.clone()
                )
                .is_err()
            );
            let invocation = handled(&payload);
            assert_eq!(invocation.tenant, "E0GAVELORG");
        }
        // The same install's slash commands name the workspace and the enterprise.
        let mut form: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&command_form("/ping", "")).unwrap();
        form.push(("enterprise_id".into(), "E0GAVELORG".into()));
        form.push(("is_enterprise_install".into(), "true".into()));
        let body = serde_urlencoded::to_string(&form).unwrap().into_bytes();
        match parse_command(&body, &CommandRegistry::standard()).unwrap() {
            CommandParse::Invocation(invocation) => assert_eq!(invocation.tenant, "E0GAVELORG"),
            other => panic!("{other:?}"),
        }
        // A workspace install inside a Grid stays the workspace's community.
        let mut workspace = block_actions();
        workspace["is_enterprise_install"] = json!(false);
        workspace["enterprise"] = json!({ "id": "E0GAVELORG", "name": "Gavel Org" });
        let invocation = handled(&workspace);
        assert_eq!(invocation.tenant, "T0GAVELTST");
        assert_eq!(
            tenant_of(None, Some("E1"), false).as_deref(),
            Some("E1"),
            "no team at all: the enterprise"
        );
        assert_eq!(tenant_of(Some(" "), None, true), None);
    }

    #[test]
    fn interaction_types_gavel_does_not_handle_are_dropped() {
        for kind in [
            "shortcut",
            "message_action",
            "view_closed",
            "block_suggestion",
            "brand_new",
        ] {
            // Not even a valid payload of that type: it must not be parsed further.
            let payload = json!({ "type": kind });
            assert_eq!(
                parse_interaction(&interaction_form(&payload)).expect(kind),
                SlackInteraction::Unhandled {
                    kind: kind.into(),
                    notice_url: None
                },
                "{kind}"
            );
        }
    }

    #[test]
    fn unhandled_kinds_with_a_response_url_can_be_told_so_except_silent_ones() {
        let url = "https://hooks.slack.com/app/T0GAVELTST/3/xyz";
        for (kind, told) in [
            ("message_action", true),
            ("a_kind_slack_adds_tomorrow", true),
            ("view_closed", false),
            ("block_suggestion", false),
        ] {
            let payload = json!({ "type": kind, "response_url": url, "team": null });
            assert_eq!(
                parse_interaction(&interaction_form(&payload)).expect(kind),
                SlackInteraction::Unhandled {
                    kind: kind.into(),
                    notice_url: told.then(|| url.to_owned())
                },
                "{kind}"
            );
        }
    }

    #[test]
    fn fields_gavel_does_not_read_may_be_missing_or_new() {
        let mut payload = block_actions();
        for key in ["api_app_id", "token", "container", "team"] {
            payload.as_object_mut().unwrap().remove(key);
        }
        // A block type slack-morphism does not model, in the clicked message.
        payload["message"] = json!({
            "type": "message", "ts": "1764000000.000200",
            "blocks": [{ "type": "a_block_slack_adds_tomorrow", "block_id": "x" }]
        });
        payload["actions"][0]["type"] = json!("a_new_element");
        let invocation = handled(&payload);
        // The user's team is the community when the payload's `team` is gone.
        assert_eq!(invocation.tenant, "T0GAVELTST");
        assert_eq!(
            invocation.action,
            Action::Component {
                custom_id: "gavel:confirm".into()
            }
        );
        // The channel from the container when `channel` is missing.
        let mut payload = block_actions();
        payload.as_object_mut().unwrap().remove("channel");
        assert_eq!(handled(&payload).channel.as_deref(), Some("C0GAVELTST"));
    }

    #[test]
    fn a_payload_naming_no_team_at_all_is_an_error() {
        let mut payload = block_actions();
        payload.as_object_mut().unwrap().remove("team");
        payload["user"].as_object_mut().unwrap().remove("team_id");
        let err = parse_interaction(&interaction_form(&payload)).unwrap_err();
        assert!(matches!(err, ParseError::NoTeam(_)), "{err:?}");
        assert_eq!(err.to_string(), "block_actions without a team");
    }

    #[test]
    fn submitted_selects_and_pickers_are_fields_too() {
        let mut payload = view_submission();
        payload["view"]["state"]["values"] = json!({
            "b1": { "kind": { "type": "static_select", "selected_option": {
                "text": { "type": "plain_text", "text": "Spam" }, "value": "spam" } } },
            "b2": { "who": { "type": "users_select", "selected_user": "U0GAVELBOB" } },
            "b3": { "where": { "type": "conversations_select", "selected_conversation": "C0GAVELTST" } },
            "b4": { "room": { "type": "channels_select", "selected_channel": "C0GAVELTWO" } },
            "b5": { "tags": { "type": "multi_static_select", "selected_options": [
                { "value": "links" }, { "value": "caps" } ] } },
            "b6": { "how": { "type": "radio_buttons", "selected_option": { "value": "dm" } } },
            "b7": { "flags": { "type": "checkboxes", "selected_options": [{ "value": "notify" }] } },
            "b8": { "day": { "type": "datepicker", "selected_date": "2025-11-24" } },
            "b9": { "at": { "type": "timepicker", "selected_time": "16:00" } },
            "b10": { "when": { "type": "datetimepicker", "selected_date_time": 1764000000 } },
            "b11": { "people": { "type": "multi_users_select", "selected_users": ["U1", "U2"] } },
            "b12": {
                "none": { "type": "checkboxes", "selected_options": [] },
                "unpicked": { "type": "static_select", "selected_option": null },
                "future": { "type": "an_element_slack_adds", "selected_thing": { "x": 1 } },
                "reason": { "type": "plain_text_input", "value": "spam" }
            }
        });
        let Action::ModalSubmit { fields, .. } = handled(&payload).action else {
            panic!("expected a form submission");
        };
        let expected: Vec<(String, String)> = [
            ("at", "16:00"),
            ("day", "2025-11-24"),
            ("flags", "notify"),
            ("how", "dm"),
            ("kind", "spam"),
            ("people", "U1,U2"),
            ("reason", "spam"),
            ("room", "C0GAVELTWO"),
            ("tags", "links,caps"),
            ("when", "1764000000"),
            ("where", "C0GAVELTST"),
            ("who", "U0GAVELBOB"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(fields, expected);
    }

    #[test]
    fn malformed_interactions_are_errors() {
        let cases: [(&[u8], &str); 4] = [
            (b"", "malformed interaction form"),
            (b"nopayload=1", "malformed interaction form"),
            (b"payload=not-json", "malformed interaction payload"),
            (
                b"payload=%7B%22type%22%3A%22block_actions%22%7D",
                "malformed block_actions payload",
            ),
        ];
        for (body, expected) in cases {
            let err = parse_interaction(body).unwrap_err();
            assert!(err.to_string().starts_with(expected), "{body:?}: {err}");
        }
    }

    #[test]
    fn url_verification_yields_the_challenge() {
        let body = json!({ "token": "x", "challenge": "c-123", "type": "url_verification" });
        assert_eq!(
            parse_event(body.to_string().as_bytes()).unwrap(),
            SlackEvent::UrlVerification {
                challenge: "c-123".into()
            }
        );
        let err = parse_event(br#"{"type":"url_verification"}"#).unwrap_err();
        assert!(matches!(err, ParseError::NoChallenge), "{err:?}");
        assert!(
            err.to_string().starts_with("malformed url_verification"),
            "{err}"
        );
    }

    #[test]
    fn event_callbacks_yield_id_and_type_even_for_unknown_event_types() {
        for event_type in ["message", "a_type_slack_adds_tomorrow"] {
            let body = json!({
                "type": "event_callback",
                "team_id": "T0GAVELTST",
                "event_id": "Ev0GAVELTST1",
                "event_time": 1764000000,
                "event": { "type": event_type, "whatever": [1, 2, 3] }
            });
            assert_eq!(
                parse_event(body.to_string().as_bytes()).unwrap(),
                SlackEvent::Callback {
                    event_id: Some("Ev0GAVELTST1".into()),
                    event_type: Some(event_type.into()),
                    message: None,
                }
            );
        }
        assert_eq!(
            parse_event(br#"{"type":"event_callback"}"#).unwrap(),
            SlackEvent::Callback {
                event_id: None,
                event_type: None,
                message: None,
            }
        );
    }

    #[test]
    fn rate_limit_notices_and_unknown_types_are_recognised() {
        let body = json!({
            "token": "x", "type": "app_rate_limited", "team_id": "T0GAVELTST",
            "minute_rate_limited": 1764000000, "api_app_id": "A0GAVELTST"
        });
        assert_eq!(
            parse_event(body.to_string().as_bytes()).unwrap(),
            SlackEvent::RateLimited
        );
        assert_eq!(
            parse_event(br#"{"type":"something_new"}"#).unwrap(),
            SlackEvent::Other {
                kind: "something_new".into()
            }
        );
    }

    #[test]
    fn malformed_events_are_errors() {
        for body in [
            &b""[..],
            b"payload=x",
            b"{}",
            b"{\"type\":1}",
            b"{\"type\":null}",
        ] {
            let err = parse_event(body).unwrap_err();
            assert!(matches!(err, ParseError::Event(_)), "{body:?}: {err:?}");
            assert!(
                err.to_string().starts_with("malformed event"),
                "{body:?}: {err}"
            );
        }
        let err = parse_event(br#"{"type":"event_callback","event_id":5}"#).unwrap_err();
        assert!(matches!(err, ParseError::Event(_)), "{err:?}");
        assert!(err.to_string().starts_with("malformed event"), "{err}");
    }
}
