//! The economy's commands, each one spec for every platform: `/balance`, `/daily`, `/pay`,
//! `/leaderboard` for members, `/economy give|take|config` for Manage Server.
//!
//! Every movement goes through the books (one transaction per movement, a receipt per cause);
//! the commands only check what they can before any read (self, bots, amounts), and put the
//! books' refusals into words.

mod manage;
mod pay;

use async_trait::async_trait;

use super::{Command, CommandContext, CommandSpec, OptionKind, OptionSpec};
use crate::economy::{Books, Cause, EconomyError, EconomySettings, Entry, Refusal, daily_leg};
use crate::invocation::{Capability, Invocation, OptionValue};
use crate::moderation::duration;
use crate::reply::{Reply, Response};
use crate::store::StoreError;

pub use manage::Economy;
pub use pay::Pay;

/// Entries `/balance` shows.
const RECENT: u32 = 5;
/// Members per `/leaderboard` page.
const PAGE: u32 = 10;
/// The deepest page: the index is read from the top, at most 1,000 accounts at a time.
const MAX_PAGE: i64 = 100;

static BALANCE: CommandSpec = CommandSpec {
    name: "balance",
    description: "Show a balance and its latest changes",
    options: &[OptionSpec {
        name: "user",
        description: "Whose balance (leave out for yours)",
        kind: OptionKind::User,
        required: false,
    }],
    requires: None,
    context_menu: None,
    message_menu: None,
    read_only: false,
};

static DAILY: CommandSpec = CommandSpec {
    name: "daily",
    description: "Collect your daily payout",
    options: &[],
    requires: None,
    context_menu: None,
    message_menu: None,
    read_only: false,
};

static LEADERBOARD: CommandSpec = CommandSpec {
    name: "leaderboard",
    description: "The members with the largest balances",
    options: &[OptionSpec {
        name: "page",
        description: "Which page (10 members each)",
        kind: OptionKind::Integer,
        required: false,
    }],
    requires: None,
    context_menu: None,
    message_menu: None,
    read_only: false,
};

/// The economy belongs to a community: in a DM with the app there is none.
fn outside_community(ctx: &CommandContext<'_>) -> Option<Response> {
    ctx.invocation
        .outside_community()
        .then(|| Reply::ephemeral("Balances belong to a server: use this command in one.").into())
}

async fn settings_of(ctx: &CommandContext<'_>) -> Result<EconomySettings, StoreError> {
    EconomySettings::load(ctx.store, ctx.invocation.platform, &ctx.invocation.tenant)
        .await
        .map(|(settings, _)| settings)
}

fn books<'a>(ctx: &'a CommandContext<'_>, settings: &'a EconomySettings) -> Books<'a> {
    Books::new(
        ctx.store,
        ctx.invocation.platform,
        &ctx.invocation.tenant,
        settings,
    )
}

/// The movement's receipt is the interaction: a redelivery or a retry of it pays nothing more.
fn cause<'a>(ctx: &'a CommandContext<'_>) -> Cause<'a> {
    Cause {
        id: &ctx.invocation.id,
        by: &ctx.invocation.actor.id,
        at: ctx.now_secs(),
    }
}

fn mention(user: &str) -> String {
    format!("<@{user}>")
}

fn storage_failure(error: &StoreError) -> Reply {
    tracing::error!(%error, "economy storage failure");
    Reply::ephemeral("I could not reach my storage, so nothing was changed. Please try again.")
}

/// The books' answer in words. Every refusal changed nothing, and says so.
fn refused(settings: &EconomySettings, error: &EconomyError) -> Reply {
    let text = match error {
        EconomyError::Refused(refusal) => refusal_text(settings, refusal),
        EconomyError::Busy => {
            "Too many changes to these balances at once; nothing was changed. Please try again."
                .to_owned()
        }
        EconomyError::Store(error) => return storage_failure(error),
    };
    Reply::ephemeral(text)
}

fn refusal_text(settings: &EconomySettings, refusal: &Refusal) -> String {
    match refusal {
        Refusal::BadAmount(_) => format!(
            "The amount must be a whole number from 1 to {}; nothing was changed.",
            crate::economy::settings::grouped(settings.max_balance)
        ),
        Refusal::SelfPayment => "You cannot pay yourself; nothing was changed.".to_owned(),
        Refusal::ToABot => "Bots and apps do not hold a balance; nothing was changed.".to_owned(),
        Refusal::Insufficient { balance, needed } => format!(
            "That needs {}, but the balance is {}; nothing was changed.",
            settings.money(*needed),
            settings.money(*balance)
        ),
        Refusal::OverMaximum { user, balance } => format!(
            "That would take {} past the maximum balance of {} (they hold {}); nothing was changed.",
            mention(user),
            settings.money(settings.max_balance),
            settings.money(*balance)
        ),
        // To the minute, rounded up: "19 hours, 59 minutes and 59 seconds" says no more.
        Refusal::Cooldown { left_secs } => format!(
            "You already collected your daily. The next one is ready in {}.",
            duration::words(((left_secs + 59) / 60).max(1) * 60)
        ),
        Refusal::Duplicate => "That was already done; it counts once.".to_owned(),
    }
}

/// The `user` option when it names someone who can hold money: not the app, not a bot.
fn payee(invocation: &Invocation, user: &str, bots: &[String]) -> Result<(), Refusal> {
    let is_app = invocation
        .app
        .as_ref()
        .is_some_and(|app| app.user_id == user);
    if is_app || bots.iter().any(|bot| bot == user) {
        return Err(Refusal::ToABot);
    }
    Ok(())
}

fn amount_option(ctx: &CommandContext<'_>) -> Option<i64> {
    match ctx.call.option("amount") {
        Some(OptionValue::Integer(n)) => Some(*n),
        _ => None,
    }
}

fn entry_line(entry: &Entry) -> String {
    let mut line = format!(
        "{} {}{} · {}",
        crate::moderation::date(entry.at),
        if entry.amount > 0 { "+" } else { "" },
        crate::economy::settings::grouped(entry.amount),
        entry.kind.label()
    );
    if let Some(other) = &entry.counterparty {
        line.push_str(&format!(
            " {} {}",
            if entry.amount > 0 { "from" } else { "to" },
            mention(other)
        ));
    }
    if !entry.reason.is_empty() {
        line.push_str(&format!(" · {}", entry.reason));
    }
    line.push_str(&format!(
        " → {}",
        crate::economy::settings::grouped(entry.balance_after)
    ));
    line
}

/// `/balance [user]`.
pub struct Balance;

#[async_trait]
impl Command for Balance {
    fn spec(&self) -> &'static CommandSpec {
        &BALANCE
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        if let Some(refusal) = outside_community(ctx) {
            return refusal;
        }
        let me = &ctx.invocation.actor.id;
        let whose = match ctx.call.option("user") {
            Some(OptionValue::User(user)) => user.clone(),
            _ => me.clone(),
        };
        let settings = match settings_of(ctx).await {
            Ok(settings) => settings,
            Err(error) => return storage_failure(&error).into(),
        };
        let books = books(ctx, &settings);
        // Someone else's ledger is theirs and the moderators' to read.
        let show_entries = whose == *me
            || ctx
                .invocation
                .actor
                .capabilities
                .contains(Capability::ManageGuild);
        let (account, recent) = if show_entries {
            let (account, recent) =
                tokio::join!(books.account(&whose), books.recent(&whose, RECENT));
            (account, recent.map(Some))
        } else {
            (books.account(&whose).await, Ok(None))
        };
        let (account, recent) = match (account, recent) {
            (Ok(account), Ok(recent)) => (account, recent),
            (Err(error), _) | (_, Err(error)) => return storage_failure(&error).into(),
        };
        let owner = if whose == *me {
            "Your balance".to_owned()
        } else {
            format!("{}'s balance", mention(&whose))
        };
        let mut reply = Reply::ephemeral(format!(
            "{owner}: **{}**",
            settings.money(account.balance())
        ));
        if let Some(recent) = recent {
            let lines: Vec<String> = recent.iter().map(entry_line).collect();
            let value = if lines.is_empty() {
                "No changes yet.".to_owned()
            } else {
                lines.join("\n")
            };
            reply = reply.with_field("Latest changes", value);
        }
        reply.into()
    }
}

/// `/daily`.
pub struct Daily;

#[async_trait]
impl Command for Daily {
    fn spec(&self) -> &'static CommandSpec {
        &DAILY
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        if let Some(refusal) = outside_community(ctx) {
            return refusal;
        }
        let settings = match settings_of(ctx).await {
            Ok(settings) => settings,
            Err(error) => return storage_failure(&error).into(),
        };
        if settings.daily_amount <= 0 {
            return Reply::ephemeral("This community has no daily payout.").into();
        }
        let books = books(ctx, &settings);
        let me = ctx.invocation.actor.id.as_str();
        let now = ctx.now_secs();
        // The cooldown is read with the account and the payout is conditional on that read:
        // of concurrent dailies one pays, the others read again and meet the cooldown.
        let applied = books
            .apply(&cause(ctx), &[me], Vec::new(), |accounts| {
                daily_leg(&settings, &accounts[0], now).map(|leg| vec![leg])
            })
            .await;
        match applied {
            Ok(planned) => {
                let balance = planned.balance_of(me).unwrap_or_default();
                let (paid, streak) = planned
                    .legs
                    .first()
                    .map(|leg| (leg.amount, leg.daily_streak.unwrap_or(1)))
                    .unwrap_or((0, 1));
                let mut text = format!(
                    "You collected {}. Your balance: **{}**.",
                    settings.money(paid),
                    settings.money(balance)
                );
                if streak > 1 {
                    text.push_str(&format!(" Streak: day {streak}."));
                }
                text.push_str(&format!(
                    " The next one is ready in {}.",
                    duration::words(settings.daily_cooldown_secs)
                ));
                Reply::ephemeral(text).into()
            }
            Err(error) => refused(&settings, &error).into(),
        }
    }
}

/// `/leaderboard [page]`.
pub struct Leaderboard;

#[async_trait]
impl Command for Leaderboard {
    fn spec(&self) -> &'static CommandSpec {
        &LEADERBOARD
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        if let Some(refusal) = outside_community(ctx) {
            return refusal;
        }
        let page = match ctx.call.option("page") {
            Some(OptionValue::Integer(n)) if (1..=MAX_PAGE).contains(n) => *n as u32,
            Some(OptionValue::Integer(_)) => {
                return Reply::ephemeral(format!("Pages run from 1 to {MAX_PAGE}.")).into();
            }
            _ => 1,
        };
        let settings = match settings_of(ctx).await {
            Ok(settings) => settings,
            Err(error) => return storage_failure(&error).into(),
        };
        let top = match books(ctx, &settings).top((page - 1) * PAGE, PAGE).await {
            Ok(top) => top,
            Err(error) => return storage_failure(&error).into(),
        };
        if top.is_empty() {
            return Reply::ephemeral(if page == 1 {
                "Nobody holds anything yet. `/daily` starts a balance.".to_owned()
            } else {
                format!("Page {page} is empty.")
            })
            .into();
        }
        let first = (page - 1) * PAGE + 1;
        let lines: Vec<String> = top
            .iter()
            .enumerate()
            .map(|(i, account)| {
                format!(
                    "{}. {} · {}",
                    first as usize + i,
                    mention(&account.user),
                    settings.money(account.balance())
                )
            })
            .collect();
        let mut reply = Reply::ephemeral(format!("🏆 Leaderboard, page {page}"))
            .with_field("Members", lines.join("\n"));
        if top.len() == PAGE as usize {
            reply = reply.with_field("More", format!("`/leaderboard {}`", page + 1));
        }
        reply.into()
    }
}
