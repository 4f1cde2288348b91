//! Test doubles shared by the end-to-end suites: a bus that keeps what is published, and rate
//! limits generous enough never to interfere with what a suite tests (rate limits are tested on
//! their own, in tests/rate_limits.rs).

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use gavel_shared::jobs::{Bus, BusError, Job};
use gavel_shared::ratelimit::gcra::BucketPolicy;
use gavel_shared::ratelimit::policy::Policies;

/// Keeps every published job, for the test to read or hand to the worker.
#[derive(Default)]
pub struct RecordingBus {
    jobs: Mutex<Vec<Job>>,
}

#[async_trait]
impl Bus for RecordingBus {
    async fn publish(&self, job: &Job) -> Result<(), BusError> {
        self.lock().push(job.clone());
        Ok(())
    }
}

impl RecordingBus {
    /// Every job published so far.
    pub fn jobs(&self) -> Vec<Job> {
        self.lock().clone()
    }

    /// The jobs published since the last take.
    pub fn take(&self) -> Vec<Job> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Job>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A million requests a second for every bucket.
pub fn generous_limits() -> Policies {
    let policy = BucketPolicy::new(1_000_000, Duration::from_secs(1)).expect("a valid policy");
    Policies {
        user_command: policy,
        tenant: policy,
        moderation: policy,
    }
}
