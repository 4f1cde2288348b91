//! Request verification for every platform (Telegram's is a shared secret, not a signature). Runs before anything parses the body.
//!
//! Both verifiers take the raw (already base64-decoded) body bytes, the two header values as
//! received, and the current time in seconds, and answer `Ok(())` or the reason for a 401. The
//! reasons are for logs; every one of them becomes the same 401 answer, so a caller learns nothing.

mod discord;
mod slack;
mod telegram;

pub use discord::DiscordVerifier;
pub use slack::SlackVerifier;
pub use telegram::TelegramVerifier;

/// Discord's header names, lower-case as HTTP/2 and API Gateway deliver them.
pub mod discord_headers {
    pub const SIGNATURE: &str = super::discord::SIGNATURE_HEADER;
    pub const TIMESTAMP: &str = super::discord::TIMESTAMP_HEADER;
}

/// Slack's header names, lower-case.
pub mod slack_headers {
    pub const SIGNATURE: &str = super::slack::SIGNATURE_HEADER;
    pub const TIMESTAMP: &str = super::slack::TIMESTAMP_HEADER;
    /// Set on Slack's retries of an Events API delivery.
    pub const RETRY_NUM: &str = "x-slack-retry-num";
}

/// Telegram's header name, lower-case.
pub mod telegram_headers {
    pub const SECRET: &str = super::telegram::SECRET_HEADER;
}

/// How far a request timestamp may be from now, either way, by default (both platforms).
pub const DEFAULT_REPLAY_WINDOW_SECS: i64 = 300;

/// Why a request was not accepted as signed by the platform.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("malformed header {0}")]
    MalformedHeader(&'static str),
    #[error("timestamp {skew_secs}s away from now, outside the {window_secs}s replay window")]
    StaleTimestamp { skew_secs: i64, window_secs: i64 },
    #[error("signature does not match")]
    BadSignature,
}

/// A verifier could not be built from its configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the Discord public key must be 64 hex characters (32 bytes)")]
    DiscordKeyFormat,
    #[error("the Discord public key is not a valid Ed25519 point")]
    DiscordKeyInvalid,
    #[error("the Slack signing secret is empty")]
    SlackSecretEmpty,
    #[error("the Telegram webhook secret must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -")]
    TelegramSecretFormat,
}

/// Parses a Unix-seconds timestamp header and checks it against the replay window.
fn check_timestamp(
    raw: &str,
    header: &'static str,
    now_secs: i64,
    window_secs: i64,
) -> Result<(), Rejection> {
    // Platforms send plain decimal seconds; reject signs, spaces and fractions outright.
    if raw.is_empty() || raw.len() > 12 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::MalformedHeader(header));
    }
    let ts: i64 = raw
        .parse()
        .map_err(|_| Rejection::MalformedHeader(header))?;
    let skew_secs = now_secs.saturating_sub(ts);
    if skew_secs.abs() > window_secs {
        return Err(Rejection::StaleTimestamp {
            skew_secs,
            window_secs,
        });
    }
    Ok(())
}

/// Signers for the verifier tests, built on libraries other than the ones the verifiers use
/// (ed25519-compact, hmac-sha256), so a passing test means two implementations agree.
#[cfg(test)]
pub(crate) mod testing {
    use ed25519_compact::{KeyPair, Noise, Seed};

    use super::Rejection;

    /// The documented test-only seed (32 bytes of 0x2a), also used for the events/ fixtures.
    pub const SEED: [u8; 32] = [0x2a; 32];
    pub const SLACK_SECRET: &str = "gavel-test-signing-secret";
    pub const NOW: i64 = 1_764_000_000;

    pub fn public_key_hex(seed: [u8; 32]) -> String {
        hex::encode(*KeyPair::from_seed(Seed::new(seed)).pk)
    }

    pub fn sign_discord(seed: [u8; 32], timestamp: &str, body: &[u8]) -> String {
        let mut message = timestamp.as_bytes().to_vec();
        message.extend_from_slice(body);
        let keypair = KeyPair::from_seed(Seed::new(seed));
        hex::encode(*keypair.sk.sign(&message, None::<Noise>))
    }

    pub fn sign_slack(secret: &str, timestamp: &str, body: &[u8]) -> String {
        let mut mac = hmac_sha256::HMAC::new(secret.as_bytes());
        mac.update(format!("v0:{timestamp}:").as_bytes());
        mac.update(body);
        format!("v0={}", hex::encode(mac.finalize()))
    }

    /// The replay-window properties both verifiers must have. `signed_at(window_secs, offset)`
    /// verifies, at [`NOW`] and with a `window_secs` window, a request correctly signed `offset`
    /// seconds from now.
    pub fn assert_stale_both_ways(signed_at: impl Fn(i64, i64) -> Result<(), Rejection>) {
        let window = super::DEFAULT_REPLAY_WINDOW_SECS;
        assert_eq!(
            signed_at(window, -window - 1),
            Err(Rejection::StaleTimestamp {
                skew_secs: window + 1,
                window_secs: window
            }),
            "too old"
        );
        assert_eq!(
            signed_at(window, window + 1),
            Err(Rejection::StaleTimestamp {
                skew_secs: -window - 1,
                window_secs: window
            }),
            "too far ahead"
        );
    }

    pub fn assert_window_edges_accepted(signed_at: impl Fn(i64, i64) -> Result<(), Rejection>) {
        let window = super::DEFAULT_REPLAY_WINDOW_SECS;
        assert_eq!(signed_at(window, -window), Ok(()), "oldest accepted");
        assert_eq!(signed_at(window, window), Ok(()), "furthest ahead accepted");
    }

    pub fn assert_configured_window_honoured(
        signed_at: impl Fn(i64, i64) -> Result<(), Rejection>,
    ) {
        for window in [20, 3600] {
            assert_eq!(signed_at(window, -window), Ok(()), "window {window}");
            assert_eq!(signed_at(window, window), Ok(()), "window {window}");
            for offset in [-window - 1, window + 1] {
                assert!(
                    matches!(
                        signed_at(window, offset),
                        Err(Rejection::StaleTimestamp { window_secs, .. }) if window_secs == window
                    ),
                    "window {window}, offset {offset}"
                );
            }
        }
    }

    /// Timestamp headers no platform sends: each must be refused as malformed.
    pub const GARBAGE_TIMESTAMPS: &[&str] = &[
        "",
        "yesterday",
        "-1764000000",
        "+1764000000",
        " 1764000000",
        "1764000000 ",
        "1764000000.0",
        "1.764e9",
        "0x6923f580",
        "１７６４０００００００",
        "1764000000\u{0}",
        "17640000000000",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_inside_the_window_either_way_pass() {
        for ts in [1000 - 300, 1000 - 1, 1000, 1000 + 1, 1000 + 300] {
            assert_eq!(
                check_timestamp(&ts.to_string(), "t", 1000, 300),
                Ok(()),
                "{ts}"
            );
        }
    }

    #[test]
    fn timestamps_outside_the_window_report_their_skew() {
        assert_eq!(
            check_timestamp("699", "t", 1000, 300),
            Err(Rejection::StaleTimestamp {
                skew_secs: 301,
                window_secs: 300
            })
        );
        assert_eq!(
            check_timestamp("1301", "t", 1000, 300),
            Err(Rejection::StaleTimestamp {
                skew_secs: -301,
                window_secs: 300
            })
        );
    }

    #[test]
    fn anything_but_plain_decimal_seconds_is_malformed() {
        for raw in testing::GARBAGE_TIMESTAMPS {
            assert_eq!(
                check_timestamp(raw, "t", 1000, 300),
                Err(Rejection::MalformedHeader("t")),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn the_largest_accepted_timestamp_does_not_overflow() {
        // Twelve digits is the cap; far in the future, so stale rather than a panic.
        assert!(matches!(
            check_timestamp("999999999999", "t", 1000, 300),
            Err(Rejection::StaleTimestamp { .. })
        ));
    }
}
