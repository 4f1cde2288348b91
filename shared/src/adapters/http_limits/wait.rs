//! Waits bounded by a call's deadline: a wait is worth starting only if the request still has
//! time to be sent and answered after it.

use std::time::Duration;

use tokio::time::Instant;

use super::Step;
use crate::platform::ApiError;

/// A wait or a retry is only worth it with at least this long left before the deadline.
pub(crate) const MIN_ATTEMPT: Duration = Duration::from_millis(100);

/// Whether a request sent at `at` still fits before `deadline`.
pub(crate) fn fits(at: Instant, deadline: Instant) -> bool {
    at + MIN_ATTEMPT <= deadline
}

/// Waiting until `until` if that fits before the deadline; otherwise the refusal the caller
/// returns at once, with the wait it would have taken.
pub(crate) fn wait_until(
    until: Instant,
    now: Instant,
    deadline: Instant,
) -> Result<Step, ApiError> {
    if !fits(until, deadline) {
        Err(ApiError::RateLimited {
            retry_after_ms: millis(until - now),
        })
    } else {
        Ok(Step::WaitUntil(until))
    }
}

/// A duration in whole milliseconds, as [`ApiError::RateLimited`] reports a wait.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
