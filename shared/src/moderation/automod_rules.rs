//! A community's AutoMod rules in the store (one versioned document beside the moderation
//! settings), and each instance's compiled copy of them.
//!
//! Every message event checks the rules, so compiling them (word tables, regexes) happens once
//! per instance per minute at most, not once per message.

use std::sync::Arc;

use super::settings_cache::CommunityCache;
use crate::automod::{Engine, Rules};
use crate::invocation::Platform;
use crate::store::keys::Community;
use crate::store::{ItemKey, Store, StoreError, WriteOp, document};

/// Where the community's rules live.
pub fn key(platform: Platform, tenant: &str) -> ItemKey {
    ItemKey::new(Community::new(platform, tenant).config(), "automod")
}

/// The community's rules and their version (`None`: never saved, so the seeded defaults).
pub async fn load(
    store: &dyn Store,
    platform: Platform,
    tenant: &str,
) -> Result<(Rules, Option<u64>), StoreError> {
    document::load(store, &key(platform, tenant), "automod rules").await
}

/// The write that saves `rules` over `version`.
pub fn write(rules: &Rules, platform: Platform, tenant: &str, version: Option<u64>) -> WriteOp {
    document::write(key(platform, tenant), rules, version)
}

/// Rules ready to check messages with.
pub struct Compiled {
    pub rules: Rules,
    pub engine: Engine,
}

impl Compiled {
    /// Rules that no longer compile (edited by hand in the table, or saved by an older version
    /// with looser limits) fall back to the defaults, with an error in the log, so a
    /// community is never left unwatched by a typo.
    pub fn new(rules: Rules) -> Self {
        match Engine::compile(&rules) {
            Ok(engine) => Self { rules, engine },
            Err(error) => {
                tracing::error!(%error, "stored automod rules do not compile; using the defaults");
                let rules = Rules::default();
                let engine = Engine::compile(&rules).expect("the default rules compile");
                Self { rules, engine }
            }
        }
    }
}

/// Each instance's compiled rules per community.
#[derive(Default)]
pub struct RulesCache(CommunityCache<Arc<Compiled>>);

impl RulesCache {
    /// The community's compiled rules, read and compiled at most once a minute.
    pub async fn get(
        &self,
        store: &dyn Store,
        platform: Platform,
        tenant: &str,
        now_ms: i64,
    ) -> Result<Arc<Compiled>, StoreError> {
        if let Some(compiled) = self.0.fresh(platform, tenant, now_ms) {
            return Ok(compiled);
        }
        let (rules, _version) = load(store, platform, tenant).await?;
        let compiled = Arc::new(Compiled::new(rules));
        self.0
            .remember(platform, tenant, Arc::clone(&compiled), now_ms);
        Ok(compiled)
    }

    /// After a save on this instance: its messages are checked against the new rules at once.
    pub fn remember(&self, platform: Platform, tenant: &str, rules: Rules, now_ms: i64) {
        self.0
            .remember(platform, tenant, Arc::new(Compiled::new(rules)), now_ms);
    }

    pub fn forget(&self, platform: Platform, tenant: &str) {
        self.0.forget(platform, tenant);
    }
}
