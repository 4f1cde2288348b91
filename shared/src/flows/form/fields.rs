//! A form's fields: how each is drawn, how its text is checked, and the values a valid
//! submission yields.

use crate::reply::TextInput;

/// Bounds on a text's length in characters, after trimming: the one check of every reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Length {
    pub min: usize,
    pub max: usize,
    /// Said when the text is shorter than `min`; `{min}` stands for the bound.
    pub too_short: &'static str,
    /// What the text is, in "Please keep {noun} under {max} characters (… now).".
    pub noun: &'static str,
}

impl Length {
    /// Checks `text`, also where no form is involved (a reason typed with the command).
    pub fn check(&self, text: &str) -> Result<(), String> {
        let chars = text.trim().chars().count();
        if chars < self.min {
            return Err(self.too_short.replace("{min}", &self.min.to_string()));
        }
        if chars > self.max {
            return Err(format!(
                "Please keep {} under {} characters ({chars} now).",
                self.noun, self.max
            ));
        }
        Ok(())
    }
}

/// A checked field's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    Text(String),
    /// A number the text stood for (a duration in seconds).
    Number(i64),
}

/// Parses a field's text into its value, or says what is wrong with it.
pub type Parser = Box<dyn Fn(&str) -> Result<Parsed, String> + Send + Sync>;

/// How a field's (trimmed) text is checked.
pub enum Check {
    /// Within bounds; the value is the text.
    Length(Length),
    /// Parsed into the value, or refused with the message shown for the field.
    Parse(Parser),
}

impl Check {
    pub fn parse(parse: impl Fn(&str) -> Result<Parsed, String> + Send + Sync + 'static) -> Self {
        Check::Parse(Box::new(parse))
    }

    fn apply(&self, text: &str) -> Result<Parsed, String> {
        match self {
            Check::Length(length) => length.check(text).map(|()| Parsed::Text(text.to_owned())),
            Check::Parse(parse) => parse(text),
        }
    }
}

/// One text input of a form.
pub struct Field {
    pub id: &'static str,
    pub label: &'static str,
    /// How an error names the field, where the label is a question; else the label.
    pub error_label: Option<&'static str>,
    pub multiline: bool,
    /// A blank optional field is left out of the values, unchecked; a blank required one is
    /// checked as empty text (so its check says what is missing).
    pub required: bool,
    pub max_chars: u16,
    pub placeholder: &'static str,
    pub check: Check,
}

impl Field {
    /// A required text within `length`, at most `length.max` characters in the form.
    pub fn text(id: &'static str, label: &'static str, length: Length) -> Self {
        Self::new(id, label, length.max as u16, Check::Length(length))
    }

    /// A required field, at most `max_chars` characters, checked by `check`.
    pub fn new(id: &'static str, label: &'static str, max_chars: u16, check: Check) -> Self {
        Self {
            id,
            label,
            error_label: None,
            multiline: false,
            required: true,
            max_chars,
            placeholder: "",
            check,
        }
    }

    pub fn multiline(self) -> Self {
        Self {
            multiline: true,
            ..self
        }
    }

    pub fn optional(self) -> Self {
        Self {
            required: false,
            ..self
        }
    }

    pub fn placeholder(self, placeholder: &'static str) -> Self {
        Self {
            placeholder,
            ..self
        }
    }

    pub fn named_in_errors(self, name: &'static str) -> Self {
        Self {
            error_label: Some(name),
            ..self
        }
    }

    pub(super) fn error_label(&self) -> &'static str {
        self.error_label.unwrap_or(self.label)
    }

    /// Checks the submitted text: `None` for a blank optional field.
    pub(super) fn check(&self, typed: Option<&str>) -> Option<Result<Parsed, String>> {
        match (typed, self.required) {
            (None, false) => None,
            (typed, _) => Some(self.check.apply(typed.unwrap_or(""))),
        }
    }

    /// The field drawn in the form, filled in with `value`. Lengths are checked by Gavel, not
    /// the platform, so the answer says what is wrong rather than a generic refusal.
    pub(super) fn input(&self, value: Option<String>) -> TextInput {
        TextInput {
            id: self.id.to_owned(),
            label: self.label.to_owned(),
            multiline: self.multiline,
            required: self.required,
            min_chars: None,
            max_chars: Some(self.max_chars),
            placeholder: Some(self.placeholder.to_owned()),
            value,
        }
    }
}

/// A submitted field's value, trimmed; `None` when missing or blank.
pub(super) fn submitted(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(id, _)| id == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The values of a valid submission, by field id.
#[derive(Debug, Default)]
pub struct Values(pub(super) Vec<(&'static str, Parsed)>);

impl Values {
    fn get(&self, id: &str) -> Option<&Parsed> {
        self.0.iter().find(|(f, _)| *f == id).map(|(_, v)| v)
    }

    /// The text of field `id`; `None` for a blank optional field.
    pub fn text(&self, id: &str) -> Option<String> {
        match self.get(id) {
            Some(Parsed::Text(text)) => Some(text.clone()),
            _ => None,
        }
    }

    /// The number field `id` stood for; `None` where the form had no such field.
    pub fn number(&self, id: &str) -> Option<i64> {
        match self.get(id) {
            Some(Parsed::Number(n)) => Some(*n),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REASON: Length = Length {
        min: 20,
        max: 1000,
        too_short: "Please explain in at least {min} characters.",
        noun: "your appeal",
    };

    #[test]
    fn lengths_count_trimmed_characters_and_say_the_bound() {
        assert_eq!(
            REASON.check("  too short   "),
            Err("Please explain in at least 20 characters.".to_owned())
        );
        assert!(REASON.check(&"é".repeat(20)).is_ok());
        assert_eq!(
            REASON.check(&"a".repeat(1001)),
            Err("Please keep your appeal under 1000 characters (1001 now).".to_owned())
        );
    }

    #[test]
    fn blank_optional_fields_are_left_unchecked_and_required_ones_checked_as_empty() {
        let link = Field::new("link", "Link", 10, Check::parse(|_| Err("no".into()))).optional();
        assert_eq!(link.check(None), None);
        assert_eq!(link.check(Some("x")), Some(Err("no".to_owned())));
        let reason = Field::text("reason", "Reason", REASON);
        assert!(matches!(reason.check(None), Some(Err(_))));
    }
}
