//! A limit across every key: at most so many requests in any second, and a block after a 429
//! that applies to everything.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// The global limit is counted per second.
const GLOBAL_WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub(crate) struct GlobalLimit {
    /// Send times of the last `per_sec` requests (some in the future: reserved slots).
    sends: VecDeque<Instant>,
    blocked_until: Option<Instant>,
}

impl GlobalLimit {
    /// The end of a block still ahead of `now`, if any.
    pub(crate) fn blocked(&self, now: Instant) -> Option<Instant> {
        self.blocked_until.filter(|until| *until > now)
    }

    /// After a global 429: nothing goes before `until` (a shorter block never shortens it).
    pub(crate) fn block_until(&mut self, until: Instant) {
        self.blocked_until = self.blocked_until.max(Some(until));
    }

    /// The soonest a request may be sent: now, or a second after the oldest of the last
    /// `per_sec` sends.
    pub(crate) fn next_slot(&self, now: Instant, per_sec: usize) -> Instant {
        match self.sends.front() {
            Some(oldest) if self.sends.len() >= per_sec => now.max(*oldest + GLOBAL_WINDOW),
            _ => now,
        }
    }

    /// Takes the slot at `at` (from [`Self::next_slot`]).
    pub(crate) fn take(&mut self, at: Instant, per_sec: usize) {
        self.sends.push_back(at);
        while self.sends.len() > per_sec {
            self.sends.pop_front();
        }
    }
}
