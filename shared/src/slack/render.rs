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
