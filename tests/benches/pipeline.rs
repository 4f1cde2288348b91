//! CPU cost of the verified pipeline against the bare signature check on the same request.
//!
//! Every group pairs a baseline with `pipeline`, measured in the same run, so that the figure
//! that matters is the ratio (this runs on shared, noisy machines): `scripts/bench-ratios.sh`
//! runs this bench and prints `pipeline / baseline` per group.
//!
//! - `discord_ping`: Ed25519 verification alone vs `Edge::handle` for a signed PING.
//! - `discord_command_ping`: the same for a full `/ping` APPLICATION_COMMAND interaction.
//! - `slack_ping`: HMAC check plus building an `http::Response` vs `Edge::handle` for `/ping`,
//!   also turned into an `http::Response` so both sides end with the same artefact.
//! - `slack_message_event`: a Slack `message` event through AutoMod's check vs `/ping` through
//!   the same pipeline.
//!
//! Every request carries a fresh interaction or trigger id, signed outside the timed part
//! (criterion's `iter_batched`), because the pipeline claims each id in the store before acting
//! and a repeated id would measure the "already handled" path instead. The store is the embedded
//! adapter in memory: the claim's cost is the adapter's, without a disk's or a network's. No
//! tracing subscriber is installed, so log formatting and output are not part of these figures.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ed25519_dalek::{Signer, SigningKey};
use gavel_shared::adapters::embedded::EmbeddedStore;
use gavel_shared::clock::ManualClock;
use gavel_shared::commands::CommandRegistry;
use gavel_shared::edge::{Edge, EdgeResponse, Route};
use gavel_shared::verify::{
    DEFAULT_REPLAY_WINDOW_SECS, DiscordVerifier, SlackVerifier, discord_headers, slack_headers,
};
use hmac::{Hmac, KeyInit, Mac};
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use sha2::Sha256;

/// 2026-01-01T00:00:00Z: the signing timestamp, and the pinned clock's time.
const NOW_SECS: i64 = 1_767_225_600;
const DISCORD_SEED: [u8; 32] = [7; 32];
const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

/// The PING Discord sends when the endpoint URL is saved (and to health-check it).
const DISCORD_PING: &str = r#"{"application_id":"100000000000000003","id":"1324567890123456789","token":"local","type":1,"version":1}"#;

/// A `/ping` from a member, shaped like the real thing (and like `gavel`'s payload builder, which
/// lives in gavel-cli and so cannot be used from gavel-shared's own benches without linking a
/// second copy of this crate).
const DISCORD_COMMAND_PING: &str = r#"{"app_permissions":"1099511630886","application_id":"100000000000000003","attachment_size_limit":10485760,"authorizing_integration_owners":{"0":"100000000000000001"},"channel":{"id":"100000000000000002","type":0},"channel_id":"100000000000000002","context":0,"data":{"id":"1324567890123456790","name":"ping","type":1},"entitlements":[],"guild_id":"100000000000000001","guild_locale":"en-US","id":"{ID}","locale":"en-US","member":{"deaf":false,"flags":0,"joined_at":"2025-01-01T00:00:00.000000+00:00","mute":false,"permissions":"3072","roles":[],"user":{"avatar":null,"discriminator":"0","global_name":"Demo Member","id":"100000000000000010","username":"demo-member"}},"token":"local-1324567890123456792","type":2,"version":1}"#;

/// A `/ping` slash command as Slack posts it (form-encoded).
const SLACK_PING: &str = "token=local&team_id=T0GAVELDEV&team_domain=gavel-dev&channel_id=C0GAVELDEV&channel_name=general&user_id=U0GAVELDEV&user_name=demo-member&command=%2Fping&text=&api_app_id=A0GAVELDEV&response_url=http%3A%2F%2F127.0.0.1%3A9%2Fslack%2Fresponse-url-not-used-locally&trigger_id={ID}.local";

/// A member's message in a channel, as the Events API delivers it. `{ID}` is the event id and
/// the `ts` (the pipeline claims both) and the author (AutoMod's flood and repeat counters are
/// per member, so one author would trip them and measure the catch, not the check).
const SLACK_MESSAGE: &str = r#"{"token":"local","team_id":"T0GAVELDEV","api_app_id":"A0GAVELDEV","type":"event_callback","event_id":"Ev{ID}","event_time":1767225600,"authorizations":[{"enterprise_id":null,"team_id":"T0GAVELDEV","user_id":"U0GAVELBOT","is_bot":true,"is_enterprise_install":false}],"event":{"type":"message","channel":"C0GAVELDEV","user":"U{ID}","text":"Anyone up for chess tonight? I can host the board at https://lichess.org/ and bring snacks","ts":"1767225600.{ID}","event_ts":"1767225600.{ID}","channel_type":"channel"}}"#;

/// A fresh id per request, as the platforms send.
fn fresh_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1_324_567_890_123_456_791);
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}

fn with_fresh_id(template: &str) -> String {
    template.replace("{ID}", &fresh_id())
}

/// An edge over an in-memory embedded store, on a clock pinned to the signing time.
fn edge(discord: Option<DiscordVerifier>, slack: Option<SlackVerifier>) -> Edge {
    let clock = Arc::new(ManualClock::at_secs(NOW_SECS));
    let store = EmbeddedStore::in_memory(clock.clone()).expect("in-memory store");
    Edge::new(
        discord,
        slack,
        Arc::new(CommandRegistry::standard()),
        clock,
        Arc::new(store),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

struct SignedDiscord {
    signature: String,
    timestamp: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn sign_discord(body: &str) -> SignedDiscord {
    let key = SigningKey::from_bytes(&DISCORD_SEED);
    let timestamp = NOW_SECS.to_string();
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body.as_bytes());
    let signature = hex::encode(key.sign(&message).to_bytes());
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        discord_headers::SIGNATURE,
        HeaderValue::from_str(&signature).expect("hex"),
    );
    headers.insert(
        discord_headers::TIMESTAMP,
        HeaderValue::from_str(&timestamp).expect("digits"),
    );
    SignedDiscord {
        signature,
        timestamp,
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn discord_verifier() -> DiscordVerifier {
    let public_key = hex::encode(
        SigningKey::from_bytes(&DISCORD_SEED)
            .verifying_key()
            .to_bytes(),
    );
    DiscordVerifier::from_hex(&public_key, DEFAULT_REPLAY_WINDOW_SECS).expect("valid public key")
}

fn handle(
    rt: &tokio::runtime::Runtime,
    edge: &Edge,
    route: Route,
    headers: &HeaderMap,
    body: &[u8],
) -> EdgeResponse {
    rt.block_on(edge.handle(&Method::POST, route.path(), headers, body))
}

/// What a transport does with the edge's answer (as `gavel serve` and the Lambda adapter do).
fn into_http(answer: EdgeResponse) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(answer.body);
    *response.status_mut() = answer.status;
    if let Some(content_type) = answer.content_type {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    response
}

fn bench_discord(c: &mut Criterion, group_name: &str, template: &str, expect: &str) {
    let rt = runtime();
    let verifier = discord_verifier();
    let edge = edge(Some(verifier.clone()), None);
    // Sanity checks, once, before timing: both sides must accept the request.
    let s = sign_discord(&with_fresh_id(template));
    verifier
        .verify(Some(&s.signature), Some(&s.timestamp), &s.body, NOW_SECS)
        .expect("the signed request verifies");
    let answer = handle(&rt, &edge, Route::DiscordInteractions, &s.headers, &s.body);
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert!(
        String::from_utf8_lossy(&answer.body).contains(expect),
        "unexpected answer {answer:?}"
    );

    let mut group = c.benchmark_group(group_name);
    group.bench_function("verify_only", |b| {
        b.iter_batched(
            || sign_discord(&with_fresh_id(template)),
            |s| {
                verifier.verify(
                    black_box(Some(s.signature.as_str())),
                    black_box(Some(s.timestamp.as_str())),
                    black_box(&s.body),
                    black_box(NOW_SECS),
                )
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("pipeline", |b| {
        b.iter_batched(
            || sign_discord(&with_fresh_id(template)),
            |s| {
                handle(
                    &rt,
                    &edge,
                    Route::DiscordInteractions,
                    black_box(&s.headers),
                    black_box(&s.body),
                )
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn discord_ping(c: &mut Criterion) {
    bench_discord(c, "discord_ping", DISCORD_PING, r#"{"type":1}"#);
}

fn discord_command_ping(c: &mut Criterion) {
    bench_discord(c, "discord_command_ping", DISCORD_COMMAND_PING, "Pong!");
}

fn sign_slack(body: &str) -> (HeaderMap, Vec<u8>) {
    let timestamp = NOW_SECS.to_string();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SLACK_SECRET.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body.as_bytes());
    let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(
        slack_headers::SIGNATURE,
        HeaderValue::from_str(&signature).expect("ascii"),
    );
    headers.insert(
        slack_headers::TIMESTAMP,
        HeaderValue::from_str(&timestamp).expect("digits"),
    );
    (headers, body.as_bytes().to_vec())
}

/// `Edge::handle` on requests `signed` outside the timed part, each with fresh ids.
fn bench_edge(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    rt: &tokio::runtime::Runtime,
    edge: &Edge,
    route: Route,
    signed: impl Fn() -> (HeaderMap, Vec<u8>),
) {
    group.bench_function(name, |b| {
        b.iter_batched(
            &signed,
            |(headers, body)| {
                into_http(handle(
                    rt,
                    edge,
                    route,
                    black_box(&headers),
                    black_box(&body),
                ))
            },
            BatchSize::SmallInput,
        )
    });
}

fn slack_ping(c: &mut Criterion) {
    let rt = runtime();
    let verifier =
        SlackVerifier::new(SLACK_SECRET, DEFAULT_REPLAY_WINDOW_SECS).expect("non-empty secret");
    let edge = edge(None, Some(verifier.clone()));

    // The baseline: read the two headers, check the HMAC, answer with a small JSON body.
    let bare = |headers: &HeaderMap, body: &[u8]| -> http::Response<Vec<u8>> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let answer = match verifier.verify(
            header(slack_headers::SIGNATURE),
            header(slack_headers::TIMESTAMP),
            body,
            NOW_SECS,
        ) {
            Ok(()) => EdgeResponse {
                status: StatusCode::OK,
                content_type: Some("application/json"),
                body: br#"{"response_type":"ephemeral","text":"Pong!"}"#.to_vec(),
                store_round_trips: 0,
            },
            Err(_) => EdgeResponse {
                status: StatusCode::UNAUTHORIZED,
                content_type: None,
                body: Vec::new(),
                store_round_trips: 0,
            },
        };
        into_http(answer)
    };

    let (headers, body) = sign_slack(&with_fresh_id(SLACK_PING));
    assert_eq!(bare(&headers, &body).status(), StatusCode::OK);
    let answer = handle(&rt, &edge, Route::SlackCommands, &headers, &body);
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert!(
        String::from_utf8_lossy(&answer.body).contains("Pong!"),
        "unexpected answer {answer:?}"
    );

    let mut group = c.benchmark_group("slack_ping");
    group.bench_function("hmac_plus_http", |b| {
        b.iter_batched(
            || sign_slack(&with_fresh_id(SLACK_PING)),
            |(headers, body)| bare(black_box(&headers), black_box(&body)),
            BatchSize::SmallInput,
        )
    });
    bench_edge(
        &mut group,
        "pipeline",
        &rt,
        &edge,
        Route::SlackCommands,
        || sign_slack(&with_fresh_id(SLACK_PING)),
    );
    group.finish();
}

/// Slack's `url_verification`: verified, parsed and answered with no store call, so this group
/// shows the Slack pipeline's own overhead over the bare check; `/ping` adds the id claim.
fn slack_url_verification(c: &mut Criterion) {
    let rt = runtime();
    let verifier =
        SlackVerifier::new(SLACK_SECRET, DEFAULT_REPLAY_WINDOW_SECS).expect("non-empty secret");
    let edge = edge(None, Some(verifier.clone()));
    let challenge = r#"{"token":"local","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let (mut headers, body) = sign_slack(challenge);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let bare = |headers: &HeaderMap, body: &[u8]| -> http::Response<Vec<u8>> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let ok = verifier
            .verify(
                header(slack_headers::SIGNATURE),
                header(slack_headers::TIMESTAMP),
                body,
                NOW_SECS,
            )
            .is_ok();
        into_http(EdgeResponse {
            status: if ok {
                StatusCode::OK
            } else {
                StatusCode::UNAUTHORIZED
            },
            content_type: Some("application/json"),
            body: br#"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#
                .to_vec(),
            store_round_trips: 0,
        })
    };
    let answer = handle(&rt, &edge, Route::SlackEvents, &headers, &body);
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer.store_round_trips, 0, "no store call on this path");
    assert_eq!(answer.body, bare(&headers, &body).into_body());

    let mut group = c.benchmark_group("slack_url_verification");
    group.bench_function("hmac_plus_http", |b| {
        b.iter(|| bare(black_box(&headers), black_box(&body)))
    });
    group.bench_function("pipeline", |b| {
        b.iter(|| {
            into_http(handle(
                &rt,
                &edge,
                Route::SlackEvents,
                black_box(&headers),
                black_box(&body),
            ))
        })
    });
    group.finish();
}

/// A Slack `message` event (AutoMod's check on every message: the engine inline, the event and
/// message claims and the flood and repeat counters in one store transaction) beside `/ping`
/// through the same pipeline (its claim and rate-limit buckets in one transaction). The
/// issue's target is at most one store transaction more than `/ping`; it is asserted here on
/// the store's round trips, and the time ratio is what the engine and the larger transaction
/// cost on top.
fn slack_message_event(c: &mut Criterion) {
    let rt = runtime();
    let verifier =
        SlackVerifier::new(SLACK_SECRET, DEFAULT_REPLAY_WINDOW_SECS).expect("non-empty secret");
    let edge = edge(None, Some(verifier));
    let signed_message = || {
        let (mut headers, body) = sign_slack(&with_fresh_id(SLACK_MESSAGE));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        (headers, body)
    };

    let (headers, body) = sign_slack(&with_fresh_id(SLACK_PING));
    let ping = handle(&rt, &edge, Route::SlackCommands, &headers, &body);
    assert_eq!(ping.status, StatusCode::OK, "{ping:?}");
    let (headers, body) = signed_message();
    let message = handle(&rt, &edge, Route::SlackEvents, &headers, &body);
    assert_eq!(message.status, StatusCode::OK, "{message:?}");
    assert!(
        message.store_round_trips <= ping.store_round_trips + 1,
        "a message event took {} store round trips, /ping {}: the target is at most one more",
        message.store_round_trips,
        ping.store_round_trips
    );

    let mut group = c.benchmark_group("slack_message_event");
    bench_edge(
        &mut group,
        "slack_ping",
        &rt,
        &edge,
        Route::SlackCommands,
        || sign_slack(&with_fresh_id(SLACK_PING)),
    );
    bench_edge(
        &mut group,
        "pipeline",
        &rt,
        &edge,
        Route::SlackEvents,
        signed_message,
    );
    group.finish();
}

criterion_group! {
    name = benches;
    // Short by default: the machines this runs on are small and shared. Command-line flags
    // (`--warm-up-time`, `--measurement-time`) still override these.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = discord_ping, discord_command_ping, slack_ping, slack_url_verification, slack_message_event
}
criterion_main!(benches);
