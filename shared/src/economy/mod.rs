//! The economy: a currency per community whose books always balance.
//!
//! Balances are whole units (`i64`, never floats) in one account per member; every change is a
//! ledger entry written in the same transaction as the balance it changes, under a receipt that
//! makes each cause (an interaction, a case's fine) move money at most once. See
//! [`books`] for how, and `docs/DATA.md` for the items and keys.

pub mod account;
pub mod books;
pub mod settings;

pub use account::{Account, AccountState, Entry, EntryKind};
pub use books::{Books, Cause, Conflict, EconomyError, Leg, Planned, Refusal, daily_leg};
pub use settings::{EconomySettings, Fines};
