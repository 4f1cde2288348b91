//! Moving money: every change to balances is one store transaction that writes, all or none,
//! a receipt for its cause, each account over the version it was read at, and one ledger entry
//! per account.
//!
//! - **Once per cause.** The receipt's key is the cause (the interaction id, or a case's fine),
//!   created only if absent: a redelivered interaction, a Slack retry or a double click meets
//!   the receipt and changes nothing.
//! - **No money from nowhere.** An account is written only over the version it was read at, so
//!   two payments from one account never both spend the same balance: the loser reads again
//!   and is refused if the money has gone. A payment is one transaction, never a withdrawal and
//!   a separate deposit.
//! - **Exact entries.** Because each write is conditional on the account's version, each
//!   entry's `balance_after` is the balance the account then had, and its number is the
//!   account's next, so a ledger replays to its balance.
//!
//! [`Books::plan`] only computes the writes, for callers that commit them with writes of
//! their own (a confirmation's state, a case); [`Books::apply`] reads, plans and commits,
//! reading again when another movement touched an account first.

use std::time::Duration;

use super::account::{Account, AccountState, Entry, EntryKind};
use super::settings::{EconomySettings, MAX_AMOUNT, MAX_STREAK_BONUS_DAYS};
use crate::invocation::Platform;
use crate::store::keys::Community;
use crate::store::{ItemKey, NewItem, PageRequest, Store, StoreError, WriteOp};

/// How long a receipt outlives its movement: beyond any redelivery (Discord tokens live 15
/// minutes, Slack retries within an hour, EventBridge retries for up to a day).
pub const RECEIPT_SECS: i64 = 2 * 86_400;
/// Rounds of read-and-commit before giving up on an account others keep changing: each round
/// one of the racing movements commits, so this covers that many at once.
const ATTEMPTS: usize = 40;

/// Why a movement was refused. Nothing was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// An amount of zero or less, or beyond what any balance may hold.
    BadAmount(i64),
    SelfPayment,
    ToABot,
    Insufficient {
        balance: i64,
        needed: i64,
    },
    /// The credit would take `user` past the maximum balance.
    OverMaximum {
        user: String,
        balance: i64,
    },
    /// `/daily` again before the cooldown ends.
    Cooldown {
        left_secs: i64,
    },
    /// This cause already moved money (a redelivery, a retry, a second click).
    Duplicate,
}

#[derive(Debug)]
pub enum EconomyError {
    Refused(Refusal),
    /// Others kept changing the accounts through every attempt.
    Busy,
    Store(StoreError),
}

impl From<StoreError> for EconomyError {
    fn from(error: StoreError) -> Self {
        EconomyError::Store(error)
    }
}

/// What caused a movement: its receipt's key, who acted, and when.
#[derive(Clone, Debug)]
pub struct Cause<'a> {
    pub id: &'a str,
    pub by: &'a str,
    pub at: i64,
}

/// One account's part in a movement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leg {
    pub user: String,
    /// Signed: negative takes money out.
    pub amount: i64,
    pub kind: EntryKind,
    pub counterparty: Option<String>,
    pub reason: String,
    /// A `/daily`: the streak it makes (the day is the cause's time).
    pub daily_streak: Option<u32>,
}

impl Leg {
    pub fn new(user: &str, amount: i64, kind: EntryKind, reason: impl Into<String>) -> Self {
        Self {
            user: user.to_owned(),
            amount,
            kind,
            counterparty: None,
            reason: reason.into(),
            daily_streak: None,
        }
    }

    pub fn with_counterparty(mut self, user: &str) -> Self {
        self.counterparty = Some(user.to_owned());
        self
    }
}

/// The writes of a movement, and what they make of each account.
#[derive(Clone, Debug)]
pub struct Planned {
    /// The receipt first, then each account's write and its ledger entry.
    pub ops: Vec<WriteOp>,
    /// Each leg's account and its balance after.
    pub after: Vec<(String, i64)>,
    /// The legs as planned.
    pub legs: Vec<Leg>,
    receipt: ItemKey,
    accounts: Vec<ItemKey>,
}

/// Which of a movement's writes failed its condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// The receipt exists: the movement already happened.
    Duplicate,
    /// An account changed since it was read: read again.
    Contended,
    /// A write that is not the movement's own.
    Other,
}

impl Planned {
    pub fn conflict_at(&self, key: &ItemKey) -> Conflict {
        if *key == self.receipt {
            Conflict::Duplicate
        } else if self.accounts.contains(key) {
            Conflict::Contended
        } else {
            Conflict::Other
        }
    }

    pub fn balance_of(&self, user: &str) -> Option<i64> {
        self.after.iter().find(|(u, _)| u == user).map(|(_, b)| *b)
    }
}

/// One community's accounts.
pub struct Books<'a> {
    store: &'a dyn Store,
    community: Community<'a>,
    settings: &'a EconomySettings,
}

impl<'a> Books<'a> {
    pub fn new(
        store: &'a dyn Store,
        platform: Platform,
        tenant: &'a str,
        settings: &'a EconomySettings,
    ) -> Self {
        Self {
            store,
            community: Community::new(platform, tenant),
            settings,
        }
    }

    pub fn settings(&self) -> &EconomySettings {
        self.settings
    }

    pub async fn account(&self, user: &str) -> Result<Account, StoreError> {
        Ok(
            match self.store.get(&Account::key(self.community, user)).await? {
                Some(item) => Account::from_item(user, &item),
                None => Account::empty(user),
            },
        )
    }

    /// The newest `limit` ledger entries of `user`, newest first.
    pub async fn recent(&self, user: &str, limit: u32) -> Result<Vec<Entry>, StoreError> {
        Ok(self.entries(user, limit, None, true).await?.0)
    }

    /// Every kept ledger entry of `user`, oldest first.
    pub async fn ledger(&self, user: &str) -> Result<Vec<Entry>, StoreError> {
        let mut entries = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = self.entries(user, 1000, cursor, false).await?;
            entries.extend(page);
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(entries),
            }
        }
    }

    /// A page of `user`'s ledger in entry order (or newest first), and the next page's cursor.
    async fn entries(
        &self,
        user: &str,
        limit: u32,
        cursor: Option<String>,
        descending: bool,
    ) -> Result<(Vec<Entry>, Option<String>), StoreError> {
        let page = self
            .store
            .query(
                &self.community.wallet(user),
                super::account::LEDGER_PREFIX,
                PageRequest {
                    limit,
                    cursor,
                    descending,
                },
            )
            .await?;
        let entries = page.items.iter().filter_map(Entry::from_item).collect();
        Ok((entries, page.cursor))
    }

    /// The `limit` richest accounts, richest first, skipping `skip`: the due index read
    /// highest first, so a page costs what it returns, never a scan. (The index is eventually
    /// consistent on DynamoDB: a payment a moment ago may show in the next read.)
    pub async fn top(&self, skip: u32, limit: u32) -> Result<Vec<Account>, StoreError> {
        let wanted = skip.saturating_add(limit).min(1000);
        let page = self
            .store
            .due_by(
                &self.community.balances(),
                i64::MAX,
                PageRequest {
                    limit: wanted,
                    cursor: None,
                    descending: true,
                },
            )
            .await?;
        let wallet = self.community.wallet("");
        Ok(page
            .items
            .iter()
            .filter_map(|item| {
                let user = item.key.pk.strip_prefix(&wallet)?;
                Some(Account::from_item(user, item))
            })
            .filter(|account| account.balance() > 0)
            .skip(skip as usize)
            .take(limit as usize)
            .collect())
    }

    /// The writes that move money as `legs` say, over `accounts` as read. Refuses, before any
    /// write, an amount that is not positive, a debit the balance does not cover and a credit
    /// past the maximum.
    pub fn plan(
        &self,
        cause: &Cause<'_>,
        accounts: &[Account],
        legs: &[Leg],
    ) -> Result<Planned, Refusal> {
        let receipt = ItemKey::new(self.community.receipts(), cause.id);
        let mut ops = vec![WriteOp::Create(
            NewItem::new(
                receipt.clone(),
                serde_json::json!({ "by": cause.by, "at": cause.at, "legs": legs.len() }),
            )
            .expiring_at(cause.at + RECEIPT_SECS),
        )];
        let mut after = Vec::new();
        let mut keys = Vec::new();
        for leg in legs {
            if leg.amount == 0 || leg.amount.abs() > MAX_AMOUNT {
                return Err(Refusal::BadAmount(leg.amount));
            }
            // An account the caller did not read is written as new: a create, which fails
            // (and is read again) if it exists after all.
            let unread;
            let account = match accounts.iter().find(|a| a.user == leg.user) {
                Some(account) => account,
                None => {
                    unread = Account::empty(&leg.user);
                    &unread
                }
            };
            if after.iter().any(|(user, _)| *user == leg.user) {
                return Err(Refusal::SelfPayment);
            }
            let balance = account.balance() + leg.amount;
            if balance < 0 {
                return Err(Refusal::Insufficient {
                    balance: account.balance(),
                    needed: -leg.amount,
                });
            }
            if leg.amount > 0 && balance > self.settings.max_balance {
                return Err(Refusal::OverMaximum {
                    user: leg.user.clone(),
                    balance: account.balance(),
                });
            }
            let mut state = AccountState {
                balance,
                seq: account.state.seq + 1,
                ..account.state.clone()
            };
            if let Some(streak) = leg.daily_streak {
                state.last_daily_at = Some(cause.at);
                state.streak = streak;
            }
            let item = Account::item(self.community, &leg.user, &state);
            keys.push(item.key.clone());
            ops.push(match account.version {
                Some(expected_version) => WriteOp::Update {
                    item,
                    expected_version,
                },
                None => WriteOp::Create(item),
            });
            let entry = Entry {
                seq: state.seq,
                at: cause.at,
                kind: leg.kind,
                amount: leg.amount,
                balance_after: balance,
                counterparty: leg.counterparty.clone(),
                reason: leg.reason.clone(),
                cause: cause.id.to_owned(),
                by: cause.by.to_owned(),
            };
            ops.push(WriteOp::Create(
                NewItem::new(
                    Entry::key(self.community, &leg.user, state.seq),
                    serde_json::to_value(&entry).unwrap_or_default(),
                )
                .expiring_at(cause.at + self.settings.retention_secs()),
            ));
            after.push((leg.user.clone(), balance));
        }
        Ok(Planned {
            ops,
            after,
            legs: legs.to_vec(),
            receipt,
            accounts: keys,
        })
    }

    /// Reads `users`' accounts, asks `build` for the legs (it may refuse, seeing the balances),
    /// and commits them with `extra` writes (an audit entry) in one transaction. Reads again
    /// when another movement changed an account in between.
    pub async fn apply<F>(
        &self,
        cause: &Cause<'_>,
        users: &[&str],
        extra: Vec<WriteOp>,
        build: F,
    ) -> Result<Planned, EconomyError>
    where
        F: Fn(&[Account]) -> Result<Vec<Leg>, Refusal> + Send + Sync,
    {
        for _ in 0..ATTEMPTS {
            let accounts = self.accounts(users).await?;
            let legs = build(&accounts).map_err(EconomyError::Refused)?;
            let planned = self
                .plan(cause, &accounts, &legs)
                .map_err(EconomyError::Refused)?;
            let mut ops = planned.ops.clone();
            // After the receipt, so a replay is told by the receipt first.
            ops.splice(1..1, extra.iter().cloned());
            match self.store.transact(ops.clone()).await {
                Ok(()) => return Ok(planned),
                Err(StoreError::TransactionConflict { index }) => {
                    match ops.get(index).map(|op| planned.conflict_at(op.key())) {
                        Some(Conflict::Duplicate) => {
                            return Err(EconomyError::Refused(Refusal::Duplicate));
                        }
                        Some(Conflict::Contended) => pause().await,
                        _ => {
                            return Err(EconomyError::Store(StoreError::TransactionConflict {
                                index,
                            }));
                        }
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(EconomyError::Busy)
    }

    async fn accounts(&self, users: &[&str]) -> Result<Vec<Account>, StoreError> {
        match users {
            [one] => Ok(vec![self.account(one).await?]),
            [a, b] => {
                let (a, b) = tokio::join!(self.account(a), self.account(b));
                Ok(vec![a?, b?])
            }
            more => {
                let mut accounts = Vec::with_capacity(more.len());
                for user in more {
                    accounts.push(self.account(user).await?);
                }
                Ok(accounts)
            }
        }
    }
}

/// What `/daily` pays `account` at `now`, or how long until it may: the cooldown and the streak
/// come from the account as read, and the write is conditional on that read, so concurrent
/// dailies pay once.
pub fn daily_leg(settings: &EconomySettings, account: &Account, now: i64) -> Result<Leg, Refusal> {
    let (streak, amount) = daily_payout(settings, &account.state, now)?;
    let mut leg = Leg::new(
        &account.user,
        amount,
        EntryKind::Daily,
        format!("day {streak}"),
    );
    leg.daily_streak = Some(streak);
    Ok(leg)
}

/// The streak and the payout of a daily at `now`.
pub fn daily_payout(
    settings: &EconomySettings,
    state: &AccountState,
    now: i64,
) -> Result<(u32, i64), Refusal> {
    let cooldown = settings.daily_cooldown_secs;
    let streak = match state.last_daily_at {
        Some(last) if now - last < cooldown => {
            return Err(Refusal::Cooldown {
                left_secs: last + cooldown - now,
            });
        }
        // Within a day of the cooldown's end, the streak goes on.
        Some(last) if now - last < cooldown + 86_400 => state.streak.saturating_add(1),
        _ => 1,
    };
    let bonus_days = i64::from(streak.min(MAX_STREAK_BONUS_DAYS + 1) - 1);
    Ok((
        streak,
        settings.daily_amount + settings.streak_bonus * bonus_days,
    ))
}

/// A short random pause, so movements that lost one round do not collide again in lockstep.
async fn pause() {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    tokio::time::sleep(Duration::from_millis(u64::from(byte[0] % 16))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> EconomySettings {
        EconomySettings {
            daily_amount: 100,
            streak_bonus: 10,
            daily_cooldown_secs: 20 * 3600,
            ..EconomySettings::default()
        }
    }

    #[test]
    fn dailies_wait_for_the_cooldown_and_grow_a_streak_for_a_week() {
        let s = settings();
        let fresh = AccountState::default();
        assert_eq!(daily_payout(&s, &fresh, 1_000_000), Ok((1, 100)));
        let mut state = AccountState {
            last_daily_at: Some(1_000_000),
            streak: 1,
            ..AccountState::default()
        };
        assert_eq!(
            daily_payout(&s, &state, 1_000_000 + 3600),
            Err(Refusal::Cooldown {
                left_secs: 19 * 3600
            })
        );
        assert_eq!(
            daily_payout(&s, &state, 1_000_000 + 20 * 3600),
            Ok((2, 110))
        );
        state.streak = 30;
        assert_eq!(
            daily_payout(&s, &state, 1_000_000 + 21 * 3600),
            Ok((31, 170)),
            "the bonus stops growing after a week"
        );
        assert_eq!(
            daily_payout(&s, &state, 1_000_000 + 44 * 3600 + 1),
            Ok((1, 100)),
            "a missed day starts again"
        );
    }
}
