//! The platform-neutral answer a handler gives; the edges render it as Discord JSON or Block Kit.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Only the invoker sees it.
    Ephemeral,
    /// Everyone in the channel sees it.
    Channel,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    pub fields: Vec<Field>,
    pub visibility: Visibility,
}

impl Reply {
    pub fn ephemeral(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            fields: Vec::new(),
            visibility: Visibility::Ephemeral,
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

    pub fn is_ephemeral(&self) -> bool {
        self.visibility == Visibility::Ephemeral
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
