//! Scheduled maintenance: expiry of temporary bans, decay of scores, cleanup of what expired,
//! reminders, and the hand-off of native AutoMod's audit log to the worker. The jobs run on EventBridge Scheduler schedules on AWS (the maintenance
//! function) and on the ticker of `gavel serve` locally, and `gavel job run` runs one by hand.
//!
//! Every job is
//! - **exact**: an item is acted on by one conditional write on its version (a lift, a
//!   delivery, a threshold crossing), so the one-time schedule and the sweep firing together,
//!   or two runs at once, act once; the loser reports that someone else did;
//! - **safe to repeat**: platform work goes to the worker as a job whose id is derived from the
//!   item, through an *outbox* item written in the same transaction as the change, so a crash
//!   between the commit and the publish is repaired by the next run and a repeated publish is
//!   absorbed by the worker's claim;
//! - **bounded**: items are processed a page at a time within a [`Budget`] (the Lambda's
//!   remaining time); what is left is found by the next run. Due-index queues need no cursor
//!   (what was handled leaves the queue); the cleanup scan keeps one in the store.
//!
//! Nothing here knows AWS: the store, bus, clock and [`Scheduler`](crate::jobs::Scheduler) are ports.

pub mod automod_audit;
pub mod cleanup;
pub mod decay;
pub mod expire;
pub mod reminders;
mod sweep;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;
use tracing::Instrument;

use crate::clock::Clock;
use crate::invocation::Platform;
use crate::jobs::{Bus, Job, Trigger, Wakeup};
use crate::moderation::ModSettings;
use crate::store::{ItemKey, NewItem, PageRequest, Store, StoreError, WriteOp};

/// The sweeps' names are the schedules' vocabulary (see `crate::jobs::schedule`).
pub use crate::jobs::Sweep;

/// How much one run may do: until `deadline`, and at most `max_pages` pages if set (an
/// operator's `--max-pages`, and tests that show a job finishing across runs).
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub deadline: Instant,
    pub max_pages: Option<u32>,
}

/// A page is never started with less time left than this, even if earlier pages were quicker.
const MIN_PAGE_TIME: Duration = Duration::from_secs(2);

impl Budget {
    pub fn until(deadline: Instant) -> Self {
        Self {
            deadline,
            max_pages: None,
        }
    }

    pub fn for_secs(secs: u64) -> Self {
        Self::until(Instant::now() + Duration::from_secs(secs))
    }

    pub fn with_max_pages(mut self, pages: u32) -> Self {
        self.max_pages = Some(pages);
        self
    }

    fn pages(self) -> Pages {
        Pages {
            budget: self,
            done: 0,
            longest: Duration::ZERO,
            started: None,
        }
    }
}

/// Counts a run's pages against its budget.
struct Pages {
    budget: Budget,
    done: u32,
    longest: Duration,
    started: Option<Instant>,
}

impl Pages {
    /// Whether another page fits: under the page limit, and time left for a page as long as
    /// the longest so far (at least [`MIN_PAGE_TIME`]), so no run is cut off mid-page.
    fn another(&mut self) -> bool {
        if let Some(started) = self.started.take() {
            self.longest = self.longest.max(started.elapsed());
            self.done += 1;
        }
        if self.budget.max_pages.is_some_and(|max| self.done >= max) {
            return false;
        }
        if !self.in_time() {
            return false;
        }
        self.started = Some(Instant::now());
        true
    }

    /// Whether a page as long as the longest so far still fits before the deadline, without
    /// counting one: the outbox's few leftovers must not use up a run's page limit.
    fn in_time(&self) -> bool {
        let needed = self.longest.max(MIN_PAGE_TIME);
        Instant::now() + needed <= self.budget.deadline
    }
}

/// What a run did, in counts a person can read ("lifted 2, superseded 1").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Serialised as `job`, the name the maintenance function's output has always used.
    #[serde(rename = "job")]
    pub sweep: Sweep,
    /// In the order they were first counted.
    pub counts: Vec<(&'static str, u64)>,
    /// Work is left that this run's budget did not reach; the next run continues.
    pub more: bool,
    /// Why items were left alone, one line each (stale schedules, conflicts), at most
    /// [`MAX_NOTES`].
    pub notes: Vec<String>,
}

/// Notes kept per report: enough to explain, not enough to flood a log line.
pub const MAX_NOTES: usize = 20;

impl Report {
    fn new(sweep: Sweep, names: &[&'static str]) -> Self {
        Self {
            sweep,
            counts: names.iter().map(|n| (*n, 0)).collect(),
            more: false,
            notes: Vec::new(),
        }
    }

    fn add(&mut self, name: &'static str, by: u64) {
        match self.counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, count)) => *count += by,
            None => self.counts.push((name, by)),
        }
    }

    fn note(&mut self, line: String) {
        tracing::info!(job = %self.sweep, "{line}");
        if self.notes.len() < MAX_NOTES {
            self.notes.push(line);
        }
    }

    /// The count called `name` (0 if never counted).
    /// One `MaintenanceItems` metric set per kind counted (zeros too, so a quiet run shows).
    fn emit_metrics(&self) {
        use crate::telemetry::metrics::{MetricSet, Unit};
        for (kind, count) in &self.counts {
            MetricSet::new()
                .dimension("Sweep", self.sweep.as_str())
                .dimension("Kind", *kind)
                .value("MaintenanceItems", Unit::Count, *count as f64)
                .emit();
        }
    }

    pub fn count(&self, name: &str) -> u64 {
        self.counts
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, c)| *c)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<String> = self
            .counts
            .iter()
            .map(|(name, count)| format!("{name} {count}"))
            .collect();
        write!(f, "{}: {}", self.sweep, counts.join(", "))?;
        if self.more {
            f.write_str(" (more left for the next run)")?;
        }
        for note in &self.notes {
            write!(f, "\n  {note}")?;
        }
        Ok(())
    }
}

/// The maintenance jobs over one store and bus.
pub struct Maintenance {
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    clock: Arc<dyn Clock>,
    page_size: u32,
}

/// Items per page: small enough that a page of lifts (a few store calls each) takes seconds.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

impl Maintenance {
    pub fn new(store: Arc<dyn Store>, bus: Arc<dyn Bus>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            bus,
            clock,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }

    /// Items per page (1 to 1000).
    pub fn with_page_size(mut self, size: u32) -> Self {
        self.page_size = size.clamp(1, 1000);
        self
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    fn now(&self) -> i64 {
        self.clock.now_secs()
    }

    fn page(&self, cursor: Option<String>) -> PageRequest {
        PageRequest {
            limit: self.page_size,
            cursor,
            descending: false,
        }
    }

    /// Runs one job within `budget`. A store failure ends the run early with what it did so
    /// far noted; the next run continues.
    pub async fn run(&self, job: Sweep, budget: Budget) -> Report {
        let span = tracing::info_span!("maintenance", job = %job);
        let report = async {
            match job {
                Sweep::Expire => expire::sweep(self, budget).await,
                Sweep::Decay => decay::sweep(self, budget).await,
                Sweep::Cleanup => cleanup::run(self, budget).await,
                Sweep::Reminders => reminders::sweep(self, budget).await,
                Sweep::AutomodAudit => automod_audit::sweep(self, budget).await,
            }
        }
        .instrument(span)
        .await;
        tracing::info!(job = %job, counts = ?report.counts, more = report.more, "maintenance run done");
        report.emit_metrics();
        report
    }

    /// Handles one one-time schedule.
    pub async fn wake(&self, wakeup: &Wakeup) -> Report {
        match wakeup {
            Wakeup::LiftExpired {
                platform,
                tenant,
                target,
                case,
                ..
            } => expire::wake(self, *platform, tenant, target, *case).await,
            Wakeup::DeliverReminder {
                platform,
                tenant,
                user,
                id,
                ..
            } => reminders::wake(self, *platform, tenant, user, *id).await,
        }
    }

    /// Handles what invoked the maintenance function: each named job in turn, or one wakeup.
    pub async fn handle(&self, trigger: &Trigger, budget: Budget) -> Vec<Report> {
        match trigger {
            Trigger::Run(jobs) => {
                let mut reports = Vec::new();
                for job in jobs {
                    reports.push(self.run(*job, budget).await);
                }
                reports
            }
            Trigger::Wake(wakeup) => vec![self.wake(wakeup).await],
        }
    }
}

/// Each tenant's moderation (and economy) settings, read once per run.
#[derive(Default)]
struct Tenants {
    settings: HashMap<(Platform, String), ModSettings>,
    economy: HashMap<(Platform, String), crate::economy::EconomySettings>,
}

impl Tenants {
    async fn settings(
        &mut self,
        store: &dyn Store,
        platform: Platform,
        tenant: &str,
    ) -> Result<&ModSettings, StoreError> {
        let key = (platform, tenant.to_owned());
        if !self.settings.contains_key(&key) {
            let (settings, _) = ModSettings::load(store, platform, tenant).await?;
            self.settings.insert(key.clone(), settings);
        }
        Ok(&self.settings[&key])
    }

    async fn economy(
        &mut self,
        store: &dyn Store,
        platform: Platform,
        tenant: &str,
    ) -> Result<&crate::economy::EconomySettings, StoreError> {
        let key = (platform, tenant.to_owned());
        if !self.economy.contains_key(&key) {
            let (settings, _) =
                crate::economy::EconomySettings::load(store, platform, tenant).await?;
            self.economy.insert(key.clone(), settings);
        }
        Ok(&self.economy[&key])
    }
}

/// The outbox: a job to publish, written in the same transaction as the change that calls for
/// it, deleted once published. An outbox item still there a little later means the run that
/// wrote it stopped before publishing (a crash, a bus outage): the job's own sweep publishes it
/// again, and the worker's claim on the job id makes a repeat harmless.
pub mod outbox {
    use super::*;

    /// A run normally publishes within milliseconds of its commit; only items older than this
    /// are taken for abandoned, so a sweep does not republish what a concurrent run is about
    /// to publish (which would be harmless, only wasteful).
    pub const GRACE_SECS: i64 = 120;

    /// Each job drains its own queue, so one job's backlog never delays another's.
    pub fn queue(job: Sweep) -> String {
        format!("outbox-{job}")
    }

    pub fn key(job_id: &str) -> ItemKey {
        ItemKey::new(format!("outbox#{job_id}"), "outbox")
    }

    /// The write that puts `job` in `owner`'s outbox.
    pub fn put(owner: Sweep, job: &Job, now: i64) -> WriteOp {
        WriteOp::Create(NewItem::new(key(&job.id), json!(job)).due(queue(owner), now + GRACE_SECS))
    }

    /// Publishes `job` and clears its outbox item. False if the bus refused: the item stays for
    /// the next sweep.
    pub async fn send(store: &dyn Store, bus: &dyn Bus, job: &Job) -> bool {
        if let Err(error) = bus.publish(job).await {
            tracing::warn!(%error, job = %job.log_id(), "job not published; the next sweep will publish it");
            return false;
        }
        if let Err(error) = store.delete(&key(&job.id), None).await {
            // Published: the next sweep publishes it again and the worker's claim absorbs it.
            tracing::warn!(%error, job = %job.log_id(), "published, but the outbox item stays");
        }
        true
    }

    /// Publishes what earlier runs left in `owner`'s outbox, counted as "republished".
    pub(super) async fn drain(
        m: &Maintenance,
        owner: Sweep,
        pages: &mut super::Pages,
        report: &mut Report,
    ) {
        let queue = queue(owner);
        let mut cursor = None;
        loop {
            if !pages.in_time() {
                report.more = true;
                return;
            }
            let page = match m.store.due_by(&queue, m.now(), m.page(cursor)).await {
                Ok(page) => page,
                Err(error) => {
                    report.add("failed", 1);
                    report.note(format!("could not read the outbox: {error}"));
                    return;
                }
            };
            for item in page.items {
                match serde_json::from_value::<Job>(item.data) {
                    Ok(job) => {
                        if send(m.store.as_ref(), m.bus.as_ref(), &job).await {
                            report.add("republished", 1);
                        } else {
                            report.add("failed", 1);
                        }
                    }
                    Err(error) => {
                        report.add("failed", 1);
                        report.note(format!(
                            "outbox item {} is not a job ({error}); left for an operator",
                            item.key.pk
                        ));
                    }
                }
            }
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_read_as_counts_with_notes() {
        let mut report = Report::new(Sweep::Expire, &["lifted", "superseded"]);
        report.add("lifted", 2);
        report.add("failed", 1);
        report.note("case #3 ends later now".into());
        report.more = true;
        assert_eq!(
            report.to_string(),
            "expire: lifted 2, superseded 0, failed 1 (more left for the next run)\n  case #3 ends later now"
        );
        assert_eq!(report.count("lifted"), 2);
        assert_eq!(report.count("nothing"), 0);
    }

    #[test]
    fn a_page_limit_and_the_deadline_both_stop_a_run() {
        let mut pages = Budget::for_secs(60).with_max_pages(2).pages();
        assert!(pages.another());
        assert!(pages.another());
        assert!(!pages.another());
        let mut late = Budget::until(Instant::now()).pages();
        assert!(!late.another(), "no page starts without time for it");
    }
}
