//! Telegram sends no signature: `setWebhook`'s `secret_token` comes back in every delivery's
//! `X-Telegram-Bot-Api-Secret-Token` header, and the check is that it equals the secret.
//! Both sides are hashed first and the digests compared in constant time, so neither the
//! secret's bytes nor its length can be learnt from how long a refusal takes.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{KeyError, Rejection};

/// The header, lower-case as API Gateway delivers it.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The webhook's secret token (`TELEGRAM_WEBHOOK_SECRET`).
#[derive(Clone)]
pub struct TelegramVerifier {
    digest: [u8; 32],
}

impl std::fmt::Debug for TelegramVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TelegramVerifier(<redacted>)")
    }
}

impl TelegramVerifier {
    /// Telegram accepts 1 to 256 characters of `A-Z a-z 0-9 _ -` for `secret_token`; a
    /// secret it would refuse at `setWebhook` is refused here, at start-up.
    pub fn new(secret: &str) -> Result<Self, KeyError> {
        let valid = (1..=256).contains(&secret.len())
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(KeyError::TelegramSecretFormat);
        }
        Ok(Self {
            digest: Sha256::digest(secret.as_bytes()).into(),
        })
    }

    /// A short name for the bot this secret belongs to (each bot's webhook has its own
    /// secret), so that its update ids, which count per bot, are claimed per bot. A digest
    /// prefix: it says nothing about the secret.
    pub fn bot_key(&self) -> String {
        let named: [u8; 32] = Sha256::new()
            .chain_update(b"gavel telegram bot key\0")
            .chain_update(self.digest)
            .finalize()
            .into();
        hex::encode(&named[..6])
    }

    /// Whether the header holds the secret.
    pub fn verify(&self, header: Option<&str>) -> Result<(), Rejection> {
        let given = header.ok_or(Rejection::MissingHeader(SECRET_HEADER))?;
        let digest: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        if bool::from(digest.ct_eq(&self.digest)) {
            Ok(())
        } else {
            Err(Rejection::BadSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "Gavel_webhook-secret_0123456789";

    #[test]
    fn only_the_exact_secret_passes() {
        let verifier = TelegramVerifier::new(SECRET).unwrap();
        assert_eq!(verifier.verify(Some(SECRET)), Ok(()));
        assert_eq!(
            verifier.verify(None),
            Err(Rejection::MissingHeader(SECRET_HEADER))
        );
        let longer = format!("{SECRET}x");
        let wrong_case = SECRET.to_ascii_uppercase();
        for wrong in ["", &SECRET[..SECRET.len() - 1], &longer, &wrong_case, " "] {
            assert_eq!(
                verifier.verify(Some(wrong)),
                Err(Rejection::BadSignature),
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn secrets_telegram_would_refuse_are_refused_at_start_up() {
        for bad in ["", "has space", "slash/", &"a".repeat(257)] {
            assert!(TelegramVerifier::new(bad).is_err(), "{bad:?}");
        }
        assert!(TelegramVerifier::new(&"a".repeat(256)).is_ok());
    }
}
