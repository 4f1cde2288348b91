//! Each instance's short memory of the communities' moderation settings.
//!
//! Deciding who moderates on Slack, and how long a refusal's audit entry is kept, needs the
//! settings on requests that otherwise would not read them. Reading them once a minute per
//! instance keeps those requests at their usual round trips; a `/modconfig` save replaces the
//! saving instance's copy at once, and other instances see it within [`SETTINGS_TTL_MS`].
//! Anything that writes the settings reads them fresh with their version instead.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::settings::ModSettings;
use crate::invocation::Platform;
use crate::store::keys::Community;
use crate::store::{Store, StoreError};

/// How long an instance trusts the settings it read.
pub const SETTINGS_TTL_MS: i64 = 60 * 1000;
/// Bounded: a Lambda instance serving many communities keeps memory flat.
const CAPACITY: usize = 4096;

#[derive(Debug, Default)]
pub struct SettingsCache {
    /// `{platform}:{tenant}` → when the settings were read (Unix ms), and the settings.
    entries: Mutex<HashMap<String, (i64, ModSettings)>>,
}

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
        let key = cache_key(platform, tenant);
        if let Some((read_at, settings)) = self.lock().get(&key)
            && now_ms - read_at < SETTINGS_TTL_MS
            && now_ms >= *read_at
        {
            return Ok(settings.clone());
        }
        let (settings, _version) = ModSettings::load(store, platform, tenant).await?;
        self.remember(platform, tenant, settings.clone(), now_ms);
        Ok(settings)
    }

    /// Replaces this instance's copy, after a save that wrote `settings`.
    pub fn remember(&self, platform: Platform, tenant: &str, settings: ModSettings, now_ms: i64) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.retain(|_, (read_at, _)| now_ms - *read_at < SETTINGS_TTL_MS);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(cache_key(platform, tenant), (now_ms, settings));
    }

    /// Drops this instance's copy, so the next request reads the store.
    pub fn forget(&self, platform: Platform, tenant: &str) {
        self.lock().remove(&cache_key(platform, tenant));
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, (i64, ModSettings)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn cache_key(platform: Platform, tenant: &str) -> String {
    Community::new(platform, tenant).scope()
}
