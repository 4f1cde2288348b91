//! The pace the client keeps: Slack's tiers per Web API method, and one post at a time per
//! channel for `chat.postMessage`.

use std::time::Duration;

use crate::ratelimit::gcra::BucketPolicy;

/// Added to the channel interval: a connection set up for one request but not the next, or a
/// scheduling delay, lets two requests paced exactly one interval apart arrive closer than that.
const CHANNEL_PACING_MARGIN: Duration = Duration::from_millis(50);

/// A Web API method's rate-limit tier, as Slack's method documentation lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tier {
    /// About 1 call per minute (`admin.*`, rarely needed).
    One,
    /// About 20 per minute (`conversations.list`, …).
    Two,
    /// About 50 per minute (`conversations.kick`, `chat.delete`, `conversations.history`, …).
    Three,
    /// About 100 per minute (`users.info`, `chat.postEphemeral`, …).
    Four,
}

/// The pace the client keeps. [`Default`] follows Slack's published limits; tests shorten them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlackApiLimits {
    pub tier1: BucketPolicy,
    pub tier2: BucketPolicy,
    pub tier3: BucketPolicy,
    pub tier4: BucketPolicy,
    /// The least time between two `chat.postMessage` calls to one channel.
    pub channel_interval: Duration,
}

impl Default for SlackApiLimits {
    /// Each tier's per-minute budget, a tenth of it (at least one call) allowed at once, the
    /// rest spread over the minute: short bursts like Slack's, never more than the minute holds.
    fn default() -> Self {
        let per_minute = |capacity: u32| BucketPolicy {
            capacity,
            window_ms: 60_000,
            burst: (capacity / 10).max(1),
        };
        Self {
            tier1: per_minute(1),
            tier2: per_minute(20),
            tier3: per_minute(50),
            tier4: per_minute(100),
            channel_interval: Duration::from_secs(1),
        }
    }
}

impl SlackApiLimits {
    pub(super) fn tier(&self, tier: Tier) -> BucketPolicy {
        match tier {
            Tier::One => self.tier1,
            Tier::Two => self.tier2,
            Tier::Three => self.tier3,
            Tier::Four => self.tier4,
        }
    }

    /// One post per interval (plus the margin), no burst.
    pub(super) fn channel(&self) -> BucketPolicy {
        let window = self.channel_interval + CHANNEL_PACING_MARGIN;
        BucketPolicy {
            capacity: 1,
            window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX),
            burst: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits_follow_slacks_tiers() {
        let limits = SlackApiLimits::default();
        assert_eq!(limits.tier1.capacity, 1);
        assert_eq!(limits.tier(Tier::Two).capacity, 20);
        assert_eq!(limits.tier(Tier::Three).burst, 5);
        assert_eq!(limits.tier(Tier::Four).window_ms, 60_000);
        let channel = limits.channel();
        assert_eq!((channel.capacity, channel.burst), (1, 1));
        assert!(channel.step_ms() >= 1000);
    }
}
