//! What every form flow shares: its two events (submit, and "edit" to reopen the form on
//! Discord), reading a submitted field, and showing validation errors the way each platform
//! can (beside the fields on Slack; a list with an Edit button on Discord, which cannot mark
//! fields and closes the form on submit).

use super::{FlowButton, FlowEvent, Step, View};
use crate::invocation::Platform;
use crate::reply::{ButtonStyle, FieldError, Reply};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormEvent {
    Submit,
    /// Reopen the form with the draft (Discord, after validation errors).
    Edit,
}

impl FlowEvent for FormEvent {
    fn code(self) -> &'static str {
        match self {
            FormEvent::Submit => "submit",
            FormEvent::Edit => "edit",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        match code {
            "submit" => Some(FormEvent::Submit),
            "edit" => Some(FormEvent::Edit),
            _ => None,
        }
    }
}

/// A submitted field's value, trimmed; `None` when missing or blank.
pub fn field(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(id, _)| id == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The step for a submission with `errors`. On Slack the form stays open with the errors
/// beside the fields (nothing to store: the open form's id stays valid). On Discord the form
/// has closed, so the run keeps `draft` (the state with what was typed) and the answer lists
/// the errors (`fallback` plus one field per error, labelled by `label`) under an
/// `edit_label` button that reopens the form filled in.
pub fn errors_step<S>(
    platform: Platform,
    draft: S,
    errors: Vec<FieldError>,
    fallback: Reply,
    label: impl Fn(&str) -> &'static str,
    edit_label: &str,
) -> Step<S, FormEvent> {
    let mut fallback = fallback;
    for error in &errors {
        fallback = fallback.with_field(label(&error.field), error.message.clone());
    }
    match platform {
        Platform::Slack => Step::Stay {
            view: View::FormErrors {
                errors,
                fallback,
                buttons: Vec::new(),
            },
        },
        Platform::Discord => Step::Goto {
            state: draft,
            effects: Vec::new(),
            view: View::FormErrors {
                errors,
                fallback,
                buttons: vec![FlowButton::new(
                    FormEvent::Edit,
                    edit_label,
                    ButtonStyle::Primary,
                )],
            },
        },
    }
}
