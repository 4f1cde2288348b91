//! Limit state behind a lock, and the wait for a slot: a caller reserves under the lock, and
//! one that must wait sleeps until its time or until an answer changes what it may do, never
//! past its deadline.

use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

use super::Step;
use crate::platform::ApiError;

#[derive(Default)]
pub(crate) struct Gate<S> {
    state: Mutex<S>,
    /// Woken whenever an answer changes what the waiters may do.
    answered: Notify,
}

impl<S> Gate<S> {
    pub(crate) fn lock(&self) -> MutexGuard<'_, S> {
        // Limit state is plain counters, valid after any panic that poisoned the lock.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Updates the state with what an answer said (or that none will come) and wakes every
    /// waiter.
    pub(crate) fn release(&self, update: impl FnOnce(&mut S)) {
        update(&mut self.lock());
        self.answered.notify_waiters();
    }

    /// Waits until `reserve` lets the request through, or fails at once when it would hold the
    /// request past the deadline. `reserve` takes the slot when it answers [`Step::Send`]; the
    /// guard `held` makes (before any wait for the slot's time, so that a caller who gives up
    /// still gives the slot back) holds it until the answer is read.
    pub(crate) async fn wait_for_slot<G>(
        &self,
        deadline: Instant,
        mut reserve: impl FnMut(&mut S, Instant) -> Result<Step, ApiError>,
        held: impl FnOnce() -> G,
    ) -> Result<G, ApiError> {
        loop {
            // Registered before the state is read, so an answer that lands in between still
            // wakes this waiter.
            let answered = self.answered.notified();
            tokio::pin!(answered);
            answered.as_mut().enable();
            let now = Instant::now();
            let step = reserve(&mut self.lock(), now)?;
            match step {
                Step::Send { at } => {
                    let guard = held();
                    if at > now {
                        sleep_until(at).await;
                    }
                    return Ok(guard);
                }
                Step::WaitUntil(until) => {
                    tokio::select! {
                        _ = &mut answered => {}
                        _ = sleep_until(until) => {}
                    }
                }
                Step::WaitForAnswer => {
                    tokio::select! {
                        _ = &mut answered => {}
                        _ = sleep_until(deadline) => {
                            // The bucket is held by requests in flight, each bounded by its own
                            // timeout; a second is the soonest a new attempt is worth making.
                            return Err(ApiError::RateLimited { retry_after_ms: 1000 });
                        }
                    }
                }
            }
        }
    }
}
