//! Request signature verification for both platforms. Runs before anything parses the body.
//!
//! Both verifiers take the raw (already base64-decoded) body bytes, the two header values as
//! received, and the current time in seconds, and answer `Ok(())` or the reason for a 401. The
//! reasons are for logs; every one of them becomes the same 401 answer, so a caller learns nothing.

mod discord;
mod slack;

pub use discord::DiscordVerifier;
pub use slack::SlackVerifier;

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
