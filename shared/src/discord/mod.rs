//! Discord interactions: payload → [`Invocation`](crate::invocation::Invocation), and
//! [`Reply`](crate::reply::Reply) → interaction response, on twilight-model's types.

mod inbound;
pub mod registration;
mod render;

pub use inbound::{DiscordInbound, ParseError, parse_interaction};
pub use render::{
    ChannelMessage, PONG, autocomplete_empty, render_channel_message, render_reply, render_response,
};

/// Discord rejects message content over this many characters.
pub const MAX_CONTENT_CHARS: usize = 2000;
