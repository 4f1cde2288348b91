//! `/modconfig [setting] [value]`: a community's moderation settings.
//!
//! Without options it shows every setting with its value and default. With a setting alone it
//! shows that one and what it accepts. With a value it validates, then saves in **one
//! transaction**: the settings over the version it read, and a `ConfigChange` audit entry
//! with the value before and after. A change saved by someone else in between fails the
//! version check, and nothing is saved.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::mentions::{channel_id, user_id, usergroup_id};
use super::{Command, CommandContext, CommandSpec, OptionKind, OptionSpec};
use crate::invocation::{Capability, OptionValue, Platform};
use crate::moderation::settings::{
    DEFAULT_MUTE_SECS, DEFAULT_TEMPBAN_SECS, MAX_BAN_DELETE_SECS, MAX_MUTE_SECS, MAX_RETENTION_DAYS,
};
use crate::moderation::{AuditAction, AuditEntry, Kind, ModSettings, Threshold, duration};
use crate::reply::{Reply, Response};
use crate::store::StoreError;

/// The keys, as the `setting` option offers them (21, within Discord's 25 choices). A unit
/// test keeps this list and [`Setting::ALL`] in step.
const KEYS: &[&str] = &[
    "weight.note",
    "weight.warning",
    "weight.mute",
    "weight.kick",
    "weight.tempban",
    "weight.ban",
    "decay",
    "threshold.mute",
    "threshold.mute.duration",
    "threshold.kick",
    "threshold.tempban",
    "threshold.tempban.duration",
    "threshold.ban",
    "auto-escalate",
    "modlog",
    "appeal-channel",
    "appeal-cooldown",
    "retention",
    "ban-delete",
    "slack-moderators",
    "slack-moderator-group",
];

static SPEC: CommandSpec = CommandSpec {
    name: "modconfig",
    description: "Show or change the moderation settings",
    options: &[
        OptionSpec {
            name: "setting",
            description: "The setting to show or change (leave out to see them all)",
            kind: OptionKind::Choice(KEYS),
            required: false,
        },
        OptionSpec {
            name: "value",
            description: "The new value (leave out to see what the setting accepts)",
            kind: OptionKind::String,
            required: false,
        },
    ],
    requires: Some(Capability::ManageGuild),
    context_menu: None,
    message_menu: None,
    read_only: false,
};

const MAX_WEIGHT: u32 = 100;
const MAX_DECAY_MILLI: u32 = 100 * 1000;
const MAX_THRESHOLD_POINTS: u32 = 1000;
/// Keeps the settings item small; a workspace with more moderators uses a user group.
const MAX_SLACK_MODERATORS: usize = 100;

/// `/modconfig`.
pub struct ModConfig;

#[async_trait]
impl Command for ModConfig {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        let setting = ctx.call.option("setting").and_then(OptionValue::as_str);
        let value = ctx
            .call
            .option("value")
            .and_then(OptionValue::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty());
        let platform = ctx.invocation.platform;
        let setting = match (setting, value) {
            (None, None) => return show_all(ctx).await.into(),
            (Some(key), _) => match Setting::from_key(key) {
                Some(setting) => setting,
                None => return not_a_setting(key).into(),
            },
            // Slack leaves an optional choice out when the word is not one of the keys, so a
            // mistyped key arrives as the start of the value.
            (None, Some(value)) => {
                let word = value.split_whitespace().next().unwrap_or(value);
                return not_a_setting(word).into();
            }
        };
        if setting.slack_only() && platform != Platform::Slack {
            return Reply::ephemeral(format!(
                "`{}` is a Slack setting. On {}, moderators are the members whose roles give them \
                 the Moderate Members, Kick Members, Ban Members or Manage Server permission.",
                setting.key(),
                platform.name()
            ))
            .into();
        }
        match value {
            None => show_one(ctx, setting).await.into(),
            Some(value) => change(ctx, setting, value).await.into(),
        }
    }
}

async fn current(ctx: &CommandContext<'_>) -> Result<(ModSettings, Option<u64>), Reply> {
    let invocation = ctx.invocation;
    ModSettings::load(ctx.store, invocation.platform, &invocation.tenant)
        .await
        .map_err(|error| {
            tracing::error!(%error, "could not read the moderation settings");
            Reply::ephemeral(
                "Gavel could not read the moderation settings, so nothing was changed. Please try \
             again in a moment.",
            )
        })
}

async fn show_all(ctx: &CommandContext<'_>) -> Reply {
    let (settings, _) = match current(ctx).await {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let defaults = ModSettings::default();
    let mut reply = Reply::ephemeral(
        "Moderation settings. Change one with `/modconfig <setting> <value>`, or name just the \
         setting to see what it accepts.",
    );
    for setting in Setting::ALL
        .into_iter()
        .filter(|s| !s.slack_only() || ctx.invocation.platform == Platform::Slack)
    {
        reply = reply.with_field(setting.key(), with_default(setting, &settings, &defaults));
    }
    reply
}

async fn show_one(ctx: &CommandContext<'_>, setting: Setting) -> Reply {
    let (settings, _) = match current(ctx).await {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    Reply::ephemeral(format!(
        "`{}` is {}. It takes {}.",
        setting.key(),
        with_default(setting, &settings, &ModSettings::default()),
        setting.accepts()
    ))
}

/// "3 points (default 6 points)", or "(the default)" when they are the same.
fn with_default(setting: Setting, settings: &ModSettings, defaults: &ModSettings) -> String {
    let (now, default) = (setting.show(settings), setting.show(defaults));
    if now == default {
        format!("{now} (the default)")
    } else {
        format!("{now} (default {default})")
    }
}

async fn change(ctx: &CommandContext<'_>, setting: Setting, value: &str) -> Reply {
    let invocation = ctx.invocation;
    let (platform, tenant) = (invocation.platform, invocation.tenant.as_str());
    let (before, version) = match current(ctx).await {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let mut after = before.clone();
    if let Err(problem) = setting.apply(&mut after, value, platform) {
        return Reply::ephemeral(format!(
            "{problem} `{}` takes {}. Nothing was changed.",
            setting.key(),
            setting.accepts()
        ));
    }
    let (was, now) = (setting.show(&before), setting.show(&after));
    if after == before {
        return Reply::ephemeral(format!(
            "`{}` is already {now}; nothing was changed.",
            setting.key()
        ));
    }
    let now_ms = ctx.now_ms();
    let entry = AuditEntry::new(
        now_ms,
        &invocation.actor.id,
        AuditAction::ConfigChange,
        format!("{}: {was} → {now}", setting.key()),
    )
    .change(
        Some(json!({ setting.key(): setting.value(&before) })),
        Some(json!({ setting.key(): setting.value(&after) })),
    );
    let ops = vec![
        after.write(platform, tenant, version),
        entry.write(
            platform,
            tenant,
            &format!("{}#config", invocation.id),
            after.retention_secs(),
        ),
    ];
    match ctx.store.transact(ops).await {
        Ok(()) => {
            tracing::info!(setting = setting.key(), "moderation settings changed");
            ctx.registry
                .settings_cache()
                .remember(platform, tenant, after, now_ms);
            Reply::ephemeral(format!("`{}`: {was} → {now}.", setting.key()))
        }
        Err(StoreError::TransactionConflict { index: 0 }) => {
            // Someone saved between our read and our write; this instance's copy is stale.
            ctx.registry.settings_cache().forget(platform, tenant);
            Reply::ephemeral(format!(
                "The moderation settings were changed meanwhile by someone else, so nothing was \
                 saved. Run `/modconfig {}` to see the value now, then try again.",
                setting.key()
            ))
        }
        Err(StoreError::TransactionConflict { .. }) => {
            Reply::ephemeral("This request was already handled; nothing was changed twice.")
        }
        Err(error) => {
            tracing::error!(%error, "could not save the moderation settings");
            Reply::ephemeral(
                "Gavel could not save the moderation settings, so nothing was changed. Please \
                 try again in a moment.",
            )
        }
    }
}

fn not_a_setting(word: &str) -> Reply {
    let lower = word.to_ascii_lowercase();
    let closest = KEYS
        .iter()
        .map(|key| (strsim::levenshtein(key, &lower), *key))
        .filter(|(distance, _)| *distance <= 3)
        .min();
    let mut text = format!("`{word}` is not a setting.");
    if let Some((_, key)) = closest {
        text.push_str(&format!(" Did you mean `{key}`?"));
    }
    text.push_str(" Run `/modconfig` to see every setting.");
    Reply::ephemeral(text)
}

/// One key of `/modconfig`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setting {
    Weight(Kind),
    Decay,
    Threshold(Kind),
    ThresholdDuration(Kind),
    AutoEscalate,
    ModLog,
    AppealChannel,
    AppealCooldown,
    Retention,
    BanDelete,
    SlackModerators,
    SlackModeratorGroup,
}

impl Setting {
    /// In the order of [`KEYS`].
    const ALL: [Setting; 21] = [
        Setting::Weight(Kind::Note),
        Setting::Weight(Kind::Warning),
        Setting::Weight(Kind::Mute),
        Setting::Weight(Kind::Kick),
        Setting::Weight(Kind::TempBan),
        Setting::Weight(Kind::Ban),
        Setting::Decay,
        Setting::Threshold(Kind::Mute),
        Setting::ThresholdDuration(Kind::Mute),
        Setting::Threshold(Kind::Kick),
        Setting::Threshold(Kind::TempBan),
        Setting::ThresholdDuration(Kind::TempBan),
        Setting::Threshold(Kind::Ban),
        Setting::AutoEscalate,
        Setting::ModLog,
        Setting::AppealChannel,
        Setting::AppealCooldown,
        Setting::Retention,
        Setting::BanDelete,
        Setting::SlackModerators,
        Setting::SlackModeratorGroup,
    ];

    fn key(self) -> &'static str {
        Setting::ALL
            .iter()
            .position(|s| *s == self)
            .map_or("?", |i| KEYS[i])
    }

    fn from_key(key: &str) -> Option<Setting> {
        KEYS.iter()
            .position(|k| k.eq_ignore_ascii_case(key.trim()))
            .map(|i| Setting::ALL[i])
    }

    fn slack_only(self) -> bool {
        matches!(
            self,
            Setting::SlackModerators | Setting::SlackModeratorGroup
        )
    }

    /// What the setting accepts, completing "`key` takes …".
    fn accepts(self) -> &'static str {
        match self {
            Setting::Weight(_) => "a whole number of points from 0 to 100, such as `2`",
            Setting::Decay => {
                "the points each case loses per day, from 0 to 100 with at most three decimals, \
                 such as `0.1` (`0` turns decay off)"
            }
            Setting::Threshold(_) => {
                "a whole number of points from 1 to 1000, such as `6`, or `off` to remove it"
            }
            Setting::ThresholdDuration(Kind::Mute) => {
                "a duration of at most 28 days (Discord's limit on a timeout), such as `1h` or \
                 `1d12h`"
            }
            Setting::ThresholdDuration(_) => "a duration such as `7d` or `2w`",
            Setting::AutoEscalate => "`on` or `off`",
            Setting::ModLog | Setting::AppealChannel => "a channel, such as #mod-log, or `off`",
            Setting::AppealCooldown => "a duration such as `7d` or `12h`",
            Setting::Retention => "a number of days from 1 to 3650, such as `90`",
            Setting::BanDelete => "a duration of at most 7 days, such as `1d`, or `off`",
            Setting::SlackModerators => {
                "`add @user …`, `remove @user …`, the mentions of every moderator (replacing \
                 the list), or `none`"
            }
            Setting::SlackModeratorGroup => "a user group, such as @moderators, or `off`",
        }
    }

    /// The value as moderators read it.
    fn show(self, s: &ModSettings) -> String {
        match self {
            Setting::Weight(kind) => points(s.weights.of(kind)),
            Setting::Decay => format!("{} per day", decimal(s.decay_milli_per_day)),
            Setting::Threshold(kind) => {
                threshold(s, kind).map_or("off".into(), |t| points(t.points))
            }
            Setting::ThresholdDuration(kind) => match threshold(s, kind) {
                Some(t) => duration::format(t.duration_secs.unwrap_or(default_secs(kind))),
                None => format!("unused (`threshold.{}` is off)", kind.code()),
            },
            Setting::AutoEscalate => on_off(s.auto_escalate).into(),
            Setting::ModLog => channel(s.modlog_channel.as_deref()),
            Setting::AppealChannel => match &s.appeal_channel {
                Some(id) => format!("<#{id}>"),
                None => "off (appeals go to the mod log)".into(),
            },
            Setting::AppealCooldown => duration::format(s.appeal_cooldown_secs),
            Setting::Retention => match s.audit_retention_days {
                1 => "1 day".into(),
                days => format!("{days} days"),
            },
            Setting::BanDelete => match s.ban_delete_message_secs {
                0 => "off".into(),
                secs => duration::format(i64::from(secs)),
            },
            Setting::SlackModerators if s.slack_moderators.is_empty() => "none".into(),
            Setting::SlackModerators => s
                .slack_moderators
                .iter()
                .map(|u| format!("<@{u}>"))
                .collect::<Vec<_>>()
                .join(", "),
            Setting::SlackModeratorGroup => match &s.slack_moderator_group {
                Some(group) => format!("<!subteam^{group}>"),
                None => "off".into(),
            },
        }
    }

    /// The value as stored, for the audit entry's before and after.
    fn value(self, s: &ModSettings) -> Value {
        match self {
            Setting::Weight(kind) => json!(s.weights.of(kind)),
            Setting::Decay => json!(s.decay_milli_per_day),
            Setting::Threshold(kind) | Setting::ThresholdDuration(kind) => {
                json!(threshold(s, kind))
            }
            Setting::AutoEscalate => json!(s.auto_escalate),
            Setting::ModLog => json!(s.modlog_channel),
            Setting::AppealChannel => json!(s.appeal_channel),
            Setting::AppealCooldown => json!(s.appeal_cooldown_secs),
            Setting::Retention => json!(s.audit_retention_days),
            Setting::BanDelete => json!(s.ban_delete_message_secs),
            Setting::SlackModerators => json!(s.slack_moderators),
            Setting::SlackModeratorGroup => json!(s.slack_moderator_group),
        }
    }

    /// Sets the value typed as `text`; the error says what was wrong with it (the caller adds
    /// what the setting accepts).
    fn apply(self, s: &mut ModSettings, text: &str, platform: Platform) -> Result<(), String> {
        let text = text.trim();
        let refused = || format!("`{text}` is not a valid value.");
        match self {
            Setting::Weight(kind) => {
                let points = whole(text, 0, MAX_WEIGHT).ok_or_else(refused)?;
                s.weights.set(kind, points);
            }
            Setting::Decay => {
                s.decay_milli_per_day = milli(text)
                    .filter(|m| *m <= MAX_DECAY_MILLI)
                    .ok_or_else(refused)?;
            }
            Setting::Threshold(kind) => {
                if is_off(text) {
                    s.thresholds.retain(|t| t.action != kind);
                } else {
                    let points = whole(text, 1, MAX_THRESHOLD_POINTS).ok_or_else(refused)?;
                    let duration_secs = threshold(s, kind).map_or_else(
                        || kind.is_timed().then(|| default_secs(kind)),
                        |t| t.duration_secs,
                    );
                    s.thresholds.retain(|t| t.action != kind);
                    s.thresholds.push(Threshold {
                        points,
                        action: kind,
                        duration_secs,
                    });
                    s.thresholds
                        .sort_by_key(|t| (t.points, t.action.severity()));
                }
            }
            Setting::ThresholdDuration(kind) => {
                let secs = duration::parse(text).map_err(|e| e.to_string())?;
                if kind == Kind::Mute && secs > MAX_MUTE_SECS {
                    return Err(format!("`{text}` is longer than 28 days."));
                }
                let Some(found) = s.thresholds.iter_mut().find(|t| t.action == kind) else {
                    return Err(format!(
                        "`threshold.{0}` is off, so it has no duration. Set its points first, \
                         such as `/modconfig threshold.{0} 5`.",
                        kind.code()
                    ));
                };
                found.duration_secs = Some(secs);
            }
            Setting::AutoEscalate => {
                s.auto_escalate = on_or_off(text).ok_or_else(refused)?;
            }
            Setting::ModLog => {
                s.modlog_channel =
                    optional(text, |t| channel_id(t, platform)).ok_or_else(refused)?;
            }
            Setting::AppealChannel => {
                s.appeal_channel =
                    optional(text, |t| channel_id(t, platform)).ok_or_else(refused)?;
            }
            Setting::AppealCooldown => {
                s.appeal_cooldown_secs = duration::parse(text).map_err(|e| e.to_string())?;
            }
            Setting::Retention => {
                s.audit_retention_days = whole(text, 1, MAX_RETENTION_DAYS).ok_or_else(refused)?;
            }
            Setting::BanDelete => {
                let secs = if is_off(text) || text == "0" {
                    0
                } else {
                    duration::parse(text).map_err(|e| e.to_string())?
                };
                s.ban_delete_message_secs = u32::try_from(secs)
                    .ok()
                    .filter(|secs| *secs <= MAX_BAN_DELETE_SECS)
                    .ok_or_else(|| format!("`{text}` is longer than 7 days."))?;
            }
            Setting::SlackModerators => apply_moderators(&mut s.slack_moderators, text)?,
            Setting::SlackModeratorGroup => {
                s.slack_moderator_group = optional(text, usergroup_id).ok_or_else(refused)?;
            }
        }
        Ok(())
    }
}

/// `add @a @b`, `remove @a`, `@a @b` (the whole list) or `none`.
fn apply_moderators(list: &mut Vec<String>, text: &str) -> Result<(), String> {
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or_default();
    let (verb, rest): (&str, Vec<&str>) = match first.to_ascii_lowercase().as_str() {
        "add" | "remove" => (first, words.collect()),
        "none" | "off" => {
            list.clear();
            return Ok(());
        }
        _ => ("", text.split_whitespace().collect()),
    };
    if rest.is_empty() {
        return Err(format!("`{text}` names nobody."));
    }
    let mut users = Vec::new();
    for word in rest {
        let user = user_id(word, Platform::Slack).ok_or_else(|| {
            format!(
                "`{word}` is not a mention of a member. Mention them with @ so that Slack sends \
                 their id (the slash command's *Escape channels, users, and links* option must \
                 be on)."
            )
        })?;
        if !users.contains(&user) {
            users.push(user);
        }
    }
    match verb.to_ascii_lowercase().as_str() {
        "add" => {
            for user in users {
                if !list.contains(&user) {
                    list.push(user);
                }
            }
        }
        "remove" => list.retain(|u| !users.contains(u)),
        _ => *list = users,
    }
    if list.len() > MAX_SLACK_MODERATORS {
        return Err(format!(
            "That would make {} moderators; the list holds at most {MAX_SLACK_MODERATORS}. \
             Use a user group (`slack-moderator-group`) for more.",
            list.len()
        ));
    }
    Ok(())
}

fn threshold(s: &ModSettings, kind: Kind) -> Option<&Threshold> {
    s.thresholds.iter().find(|t| t.action == kind)
}

fn default_secs(kind: Kind) -> i64 {
    match kind {
        Kind::Mute => DEFAULT_MUTE_SECS,
        _ => DEFAULT_TEMPBAN_SECS,
    }
}

fn points(n: u32) -> String {
    if n == 1 {
        "1 point".into()
    } else {
        format!("{n} points")
    }
}

/// Thousandths as a decimal without trailing zeros: 100 → `0.1`, 2500 → `2.5`, 3000 → `3`.
fn decimal(milli: u32) -> String {
    let (whole, fraction) = (milli / 1000, milli % 1000);
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:03}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// `0.1` → 100, `2` → 2000; at most three decimals, never negative.
fn milli(text: &str) -> Option<u32> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty())
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 3
        || whole.len() > 6
    {
        return None;
    }
    let whole: u32 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let fraction: u32 = format!("{fraction:0<3}").parse().ok()?;
    whole.checked_mul(1000)?.checked_add(fraction)
}

fn whole(text: &str, min: u32, max: u32) -> Option<u32> {
    text.parse::<u32>().ok().filter(|n| (min..=max).contains(n))
}

fn is_off(text: &str) -> bool {
    ["off", "none"].iter().any(|w| w.eq_ignore_ascii_case(text))
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

fn on_or_off(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

fn channel(id: Option<&str>) -> String {
    id.map_or("off".into(), |id| format!("<#{id}>"))
}

/// `off` → `Some(None)`, a valid value → `Some(Some(id))`, anything else → `None`.
fn optional(text: &str, parse: impl Fn(&str) -> Option<String>) -> Option<Option<String>> {
    if is_off(text) {
        Some(None)
    } else {
        parse(text).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(setting: Setting, text: &str, platform: Platform) -> Result<ModSettings, String> {
        let mut s = ModSettings::default();
        setting.apply(&mut s, text, platform).map(|()| s)
    }

    #[test]
    fn the_offered_keys_and_the_settings_are_in_step() {
        assert_eq!(KEYS.len(), Setting::ALL.len());
        assert!(KEYS.len() <= 25, "Discord offers at most 25 choices");
        for (key, setting) in KEYS.iter().zip(Setting::ALL) {
            assert_eq!(setting.key(), *key);
            assert_eq!(Setting::from_key(key), Some(setting));
            assert_eq!(Setting::from_key(&key.to_uppercase()), Some(setting));
        }
        assert!(
            KEYS.iter().all(|k| k.len() <= 100),
            "Discord's choice limit"
        );
    }

    #[test]
    fn decay_reads_up_to_three_decimals() {
        for (text, expected) in [
            ("0.1", Some(100)),
            ("2", Some(2000)),
            ("2.5", Some(2500)),
            (".25", Some(250)),
            ("0.125", Some(125)),
            ("100", Some(100_000)),
            ("0", Some(0)),
            ("0.0001", None),
            ("-1", None),
            ("1e3", None),
            ("", None),
            (".", None),
            ("1.2.3", None),
            ("99999999999", None),
        ] {
            assert_eq!(milli(text), expected, "{text}");
        }
        for milli in [0, 100, 125, 2000, 2500, 100_000] {
            assert_eq!(super::milli(&decimal(milli)), Some(milli), "{milli}");
        }
        assert_eq!(decimal(100), "0.1");
        assert!(applied(Setting::Decay, "100.001", Platform::Discord).is_err());
    }

    #[test]
    fn thresholds_are_set_removed_and_recreated_with_default_durations() {
        let mut s = ModSettings::default();
        let mute = Setting::Threshold(Kind::Mute);
        mute.apply(&mut s, "8", Platform::Discord).unwrap();
        assert_eq!(threshold(&s, Kind::Mute).unwrap().points, 8);
        assert_eq!(
            threshold(&s, Kind::Mute).unwrap().duration_secs,
            Some(DEFAULT_MUTE_SECS)
        );
        let points: Vec<u32> = s.thresholds.iter().map(|t| t.points).collect();
        assert_eq!(points, vec![6, 8, 10, 15], "kept in order of points");

        Setting::ThresholdDuration(Kind::Mute)
            .apply(&mut s, "2h", Platform::Discord)
            .unwrap();
        mute.apply(&mut s, "4", Platform::Discord).unwrap();
        assert_eq!(
            threshold(&s, Kind::Mute).unwrap().duration_secs,
            Some(7200),
            "changing the points keeps the duration"
        );
        mute.apply(&mut s, "off", Platform::Discord).unwrap();
        assert!(threshold(&s, Kind::Mute).is_none());
        let err = Setting::ThresholdDuration(Kind::Mute)
            .apply(&mut s, "2h", Platform::Discord)
            .unwrap_err();
        assert!(err.contains("is off"), "{err}");
        mute.apply(&mut s, "3", Platform::Discord).unwrap();
        assert_eq!(
            threshold(&s, Kind::Mute).unwrap().duration_secs,
            Some(DEFAULT_MUTE_SECS)
        );
        Setting::Threshold(Kind::Kick)
            .apply(&mut s, "off", Platform::Discord)
            .unwrap();
        Setting::Threshold(Kind::Kick)
            .apply(&mut s, "7", Platform::Discord)
            .unwrap();
        assert_eq!(threshold(&s, Kind::Kick).unwrap().duration_secs, None);
        for bad in ["0", "1001", "-2", "three"] {
            assert!(mute.apply(&mut s, bad, Platform::Discord).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_keep_to_their_limits() {
        let mute = Setting::ThresholdDuration(Kind::Mute);
        assert!(applied(mute, "28d", Platform::Discord).is_ok());
        let err = applied(mute, "29d", Platform::Discord).unwrap_err();
        assert!(err.contains("28 days"), "{err}");
        assert!(
            applied(
                Setting::ThresholdDuration(Kind::TempBan),
                "8w",
                Platform::Discord
            )
            .is_ok()
        );
        let s = applied(Setting::BanDelete, "1d", Platform::Discord).unwrap();
        assert_eq!(s.ban_delete_message_secs, 86_400);
        assert!(applied(Setting::BanDelete, "8d", Platform::Discord).is_err());
        assert_eq!(
            applied(Setting::BanDelete, "off", Platform::Discord)
                .unwrap()
                .ban_delete_message_secs,
            0
        );
        let err = applied(Setting::AppealCooldown, "soon", Platform::Discord).unwrap_err();
        assert!(err.contains("`30m`"), "{err}");
    }

    #[test]
    fn slack_moderators_are_added_removed_replaced_and_cleared() {
        let mut list = Vec::new();
        apply_moderators(&mut list, "add <@U0A|a> <@U0B>").unwrap();
        apply_moderators(&mut list, "ADD <@U0B> U0C").unwrap();
        assert_eq!(list, vec!["U0A", "U0B", "U0C"]);
        apply_moderators(&mut list, "remove <@U0B>").unwrap();
        assert_eq!(list, vec!["U0A", "U0C"]);
        apply_moderators(&mut list, "<@U0D> <@U0D> <@U0E>").unwrap();
        assert_eq!(list, vec!["U0D", "U0E"]);
        apply_moderators(&mut list, "none").unwrap();
        assert!(list.is_empty());
        let err = apply_moderators(&mut list, "add @ann").unwrap_err();
        assert!(err.contains("Escape channels"), "{err}");
        assert!(apply_moderators(&mut list, "add").is_err());
        let many: Vec<String> = (0..101).map(|i| format!("<@U{i:04}>")).collect();
        assert!(apply_moderators(&mut list, &many.join(" ")).is_err());
    }

    #[test]
    fn every_setting_shows_its_default_and_round_trips_through_show() {
        let defaults = ModSettings::default();
        for setting in Setting::ALL {
            let shown = with_default(setting, &defaults, &defaults);
            assert!(shown.ends_with("(the default)"), "{setting:?}: {shown}");
            assert!(!setting.accepts().is_empty());
        }
        assert_eq!(Setting::Decay.show(&defaults), "0.1 per day");
        assert_eq!(Setting::Threshold(Kind::Kick).show(&defaults), "6 points");
        assert_eq!(Setting::ThresholdDuration(Kind::Mute).show(&defaults), "1h");
        assert_eq!(Setting::Retention.show(&defaults), "90 days");
    }
}
