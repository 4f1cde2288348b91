//! Component ids: what Gavel puts in a button's `custom_id` (Discord) or `action_id` (Slack),
//! and in a modal's `custom_id` / `callback_id`, so that a click or a submission finds its way
//! back to the flow that drew it.
//!
//! `g1:{flow}:{nonce}:{version}:{event}:{mac}`, at most 86 characters (Discord allows 100):
//! - `flow` names the state machine, `event` the transition the component asks for;
//! - `nonce` names one run of the flow (a restarted flow gets a new one, so old buttons cannot
//!   act on the new run), `version` the state version the component was drawn for (a second
//!   click on a handled button finds the version moved);
//! - `mac` is a truncated HMAC-SHA256 over all of that plus the platform, tenant and user the id
//!   was drawn for, under a deployment secret. An edited or forged id, or one replayed by
//!   another user or in another community, fails the check and is never executed. Ids of a
//!   shared flow (one any moderator may click) are bound to the platform and tenant only
//!   ([`Binding::shared`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::invocation::Platform;

const PREFIX: &str = "g1";
/// 12 bytes of MAC (96 bits): forging one by guessing is out of reach, and it keeps ids short.
const MAC_BYTES: usize = 12;
pub const MAX_NAME_CHARS: usize = 16;
pub const MAX_NONCE_CHARS: usize = 12;

/// Discord's limit on `custom_id`, the tighter of the two platforms.
pub const MAX_ID_CHARS: usize = 100;

/// Telegram's limit on a button's `callback_data`, in bytes. Ids there travel in the compact
/// form ([`compact`]), at most 62 bytes.
pub const MAX_COMPACT_BYTES: usize = 64;
/// Characters of a flow's code in the compact form.
const FLOW_CODE_CHARS: usize = 3;
/// Characters of the MAC in either form (12 bytes in unpadded base64).
const MAC_CHARS: usize = 16;

/// The decoded parts of a component id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentId {
    pub flow: String,
    pub nonce: String,
    pub version: u64,
    pub event: String,
}

/// Who an id was drawn for; part of the MAC, not of the id.
#[derive(Clone, Copy, Debug)]
pub struct Binding<'a> {
    pub platform: Platform,
    pub tenant: &'a str,
    pub user: &'a str,
}

/// What stands in for the user in a shared id's MAC. No Discord or Slack user id contains `*`,
/// so a shared id never verifies as anyone's personal id, nor a personal id as a shared one.
const ANY_MEMBER: &str = "*";

impl<'a> Binding<'a> {
    /// Anyone in `tenant` on `platform`: for shared flows, whose steps check who clicked.
    pub fn shared(platform: Platform, tenant: &'a str) -> Self {
        Self {
            platform,
            tenant,
            user: ANY_MEMBER,
        }
    }
}

/// The flow an id names, read before its MAC is checked, only to choose the binding to check
/// it with: an edited name fails the check all the same.
pub fn claimed_flow(raw: &str) -> Option<&str> {
    raw.strip_prefix("g1:")?.split(':').next()
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not one of ours: another app's component, or an id from before flows existed.
    #[error("not a Gavel component id")]
    Foreign,
    #[error("malformed component id")]
    Malformed,
    /// Well-formed, but the MAC does not match: edited, forged, or drawn for someone else.
    #[error("component id failed its integrity check")]
    Forged,
}

/// The deployment's secret for component ids. Every instance must share it (it comes from the
/// environment), or ids drawn by one instance would be refused by another.
#[derive(Clone)]
pub struct ComponentKey {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for ComponentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ComponentKey(<redacted>)")
    }
}

impl ComponentKey {
    /// At least 16 bytes of secret; shorter keys are refused.
    pub fn new(secret: &[u8]) -> Result<Self, String> {
        if secret.len() < 16 {
            return Err(format!(
                "the component id secret must be at least 16 bytes, got {}",
                secret.len()
            ));
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| e.to_string())?;
        Ok(Self { mac })
    }

    /// A fresh random key, for a single process (tests, one-off tools).
    pub fn random() -> Self {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the operating system's random source is available");
        Self::new(&secret).expect("32 bytes is long enough")
    }

    /// Encodes `id` for `binding`. Panics only on names the code itself chose badly (checked by
    /// the flows' own tests), never on request data.
    pub fn encode(&self, id: &ComponentId, binding: Binding<'_>) -> String {
        debug_assert!(valid_name(&id.flow, MAX_NAME_CHARS), "flow {:?}", id.flow);
        debug_assert!(
            valid_name(&id.event, MAX_NAME_CHARS),
            "event {:?}",
            id.event
        );
        debug_assert!(
            valid_name(&id.nonce, MAX_NONCE_CHARS),
            "nonce {:?}",
            id.nonce
        );
        let body = format!(
            "{PREFIX}:{}:{}:{}:{}",
            id.flow, id.nonce, id.version, id.event
        );
        let tag = self.tag(&body, binding);
        format!("{body}:{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Decodes and checks an id received in a click or submission by `binding`'s user.
    pub fn decode(&self, raw: &str, binding: Binding<'_>) -> Result<ComponentId, IdError> {
        let Some(rest) = raw.strip_prefix("g1:") else {
            return Err(IdError::Foreign);
        };
        if raw.len() > MAX_ID_CHARS {
            return Err(IdError::Malformed);
        }
        let parts: Vec<&str> = rest.split(':').collect();
        let [flow, nonce, version, event, mac] = parts[..] else {
            return Err(IdError::Malformed);
        };
        if !valid_name(flow, MAX_NAME_CHARS)
            || !valid_name(event, MAX_NAME_CHARS)
            || !valid_name(nonce, MAX_NONCE_CHARS)
            || version.is_empty()
            || !version.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(IdError::Malformed);
        }
        let version: u64 = version.parse().map_err(|_| IdError::Malformed)?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| IdError::Malformed)?;
        if mac.len() != MAC_BYTES {
            return Err(IdError::Malformed);
        }
        let body = &raw[..raw.len() - raw.rsplit(':').next().map_or(0, |m| m.len() + 1)];
        let mut check = self.mac.clone();
        feed(&mut check, body, binding);
        // Constant-time comparison of the truncated tag.
        check
            .verify_truncated_left(&mac)
            .map_err(|_| IdError::Forged)?;
        Ok(ComponentId {
            flow: flow.to_owned(),
            nonce: nonce.to_owned(),
            version,
            event: event.to_owned(),
        })
    }

    fn tag(&self, body: &str, binding: Binding<'_>) -> [u8; MAC_BYTES] {
        let mut mac = self.mac.clone();
        feed(&mut mac, body, binding);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; MAC_BYTES];
        tag.copy_from_slice(&full[..MAC_BYTES]);
        tag
    }
}

/// Length-prefixed fields, so no two different bindings feed the same bytes.
fn feed(mac: &mut Hmac<Sha256>, body: &str, binding: Binding<'_>) {
    for part in [
        body,
        binding.platform.as_str(),
        binding.tenant,
        binding.user,
    ] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
}

/// The compact form of a full id `raw`, for Telegram's 64-byte `callback_data`: the same id
/// and the same MAC, spelt shorter. `{code}{mac}{nonce}.{version}.{event}`: the flow's name
/// becomes a 3-character code ([`flow_code`]), the version base 36; nothing in it is `:`, so
/// it is never taken for a full id. [`expand`] gives back exactly `raw`, so the MAC is checked
/// by [`ComponentKey::decode`] as for any id, and the guarantees are the same: bound to the
/// platform, chat and user, forgeries refused before any store access. `None` if `raw` is not
/// a well-formed full id.
pub fn compact(raw: &str) -> Option<String> {
    let parts: Vec<&str> = raw.strip_prefix("g1:")?.split(':').collect();
    let [flow, nonce, version, event, mac] = parts[..] else {
        return None;
    };
    let version: u64 = version.parse().ok()?;
    if mac.len() != MAC_CHARS {
        return None;
    }
    Some(format!(
        "{}{mac}{nonce}.{}.{event}",
        flow_code(flow),
        base36(version)
    ))
}

/// The full id a compact one stands for, given the names of the flows that may have drawn it
/// (the engine's registered flows). `None` for anything else: another bot's data, a flow this
/// deployment no longer has, or text that is not a compact id.
pub fn expand<'n>(data: &str, flows: impl IntoIterator<Item = &'n str>) -> Option<String> {
    if data.len() > MAX_COMPACT_BYTES || !data.is_ascii() {
        return None;
    }
    let (code, rest) = data.split_at_checked(FLOW_CODE_CHARS)?;
    let (mac, rest) = rest.split_at_checked(MAC_CHARS)?;
    let mut parts = rest.split('.');
    let (nonce, version, event) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !valid_name(mac, MAC_CHARS) {
        return None;
    }
    let version = from_base36(version)?;
    let flow = flows.into_iter().find(|name| flow_code(name) == code)?;
    Some(format!("{PREFIX}:{flow}:{nonce}:{version}:{event}:{mac}"))
}

/// A flow's code in compact ids: 18 bits of SHA-256 of its name, in base64. The engine refuses
/// to register two flows with one code.
pub fn flow_code(flow: &str) -> String {
    use sha2::Digest;
    let digest = Sha256::digest(flow.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..3])[..FLOW_CODE_CHARS].to_owned()
}

const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

fn base36(mut n: u64) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(BASE36[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// Canonical base 36 only (no leading zeros, no upper case), so one id has one compact form.
fn from_base36(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && (text == "0" || !text.starts_with('0'))
        && text.bytes().all(|b| BASE36.contains(&b));
    if !canonical {
        return None;
    }
    u64::from_str_radix(text, 36).ok()
}

/// Names and nonces: 1 to `max` characters of `[A-Za-z0-9_-]`, so `:` can separate them.
pub fn valid_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key() -> ComponentKey {
        ComponentKey::new(b"a test secret of enough length").unwrap()
    }

    fn bind<'a>(user: &'a str) -> Binding<'a> {
        Binding {
            platform: Platform::Discord,
            tenant: "1174109840998400000",
            user,
        }
    }

    fn sample() -> ComponentId {
        ComponentId {
            flow: "confirm".into(),
            nonce: "Ab3_-x9Q".into(),
            version: 7,
            event: "yes".into(),
        }
    }

    fn longest() -> ComponentId {
        ComponentId {
            flow: "f".repeat(MAX_NAME_CHARS),
            nonce: "n".repeat(MAX_NONCE_CHARS),
            version: u64::MAX,
            event: "e".repeat(MAX_NAME_CHARS),
        }
    }

    #[test]
    fn the_compact_form_fits_telegram_and_keeps_the_mac() {
        let id = longest();
        let raw = key().encode(&id, bind("u1"));
        let data = compact(&raw).unwrap();
        assert!(
            data.len() <= MAX_COMPACT_BYTES,
            "{} bytes: {data}",
            data.len()
        );
        let back = expand(&data, [id.flow.as_str()]).unwrap();
        assert_eq!(back, raw);
        assert_eq!(key().decode(&back, bind("u1")), Ok(id.clone()));
        // Another user's click on the same data, or an edited byte, fails the MAC.
        assert_eq!(key().decode(&back, bind("u2")), Err(IdError::Forged));
        let mut edited = data.clone().into_bytes();
        edited[FLOW_CODE_CHARS] = if edited[FLOW_CODE_CHARS] == b'A' {
            b'B'
        } else {
            b'A'
        };
        let edited = expand(
            std::str::from_utf8(&edited).unwrap(),
            ["f".repeat(16).as_str()],
        );
        assert_eq!(
            key().decode(&edited.unwrap(), bind("u1")),
            Err(IdError::Forged)
        );
        // Unknown flows, foreign data and non-canonical versions expand to nothing.
        assert_eq!(expand(&data, ["other"]), None);
        assert_eq!(expand("hello", [id.flow.as_str()]), None);
        let padded = data.replacen(".3w5e11264sgsf.", ".03w5e11264sgsf.", 1);
        assert_ne!(padded, data);
        assert_eq!(expand(&padded, [id.flow.as_str()]), None);
    }

    #[test]
    fn round_trips_and_fits_discords_limit_at_the_longest() {
        let id = sample();
        let raw = key().encode(&id, bind("u1"));
        assert_eq!(key().decode(&raw, bind("u1")), Ok(id));
        let longest = ComponentId {
            flow: "f".repeat(MAX_NAME_CHARS),
            nonce: "n".repeat(MAX_NONCE_CHARS),
            version: u64::MAX,
            event: "e".repeat(MAX_NAME_CHARS),
        };
        let raw = key().encode(&longest, bind("u1"));
        assert!(raw.len() <= MAX_ID_CHARS, "{} chars: {raw}", raw.len());
        assert_eq!(key().decode(&raw, bind("u1")), Ok(longest));
    }

    #[test]
    fn another_user_tenant_platform_or_key_is_refused() {
        let raw = key().encode(&sample(), bind("u1"));
        assert_eq!(key().decode(&raw, bind("u2")), Err(IdError::Forged));
        let other_tenant = Binding {
            tenant: "other",
            ..bind("u1")
        };
        assert_eq!(key().decode(&raw, other_tenant), Err(IdError::Forged));
        let slack = Binding {
            platform: Platform::Slack,
            ..bind("u1")
        };
        assert_eq!(key().decode(&raw, slack), Err(IdError::Forged));
        let other_key = ComponentKey::new(b"another secret, also long enough").unwrap();
        assert_eq!(other_key.decode(&raw, bind("u1")), Err(IdError::Forged));
    }

    #[test]
    fn editing_the_version_or_event_is_detected() {
        let raw = key().encode(&sample(), bind("u1"));
        for (from, to) in [(":7:", ":8:"), (":yes:", ":no:"), (":confirm:", ":report:")] {
            let edited = raw.replacen(from, to, 1);
            assert_ne!(edited, raw);
            assert_eq!(
                key().decode(&edited, bind("u1")),
                Err(IdError::Forged),
                "{edited}"
            );
        }
    }

    #[test]
    fn foreign_and_malformed_ids_are_told_apart() {
        assert_eq!(
            key().decode("confirm_ban", bind("u")),
            Err(IdError::Foreign)
        );
        assert_eq!(key().decode("", bind("u")), Err(IdError::Foreign));
        for bad in [
            "g1:",
            "g1:a:b:c:d:e",
            "g1:a:b:1:d",
            "g1:a:b:1:d:e:f",
            "g1:a:b:-1:d:AAAAAAAAAAAAAAAA",
            "g1:a b:n:1:d:AAAAAAAAAAAAAAAA",
            "g1:a:n:1:d:AAAA",
            "g1:a:n:99999999999999999999999:d:AAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(
                key().decode(bad, bind("u")),
                Err(IdError::Malformed),
                "{bad}"
            );
        }
        let long = format!("g1:{}", "a".repeat(200));
        assert_eq!(key().decode(&long, bind("u")), Err(IdError::Malformed));
    }

    #[test]
    fn shared_ids_are_bound_to_the_tenant_not_a_user() {
        let shared = Binding::shared(Platform::Discord, "1174109840998400000");
        let raw = key().encode(&sample(), shared);
        assert_eq!(key().decode(&raw, shared), Ok(sample()));
        // Neither a shared id as a personal one nor the reverse, nor in another tenant.
        assert_eq!(key().decode(&raw, bind("u1")), Err(IdError::Forged));
        let personal = key().encode(&sample(), bind("u1"));
        assert_eq!(key().decode(&personal, shared), Err(IdError::Forged));
        let elsewhere = Binding::shared(Platform::Discord, "other");
        assert_eq!(key().decode(&raw, elsewhere), Err(IdError::Forged));
        assert_eq!(claimed_flow(&raw), Some("confirm"));
        assert_eq!(claimed_flow("confirm_ban"), None);
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(ComponentKey::new(b"short").is_err());
    }

    proptest! {
        /// Every id Gavel can draw fits Telegram's `callback_data` and comes back unchanged.
        #[test]
        fn every_compact_id_fits_and_round_trips(
            flow in "[A-Za-z0-9_-]{1,16}",
            nonce in "[A-Za-z0-9_-]{1,12}",
            version in any::<u64>(),
            event in "[A-Za-z0-9_-]{1,16}",
            user in "[0-9]{1,16}",
        ) {
            let id = ComponentId { flow: flow.clone(), nonce, version, event };
            let binding = Binding { platform: Platform::Telegram, tenant: "-1001234567890", user: &user };
            let raw = key().encode(&id, binding);
            let data = compact(&raw).unwrap();
            prop_assert!(data.len() <= MAX_COMPACT_BYTES, "{} bytes", data.len());
            let back = expand(&data, [flow.as_str()]).unwrap();
            prop_assert_eq!(&back, &raw);
            prop_assert_eq!(key().decode(&back, binding), Ok(id));
        }

        #[test]
        fn decoding_arbitrary_text_never_panics_and_never_accepts_unsigned_ids(raw in "\\PC{0,120}") {
            let result = key().decode(&raw, bind("u1"));
            prop_assert!(result.is_err());
        }

        #[test]
        fn any_single_character_change_is_refused(pos in 0usize..60, ch in "[a-zA-Z0-9:_-]") {
            let raw = key().encode(&sample(), bind("u1"));
            let pos = pos % raw.len();
            let mut edited: Vec<char> = raw.chars().collect();
            let replacement = ch.chars().next().unwrap();
            prop_assume!(edited[pos] != replacement);
            edited[pos] = replacement;
            let edited: String = edited.into_iter().collect();
            prop_assert!(key().decode(&edited, bind("u1")).is_err(), "{}", edited);
        }
    }
}
