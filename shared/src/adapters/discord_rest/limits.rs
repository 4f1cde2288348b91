//! Discord's rate limits on the client's side (steps 1 to 4 of the module docs of
//! [`super`]): the safety stops, the global limit and the per-route buckets, kept in one
//! [`State`] behind the client's [`Gate`], built from the platform-neutral pieces of
//! [`crate::adapters::http_limits`].

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use super::DiscordLimits;
use super::answer::Answer;
use super::errors::BAD_TOKEN;
use super::routes::{Auth, Route};
use crate::adapters::http_limits::{
    Bucket, Gate, GlobalLimit, RESET_MARGIN, Step, fits, millis, wait_until,
};
use crate::platform::ApiError;

/// Discord counts invalid requests over 10 minutes.
const INVALID_WINDOW: Duration = Duration::from_secs(600);
/// Past this many tracked buckets, idle ones are forgotten (one exists per channel and guild).
const PRUNE_ABOVE: usize = 4096;

#[derive(Debug, Default)]
pub(super) struct State {
    /// Route template → Discord's bucket id.
    bucket_ids: HashMap<String, String>,
    /// `{bucket id or route template}|{major}` → the bucket's counters.
    buckets: HashMap<String, Bucket>,
    /// Bot-authenticated requests only: webhook and interaction routes are exempt.
    global: GlobalLimit,
    /// Arrival times of the 401/403/429 answers of the last 10 minutes.
    invalid: VecDeque<Instant>,
    /// Requests given a slot and not yet answered.
    in_flight: u32,
    /// Why nothing is sent any more (a 401 on the bot token).
    disabled: Option<String>,
}

impl State {
    fn key(&self, route: &Route) -> String {
        let id = self
            .bucket_ids
            .get(&route.template)
            .unwrap_or(&route.template);
        format!("{id}|{}", route.major)
    }

    /// Takes a slot for one request on `route` if every limit lets it go (now, or at the
    /// global limit's next free slot); otherwise says how long to wait, or refuses.
    pub(super) fn reserve(
        &mut self,
        route: &Route,
        now: Instant,
        deadline: Instant,
        limits: &DiscordLimits,
    ) -> Result<Step, ApiError> {
        // Webhook and interaction routes carry their own token, so a moderator can still be
        // told that the bot token was refused.
        if route.auth == Auth::Bot
            && let Some(why) = &self.disabled
        {
            return Err(ApiError::NotSent(why.clone()));
        }
        while self
            .invalid
            .front()
            .is_some_and(|t| *t + INVALID_WINDOW <= now)
        {
            self.invalid.pop_front();
        }
        let invalid = self.invalid.len() as u64;
        if invalid + u64::from(self.in_flight) >= u64::from(limits.invalid_cap) {
            let frees_in = self.invalid.front().map_or(Duration::ZERO, |t| {
                (*t + INVALID_WINDOW).saturating_duration_since(now)
            });
            return Err(ApiError::NotSent(format!(
                "invalid-request cap reached: {invalid} refused answers (401/403/429) in the last \
                 10 minutes and {} requests in flight, cap {}; sending resumes within {} s",
                self.in_flight,
                limits.invalid_cap,
                frees_in.as_secs() + 1
            )));
        }
        if route.auth == Auth::Bot
            && let Some(until) = self.global.blocked(now)
        {
            return wait_until(until, now, deadline);
        }
        let key = self.key(route);
        let bucket = self.buckets.entry(key).or_default();
        match bucket.reserve(now) {
            Step::Send { .. } => {}
            Step::WaitUntil(until) => return wait_until(until, now, deadline),
            Step::WaitForAnswer => return Ok(Step::WaitForAnswer),
        }
        let mut at = now;
        if route.auth == Auth::Bot {
            let per_sec = limits.global_per_sec as usize;
            at = self.global.next_slot(now, per_sec);
            if at > now && !fits(at, deadline) {
                bucket.unreserve();
                return Err(ApiError::RateLimited {
                    retry_after_ms: millis(at - now),
                });
            }
            self.global.take(at, per_sec);
        }
        self.in_flight += 1;
        Ok(Step::Send { at })
    }

    /// Gives back the slot of a request on `route`, with what its answer said (`None`: no
    /// answer, or the caller gave up).
    pub(super) fn finish(&mut self, route: &Route, now: Instant, answer: Option<&Answer>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if let Some(id) = answer.and_then(|a| a.bucket.as_ref()) {
            self.learn_bucket_id(route, id);
        }
        let key = self.key(route);
        let bucket = self.buckets.entry(key).or_default();
        bucket.release(now);
        if let Some(answer) = answer {
            match answer.limits {
                Some(window) => bucket.learn(now, window),
                // A real answer without the headers: the route has no per-route limit.
                None if answer.status < 500 && answer.status != 429 => bucket.learn_unlimited(),
                None => {}
            }
            let wait = answer.retry_after.unwrap_or(Duration::from_secs(1));
            match answer.status {
                429 if answer.global => self.global.block_until(now + wait + RESET_MARGIN),
                429 => bucket.block_until(now + wait + RESET_MARGIN),
                _ => {}
            }
            let counted = match answer.status {
                401 | 403 => true,
                429 => answer.scope.as_deref() != Some("shared"),
                _ => false,
            };
            if counted {
                self.invalid.push_back(now);
            }
            if answer.status == 401 && route.auth == Auth::Bot {
                self.disabled = Some(format!(
                    "{BAD_TOKEN}; nothing more is sent until Gavel restarts with a valid token"
                ));
            }
        }
        if self.buckets.len() > PRUNE_ABOVE {
            self.buckets.retain(|_, b| !b.idle(now));
        }
    }

    /// Moves a route's counters under the bucket id Discord named, merging with what other
    /// routes of the same bucket already learned.
    fn learn_bucket_id(&mut self, route: &Route, id: &str) {
        if self.bucket_ids.get(&route.template).map(String::as_str) == Some(id) {
            return;
        }
        let old = self.key(route);
        self.bucket_ids
            .insert(route.template.clone(), id.to_owned());
        let new = self.key(route);
        if let Some(moved) = self.buckets.remove(&old) {
            match self.buckets.get_mut(&new) {
                Some(existing) => existing.absorb(&moved),
                None => {
                    self.buckets.insert(new, moved);
                }
            }
        }
    }
}

/// A reserved bucket slot; released with what the answer said, or, if the caller gave up
/// first, released without returning the slot (the request may have been counted).
pub(super) struct Permit<'a> {
    gate: &'a Gate<State>,
    route: &'a Route,
    done: bool,
}

impl<'a> Permit<'a> {
    /// The slot [`State::reserve`] just took for `route`.
    pub(super) fn new(gate: &'a Gate<State>, route: &'a Route) -> Self {
        Self {
            gate,
            route,
            done: false,
        }
    }

    pub(super) fn finish(mut self, now: Instant, answer: Option<&Answer>) {
        self.done = true;
        self.gate
            .release(|state| state.finish(self.route, now, answer));
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.gate
                .release(|state| state.finish(self.route, Instant::now(), None));
        }
    }
}
