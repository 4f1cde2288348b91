//! The worker's moderation tasks: DM the member, apply or lift the sanction on the platform,
//! post to the mod log, and note on the case what happened.
//!
//! Order matters: the DM goes before a kick or ban (afterwards Discord no longer lets the bot
//! reach the member), and its outcome is saved on the case before the action, so a delivery
//! retried after a transient failure of the action does not DM the member twice.

use std::time::Instant;

use crate::invocation::Platform;
use crate::jobs::{Job, Post, Task};
use crate::moderation::{CaseEvent, Cases, Kind, StoredCase};
use crate::platform::telegram::until_date;
use crate::platform::{ApiError, DiscordApi, SlackApi, TelegramApi};
use crate::reply::Reply;
use crate::store::{Store, StoreError};

/// How often a note on a case is retried when a moderator edits the case at the same moment.
const NOTE_RETRIES: usize = 3;

pub(super) struct Sanctions<'a> {
    pub store: &'a dyn Store,
    pub discord: Option<&'a dyn DiscordApi>,
    pub slack: Option<&'a dyn SlackApi>,
    pub telegram: Option<&'a dyn TelegramApi>,
    pub now_secs: i64,
}

impl Sanctions<'_> {
    /// Does a moderation task; the text is what the moderator is told.
    pub async fn perform(&self, job: &Job, deadline: Instant) -> Result<String, ApiError> {
        match &job.task {
            Task::ApplySanction {
                case,
                action,
                target,
                reason,
                until,
                delete_message_secs,
                channel,
                dm,
                modlog,
            } => {
                let apply = Apply {
                    case: *case,
                    action: *action,
                    target,
                    reason,
                    until: *until,
                    delete_message_secs: *delete_message_secs,
                    channel: channel.as_deref(),
                };
                self.apply(job, &apply, dm.as_ref(), modlog.as_ref(), deadline)
                    .await
            }
            Task::LiftSanction {
                case,
                action,
                target,
                reason,
                dm,
                modlog,
            } => {
                self.lift(job, *case, *action, target, reason, deadline)
                    .await?;
                let mut told = match action {
                    Kind::Mute => format!("🔊 <@{target}>'s timeout was lifted."),
                    _ if job.platform == Platform::Slack => format!(
                        "✅ Recorded. Slack has no bans, so there was nothing to lift for <@{target}>."
                    ),
                    _ => format!("🔓 <@{target}> was unbanned."),
                };
                if let Some(dm) = dm {
                    told.push_str(&self.dm_outcome(job.platform, target, dm, deadline).await);
                }
                self.post_modlog(job.platform, modlog.as_ref(), deadline)
                    .await;
                Ok(told)
            }
            Task::Notify { user, message } => {
                self.send_dm(job.platform, user, message, deadline).await?;
                Ok(format!("<@{user}> was told."))
            }
            Task::Post(post) => {
                self.post(job.platform, post, deadline).await?;
                Ok(format!("Posted in <#{}>.", post.channel))
            }
            Task::SetReportChannel { .. }
            | Task::DeliverReport { .. }
            | Task::Schedule { .. }
            | Task::Unschedule { .. }
            | Task::Remind { .. }
            | Task::DeleteMessage { .. }
            | Task::SyncAutomod { .. }
            | Task::IngestAutomodAudit { .. } => {
                Err(ApiError::NotSent("not a moderation task".to_owned()))
            }
        }
    }

    async fn apply(
        &self,
        job: &Job,
        apply: &Apply<'_>,
        dm: Option<&Reply>,
        modlog: Option<&Post>,
        deadline: Instant,
    ) -> Result<String, ApiError> {
        let cases = Cases::new(self.store, job.platform, &job.tenant);
        let stored = cases
            .get_of(apply.target, apply.case)
            .await
            .map_err(store_unavailable)?;

        // Nobody may moderate a Discord server's owner; refuse before DMing them about it.
        if job.platform == Platform::Discord && apply.action.acts_on_platform() {
            let owner = self.discord()?.guild_owner(&job.tenant, deadline).await?;
            if owner == apply.target {
                let why = "the member owns this server, and Discord lets nobody moderate a server's owner";
                self.note(&cases, apply, "not applied", why).await;
                return Ok(format!(
                    "❌ Case #{} is recorded, but nothing was applied: {why}.",
                    apply.case
                ));
            }
        }

        let mut told = String::new();
        let already_told = stored.as_ref().and_then(|s| s.case.dm.clone());
        if let (Some(dm), None) = (dm, &already_told) {
            let outcome = match self.send_dm(job.platform, apply.target, dm, deadline).await {
                Ok(()) => "sent".to_owned(),
                Err(error) if error.is_transient() => return Err(error),
                Err(error) => format!("failed: {}", plain(&error)),
            };
            self.note_dm(&cases, apply, &outcome).await;
            told = if outcome == "sent" {
                " They were told by DM.".to_owned()
            } else {
                format!(
                    " I could not DM them ({}); that is noted on the case.",
                    outcome.trim_start_matches("failed: ")
                )
            };
        }

        let done = match self.act(job, apply, deadline).await {
            Ok(done) => done,
            Err(error) if error.is_transient() => return Err(error),
            Err(error) => {
                let why = refusal(job.platform, apply, &error);
                self.note(&cases, apply, "not applied", &why).await;
                return Ok(format!(
                    "❌ Case #{} is recorded, but {} refused the {}: {why}.{told}",
                    apply.case,
                    job.platform.name(),
                    apply.action.label()
                ));
            }
        };
        self.post_modlog(job.platform, modlog, deadline).await;
        Ok(format!("{done}{told}"))
    }

    /// The platform call for a sanction; the text says what happened.
    async fn act(
        &self,
        job: &Job,
        apply: &Apply<'_>,
        deadline: Instant,
    ) -> Result<String, ApiError> {
        let (guild, user, reason) = (job.tenant.as_str(), apply.target, apply.reason);
        let audit_reason = format!("Case #{}: {reason}", apply.case);
        let case = apply.case;
        match (job.platform, apply.action) {
            (_, Kind::Note) => Ok(format!("📝 Case #{case}: note recorded.")),
            (_, Kind::Warning) => Ok(format!("⚠️ Case #{case}: <@{user}> was warned.")),
            (Platform::Discord, Kind::Mute) => {
                let api = self.discord()?;
                api.timeout_member(guild, user, apply.until, &audit_reason, deadline)
                    .await?;
                Ok(match apply.until {
                    Some(end) => format!(
                        "🔇 Case #{case}: <@{user}> is timed out until {}.",
                        crate::moderation::date_time(end)
                    ),
                    None => format!("🔊 Case #{case}: <@{user}>'s timeout was lifted."),
                })
            }
            (Platform::Discord, Kind::Kick) => {
                self.discord()?
                    .kick_member(guild, user, &audit_reason, deadline)
                    .await?;
                Ok(format!("👢 Case #{case}: <@{user}> was kicked."))
            }
            (Platform::Discord, Kind::Ban | Kind::TempBan) => {
                self.discord()?
                    .ban_member(
                        guild,
                        user,
                        apply.delete_message_secs,
                        &audit_reason,
                        deadline,
                    )
                    .await?;
                Ok(format!(
                    "{} Case #{case}: <@{user}> was banned.",
                    apply.action.emoji()
                ))
            }
            (Platform::Telegram, Kind::Mute) => {
                let until = until_date(apply.until, self.now_secs);
                self.telegram()?
                    .restrict_member(guild, user, until, deadline)
                    .await?;
                Ok(match until {
                    Some(end) => format!(
                        "🔇 Case #{case}: <@{user}> is muted until {}.",
                        crate::moderation::date_time(end)
                    ),
                    None => format!("🔇 Case #{case}: <@{user}> is muted."),
                })
            }
            // Telegram's own end of a temporary ban is a convenience: Gavel's expiry lifts
            // it on time whatever Telegram was told (over 366 days it is told "forever").
            (Platform::Telegram, Kind::Ban | Kind::TempBan) => {
                let until = match apply.action {
                    Kind::TempBan => until_date(apply.until, self.now_secs),
                    _ => None,
                };
                let revoke = apply.delete_message_secs > 0;
                self.telegram()?
                    .ban_member(guild, user, until, revoke, deadline)
                    .await?;
                Ok(format!(
                    "{} Case #{case}: <@{user}> was banned.",
                    apply.action.emoji()
                ))
            }
            // Telegram has no kick: a ban lifted at once removes the member, who may rejoin.
            (Platform::Telegram, Kind::Kick) => {
                let api = self.telegram()?;
                api.ban_member(guild, user, None, false, deadline).await?;
                api.unban_member(guild, user, deadline).await?;
                Ok(format!(
                    "👢 Case #{case}: <@{user}> was removed from the group."
                ))
            }
            (Platform::Slack, Kind::Mute) => Ok(format!(
                "🔇 Case #{case}: recorded. Slack has no mute, so <@{user}> can still post; the case counts toward their score."
            )),
            (Platform::Slack, Kind::Kick | Kind::Ban | Kind::TempBan) => {
                let Some(channel) = apply.channel else {
                    return Ok(format!(
                        "{} Case #{case}: recorded. Slack lets apps remove members only from channels, and this command had none.",
                        apply.action.emoji()
                    ));
                };
                self.slack()?
                    .kick_from_channel(channel, user, deadline)
                    .await?;
                Ok(format!(
                    "{} Case #{case}: <@{user}> was removed from <#{channel}>. Slack does not let apps remove or ban members from the workspace; an admin can deactivate the account.",
                    apply.action.emoji()
                ))
            }
        }
    }

    async fn lift(
        &self,
        job: &Job,
        case: Option<u64>,
        action: Kind,
        target: &str,
        reason: &str,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        if job.platform == Platform::Slack {
            return Ok(());
        }
        if job.platform == Platform::Telegram {
            let api = self.telegram()?;
            return match action {
                Kind::Mute => {
                    api.restrict_member(&job.tenant, target, None, deadline)
                        .await
                }
                // `only_if_banned`: a member who rejoined after Telegram lifted the ban stays.
                Kind::Ban | Kind::TempBan => api.unban_member(&job.tenant, target, deadline).await,
                Kind::Note | Kind::Warning | Kind::Kick => Ok(()),
            };
        }
        let audit_reason = match case {
            Some(n) => format!("Case #{n}: {reason}"),
            None => reason.to_owned(),
        };
        let api = self.discord()?;
        match action {
            Kind::Mute => {
                api.timeout_member(&job.tenant, target, None, &audit_reason, deadline)
                    .await
            }
            Kind::Ban | Kind::TempBan => {
                api.unban_member(&job.tenant, target, &audit_reason, deadline)
                    .await
            }
            Kind::Note | Kind::Warning | Kind::Kick => Ok(()),
        }
    }

    async fn send_dm(
        &self,
        platform: Platform,
        user: &str,
        message: &Reply,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        let text = plain_text(message);
        match platform {
            // Buttons (a banned member's Appeal) need the message as components.
            Platform::Discord if !message.buttons.is_empty() => {
                self.discord()?.send_dm_reply(user, message, deadline).await
            }
            Platform::Discord => self.discord()?.send_dm(user, &text, deadline).await,
            Platform::Slack => self.slack()?.send_dm(user, &text, deadline).await,
            // A private chat reaches only a user who has started the bot (403 otherwise).
            Platform::Telegram => self.telegram()?.send_reply(user, message, deadline).await,
        }
        .map(|_| ())
    }

    /// " They were told." or why not, for the moderator's answer.
    async fn dm_outcome(
        &self,
        platform: Platform,
        user: &str,
        dm: &Reply,
        deadline: Instant,
    ) -> String {
        match self.send_dm(platform, user, dm, deadline).await {
            Ok(()) => " They were told by DM.".to_owned(),
            Err(error) => format!(" I could not DM them ({}).", plain(&error)),
        }
    }

    async fn post(
        &self,
        platform: Platform,
        post: &Post,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        match platform {
            Platform::Discord => {
                self.discord()?
                    .post_reply(&post.channel, &post.message, deadline)
                    .await
            }
            Platform::Slack => {
                self.slack()?
                    .post_reply(&post.channel, &post.message, deadline)
                    .await
            }
            Platform::Telegram => {
                self.telegram()?
                    .send_reply(&post.channel, &post.message, deadline)
                    .await
            }
        }
        .map(|_| ())
    }

    /// The mod-log post is a courtesy: its failure is logged, not retried (the action stands).
    async fn post_modlog(&self, platform: Platform, post: Option<&Post>, deadline: Instant) {
        if let Some(post) = post
            && let Err(error) = self.post(platform, post, deadline).await
        {
            tracing::warn!(%error, channel = post.channel, "could not post to the mod log");
        }
    }

    async fn note_dm(&self, cases: &Cases<'_>, apply: &Apply<'_>, outcome: &str) {
        let event = self.event("dm", outcome);
        self.update_case(cases, apply, |case| {
            case.dm = Some(outcome.to_owned());
            case.history.push(event.clone());
        })
        .await;
    }

    async fn note(&self, cases: &Cases<'_>, apply: &Apply<'_>, what: &str, why: &str) {
        let event = self.event(what, why);
        self.update_case(cases, apply, |case| case.history.push(event.clone()))
            .await;
    }

    fn event(&self, what: &str, detail: &str) -> CaseEvent {
        CaseEvent {
            at: self.now_secs,
            by: "gavel".to_owned(),
            what: what.to_owned(),
            before: None,
            after: Some(detail.to_owned()),
        }
    }

    /// A versioned read-change-write of the case, retried if a moderator edits it meanwhile.
    /// A note that cannot be saved is logged: it never undoes what was done.
    async fn update_case(
        &self,
        cases: &Cases<'_>,
        apply: &Apply<'_>,
        change: impl Fn(&mut crate::moderation::Case),
    ) {
        for _ in 0..NOTE_RETRIES {
            let stored = match cases.get_of(apply.target, apply.case).await {
                Ok(Some(stored)) => stored,
                Ok(None) => return,
                Err(error) => {
                    tracing::warn!(%error, case = apply.case, "could not read the case to note on it");
                    return;
                }
            };
            let mut case = stored.case.clone();
            change(&mut case);
            let op = cases.update_op(&StoredCase {
                case,
                version: stored.version,
            });
            match self.store.transact(vec![op]).await {
                Ok(()) => return,
                Err(StoreError::TransactionConflict { .. }) => continue,
                Err(error) => {
                    tracing::warn!(%error, case = apply.case, "could not note on the case");
                    return;
                }
            }
        }
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

struct Apply<'a> {
    case: u64,
    action: Kind,
    target: &'a str,
    reason: &'a str,
    until: Option<i64>,
    delete_message_secs: u32,
    channel: Option<&'a str>,
}

/// Why the platform refused, in words: on Discord a 403 on a member is nearly always the role
/// order, which moderators can fix.
fn refusal(platform: Platform, apply: &Apply<'_>, error: &ApiError) -> String {
    match (platform, error) {
        (Platform::Discord, ApiError::Forbidden { message }) => format!(
            "my highest role must be above <@{}>'s highest role, and I need the {} permission ({message})",
            apply.target,
            match apply.action {
                Kind::Mute => "Moderate Members",
                Kind::Kick => "Kick Members",
                _ => "Ban Members",
            }
        ),
        _ => plain(error),
    }
}

fn plain(error: &ApiError) -> String {
    match error {
        ApiError::Forbidden { message } => message.clone(),
        ApiError::NotFound(what) => format!("not found ({what})"),
        other => other.to_string(),
    }
}

/// A DM is plain text: its fields become lines.
fn plain_text(reply: &Reply) -> String {
    let mut text = reply.text.clone();
    for field in &reply.fields {
        text.push_str(&format!("\n**{}**: {}", field.name, field.value));
    }
    text
}

fn store_unavailable(error: StoreError) -> ApiError {
    ApiError::Unavailable(format!("store: {error}"))
}
