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
}
