//! What an answer says about the rate limits: Discord's `X-RateLimit-*` headers, its scope,
//! and a 429's `retry_after`.

use std::time::Duration;

use http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::adapters::http_limits::Window;

/// Longest wait a header may impose; anything longer is a broken header, not a rate limit.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// What an answer says about the rate limits.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) bucket: Option<String>,
    pub(super) limits: Option<Window>,
    pub(super) retry_after: Option<Duration>,
    pub(super) scope: Option<String>,
    pub(super) global: bool,
}

impl Answer {
    pub(super) fn read(status: StatusCode, headers: &HeaderMap, body: &Value) -> Self {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        let seconds = |v: f64| Duration::try_from_secs_f64(v).ok().map(|d| d.min(MAX_WAIT));
        let limits = (|| {
            Some(Window {
                limit: header("x-ratelimit-limit")?.parse().ok()?,
                remaining: header("x-ratelimit-remaining")?.parse().ok()?,
                reset_after: seconds(header("x-ratelimit-reset-after")?.parse().ok()?)?,
            })
        })();
        let scope = header("x-ratelimit-scope").map(str::to_ascii_lowercase);
        let is_429 = status == StatusCode::TOO_MANY_REQUESTS;
        // The body's `retry_after` has milliseconds; the `Retry-After` header whole seconds.
        let retry_after = is_429
            .then(|| {
                body.get("retry_after")
                    .and_then(Value::as_f64)
                    .or_else(|| header("retry-after")?.parse().ok())
                    .and_then(seconds)
                    .or(limits.map(|l| l.reset_after))
            })
            .flatten();
        let global = is_429
            && (scope.as_deref() == Some("global")
                || header("x-ratelimit-global") == Some("true")
                || body.get("global").and_then(Value::as_bool) == Some(true));
        Self {
            status: status.as_u16(),
            bucket: header("x-ratelimit-bucket")
                .filter(|b| !b.is_empty())
                .map(str::to_owned),
            limits,
            retry_after,
            scope,
            global,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn answers_read_the_rate_limit_headers_and_the_429_body() {
        let mut headers = HeaderMap::new();
        for (k, v) in [
            ("X-RateLimit-Limit", "5"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset-After", "0.250"),
            ("X-RateLimit-Bucket", "abcd"),
            ("X-RateLimit-Scope", "shared"),
            ("Retry-After", "1"),
        ] {
            headers.insert(k, v.parse().unwrap());
        }
        let a = Answer::read(
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            &json!({ "retry_after": 0.75, "global": false }),
        );
        assert_eq!(a.bucket.as_deref(), Some("abcd"));
        assert_eq!(
            a.limits,
            Some(Window {
                limit: 5,
                remaining: 0,
                reset_after: Duration::from_millis(250)
            })
        );
        assert_eq!(a.retry_after, Some(Duration::from_millis(750)));
        assert_eq!((a.scope.as_deref(), a.global), (Some("shared"), false));

        // Without a body, the header's seconds; with scope global, global.
        headers.insert("X-RateLimit-Scope", "global".parse().unwrap());
        let a = Answer::read(StatusCode::TOO_MANY_REQUESTS, &headers, &Value::Null);
        assert_eq!(
            (a.retry_after, a.global),
            (Some(Duration::from_secs(1)), true)
        );

        // A success carries no retry.
        let a = Answer::read(StatusCode::OK, &headers, &Value::Null);
        assert_eq!((a.retry_after, a.global), (None, false));
    }
}
