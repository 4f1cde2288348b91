//! The inbound parsers, on bodies that passed verification (so anything at all): never a
//! panic, and what they accept is what the platform's format allows.

use std::sync::LazyLock;

use gavel_shared::commands::CommandRegistry;
use gavel_shared::discord::{self, DiscordInbound};
use gavel_shared::invocation::{Action, Platform};
use gavel_shared::slack::{self, CommandParse, SlackEvent, SlackInteraction};
use serde_json::Value;

pub(crate) static REGISTRY: LazyLock<CommandRegistry> = LazyLock::new(CommandRegistry::standard);

/// Whether `data` follows JSON's grammar. `IgnoredAny` scans without converting, so a number
/// too large for an f64 (JSON sets no limit, and Gavel need not read the field) still counts.
fn is_json(data: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok()
}

pub fn discord_interaction(data: &[u8]) {
    let Ok(inbound) = discord::parse_interaction(data) else {
        return;
    };
    // Read leniently, but never anything that is not JSON.
    assert!(is_json(data), "accepted a body that is not JSON");
    if let DiscordInbound::Invocation(invocation) = inbound {
        assert_eq!(invocation.platform, Platform::Discord);
    }
}

pub fn slack_command(data: &[u8]) {
    let Ok(CommandParse::Invocation(invocation)) = slack::parse_command(data, &REGISTRY) else {
        return;
    };
    assert_eq!(invocation.platform, Platform::Slack);
    let Action::Command(call) = &invocation.action else {
        panic!("a slash command became {:?}", invocation.action);
    };
    // The registry is looked up by this name, so it must be the normalised one.
    assert!(!call.name.starts_with('/'), "{:?}", call.name);
    assert_eq!(call.name, call.name.to_ascii_lowercase());
    match REGISTRY.spec(&call.name) {
        Some(spec) => {
            for (name, _) in &call.options {
                assert!(
                    spec.options.iter().any(|o| o.name == name),
                    "/{} got an option it does not declare: {name}",
                    spec.name
                );
            }
        }
        None => assert!(call.options.is_empty(), "an unknown command kept options"),
    }
}

pub fn slack_interaction(data: &[u8]) {
    let Ok(interaction) = slack::parse_interaction(data) else {
        return;
    };
    if let SlackInteraction::Invocation(invocation) = interaction {
        assert_eq!(invocation.platform, Platform::Slack);
        assert!(
            matches!(
                invocation.action,
                Action::Component { .. } | Action::ModalSubmit { .. }
            ),
            "a click or submission became {:?}",
            invocation.action
        );
    }
}

pub fn slack_event(data: &[u8]) {
    let Ok(event) = slack::parse_event(data) else {
        return;
    };
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        // A `Value` cannot hold a number beyond an f64; the event is still JSON.
        assert!(is_json(data), "accepted an event that is not JSON");
        return;
    };
    match event {
        // The challenge is echoed back to Slack: it must be the body's, unchanged.
        SlackEvent::UrlVerification { challenge } => {
            assert_eq!(body["type"], "url_verification");
            assert_eq!(body["challenge"].as_str(), Some(challenge.as_str()));
        }
        // The event id is the idempotency key: never invented or altered.
        SlackEvent::Callback { event_id, .. } => {
            assert_eq!(body["type"], "event_callback");
            assert_eq!(body["event_id"].as_str(), event_id.as_deref());
        }
        SlackEvent::RateLimited => assert_eq!(body["type"], "app_rate_limited"),
        SlackEvent::Other { kind } => assert_eq!(body["type"].as_str(), Some(kind.as_str())),
    }
}
