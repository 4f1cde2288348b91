use twilight_model::channel::message::{AllowedMentions, MessageFlags};
use twilight_model::http::interaction::{
    InteractionResponse, InteractionResponseData, InteractionResponseType,
};

use super::MAX_CONTENT_CHARS;
use crate::reply::{Reply, truncate_chars};

/// The answer to a PING, pre-serialised: it is on the path Discord uses to health-check us.
pub const PONG: &str = r#"{"type":1}"#;

/// A message response (type 4) carrying the reply.
pub fn render_reply(reply: &Reply) -> InteractionResponse {
    let mut content = reply.text.clone();
    for field in &reply.fields {
        content.push_str(&format!("\n**{}**\n{}", field.name, field.value));
    }
    InteractionResponse {
        kind: InteractionResponseType::ChannelMessageWithSource,
        data: Some(InteractionResponseData {
            content: Some(truncate_chars(&content, MAX_CONTENT_CHARS).into_owned()),
            flags: reply.is_ephemeral().then_some(MessageFlags::EPHEMERAL),
            // Replies echo user-supplied text (reasons, names); never let it ping anyone.
            allowed_mentions: Some(AllowedMentions::default()),
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
