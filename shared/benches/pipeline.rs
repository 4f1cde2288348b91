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
//!
//! Signatures are made once, outside the timed loops, with a fixed key. No tracing subscriber is
//! installed, so log formatting and output are not part of these figures.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::{Signer, SigningKey};
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
const DISCORD_COMMAND_PING: &str = r#"{"app_permissions":"1099511630886","application_id":"100000000000000003","attachment_size_limit":10485760,"authorizing_integration_owners":{"0":"100000000000000001"},"channel":{"id":"100000000000000002","type":0},"channel_id":"100000000000000002","context":0,"data":{"id":"1324567890123456790","name":"ping","type":1},"entitlements":[],"guild_id":"100000000000000001","guild_locale":"en-US","id":"1324567890123456791","locale":"en-US","member":{"deaf":false,"flags":0,"joined_at":"2025-01-01T00:00:00.000000+00:00","mute":false,"permissions":"3072","roles":[],"user":{"avatar":null,"discriminator":"0","global_name":"Demo Member","id":"100000000000000010","username":"demo-member"}},"token":"local-1324567890123456792","type":2,"version":1}"#;

/// A `/ping` slash command as Slack posts it (form-encoded).
const SLACK_PING: &str = "token=local&team_id=T0GAVELDEV&team_domain=gavel-dev&channel_id=C0GAVELDEV&channel_name=general&user_id=U0GAVELDEV&user_name=demo-member&command=%2Fping&text=&api_app_id=A0GAVELDEV&response_url=http%3A%2F%2F127.0.0.1%3A9%2Fslack%2Fresponse-url-not-used-locally&trigger_id=1324567890123456793.local";

struct SignedDiscord {
    verifier: DiscordVerifier,
    edge: Edge,
    headers: HeaderMap,
    signature: String,
    timestamp: String,
    body: Vec<u8>,
}

fn signed_discord(body: &str) -> SignedDiscord {
    let key = SigningKey::from_bytes(&DISCORD_SEED);
    let timestamp = NOW_SECS.to_string();
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body.as_bytes());
    let signature = hex::encode(key.sign(&message).to_bytes());
    let public_key = hex::encode(key.verifying_key().to_bytes());

    let verifier = DiscordVerifier::from_hex(&public_key, DEFAULT_REPLAY_WINDOW_SECS)
        .expect("valid public key");
    let edge = Edge::new(
        Some(verifier.clone()),
        None,
        Arc::new(CommandRegistry::standard()),
        Arc::new(ManualClock::at_secs(NOW_SECS)),
    );
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
        verifier,
        edge,
        headers,
        signature,
        timestamp,
        body: body.as_bytes().to_vec(),
    }
}

/// Drives a future that completes without waiting on anything, as the edge does today (no store
/// or network calls yet). Panics if it ever parks, so the bench cannot silently measure nothing.
fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the edge awaited something; use a real runtime in this bench"),
    }
}

fn handle(edge: &Edge, route: Route, headers: &HeaderMap, body: &[u8]) -> EdgeResponse {
    run_ready(edge.handle(&Method::POST, route.path(), headers, body))
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

fn bench_discord(c: &mut Criterion, group_name: &str, body: &str, expect: &str) {
    let s = signed_discord(body);
    // Sanity checks, once, before timing: both sides must accept the request.
    s.verifier
        .verify(Some(&s.signature), Some(&s.timestamp), &s.body, NOW_SECS)
        .expect("the signed request verifies");
    let answer = handle(&s.edge, Route::DiscordInteractions, &s.headers, &s.body);
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert!(
        String::from_utf8_lossy(&answer.body).contains(expect),
        "unexpected answer {answer:?}"
    );

    let mut group = c.benchmark_group(group_name);
    group.bench_function("verify_only", |b| {
        b.iter(|| {
            s.verifier.verify(
                black_box(Some(s.signature.as_str())),
                black_box(Some(s.timestamp.as_str())),
                black_box(&s.body),
                black_box(NOW_SECS),
            )
        })
    });
    group.bench_function("pipeline", |b| {
        b.iter(|| {
            handle(
                &s.edge,
                Route::DiscordInteractions,
                black_box(&s.headers),
                black_box(&s.body),
            )
        })
    });
    group.finish();
}

fn discord_ping(c: &mut Criterion) {
    bench_discord(c, "discord_ping", DISCORD_PING, r#"{"type":1}"#);
}

fn discord_command_ping(c: &mut Criterion) {
    bench_discord(c, "discord_command_ping", DISCORD_COMMAND_PING, "Pong!");
}

fn slack_ping(c: &mut Criterion) {
    let timestamp = NOW_SECS.to_string();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SLACK_SECRET.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(SLACK_PING.as_bytes());
    let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));

    let verifier =
        SlackVerifier::new(SLACK_SECRET, DEFAULT_REPLAY_WINDOW_SECS).expect("non-empty secret");
    let edge = Edge::new(
        None,
        Some(verifier.clone()),
        Arc::new(CommandRegistry::standard()),
        Arc::new(ManualClock::at_secs(NOW_SECS)),
    );
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
    let body = SLACK_PING.as_bytes();

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
            },
            Err(_) => EdgeResponse {
                status: StatusCode::UNAUTHORIZED,
                content_type: None,
                body: Vec::new(),
            },
        };
        into_http(answer)
    };

    assert_eq!(bare(&headers, body).status(), StatusCode::OK);
    let answer = handle(&edge, Route::SlackCommands, &headers, body);
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert!(
        String::from_utf8_lossy(&answer.body).contains("Pong!"),
        "unexpected answer {answer:?}"
    );

    let mut group = c.benchmark_group("slack_ping");
    group.bench_function("hmac_plus_http", |b| {
        b.iter(|| bare(black_box(&headers), black_box(body)))
    });
    group.bench_function("pipeline", |b| {
        b.iter(|| {
            into_http(handle(
                &edge,
                Route::SlackCommands,
                black_box(&headers),
                black_box(body),
            ))
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Short by default: the machines this runs on are small and shared. Command-line flags
    // (`--warm-up-time`, `--measurement-time`) still override these.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = discord_ping, discord_command_ping, slack_ping
}
criterion_main!(benches);
