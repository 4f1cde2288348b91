//! `/economy give|take user amount reason` and `/economy config [setting] [value]`, for Manage
//! Server. Giving and taking are movements like any other (receipt, versioned account, ledger
//! entry) with their audit entry in the same transaction; a settings change is saved over the
//! version it read, with a `ConfigChange` audit entry, as `/modconfig` saves.

use async_trait::async_trait;

use super::{
    amount_option, books, cause, mention, outside_community, payee, refused, settings_of,
    storage_failure,
};
use crate::commands::{Command, CommandContext, CommandSpec, OptionKind, OptionSpec};
use crate::economy::settings::{MAX_AMOUNT, MAX_RETENTION_DAYS, grouped};
use crate::economy::{EconomySettings, EntryKind, Leg};
use crate::invocation::{Capability, OptionValue};
use crate::moderation::{AuditAction, AuditEntry, Kind, duration};
use crate::reply::{Reply, Response};
use crate::store::StoreError;

/// The settings, as the `setting` option offers them.
const KEYS: &[&str] = &[
    "currency",
    "symbol",
    "daily",
    "cooldown",
    "streak-bonus",
    "max-balance",
    "confirm-over",
    "fines",
    "fine.note",
    "fine.warning",
    "fine.mute",
    "fine.kick",
    "fine.tempban",
    "fine.ban",
    "retention",
];

static ECONOMY: CommandSpec = CommandSpec {
    name: "economy",
    description: "Give or take money, or show and change the economy's settings",
    options: &[
        OptionSpec {
            name: "action",
            description: "give, take or config",
            kind: OptionKind::Choice(&["give", "take", "config"]),
            required: true,
        },
        OptionSpec {
            name: "setting",
            description: "With config: the setting to show or change",
            kind: OptionKind::Choice(KEYS),
            required: false,
        },
        OptionSpec {
            name: "user",
            description: "With give or take: the member",
            kind: OptionKind::User,
            required: false,
        },
        OptionSpec {
            name: "amount",
            description: "With give or take: how much. With config: a number setting's value",
            kind: OptionKind::Integer,
            required: false,
        },
        OptionSpec {
            name: "value",
            description: "With give or take: the reason. With config: the new value",
            kind: OptionKind::String,
            required: false,
        },
    ],
    requires: Some(Capability::ManageGuild),
    context_menu: None,
    message_menu: None,
    read_only: false,
};

const MAX_NAME_CHARS: usize = 32;
const MAX_REASON_CHARS: usize = 300;

/// `/economy`.
pub struct Economy;

#[async_trait]
impl Command for Economy {
    fn spec(&self) -> &'static CommandSpec {
        &ECONOMY
    }

    fn refuses_bots(&self) -> bool {
        true
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        if let Some(refusal) = outside_community(ctx) {
            return refusal;
        }
        let text = |name: &str| {
            ctx.call
                .option(name)
                .and_then(OptionValue::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        match text("action").map(str::to_ascii_lowercase).as_deref() {
            Some("give") => adjust(ctx, EntryKind::Given, text("value")).await,
            Some("take") => adjust(ctx, EntryKind::Taken, text("value")).await,
            Some("config") => {
                // A number may come as `amount` (Discord's integer box, or Slack's word).
                let amount = amount_option(ctx).map(|n| n.to_string());
                let value = text("value").map(str::to_owned).or(amount);
                config(ctx, text("setting"), value.as_deref()).await
            }
            _ => Reply::ephemeral(format!(
                "Use `/economy give @member 50 reason`, `/economy take @member 50 reason` or \
                 `/economy config [setting] [value]`. Usage: `{}`",
                ECONOMY.usage()
            )),
        }
        .into()
    }
}

/// The audit write of an economy change, kept as long as the moderation settings say.
async fn audit(
    ctx: &CommandContext<'_>,
    entry: &AuditEntry,
) -> Result<crate::store::WriteOp, StoreError> {
    let invocation = ctx.invocation;
    let settings = ctx
        .registry
        .settings_cache()
        .get(
            ctx.store,
            invocation.platform,
            &invocation.tenant,
            ctx.now_ms(),
        )
        .await?;
    Ok(entry.write(
        invocation.platform,
        &invocation.tenant,
        &format!("{}#economy", invocation.id),
        settings.retention_secs(),
    ))
}

async fn adjust(ctx: &CommandContext<'_>, kind: EntryKind, reason: Option<&str>) -> Reply {
    let verb = if kind == EntryKind::Given {
        "give"
    } else {
        "take"
    };
    let (Some(OptionValue::User(user)), Some(amount)) =
        (ctx.call.option("user"), amount_option(ctx))
    else {
        return Reply::ephemeral(format!(
            "Say whom and how much: `/economy {verb} @member 50 reason`."
        ));
    };
    let Some(reason) = reason else {
        return Reply::ephemeral(format!(
            "Say why: `/economy {verb} @member {amount} reason`; it goes in the audit log."
        ));
    };
    if reason.chars().count() > MAX_REASON_CHARS {
        return Reply::ephemeral(format!(
            "A reason holds at most {MAX_REASON_CHARS} characters; nothing was changed."
        ));
    }
    let settings = match settings_of(ctx).await {
        Ok(settings) => settings,
        Err(error) => return storage_failure(&error),
    };
    if let Err(refusal) = payee(ctx.invocation, user, &ctx.call.bots) {
        return refused(&settings, &crate::economy::EconomyError::Refused(refusal));
    }
    if amount <= 0 {
        return refused(
            &settings,
            &crate::economy::EconomyError::Refused(crate::economy::Refusal::BadAmount(amount)),
        );
    }
    let (action, signed) = if kind == EntryKind::Given {
        (AuditAction::MoneyGiven, amount)
    } else {
        (AuditAction::MoneyTaken, -amount)
    };
    let entry = AuditEntry::new(
        ctx.now_ms(),
        &ctx.invocation.actor.id,
        action,
        format!("{}: {reason}", grouped(amount)),
    )
    .target(user);
    let audit = match audit(ctx, &entry).await {
        Ok(write) => write,
        Err(error) => return storage_failure(&error),
    };
    let books = books(ctx, &settings);
    let leg = Leg::new(user, signed, kind, reason);
    match books
        .apply(&cause(ctx), &[user], vec![audit], |_| Ok(vec![leg.clone()]))
        .await
    {
        Ok(planned) => Reply::ephemeral(format!(
            "{} {} {} {}: {reason}. Their balance: {}.",
            if kind == EntryKind::Given {
                "Gave"
            } else {
                "Took"
            },
            settings.money(amount),
            if kind == EntryKind::Given {
                "to"
            } else {
                "from"
            },
            mention(user),
            settings.money(planned.balance_of(user).unwrap_or_default())
        )),
        Err(error) => refused(&settings, &error),
    }
}

/// One setting: how it shows, and how a typed value changes it.
fn show(settings: &EconomySettings, key: &str) -> String {
    match key {
        "currency" => settings.currency.clone(),
        "symbol" => settings.symbol.clone(),
        "daily" => grouped(settings.daily_amount),
        "cooldown" => duration::format(settings.daily_cooldown_secs),
        "streak-bonus" => grouped(settings.streak_bonus),
        "max-balance" => grouped(settings.max_balance),
        "confirm-over" => grouped(settings.confirm_over),
        "fines" => if settings.fines_on { "on" } else { "off" }.to_owned(),
        "retention" => format!("{} days", settings.ledger_retention_days),
        other => fine_kind(other)
            .map(|kind| grouped(settings.fine_of(kind)))
            .unwrap_or_default(),
    }
}

fn accepts(key: &str) -> &'static str {
    match key {
        "currency" => "a name of 1 to 32 characters, such as `coins`",
        "symbol" => "a symbol of 1 to 32 characters, such as 🪙",
        "daily" | "streak-bonus" => "a whole number from 0 (off)",
        "cooldown" => "a duration from 1m to 30d, such as `20h`",
        "max-balance" => "a whole number from 1",
        "confirm-over" => "a whole number from 0 (every payment asks)",
        "fines" => "`on` or `off`",
        "retention" => "a number of days from 1 to 3650",
        _ => "a whole number from 0 (no fine)",
    }
}

fn fine_kind(key: &str) -> Option<Kind> {
    let kind = key.strip_prefix("fine.")?;
    Kind::ALL.into_iter().find(|k| k.code() == kind)
}

fn number(value: &str, min: i64) -> Option<i64> {
    value
        .replace([',', '_'], "")
        .parse::<i64>()
        .ok()
        .filter(|n| (min..=MAX_AMOUNT).contains(n))
}

/// `settings` with `key` set from `value`, or what the setting accepts.
fn set(settings: &EconomySettings, key: &str, value: &str) -> Result<EconomySettings, String> {
    let mut next = settings.clone();
    let refuse = || format!("`{key}` takes {}.", accepts(key));
    let name = |v: &str| {
        let n = v.chars().count();
        (1..=MAX_NAME_CHARS).contains(&n).then(|| v.to_owned())
    };
    match key {
        "currency" => next.currency = name(value).ok_or_else(refuse)?,
        "symbol" => next.symbol = name(value).ok_or_else(refuse)?,
        "daily" => next.daily_amount = number(value, 0).ok_or_else(refuse)?,
        "streak-bonus" => next.streak_bonus = number(value, 0).ok_or_else(refuse)?,
        "max-balance" => next.max_balance = number(value, 1).ok_or_else(refuse)?,
        "confirm-over" => next.confirm_over = number(value, 0).ok_or_else(refuse)?,
        "cooldown" => {
            next.daily_cooldown_secs = duration::parse(value)
                .ok()
                .filter(|secs| (60..=30 * 86_400).contains(secs))
                .ok_or_else(refuse)?
        }
        "fines" => {
            next.fines_on = match value.to_ascii_lowercase().as_str() {
                "on" | "yes" | "true" => true,
                "off" | "no" | "false" => false,
                _ => return Err(refuse()),
            }
        }
        "retention" => {
            next.ledger_retention_days = value
                .trim_end_matches(" days")
                .trim_end_matches('d')
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=MAX_RETENTION_DAYS).contains(d))
                .ok_or_else(refuse)?
        }
        other => {
            let kind = fine_kind(other).ok_or_else(refuse)?;
            match number(value, 0).ok_or_else(refuse)? {
                0 => next.fines.remove(&kind),
                amount => next.fines.insert(kind, amount),
            };
        }
    }
    Ok(next)
}

async fn config(ctx: &CommandContext<'_>, key: Option<&str>, value: Option<&str>) -> Reply {
    let invocation = ctx.invocation;
    let (settings, version) =
        match EconomySettings::load(ctx.store, invocation.platform, &invocation.tenant).await {
            Ok(found) => found,
            Err(error) => return storage_failure(&error),
        };
    let Some(key) = key else {
        if let Some(value) = value {
            let word = value.split_whitespace().next().unwrap_or(value);
            return Reply::ephemeral(format!(
                "`{word}` is not an economy setting. The settings: {}.",
                KEYS.join(", ")
            ));
        }
        let defaults = EconomySettings::default();
        let mut reply = Reply::ephemeral(
            "The economy's settings. Change one with `/economy config <setting> <value>`.",
        );
        for key in KEYS {
            let now = show(&settings, key);
            let default = show(&defaults, key);
            let shown = if now == default {
                now
            } else {
                format!("{now} (default {default})")
            };
            reply = reply.with_field(*key, shown);
        }
        return reply;
    };
    let Some(value) = value else {
        return Reply::ephemeral(format!(
            "`{key}` is {}. It takes {}.",
            show(&settings, key),
            accepts(key)
        ));
    };
    let next = match set(&settings, key, value) {
        Ok(next) => next,
        Err(why) => return Reply::ephemeral(format!("{why} Nothing was changed.")),
    };
    let (before, after) = (show(&settings, key), show(&next, key));
    if before == after {
        return Reply::ephemeral(format!("`{key}` is already {after}."));
    }
    let entry = AuditEntry::new(
        ctx.now_ms(),
        &invocation.actor.id,
        AuditAction::ConfigChange,
        format!("economy {key}: {before} → {after}"),
    )
    .change(
        Some(serde_json::json!({ key: before })),
        Some(serde_json::json!({ key: after })),
    );
    let audit = match audit(ctx, &entry).await {
        Ok(write) => write,
        Err(error) => return storage_failure(&error),
    };
    let save = next.write(invocation.platform, &invocation.tenant, version);
    match ctx.store.transact(vec![save, audit]).await {
        Ok(()) => Reply::ephemeral(format!("`{key}` is now {after} (was {before}).")),
        Err(StoreError::TransactionConflict { .. }) => Reply::ephemeral(
            "Someone changed the economy's settings at the same moment; nothing was saved. Please try again.",
        ),
        Err(error) => storage_failure(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_shows_and_refuses_what_it_does_not_take() {
        let settings = EconomySettings::default();
        for key in KEYS {
            assert!(!show(&settings, key).is_empty(), "{key}");
            assert!(
                set(&settings, key, "-5").is_err() || key.starts_with("cur") || *key == "symbol",
                "{key}"
            );
        }
        let next = set(&settings, "fine.warning", "50").unwrap();
        assert_eq!(next.fine_of(Kind::Warning), 50);
        let next = set(&next, "cooldown", "12h").unwrap();
        assert_eq!(next.daily_cooldown_secs, 12 * 3600);
        let next = set(&next, "fines", "on").unwrap();
        assert_eq!(next.fine_for(Kind::Warning), Some(50));
        assert!(set(&next, "cooldown", "10s").is_err());
        assert!(set(&next, "retention", "0").is_err());
        assert_eq!(
            set(&next, "retention", "30d")
                .unwrap()
                .ledger_retention_days,
            30
        );
        assert!(set(&next, "currency", &"x".repeat(33)).is_err());
    }
}
