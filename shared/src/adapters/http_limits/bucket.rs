//! One key's rate-limit window, learned from the platform's answers, with slots reserved
//! before requests go out.

use std::time::Duration;

use tokio::time::Instant;

/// Added to every reset an answer announces: headers carry rounded times, and being a little
/// late costs far less than a 429.
pub(crate) const RESET_MARGIN: Duration = Duration::from_millis(20);

/// What a window looks like according to one answer: its size, the requests it has left, and
/// how long until it ends (`X-RateLimit-*`-style headers).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Window {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    pub(crate) reset_after: Duration,
}

/// What a request may do next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Sent at `at` (now, or the global limit's next free slot).
    Send {
        at: Instant,
    },
    WaitUntil(Instant),
    /// Every slot is held by requests in flight; their answers say what comes next.
    WaitForAnswer,
}

/// One key's counters (a bucket of a resource, say).
///
/// Safety argument: `remaining` counts the slots left in the current window after every
/// reservation, and an answer can only lower it (to the answer's `remaining` less the requests
/// still in flight), never raise it. Only the end of the window restores it, to the limit less
/// the requests still in flight (they may land in the new window). The window ends at the
/// latest reset any answer announced, and an answer's reset is never earlier than the server's
/// (the answer left the server before it arrived), so a request the client forgets has landed
/// in a window the server has closed too.
#[derive(Debug, Default)]
pub(crate) struct Bucket {
    /// The window's size; unknown until an answer said it.
    limit: Option<u32>,
    remaining: u32,
    /// When the current window ends; `None` after it ended, until an answer starts the next.
    reset_at: Option<Instant>,
    in_flight: u32,
    /// Answers came without rate-limit headers: no per-route limit applies.
    unlimited: bool,
}

impl Bucket {
    fn roll(&mut self, now: Instant) {
        if self.reset_at.is_some_and(|r| now >= r) {
            self.reset_at = None;
            self.remaining = self
                .limit
                .map_or(0, |limit| limit.saturating_sub(self.in_flight));
        }
    }

    pub(crate) fn reserve(&mut self, now: Instant) -> Step {
        self.roll(now);
        let go = if self.unlimited {
            true
        } else if self.remaining > 0 && self.limit.is_some() {
            self.remaining -= 1;
            true
        } else if let Some(reset) = self.reset_at {
            return Step::WaitUntil(reset);
        } else {
            // Nothing known about the current window: one request at a time until an answer
            // tells (a route's first request, or after the in-flight ones took every slot).
            self.in_flight == 0
        };
        if go {
            self.in_flight += 1;
            Step::Send { at: now }
        } else {
            Step::WaitForAnswer
        }
    }

    /// A request in flight was answered, or given up on: its slot is no longer held.
    pub(crate) fn release(&mut self, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.roll(now);
    }

    /// An answer came without a window: unless one was learned before, no limit applies.
    pub(crate) fn learn_unlimited(&mut self) {
        if self.limit.is_none() {
            self.unlimited = true;
        }
    }

    /// Takes over the requests in flight of `moved`, the counters of the same bucket kept
    /// under another key until now. The counters here came from answers too; they stay, and
    /// the requests still in flight take slots from them.
    pub(crate) fn absorb(&mut self, moved: &Bucket) {
        self.in_flight += moved.in_flight;
        self.remaining = self.remaining.saturating_sub(moved.in_flight);
    }

    /// Gives back a reservation that was never sent (the global limit refused it).
    pub(crate) fn unreserve(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.limit.is_some() && !self.unlimited {
            self.remaining += 1;
        }
    }

    pub(crate) fn learn(&mut self, now: Instant, headers: Window) {
        let known = self.limit.is_some() && !self.unlimited;
        self.unlimited = false;
        self.limit = Some(headers.limit.max(1));
        let left = headers.remaining.saturating_sub(self.in_flight);
        let reset = now + headers.reset_after + RESET_MARGIN;
        self.remaining = if known {
            self.remaining.min(left)
        } else {
            left
        };
        self.reset_at = Some(self.reset_at.map_or(reset, |r| r.max(reset)));
    }

    pub(crate) fn block_until(&mut self, until: Instant) {
        self.unlimited = false;
        self.remaining = 0;
        self.reset_at = Some(self.reset_at.map_or(until, |r| r.max(until)));
    }

    pub(crate) fn idle(&self, now: Instant) -> bool {
        self.in_flight == 0 && self.reset_at.is_none_or(|r| r <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(limit: u32, remaining: u32, reset_ms: u64) -> Window {
        Window {
            limit,
            remaining,
            reset_after: Duration::from_millis(reset_ms),
        }
    }

    #[test]
    fn a_new_bucket_sends_one_request_until_the_first_answer() {
        let now = Instant::now();
        let mut b = Bucket::default();
        assert_eq!(b.reserve(now), Step::Send { at: now });
        assert_eq!(b.reserve(now), Step::WaitForAnswer);
        b.in_flight -= 1;
        b.learn(now, headers(5, 4, 1000));
        for _ in 0..4 {
            assert_eq!(b.reserve(now), Step::Send { at: now });
        }
        assert!(matches!(b.reserve(now), Step::WaitUntil(_)));
    }

    #[test]
    fn late_answers_never_hand_back_slots_in_the_same_window() {
        let now = Instant::now();
        let mut b = Bucket::default();
        b.reserve(now);
        b.in_flight -= 1;
        b.learn(now, headers(5, 4, 1000));
        for _ in 0..4 {
            b.reserve(now);
        }
        // Answers in reverse order: the one saying "3 left" arrives last and must not reopen.
        for remaining in [0, 1, 2, 3] {
            b.in_flight -= 1;
            b.learn(now, headers(5, remaining, 900));
            assert_eq!(b.remaining, 0);
        }
        // The window's end restores the limit; the next answer starts the next window.
        let later = now + Duration::from_secs(2);
        b.reserve(later);
        b.reserve(later);
        assert_eq!((b.remaining, b.in_flight), (3, 2));
        b.in_flight -= 1;
        b.learn(later, headers(5, 3, 1000));
        assert_eq!(
            b.remaining, 2,
            "the other request in flight takes a slot the answer counted free"
        );
        // At that window's end, the request still in flight may land in the new one.
        b.roll(later + Duration::from_secs(2));
        assert_eq!(b.remaining, 4);
    }

    #[test]
    fn a_429_blocks_the_bucket_until_its_retry_after() {
        let now = Instant::now();
        let mut b = Bucket::default();
        b.learn(now, headers(5, 3, 100));
        b.block_until(now + Duration::from_millis(500));
        assert_eq!(
            b.reserve(now + Duration::from_millis(200)),
            Step::WaitUntil(now + Duration::from_millis(500))
        );
        assert_eq!(
            b.reserve(now + Duration::from_millis(500)),
            Step::Send {
                at: now + Duration::from_millis(500)
            }
        );
    }
}
