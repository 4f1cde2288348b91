//! The bus of `gavel serve` and the tests: an in-process queue with its own worker task. It is
//! here rather than beside the bus port in `crate::jobs` because it drives the [`Worker`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::{Notify, mpsc};

use super::{Outcome, Worker};
use crate::jobs::{Bus, BusError, Job};

/// How long a job may run under `gavel serve` (a Lambda gets its own deadline).
const LOCAL_JOB_BUDGET: Duration = Duration::from_secs(30);
/// A job the worker asks to retry (claimed elsewhere, or a transient failure) is tried again
/// this many times, as EventBridge and Lambda's async retries would.
const LOCAL_ATTEMPTS: u32 = 4;
const LOCAL_RETRY_DELAY: Duration = Duration::from_millis(500);
/// Deliveries waiting or running at most: past it, publishing is refused (and `gavel serve`
/// answers 503), so a worker slower than the traffic cannot grow the queue without bound.
pub const MAX_PENDING: usize = 1000;

/// The local bus: a queue and one worker task. `copies` delivers every job that many times
/// (2 makes at-least-once delivery visible: the worker must still act once).
pub struct InProcessBus {
    queue: mpsc::UnboundedSender<(Job, u32)>,
    copies: usize,
    max_pending: usize,
    pending: Arc<AtomicUsize>,
    idle: Arc<Notify>,
    /// The task that takes jobs off the queue; it holds the worker (and so the store).
    receiver: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl InProcessBus {
    /// Starts the worker task on the current runtime, taking at most [`MAX_PENDING`]
    /// deliveries at once.
    pub fn start(worker: Arc<Worker>, copies: usize) -> Arc<Self> {
        Self::start_bounded(worker, copies, MAX_PENDING)
    }

    /// [`start`](Self::start) with another bound.
    pub fn start_bounded(worker: Arc<Worker>, copies: usize, max_pending: usize) -> Arc<Self> {
        let (queue, mut jobs) = mpsc::unbounded_channel::<(Job, u32)>();
        let pending = Arc::new(AtomicUsize::new(0));
        let idle = Arc::new(Notify::new());
        let (requeue, in_flight, idle_signal) =
            (queue.clone(), Arc::clone(&pending), Arc::clone(&idle));
        let receiver = tokio::spawn(async move {
            let (queue, pending, idle) = (requeue, in_flight, idle_signal);
            while let Some((job, attempt)) = jobs.recv().await {
                let worker = Arc::clone(&worker);
                let queue = queue.clone();
                let pending = Arc::clone(&pending);
                let idle = Arc::clone(&idle);
                // Deliveries run concurrently, as Lambda instances would.
                tokio::spawn(async move {
                    let outcome = worker.handle(&job, Instant::now() + LOCAL_JOB_BUDGET).await;
                    // Let go of the worker (and the store it holds) before this delivery counts
                    // as finished, so that `stop` really releases the store.
                    drop(worker);
                    if let Outcome::RetryLater(why) = &outcome
                        && attempt + 1 < LOCAL_ATTEMPTS
                    {
                        tracing::info!(job = %job.log_id(), why, "job will be delivered again");
                        tokio::time::sleep(LOCAL_RETRY_DELAY).await;
                        if queue.send((job, attempt + 1)).is_ok() {
                            return;
                        }
                    } else if let Outcome::RetryLater(why) = &outcome {
                        tracing::error!(
                            job = %job.log_id(),
                            reply_to = ?job.reply_to,
                            why,
                            "job given up after its retries"
                        );
                    }
                    if pending.fetch_sub(1, Ordering::SeqCst) == 1 {
                        idle.notify_waiters();
                    }
                });
            }
        });
        Arc::new(Self {
            queue,
            copies: copies.max(1),
            max_pending: max_pending.max(1),
            pending,
            idle,
            receiver: std::sync::Mutex::new(Some(receiver)),
        })
    }

    /// Finishes every delivery under way, then stops taking jobs and lets go of the worker:
    /// after this the store can be opened again (a restarted `gavel serve`).
    pub async fn stop(&self) {
        self.drained().await;
        let receiver = self
            .receiver
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(receiver) = receiver {
            receiver.abort();
            let _ = receiver.await;
        }
    }

    /// Whether a job published now would be refused.
    pub fn is_full(&self) -> bool {
        self.pending.load(Ordering::SeqCst) + self.copies > self.max_pending
    }

    /// Resolves once every published delivery has been handled (tests and the demo).
    pub async fn drained(&self) {
        loop {
            let notified = self.idle.notified();
            if self.pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

#[async_trait]
impl Bus for InProcessBus {
    async fn publish(&self, job: &Job) -> Result<(), BusError> {
        if self.is_full() {
            return Err(BusError::Failed(format!(
                "the local worker has {} deliveries waiting, its most",
                self.max_pending
            )));
        }
        for _ in 0..self.copies {
            self.pending.fetch_add(1, Ordering::SeqCst);
            if self.queue.send((job.clone(), 0)).is_err() {
                self.pending.fetch_sub(1, Ordering::SeqCst);
                return Err(BusError::Failed("the local worker has stopped".into()));
            }
        }
        Ok(())
    }
}
