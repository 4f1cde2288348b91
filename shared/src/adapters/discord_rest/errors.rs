//! Discord's refusals turned into what the moderator who asked is told, and transport
//! failures into what the retry loop needs to know.

use std::fmt::Write as _;

use http::StatusCode;
use serde_json::Value;

use super::routes::Auth;
use crate::platform::ApiError;

/// Discord's JSON error code for "Cannot send messages to this user".
const CANNOT_MESSAGE_USER: i64 = 50007;

/// The error for a 4xx other than 429, in words for the moderator who asked.
pub(super) fn refusal(status: StatusCode, auth: Auth, body: &Value) -> ApiError {
    let code = body.get("code").and_then(Value::as_i64);
    let said = body
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("no reason").to_owned());
    if code == Some(CANNOT_MESSAGE_USER) {
        // Sometimes a 400: still a member's setting, not a malformed request.
        return ApiError::Forbidden {
            message: cannot_message_user(&said),
        };
    }
    match status {
        StatusCode::UNAUTHORIZED if auth == Auth::Bot => ApiError::Rejected {
            status: 401,
            message: format!("{BAD_TOKEN}; Gavel stopped calling Discord ({said})"),
        },
        StatusCode::FORBIDDEN => ApiError::Forbidden {
            message: match code {
                Some(50013) => format!("I lack the permissions for that here ({said})"),
                Some(50001) => {
                    format!("I have no access to that channel or server ({said})")
                }
                Some(CANNOT_MESSAGE_USER) => cannot_message_user(&said),
                _ => format!("Discord does not let me do that ({said})"),
            },
        },
        StatusCode::NOT_FOUND => ApiError::NotFound(match code {
            Some(code) => format!("{said} (Discord code {code})"),
            None => said,
        }),
        _ => ApiError::Rejected {
            status: status.as_u16(),
            message: {
                let mut message = match code {
                    Some(code) => format!("{said} (Discord code {code})"),
                    None => said,
                };
                // "Invalid Form Body" alone does not say which field; its `errors` tree does.
                let fields = form_errors(body);
                if !fields.is_empty() {
                    let _ = write!(message, ": {}", fields.join("; "));
                }
                message
            },
        },
    }
}

/// Most form errors worth listing in one message; the rest are counted.
const MAX_FORM_ERRORS: usize = 5;

/// The `errors` tree of Discord's 400 answer flattened to `field.path: message` lines
/// (`trigger_metadata.keyword_filter.3: Must be 60 or fewer in length.`).
fn form_errors(body: &Value) -> Vec<String> {
    fn walk(value: &Value, path: &mut Vec<String>, out: &mut Vec<String>) {
        let Some(map) = value.as_object() else { return };
        for (key, child) in map {
            if key == "_errors" {
                for error in child.as_array().into_iter().flatten() {
                    let text = error
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("invalid");
                    out.push(format!("{}: {text}", path.join(".")));
                }
            } else {
                path.push(key.clone());
                walk(child, path, out);
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    if let Some(errors) = body.get("errors") {
        walk(errors, &mut Vec::new(), &mut out);
    }
    if out.len() > MAX_FORM_ERRORS {
        let more = out.len() - MAX_FORM_ERRORS;
        out.truncate(MAX_FORM_ERRORS);
        out.push(format!("and {more} more"));
    }
    out
}

fn cannot_message_user(said: &str) -> String {
    format!(
        "that member does not accept direct messages from this server's members or from this app, so I could not DM them ({said})"
    )
}

pub(super) const BAD_TOKEN: &str =
    "Discord rejected the bot token (HTTP 401): check DISCORD_BOT_TOKEN";

/// A failed attempt that got no HTTP answer.
pub(super) struct Failure {
    /// The connection was never made, so the request certainly was not done.
    pub(super) connect: bool,
    pub(super) message: String,
}

impl From<reqwest::Error> for Failure {
    fn from(e: reqwest::Error) -> Self {
        let connect = e.is_connect();
        // `without_url`: webhook URLs carry the interaction token. reqwest's own text is generic
        // ("error sending request"); the causes say what happened.
        let e = e.without_url();
        let mut message = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            let _ = write!(message, ": {c}");
            cause = c.source();
        }
        Self { connect, message }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn refusals_read_as_moderators_need() {
        let forbidden = |code, message: &str| {
            refusal(
                StatusCode::FORBIDDEN,
                Auth::Bot,
                &json!({ "code": code, "message": message }),
            )
        };
        assert_eq!(
            forbidden(50013, "Missing Permissions"),
            ApiError::Forbidden {
                message: "I lack the permissions for that here (Missing Permissions)".to_owned()
            }
        );
        for status in [StatusCode::FORBIDDEN, StatusCode::BAD_REQUEST] {
            assert!(matches!(
                refusal(status, Auth::Bot, &json!({ "code": 50007, "message": "Cannot send messages to this user" })),
                ApiError::Forbidden { message } if message.contains("does not accept direct messages")
            ));
        }
        assert!(matches!(forbidden(50001, "Missing Access"),
            ApiError::Forbidden { message } if message.contains("no access") && message.contains("Missing Access")));
        assert_eq!(
            refusal(
                StatusCode::NOT_FOUND,
                Auth::Bot,
                &json!({ "code": 10003, "message": "Unknown Channel" })
            ),
            ApiError::NotFound("Unknown Channel (Discord code 10003)".to_owned())
        );
        assert_eq!(
            refusal(StatusCode::BAD_REQUEST, Auth::Bot, &Value::Null),
            ApiError::Rejected {
                status: 400,
                message: "Bad Request".to_owned()
            }
        );
        // Discord's form errors say which field was refused, and why.
        assert_eq!(
            refusal(
                StatusCode::BAD_REQUEST,
                Auth::Bot,
                &json!({ "code": 50035, "message": "Invalid Form Body", "errors": {
                    "trigger_metadata": { "keyword_filter": { "3": { "_errors": [
                        { "code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 60 or fewer in length." }
                    ] } } }
                } })
            ),
            ApiError::Rejected {
                status: 400,
                message: "Invalid Form Body (Discord code 50035): trigger_metadata.keyword_filter.3: Must be 60 or fewer in length.".to_owned()
            }
        );
        // A webhook's 401 is that interaction's token, not the bot's.
        assert!(matches!(
            refusal(StatusCode::UNAUTHORIZED, Auth::None, &json!({ "code": 50027, "message": "Invalid Webhook Token" })),
            ApiError::Rejected { status: 401, message } if message.contains("Invalid Webhook Token")
        ));
    }
}
