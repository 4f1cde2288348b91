//! [`Reply`] → a Telegram message: HTML parse mode with every character of the reply escaped
//! first (so nothing a member typed can become markup), then Gavel's own light markup
//! (`**bold**`, `` `code` ``, `<@user>` mentions) drawn as tags; buttons as an inline keyboard
//! whose `callback_data` is the compact form of each signed component id.

use std::sync::LazyLock;

use frankenstein::ParseMode;
use frankenstein::methods::{AnswerCallbackQueryParams, EditMessageTextParams, SendMessageParams};
use frankenstein::types::{
    ButtonStyle as TelegramStyle, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, ReplyMarkup,
    ReplyParameters,
};
use regex::Regex;
use serde::Serialize;

use crate::flows::component_id;
use crate::reply::{ButtonStyle, Reply};

/// Telegram's limit on a message's text, in characters after entities are parsed; the source
/// is cut well before it, since tags do not count but escapes are short.
const MAX_TEXT_CHARS: usize = 3500;
/// Telegram's limit on an `answerCallbackQuery` toast.
pub const MAX_TOAST_CHARS: usize = 200;

/// A chat id as Telegram takes it: a number, or `@username` for a public chat.
pub fn chat_id(chat: &str) -> ChatId {
    match chat.parse::<i64>() {
        Ok(id) => ChatId::Integer(id),
        Err(_) => ChatId::String(chat.to_owned()),
    }
}

/// The reply's text and fields as Telegram HTML.
pub fn html(reply: &Reply) -> String {
    let mut source = reply.text.clone();
    for field in &reply.fields {
        source.push_str(&format!("\n**{}**: {}", field.name, field.value));
    }
    if source.chars().count() > MAX_TEXT_CHARS {
        source = source.chars().take(MAX_TEXT_CHARS).collect();
        source.push_str("\n… (cut)");
    }
    markup(&escape(&source))
}

/// The three characters HTML parse mode requires escaped (and `"` for attribute values).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

static BOLD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\*\*([^*\n]+)\*\*").unwrap());
static CODE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^`\n]+)`").unwrap());
static USER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"&lt;@!?([0-9]{1,20})&gt;").unwrap());
static CHAT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"&lt;#(-?[0-9]{1,20})&gt;").unwrap());

/// Gavel's markup, on text already escaped: what the patterns match holds no `<`, `>` or
/// `&` of its own, so the tags drawn are the only tags.
fn markup(escaped: &str) -> String {
    let text = BOLD.replace_all(escaped, "<b>$1</b>");
    let text = CODE.replace_all(&text, "<code>$1</code>");
    let text = USER.replace_all(&text, r#"<a href="tg://user?id=$1">member $1</a>"#);
    CHAT.replace_all(&text, "this chat").into_owned()
}

/// The reply's buttons as an inline keyboard, one row. A button whose id has no compact form
/// (not a component id) is left out, and logged: Telegram refuses the whole message otherwise.
pub fn keyboard(reply: &Reply) -> Option<InlineKeyboardMarkup> {
    let buttons: Vec<InlineKeyboardButton> = reply
        .buttons
        .iter()
        .filter_map(|button| {
            let Some(data) = component_id::compact(&button.id) else {
                tracing::error!(
                    label = button.label,
                    "a button without a component id is left out"
                );
                return None;
            };
            let style = match button.style {
                ButtonStyle::Primary => Some(TelegramStyle::Primary),
                ButtonStyle::Danger => Some(TelegramStyle::Danger),
                ButtonStyle::Secondary => None,
            };
            Some(
                InlineKeyboardButton::builder()
                    .text(button.label.clone())
                    .callback_data(data)
                    .maybe_style(style)
                    .build(),
            )
        })
        .collect();
    (!buttons.is_empty()).then(|| {
        InlineKeyboardMarkup::builder()
            .inline_keyboard(vec![buttons])
            .build()
    })
}

/// `sendMessage` of `reply` to `chat`, answering message `reply_to` where there is one (and
/// still sent if that message is gone).
pub fn send_message(chat: &str, reply: &Reply, reply_to: Option<&str>) -> SendMessageParams {
    let reply_parameters = reply_to
        .and_then(|id| id.parse::<i32>().ok())
        .map(|message_id| {
            ReplyParameters::builder()
                .message_id(message_id)
                .allow_sending_without_reply(true)
                .build()
        });
    SendMessageParams::builder()
        .chat_id(chat_id(chat))
        .text(html(reply))
        .parse_mode(ParseMode::Html)
        .maybe_reply_parameters(reply_parameters)
        .maybe_reply_markup(keyboard(reply).map(ReplyMarkup::InlineKeyboardMarkup))
        .build()
}

/// `editMessageText` of message `message` in `chat` to `reply` (its buttons replace the old).
pub fn edit_message(chat: &str, message: &str, reply: &Reply) -> Option<EditMessageTextParams> {
    let message_id = message.parse::<i32>().ok()?;
    Some(
        EditMessageTextParams::builder()
            .chat_id(chat_id(chat))
            .message_id(message_id)
            .text(html(reply))
            .parse_mode(ParseMode::Html)
            .reply_markup(keyboard(reply).unwrap_or_else(|| {
                InlineKeyboardMarkup::builder()
                    .inline_keyboard(Vec::new())
                    .build()
            }))
            .build(),
    )
}

/// `answerCallbackQuery`, with `toast` shown to the clicker (cut to Telegram's 200 characters).
pub fn answer_callback(callback: &str, toast: Option<&str>) -> AnswerCallbackQueryParams {
    let toast = toast.map(|text| {
        let mut cut: String = text.chars().take(MAX_TOAST_CHARS).collect();
        if cut.len() < text.len() {
            cut.pop();
            cut.push('…');
        }
        cut
    });
    AnswerCallbackQueryParams::builder()
        .callback_query_id(callback.to_owned())
        .maybe_text(toast)
        .build()
}

/// A webhook answer that makes one Bot API call: the method's name beside its parameters.
/// Telegram does not report its result, so only calls whose failure changes nothing go here.
pub fn webhook_call(method: &str, params: &impl Serialize) -> Option<Vec<u8>> {
    let mut value = serde_json::to_value(params).ok()?;
    value
        .as_object_mut()?
        .insert("method".to_owned(), method.into());
    serde_json::to_vec(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_text_is_escaped_and_gavels_markup_drawn() {
        let reply = Reply::ephemeral("⚠️ <@222> was warned: <b>spam</b> & `more`")
            .with_field("Reason", "<script>");
        let html = html(&reply);
        assert_eq!(
            html,
            "⚠️ <a href=\"tg://user?id=222\">member 222</a> was warned: &lt;b&gt;spam&lt;/b&gt; &amp; <code>more</code>\n<b>Reason</b>: &lt;script&gt;"
        );
    }

    #[test]
    fn buttons_carry_compact_ids_within_64_bytes() {
        let key = component_id::ComponentKey::random();
        let id = component_id::ComponentId {
            flow: "appeal-review".into(),
            nonce: "AbCdEfGh".into(),
            version: 3,
            event: "accept-list".into(),
        };
        let binding =
            component_id::Binding::shared(crate::invocation::Platform::Telegram, "-100123");
        let raw = key.encode(&id, binding);
        let reply = Reply::public("Appeal").with_button(crate::reply::Button {
            id: raw.clone(),
            label: "Accept".into(),
            style: ButtonStyle::Primary,
        });
        let keyboard = keyboard(&reply).unwrap();
        let data = keyboard.inline_keyboard[0][0]
            .callback_data
            .clone()
            .unwrap();
        assert!(data.len() <= component_id::MAX_COMPACT_BYTES);
        assert_eq!(component_id::expand(&data, ["appeal-review"]), Some(raw));
    }

    #[test]
    fn a_webhook_answer_names_its_method() {
        let body =
            webhook_call("answerCallbackQuery", &answer_callback("42", Some("done"))).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["method"], "answerCallbackQuery");
        assert_eq!(value["callback_query_id"], "42");
        assert_eq!(value["text"], "done");
    }
}
