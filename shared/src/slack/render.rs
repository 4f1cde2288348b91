use slack_morphism::prelude::{
    SlackBlock, SlackBlockMarkDownText, SlackBlockText, SlackCommandEventResponse,
    SlackMessageContent, SlackMessageResponseType, SlackSectionBlock,
};

use crate::reply::{Reply, truncate_chars};

/// Slack caps a section's text at 3000 characters and a field at 2000; a section holds 10 fields.
const SECTION_TEXT_MAX: usize = 3000;
const FIELD_TEXT_MAX: usize = 2000;
const FIELDS_PER_SECTION: usize = 10;

/// The immediate answer to a slash command: Block Kit plus a plain-text fallback.
pub fn render_command_reply(reply: &Reply) -> SlackCommandEventResponse {
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
    let content = SlackMessageContent::new()
        .with_text(reply.text.clone())
        .with_blocks(blocks);
    SlackCommandEventResponse::new(content).with_response_type(if reply.is_ephemeral() {
        SlackMessageResponseType::Ephemeral
    } else {
        SlackMessageResponseType::InChannel
    })
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
