//! Each instance's short memory of the communities' documents: the moderation settings, and
//! the compiled AutoMod rules.
//!
//! Deciding who moderates on Slack, how long a refusal's audit entry is kept, or whether a
//! member's message breaks a rule needs a community's document on requests that otherwise
//! would not read it. Reading it once a minute per instance keeps those requests at their
//! usual round trips; a save replaces the saving instance's copy at once, and other instances
//! see it within [`SETTINGS_TTL_MS`]. Anything that writes a document reads it fresh with its
//! version instead.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::settings::ModSettings;
use crate::invocation::Platform;
use crate::store::keys::Community;
use crate::store::{Store, StoreError};

/// How long an instance trusts a document it read.
pub const SETTINGS_TTL_MS: i64 = 60 * 1000;
/// Bounded: a Lambda instance serving many communities keeps memory flat.
const CAPACITY: usize = 4096;

/// One copy per community of a value read from the store, trusted for a minute.
#[derive(Debug)]
pub struct CommunityCache<V> {
    /// `{platform}:{tenant}` → when the value was read (Unix ms), and the value.
    entries: Mutex<HashMap<String, (i64, V)>>,
}

impl<V> Default for CommunityCache<V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> CommunityCache<V> {
    /// This instance's copy, if it is younger than [`SETTINGS_TTL_MS`].
    pub fn fresh(&self, platform: Platform, tenant: &str, now_ms: i64) -> Option<V> {
        let entries = self.lock();
        let (read_at, value) = entries.get(&cache_key(platform, tenant))?;
        (now_ms - read_at < SETTINGS_TTL_MS && now_ms >= *read_at).then(|| value.clone())
    }

    /// Replaces this instance's copy (after a read, or a save that wrote `value`).
    pub fn remember(&self, platform: Platform, tenant: &str, value: V, now_ms: i64) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.retain(|_, (read_at, _)| now_ms - *read_at < SETTINGS_TTL_MS);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(cache_key(platform, tenant), (now_ms, value));
    }

    /// Drops this instance's copy, so the next request reads the store.
    pub fn forget(&self, platform: Platform, tenant: &str) {
        self.lock().remove(&cache_key(platform, tenant));
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, (i64, V)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The moderation settings' copies.
#[derive(Debug, Default)]
pub struct SettingsCache(CommunityCache<ModSettings>);

impl SettingsCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The tenant's settings: this instance's copy if it is younger than a minute, else read
    /// from `store` (defaults when never saved, which is remembered too). A failed read is
    /// not remembered, so the next request tries again.
    pub async fn get(
        &self,
        store: &dyn Store,
        platform: Platform,
        tenant: &str,
        now_ms: i64,
    ) -> Result<ModSettings, StoreError> {
        if let Some(settings) = self.0.fresh(platform, tenant, now_ms) {
            return Ok(settings);
        }
        let (settings, _version) = ModSettings::load(store, platform, tenant).await?;
        self.0.remember(platform, tenant, settings.clone(), now_ms);
        Ok(settings)
    }

    /// Replaces this instance's copy, after a save that wrote `settings`.
    pub fn remember(&self, platform: Platform, tenant: &str, settings: ModSettings, now_ms: i64) {
        self.0.remember(platform, tenant, settings, now_ms);
    }

    /// Drops this instance's copy, so the next request reads the store.
    pub fn forget(&self, platform: Platform, tenant: &str) {
        self.0.forget(platform, tenant);
    }
}

fn cache_key(platform: Platform, tenant: &str) -> String {
    Community::new(platform, tenant).scope()
}
