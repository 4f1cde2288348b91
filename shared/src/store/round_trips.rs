//! Counts store round trips per request, so the acknowledgement-path budget (at most 2) is
//! visible in traces and checkable in tests.
//!
//! A task-local counter: the edge opens a scope per request, adapters call [`record`] for each
//! call they make to their backend, and whatever runs inside the scope is counted, however
//! many requests run concurrently in the same process.

use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static ROUND_TRIPS: Cell<u32>;
}

/// Adapters call this once per backend call.
pub fn record() {
    let _ = ROUND_TRIPS.try_with(|count| count.set(count.get() + 1));
}

/// Runs `future` and returns its output with the number of round trips it made.
pub async fn measure<F: Future>(future: F) -> (F::Output, u32) {
    ROUND_TRIPS
        .scope(Cell::new(0), async move {
            let output = future.await;
            (output, ROUND_TRIPS.with(Cell::get))
        })
        .await
}
