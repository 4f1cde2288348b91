//! The clock port. Signature windows, expiry and decay all read time through it, so tests can pin it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Wall-clock time as milliseconds since the Unix epoch.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;

    fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

/// When work must stop to leave `margin` before `deadline_ms`, a wall-clock deadline in Unix
/// milliseconds (a Lambda invocation's, from its context), as the monotonic [`Instant`] that
/// budgets and API calls take. A deadline nearer than the margin, or past, is now.
pub fn work_deadline(clock: &dyn Clock, deadline_ms: u64, margin: Duration) -> Instant {
    let remaining_ms = deadline_ms.saturating_sub(u64::try_from(clock.now_ms()).unwrap_or(0));
    Instant::now() + Duration::from_millis(remaining_ms).saturating_sub(margin)
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            // A clock set before 1970 is a broken host; report it as the epoch rather than panic.
            Err(_) => 0,
        }
    }
}

/// A clock that only moves when told to. Cloning shares the same time.
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at_secs(secs: i64) -> Self {
        Self(Arc::new(AtomicI64::new(secs * 1000)))
    }

    pub fn set_ms(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_work_deadline_leaves_the_margin_and_is_never_before_now() {
        let clock = ManualClock::at_secs(1_800_000_000);
        let before = Instant::now();
        let deadline = work_deadline(&clock, 1_800_000_000_000 + 60_000, Duration::from_secs(10));
        let after = Instant::now();
        assert!(deadline >= before + Duration::from_secs(50));
        assert!(deadline <= after + Duration::from_secs(50));
        let late = work_deadline(&clock, 1_800_000_000_000 + 1_000, Duration::from_secs(3));
        assert!(late <= Instant::now() && late >= after);
        let past = work_deadline(&clock, 1_000, Duration::from_secs(3));
        assert!(past >= after);
    }
}
