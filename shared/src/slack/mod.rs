//! Slack: slash commands, interactivity payloads and the Events API → domain types, and
//! [`Reply`](crate::reply::Reply) → Block Kit. Interactivity payloads are read with Gavel's own
//! lenient model; slash commands and answers with slack-morphism's.

mod inbound;
pub mod manifest;
mod message_event;
pub mod moderators;
mod render;
mod text_options;
pub mod web;

pub use inbound::{
    CommandParse, ParseError, SlackEvent, SlackInteraction, parse_command, parse_event,
    parse_interaction,
};
pub use message_event::SlackMessage;
pub use moderators::SlackModerators;
pub use render::{
    render_command_reply, render_message, render_modal, render_response_url_message,
    render_view_submission,
};
pub use text_options::{TextProblem, UsageError, options_from_text};
