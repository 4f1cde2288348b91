//! Exactly-once handling at the edge: repeated and concurrent deliveries of the same Discord
//! interaction or Slack event have one effect, retries are acknowledged without reprocessing,
//! the acknowledgement path stays within its store round-trip budget, and a store outage loses
//! nothing (Slack is asked to retry).

use std::sync::Arc;

use ed25519_compact::{KeyPair, Seed};
use gavel_shared::adapters::embedded::EmbeddedStore;
use gavel_shared::clock::{Clock, ManualClock};
use gavel_shared::commands::CommandRegistry;
use gavel_shared::config::{EdgeSettings, Serves};
use gavel_shared::edge::{Edge, EdgeResponse};
use gavel_shared::idempotency::Claims;
use gavel_shared::invocation::Platform;
use gavel_shared::reminders::Reminders;
use gavel_shared::store::{Store, StoreError};
use gavel_tests::faulty::{FailOn, Faulty};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};

const NOW: i64 = 1_800_000_000;
const SLACK_SECRET: &str = "edge-claims-test-secret";

struct Fixture {
    edge: Arc<Edge>,
    store: Arc<dyn Store>,
    keys: KeyPair,
}

fn fixture_with(store: Arc<dyn Store>) -> Fixture {
    let keys = KeyPair::from_seed(Seed::new([9; 32]));
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at_secs(NOW));
    let settings = EdgeSettings {
        discord_public_key: Some(hex::encode(keys.pk.as_ref())),
        slack_signing_secret: Some(SLACK_SECRET.to_owned()),
        replay_window_secs: None,
        component_secret: Some("a component secret for tests only".to_owned()),
        slack_moderators: Vec::new(),
        telegram_webhook_secret: None,
        telegram_bot_username: None,
    };
    let edge = settings
        .build_edge(
            Serves::Both,
            Arc::new(CommandRegistry::standard()),
            clock,
            Arc::clone(&store),
        )
        .expect("edge");
    Fixture {
        edge: Arc::new(edge),
        store,
        keys,
    }
}

fn fixture() -> Fixture {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at_secs(NOW));
    fixture_with(Arc::new(EmbeddedStore::in_memory(clock).expect("store")))
}

const GUILD: &str = "100000000000000001";
const MEMBER: &str = "100000000000000010";

fn discord_command(id: &str, name: &str, options: Value) -> Vec<u8> {
    json!({
        "type": 2, "id": id, "application_id": "100000000000000003", "token": "t", "version": 1,
        "guild_id": GUILD, "channel_id": "100000000000000002",
        "member": {
            "user": {"id": MEMBER, "username": "m", "discriminator": "0", "avatar": null},
            "roles": [], "permissions": "3072", "joined_at": null, "deaf": false, "mute": false, "flags": 0
        },
        "entitlements": [], "authorizing_integration_owners": {}, "attachment_size_limit": 1,
        "data": {"id": "100000000000000004", "name": name, "type": 1, "options": options}
    })
    .to_string()
    .into_bytes()
}

/// `/ping`: a command whose whole effect is its answer.
fn discord_ping_command(id: &str) -> Vec<u8> {
    discord_command(id, "ping", json!([]))
}

/// `/remind in 10m stretch`: a command with an effect (a stored reminder and its wake-up).
fn discord_remind_command(id: &str) -> Vec<u8> {
    discord_command(
        id,
        "remind",
        json!([
            {"name": "action", "type": 3, "value": "in"},
            {"name": "duration", "type": 3, "value": "10m"},
            {"name": "text", "type": 3, "value": "stretch"}
        ]),
    )
}

async fn reminders_of_the_member(f: &Fixture) -> usize {
    Reminders::new(f.store.as_ref(), Platform::Discord, GUILD)
        .pending(MEMBER)
        .await
        .expect("reminders")
        .len()
}

impl Fixture {
    async fn discord(&self, body: &[u8]) -> EdgeResponse {
        let ts = NOW.to_string();
        let mut message = ts.as_bytes().to_vec();
        message.extend_from_slice(body);
        let signature = self.keys.sk.sign(&message, None);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-signature-ed25519",
            HeaderValue::from_str(&hex::encode(signature.as_ref())).unwrap(),
        );
        headers.insert("x-signature-timestamp", HeaderValue::from_str(&ts).unwrap());
        self.edge
            .handle(&Method::POST, "/discord/interactions", &headers, body)
            .await
    }

    async fn slack_event(&self, body: &[u8], retry: Option<&str>) -> EdgeResponse {
        let ts = NOW.to_string();
        let mut signed = format!("v0:{ts}:").into_bytes();
        signed.extend_from_slice(body);
        let mac = hmac_sha256::HMAC::mac(&signed, SLACK_SECRET.as_bytes());
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-slack-signature",
            HeaderValue::from_str(&format!("v0={}", hex::encode(mac))).unwrap(),
        );
        headers.insert(
            "x-slack-request-timestamp",
            HeaderValue::from_str(&ts).unwrap(),
        );
        if let Some(retry) = retry {
            headers.insert("x-slack-retry-num", HeaderValue::from_str(retry).unwrap());
            headers.insert(
                "x-slack-retry-reason",
                HeaderValue::from_static("http_timeout"),
            );
        }
        self.edge
            .handle(&Method::POST, "/slack/events", &headers, body)
            .await
    }
}

fn content(response: &EdgeResponse) -> String {
    let json: Value = serde_json::from_slice(&response.body).expect("JSON reply");
    json["data"]["content"]
        .as_str()
        .expect("content")
        .to_owned()
}

fn slack_message_event(event_id: &str) -> Vec<u8> {
    json!({
        "token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": event_id, "event_time": NOW,
        "event": {"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "1.2"}
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn a_repeated_discord_interaction_has_one_effect() {
    let f = fixture();
    let body = discord_remind_command("200000000000000001");
    let first = f.discord(&body).await;
    assert_eq!(first.status, 200);
    assert!(
        content(&first).starts_with("⏰ Reminder 1 set"),
        "{}",
        content(&first)
    );

    let second = f.discord(&body).await;
    assert_eq!(second.status, 200);
    assert!(
        content(&second).contains("already handled"),
        "{}",
        content(&second)
    );
    assert_eq!(
        second.store_round_trips, 1,
        "overrides cached: the admission transaction alone, refused on its claim"
    );
    assert_eq!(reminders_of_the_member(&f).await, 1, "one reminder");

    let claim = f
        .store
        .get(&Claims::key("discord:interaction", "200000000000000001"))
        .await
        .unwrap()
        .expect("the claim is stored");
    assert_eq!(claim.version, 1, "claimed once");
    assert_eq!(
        claim.expires_at,
        Some(NOW + 15 * 60),
        "claims expire after the token's life"
    );
}

/// `/ping` only answers: a repeat of it is answered again, and it costs no claim.
#[tokio::test]
async fn a_repeated_read_only_command_is_answered_again_without_a_claim() {
    let f = fixture();
    let body = discord_ping_command("200000000000000006");
    let first = f.discord(&body).await;
    assert!(content(&first).starts_with("Pong!"), "{}", content(&first));
    assert_eq!(
        first.store_round_trips, 2,
        "the tenant's rate-limit overrides (read once per instance), then the buckets' transaction"
    );
    let second = f.discord(&body).await;
    assert!(
        content(&second).starts_with("Pong!"),
        "{}",
        content(&second)
    );
    assert_eq!(
        second.store_round_trips, 1,
        "overrides cached: the buckets' transaction"
    );
    assert_eq!(
        f.store
            .get(&Claims::key("discord:interaction", "200000000000000006"))
            .await
            .unwrap(),
        None,
        "no claim"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_of_one_interaction_run_it_once() {
    let f = fixture();
    let body = Arc::new(discord_remind_command("200000000000000002"));
    let f = Arc::new(f);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (f, body) = (Arc::clone(&f), Arc::clone(&body));
        tasks.push(tokio::spawn(
            async move { content(&f.discord(&body).await) },
        ));
    }
    let mut ran = 0;
    let mut repeats = 0;
    for task in tasks {
        let text = task.await.unwrap();
        if text.starts_with("⏰ Reminder") {
            ran += 1;
        } else if text.contains("already handled") {
            repeats += 1;
        } else {
            panic!("unexpected reply {text}");
        }
    }
    assert_eq!((ran, repeats), (1, 19));
    assert_eq!(reminders_of_the_member(&f).await, 1, "one reminder");
}

#[tokio::test]
async fn distinct_interactions_are_not_confused() {
    let f = fixture();
    for id in ["200000000000000003", "200000000000000004"] {
        let reply = f.discord(&discord_ping_command(id)).await;
        assert!(content(&reply).starts_with("Pong!"));
    }
}

#[tokio::test]
async fn slack_retries_of_a_handled_event_are_acknowledged_without_reprocessing() {
    let f = fixture();
    let body = slack_message_event("Ev0001");
    let first = f.slack_event(&body, None).await;
    assert_eq!((first.status.as_u16(), first.body.len()), (200, 0));
    for retry in ["1", "2", "3"] {
        let again = f.slack_event(&body, Some(retry)).await;
        assert_eq!(again.status, 200, "retries are acknowledged so Slack stops");
        assert_eq!(again.store_round_trips, 1, "one failed claim, nothing else");
    }
    let claim = f
        .store
        .get(&Claims::key("slack:event", "Ev0001"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claim.version, 1, "the event was claimed once");
    assert_eq!(claim.data, json!({"claimed_at": NOW}));
}

#[tokio::test]
async fn url_verification_needs_no_store() {
    let f = fixture();
    let body = json!({"type": "url_verification", "challenge": "abc", "token": "x"}).to_string();
    let answer = f.slack_event(body.as_bytes(), None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&answer.body).unwrap(),
        json!({"challenge": "abc"})
    );
    assert_eq!(answer.store_round_trips, 0);
}

/// A store whose backend is down: every call fails as DynamoDB's adapter reports throttling or
/// an unreachable endpoint after its retries.
fn unavailable_store() -> Faulty {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at_secs(NOW));
    Faulty::failing(
        Arc::new(EmbeddedStore::in_memory(clock).expect("store")),
        FailOn::everything(),
        StoreError::Unavailable("throttled".to_owned()),
    )
}

#[tokio::test]
async fn a_store_outage_runs_nothing_and_asks_slack_to_retry() {
    let f = fixture_with(Arc::new(unavailable_store()));
    let discord = f.discord(&discord_ping_command("200000000000000005")).await;
    assert_eq!(
        discord.status, 200,
        "Discord shows the user a message rather than an error"
    );
    assert!(
        content(&discord).contains("could not reach its storage"),
        "{}",
        content(&discord)
    );
    let slack = f.slack_event(&slack_message_event("Ev0002"), None).await;
    assert_eq!(
        slack.status, 503,
        "Slack retries a 5xx later, so the event is not lost"
    );
}
