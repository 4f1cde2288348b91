//! Discord interactions: payload → [`Invocation`](crate::invocation::Invocation), and
//! [`Reply`](crate::reply::Reply) → interaction response. Payloads are read with Gavel's own
//! lenient model; answers and registrations are written with twilight-model's types.

mod inbound;
mod payload;
pub mod registration;
mod render;

pub use inbound::{DiscordInbound, ParseError, parse_interaction};
pub use render::{
    ChannelMessage, PONG, autocomplete_empty, render_channel_message, render_reply, render_response,
};

/// Discord rejects message content over this many characters.
pub const MAX_CONTENT_CHARS: usize = 2000;
