//! The signature verifiers. Each input is used twice:
//! - as hostile headers and body (`signature\ntimestamp\nbody`): never a panic, and an
//!   acceptance only where an independent implementation (ed25519-compact, hmac-sha256) agrees
//!   the signature is good;
//! - as a body that is signed correctly, `offset` seconds from now: accepted exactly when inside
//!   the replay window, and refused once any one signature byte or body byte is changed.

use std::sync::LazyLock;

use ed25519_compact::{KeyPair, Noise, PublicKey, Seed, Signature};
use gavel_shared::verify::{DEFAULT_REPLAY_WINDOW_SECS, DiscordVerifier, Rejection, SlackVerifier};

use crate::control;

/// The documented test-only seed and secret (as in tests/support), and a fixed "now".
const SEED: [u8; 32] = [0x2a; 32];
const SLACK_SECRET: &str = "gavel-test-signing-secret";
const NOW: i64 = 1_764_000_000;
const WINDOW: i64 = DEFAULT_REPLAY_WINDOW_SECS;

static KEYS: LazyLock<KeyPair> = LazyLock::new(|| KeyPair::from_seed(Seed::new(SEED)));
static DISCORD: LazyLock<DiscordVerifier> = LazyLock::new(|| {
    DiscordVerifier::from_hex(&hex::encode(*KEYS.pk), WINDOW).expect("the test key is valid")
});
static SLACK: LazyLock<SlackVerifier> =
    LazyLock::new(|| SlackVerifier::new(SLACK_SECRET, WINDOW).expect("the secret is not empty"));

/// `signature\ntimestamp\nbody`, the headers as text the way the edge hands them over.
fn hostile_parts(data: &[u8]) -> (String, String, &[u8]) {
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let signature = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let timestamp = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    (signature, timestamp, parts.next().unwrap_or_default())
}

/// Seconds from now for a correctly signed request: about ±380 s, either side of the window.
fn offset_secs(ctl: u8) -> i64 {
    i64::from(ctl as i8) * 3
}

/// What a correctly signed request `offset` seconds from now must get.
fn expected_for(offset: i64) -> Result<(), Rejection> {
    if offset.abs() <= WINDOW {
        Ok(())
    } else {
        Err(Rejection::StaleTimestamp {
            skew_secs: -offset,
            window_secs: WINDOW,
        })
    }
}

/// What a changed signature or body must get: refused, for staleness if it is stale anyway.
fn expected_tampered(offset: i64) -> Result<(), Rejection> {
    expected_for(offset).and(Err(Rejection::BadSignature))
}

fn discord_sign(timestamp: &str, body: &[u8]) -> [u8; 64] {
    *KEYS
        .sk
        .sign([timestamp.as_bytes(), body].concat(), None::<Noise>)
}

pub fn discord(data: &[u8]) {
    let ([offset, pos, flip], rest) = control::<3>(data);

    let (signature, timestamp, body) = hostile_parts(rest);
    let verdict = DISCORD.verify(Some(&signature), Some(&timestamp), body, NOW);
    if verdict.is_ok() {
        let sig = hex::decode(&signature).expect("an accepted signature is hex");
        let sig = Signature::from_slice(&sig).expect("an accepted signature is 64 bytes");
        let message = [timestamp.as_bytes(), body].concat();
        assert!(
            PublicKey::new(*KEYS.pk).verify(message, &sig).is_ok(),
            "accepted a signature ed25519-compact refuses"
        );
    }
    assert_eq!(
        DISCORD.verify(None, Some(&timestamp), body, NOW),
        Err(Rejection::MissingHeader("x-signature-ed25519"))
    );

    signed_properties(
        [offset, pos, flip],
        rest,
        |timestamp, body| discord_sign(timestamp, body).to_vec(),
        |sig, timestamp, body| DISCORD.verify(Some(&hex::encode(sig)), Some(timestamp), body, NOW),
    );
}

fn slack_sign(timestamp: &str, body: &[u8]) -> [u8; 32] {
    let mut mac = hmac_sha256::HMAC::new(SLACK_SECRET.as_bytes());
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    mac.finalize()
}

pub fn slack(data: &[u8]) {
    let ([offset, pos, flip], rest) = control::<3>(data);

    let (signature, timestamp, body) = hostile_parts(rest);
    if SLACK
        .verify(Some(&signature), Some(&timestamp), body, NOW)
        .is_ok()
    {
        // HMAC has one right answer: hex digits may differ only in case.
        let expected = format!("v0={}", hex::encode(slack_sign(&timestamp, body)));
        assert_eq!(
            signature.to_ascii_lowercase(),
            expected,
            "accepted a wrong MAC"
        );
    }
    assert_eq!(
        SLACK.verify(Some(&signature), None, body, NOW),
        Err(Rejection::MissingHeader("x-slack-request-timestamp"))
    );

    signed_properties(
        [offset, pos, flip],
        rest,
        |timestamp, body| slack_sign(timestamp, body).to_vec(),
        |mac, timestamp, body| {
            let header = format!("v0={}", hex::encode(mac));
            SLACK.verify(Some(&header), Some(timestamp), body, NOW)
        },
    );
}

/// `body`, signed by `sign` `offset` seconds from now, is accepted by `verify` exactly inside
/// the replay window, and refused once one byte of its signature or of the body is changed.
fn signed_properties(
    [offset, pos, flip]: [u8; 3],
    body: &[u8],
    sign: impl Fn(&str, &[u8]) -> Vec<u8>,
    verify: impl Fn(&[u8], &str, &[u8]) -> Result<(), Rejection>,
) {
    let offset = offset_secs(offset);
    let timestamp = (NOW + offset).to_string();
    let good = sign(&timestamp, body);
    let at = usize::from(pos);
    let verdict = verify(&good, &timestamp, body);
    assert_eq!(verdict, expected_for(offset), "signed at {offset}");
    let mut bad = good.clone();
    bad[at % good.len()] ^= flip | 1;
    let verdict = verify(&bad, &timestamp, body);
    assert_eq!(verdict, expected_tampered(offset), "signature byte {at}");
    if !body.is_empty() {
        let mut tampered = body.to_vec();
        tampered[at % body.len()] ^= flip | 1;
        let verdict = verify(&good, &timestamp, &tampered);
        assert_eq!(verdict, expected_tampered(offset), "body byte {at}");
    }
}
