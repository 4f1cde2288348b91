//! Telegram: webhook updates → domain types, and [`Reply`](crate::reply::Reply) → Bot API
//! messages (HTML, inline keyboards). Types are frankenstein's (types only, no client); the
//! update itself is read leniently (see [`inbound`]).

pub mod commands;
mod inbound;
pub mod render;
pub mod usernames;

pub use inbound::{
    Ahead, ChatMessage, Incoming, SeenMessage, TelegramUpdate, parse_update, read_ahead,
    read_update,
};
