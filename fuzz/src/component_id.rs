//! Signed component ids (flows): what comes back in a click's `custom_id` / `action_id`.
//! - The input as a received id: never a panic, and an id accepted only in the exact form
//!   Gavel draws it (so a seed holding a real id proves the round trip).
//! - The input as the parts of an id Gavel draws: it decodes to the same parts for the same
//!   binding, and is refused for another user, as a shared id, or with one character changed.

use std::sync::LazyLock;

use gavel_shared::flows::component_id::{
    Binding, ComponentId, ComponentKey, IdError, MAX_ID_CHARS, MAX_NAME_CHARS, MAX_NONCE_CHARS,
    claimed_flow,
};
use gavel_shared::invocation::Platform;

use crate::control;

static KEY: LazyLock<ComponentKey> =
    LazyLock::new(|| ComponentKey::new(b"gavel fuzz component key").expect("long enough"));

const TENANT: &str = "1174109840998400000";

fn user(user: &str) -> Binding<'_> {
    Binding {
        platform: Platform::Discord,
        tenant: TENANT,
        user,
    }
}

/// The characters names and nonces may use.
const NAME_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/// A valid name of 1 to `max` characters taken from `bytes`, and what is left of them.
fn name(bytes: &[u8], len: u8, max: usize) -> (String, &[u8]) {
    let len = (usize::from(len) % max + 1).min(bytes.len().max(1));
    let (taken, rest) = bytes.split_at(len.min(bytes.len()));
    let mut name: String = taken
        .iter()
        .map(|b| char::from(NAME_CHARS[usize::from(*b) % NAME_CHARS.len()]))
        .collect();
    if name.is_empty() {
        name.push('a');
    }
    (name, rest)
}

pub fn component_id(data: &[u8]) {
    let received = String::from_utf8_lossy(data);
    let _ = claimed_flow(&received);
    for binding in [user("U1"), Binding::shared(Platform::Slack, TENANT)] {
        if let Ok(id) = KEY.decode(&received, binding) {
            assert_eq!(
                KEY.encode(&id, binding),
                received,
                "accepted a non-canonical id"
            );
        }
    }

    let (
        [
            v0,
            v1,
            v2,
            v3,
            v4,
            v5,
            v6,
            v7,
            flow_len,
            nonce_len,
            pos,
            flip,
        ],
        rest,
    ) = control::<12>(data);
    let (flow, rest) = name(rest, flow_len, MAX_NAME_CHARS);
    let (nonce, rest) = name(rest, nonce_len, MAX_NONCE_CHARS);
    let (event, _) = name(rest, u8::MAX, MAX_NAME_CHARS);
    let id = ComponentId {
        flow,
        nonce,
        version: u64::from_le_bytes([v0, v1, v2, v3, v4, v5, v6, v7]),
        event,
    };
    let drawn = KEY.encode(&id, user("U1"));
    assert!(
        drawn.len() <= MAX_ID_CHARS,
        "{drawn} is too long for Discord"
    );
    assert_eq!(claimed_flow(&drawn), Some(id.flow.as_str()));
    assert_eq!(KEY.decode(&drawn, user("U1")), Ok(id.clone()));
    assert_eq!(KEY.decode(&drawn, user("U2")), Err(IdError::Forged));
    assert_eq!(
        KEY.decode(&drawn, Binding::shared(Platform::Discord, TENANT)),
        Err(IdError::Forged)
    );
    let mut edited = drawn.clone().into_bytes();
    let at = usize::from(pos) % edited.len();
    let choices = b"Aa0_-:g";
    let mut with = choices[usize::from(flip) % choices.len()];
    if with == edited[at] {
        with = choices[(usize::from(flip) + 1) % choices.len()];
    }
    edited[at] = with;
    let edited = String::from_utf8(edited).expect("ASCII stays ASCII");
    assert!(
        KEY.decode(&edited, user("U1")).is_err(),
        "{drawn} edited at {at} to {edited} still decodes"
    );
}
