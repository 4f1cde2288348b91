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
