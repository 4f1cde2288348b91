//! Form flows: a command that needs text (a reason, a duration, a link) opens a form, checks
//! what was submitted and acts on it. One generic machine, [`FormFlow`], runs every form; a
//! [`FormSpec`] configures it (its fields and their checks, its texts, what a valid submission
//! does). Validation errors are shown the way each platform can: beside the fields on Slack; a
//! list with an Edit button on Discord, which cannot mark fields and closes the form on submit.

mod fields;
mod flow;

pub use fields::{Check, Field, Length, Parsed, Values};
pub use flow::{FormFlow, FormRun, FormSpec};

use super::FlowEvent;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormEvent {
    Submit,
    /// (Re)open the form with the draft (Discord, after validation errors; a DM's button).
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
