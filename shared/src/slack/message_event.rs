//! A member's message in a channel the app is in, read from an Events API `message` event
//! (`message.channels`, `message.groups`): what AutoMod checks.
//!
//! Read by hand from the JSON, like the envelope: Slack adds subtypes and fields, and a
//! message Gavel cannot read is acknowledged and left alone, never answered with an error.

use serde_json::Value;

use super::inbound::tenant_of;
use crate::invocation::TargetMessage;

/// A message to check, and what the edge needs around it.
#[derive(Clone, Debug, PartialEq)]
pub struct SlackMessage {
    /// The community (the workspace, or the enterprise on an org-wide install).
    pub tenant: String,
    /// The app's own bot user in this workspace (`authorizations[0].user_id`): the actor of
    /// AutoMod's cases, and never itself checked.
    pub app_user: Option<String>,
    /// `id` is the message's `ts`, which with the channel names it in the workspace.
    pub message: TargetMessage,
    /// A `message_changed` event: the member edited the message.
    pub edited: bool,
    /// When the message was posted (Unix seconds, from its `ts`).
    pub at_secs: i64,
}

/// Subtypes that are a member writing something. Everything else (`message_deleted`,
/// `channel_join`, `bot_message`, subtypes Slack adds later) carries nothing to check.
const MEMBER_SUBTYPES: [&str; 3] = ["thread_broadcast", "file_share", "me_message"];

/// The member's message in an `event_callback` envelope, or `None` when there is none to
/// check: another event type, a deletion, a bot's or the app's own message, or a message
/// without the fields that name it.
pub fn message_of(envelope: &Value) -> Option<SlackMessage> {
    let event = envelope.get("event")?;
    if event["type"] != "message" {
        return None;
    }
    let (message, edited) = match event["subtype"].as_str() {
        None => (event, false),
        Some("message_changed") => (event.get("message")?, true),
        Some(subtype) if MEMBER_SUBTYPES.contains(&subtype) => (event, false),
        Some(_) => return None,
    };
    let authorization = &envelope["authorizations"][0];
    let app_user = authorization["user_id"].as_str().map(str::to_owned);
    let author = message["user"].as_str()?;
    let by_a_bot = message.get("bot_id").is_some_and(|id| !id.is_null())
        || message["subtype"] == "bot_message";
    if by_a_bot || app_user.as_deref() == Some(author) {
        return None;
    }
    let channel = event["channel"].as_str()?;
    let ts = message["ts"].as_str()?;
    let tenant = tenant_of(
        envelope["team_id"]
            .as_str()
            .or(message["team"].as_str())
            .or(authorization["team_id"].as_str()),
        envelope["enterprise_id"]
            .as_str()
            .or(authorization["enterprise_id"].as_str()),
        authorization["is_enterprise_install"] == true,
    )?;
    Some(SlackMessage {
        tenant,
        app_user,
        message: TargetMessage {
            id: ts.to_owned(),
            channel: channel.to_owned(),
            author: author.to_owned(),
            author_is_bot: false,
            content: message["text"].as_str().unwrap_or_default().to_owned(),
        },
        edited,
        at_secs: ts
            .split('.')
            .next()
            .and_then(|secs| secs.parse().ok())
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn envelope(event: Value) -> Value {
        json!({
            "type": "event_callback",
            "team_id": "T0GAVELTST",
            "api_app_id": "A0GAVELTST",
            "event_id": "Ev0GAVELTST1",
            "event_time": 1764000000,
            "authorizations": [{
                "enterprise_id": null, "team_id": "T0GAVELTST", "user_id": "U0GAVELBOT",
                "is_bot": true, "is_enterprise_install": false
            }],
            "event": event
        })
    }

    fn posted(text: &str) -> Value {
        json!({
            "type": "message", "channel": "C0GAVELTST", "user": "U0MEMBER01",
            "text": text, "ts": "1764000000.000100", "channel_type": "channel",
            "event_ts": "1764000000.000100"
        })
    }

    #[test]
    fn a_members_message_is_read_with_its_names() {
        let message = message_of(&envelope(posted("free nitro here"))).unwrap();
        assert_eq!(message.tenant, "T0GAVELTST");
        assert_eq!(message.app_user.as_deref(), Some("U0GAVELBOT"));
        assert_eq!(message.message.id, "1764000000.000100");
        assert_eq!(message.message.channel, "C0GAVELTST");
        assert_eq!(message.message.author, "U0MEMBER01");
        assert_eq!(message.message.content, "free nitro here");
        assert_eq!(message.at_secs, 1_764_000_000);
        assert!(!message.edited);
    }

    #[test]
    fn an_edit_is_checked_under_the_original_messages_ts() {
        let event = json!({
            "type": "message", "subtype": "message_changed", "channel": "C0GAVELTST",
            "hidden": true, "ts": "1764000050.000200",
            "message": {
                "type": "message", "user": "U0MEMBER01", "text": "now it says scam",
                "ts": "1764000000.000100",
                "edited": { "user": "U0MEMBER01", "ts": "1764000050.000200" }
            },
            "previous_message": { "type": "message", "user": "U0MEMBER01", "text": "hi", "ts": "1764000000.000100" }
        });
        let message = message_of(&envelope(event)).unwrap();
        assert!(message.edited);
        assert_eq!(message.message.id, "1764000000.000100");
        assert_eq!(message.message.content, "now it says scam");
    }

    #[test]
    fn deletions_bots_the_app_itself_and_other_events_are_not_checked() {
        let deleted = json!({
            "type": "message", "subtype": "message_deleted", "channel": "C0GAVELTST",
            "deleted_ts": "1764000000.000100", "ts": "1764000060.000300", "hidden": true
        });
        let mut by_bot = posted("beep");
        by_bot["bot_id"] = json!("B0SOMEBOT1");
        let mut by_app = posted("I am Gavel");
        by_app["user"] = json!("U0GAVELBOT");
        let join = json!({
            "type": "message", "subtype": "channel_join", "channel": "C0GAVELTST",
            "user": "U0MEMBER01", "text": "<@U0MEMBER01> has joined", "ts": "1764000000.000400"
        });
        let reaction = json!({ "type": "reaction_added", "user": "U0MEMBER01", "reaction": "x" });
        for event in [deleted, by_bot, by_app, join, reaction] {
            assert_eq!(message_of(&envelope(event.clone())), None, "{event}");
        }
    }

    #[test]
    fn an_org_wide_installs_messages_belong_to_the_enterprise() {
        let mut body = envelope(posted("hello"));
        body["enterprise_id"] = json!("E0GAVELORG");
        body["authorizations"][0]["enterprise_id"] = json!("E0GAVELORG");
        body["authorizations"][0]["is_enterprise_install"] = json!(true);
        assert_eq!(message_of(&body).unwrap().tenant, "E0GAVELORG");
    }

    #[test]
    fn missing_fields_mean_nothing_to_check_not_an_error() {
        for event in [
            json!({ "type": "message" }),
            json!({ "type": "message", "channel": "C1", "ts": "1.2" }),
            json!({ "type": "message", "user": "U1", "ts": "1.2" }),
            json!({ "type": "message", "subtype": "message_changed", "channel": "C1" }),
        ] {
            assert_eq!(message_of(&envelope(event.clone())), None, "{event}");
        }
        let mut no_text = posted("");
        no_text.as_object_mut().unwrap().remove("text");
        assert_eq!(message_of(&envelope(no_text)).unwrap().message.content, "");
    }
}
