//! The platform-neutral answer a handler gives; the edges render it as Discord JSON or Block Kit.

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Only the invoker sees it.
    Ephemeral,
    /// Everyone in the channel sees it.
    Channel,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Field {
    pub name: String,
    pub value: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ButtonStyle {
    Primary,
    Secondary,
    /// Destructive: bans, deletions.
    Danger,
}

/// A button under a message. `id` is an encoded component id (see `flows::component_id`), so a
/// click comes back to the flow that drew it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Button {
    pub id: String,
    pub label: String,
    pub style: ButtonStyle,
}

/// Serialisable so the worker can post a prepared message (an appeal with its buttons).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reply {
    pub text: String,
    pub fields: Vec<Field>,
    pub visibility: Visibility,
    pub buttons: Vec<Button>,
}

impl Reply {
    pub fn ephemeral(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            fields: Vec::new(),
            visibility: Visibility::Ephemeral,
            buttons: Vec::new(),
        }
    }

    pub fn public(text: impl Into<String>) -> Self {
        Self {
            visibility: Visibility::Channel,
            ..Self::ephemeral(text)
        }
    }

    pub fn with_field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push(Field {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    pub fn with_button(mut self, button: Button) -> Self {
        self.buttons.push(button);
        self
    }

    pub fn is_ephemeral(&self) -> bool {
        self.visibility == Visibility::Ephemeral
    }
}

/// A single-line or multi-line text box in a modal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextInput {
    /// The field's id, as it comes back in the submission.
    pub id: String,
    pub label: String,
    pub multiline: bool,
    pub required: bool,
    pub min_chars: Option<u16>,
    pub max_chars: Option<u16>,
    pub placeholder: Option<String>,
    /// Pre-filled text (a draft being corrected).
    pub value: Option<String>,
}

/// A form. Discord shows it as a modal (only as the first answer to a command or a click);
/// Slack opens it as a view with the interaction's `trigger_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Modal {
    /// An encoded component id, so the submission comes back to its flow.
    pub id: String,
    pub title: String,
    pub submit_label: String,
    pub inputs: Vec<TextInput>,
}

/// A problem with one submitted field, shown beside it where the platform can.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Everything a handler can answer with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// A new message (Discord type 4; Slack the command's body or a `response_url` post).
    Message(Reply),
    /// Replace the message whose button was clicked (Discord type 7; Slack `replace_original`).
    Update(Reply),
    /// Open a form.
    Modal(Modal),
    /// A submitted form had problems. Slack shows them beside the fields and keeps the modal
    /// open; Discord cannot, so `fallback` (with a button to reopen the form) is shown instead.
    FormErrors {
        errors: Vec<FieldError>,
        fallback: Reply,
    },
    /// A submitted form was accepted: Slack replaces the modal with `reply` as a closing view,
    /// Discord shows `reply` as a message.
    FormDone(Reply),
    /// The work goes on in the worker, which edits this answer with the outcome. Discord shows
    /// "Gavel is thinking…" (type 5, ephemeral when `placeholder` is); Slack shows
    /// `placeholder` until the worker replaces it through the `response_url`.
    Deferred(Reply),
}

impl From<Reply> for Response {
    fn from(reply: Reply) -> Self {
        Response::Message(reply)
    }
}

/// Cuts `text` to at most `max` characters, marking the cut with an ellipsis.
pub fn truncate_chars(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(text),
        Some(_) => {
            let keep = max.saturating_sub(1);
            let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
            std::borrow::Cow::Owned(format!("{}…", &text[..end]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_borrowed_unchanged() {
        assert!(matches!(
            truncate_chars("héllo", 5),
            std::borrow::Cow::Borrowed("héllo")
        ));
        assert!(matches!(
            truncate_chars("", 3),
            std::borrow::Cow::Borrowed("")
        ));
    }

    #[test]
    fn long_text_keeps_max_minus_one_characters_and_an_ellipsis() {
        assert_eq!(truncate_chars("abcdef", 5), "abcd…");
        assert_eq!(truncate_chars("ééééé€", 5), "éééé…");
        assert_eq!(truncate_chars("🦀🦀🦀", 2), "🦀…");
        assert_eq!(truncate_chars("ab", 1), "…");
    }
}
