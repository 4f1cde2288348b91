//! Slack's refusals and failures turned into what the caller can act on: `ok: false` codes in
//! words a moderator understands, transient ones marked for another attempt, and the edge's
//! view of them ([`SlackWebError`]).

use std::time::Duration;

use serde_json::Value;

use super::{Attempt, Endpoint, SlackApiClient};
use crate::platform::ApiError;
use crate::slack::web::SlackWebError;

/// A 429 without a readable `Retry-After` waits this long (Slack always sends one in seconds).
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// How much of an unexpected answer's body goes into an error message.
const BODY_SNIPPET_CHARS: usize = 200;

impl SlackApiClient {
    /// Slack's `ok: false` codes, in words a moderator can act on.
    pub(super) fn slack_error(
        &self,
        endpoint: Endpoint,
        status: u16,
        code: &str,
        answer: Option<&Value>,
    ) -> Attempt {
        let error = match code {
            "internal_error" | "service_unavailable" | "request_timeout" => {
                return Attempt::Transient(format!("Slack had a temporary problem ({code})"));
            }
            "ratelimited" | "rate_limited" => return Attempt::RateLimited(DEFAULT_RETRY_AFTER),
            // Slack says part of the call may have happened; repeating it could do it twice.
            "fatal_error" => ApiError::Unavailable(
                "Slack failed part-way through the call (fatal_error); not repeated, as part of it may have happened".to_owned(),
            ),
            "not_in_channel" => ApiError::Forbidden {
                message: "I'm not in that channel; invite me with /invite @Gavel".to_owned(),
            },
            "channel_not_found" => ApiError::NotFound(
                "I can't see that channel: it doesn't exist, or it is private and I'm not in it; invite me with /invite @Gavel".to_owned(),
            ),
            "is_archived" => ApiError::Forbidden {
                message: "that channel is archived; unarchive it or choose another channel".to_owned(),
            },
            code if code.starts_with("restricted_action") => ApiError::Forbidden {
                message: "this workspace's settings don't let me post in that channel".to_owned(),
            },
            "missing_scope" => {
                let needed = answer
                    .and_then(|a| a.get("needed"))
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty())
                    .unwrap_or("a permission Slack did not name");
                ApiError::Forbidden {
                    message: format!(
                        "Gavel's Slack app is missing the {needed} scope; add it under OAuth & Permissions and reinstall the app"
                    ),
                }
            }
            "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive"
                if matches!(endpoint, Endpoint::WebApi { admin: true, .. }) =>
            {
                ApiError::Rejected {
                    status,
                    message: format!(
                        "Slack refused the admin user token ({code}); replace SLACK_ADMIN_USER_TOKEN"
                    ),
                }
            }
            "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive"
                if matches!(endpoint, Endpoint::WebApi { .. }) =>
            {
                self.refuse_token(code);
                ApiError::Rejected {
                    status,
                    message: format!(
                        "Slack refused the bot token ({code}); reinstall the app or replace SLACK_BOT_TOKEN"
                    ),
                }
            }
            "expired_url" | "used_url" => expired_response_url(),
            code => ApiError::Rejected {
                status,
                message: format!("Slack refused the call: {code}"),
            },
        };
        Attempt::Done(Err(error))
    }
}

pub(super) fn web_error(error: ApiError) -> SlackWebError {
    match error {
        ApiError::NotSent(why) => SlackWebError::NotConfigured(why),
        ApiError::RateLimited { .. } | ApiError::Unavailable(_) => {
            SlackWebError::Unreachable(error.to_string())
        }
        other => SlackWebError::Refused(other.to_string()),
    }
}

pub(super) fn expired_response_url() -> ApiError {
    ApiError::NotFound(
        "this interaction can no longer be answered (Slack allows 5 answers within 30 minutes)"
            .to_owned(),
    )
}

/// `Retry-After` in seconds, as Slack sends it.
pub(super) fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RETRY_AFTER, Duration::from_secs)
}

pub(super) fn snippet(body: &str) -> String {
    let mut chars = body.chars();
    let head: String = chars.by_ref().take(BODY_SNIPPET_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_defaults_to_one() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), DEFAULT_RETRY_AFTER);
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Duration::from_secs(7));
    }
}
