//! Signs requests the way Discord and Slack do (and adds Telegram's secret), for `send`,
//! `demo` and `load`.

use ed25519_dalek::{Signer, SigningKey};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// A request ready to post: route path, headers and body.
#[derive(Clone, Debug)]
pub struct SignedRequest {
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

pub fn sign_discord(key: &SigningKey, path: &str, body: Vec<u8>, timestamp: i64) -> SignedRequest {
    let ts = timestamp.to_string();
    let mut message = ts.as_bytes().to_vec();
    message.extend_from_slice(&body);
    let signature = key.sign(&message);
    SignedRequest {
        path: path.to_owned(),
        headers: vec![
            ("content-type", "application/json".to_owned()),
            ("x-signature-ed25519", hex::encode(signature.to_bytes())),
            ("x-signature-timestamp", ts),
        ],
        body,
    }
}

pub fn sign_slack(
    secret: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
    timestamp: i64,
) -> SignedRequest {
    let ts = timestamp.to_string();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(format!("v0:{ts}:").as_bytes());
    mac.update(&body);
    let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
    SignedRequest {
        path: path.to_owned(),
        headers: vec![
            ("content-type", content_type.to_owned()),
            ("x-slack-signature", signature),
            ("x-slack-request-timestamp", ts),
        ],
        body,
    }
}

/// Telegram does not sign: the webhook's secret rides in a header.
pub fn with_telegram_secret(secret: &str, path: &str, body: Vec<u8>) -> SignedRequest {
    SignedRequest {
        path: path.to_owned(),
        headers: vec![
            ("content-type", "application/json".to_owned()),
            ("x-telegram-bot-api-secret-token", secret.to_owned()),
        ],
        body,
    }
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
