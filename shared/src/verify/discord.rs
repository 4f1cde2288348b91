//! Discord's request signature: Ed25519 over timestamp and body with the app's public key.

use ed25519_dalek::{Signature, VerifyingKey};

use super::{KeyError, Rejection, check_timestamp};

pub const SIGNATURE_HEADER: &str = "x-signature-ed25519";
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";

/// Verifies Discord's Ed25519 signature over `timestamp ‖ body` with the application public key.
#[derive(Clone, Debug)]
pub struct DiscordVerifier {
    key: VerifyingKey,
    window_secs: i64,
}

impl DiscordVerifier {
    /// Builds a verifier from the application's public key as shown in the developer portal (hex).
    pub fn from_hex(public_key_hex: &str, window_secs: i64) -> Result<Self, KeyError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(public_key_hex.trim(), &mut bytes)
            .map_err(|_| KeyError::DiscordKeyFormat)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::DiscordKeyInvalid)?;
        Ok(Self { key, window_secs })
    }

    pub fn verify(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &[u8],
        now_secs: i64,
    ) -> Result<(), Rejection> {
        let signature = signature.ok_or(Rejection::MissingHeader(SIGNATURE_HEADER))?;
        let timestamp = timestamp.ok_or(Rejection::MissingHeader(TIMESTAMP_HEADER))?;
        let mut sig = [0u8; 64];
        hex::decode_to_slice(signature, &mut sig)
            .map_err(|_| Rejection::MalformedHeader(SIGNATURE_HEADER))?;
        check_timestamp(timestamp, TIMESTAMP_HEADER, now_secs, self.window_secs)?;

        let mut message = Vec::with_capacity(timestamp.len() + body.len());
        message.extend_from_slice(timestamp.as_bytes());
        message.extend_from_slice(body);
        // verify_strict also rejects small-order keys and non-canonical signatures, which
        // Discord never produces; accepting them would only widen what a forger can try.
        self.key
            .verify_strict(&message, &Signature::from_bytes(&sig))
            .map_err(|_| Rejection::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::DEFAULT_REPLAY_WINDOW_SECS;
    use crate::verify::testing::{
        GARBAGE_TIMESTAMPS, NOW, SEED, assert_configured_window_honoured, assert_stale_both_ways,
        assert_window_edges_accepted, public_key_hex, sign_discord,
    };

    const BODY: &[u8] = br#"{"type":1,"id":"1","token":"t"}"#;

    fn verifier_with_window(window_secs: i64) -> DiscordVerifier {
        DiscordVerifier::from_hex(&public_key_hex(SEED), window_secs).unwrap()
    }

    fn check(
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &[u8],
    ) -> Result<(), Rejection> {
        verifier_with_window(DEFAULT_REPLAY_WINDOW_SECS).verify(signature, timestamp, body, NOW)
    }

    /// A request correctly signed `offset` seconds from now, checked at now with a
    /// `window_secs` replay window.
    fn signed_at(window_secs: i64, offset: i64) -> Result<(), Rejection> {
        let ts = (NOW + offset).to_string();
        verifier_with_window(window_secs).verify(
            Some(&sign_discord(SEED, &ts, BODY)),
            Some(&ts),
            BODY,
            NOW,
        )
    }

    #[test]
    fn accepts_a_signature_from_the_matching_key() {
        let ts = NOW.to_string();
        assert_eq!(
            check(Some(&sign_discord(SEED, &ts, BODY)), Some(&ts), BODY),
            Ok(())
        );
    }

    #[test]
    fn missing_headers_are_named() {
        let ts = NOW.to_string();
        let sig = sign_discord(SEED, &ts, BODY);
        assert_eq!(
            check(None, Some(&ts), BODY),
            Err(Rejection::MissingHeader(SIGNATURE_HEADER))
        );
        assert_eq!(
            check(Some(&sig), None, BODY),
            Err(Rejection::MissingHeader(TIMESTAMP_HEADER))
        );
    }

    #[test]
    fn signatures_that_are_not_64_bytes_of_hex_are_malformed() {
        let ts = NOW.to_string();
        let sig = sign_discord(SEED, &ts, BODY);
        let not_hex = format!("{}zz", &sig[..126]);
        let cases = [
            "zz".repeat(64),
            not_hex,
            sig[..126].to_owned(),
            format!("{sig}00"),
            format!("{sig}0"),
            String::new(),
            format!("0x{}", &sig[2..]),
        ];
        for signature in cases {
            assert_eq!(
                check(Some(&signature), Some(&ts), BODY),
                Err(Rejection::MalformedHeader(SIGNATURE_HEADER)),
                "{signature:?}"
            );
        }
    }

    #[test]
    fn garbage_timestamps_are_malformed() {
        for ts in GARBAGE_TIMESTAMPS {
            let sig = sign_discord(SEED, ts, BODY);
            assert_eq!(
                check(Some(&sig), Some(ts), BODY),
                Err(Rejection::MalformedHeader(TIMESTAMP_HEADER)),
                "{ts:?}"
            );
        }
    }

    #[test]
    fn a_signature_from_another_key_is_refused() {
        let ts = NOW.to_string();
        let mut other = SEED;
        other[7] ^= 0x01;
        assert_eq!(
            check(Some(&sign_discord(other, &ts, BODY)), Some(&ts), BODY),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn a_tampered_body_or_swapped_timestamp_is_refused() {
        let ts = NOW.to_string();
        let sig = sign_discord(SEED, &ts, BODY);
        let mut tampered = BODY.to_vec();
        tampered[9] = b'2';
        assert_eq!(
            check(Some(&sig), Some(&ts), &tampered),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            check(Some(&sig), Some(&ts), b""),
            Err(Rejection::BadSignature)
        );
        let other_ts = (NOW - 1).to_string();
        assert_eq!(
            check(Some(&sig), Some(&other_ts), BODY),
            Err(Rejection::BadSignature)
        );
        // One changed signature character is enough.
        let mut flipped = sig.into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            check(Some(&flipped), Some(&ts), BODY),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn timestamps_too_old_or_too_far_ahead_are_stale_even_when_signed() {
        assert_stale_both_ways(signed_at);
    }

    #[test]
    fn the_exact_window_edges_are_accepted() {
        assert_window_edges_accepted(signed_at);
    }

    #[test]
    fn a_configured_window_is_honoured() {
        assert_configured_window_honoured(signed_at);
    }

    #[test]
    fn public_keys_must_be_32_bytes_of_hex_on_the_curve() {
        assert!(DiscordVerifier::from_hex(&format!(" {}\n", public_key_hex(SEED)), 300).is_ok());
        for bad in [
            "",
            "abc",
            &"ab".repeat(31),
            &"ab".repeat(33),
            &"zz".repeat(32),
        ] {
            assert_eq!(
                DiscordVerifier::from_hex(bad, 300).unwrap_err(),
                KeyError::DiscordKeyFormat,
                "{bad:?}"
            );
        }
        // y = 2 has no x on edwards25519.
        let off_curve = format!("02{}", "00".repeat(31));
        assert_eq!(
            DiscordVerifier::from_hex(&off_curve, 300).unwrap_err(),
            KeyError::DiscordKeyInvalid
        );
    }
}
