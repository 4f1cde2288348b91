//! The checks every platform request passes before its body is read, in order: the platform
//! is served here (404), the body is within the cap (413), and the signature and timestamp
//! verify (401), with the Slack signing secret read again once if a rotation may explain a
//! mismatch.

use http::{HeaderMap, StatusCode};

use super::{Edge, EdgeResponse, check_size, header, unauthorized};
use crate::invocation::Platform;
use crate::telemetry::metrics;
use crate::verify::{Rejection, slack_headers};

impl Edge {
    pub(super) fn verify_slack(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
        let check = self.slack.as_ref().map(|v| {
            move |sig: Option<&str>, ts: Option<&str>, body: &[u8], now: i64| {
                v.verify(sig, ts, body, now)
            }
        });
        self.verify_request(
            Platform::Slack,
            check,
            slack_headers::SIGNATURE,
            slack_headers::TIMESTAMP,
            headers,
            body,
        )
    }

    /// Reads the Slack signing secret again, if it has a source and the last read is a minute
    /// old; whether it did.
    pub(super) async fn reread_slack_secret(&self) -> bool {
        match &self.slack {
            Some(secret) => secret.reread(self.clock.now_secs()).await,
            None => false,
        }
    }

    /// The checks every platform request passes before its body is read: the platform is
    /// served here (404), the body is within the cap (413), and the signature and timestamp
    /// verify (401).
    pub(super) fn verify_request(
        &self,
        platform: Platform,
        verify: Option<impl Fn(Option<&str>, Option<&str>, &[u8], i64) -> Result<(), Rejection>>,
        signature_header: &str,
        timestamp_header: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Refusal> {
        tracing::Span::current().record("platform", platform.as_str());
        let Some(verify) = verify else {
            let message = format!("{} is not served here", platform.name());
            return Err(Refusal::Answer(EdgeResponse::error(
                StatusCode::NOT_FOUND,
                &message,
            )));
        };
        check_size(body).map_err(Refusal::Answer)?;
        verify(
            header(headers, signature_header),
            header(headers, timestamp_header),
            body,
            self.clock.now_secs(),
        )
        .map_err(Refusal::Rejected)
    }
}

/// Why a request failed the checks before its body is read.
pub(super) enum Refusal {
    /// Not served here, or too large: the answer as it is.
    Answer(EdgeResponse),
    /// The signature or timestamp did not verify: 401.
    Rejected(Rejection),
}

/// The answer to a refused request; a rejected signature is counted once, however many times
/// the request was checked.
pub(super) fn refused(platform: Platform, refusal: Refusal) -> EdgeResponse {
    match refusal {
        Refusal::Answer(response) => response,
        Refusal::Rejected(rejection) => {
            metrics::count("SignatureRejected", &[("Platform", platform.as_str())]);
            unauthorized(&rejection)
        }
    }
}
