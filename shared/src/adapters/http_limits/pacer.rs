//! GCRA cursors per key ([`crate::ratelimit::gcra`]) for limits known in advance: the next
//! free slot is reserved before a request waits for it, and a 429's retry-after pushes the
//! key's cursor back. Slack's tiers and per-channel pace use it; so could a Telegram client's
//! per-chat and per-group limits.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ratelimit::gcra::{self, BucketPolicy, Decision};

/// Cursors whose time has passed are equivalent to absent ones; drop them once there are many.
const PRUNE_ABOVE: usize = 1024;

/// GCRA cursors by key (for Slack: a method name, or `chat.postMessage` and a channel), in
/// milliseconds since the client was built. Reservations move a cursor before the request waits, so
/// concurrent callers line up one slot after another instead of all waking at once.
pub(crate) struct Pacer {
    origin: Instant,
    cursors: Mutex<HashMap<String, i64>>,
}

impl Pacer {
    pub(crate) fn new() -> Self {
        Self {
            origin: Instant::now(),
            cursors: Mutex::new(HashMap::new()),
        }
    }

    fn ms(&self, t: Instant) -> i64 {
        i64::try_from(t.saturating_duration_since(self.origin).as_millis()).unwrap_or(i64::MAX)
    }

    fn cursors(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        // The map holds plain numbers; a panic elsewhere cannot leave it half-updated.
        self.cursors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the next slot for `key` and returns how long to wait for it, unless the slot
    /// starts after `latest_start`: then nothing is taken and the wait is the error.
    pub(crate) fn reserve(
        &self,
        key: &str,
        policy: &BucketPolicy,
        now: Instant,
        latest_start: Instant,
    ) -> Result<Duration, Duration> {
        let now_ms = self.ms(now);
        let mut cursors = self.cursors();
        let current = cursors.get(key).copied();
        let wait_ms = current.map_or(0, |d| gcra::retry_after_ms(d, now_ms, policy));
        let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(u64::MAX));
        let start_ms = now_ms.saturating_add(wait_ms);
        if start_ms > self.ms(latest_start) || latest_start < now {
            return Err(wait);
        }
        // At the slot's start the request is allowed by construction; the new cursor is the one
        // GCRA gives a request arriving then.
        match gcra::decide(current, start_ms, policy) {
            Decision::Allowed { deadline_ms } => {
                if cursors.len() >= PRUNE_ABOVE {
                    cursors.retain(|_, d| *d > now_ms);
                }
                cursors.insert(key.to_owned(), deadline_ms);
                Ok(wait)
            }
            Decision::Denied { retry_after_ms } => Err(Duration::from_millis(
                u64::try_from(retry_after_ms).unwrap_or(u64::MAX),
            )),
        }
    }

    /// After a 429: no slot for `key` opens before `now + retry_after`.
    pub(crate) fn push_back(
        &self,
        key: &str,
        policy: &BucketPolicy,
        now: Instant,
        retry_after: Duration,
    ) {
        let tolerance = policy.max_ahead_ms() - policy.step_ms();
        let retry_ms = i64::try_from(retry_after.as_millis()).unwrap_or(i64::MAX);
        let blocked_until = self
            .ms(now)
            .saturating_add(retry_ms)
            .saturating_add(tolerance);
        let mut cursors = self.cursors();
        let cursor = cursors.entry(key.to_owned()).or_insert(blocked_until);
        *cursor = (*cursor).max(blocked_until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(capacity: u32, window_ms: i64, burst: u32) -> BucketPolicy {
        BucketPolicy {
            capacity,
            window_ms,
            burst,
        }
    }

    #[test]
    fn reservations_line_up_one_interval_apart() {
        let pacer = Pacer::new();
        let p = policy(1, 1000, 1);
        let now = pacer.origin;
        let far = now + Duration::from_secs(60);
        let waits: Vec<_> = (0..3)
            .map(|_| pacer.reserve("c", &p, now, far).unwrap())
            .collect();
        assert_eq!(
            waits,
            [0, 1000, 2000].map(Duration::from_millis),
            "each caller gets the next free slot"
        );
        assert_eq!(
            pacer.reserve("other", &p, now, far),
            Ok(Duration::ZERO),
            "keys are independent"
        );
    }

    #[test]
    fn a_slot_past_the_latest_start_is_refused_and_not_taken() {
        let pacer = Pacer::new();
        let p = policy(1, 1000, 1);
        let now = pacer.origin;
        assert_eq!(pacer.reserve("c", &p, now, now), Ok(Duration::ZERO));
        let soon = now + Duration::from_millis(500);
        assert_eq!(
            pacer.reserve("c", &p, now, soon),
            Err(Duration::from_millis(1000))
        );
        // The refused caller took nothing: the next one still gets the second slot.
        let far = now + Duration::from_secs(60);
        assert_eq!(
            pacer.reserve("c", &p, now, far),
            Ok(Duration::from_millis(1000))
        );
    }

    #[test]
    fn bursts_go_at_once_and_the_rest_spread_over_the_window() {
        let pacer = Pacer::new();
        // 50 a minute, 5 at once: T = 60 s / 46.
        let p = policy(50, 60_000, 5);
        let now = pacer.origin;
        let far = now + Duration::from_secs(3600);
        let waits: Vec<_> = (0..6)
            .map(|_| pacer.reserve("m", &p, now, far).unwrap())
            .collect();
        assert!(waits[..5].iter().all(Duration::is_zero), "{waits:?}");
        assert_eq!(waits[5], Duration::from_millis(p.step_ms() as u64));
    }

    #[test]
    fn a_429_holds_back_every_later_slot() {
        let pacer = Pacer::new();
        let p = policy(5, 1000, 5);
        let now = pacer.origin;
        let far = now + Duration::from_secs(60);
        pacer.push_back("m", &p, now, Duration::from_secs(3));
        assert_eq!(pacer.reserve("m", &p, now, far), Ok(Duration::from_secs(3)));
        // A shorter Retry-After later never shortens a longer block.
        pacer.push_back("m", &p, now, Duration::from_secs(1));
        assert!(pacer.reserve("m", &p, now, far).unwrap() >= Duration::from_secs(3));
    }
}
