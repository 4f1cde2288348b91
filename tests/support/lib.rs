//! Helpers for Gavel's integration tests.
//!
//! Everything here signs and checks requests with libraries that are independent of the ones
//! Gavel verifies with (ed25519-compact instead of ed25519-dalek, hmac-sha256 instead of
//! hmac + sha2), so a test that passes shows Gavel interoperates with a second implementation of
//! each platform's scheme, not merely that it agrees with itself.
//!
//! The credentials below are TEST-ONLY and public on purpose: they sign the `events/` fixtures
//! and protect nothing.

pub mod child;
pub mod doubles;
pub mod events;
pub mod fault_proxy;
pub mod faulty;
pub mod harness;
pub mod moto;
pub mod payloads;
pub mod records;
pub mod relay;
pub mod requests;
pub mod runtime_api;

use std::path::PathBuf;
use std::sync::Arc;

use gavel_shared::adapters::embedded::EmbeddedStore;

use base64::Engine;
use ed25519_compact::{KeyPair, Noise, PublicKey, Seed, Signature};
use gavel_shared::clock::ManualClock;
use gavel_shared::commands::CommandRegistry;
use gavel_shared::config::{EdgeSettings, Serves};
use gavel_shared::edge::Edge;
use gavel_shared::verify::{discord_headers, slack_headers};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue};

/// The Ed25519 seed standing in for Discord's private key in tests: 32 bytes of 0x2a.
pub const DISCORD_TEST_SEED: [u8; 32] = [0x2a; 32];

/// The signing secret standing in for a Slack app's in tests.
pub const SLACK_TEST_SIGNING_SECRET: &str = "gavel-test-signing-secret";

/// The time every fixture is signed at, and the time the in-process tests' clock is pinned to
/// (2025-11-24T16:00:00Z).
pub const FIXTURE_TIMESTAMP: i64 = 1_764_000_000;

/// The key pair derived from [`DISCORD_TEST_SEED`].
pub fn discord_test_keypair() -> KeyPair {
    KeyPair::from_seed(Seed::new(DISCORD_TEST_SEED))
}

/// The public key (hex) matching [`DISCORD_TEST_SEED`]: what `DISCORD_PUBLIC_KEY` holds in tests.
pub fn discord_test_public_key_hex() -> String {
    hex::encode(*discord_test_keypair().pk)
}

/// Settings that verify with the test credentials.
pub fn test_settings() -> EdgeSettings {
    EdgeSettings {
        discord_public_key: Some(discord_test_public_key_hex()),
        slack_signing_secret: Some(SLACK_TEST_SIGNING_SECRET.to_owned()),
        replay_window_secs: None,
        component_secret: Some("a component secret for tests only".to_owned()),
        slack_moderators: vec!["U0GAVELMOD".to_owned()],
        telegram_webhook_secret: Some(TELEGRAM_TEST_SECRET.to_owned()),
        telegram_bot_username: Some(TELEGRAM_TEST_BOT.to_owned()),
    }
}

/// What `X-Telegram-Bot-Api-Secret-Token` carries in tests.
pub const TELEGRAM_TEST_SECRET: &str = "gavel_telegram-test_secret_0123456789";
/// The test bot's username (`/warn@GavelTestBot`).
pub const TELEGRAM_TEST_BOT: &str = "GavelTestBot";

/// The edge with the standard commands, verifying with the test credentials, on a clock pinned to
/// [`FIXTURE_TIMESTAMP`], over a fresh in-memory embedded store.
pub fn test_edge(serves: Serves) -> Edge {
    edge_with(&test_settings(), serves)
}

/// Like [`test_edge`], with other settings (a replay window, say).
pub fn edge_with(settings: &EdgeSettings, serves: Serves) -> Edge {
    let clock = Arc::new(ManualClock::at_secs(FIXTURE_TIMESTAMP));
    settings
        .build_edge(
            serves,
            Arc::new(CommandRegistry::standard()),
            clock.clone(),
            in_memory_store(clock),
        )
        .expect("the settings make a valid edge")
}

/// A fresh in-memory embedded store on `clock`.
pub fn in_memory_store(clock: Arc<ManualClock>) -> Arc<dyn gavel_shared::store::Store> {
    Arc::new(EmbeddedStore::in_memory(clock).expect("an in-memory store"))
}

/// Hex Ed25519 signature over `timestamp ‖ body` with the given seed, the way Discord signs.
pub fn discord_signature_with(seed: [u8; 32], timestamp: &str, body: &[u8]) -> String {
    let keypair = KeyPair::from_seed(Seed::new(seed));
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body);
    // No noise: plain RFC 8032 signatures, deterministic, so regenerated fixtures are stable.
    let signature = keypair.sk.sign(&message, None::<Noise>);
    hex::encode(*signature)
}

/// Hex Ed25519 signature with the test seed.
pub fn discord_signature(timestamp: &str, body: &[u8]) -> String {
    discord_signature_with(DISCORD_TEST_SEED, timestamp, body)
}

/// `v0=` + hex HMAC-SHA256(secret, `v0:{timestamp}:{body}`), the way Slack signs.
pub fn slack_signature_with(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = hmac_sha256::HMAC::new(secret.as_bytes());
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize()))
}

/// Slack signature with the test signing secret.
pub fn slack_signature(timestamp: &str, body: &[u8]) -> String {
    slack_signature_with(SLACK_TEST_SIGNING_SECRET, timestamp, body)
}

/// Whether a Discord signature verifies under the test public key (independent implementation).
pub fn discord_signature_verifies(signature_hex: &str, timestamp: &str, body: &[u8]) -> bool {
    let Ok(bytes) = hex::decode(signature_hex) else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(&bytes) else {
        return false;
    };
    let public_key = PublicKey::new(*discord_test_keypair().pk);
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body);
    public_key.verify(&message, &signature).is_ok()
}

/// Whether a Slack signature verifies under the test signing secret (independent implementation).
pub fn slack_signature_verifies(signature: &str, timestamp: &str, body: &[u8]) -> bool {
    let Some(Ok(expected)) = signature.strip_prefix("v0=").map(hex::decode) else {
        return false;
    };
    let Ok(expected) = <[u8; 32]>::try_from(expected) else {
        return false;
    };
    let mut mac = hmac_sha256::HMAC::new(SLACK_TEST_SIGNING_SECRET.as_bytes());
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    mac.finalize_verify(&expected)
}

/// The headers Discord sends with a signed interaction.
pub fn discord_signed_headers(timestamp: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".to_owned()),
        (
            discord_headers::SIGNATURE,
            discord_signature(timestamp, body),
        ),
        (discord_headers::TIMESTAMP, timestamp.to_owned()),
    ]
}

/// The headers Slack sends with a signed request of the given content type.
pub fn slack_signed_headers(
    content_type: &str,
    timestamp: &str,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", content_type.to_owned()),
        (slack_headers::SIGNATURE, slack_signature(timestamp, body)),
        (slack_headers::TIMESTAMP, timestamp.to_owned()),
    ]
}

/// Builds a header map; panics on names or values `http` refuses (test inputs are chosen valid).
pub fn header_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("valid header name"),
            HeaderValue::from_str(value).expect("valid header value"),
        );
    }
    map
}

/// The repository's `events/` folder.
pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits inside the workspace")
        .join("events")
}

/// Reads `events/{name}` as the HTTP API event Lambda receives.
pub fn load_event(name: &str) -> ApiGatewayV2httpRequest {
    let path = events_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not an HTTP API event: {e}", path.display()))
}

/// The body bytes Gavel verifies: the event body, base64-decoded where the event says so.
pub fn event_body(event: &ApiGatewayV2httpRequest) -> Vec<u8> {
    let body = event.body.as_deref().unwrap_or_default();
    if event.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("a fixture marked base64 holds valid base64")
    } else {
        body.as_bytes().to_vec()
    }
}

/// A header of an event, as text.
pub fn event_header<'e>(event: &'e ApiGatewayV2httpRequest, name: &str) -> Option<&'e str> {
    event.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Runs each named case (`async fn case(setup)`) on both store adapters: as
/// `embedded_store::case` with `embedded()` and as `dynamodb_store::case` with `dynamodb().await`
/// (moto), both functions of the calling test file.
#[macro_export]
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod embedded_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::embedded()).await;
                }
            )*
        }
        mod dynamodb_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::dynamodb().await).await;
                }
            )*
        }
    };
}
