//! Signed requests through an edge, and what its answers show: the way Discord and Slack call
//! Gavel, signed at the edge's clock.

use gavel_shared::clock::{Clock, ManualClock};
use gavel_shared::edge::{Edge, EdgeResponse};
use http::Method;
use serde_json::Value;

use crate::{discord_signed_headers, header_map, slack_signed_headers};

/// Slack's content type for commands and interactions.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// An edge's answer: its status, its JSON body (`Null` if none) and the store round trips it
/// took.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub round_trips: u32,
}

impl From<EdgeResponse> for Answer {
    fn from(response: EdgeResponse) -> Self {
        Self {
            status: response.status.as_u16(),
            body: serde_json::from_slice(&response.body).unwrap_or(Value::Null),
            round_trips: response.store_round_trips,
        }
    }
}

impl Answer {
    /// The custom ids of a Discord message's buttons, in order.
    pub fn buttons(&self) -> Vec<String> {
        button_ids(&self.body)
    }
}

/// `body` as Discord sends an interaction, signed at `clock`'s now.
pub async fn discord(edge: &Edge, clock: &ManualClock, body: &[u8]) -> Answer {
    let ts = clock.now_secs().to_string();
    let headers = discord_signed_headers(&ts, body);
    let map = header_map(headers.iter().map(|(k, v)| (*k, v.as_str())));
    edge.handle(&Method::POST, "/discord/interactions", &map, body)
        .await
        .into()
}

/// `body` as Slack posts a form to `path`, signed at `clock`'s now.
pub async fn slack(edge: &Edge, clock: &ManualClock, path: &str, body: &[u8]) -> Answer {
    let ts = clock.now_secs().to_string();
    let headers = slack_signed_headers(FORM, &ts, body);
    let map = header_map(headers.iter().map(|(k, v)| (*k, v.as_str())));
    edge.handle(&Method::POST, path, &map, body).await.into()
}

/// The custom ids of a Discord message's buttons, in order.
pub fn button_ids(body: &Value) -> Vec<String> {
    body["data"]["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["custom_id"].as_str().map(str::to_owned))
        .collect()
}

/// A Discord answer's message text.
pub fn content(body: &Value) -> &str {
    body["data"]["content"].as_str().unwrap_or("")
}

/// `body` with every occurrence of `from` replaced by `to`: a payload moved into a test's own
/// community.
pub fn swap(body: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
    String::from_utf8(body)
        .expect("payloads are UTF-8")
        .replace(from, to)
        .into_bytes()
}

/// `body` as Telegram posts an update to the webhook, with the test secret.
pub async fn telegram(edge: &Edge, body: &[u8]) -> Answer {
    let map = header_map([
        ("content-type", "application/json"),
        (
            "x-telegram-bot-api-secret-token",
            crate::TELEGRAM_TEST_SECRET,
        ),
    ]);
    edge.handle(&Method::POST, "/telegram/webhook", &map, body)
        .await
        .into()
}

/// The `callback_data` of a Telegram answer's inline keyboard, in order.
pub fn callback_data(body: &Value) -> Vec<String> {
    body["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .filter_map(|button| button["callback_data"].as_str().map(str::to_owned))
        .collect()
}
