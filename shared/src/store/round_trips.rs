//! Counts store round trips per request, and the time spent in them, so the
//! acknowledgement-path budget (at most 2) is visible in traces and metrics and checkable in
//! tests.
//!
//! A task-local counter: the edge opens a scope per request, adapters call [`record`] for each
//! call they make to their backend (holding the guard it returns until the answer is read), and
//! whatever runs inside the scope is counted, however many requests run concurrently in the
//! same process.

use std::cell::Cell;
use std::future::Future;
use std::time::{Duration, Instant};

tokio::task_local! {
    static ROUND_TRIPS: Cell<Trips>;
}

/// What a scope's store calls cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Trips {
    pub count: u32,
    /// Wall time inside store calls (overlapping calls count each).
    pub latency: Duration,
}

/// One backend call in progress: counted at once, its time added when dropped.
#[must_use = "hold the guard until the call's answer is read, so its time counts"]
pub struct Trip {
    started: Instant,
}

impl Drop for Trip {
    fn drop(&mut self) {
        let elapsed = self.started.elapsed();
        let _ = ROUND_TRIPS.try_with(|trips| {
            let mut t = trips.get();
            t.latency += elapsed;
            trips.set(t);
        });
    }
}

/// Adapters call this once per backend call and keep the guard until it answered.
pub fn record() -> Trip {
    let _ = ROUND_TRIPS.try_with(|trips| {
        let mut t = trips.get();
        t.count += 1;
        trips.set(t);
    });
    Trip {
        started: Instant::now(),
    }
}

/// Runs `future` and returns its output with the number of round trips it made.
pub async fn measure<F: Future>(future: F) -> (F::Output, u32) {
    let (output, trips) = measure_timed(future).await;
    (output, trips.count)
}

/// [`measure`] with the time spent in the calls.
pub async fn measure_timed<F: Future>(future: F) -> (F::Output, Trips) {
    ROUND_TRIPS
        .scope(Cell::new(Trips::default()), async move {
            let output = future.await;
            (output, ROUND_TRIPS.with(Cell::get))
        })
        .await
}
