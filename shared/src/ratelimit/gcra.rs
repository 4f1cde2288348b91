//! The generic cell rate algorithm (GCRA) as pure functions: no store, no clock.
//!
//! State is one number per key, the deadline `d` (a Unix-millisecond time): every allowed
//! request pushes it one emission interval `T` further, starting from now when it lies in the
//! past. A request at `now` is allowed while the pushed deadline stays within `burst * T` of
//! now, that is while `max(d, now) + T - now <= burst * T`. The store keeps `d` with
//! [`Store::advance`](crate::store::Store::advance)`(key, step_ms(), max_ahead_ms())`, which
//! applies exactly [`decide`] atomically.
//!
//! Why the window holds: let n requests be allowed at `t_1 <= ... <= t_n`. Each allowed request
//! pushes `d` at least `T`, so before the n-th one `d >= t_1 + (n - 1) * T`, and allowing it
//! needs `d - t_n <= (burst - 1) * T`. Together: `(n - burst) * T <= t_n - t_1`. Within a
//! half-open window of length `window_ms`, `t_n - t_1 < window_ms`, and with
//! `T = ceil(window_ms / (capacity - burst + 1))` that gives `n - burst < capacity - burst + 1`:
//! at most `capacity` requests in any window. Rounding `T` up keeps the bound; it may leave a
//! window a request or two short of `capacity` when `window_ms` does not divide evenly.

use std::time::Duration;

use crate::store::validate::MAX_AHEAD_MS;

/// "At most `capacity` requests in any `window`, at most `burst` of them at once"
/// (`burst <= capacity`; by default `burst == capacity`).
///
/// Build it with [`BucketPolicy::new`] (and [`BucketPolicy::with_burst`]), which refuse
/// policies that make no sense; the fields are public to read. Should a field be changed to
/// something invalid, the math below stays defined (it never panics) but limits nothing useful.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BucketPolicy {
    pub capacity: u32,
    pub window_ms: i64,
    pub burst: u32,
}

/// Why a policy was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("a rate limit's capacity must be at least 1 request")]
    ZeroCapacity,
    #[error("a rate limit's burst must be at least 1 request")]
    ZeroBurst,
    #[error("a burst of {burst} cannot exceed the capacity of {capacity}")]
    BurstAboveCapacity { burst: u32, capacity: u32 },
    #[error("a rate limit's window must be at least 1 millisecond")]
    EmptyWindow,
    #[error(
        "the burst times the emission interval is {max_ahead_ms} ms, more than the 100 years a limit may look ahead"
    )]
    TooLong { max_ahead_ms: i128 },
}

impl BucketPolicy {
    /// `capacity` requests per `window`, all of which may come at once.
    pub fn new(capacity: u32, window: Duration) -> Result<Self, PolicyError> {
        if capacity == 0 {
            return Err(PolicyError::ZeroCapacity);
        }
        let window_ms = match i64::try_from(window.as_millis()) {
            Ok(0) => return Err(PolicyError::EmptyWindow),
            Ok(ms) => ms,
            Err(_) => {
                return Err(PolicyError::TooLong {
                    max_ahead_ms: i128::MAX,
                });
            }
        };
        Self {
            capacity,
            window_ms,
            burst: capacity,
        }
        .checked()
    }

    /// At most `burst` of the window's requests at once; the rest spread over the window.
    pub fn with_burst(self, burst: u32) -> Result<Self, PolicyError> {
        if burst == 0 {
            return Err(PolicyError::ZeroBurst);
        }
        if burst > self.capacity {
            return Err(PolicyError::BurstAboveCapacity {
                burst,
                capacity: self.capacity,
            });
        }
        Self { burst, ..self }.checked()
    }

    /// The horizon must fit the store's deadline cursor.
    fn checked(self) -> Result<Self, PolicyError> {
        let max_ahead_ms = i128::from(self.burst) * i128::from(self.step_ms());
        if max_ahead_ms > i128::from(MAX_AHEAD_MS) {
            return Err(PolicyError::TooLong { max_ahead_ms });
        }
        Ok(self)
    }

    /// The emission interval `T = ceil(window_ms / (capacity - burst + 1))`: rounded up so the
    /// window bound holds (see the module docs). At least 1 ms.
    pub fn step_ms(&self) -> i64 {
        let spread = (i64::from(self.capacity) - i64::from(self.burst) + 1).max(1);
        let window = self.window_ms.max(1);
        // ceil without overflow: window is positive.
        (window / spread + i64::from(window % spread != 0)).max(1)
    }

    /// `burst * T`: how far ahead of now the deadline may run.
    pub fn max_ahead_ms(&self) -> i64 {
        i64::from(self.burst.max(1)).saturating_mul(self.step_ms())
    }

    /// Requests refilled per second, for display ("refills 0.5/s").
    pub fn refill_per_sec(&self) -> f64 {
        1000.0 / self.step_ms() as f64
    }
}

/// Whether a request is allowed, and what follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed; the key's deadline becomes `deadline_ms`.
    Allowed { deadline_ms: i64 },
    /// Denied; a request `retry_after_ms` from now will be allowed (if none comes before it).
    Denied { retry_after_ms: i64 },
}

/// What the store's advance does, as a pure function: `current` is the key's deadline (`None`
/// when the key is absent or expired). Used by property tests, and it tells a caller what a
/// store refusal means.
pub fn decide(current: Option<i64>, now_ms: i64, policy: &BucketPolicy) -> Decision {
    let step = policy.step_ms();
    // GCRA's usual form: allowed while the deadline is at most (burst - 1) intervals ahead.
    let tolerance = policy.max_ahead_ms() - step;
    match current {
        Some(d) if d.saturating_sub(now_ms) > tolerance => Decision::Denied {
            retry_after_ms: retry_after_ms(d, now_ms, policy),
        },
        _ => Decision::Allowed {
            deadline_ms: current
                .map_or(now_ms, |d| d.max(now_ms))
                .saturating_add(step),
        },
    }
}

/// How long until a request is allowed, given the current deadline (as a store refusal,
/// [`StoreError::LimitReached`](crate::store::StoreError::LimitReached), reports it):
/// `max(0, current - (burst - 1) * T - now)`.
pub fn retry_after_ms(current: i64, now_ms: i64, policy: &BucketPolicy) -> i64 {
    let tolerance = policy.max_ahead_ms() - policy.step_ms();
    current
        .saturating_sub(tolerance)
        .saturating_sub(now_ms)
        .max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy(capacity: u32, window_ms: u64, burst: u32) -> BucketPolicy {
        BucketPolicy::new(capacity, Duration::from_millis(window_ms))
            .and_then(|p| p.with_burst(burst))
            .unwrap()
    }

    #[test]
    fn the_interval_and_horizon_follow_the_policy() {
        let even = policy(10, 10_000, 10);
        assert_eq!((even.step_ms(), even.max_ahead_ms()), (10_000, 100_000));
        let spread = policy(10, 10_000, 1);
        assert_eq!((spread.step_ms(), spread.max_ahead_ms()), (1_000, 1_000));
        // 10 s over 3 intervals: 3333.3 rounds up, or a window could hold one request too many.
        let rounded = policy(5, 10_000, 3);
        assert_eq!((rounded.step_ms(), rounded.max_ahead_ms()), (3_334, 10_002));
        assert_eq!(spread.refill_per_sec(), 1.0);
        let default = BucketPolicy::new(4, Duration::from_secs(1)).unwrap();
        assert_eq!(default.burst, 4, "the burst defaults to the capacity");
    }

    #[test]
    fn nonsense_policies_are_refused() {
        let second = Duration::from_secs(1);
        assert_eq!(BucketPolicy::new(0, second), Err(PolicyError::ZeroCapacity));
        assert_eq!(
            BucketPolicy::new(3, Duration::ZERO),
            Err(PolicyError::EmptyWindow)
        );
        assert_eq!(
            BucketPolicy::new(3, Duration::from_micros(999)),
            Err(PolicyError::EmptyWindow),
            "under a millisecond is no window"
        );
        let three = BucketPolicy::new(3, second).unwrap();
        assert_eq!(three.with_burst(0), Err(PolicyError::ZeroBurst));
        assert_eq!(
            three.with_burst(4),
            Err(PolicyError::BurstAboveCapacity {
                burst: 4,
                capacity: 3
            })
        );
        assert!(matches!(
            BucketPolicy::new(u32::MAX, Duration::from_secs(3600 * 24 * 365)),
            Err(PolicyError::TooLong { .. })
        ));
        assert!(matches!(
            BucketPolicy::new(1, Duration::MAX),
            Err(PolicyError::TooLong { .. })
        ));
        assert!(
            PolicyError::BurstAboveCapacity {
                burst: 4,
                capacity: 3
            }
            .to_string()
            .contains("burst of 4")
        );
    }

    #[test]
    fn a_window_that_divides_evenly_reaches_its_capacity() {
        // 5 per 4 s, 2 at once: T = 1 s. Two at 0, then one per second: 5 in [0, 4000).
        let p = policy(5, 4_000, 2);
        let mut current = None;
        let mut allowed = Vec::new();
        for t in (0..4_000).step_by(100) {
            if let Decision::Allowed { deadline_ms } = decide(current, t, &p) {
                current = Some(deadline_ms);
                allowed.push(t);
            }
            if let Decision::Allowed { deadline_ms } = decide(current, t, &p) {
                current = Some(deadline_ms);
                allowed.push(t);
            }
        }
        assert_eq!(allowed, vec![0, 0, 1_000, 2_000, 3_000]);
    }

    #[test]
    fn a_mutated_invalid_policy_does_not_panic() {
        let mut p = BucketPolicy::new(2, Duration::from_secs(1)).unwrap();
        p.burst = 0;
        p.capacity = 0;
        p.window_ms = -5;
        assert!(p.step_ms() >= 1);
        let _ = decide(Some(i64::MAX), i64::MIN, &p);
        let _ = retry_after_ms(i64::MIN, i64::MAX, &p);
    }

    fn policies() -> impl Strategy<Value = BucketPolicy> {
        (1u32..=12, 1u64..=5_000)
            .prop_flat_map(|(capacity, window)| (Just(capacity), Just(window), 1..=capacity))
            .prop_map(|(capacity, window, burst)| policy(capacity, window, burst))
    }

    /// Gaps between requests, from a burst at one instant to a trickle over several windows.
    fn gaps() -> impl Strategy<Value = Vec<i64>> {
        prop::collection::vec(
            prop_oneof![Just(0i64), 0i64..=20, 0i64..=1_000, 0i64..=10_000],
            1..300,
        )
    }

    /// Runs requests at `start + cumulative gaps`; returns the times allowed and the deadline.
    fn run(policy: &BucketPolicy, start: i64, gaps: &[i64]) -> (Vec<i64>, Option<i64>) {
        let mut current = None;
        let mut now = start;
        let mut allowed = Vec::new();
        for gap in gaps {
            now += gap;
            if let Decision::Allowed { deadline_ms } = decide(current, now, policy) {
                current = Some(deadline_ms);
                allowed.push(now);
            }
        }
        (allowed, current)
    }

    proptest! {
        #[test]
        fn no_window_holds_more_than_the_capacity(
            policy in policies(),
            start in -1_000_000i64..1_000_000,
            gaps in gaps(),
        ) {
            let (allowed, _) = run(&policy, start, &gaps);
            prop_assert!(!allowed.is_empty(), "the first request from idle is allowed");
            // The fullest half-open window starts at an allowed request.
            let mut end = 0;
            for (first, t) in allowed.iter().enumerate() {
                while end < allowed.len() && allowed[end] < t + policy.window_ms {
                    end += 1;
                }
                prop_assert!(
                    end - first <= policy.capacity as usize,
                    "{} allowed in [{t}, {}) under {policy:?}",
                    end - first,
                    t + policy.window_ms
                );
            }
        }

        #[test]
        fn a_denied_request_is_allowed_exactly_after_its_wait(
            policy in policies(),
            gaps in gaps(),
        ) {
            let (_, mut current) = run(&policy, 0, &gaps);
            let now: i64 = gaps.iter().sum();
            // Whatever the history, `burst + 1` requests at one instant meet a denial.
            let mut denial = None;
            for _ in 0..=policy.burst {
                match decide(current, now, &policy) {
                    Decision::Allowed { deadline_ms } => current = Some(deadline_ms),
                    Decision::Denied { retry_after_ms } => {
                        denial = Some(retry_after_ms);
                        break;
                    }
                }
            }
            let wait = denial.expect("a denial within burst + 1 requests at one instant");
            let current = current.expect("a denial needs a deadline");
            prop_assert!(wait >= 1);
            prop_assert_eq!(wait, retry_after_ms(current, now, &policy));
            prop_assert_eq!(
                decide(Some(current), now + wait - 1, &policy),
                Decision::Denied { retry_after_ms: 1 }
            );
            let after_the_wait = decide(Some(current), now + wait, &policy);
            prop_assert!(
                matches!(after_the_wait, Decision::Allowed { .. }),
                "{after_the_wait:?} at exactly the wait"
            );
        }

        #[test]
        fn a_full_burst_from_idle_is_allowed_and_the_next_is_not(
            policy in policies(),
            now in -1_000_000i64..1_000_000,
            idle_for in 0i64..1_000_000,
            from_absent in any::<bool>(),
        ) {
            let step = policy.step_ms();
            let mut current = (!from_absent).then_some(now - idle_for);
            for n in 1..=i64::from(policy.burst) {
                prop_assert_eq!(
                    decide(current, now, &policy),
                    Decision::Allowed { deadline_ms: now + n * step }
                );
                current = Some(now + n * step);
            }
            prop_assert_eq!(
                decide(current, now, &policy),
                Decision::Denied { retry_after_ms: step },
                "one more waits one interval"
            );
        }
    }
}
