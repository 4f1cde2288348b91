//! The worker: does each job once, calls the platform, tells the outcome.
//!
//! Exactly-once per job id, over at-least-once delivery:
//! 1. claim `job#{id}` with a create (a lease that expires after [`LEASE_SECS`]);
//! 2. a delivery that finds the job **done** does nothing; one that finds it **running**
//!    elsewhere asks to be delivered again later (so a crashed run is taken over once its
//!    lease lapses);
//! 3. after the platform call the claim becomes **done** (kept a day), or, on a transient
//!    failure (429 beyond the budget, 5xx), is released so the next delivery tries again.
//!
//! Permanent failures ("I lack the Send Messages permission there") are done too: they are
//! told to the user, not retried.
//!
//! A driver, like the edge and maintenance: it takes jobs (`crate::jobs`) off the bus and
//! reads and writes moderation's records (`sanctions`) and the schedules (`scheduled`).

pub mod automod;
pub mod local_bus;
mod sanctions;
mod scheduled;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tracing::Instrument;

use crate::clock::Clock;
use crate::invocation::Platform;
use crate::jobs::{Job, ReplyTarget, Scheduler, Task};
use crate::moderation::Kind;
use crate::platform::{ApiError, DiscordApi, SlackApi, TelegramApi};
use crate::reply::Reply;
use crate::store::keys::Community;
use crate::store::{ItemKey, NewItem, Store, StoreError, create_or_replace};

pub use local_bus::InProcessBus;

/// A run that has not finished by then is presumed dead and may be taken over.
pub const LEASE_SECS: i64 = 120;
/// Done markers outlive every redelivery (EventBridge retries for up to 24 hours).
pub const DONE_SECS: i64 = 25 * 60 * 60;
/// How often marking a job done is tried before the worker gives up on it (each try has the
/// store's own budget).
const MARK_DONE_ATTEMPTS: usize = 3;

/// What became of one delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done now (successfully or with a failure told to the user).
    Done,
    /// Done by an earlier delivery; nothing happened.
    Duplicate,
    /// Not done; deliver again later (the Lambda reports an error so EventBridge retries).
    RetryLater(String),
}

pub struct Worker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    discord: Option<Arc<dyn DiscordApi>>,
    slack: Option<Arc<dyn SlackApi>>,
    telegram: Option<Arc<dyn TelegramApi>>,
    scheduler: Option<Arc<dyn Scheduler>>,
}

impl Worker {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        discord: Option<Arc<dyn DiscordApi>>,
        slack: Option<Arc<dyn SlackApi>>,
    ) -> Self {
        Self {
            store,
            clock,
            discord,
            slack,
            telegram: None,
            scheduler: None,
        }
    }

    /// Calls Telegram's Bot API with `api` for Telegram jobs (without one they fail with a
    /// clear message, as for the other platforms).
    pub fn with_telegram(mut self, api: Arc<dyn TelegramApi>) -> Self {
        self.telegram = Some(api);
        self
    }

    /// Makes one-time schedules (temporary bans' ends, reminders) with `scheduler`. Without
    /// one, the maintenance sweep alone finds what is due.
    pub fn with_scheduler(mut self, scheduler: Arc<dyn Scheduler>) -> Self {
        self.scheduler = Some(scheduler);
        self
    }

    /// Where the community's member reports go.
    pub fn report_channel_key(platform: Platform, tenant: &str) -> ItemKey {
        ItemKey::new(Community::new(platform, tenant).config(), "reports")
    }

    fn claim_key(job: &Job) -> ItemKey {
        ItemKey::new(format!("job#{}", job.id), "job")
    }

    /// Handles one delivery of `job`; nothing it does runs past `deadline`.
    pub async fn handle(&self, job: &Job, deadline: Instant) -> Outcome {
        let span = tracing::info_span!("job", id = %job.log_id(), platform = %job.platform, tenant = job.tenant);
        let outcome = self.handle_in_span(job, deadline).instrument(span).await;
        let name = match &outcome {
            Outcome::Done => "done",
            Outcome::Duplicate => "duplicate",
            Outcome::RetryLater(_) => "retry",
        };
        crate::telemetry::metrics::count("JobOutcome", &[("Outcome", name)]);
        outcome
    }

    async fn handle_in_span(&self, job: &Job, deadline: Instant) -> Outcome {
        let now = self.clock.now_secs();
        let key = Self::claim_key(job);
        let claim = NewItem::new(key.clone(), json!({ "state": "running", "since": now }))
            .expiring_at(now + LEASE_SECS);
        let claimed = match self.store.create(claim).await {
            Ok(item) => item,
            Err(StoreError::AlreadyExists) => {
                return match self.store.get(&key).await {
                    Ok(Some(item)) if item.data["state"] == "done" => {
                        tracing::info!("job already done; this delivery does nothing");
                        Outcome::Duplicate
                    }
                    Ok(_) => Outcome::RetryLater("another delivery is running this job".into()),
                    Err(error) => Outcome::RetryLater(format!("store: {error}")),
                };
            }
            Err(error) => return Outcome::RetryLater(format!("store: {error}")),
        };
        let result = self.perform(job, deadline).await;
        if let Err(error) = &result
            && error.is_transient()
        {
            // Release the claim so the next delivery tries again.
            if let Err(store_error) = self.store.delete(&key, Some(claimed.version)).await {
                tracing::warn!(%store_error, "could not release the job claim; it lapses with its lease");
            }
            return Outcome::RetryLater(error.to_string());
        }
        let done = NewItem::new(
            key,
            json!({ "state": "done", "ok": result.is_ok(), "at": self.clock.now_secs() }),
        )
        .expiring_at(self.clock.now_secs() + DONE_SECS);
        if let Err(error) = self.mark_done(done, claimed.version, deadline).await {
            // The work happened; a later delivery repeats it once the lease lapses. Worth a
            // loud log.
            tracing::error!(%error, "job done but its claim could not be marked done");
        }
        let message = match &result {
            Ok(message) => message.clone(),
            Err(error) => failure_message(&job.task, error),
        };
        // Some work has nothing to tell (a schedule made).
        if !message.is_empty() {
            self.tell(job, &message, deadline).await;
        }
        Outcome::Done
    }

    /// Turns the claim (at `version`) into the done marker. A transient failure is tried
    /// again while `deadline` allows: without the marker, a later delivery of the job would do
    /// it again once the lease lapses. A conflict one version ahead is this very write, landed
    /// by an attempt whose answer was lost (nobody else writes the claim while the lease
    /// holds).
    async fn mark_done(
        &self,
        done: NewItem,
        version: u64,
        deadline: Instant,
    ) -> Result<(), StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.store.update(done.clone(), version).await {
                Ok(_) => return Ok(()),
                Err(StoreError::VersionConflict { current }) if current == Some(version + 1) => {
                    return Ok(());
                }
                Err(error)
                    if error.is_transient()
                        && attempt < MARK_DONE_ATTEMPTS
                        && Instant::now() < deadline =>
                {
                    tracing::warn!(%error, attempt, "marking the job done failed; trying again");
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Does the task; the text is what the user is told.
    async fn perform(&self, job: &Job, deadline: Instant) -> Result<String, ApiError> {
        match &job.task {
            Task::ApplySanction { .. }
            | Task::LiftSanction { .. }
            | Task::Notify { .. }
            | Task::Post(_) => {
                let sanctions = sanctions::Sanctions {
                    store: self.store.as_ref(),
                    discord: self.discord.as_deref(),
                    slack: self.slack.as_deref(),
                    telegram: self.telegram.as_deref(),
                    now_secs: self.clock.now_secs(),
                };
                let done = sanctions.perform(job, deadline).await;
                // A temporary ban in force gets its one-time schedule at its end.
                if let (
                    Ok(_),
                    Task::ApplySanction {
                        action: Kind::TempBan,
                        case,
                        target,
                        ..
                    },
                ) = (&done, &job.task)
                {
                    self.scheduled()
                        .schedule_lift(job.platform, &job.tenant, target, *case)
                        .await;
                }
                done
            }
            Task::DeleteMessage {
                channel,
                message,
                modlog,
            } => {
                self.delete_caught(job.platform, channel, message, modlog.as_deref(), deadline)
                    .await
            }
            Task::Schedule { wakeup } => self.scheduled().schedule(wakeup).await,
            Task::Unschedule { wakeup } => self.scheduled().unschedule(wakeup).await,
            Task::Remind {
                user,
                channel,
                text,
                set_at,
            } => {
                self.scheduled()
                    .remind(
                        job.platform,
                        user,
                        channel.as_deref(),
                        text,
                        *set_at,
                        deadline,
                    )
                    .await
            }
            Task::SyncAutomod { guild } => {
                let api = self
                    .discord
                    .as_deref()
                    .ok_or_else(not_configured(Platform::Discord))?;
                let report = automod::sync_stored(
                    api,
                    self.store.as_ref(),
                    guild,
                    self.clock.now_secs(),
                    deadline,
                )
                .await?;
                Ok(fit_message(&report.to_string()))
            }
            Task::IngestAutomodAudit { guild } => {
                let api = self
                    .discord
                    .as_deref()
                    .ok_or_else(not_configured(Platform::Discord))?;
                let report = automod::ingest_audit_log(
                    api,
                    self.store.as_ref(),
                    guild,
                    self.clock.now_secs(),
                    deadline,
                )
                .await?;
                tracing::info!(
                    recorded = report.recorded.len(),
                    duplicates = report.duplicates,
                    skipped = report.skipped,
                    more = report.more,
                    "AutoMod audit log read"
                );
                // Nobody waits for it: the sweep published it.
                Ok(String::new())
            }
            Task::SetReportChannel { channel } => {
                self.post(
                    job.platform,
                    channel,
                    "👋 Gavel will post member reports in this channel.",
                    deadline,
                )
                .await?;
                let key = Self::report_channel_key(job.platform, &job.tenant);
                let item = NewItem::new(key, json!({ "channel": channel }));
                let stored = create_or_replace(self.store.as_ref(), item).await;
                // The post went out; retrying the job would post again. Say what happened.
                if let Err(error) = stored {
                    tracing::error!(%error, "posted, but the report channel was not saved");
                    return Ok(format!(
                        "⚠️ I can post in <#{channel}>, but could not save it as the report channel. Please run `/reportchannel` again."
                    ));
                }
                Ok(format!("✅ Member reports will be posted in <#{channel}>."))
            }
            Task::DeliverReport {
                target,
                reporter,
                reason,
                evidence,
            } => {
                let key = Self::report_channel_key(job.platform, &job.tenant);
                let channel = match self.store.get(&key).await {
                    Ok(Some(item)) => item.data["channel"].as_str().map(str::to_owned),
                    Ok(None) => None,
                    Err(error) => return Err(ApiError::Unavailable(format!("store: {error}"))),
                };
                let Some(channel) = channel else {
                    return Ok(
                        "No report channel is set; the report is kept for `/reports`.".into(),
                    );
                };
                let mut text = format!("📣 <@{reporter}> reported <@{target}>: {reason}");
                if let Some(link) = evidence {
                    text.push_str(&format!("\nEvidence: {link}"));
                }
                self.post(job.platform, &channel, &text, deadline).await?;
                Ok(format!("Posted in <#{channel}>."))
            }
        }
    }

    /// Deletes a message an AutoMod rule caught. A refusal that will not change on a retry
    /// (no admin token on Slack, a missing permission) is told to the mod log once, so the
    /// moderators can delete it themselves.
    async fn delete_caught(
        &self,
        platform: Platform,
        channel: &str,
        message: &str,
        modlog: Option<&str>,
        deadline: Instant,
    ) -> Result<String, ApiError> {
        let deleted = match platform {
            Platform::Discord => {
                let api = self.discord.as_ref().ok_or_else(not_configured(platform))?;
                api.delete_message(channel, message, "AutoMod rule", deadline)
                    .await
            }
            Platform::Slack => {
                let api = self.slack.as_ref().ok_or_else(not_configured(platform))?;
                api.delete_message(channel, message, deadline).await
            }
            Platform::Telegram => {
                let api = self
                    .telegram
                    .as_ref()
                    .ok_or_else(not_configured(platform))?;
                api.delete_message(channel, message, deadline).await
            }
        };
        match deleted {
            Ok(()) => Ok("Deleted the caught message.".to_owned()),
            Err(error) if error.is_transient() => Err(error),
            Err(error) => {
                if let Some(modlog) = modlog {
                    let note = format!(
                        "⚠️ AutoMod could not delete the caught message in <#{channel}>: {error}. Please delete it yourselves."
                    );
                    self.post(platform, modlog, &note, deadline).await?;
                }
                Err(error)
            }
        }
    }

    fn scheduled(&self) -> scheduled::Scheduled<'_> {
        scheduled::Scheduled {
            store: self.store.as_ref(),
            scheduler: self.scheduler.as_deref(),
            discord: self.discord.as_deref(),
            slack: self.slack.as_deref(),
            telegram: self.telegram.as_deref(),
            now_secs: self.clock.now_secs(),
        }
    }

    async fn post(
        &self,
        platform: Platform,
        channel: &str,
        text: &str,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        match platform {
            Platform::Discord => {
                let api = self.discord.as_ref().ok_or_else(not_configured(platform))?;
                api.create_message(channel, text, deadline)
                    .await
                    .map(|_| ())
            }
            Platform::Slack => {
                let api = self.slack.as_ref().ok_or_else(not_configured(platform))?;
                api.post_message(channel, text, deadline).await.map(|_| ())
            }
            Platform::Telegram => {
                let api = self
                    .telegram
                    .as_ref()
                    .ok_or_else(not_configured(platform))?;
                let reply = Reply::ephemeral(text);
                api.send_reply(channel, &reply, deadline).await.map(|_| ())
            }
        }
    }

    /// Edits the original answer with the outcome, while the platform still allows it.
    async fn tell(&self, job: &Job, message: &str, deadline: Instant) {
        let age = self.clock.now_secs() - job.created_at;
        if age >= job.reply_to.lifetime_secs() {
            tracing::warn!(
                age,
                "the answer can no longer be edited; outcome only logged"
            );
            return;
        }
        let told = match &job.reply_to {
            ReplyTarget::Nobody => return,
            ReplyTarget::DiscordInteraction { token } => match &self.discord {
                Some(api) => {
                    when_answered(deadline, || {
                        api.edit_original_response(token, message, deadline)
                    })
                    .await
                }
                None => Err(not_configured(Platform::Discord)()),
            },
            ReplyTarget::SlackResponseUrl { url } => match &self.slack {
                Some(api) => api.respond(url, message, true, deadline).await,
                None => Err(not_configured(Platform::Slack)()),
            },
            ReplyTarget::DiscordFollowup { token } => match &self.discord {
                Some(api) => {
                    when_answered(deadline, || api.create_followup(token, message, deadline)).await
                }
                None => Err(not_configured(Platform::Discord)()),
            },
            ReplyTarget::SlackFollowup { url } => match &self.slack {
                Some(api) => api.respond(url, message, false, deadline).await,
                None => Err(not_configured(Platform::Slack)()),
            },
            ReplyTarget::TelegramChat { chat } => match &self.telegram {
                Some(api) => api
                    .send_reply(chat, &Reply::ephemeral(message), deadline)
                    .await
                    .map(|_| ()),
                None => Err(not_configured(Platform::Telegram)()),
            },
        };
        if let Err(error) = told {
            tracing::warn!(%error, reply_to = ?job.reply_to, "could not tell the outcome");
        }
    }
}

/// How long to wait for the deferred answer to exist before editing it, and how often to look.
const ANSWER_WAIT: Duration = Duration::from_millis(500);
const ANSWER_LOOKS: u32 = 4;

/// Calls `answer` (an edit of, or a follow-up to, a Discord interaction's answer). A job can
/// run before Discord has received the deferred answer it builds on (a fast bus, the local
/// queue), and Discord then answers 404: look again a few times, within the deadline, before
/// giving up.
async fn when_answered<F, Fut>(deadline: Instant, answer: F) -> Result<(), ApiError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiError>>,
{
    let mut looks = 1;
    loop {
        match answer().await {
            Err(ApiError::NotFound(_))
                if looks < ANSWER_LOOKS && Instant::now() + ANSWER_WAIT < deadline =>
            {
                looks += 1;
                tokio::time::sleep(ANSWER_WAIT).await;
            }
            other => return other,
        }
    }
}

fn not_configured(platform: Platform) -> impl FnOnce() -> ApiError {
    move || ApiError::NotSent(format!("no {} API client is configured", platform.name()))
}

/// What the user reads when a task failed for good.
fn failure_message(task: &Task, error: &ApiError) -> String {
    let why = match error {
        ApiError::Forbidden { message } => message.clone(),
        ApiError::NotFound(what) => format!("it was not found ({what})"),
        other => other.to_string(),
    };
    match task {
        Task::SetReportChannel { channel } => format!(
            "❌ I could not post in <#{channel}>: {why}. The report channel was not changed."
        ),
        Task::DeliverReport { .. } => {
            format!("The report is saved, but posting it to the report channel failed: {why}.")
        }
        Task::ApplySanction { case, .. } => {
            format!("❌ Case #{case} is recorded, but I could not act on it: {why}.")
        }
        Task::LiftSanction { .. } => format!("❌ I could not lift the sanction: {why}."),
        Task::Notify { user, .. } => format!("I could not message <@{user}>: {why}."),
        Task::Post(post) => format!("❌ I could not post in <#{}>: {why}.", post.channel),
        Task::Schedule { .. } | Task::Unschedule { .. } => {
            format!("⚠️ I could not schedule that ({why}); the periodic check will handle it.")
        }
        Task::Remind { user, .. } => format!("I could not remind <@{user}>: {why}."),
        Task::SyncAutomod { .. } => format!("❌ I could not sync Discord's AutoMod rules: {why}."),
        Task::IngestAutomodAudit { .. } => {
            format!("I could not read what AutoMod did: {why}.")
        }
        Task::DeleteMessage { channel, .. } => {
            format!("❌ I could not delete the message in <#{channel}>: {why}.")
        }
    }
}

/// Discord's message content holds at most 2000 characters: a long report is cut at a line.
const MAX_MESSAGE_CHARS: usize = 2000;

fn fit_message(text: &str) -> String {
    if text.chars().count() <= MAX_MESSAGE_CHARS {
        return text.to_owned();
    }
    let marker = "\n… (more not shown)";
    let room = MAX_MESSAGE_CHARS - marker.chars().count();
    let cut: String = text.chars().take(room).collect();
    let cut = match cut.rfind('\n') {
        Some(at) => &cut[..at],
        None => &cut,
    };
    format!("{cut}{marker}")
}
