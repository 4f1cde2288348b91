//! [`Reply`](crate::reply::Reply) → Slack Block Kit (slack-morphism types): slash-command
//! answers, `response_url` messages, modals and view-submission answers.

use std::collections::HashMap;

use serde_json::{Value, json};
use slack_morphism::prelude::{
    SlackActionBlockElement, SlackActionId, SlackActionsBlock, SlackBlock, SlackBlockButtonElement,
    SlackBlockButtonStyle, SlackBlockId, SlackBlockMarkDownText, SlackBlockPlainTextInputElement,
    SlackBlockText, SlackCallbackId, SlackCommandEventResponse, SlackInputBlock,
    SlackInputBlockElement, SlackMessageContent, SlackMessageResponseType, SlackModalView,
    SlackSectionBlock, SlackView, SlackViewSubmissionErrorsResponse, SlackViewSubmissionResponse,
    SlackViewSubmissionUpdateResponse,
};

use crate::reply::{ButtonStyle, Modal, Reply, Response, truncate_chars};

/// Slack caps a section's text at 3000 characters and a field at 2000; a section holds 10 fields.
const SECTION_TEXT_MAX: usize = 3000;
const FIELD_TEXT_MAX: usize = 2000;
const FIELDS_PER_SECTION: usize = 10;
/// Button labels and modal titles are short plain text in Block Kit.
const BUTTON_TEXT_MAX: usize = 75;
const TITLE_MAX: usize = 24;
const INPUT_LABEL_MAX: usize = 2000;

/// A reply as Block Kit: its text, its fields, and its buttons in one actions block.
pub fn render_message(reply: &Reply) -> SlackMessageContent {
    let mut blocks = vec![SlackBlock::Section(SlackSectionBlock::new().with_text(
        mrkdwn(truncate_chars(&reply.text, SECTION_TEXT_MAX).into_owned()),
    ))];
    for chunk in reply.fields.chunks(FIELDS_PER_SECTION) {
        let fields = chunk
            .iter()
            .map(|f| {
                let text = format!("*{}*\n{}", f.name, f.value);
                mrkdwn(truncate_chars(&text, FIELD_TEXT_MAX).into_owned())
            })
            .collect();
        blocks.push(SlackBlock::Section(
            SlackSectionBlock::new().with_fields(fields),
        ));
    }
    if !reply.buttons.is_empty() {
        let elements = reply
            .buttons
            .iter()
            .map(|b| {
                let mut button = SlackBlockButtonElement::new(
                    truncate_chars(&b.label, BUTTON_TEXT_MAX)
                        .into_owned()
                        .into(),
                )
                .with_action_id(SlackActionId(b.id.clone()));
                match b.style {
                    ButtonStyle::Primary => {
                        button = button.with_style(SlackBlockButtonStyle::Primary)
                    }
                    ButtonStyle::Danger => {
                        button = button.with_style(SlackBlockButtonStyle::Danger)
                    }
                    ButtonStyle::Secondary => {}
                }
                SlackActionBlockElement::Button(button)
            })
            .collect();
        blocks.push(SlackBlock::Actions(SlackActionsBlock::new(elements)));
    }
    SlackMessageContent::new()
        .with_text(reply.text.clone())
        .with_blocks(blocks)
}

/// The immediate answer to a slash command: Block Kit plus a plain-text fallback.
pub fn render_command_reply(reply: &Reply) -> SlackCommandEventResponse {
    SlackCommandEventResponse::new(render_message(reply)).with_response_type(
        if reply.is_ephemeral() {
            SlackMessageResponseType::Ephemeral
        } else {
            SlackMessageResponseType::InChannel
        },
    )
}

/// What to post to a click's `response_url`: an update replaces the clicked message (its
/// buttons go with it); anything else is a new message under it.
pub fn render_response_url_message(response: &Response) -> Value {
    let (reply, replace) = match response {
        Response::Update(reply) => (reply, true),
        Response::Message(reply) | Response::FormDone(reply) | Response::Deferred(reply) => {
            (reply, false)
        }
        Response::FormErrors { fallback, .. } => (fallback, false),
        // Forms open through views.open; a message here would be empty.
        Response::Modal(_) => return Value::Null,
    };
    let mut body = serde_json::to_value(render_message(reply)).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut body {
        map.insert("replace_original".into(), json!(replace));
        if !replace {
            map.insert(
                "response_type".into(),
                json!(if reply.is_ephemeral() {
                    "ephemeral"
                } else {
                    "in_channel"
                }),
            );
        }
    }
    body
}

/// A form as a Slack modal view; each text input is an input block whose block id and action
/// id are the field's id, so errors and submitted values find their field.
pub fn render_modal(modal: &Modal) -> SlackView {
    let blocks = modal
        .inputs
        .iter()
        .map(|input| {
            let mut element = SlackBlockPlainTextInputElement::new()
                .with_action_id(SlackActionId(input.id.clone()))
                .with_multiline(input.multiline);
            if let Some(max) = input.max_chars {
                element = element.with_max_length(u64::from(max));
            }
            if let Some(min) = input.min_chars {
                element = element.with_min_length(u64::from(min));
            }
            if let Some(placeholder) = &input.placeholder {
                element =
                    element.with_placeholder(truncate_chars(placeholder, 150).into_owned().into());
            }
            if let Some(value) = &input.value {
                element = element.with_initial_value(value.clone());
            }
            SlackBlock::Input(
                SlackInputBlock::new(
                    truncate_chars(&input.label, INPUT_LABEL_MAX)
                        .into_owned()
                        .into(),
                    SlackInputBlockElement::PlainTextInput(element),
                )
                .with_block_id(SlackBlockId(input.id.clone()))
                .with_optional(!input.required),
            )
        })
        .collect();
    SlackView::Modal(
        SlackModalView::new(
            truncate_chars(&modal.title, TITLE_MAX).into_owned().into(),
            blocks,
        )
        .with_submit(
            truncate_chars(&modal.submit_label, TITLE_MAX)
                .into_owned()
                .into(),
        )
        .with_close("Cancel".into())
        .with_callback_id(SlackCallbackId(modal.id.clone())),
    )
}

/// The HTTP answer to a view submission: errors beside the fields, or the modal replaced by a
/// closing view carrying the outcome.
pub fn render_view_submission(response: &Response) -> SlackViewSubmissionResponse {
    match response {
        Response::FormErrors { errors, .. } => {
            let errors: HashMap<String, String> = errors
                .iter()
                .map(|e| (e.field.clone(), e.message.clone()))
                .collect();
            SlackViewSubmissionResponse::Errors(SlackViewSubmissionErrorsResponse::new(errors))
        }
        Response::Modal(modal) => SlackViewSubmissionResponse::Update(
            SlackViewSubmissionUpdateResponse::new(render_modal(modal)),
        ),
        Response::FormDone(reply)
        | Response::Message(reply)
        | Response::Update(reply)
        | Response::Deferred(reply) => {
            let view = SlackModalView::new(
                "Gavel".into(),
                vec![SlackBlock::Section(SlackSectionBlock::new().with_text(
                    mrkdwn(truncate_chars(&reply.text, SECTION_TEXT_MAX).into_owned()),
                ))],
            )
            .with_close("Close".into());
            SlackViewSubmissionResponse::Update(SlackViewSubmissionUpdateResponse::new(
                SlackView::Modal(view),
            ))
        }
    }
}

fn mrkdwn(text: String) -> SlackBlockText {
    SlackBlockText::MarkDown(SlackBlockMarkDownText::new(text))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn rendered(reply: &Reply) -> Value {
        serde_json::to_value(render_command_reply(reply)).unwrap()
    }

    #[test]
    fn visibility_becomes_the_response_type() {
        assert_eq!(
            rendered(&Reply::ephemeral("x"))["response_type"],
            "ephemeral"
        );
        assert_eq!(rendered(&Reply::public("x"))["response_type"], "in_channel");
    }

    #[test]
    fn the_text_is_a_mrkdwn_section_and_the_fallback() {
        let body = rendered(&Reply::ephemeral("Pong! *fast*"));
        assert_eq!(body["text"], "Pong! *fast*");
        let blocks = body["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0]["type"], "section");
        assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
        assert_eq!(blocks[0]["text"]["text"], "Pong! *fast*");
    }

    #[test]
    fn fields_go_into_sections_of_at_most_ten() {
        let mut reply = Reply::ephemeral("Commands you can use:");
        for i in 0..23 {
            reply = reply.with_field(format!("/cmd{i}"), format!("does {i}"));
        }
        let body = rendered(&reply);
        let blocks = body["blocks"].as_array().unwrap();
        let sizes: Vec<usize> = blocks[1..]
            .iter()
            .map(|b| b["fields"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, vec![10, 10, 3]);
        assert_eq!(blocks[1]["fields"][0]["type"], "mrkdwn");
        assert_eq!(blocks[1]["fields"][0]["text"], "*/cmd0*\ndoes 0");
        assert_eq!(blocks[3]["fields"][2]["text"], "*/cmd22*\ndoes 22");
    }

    #[test]
    fn exactly_ten_fields_make_one_section_and_none_make_none() {
        let mut reply = Reply::public("t");
        assert_eq!(rendered(&reply)["blocks"].as_array().unwrap().len(), 1);
        for i in 0..10 {
            reply = reply.with_field(i.to_string(), "v");
        }
        assert_eq!(rendered(&reply)["blocks"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn long_section_and_field_texts_are_cut_to_slacks_limits() {
        let reply = Reply::ephemeral("é".repeat(SECTION_TEXT_MAX + 10))
            .with_field("n", "v".repeat(FIELD_TEXT_MAX + 10));
        let body = rendered(&reply);
        let section = body["blocks"][0]["text"]["text"].as_str().unwrap();
        assert_eq!(section.chars().count(), SECTION_TEXT_MAX);
        assert!(section.ends_with('…'));
        let field = body["blocks"][1]["fields"][0]["text"].as_str().unwrap();
        assert_eq!(field.chars().count(), FIELD_TEXT_MAX);
        assert!(field.ends_with('…'));
    }
}
