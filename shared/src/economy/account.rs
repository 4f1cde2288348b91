//! What the store holds for a member: their account (balance, the ledger's next number, the
//! daily streak) and the ledger entries, all in the member's wallet partition, so the balance
//! and the last entries are one partition's read.
//!
//! The account sits in the due index under the community's `balances` queue with its balance as
//! the due time: the index, read highest first, is the leaderboard, with no scan.

use serde::{Deserialize, Serialize};

use crate::store::keys::Community;
use crate::store::{Item, ItemKey, NewItem};

pub const ACCOUNT_SK: &str = "account";
pub const LEDGER_PREFIX: &str = "ledger#";

/// A member's account as read, with the version its next write is conditional on (`None`:
/// never written, so the write is a create).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub user: String,
    pub state: AccountState,
    pub version: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountState {
    pub balance: i64,
    /// The number of the last ledger entry (0: none yet).
    pub seq: u64,
    /// When `/daily` last paid (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_daily_at: Option<i64>,
    /// Consecutive days of `/daily`, the last one included.
    pub streak: u32,
}

impl Account {
    pub fn key(community: Community<'_>, user: &str) -> ItemKey {
        ItemKey::new(community.wallet(user), ACCOUNT_SK)
    }

    pub fn empty(user: &str) -> Self {
        Self {
            user: user.to_owned(),
            state: AccountState::default(),
            version: None,
        }
    }

    /// The account in `item` (an unreadable document reads as empty at its version, so the
    /// next write replaces it rather than failing forever).
    pub fn from_item(user: &str, item: &Item) -> Self {
        Self {
            user: user.to_owned(),
            state: serde_json::from_value(item.data.clone()).unwrap_or_else(|error| {
                tracing::error!(%error, "account unreadable; reading it as empty");
                AccountState::default()
            }),
            version: Some(item.version),
        }
    }

    pub fn balance(&self) -> i64 {
        self.state.balance
    }

    /// The item that stores `state` for this account, ranked by its balance.
    pub fn item(community: Community<'_>, user: &str, state: &AccountState) -> NewItem {
        NewItem::new(
            Self::key(community, user),
            serde_json::to_value(state).unwrap_or_default(),
        )
        .due(community.balances(), state.balance)
    }
}

/// What moved money in or out of an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Paid to another member.
    Sent,
    /// Paid by another member.
    Received,
    /// `/daily`: new money.
    Daily,
    /// Given by a moderator (`/economy give`): new money.
    Given,
    /// Taken by a moderator (`/economy take`): money gone.
    Taken,
    /// A case's fine: money gone.
    Fine,
    /// A pardoned case's fine paid back: new money.
    Refund,
}

impl EntryKind {
    /// Money that did not exist before (positive) or stops existing (negative), as opposed to
    /// money moving between members: what the books balance against.
    pub fn mints_or_burns(self) -> bool {
        !matches!(self, EntryKind::Sent | EntryKind::Received)
    }

    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Sent => "paid",
            EntryKind::Received => "received",
            EntryKind::Daily => "daily",
            EntryKind::Given => "given by a moderator",
            EntryKind::Taken => "taken by a moderator",
            EntryKind::Fine => "fine",
            EntryKind::Refund => "fine refunded",
        }
    }
}

/// One change to one account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    /// Unix seconds.
    pub at: i64,
    pub kind: EntryKind,
    /// Signed: what the balance changed by.
    pub amount: i64,
    pub balance_after: i64,
    /// The other member of a payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterparty: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The interaction or job that caused it (its receipt's key).
    pub cause: String,
    /// Who acted: the payer, the moderator, the member collecting a daily.
    pub by: String,
}

impl Entry {
    pub fn key(community: Community<'_>, user: &str, seq: u64) -> ItemKey {
        // Zero-padded so sort-key order is ledger order.
        ItemKey::new(community.wallet(user), format!("{LEDGER_PREFIX}{seq:012}"))
    }

    pub fn from_item(item: &Item) -> Option<Self> {
        serde_json::from_value(item.data.clone()).ok()
    }
}
