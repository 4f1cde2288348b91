//! Discord's native AutoMod, driven: [`sync_native`] brings a guild's native rules to what the
//! community's Gavel rules compile to (`crate::automod::native`), and [`ingest_audit_log`] turns
//! what those rules did (the guild's audit log) into cases, so native hits reach the points
//! ledger like a moderator's.
//!
//! Both run in the worker, the one function that holds the bot token: `/automod sync` publishes
//! [`Task::SyncAutomod`](crate::jobs::Task::SyncAutomod), the maintenance sweep `automod_audit`
//! publishes [`Task::IngestAutomodAudit`](crate::jobs::Task::IngestAutomodAudit) for each guild
//! whose native rules Gavel manages, and `gavel discord automod sync` calls [`sync_native`]
//! directly.
//!
//! Items (in the guild's config partition `discord:{guild}#config`):
//! - `automod` — the community's rules (the `/automod` settings document);
//! - `automod-native` — what the last sync made: each native rule's [`Meaning`], in the
//!   [`AUDIT_QUEUE`] due index, which is how the sweep finds the guilds to read without a scan;
//! - `automod-audit-cursor` — per audit action type, the newest entry id read.
//!
//! and one claim per audit entry read (`discord:{guild}#automod-entry` / `entry#{id}`), created
//! in the same transaction as its case, so an entry read twice (a cursor write lost, two runs at
//! once) makes one case.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::automod::native::{self, Meaning, Plan};
use crate::automod::rules::Rules;
use crate::case_kind::Kind;
use crate::invocation::{Action, Actor, Capabilities, CommandCall, Invocation, Platform};
use crate::moderation::actions::{ModContext, Sanction, prepare_sanction};
use crate::moderation::{ModSettings, automod_rules};
use crate::platform::automod::AuditLogEntry;
use crate::platform::{ApiError, DiscordApi};
use crate::store::keys::Community;
use crate::store::{ItemKey, NewItem, Store, StoreError, WriteOp, create_or_replace, document};

/// The due-index queue of guilds whose native AutoMod Gavel manages, read by the
/// `automod_audit` sweep.
pub const AUDIT_QUEUE: &str = "automod-audit";
/// How often a guild's audit log is read (the sweep's period).
pub const AUDIT_EVERY_SECS: i64 = 300;
/// Claims outlive any gap the cursor could leave (a lost cursor write is repaired next run).
const CLAIM_SECS: i64 = 90 * 86_400;
/// Pages of 100 read per action type per run; the rest waits for the next run.
const MAX_PAGES: usize = 10;
/// How often a case is prepared again when another case took its number.
const NUMBER_RETRIES: usize = 16;
/// The `X-Audit-Log-Reason` of sync's writes, in the guild's audit log.
const SYNC_REASON: &str = "Gavel AutoMod sync";
/// Who the cases name as moderator.
pub const AUTOMOD_ACTOR: &str = "automod";

/// What the last sync of `guild` made.
pub fn registry_key(guild: &str) -> ItemKey {
    ItemKey::new(
        Community::new(Platform::Discord, guild).config(),
        "automod-native",
    )
}

fn cursor_key(guild: &str) -> ItemKey {
    ItemKey::new(
        Community::new(Platform::Discord, guild).config(),
        "automod-audit-cursor",
    )
}

fn claim_key(guild: &str, entry: &str) -> ItemKey {
    ItemKey::new(
        Community::new(Platform::Discord, guild).automod_entries(),
        format!("entry#{entry}"),
    )
}

/// The registry item: what sync made, for the audit-log reader.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Registry {
    /// Native rule name → what it means.
    pub meanings: BTreeMap<String, Meaning>,
    pub synced_at: i64,
}

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    /// Rule ids.
    pub deleted: Vec<String>,
    pub unchanged: Vec<String>,
    pub not_compiled: Vec<String>,
    /// Writes Discord refused, one line each (the others were still made).
    pub failed: Vec<String>,
}

impl SyncReport {
    /// Write calls made (successful or not).
    pub fn writes(&self) -> usize {
        self.created.len() + self.updated.len() + self.deleted.len() + self.failed.len()
    }
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let icon = if self.failed.is_empty() {
            "✅"
        } else {
            "⚠️"
        };
        write!(
            f,
            "{icon} AutoMod sync: {} created, {} updated, {} deleted, {} unchanged.",
            self.created.len(),
            self.updated.len(),
            self.deleted.len(),
            self.unchanged.len()
        )?;
        for (what, lines) in [("Created", &self.created), ("Updated", &self.updated)] {
            if !lines.is_empty() {
                write!(f, "\n{what}: {}", lines.join(", "))?;
            }
        }
        if !self.failed.is_empty() {
            f.write_str("\nDiscord refused:")?;
            for line in &self.failed {
                write!(f, "\n• {line}")?;
            }
        }
        if !self.not_compiled.is_empty() {
            f.write_str("\nNot compiled into Discord's AutoMod:")?;
            for line in &self.not_compiled {
                write!(f, "\n• {line}")?;
            }
        }
        Ok(())
    }
}

/// Lists `guild`'s native rules, plans (`crate::automod::native::plan`) and applies the plan:
/// deletes first (they free Discord's per-guild slots), then updates, then creates. A second
/// sync with nothing changed lists and writes nothing. A write Discord refuses (a 400) is in
/// the report and the others still go; a transient failure (rate limit, outage) stops the sync
/// with the error, and the next sync, diffing again, finishes the job. With a store, what was
/// made is recorded for [`ingest_audit_log`] and the guild enters its queue.
pub async fn sync_native(
    api: &dyn DiscordApi,
    store: Option<&dyn Store>,
    guild: &str,
    rules: &Rules,
    modlog: Option<&str>,
    now_secs: i64,
    deadline: Instant,
) -> Result<SyncReport, ApiError> {
    let current = api.list_automod_rules(guild, deadline).await?;
    let plan = native::plan(rules, modlog, &current);
    let Plan {
        creates,
        updates,
        deletes,
        unchanged,
        not_compiled,
        meanings,
    } = plan;
    let mut report = SyncReport {
        unchanged,
        not_compiled,
        ..SyncReport::default()
    };
    let refused = |error: ApiError, what: String, report: &mut SyncReport| {
        if error.is_transient() {
            return Err(error);
        }
        report.failed.push(format!("{what}: {error}"));
        Ok(())
    };
    for id in deletes {
        match api
            .delete_automod_rule(guild, &id, SYNC_REASON, deadline)
            .await
        {
            Ok(()) => report.deleted.push(id),
            Err(e) => refused(e, format!("deleting rule {id}"), &mut report)?,
        }
    }
    for (id, body) in updates {
        match api
            .modify_automod_rule(guild, &id, &body, SYNC_REASON, deadline)
            .await
        {
            Ok(_) => report.updated.push(body.name),
            Err(e) => refused(e, format!("updating `{}`", body.name), &mut report)?,
        }
    }
    for body in creates {
        match api
            .create_automod_rule(guild, &body, SYNC_REASON, deadline)
            .await
        {
            Ok(_) => report.created.push(body.name),
            Err(e) => refused(e, format!("creating `{}`", body.name), &mut report)?,
        }
    }
    if let Some(store) = store {
        let registry = Registry {
            meanings,
            synced_at: now_secs,
        };
        // Due at once: the next sweep reads the audit log from where it stands.
        let item = NewItem::new(registry_key(guild), json!(registry)).due(AUDIT_QUEUE, now_secs);
        if let Err(error) = create_or_replace(store, item).await {
            tracing::warn!(%error, "synced, but what was made is not recorded for the audit-log reader");
            report.failed.push(format!(
                "the rules are synced, but Gavel could not record them, so their hits will not become cases until the next sync ({error})"
            ));
        }
    }
    Ok(report)
}

/// Reads the community's stored rules and mod-log channel, then [`sync_native`].
pub async fn sync_stored(
    api: &dyn DiscordApi,
    store: &dyn Store,
    guild: &str,
    now_secs: i64,
    deadline: Instant,
) -> Result<SyncReport, ApiError> {
    let unavailable = |e: StoreError| ApiError::Unavailable(format!("store: {e}"));
    let (rules, _) = automod_rules::load(store, Platform::Discord, guild)
        .await
        .map_err(unavailable)?;
    let (settings, _) = ModSettings::load(store, Platform::Discord, guild)
        .await
        .map_err(unavailable)?;
    sync_native(
        api,
        Some(store),
        guild,
        &rules,
        settings.modlog_channel.as_deref(),
        now_secs,
        deadline,
    )
    .await
}

/// What one read of a guild's audit log did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Cases opened, by number.
    pub recorded: Vec<u64>,
    /// Entries already recorded by an earlier read.
    pub duplicates: usize,
    /// Entries of rules Gavel does not manage, or of an action type that does not count for
    /// their rule (one execution leaves an entry per action).
    pub skipped: usize,
    /// More entries are waiting than one run reads.
    pub more: bool,
}

/// Reads `guild`'s AutoMod entries after the stored cursor and records each counted one as a
/// case, once: the case, its audit entry and the claim on the Discord entry's id commit in one
/// transaction, and the cursor moves after. The member is not messaged and nothing is done on
/// Discord: the native rule already acted (blocked, alerted, timed out).
pub async fn ingest_audit_log(
    api: &dyn DiscordApi,
    store: &dyn Store,
    guild: &str,
    now_secs: i64,
    deadline: Instant,
) -> Result<IngestReport, ApiError> {
    let unavailable = |e: StoreError| ApiError::Unavailable(format!("store: {e}"));
    let mut report = IngestReport::default();
    let Some(registry) = store.get(&registry_key(guild)).await.map_err(unavailable)? else {
        return Ok(report);
    };
    let registry: Registry = document::read(&registry, "AutoMod registry");
    let cursor_item = store.get(&cursor_key(guild)).await.map_err(unavailable)?;
    let mut cursors: BTreeMap<String, String> = cursor_item
        .map(|item| document::read(&item, "AutoMod audit cursor"))
        .unwrap_or_default();
    let mut types: Vec<u16> = registry.meanings.values().map(|m| m.counted_on).collect();
    types.sort();
    types.dedup();
    let (settings, _) = ModSettings::load(store, Platform::Discord, guild)
        .await
        .map_err(unavailable)?;
    let before = cursors.clone();
    for action_type in types {
        for page in 0..MAX_PAGES {
            let after = cursors.get(&action_type.to_string()).cloned();
            let entries = api
                .audit_log_entries(guild, action_type, after.as_deref(), deadline)
                .await?;
            let full = entries.len() >= 100;
            for entry in &entries {
                if entry.action_type != action_type {
                    continue;
                }
                record_entry(
                    store,
                    &settings,
                    guild,
                    &registry,
                    entry,
                    now_secs,
                    &mut report,
                )
                .await
                .map_err(unavailable)?;
                let newest = cursors
                    .get(&action_type.to_string())
                    .map_or(0, |c| c.parse::<u64>().unwrap_or(0));
                if entry.number() > newest {
                    cursors.insert(action_type.to_string(), entry.id.clone());
                }
            }
            if !full {
                break;
            }
            if page + 1 == MAX_PAGES {
                report.more = true;
            }
        }
    }
    if cursors != before {
        let item = NewItem::new(cursor_key(guild), json!(cursors));
        if let Err(error) = create_or_replace(store, item).await {
            // The claims keep the entries from counting twice when they are read again.
            tracing::warn!(%error, "cases recorded; the audit cursor stays where it was");
        }
    }
    Ok(report)
}

async fn record_entry(
    store: &dyn Store,
    settings: &ModSettings,
    guild: &str,
    registry: &Registry,
    entry: &AuditLogEntry,
    now_secs: i64,
    report: &mut IngestReport,
) -> Result<(), StoreError> {
    let options = &entry.options;
    let meaning = options
        .auto_moderation_rule_name
        .as_deref()
        .and_then(|name| registry.meanings.get(name).map(|m| (name, m)));
    let (Some((name, meaning)), Some(member)) = (meaning, entry.member()) else {
        report.skipped += 1;
        return Ok(());
    };
    if meaning.counted_on != entry.action_type {
        report.skipped += 1;
        return Ok(());
    }
    let invocation = synthetic_invocation(guild, entry);
    let ctx = ModContext {
        store,
        invocation: &invocation,
        now_secs,
        settings,
    };
    let sanction = Sanction {
        kind: meaning.kind,
        target: member.to_owned(),
        reason: reason(name, meaning, entry),
        duration_secs: meaning.duration_secs.filter(|_| meaning.kind == Kind::Mute),
        source: Some(crate::moderation::Source::Automod(format!(
            "discord:{name}"
        ))),
    };
    let claim = WriteOp::Create(
        NewItem::new(
            claim_key(guild, &entry.id),
            json!({ "at": now_secs, "rule": name }),
        )
        .expiring_at(now_secs + CLAIM_SECS),
    );
    let mut attempt = 0;
    loop {
        let prepared = prepare_sanction(&ctx, &sanction).await?;
        let mut ops = prepared.ops.clone();
        let claim_at = ops.len();
        ops.push(claim.clone());
        match store.transact(ops).await {
            Ok(()) => {
                report.recorded.push(prepared.case.number);
                return Ok(());
            }
            Err(StoreError::TransactionConflict { index }) if index == claim_at => {
                report.duplicates += 1;
                return Ok(());
            }
            Err(StoreError::TransactionConflict { index })
                if attempt < NUMBER_RETRIES && prepared.may_retry(index) =>
            {
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

/// "AutoMod (Discord native): rule `words` (Gavel: words) matched `free nitro` in <#1>".
fn reason(name: &str, meaning: &Meaning, entry: &AuditLogEntry) -> String {
    let mut reason = format!("AutoMod (Discord native): rule `{}` ({name})", meaning.rule);
    if let Some(keyword) = entry.options.matched_keyword.as_deref() {
        reason.push_str(&format!(" matched `{keyword}`"));
    }
    if let Some(channel) = entry.options.channel_id.as_deref() {
        reason.push_str(&format!(" in <#{channel}>"));
    }
    if let Some(asked) = &meaning.asked {
        reason.push_str(&format!(
            "; the rule asks for a {asked}, which Discord's AutoMod cannot do"
        ));
    }
    reason
}

/// The invocation a case from the audit log is recorded under: AutoMod as the moderator, the
/// entry's id as the interaction's, so its audit slot is unique per entry.
fn synthetic_invocation(guild: &str, entry: &AuditLogEntry) -> Invocation {
    Invocation {
        id: format!("automod-audit-{}", entry.id),
        platform: Platform::Discord,
        tenant: guild.to_owned(),
        channel: entry.options.channel_id.clone(),
        actor: Actor {
            id: AUTOMOD_ACTOR.to_owned(),
            display_name: Some("AutoMod (Discord native)".to_owned()),
            capabilities: Capabilities::NONE,
        },
        action: Action::Command(CommandCall {
            name: "automod".to_owned(),
            options: Vec::new(),
            bots: Vec::new(),
            message: None,
        }),
        response_url: None,
        trigger_id: None,
        interaction_token: None,
        app: None,
    }
}
