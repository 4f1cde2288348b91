//! Broadcast mentions (`<!here>`, `<!channel>`, …) escaped out of what Gavel posts, so a quoted
//! reason or message never notifies a whole channel.

use serde_json::Value;

/// `parse: none` leaves `<!channel>`, `<!here>`, `<!everyone>` and `<!subteam^…>` working, and
/// a member's reason or message quoted in a notice could carry one. Escaped, Slack shows the
/// characters and notifies nobody. User mentions (`<@U…>`) stay: they are how a notice names
/// someone.
pub(super) fn no_broadcasts(text: &str) -> String {
    text.replace("<!", "&lt;!")
}

/// [`no_broadcasts`] for a Block Kit message: its fallback text and every mrkdwn text object
/// (plain text objects never notify, and buttons' ids stay as they are).
pub(super) fn no_broadcasts_in_blocks(message: &mut Value) {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(object) => {
                let mrkdwn = object.get("type").and_then(Value::as_str) == Some("mrkdwn");
                for (key, child) in object.iter_mut() {
                    match child {
                        Value::String(text) if mrkdwn && key == "text" => {
                            *text = no_broadcasts(text);
                        }
                        _ => walk(child),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    if let Some(Value::String(text)) = message.get_mut("text") {
        *text = no_broadcasts(text);
    }
    if let Some(blocks) = message.get_mut("blocks") {
        walk(blocks);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn broadcast_mentions_are_escaped_and_user_mentions_kept() {
        assert_eq!(
            no_broadcasts("<!here> <!channel|channel> <@U123> <!subteam^S1>"),
            "&lt;!here> &lt;!channel|channel> <@U123> &lt;!subteam^S1>"
        );
    }

    #[test]
    fn broadcasts_are_escaped_in_mrkdwn_blocks_but_not_in_ids() {
        let mut message = json!({
            "text": "<!here> report",
            "blocks": [
                { "type": "section", "text": { "type": "mrkdwn", "text": "<!channel> look" },
                  "fields": [{ "type": "mrkdwn", "text": "*Reason*\n<!everyone>" }] },
                { "type": "actions", "elements": [{ "type": "button", "action_id": "<!keep>",
                  "text": { "type": "plain_text", "text": "<!plain>" } }] },
            ],
        });
        no_broadcasts_in_blocks(&mut message);
        assert_eq!(message["text"], "&lt;!here> report");
        assert_eq!(message["blocks"][0]["text"]["text"], "&lt;!channel> look");
        assert_eq!(
            message["blocks"][0]["fields"][0]["text"],
            "*Reason*\n&lt;!everyone>"
        );
        let button = &message["blocks"][1]["elements"][0];
        assert_eq!(
            (&button["action_id"], &button["text"]["text"]),
            (&json!("<!keep>"), &json!("<!plain>"))
        );
    }
}
