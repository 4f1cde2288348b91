//! "Claim this key once for N seconds": the first caller wins, every later caller learns the
//! work was already done. One conditional create, so one store round trip.
//!
//! The pipeline claims every interaction id (Discord) and every event id (Slack) before acting,
//! so a request delivered twice, retried by Slack, or replayed by someone who captured a signed
//! request inside the replay window, has exactly one effect.

use std::sync::Arc;

use serde_json::json;

use crate::clock::Clock;
use crate::store::{ItemKey, NewItem, Store, StoreError};

/// How long a claim is remembered per kind of id. Long enough to outlive every redelivery the
/// platform makes; TTL removes the claim afterwards.
pub mod lifetimes {
    /// Discord interaction tokens live 15 minutes; the replay window is 5.
    pub const DISCORD_INTERACTION_SECS: i64 = 15 * 60;
    /// Slack retries events up to three times over about an hour.
    pub const SLACK_EVENT_SECS: i64 = 2 * 60 * 60;
    /// A Slack slash command is never retried, but a captured one can be replayed while its
    /// signature's timestamp is inside the replay window (5 minutes by default): outlive it.
    pub const SLACK_COMMAND_SECS: i64 = 15 * 60;
    /// Telegram keeps an update it could not deliver for 24 hours, retrying all the while.
    pub const TELEGRAM_UPDATE_SECS: i64 = 25 * 60 * 60;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// This caller holds the claim: do the work.
    First,
    /// Someone already claimed it: the work is done or under way.
    Repeat,
}

#[derive(Clone)]
pub struct Claims {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl Claims {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Claims `id` within `scope` (for example `discord:interaction`) for `for_secs` seconds.
    pub async fn claim(&self, scope: &str, id: &str, for_secs: i64) -> Result<Claim, StoreError> {
        self.take(self.claim_item(scope, id, for_secs)).await
    }

    /// Takes a claim built by [`Claims::claim_item`] on its own (one conditional create).
    pub async fn take(&self, claim: NewItem) -> Result<Claim, StoreError> {
        match self.store.create(claim).await {
            Ok(_) => Ok(Claim::First),
            Err(StoreError::AlreadyExists) => Ok(Claim::Repeat),
            Err(other) => Err(other),
        }
    }

    /// The claim as an item, to take alone ([`Claims::take`]) or to create inside a
    /// transaction (the rate limiter takes its tokens and the claim in one round trip), where a
    /// conflict on it means [`Claim::Repeat`].
    pub fn claim_item(&self, scope: &str, id: &str, for_secs: i64) -> NewItem {
        let now = self.clock.now_secs();
        NewItem::new(Self::key(scope, id), json!({ "claimed_at": now })).expiring_at(now + for_secs)
    }

    /// Where a claim is stored: one partition per claimed id, so claims never crowd a tenant.
    pub fn key(scope: &str, id: &str) -> ItemKey {
        ItemKey::new(format!("claim#{scope}#{id}"), "claim")
    }
}
