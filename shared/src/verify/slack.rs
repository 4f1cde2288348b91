//! Slack's request signature: `v0=` HMAC-SHA256 with the signing secret.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{KeyError, Rejection, check_timestamp};

pub const SIGNATURE_HEADER: &str = "x-slack-signature";
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";

/// Verifies Slack's `v0=` HMAC-SHA256 signature over `v0:{timestamp}:{body}`.
///
/// slack-morphism ships a verifier too, but it reads the system clock and wants the body as
/// UTF-8 text; this one takes the time from our clock port (so the window is testable) and
/// works on raw bytes. The comparison is `Mac::verify_slice`, which is constant-time.
#[derive(Clone)]
pub struct SlackVerifier {
    mac: Hmac<Sha256>,
    window_secs: i64,
}

impl std::fmt::Debug for SlackVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the keyed state.
        f.debug_struct("SlackVerifier")
            .field("window_secs", &self.window_secs)
            .finish_non_exhaustive()
    }
}

impl SlackVerifier {
    pub fn new(signing_secret: &str, window_secs: i64) -> Result<Self, KeyError> {
        if signing_secret.is_empty() {
            return Err(KeyError::SlackSecretEmpty);
        }
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(signing_secret.as_bytes())
            .map_err(|_| KeyError::SlackSecretEmpty)?;
        Ok(Self { mac, window_secs })
    }

    /// How far a timestamp may be from now.
    pub fn window_secs(&self) -> i64 {
        self.window_secs
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
        let hex_digest = signature
            .strip_prefix("v0=")
            .ok_or(Rejection::MalformedHeader(SIGNATURE_HEADER))?;
        let mut expected = [0u8; 32];
        hex::decode_to_slice(hex_digest, &mut expected)
            .map_err(|_| Rejection::MalformedHeader(SIGNATURE_HEADER))?;
        check_timestamp(timestamp, TIMESTAMP_HEADER, now_secs, self.window_secs)?;

        let mut mac = self.mac.clone();
        mac.update(b"v0:");
        mac.update(timestamp.as_bytes());
        mac.update(b":");
        mac.update(body);
        mac.verify_slice(&expected)
            .map_err(|_| Rejection::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::DEFAULT_REPLAY_WINDOW_SECS;
    use crate::verify::testing::{
        GARBAGE_TIMESTAMPS, NOW, SLACK_SECRET, assert_configured_window_honoured,
        assert_stale_both_ways, assert_window_edges_accepted, sign_slack,
    };

    const BODY: &[u8] = b"token=x&team_id=T1&command=%2Fping&text=";

    fn verifier_with_window(window_secs: i64) -> SlackVerifier {
        SlackVerifier::new(SLACK_SECRET, window_secs).unwrap()
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
            Some(&sign_slack(SLACK_SECRET, &ts, BODY)),
            Some(&ts),
            BODY,
            NOW,
        )
    }

    #[test]
    fn accepts_a_signature_made_with_the_secret() {
        let ts = NOW.to_string();
        assert_eq!(
            check(Some(&sign_slack(SLACK_SECRET, &ts, BODY)), Some(&ts), BODY),
            Ok(())
        );
        // Raw bytes, not text: a body that is not UTF-8 verifies too.
        let binary = [0xff, 0xfe, 0x00, 0x80];
        assert_eq!(
            check(
                Some(&sign_slack(SLACK_SECRET, &ts, &binary)),
                Some(&ts),
                &binary
            ),
            Ok(())
        );
    }

    #[test]
    fn missing_headers_are_named() {
        let ts = NOW.to_string();
        let sig = sign_slack(SLACK_SECRET, &ts, BODY);
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
    fn a_signature_without_the_v0_prefix_is_malformed() {
        let ts = NOW.to_string();
        let sig = sign_slack(SLACK_SECRET, &ts, BODY);
        let digest = &sig[3..];
        for signature in [
            digest.to_owned(),
            format!("v1={digest}"),
            format!("V0={digest}"),
            format!("v0:{digest}"),
            format!(" {sig}"),
        ] {
            assert_eq!(
                check(Some(&signature), Some(&ts), BODY),
                Err(Rejection::MalformedHeader(SIGNATURE_HEADER)),
                "{signature:?}"
            );
        }
    }

    #[test]
    fn digests_that_are_not_32_bytes_of_hex_are_malformed() {
        let ts = NOW.to_string();
        let sig = sign_slack(SLACK_SECRET, &ts, BODY);
        for signature in [
            format!("v0={}", "zz".repeat(32)),
            sig[..sig.len() - 2].to_owned(),
            format!("{sig}00"),
            format!("{sig}0"),
            "v0=".to_owned(),
        ] {
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
            let sig = sign_slack(SLACK_SECRET, ts, BODY);
            assert_eq!(
                check(Some(&sig), Some(ts), BODY),
                Err(Rejection::MalformedHeader(TIMESTAMP_HEADER)),
                "{ts:?}"
            );
        }
    }

    #[test]
    fn a_signature_made_with_another_secret_is_refused() {
        let ts = NOW.to_string();
        for secret in [
            "gavel-test-signing-secreT",
            "gavel-test-signing-secret ",
            "x",
        ] {
            assert_eq!(
                check(Some(&sign_slack(secret, &ts, BODY)), Some(&ts), BODY),
                Err(Rejection::BadSignature),
                "{secret:?}"
            );
        }
    }

    #[test]
    fn a_tampered_body_or_swapped_timestamp_is_refused() {
        let ts = NOW.to_string();
        let sig = sign_slack(SLACK_SECRET, &ts, BODY);
        assert_eq!(
            check(
                Some(&sig),
                Some(&ts),
                b"token=x&team_id=T2&command=%2Fping&text="
            ),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            check(Some(&sig), Some(&ts), b""),
            Err(Rejection::BadSignature)
        );
        let other_ts = (NOW + 1).to_string();
        assert_eq!(
            check(Some(&sig), Some(&other_ts), BODY),
            Err(Rejection::BadSignature)
        );
        let mut flipped = sig.into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
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
    fn an_empty_secret_is_refused_and_never_printed() {
        assert_eq!(
            SlackVerifier::new("", 300).unwrap_err(),
            KeyError::SlackSecretEmpty
        );
        let printed = format!("{:?}", verifier_with_window(300));
        assert!(!printed.contains(SLACK_SECRET), "{printed}");
    }
}
