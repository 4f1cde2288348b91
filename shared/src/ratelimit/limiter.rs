//! The limiter on the acknowledgement path: every bucket a command draws from, and the
//! interaction's idempotency claim when there is one, move in **one transaction**, so a
//! rate-limited command costs one store round trip (two when it is refused: the second reads
//! the bucket that refused, for the exact wait).
//!
//! Without a claim (a command that only answers) the buckets still move in one transaction,
//! although plain conditional writes would bill half the units: under a burst on one
//! community's bucket, concurrent plain writes each re-guess the cursor and retry, and on the
//! emulator 240 racing admissions outran a 20-second budget. A transaction refused by a
//! concurrent writer answers at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::gcra::{PolicyError, retry_after_ms};
use super::policy::{Policies, Scope, TenantLimits};
use crate::clock::Clock;
use crate::commands::CommandSpec;
use crate::invocation::Invocation;
use crate::store::keys::Community;
use crate::store::{ItemKey, NewItem, Store, StoreError, WriteOp, create_or_replace};

/// How long an instance trusts the tenant overrides it read. A change through configuration
/// takes effect on every instance within this time.
const OVERRIDES_TTL_MS: i64 = 5 * 60 * 1000;
/// Bounded: a Lambda instance serving many communities keeps memory flat.
const OVERRIDES_CACHE_MAX: usize = 4096;

/// The outcome of [`RateLimiter::admit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead: the tokens are taken (and the claim, if any, is held).
    Allowed,
    /// The claim was already held: this interaction was handled before.
    Repeat,
    /// Refused by `scope`'s bucket; a request `retry_after_ms` from now will pass it.
    Limited { scope: Scope, retry_after_ms: i64 },
}

pub struct RateLimiter {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    defaults: Policies,
    overrides: Mutex<HashMap<String, (i64, Policies)>>,
}

impl RateLimiter {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, defaults: Policies) -> Self {
        Self {
            store,
            clock,
            defaults,
            overrides: Mutex::new(HashMap::new()),
        }
    }

    /// Where a tenant's rate-limit overrides are stored.
    pub fn overrides_key(community: Community<'_>) -> ItemKey {
        ItemKey::new(community.config(), "ratelimits")
    }

    /// Stores a tenant's overrides (creating or replacing them; versioned, so two writers
    /// cannot interleave). Instances pick them up within five minutes.
    pub async fn set_overrides(
        store: &dyn Store,
        community: Community<'_>,
        limits: &TenantLimits,
    ) -> Result<(), StoreError> {
        Policies::default()
            .with_overrides(limits)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let key = Self::overrides_key(community);
        let data = serde_json::to_value(limits).map_err(|e| StoreError::Invalid(e.to_string()))?;
        create_or_replace(store, NewItem::new(key, data))
            .await
            .map(|_| ())
    }

    /// Takes a token from every bucket `spec` draws from for this invoker, together with
    /// `claim` (the interaction's idempotency claim) in the same transaction.
    pub async fn admit(
        &self,
        invocation: &Invocation,
        spec: &CommandSpec,
        claim: Option<WriteOp>,
    ) -> Result<Admission, StoreError> {
        let community = Community::new(invocation.platform, &invocation.tenant);
        let policies = self.policies_for(community).await;
        let mut scopes = vec![Scope::UserCommand, Scope::Tenant];
        if spec.requires.is_some() {
            scopes.push(Scope::Moderation);
        }
        let buckets: Vec<(Scope, ItemKey)> = scopes
            .into_iter()
            .map(|scope| (scope, bucket_key(community, scope, invocation, spec.name)))
            .collect();
        let claimed = usize::from(claim.is_some());
        let mut ops: Vec<WriteOp> = claim.into_iter().collect();
        ops.extend(buckets.iter().map(|(scope, key)| {
            let policy = policies.for_scope(*scope);
            WriteOp::Advance {
                key: key.clone(),
                step_ms: policy.step_ms(),
                max_ahead_ms: policy.max_ahead_ms(),
            }
        }));
        match self.store.transact(ops).await {
            Ok(()) => Ok(Admission::Allowed),
            Err(StoreError::TransactionConflict { index }) if index < claimed => {
                Ok(Admission::Repeat)
            }
            Err(StoreError::TransactionConflict { index }) => {
                let Some((scope, key)) = buckets.get(index - claimed) else {
                    return Err(StoreError::Backend(format!(
                        "the store named write {index} of a {}-write transaction",
                        buckets.len() + claimed
                    )));
                };
                let policy = policies.for_scope(*scope);
                let now = self.clock.now_ms();
                // The refusing bucket's deadline gives the exact wait; if it drained in the
                // meantime, the next request passes, so say so with the shortest wait.
                let wait = match self.store.get(key).await? {
                    Some(item) => item
                        .data
                        .as_i64()
                        .map_or(policy.step_ms(), |d| retry_after_ms(d, now, policy)),
                    None => 0,
                };
                Ok(Admission::Limited {
                    scope: *scope,
                    retry_after_ms: wait.max(1),
                })
            }
            Err(other) => Err(other),
        }
    }

    /// The tenant's policies: defaults with its stored overrides, cached for five minutes.
    /// A missing item is cached too, so communities without overrides cost no reads.
    async fn policies_for(&self, community: Community<'_>) -> Policies {
        let now = self.clock.now_ms();
        let tenant = community.scope();
        if let Some((read_at, policies)) = self.cache().get(&tenant)
            && now - read_at < OVERRIDES_TTL_MS
        {
            return *policies;
        }
        let policies = match self.store.get(&Self::overrides_key(community)).await {
            Ok(Some(item)) => parse_overrides(&item.data)
                .and_then(|limits| Ok(self.defaults.with_overrides(&limits)?))
                .unwrap_or_else(|problem| {
                    tracing::warn!(tenant, %problem, "ignoring invalid rate-limit overrides");
                    self.defaults
                }),
            Ok(None) => self.defaults,
            Err(error) => {
                // Not cached: the next request tries again.
                tracing::warn!(tenant, %error, "could not read rate-limit overrides; using defaults");
                return self.defaults;
            }
        };
        let mut cache = self.cache();
        if cache.len() >= OVERRIDES_CACHE_MAX {
            cache.clear();
        }
        cache.insert(tenant.to_owned(), (now, policies));
        policies
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, Policies)>> {
        self.overrides
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Why a tenant's stored overrides are ignored (logged; the defaults apply instead).
#[derive(Debug, thiserror::Error)]
enum OverridesError {
    #[error(transparent)]
    Unreadable(#[from] serde_json::Error),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

fn parse_overrides(data: &Value) -> Result<TenantLimits, OverridesError> {
    Ok(serde_json::from_value(data.clone())?)
}

/// All of a tenant's buckets share its partition ([`Community::rate_limits`]).
fn bucket_key(
    community: Community<'_>,
    scope: Scope,
    invocation: &Invocation,
    command: &str,
) -> ItemKey {
    let user = &invocation.actor.id;
    let sk = match scope {
        Scope::UserCommand => format!("cmd#{command}#{user}"),
        Scope::Tenant => "tenant".to_owned(),
        Scope::Moderation => format!("mod#{user}"),
    };
    ItemKey::new(community.rate_limits(), sk)
}

/// What a refused user reads, with the wait in whole seconds (rounded up).
pub fn limited_message(scope: Scope, command: &str, retry_after_ms: i64) -> String {
    let secs = (retry_after_ms.max(1) + 999) / 1000;
    let wait = if secs == 1 {
        "1 second".to_owned()
    } else {
        format!("{secs} seconds")
    };
    match scope {
        Scope::UserCommand => {
            format!("You're using `/{command}` too quickly. Try again in {wait}.")
        }
        Scope::Tenant => format!(
            "This community is sending Gavel too many commands right now. Try again in {wait}."
        ),
        Scope::Moderation => format!(
            "You're taking moderation actions too quickly. Try again in {wait}; nothing was done."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert!(limited_message(Scope::UserCommand, "ping", 3_001).contains("in 4 seconds"));
        assert!(limited_message(Scope::UserCommand, "ping", 4_000).contains("in 4 seconds"));
        assert!(limited_message(Scope::Tenant, "ping", 1).contains("in 1 second."));
        assert!(limited_message(Scope::Moderation, "ban", 0).contains("in 1 second;"));
    }
}
