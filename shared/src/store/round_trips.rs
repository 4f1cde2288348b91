//! Counts store round trips per request, and the time spent in them, so the
//! acknowledgement-path budget (at most 2) is visible in traces and metrics and checkable in
//! tests.
//!
//! A task-local counter: the edge opens a scope per request, adapters call [`record`] for each
//! call they make to their backend (holding the guard it returns until the answer is read), and
//! whatever runs inside the scope is counted, however many requests run concurrently in the
//! same process.
//!
//! Adapters of a backend billed per unit of work (DynamoDB's read and write capacity units)
//! also report what each call consumed ([`consume`]), so the cost of a path is counted the same
//! way as its round trips, and a change that adds a write fails a test instead of showing up on
//! a bill. Backends that bill nothing per call (the embedded store) report nothing.

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
    /// Capacity the calls consumed, as the adapter reported it.
    pub capacity: Capacity,
}

/// Read and write capacity units, in DynamoDB's terms: a read unit is one strongly consistent
/// read of up to 4 KB (an eventually consistent one is half a unit, so reads are counted in
/// halves), a write unit one write of up to 1 KB; transactional reads and writes cost twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capacity {
    pub read_half_units: u32,
    pub write_units: u32,
}

impl Capacity {
    pub const ZERO: Capacity = Capacity {
        read_half_units: 0,
        write_units: 0,
    };

    pub fn reads(half_units: u32) -> Self {
        Self {
            read_half_units: half_units,
            write_units: 0,
        }
    }

    pub fn writes(units: u32) -> Self {
        Self {
            read_half_units: 0,
            write_units: units,
        }
    }

    /// Read units, halves included (`1.5`).
    pub fn read_units(self) -> f64 {
        f64::from(self.read_half_units) / 2.0
    }
}

impl std::ops::Add for Capacity {
    type Output = Capacity;
    fn add(self, other: Capacity) -> Capacity {
        Capacity {
            read_half_units: self.read_half_units + other.read_half_units,
            write_units: self.write_units + other.write_units,
        }
    }
}

impl std::ops::AddAssign for Capacity {
    fn add_assign(&mut self, other: Capacity) {
        *self = *self + other;
    }
}

/// Adapters call this with what a call consumed (once its answer says it was served: a
/// conditional write whose condition failed is billed too).
pub fn consume(capacity: Capacity) {
    let _ = ROUND_TRIPS.try_with(|trips| {
        let mut t = trips.get();
        t.capacity += capacity;
        trips.set(t);
    });
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

/// [`measure`] with the time spent in the calls and the capacity they consumed.
///
/// Scopes nest: what an inner scope counted is added to the enclosing one when it ends, so a
/// test (or a caller) measuring around the edge sees the calls the edge measured for itself.
pub async fn measure_timed<F: Future>(future: F) -> (F::Output, Trips) {
    let (output, inner) = ROUND_TRIPS
        .scope(Cell::new(Trips::default()), async move {
            let output = future.await;
            (output, ROUND_TRIPS.with(Cell::get))
        })
        .await;
    let _ = ROUND_TRIPS.try_with(|outer| {
        let mut t = outer.get();
        t.count += inner.count;
        t.latency += inner.latency;
        t.capacity += inner.capacity;
        outer.set(t);
    });
    (output, inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_inner_scope_adds_what_it_counted_to_the_enclosing_one() {
        let ((_, inner), outer) = measure_timed(async {
            drop(record());
            consume(Capacity::writes(2));
            measure_timed(async {
                drop(record());
                consume(Capacity::reads(1));
            })
            .await
        })
        .await;
        assert_eq!(inner.count, 1);
        assert_eq!(inner.capacity, Capacity::reads(1));
        assert_eq!(outer.count, 2);
        assert_eq!(
            outer.capacity,
            Capacity {
                read_half_units: 1,
                write_units: 2
            }
        );
        // Outside any scope, nothing is counted and nothing fails.
        consume(Capacity::writes(1));
    }
}
