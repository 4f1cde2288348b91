//! The baseline of `gavel-coldstart`: a Lambda function that does only what a PING and a Slack
//! `url_verification` strictly need (check the signature, answer), on the same runtime crates
//! as Gavel's functions and built with the same profile. No store, no SDK, no logging set-up.
//!
//! `DISCORD_PUBLIC_KEY` (hex) and `SLACK_SIGNING_SECRET` come from the environment, like
//! Gavel's; a request to a path starting with `/slack` is checked as Slack's, anything else as
//! Discord's. No replay window: the benchmark's requests are fresh, and checking the timestamp
//! costs a clock read.

use ed25519_dalek::{Signature, VerifyingKey};
use hmac::{KeyInit, Mac};
use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::aws_lambda_events::encodings::Body;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

struct Keys {
    discord: VerifyingKey,
    slack: Vec<u8>,
}

fn keys() -> Result<Keys, lambda_runtime::Error> {
    let hex_key = std::env::var("DISCORD_PUBLIC_KEY")?;
    let bytes: [u8; 32] = hex::decode(hex_key.trim())?
        .try_into()
        .map_err(|_| "DISCORD_PUBLIC_KEY is not 32 bytes")?;
    Ok(Keys {
        discord: VerifyingKey::from_bytes(&bytes)?,
        slack: std::env::var("SLACK_SIGNING_SECRET")?.into_bytes(),
    })
}

fn header<'e>(event: &'e ApiGatewayV2httpRequest, name: &str) -> &'e str {
    event
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn answer(status: i64, body: &str) -> ApiGatewayV2httpResponse {
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = status;
    if !body.is_empty() {
        out.body = Some(Body::Text(body.to_owned()));
    }
    out
}

fn handle(keys: &Keys, event: &ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    let body = event.body.as_deref().unwrap_or("");
    let path = event.raw_path.as_deref().unwrap_or("/");
    if path.starts_with("/slack") {
        let timestamp = header(event, "x-slack-request-timestamp");
        let Some(expected) = header(event, "x-slack-signature")
            .strip_prefix("v0=")
            .and_then(|h| hex::decode(h).ok())
        else {
            return answer(401, "");
        };
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&keys.slack) else {
            return answer(500, "");
        };
        mac.update(format!("v0:{timestamp}:").as_bytes());
        mac.update(body.as_bytes());
        if mac.verify_slice(&expected).is_err() {
            return answer(401, "");
        }
        let challenge = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("challenge")?.as_str().map(str::to_owned));
        return match challenge {
            Some(c) => answer(200, &serde_json::json!({ "challenge": c }).to_string()),
            None => answer(400, ""),
        };
    }
    let timestamp = header(event, "x-signature-timestamp");
    let Some(signature) = hex::decode(header(event, "x-signature-ed25519"))
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
    else {
        return answer(401, "");
    };
    let mut message = Vec::with_capacity(timestamp.len() + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.extend_from_slice(body.as_bytes());
    if keys.discord.verify_strict(&message, &signature).is_err() {
        return answer(401, "");
    }
    answer(200, r#"{"type":1}"#)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let keys = std::sync::Arc::new(keys()?);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| {
            let keys = std::sync::Arc::clone(&keys);
            async move { Ok::<_, lambda_runtime::Error>(handle(&keys, &event.payload)) }
        },
    ))
    .await
}
