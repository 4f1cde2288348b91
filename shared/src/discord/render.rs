//! [`Response`] → Discord's interaction responses (twilight-model types): messages, updates,
//! deferrals and modals, with mentions never pinging and text cut to Discord's limits.

use serde::Serialize;
use twilight_model::channel::message::component::{
    ActionRow, Button as DiscordButton, ButtonStyle as DiscordButtonStyle, Label,
    TextInput as DiscordTextInput, TextInputStyle,
};
use twilight_model::channel::message::{AllowedMentions, Component, MessageFlags};
use twilight_model::http::interaction::{
    InteractionResponse, InteractionResponseData, InteractionResponseType,
};

use super::MAX_CONTENT_CHARS;
use crate::reply::{ButtonStyle, Modal, Reply, Response, truncate_chars};

/// Discord's limits: 5 buttons per row, 80-character button labels, 45-character modal
/// titles and labels.
const BUTTONS_PER_ROW: usize = 5;
const MAX_ROWS: usize = 5;
const BUTTON_LABEL_MAX: usize = 80;
const MODAL_TEXT_MAX: usize = 45;

/// The answer to a PING, pre-serialised: it is on the path Discord uses to health-check us.
pub const PONG: &str = r#"{"type":1}"#;

/// A message response (type 4) carrying the reply.
pub fn render_reply(reply: &Reply) -> InteractionResponse {
    message(InteractionResponseType::ChannelMessageWithSource, reply)
}

/// Any handler answer: a message (4), an update of the clicked message (7) or a modal (9).
/// Form errors become a message, since Discord cannot mark a modal's fields.
pub fn render_response(response: &Response) -> InteractionResponse {
    match response {
        Response::Message(reply) | Response::FormDone(reply) => render_reply(reply),
        Response::FormErrors { fallback, .. } => render_reply(fallback),
        Response::Update(reply) => message(InteractionResponseType::UpdateMessage, reply),
        Response::Modal(modal) => render_modal(modal),
        Response::Deferred(placeholder) => InteractionResponse {
            kind: InteractionResponseType::DeferredChannelMessageWithSource,
            data: Some(InteractionResponseData {
                flags: placeholder
                    .is_ephemeral()
                    .then_some(MessageFlags::EPHEMERAL),
                ..Default::default()
            }),
        },
    }
}

/// A reply as the body of `POST /channels/{channel}/messages`: the same content and buttons
/// an interaction answer carries. A channel message cannot be ephemeral, so the reply's
/// visibility does not apply.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChannelMessage {
    pub content: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
    pub allowed_mentions: AllowedMentions,
}

pub fn render_channel_message(reply: &Reply) -> ChannelMessage {
    ChannelMessage {
        content: content(reply),
        components: button_rows(reply),
        // Replies echo user-supplied text (reasons, names); never let it ping anyone.
        allowed_mentions: AllowedMentions::default(),
    }
}

fn message(kind: InteractionResponseType, reply: &Reply) -> InteractionResponse {
    let rows = button_rows(reply);
    // An update always sends its rows, even none: that is what removes stale buttons.
    let components =
        (kind == InteractionResponseType::UpdateMessage || !rows.is_empty()).then_some(rows);
    InteractionResponse {
        kind,
        data: Some(InteractionResponseData {
            content: Some(content(reply)),
            // An update keeps the original message's flags; Discord rejects changing them.
            flags: (kind == InteractionResponseType::ChannelMessageWithSource
                && reply.is_ephemeral())
            .then_some(MessageFlags::EPHEMERAL),
            components,
            // Replies echo user-supplied text (reasons, names); never let it ping anyone.
            allowed_mentions: Some(AllowedMentions::default()),
            ..Default::default()
        }),
    }
}

/// The text, then each field as a bold heading and its value, cut to Discord's limit.
fn content(reply: &Reply) -> String {
    let mut content = reply.text.clone();
    for field in &reply.fields {
        content.push_str(&format!("\n**{}**\n{}", field.name, field.value));
    }
    truncate_chars(&content, MAX_CONTENT_CHARS).into_owned()
}

/// The buttons in action rows of five, `custom_id` = the button's id.
fn button_rows(reply: &Reply) -> Vec<Component> {
    reply
        .buttons
        .chunks(BUTTONS_PER_ROW)
        .take(MAX_ROWS)
        .map(|chunk| {
            Component::ActionRow(ActionRow {
                id: None,
                components: chunk
                    .iter()
                    .map(|b| {
                        Component::Button(DiscordButton {
                            custom_id: Some(b.id.clone()),
                            disabled: false,
                            emoji: None,
                            id: None,
                            label: Some(truncate_chars(&b.label, BUTTON_LABEL_MAX).into_owned()),
                            sku_id: None,
                            style: match b.style {
                                ButtonStyle::Primary => DiscordButtonStyle::Primary,
                                ButtonStyle::Secondary => DiscordButtonStyle::Secondary,
                                ButtonStyle::Danger => DiscordButtonStyle::Danger,
                            },
                            url: None,
                        })
                    })
                    .collect(),
            })
        })
        .collect()
}

/// A modal (type 9): each text input inside a label.
fn render_modal(modal: &Modal) -> InteractionResponse {
    let components = modal
        .inputs
        .iter()
        .take(MAX_ROWS)
        .map(|input| {
            Component::Label(Label {
                component: Box::new(Component::TextInput(DiscordTextInput {
                    custom_id: input.id.clone(),
                    id: None,
                    #[allow(deprecated)]
                    label: None,
                    max_length: input.max_chars,
                    min_length: input.min_chars,
                    placeholder: input
                        .placeholder
                        .as_deref()
                        .map(|p| truncate_chars(p, 100).into_owned()),
                    required: Some(input.required),
                    style: if input.multiline {
                        TextInputStyle::Paragraph
                    } else {
                        TextInputStyle::Short
                    },
                    value: input.value.clone(),
                })),
                description: None,
                id: None,
                label: truncate_chars(&input.label, MODAL_TEXT_MAX).into_owned(),
            })
        })
        .collect();
    InteractionResponse {
        kind: InteractionResponseType::Modal,
        data: Some(InteractionResponseData {
            custom_id: Some(modal.id.clone()),
            title: Some(truncate_chars(&modal.title, MODAL_TEXT_MAX).into_owned()),
            components: Some(components),
            ..Default::default()
        }),
    }
}

/// An autocomplete result (type 8) with no suggestions.
pub fn autocomplete_empty() -> InteractionResponse {
    InteractionResponse {
        kind: InteractionResponseType::ApplicationCommandAutocompleteResult,
        data: Some(InteractionResponseData {
            choices: Some(Vec::new()),
            ..Default::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn rendered(reply: &Reply) -> Value {
        serde_json::to_value(render_reply(reply)).unwrap()
    }

    fn content(reply: &Reply) -> String {
        rendered(reply)["data"]["content"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn ephemeral_replies_carry_flag_64_and_public_ones_no_flags() {
        let private = rendered(&Reply::ephemeral("only you"));
        assert_eq!(private["type"], 4);
        assert_eq!(private["data"]["flags"], 64);
        assert_eq!(private["data"]["content"], "only you");

        let public = rendered(&Reply::public("everyone"));
        assert_eq!(public["type"], 4);
        assert_eq!(public["data"].get("flags"), None, "{public}");
        assert_eq!(public["data"]["content"], "everyone");
    }

    #[test]
    fn allowed_mentions_is_present_and_empty_so_nobody_is_pinged() {
        for reply in [
            Reply::ephemeral("<@1174109840998400010> @everyone"),
            Reply::public("<@&1174109840998400030> @here"),
        ] {
            assert_eq!(
                rendered(&reply)["data"]["allowed_mentions"],
                json!({ "parse": [] })
            );
        }
    }

    #[test]
    fn fields_are_appended_as_bold_headings() {
        let reply = Reply::ephemeral("Commands you can use:")
            .with_field("/ping", "Check")
            .with_field("/help [command]", "Explain");
        assert_eq!(
            content(&reply),
            "Commands you can use:\n**/ping**\nCheck\n**/help [command]**\nExplain"
        );
    }

    #[test]
    fn content_at_the_limit_is_untouched() {
        let text = "a".repeat(MAX_CONTENT_CHARS);
        assert_eq!(content(&Reply::ephemeral(text.clone())), text);
    }

    #[test]
    fn long_content_is_cut_to_2000_characters_ending_in_an_ellipsis() {
        let content = content(&Reply::public("a".repeat(MAX_CONTENT_CHARS + 500)));
        assert_eq!(content.chars().count(), MAX_CONTENT_CHARS);
        assert!(content.ends_with('…'));
        assert_eq!(
            content.trim_end_matches('…'),
            "a".repeat(MAX_CONTENT_CHARS - 1)
        );
    }

    #[test]
    fn multibyte_content_is_cut_on_a_character_boundary() {
        for unit in ["é", "日本", "🦀", "👩‍👩‍👧"] {
            let text = unit.repeat(MAX_CONTENT_CHARS + 1);
            let content = content(&Reply::ephemeral(text.clone()));
            assert_eq!(content.chars().count(), MAX_CONTENT_CHARS, "{unit}");
            assert!(content.ends_with('…'), "{unit}");
            let kept = content.strip_suffix('…').unwrap();
            assert!(text.starts_with(kept), "{unit}: the kept part is a prefix");
        }
    }

    #[test]
    fn fields_count_towards_the_limit() {
        let reply = Reply::ephemeral("x".repeat(1990)).with_field("name", "y".repeat(100));
        let content = content(&reply);
        assert_eq!(content.chars().count(), MAX_CONTENT_CHARS);
        assert!(content.starts_with(&"x".repeat(1990)));
        assert!(content.ends_with('…'));
    }

    #[test]
    fn pong_and_autocomplete_have_the_documented_shapes() {
        assert_eq!(
            serde_json::from_str::<Value>(PONG).unwrap(),
            json!({ "type": 1 })
        );
        assert_eq!(
            serde_json::to_value(autocomplete_empty()).unwrap(),
            json!({ "type": 8, "data": { "choices": [] } })
        );
    }

    #[test]
    fn a_channel_message_carries_the_answers_content_and_buttons_without_flags() {
        let reply = Reply::ephemeral("Report from <@1>")
            .with_field("Reason", "spam @everyone")
            .with_button(crate::reply::Button {
                id: "v1:ban:abc".to_owned(),
                label: "Ban".to_owned(),
                style: ButtonStyle::Danger,
            });
        let body = serde_json::to_value(render_channel_message(&reply)).unwrap();
        let answer = rendered(&reply);
        assert_eq!(body["content"], answer["data"]["content"]);
        assert_eq!(body["components"], answer["data"]["components"]);
        assert_eq!(
            body["components"][0]["components"][0]["custom_id"],
            "v1:ban:abc"
        );
        assert_eq!(body["allowed_mentions"], json!({ "parse": [] }));
        assert_eq!(
            body.get("flags"),
            None,
            "a channel message cannot be ephemeral"
        );

        let plain = serde_json::to_value(render_channel_message(&Reply::public("hi"))).unwrap();
        assert_eq!(
            plain,
            json!({ "content": "hi", "allowed_mentions": { "parse": [] } })
        );
    }
}
