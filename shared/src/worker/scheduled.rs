//! The worker's side of scheduled maintenance: creating and deleting one-time schedules
//! (temporary bans' ends, reminders) and delivering reminders.
//!
//! A schedule is only punctuality: the maintenance sweep finds every due item anyway. So a
//! schedule that cannot be made is logged and the job is done (a transient Scheduler failure
//! is retried, as any other), and nobody is told of a schedule that was made.

use std::time::Instant;

use crate::invocation::Platform;
use crate::jobs::{ScheduleError, Scheduler, Wakeup};
use crate::moderation::{Cases, Kind, Status};
use crate::platform::{ApiError, DiscordApi, SlackApi, TelegramApi};
use crate::reply::Reply;
use crate::store::Store;

pub(super) struct Scheduled<'a> {
    pub store: &'a dyn Store,
    pub scheduler: Option<&'a dyn Scheduler>,
    pub discord: Option<&'a dyn DiscordApi>,
    pub slack: Option<&'a dyn SlackApi>,
    pub telegram: Option<&'a dyn TelegramApi>,
    pub now_secs: i64,
}

impl Scheduled<'_> {
    /// Creates the schedule; the text (empty: nothing to tell) is for whoever waits.
    pub async fn schedule(&self, wakeup: &Wakeup) -> Result<String, ApiError> {
        // A time already past needs no schedule: the next sweep is sooner than any.
        if wakeup.at() <= self.now_secs {
            return Ok(String::new());
        }
        let Some(scheduler) = self.scheduler else {
            tracing::info!(
                at = wakeup.at(),
                "no scheduler here; the maintenance sweep will find it"
            );
            return Ok(String::new());
        };
        match scheduler.create(wakeup).await {
            Ok(()) => {
                tracing::info!(name = wakeup.name(), at = wakeup.at(), "schedule created");
                Ok(String::new())
            }
            Err(error) => schedule_failure(error),
        }
    }

    pub async fn unschedule(&self, wakeup: &Wakeup) -> Result<String, ApiError> {
        let Some(scheduler) = self.scheduler else {
            return Ok(String::new());
        };
        match scheduler.delete(wakeup).await {
            Ok(()) => Ok(String::new()),
            Err(error) => schedule_failure(error),
        }
    }

    /// After a temporary ban was applied: the one-time schedule at its end, read from the
    /// case (the job names only the case). Never fails the job: the ban is done, and the sweep
    /// lifts it on time within minutes without a schedule.
    pub async fn schedule_lift(&self, platform: Platform, tenant: &str, target: &str, case: u64) {
        let cases = Cases::new(self.store, platform, tenant);
        let at = match cases.get_of(target, case).await {
            Ok(Some(stored))
                if stored.case.kind == Kind::TempBan && stored.case.status == Status::Active =>
            {
                stored.case.expires_at
            }
            Ok(_) => None,
            Err(error) => {
                tracing::warn!(%error, case, "could not read the case to schedule its end");
                None
            }
        };
        let Some(at) = at else { return };
        let wakeup = Wakeup::LiftExpired {
            platform,
            tenant: tenant.to_owned(),
            target: target.to_owned(),
            case,
            at,
        };
        if let Err(error) = self.schedule(&wakeup).await {
            tracing::warn!(%error, case, "the ban's end was not scheduled; the sweep will lift it");
        }
    }

    /// Delivers a reminder: by DM, else in the channel where it was set.
    pub async fn remind(
        &self,
        platform: Platform,
        user: &str,
        channel: Option<&str>,
        text: &str,
        set_at: i64,
        deadline: Instant,
    ) -> Result<String, ApiError> {
        let message = format!(
            "⏰ Reminder (set {}): {text}",
            crate::moderation::date_time(set_at)
        );
        let dm = match platform {
            Platform::Discord => self.discord()?.send_dm(user, &message, deadline).await,
            Platform::Slack => self.slack()?.send_dm(user, &message, deadline).await,
            // Reaches only a user who has started the bot; otherwise the group gets it.
            Platform::Telegram => {
                self.telegram()?
                    .send_reply(user, &Reply::ephemeral(message.clone()), deadline)
                    .await
            }
        };
        let refused = match dm {
            Ok(_) => return Ok(format!("<@{user}> was reminded by DM.")),
            Err(error) if error.is_transient() => return Err(error),
            Err(error) => error,
        };
        let Some(channel) = channel else {
            return Err(refused);
        };
        let post = format!("<@{user}> {message}");
        match platform {
            Platform::Discord => {
                self.discord()?
                    .create_message(channel, &post, deadline)
                    .await
            }
            Platform::Slack => self.slack()?.post_message(channel, &post, deadline).await,
            Platform::Telegram => {
                self.telegram()?
                    .send_reply(channel, &Reply::ephemeral(post), deadline)
                    .await
            }
        }?;
        Ok(format!(
            "<@{user}> was reminded in <#{channel}> (no DM: {refused})."
        ))
    }

    fn discord(&self) -> Result<&dyn DiscordApi, ApiError> {
        self.discord
            .ok_or_else(|| ApiError::NotSent("no Discord API client is configured".into()))
    }

    fn slack(&self) -> Result<&dyn SlackApi, ApiError> {
        self.slack
            .ok_or_else(|| ApiError::NotSent("no Slack API client is configured".into()))
    }

    fn telegram(&self) -> Result<&dyn TelegramApi, ApiError> {
        self.telegram
            .ok_or_else(|| ApiError::NotSent("no Telegram API client is configured".into()))
    }
}

fn schedule_failure(error: ScheduleError) -> Result<String, ApiError> {
    match error {
        ScheduleError::Unavailable(why) => Err(ApiError::Unavailable(format!("scheduler: {why}"))),
        ScheduleError::Failed(why) => {
            tracing::error!(
                why,
                "schedule refused; the maintenance sweep will handle the item"
            );
            Ok(String::new())
        }
    }
}
