//! API Gateway HTTP API (payload format 2.0) events: the shape a Function URL or an HTTP API
//! delivers to Lambda, and the catalogue of signed fixtures kept in `events/`.

use base64::Engine;
use gavel_shared::edge::Route;
use gavel_shared::invocation::Platform;
use serde_json::{Map, Value, json};

use crate::payloads::{self, DiscordInvoker};
use crate::{FIXTURE_TIMESTAMP, discord_signed_headers, slack_signed_headers};

pub const FORM: &str = "application/x-www-form-urlencoded";
pub const JSON: &str = "application/json";

/// One file in `events/`.
pub struct EventFixture {
    pub file: &'static str,
    /// One line for events/README.md.
    pub description: &'static str,
    pub platform: Platform,
    pub route: Route,
    pub content_type: &'static str,
    /// The body as the platform sent it (before any base64 encoding by API Gateway).
    pub body: Vec<u8>,
    pub base64: bool,
}

impl EventFixture {
    /// The event, signed with the test credentials at [`FIXTURE_TIMESTAMP`].
    pub fn event(&self) -> Value {
        let timestamp = FIXTURE_TIMESTAMP.to_string();
        let headers = match self.platform {
            Platform::Discord => discord_signed_headers(&timestamp, &self.body),
            Platform::Slack => slack_signed_headers(self.content_type, &timestamp, &self.body),
            // Telegram sends no signature, only the webhook's secret.
            Platform::Telegram => vec![
                ("content-type", JSON.to_owned()),
                (
                    "x-telegram-bot-api-secret-token",
                    crate::TELEGRAM_TEST_SECRET.to_owned(),
                ),
            ],
        };
        http_api_event("POST", self.route.path(), &headers, &self.body, self.base64)
    }
}

/// Every fixture in `events/`, built from fixed inputs.
pub fn catalogue() -> Vec<EventFixture> {
    let member = DiscordInvoker::Member;
    vec![
        EventFixture {
            file: "discord-ping.json",
            description: "Discord PING (type 1), sent when the Interactions Endpoint URL is saved; expects `{\"type\":1}`.",
            platform: Platform::Discord,
            route: Route::DiscordInteractions,
            content_type: JSON,
            body: payloads::discord_ping(),
            base64: false,
        },
        EventFixture {
            file: "discord-ping-base64.json",
            description: "The same PING with the body base64-encoded (`isBase64Encoded: true`), as API Gateway may deliver it.",
            platform: Platform::Discord,
            route: Route::DiscordInteractions,
            content_type: JSON,
            body: payloads::discord_ping(),
            base64: true,
        },
        EventFixture {
            file: "discord-command-ping.json",
            description: "`/ping` from a guild member (APPLICATION_COMMAND, type 2); expects an ephemeral \"Pong!\".",
            platform: Platform::Discord,
            route: Route::DiscordInteractions,
            content_type: JSON,
            body: payloads::discord_command("1442545296998400001", "ping", json!([]), member),
            base64: false,
        },
        EventFixture {
            file: "discord-command-help.json",
            description: "`/help` from a guild member without moderator permissions; expects the commands a member may use.",
            platform: Platform::Discord,
            route: Route::DiscordInteractions,
            content_type: JSON,
            body: payloads::discord_command("1442545296998400002", "help", json!([]), member),
            base64: false,
        },
        EventFixture {
            file: "slack-command-ping.json",
            description: "Slack slash command `/ping` (form-encoded); expects an ephemeral \"Pong!\".",
            platform: Platform::Slack,
            route: Route::SlackCommands,
            content_type: FORM,
            body: payloads::slack_command(
                "/ping",
                "",
                "1764000000.1000000000001.a1b2c3d4e5f60718293a4b5c6d7e8f90",
            ),
            base64: false,
        },
        EventFixture {
            file: "slack-command-help.json",
            description: "Slack slash command `/help` (form-encoded); expects the list of commands.",
            platform: Platform::Slack,
            route: Route::SlackCommands,
            content_type: FORM,
            body: payloads::slack_command(
                "/help",
                "",
                "1764000000.1000000000001.b1c2d3e4f5a60718293a4b5c6d7e8f91",
            ),
            base64: false,
        },
        EventFixture {
            file: "slack-url-verification.json",
            description: "Events API `url_verification`, sent when the Request URL is saved; expects the challenge echoed.",
            platform: Platform::Slack,
            route: Route::SlackEvents,
            content_type: JSON,
            body: payloads::slack_url_verification(
                "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            ),
            base64: false,
        },
        EventFixture {
            file: "slack-event-callback.json",
            description: "Events API `event_callback` carrying a channel `message` event with an `event_id`; expects an empty 200.",
            platform: Platform::Slack,
            route: Route::SlackEvents,
            content_type: JSON,
            body: payloads::slack_message_event("Ev0GAVELTST1"),
            base64: false,
        },
        EventFixture {
            file: "slack-interaction-block-actions.json",
            description: "Interactivity `block_actions` (a button click, `payload=` form field); expects an empty 200.",
            platform: Platform::Slack,
            route: Route::SlackInteractions,
            content_type: FORM,
            body: payloads::slack_block_actions("gavel:confirm"),
            base64: false,
        },
        EventFixture {
            file: "telegram-update-help.json",
            description: "Telegram `message` update: `/help@GavelTestBot` from a group member; expects a `sendMessage` in the answer's body.",
            platform: Platform::Telegram,
            route: Route::TelegramWebhook,
            content_type: JSON,
            body: payloads::telegram_message(
                900_000_001,
                -1_001_234_567_890,
                7002,
                "/help@GavelTestBot",
                None,
                FIXTURE_TIMESTAMP,
            )
            .to_string()
            .into_bytes(),
            base64: false,
        },
        EventFixture {
            file: "telegram-update-warn-reply.json",
            description: "Telegram `message` update: `/warn spam` replying to a member's message, from someone who is not an administrator; expects a refusal in a `sendMessage`.",
            platform: Platform::Telegram,
            route: Route::TelegramWebhook,
            content_type: JSON,
            body: payloads::telegram_message(
                900_000_002,
                -1_001_234_567_890,
                7003,
                "/warn spam",
                Some(7002),
                FIXTURE_TIMESTAMP,
            )
            .to_string()
            .into_bytes(),
            base64: false,
        },
        EventFixture {
            file: "telegram-update-unknown.json",
            description: "Telegram update of a type Gavel does not handle (`message_reaction`); expects an empty 200, so Telegram does not retry it.",
            platform: Platform::Telegram,
            route: Route::TelegramWebhook,
            content_type: JSON,
            body: json!({
                "update_id": 900_000_003,
                "message_reaction": {
                    "chat": { "id": -1_001_234_567_890i64, "type": "supergroup", "title": "Gavel test" },
                    "message_id": 5,
                    "date": FIXTURE_TIMESTAMP,
                    "old_reaction": [],
                    "new_reaction": [{ "type": "emoji", "emoji": "👍" }]
                }
            })
            .to_string()
            .into_bytes(),
            base64: false,
        },
    ]
}

/// An HTTP API payload-format-2.0 event for one request, with the fields API Gateway fills in.
/// `headers` are given as the client sent them; their names are lower-cased here, as API
/// Gateway delivers them.
pub fn http_api_event(
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
    base64: bool,
) -> Value {
    let user_agent = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("user-agent"))
        .map(|(_, value)| value.clone())
        .unwrap_or_else(|| {
            if path.starts_with("/discord") {
                "Discord-Interactions/1.0 (+https://discord.com)".to_owned()
            } else {
                "Slackbot 1.0 (+https://api.slack.com/robots)".to_owned()
            }
        });
    let mut header_object = Map::new();
    header_object.insert("content-length".into(), body.len().to_string().into());
    header_object.insert(
        "host".into(),
        "gavel0test.execute-api.us-east-1.amazonaws.com".into(),
    );
    header_object.insert("user-agent".into(), user_agent.clone().into());
    header_object.insert(
        "x-amzn-trace-id".into(),
        "Root=1-69248180-0123456789abcdef01234567".into(),
    );
    header_object.insert("x-forwarded-for".into(), "203.0.113.7".into());
    header_object.insert("x-forwarded-port".into(), "443".into());
    header_object.insert("x-forwarded-proto".into(), "https".into());
    for (name, value) in headers {
        header_object.insert(name.to_ascii_lowercase(), value.clone().into());
    }
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        String::from_utf8(body.to_vec()).expect("a plain event body is UTF-8; use base64 otherwise")
    };
    let route_key = format!("{method} {path}");
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": header_object,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "gavel0test",
            "domainName": "gavel0test.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "gavel0test",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": user_agent
            },
            "requestId": "Ux2bEgv8IAMEVfw=",
            "routeKey": route_key,
            "stage": "$default",
            "time": "24/Nov/2025:16:00:00 +0000",
            "timeEpoch": FIXTURE_TIMESTAMP * 1000
        },
        "body": body,
        "isBase64Encoded": base64
    })
}
