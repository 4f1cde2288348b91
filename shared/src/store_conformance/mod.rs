//! The store conformance suite: one set of cases that every [`Store`] adapter must pass, so the
//! embedded store used locally and DynamoDB on AWS behave the same.
//!
//! Each case takes a [`Harness`]: the store under test, the manual clock that store reads, and a
//! namespace unique to the case, so cases can share one table (the DynamoDB run shares one
//! emulator and one table across all cases). Adapters generate one test per case with
//! [`store_conformance_tests!`](crate::store_conformance_tests).

mod advance;
mod items;
mod queries;
mod scan;
mod transactions;

use std::sync::Arc;

use crate::clock::{Clock, ManualClock};
use crate::store::{ItemKey, Store};

pub use advance::*;
pub use items::*;
pub use queries::*;
pub use scan::*;
pub use transactions::*;

/// The store under test, the clock it reads, and a namespace for keys.
#[derive(Clone)]
pub struct Harness {
    pub store: Arc<dyn Store>,
    pub clock: ManualClock,
    pub namespace: String,
}

impl Harness {
    fn key(&self, pk: &str, sk: &str) -> ItemKey {
        ItemKey::new(format!("{}#{pk}", self.namespace), sk)
    }

    fn pk(&self, pk: &str) -> String {
        format!("{}#{pk}", self.namespace)
    }

    fn queue(&self, name: &str) -> String {
        format!("{}#{name}", self.namespace)
    }

    fn now(&self) -> i64 {
        self.clock.now_secs()
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// Generates one `#[tokio::test]` per conformance case. `$harness` is an async block or
/// expression (evaluated per test) that yields a fresh [`Harness`].
#[macro_export]
macro_rules! store_conformance_tests {
    ($harness:expr) => {
        $crate::store_conformance_tests!(@cases $harness;
            create_is_conditional_on_absence,
            versioned_update_fails_cleanly_when_the_version_moved,
            expired_items_are_invisible_at_once,
            delete_with_and_without_version,
            counter_stops_at_its_cap,
            counter_restarts_after_expiry,
            increment_refuses_a_non_counter_item,
            racing_counter_increments_give_exactly_the_cap,
            racing_versioned_updates_have_one_winner_per_version,
            transaction_with_a_failing_condition_changes_nothing,
            transaction_applies_every_write,
            malformed_transactions_are_refused,
            query_pages_through_a_prefix_in_order,
            query_descending_and_expired_items_skipped,
            due_index_lists_items_due_by_a_time,
            due_index_read_highest_first_ranks_by_value,
            a_bad_cursor_is_an_error,
            each_operation_is_one_round_trip,
            advance_starts_from_now_and_accumulates_up_to_its_limit,
            an_idle_advance_starts_again_from_now,
            an_advanced_item_expires_once_drained,
            advance_refuses_nonsense,
            racing_advances_give_exactly_the_capacity,
            advances_on_different_keys_are_independent,
            a_transaction_with_an_advance_is_all_or_nothing,
            advance_agrees_with_gcra,
            scan_shows_expired_items_and_delete_expired_spares_live_ones,
        );
    };
    (@cases $harness:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let harness = $harness.await;
                $crate::store_conformance::$case(harness).await;
            }
        )+
    };
}
