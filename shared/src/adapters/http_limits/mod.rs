//! Rate limits an HTTP API client keeps on its own side of a platform's, with nothing
//! platform-specific in them: the chat platforms' Web API clients build on these, and so can
//! the next one (a Telegram Bot API client: about one message a second per chat, 20 a minute
//! per group, about 30 a second overall, and 429s that carry a retry-after).
//!
//! - [`Bucket`]: one key's window as the answers describe it (limit, remaining, reset), with a
//!   slot reserved before each request, so concurrent callers never overshoot; a 429 blocks it
//!   until its retry-after.
//! - [`GlobalLimit`]: at most so many requests in any second across every key, and a block
//!   after a 429 that applies to everything.
//! - [`Pacer`]: GCRA cursors per key, for limits known in advance (a tier, one post a second
//!   per channel); a 429's retry-after pushes a cursor back.
//! - [`Gate`]: limit state behind a lock, and the wait for a slot: woken by every answer, never
//!   past the call's deadline.
//! - [`fits`] and [`wait_until`]: a wait starts only if the request still fits before the
//!   deadline after it; otherwise the call fails at once with
//!   [`ApiError::RateLimited`](crate::platform::ApiError::RateLimited), without sending.
//!
//! What a platform's answers mean (which headers carry the window, which 429s are global,
//! which refusals count against the client) stays with that platform's client.

// A build with only one of the clients leaves the other's pieces unused; with both (the
// workspace's build), every piece is used and dead code is still reported.
#![cfg_attr(
    not(all(feature = "discord-rest", feature = "slack-api")),
    allow(dead_code, unused_imports)
)]

mod bucket;
mod gate;
mod global;
mod pacer;
mod wait;

pub(crate) use self::bucket::{Bucket, RESET_MARGIN, Step, Window};
pub(crate) use self::gate::Gate;
pub(crate) use self::global::GlobalLimit;
pub(crate) use self::pacer::Pacer;
pub(crate) use self::wait::{MIN_ATTEMPT, fits, millis, wait_until};
