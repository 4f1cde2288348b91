//! What can go wrong with a store operation, typed by what the caller does next.

/// Why a store operation did not happen. Condition failures are typed so callers can answer
/// users ("already handled", "someone else changed this") instead of failing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("an item with this key already exists")]
    AlreadyExists,
    #[error("the item's version moved (found {current:?})")]
    VersionConflict { current: Option<u64> },
    #[error("the counter is at its cap (value {current})")]
    CapReached { current: i64 },
    #[error("the deadline would run too far ahead (current deadline {current} ms)")]
    LimitReached { current: i64 },
    #[error("write {index} of the transaction failed its condition; nothing was written")]
    TransactionConflict { index: usize },
    #[error("the page cursor is not valid for this query")]
    InvalidCursor,
    #[error("invalid store request: {0}")]
    Invalid(String),
    /// Throttled or unreachable after retrying within the time budget: try again later.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("store failure: {0}")]
    Backend(String),
}

impl StoreError {
    /// True for failures that a later retry may not hit (throttling, timeouts).
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}
