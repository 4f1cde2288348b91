//! A community's economy settings: the currency's name and symbol, the daily payout, the most
//! an account may hold, when a payment asks for confirmation, fines per case kind, and how
//! long the ledger is kept. One item beside the moderation settings (`config` / `economy`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::case_kind::Kind;
use crate::invocation::Platform;
use crate::store::keys::Community;
use crate::store::{ItemKey, Store, StoreError, WriteOp, document};

/// The most a setting's amount may be: far below `i64::MAX`, so that no sum of two balances
/// or of a balance and a payout can overflow.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;
pub const MAX_RETENTION_DAYS: u32 = 3_650;
/// The longest streak that still grows the bonus (a week of dailies).
pub const MAX_STREAK_BONUS_DAYS: u32 = 7;

/// What each case kind costs the member when fines are on; a kind not listed costs nothing.
/// Stored under the kinds' codes: `{"warning": 50}`.
pub type Fines = BTreeMap<Kind, i64>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EconomySettings {
    /// The currency's name, plural ("coins").
    pub currency: String,
    pub symbol: String,
    /// What `/daily` pays before the streak bonus.
    pub daily_amount: i64,
    pub daily_cooldown_secs: i64,
    /// Added per consecutive day of `/daily` (a day missed starts again), for up to
    /// [`MAX_STREAK_BONUS_DAYS`] days; 0 turns streaks off.
    pub streak_bonus: i64,
    /// The most one account may hold: a credit that would pass it is refused.
    pub max_balance: i64,
    /// A `/pay` of more than this asks the payer to confirm (0: every payment does).
    pub confirm_over: i64,
    /// Whether cases take their kind's fine.
    pub fines_on: bool,
    pub fines: Fines,
    /// How long ledger entries are kept. Balances are never pruned.
    pub ledger_retention_days: u32,
}

impl Default for EconomySettings {
    fn default() -> Self {
        Self {
            currency: "coins".into(),
            symbol: "🪙".into(),
            daily_amount: 100,
            daily_cooldown_secs: 20 * 3600,
            streak_bonus: 10,
            max_balance: 1_000_000_000,
            confirm_over: 1_000,
            fines_on: false,
            fines: Fines::default(),
            ledger_retention_days: 365,
        }
    }
}

impl EconomySettings {
    pub fn key(platform: Platform, tenant: &str) -> ItemKey {
        ItemKey::new(Community::new(platform, tenant).config(), "economy")
    }

    pub fn retention_secs(&self) -> i64 {
        i64::from(self.ledger_retention_days) * 86_400
    }

    /// "1,250 🪙 coins".
    pub fn money(&self, amount: i64) -> String {
        format!("{} {} {}", grouped(amount), self.symbol, self.currency)
            .trim_end()
            .to_owned()
    }

    /// The fine a case of `kind` takes, if fines are on and the kind has one.
    pub fn fine_for(&self, kind: Kind) -> Option<i64> {
        let fine = self.fine_of(kind);
        (self.fines_on && fine > 0).then_some(fine)
    }

    /// The fine set for `kind`, on or off.
    pub fn fine_of(&self, kind: Kind) -> i64 {
        self.fines.get(&kind).copied().unwrap_or(0)
    }

    /// The tenant's settings and the stored item's version (`None`: defaults, never saved).
    pub async fn load(
        store: &dyn Store,
        platform: Platform,
        tenant: &str,
    ) -> Result<(Self, Option<u64>), StoreError> {
        document::load(store, &Self::key(platform, tenant), "economy settings").await
    }

    /// The write that saves these settings over `version` (or creates them).
    pub fn write(&self, platform: Platform, tenant: &str, version: Option<u64>) -> WriteOp {
        document::write(Self::key(platform, tenant), self, version)
    }
}

/// `1250000` → `1,250,000`.
pub fn grouped(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if amount < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_with_thousands_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(-1_250_000), "-1,250,000");
        assert_eq!(EconomySettings::default().money(1_500), "1,500 🪙 coins");
    }

    #[test]
    fn a_partial_document_reads_as_the_defaults_for_what_it_leaves_out() {
        let settings: EconomySettings =
            serde_json::from_value(serde_json::json!({ "daily_amount": 5 })).unwrap();
        assert_eq!(settings.daily_amount, 5);
        assert_eq!(settings.currency, "coins");
        assert_eq!(settings.fine_for(Kind::Warning), None);
        let mut fined = settings.clone();
        fined.fines_on = true;
        fined.fines.insert(Kind::Warning, 50);
        assert_eq!(fined.fine_for(Kind::Warning), Some(50));
        assert_eq!(fined.fine_for(Kind::Ban), None);
    }
}
