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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::store::{Item, ItemKey, NewItem, Page, PageRequest, WriteOp};

    /// Counts reads and answers each with settings whose warning weight is the read's number.
    #[derive(Default)]
    struct CountingStore {
        reads: AtomicU32,
        fail: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl Store for CountingStore {
        async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
            if self.fail.load(Ordering::SeqCst) {
                return Err(StoreError::Unavailable("down".into()));
            }
            let n = self.reads.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(Some(Item {
                key: key.clone(),
                data: serde_json::json!({ "weights": { "warning": n } }),
                version: u64::from(n),
                expires_at: None,
                due: None,
            }))
        }
        async fn create(&self, _: NewItem) -> Result<Item, StoreError> {
            unreachable!()
        }
        async fn update(&self, _: NewItem, _: u64) -> Result<Item, StoreError> {
            unreachable!()
        }
        async fn delete(&self, _: &ItemKey, _: Option<u64>) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn increment(
            &self,
            _: &ItemKey,
            _: i64,
            _: Option<i64>,
            _: Option<i64>,
        ) -> Result<i64, StoreError> {
            unreachable!()
        }
        async fn transact(&self, _: Vec<WriteOp>) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn advance(&self, _: &ItemKey, _: i64, _: i64) -> Result<i64, StoreError> {
            unreachable!()
        }
        async fn query(&self, _: &str, _: &str, _: PageRequest) -> Result<Page, StoreError> {
            unreachable!()
        }
        async fn due_by(&self, _: &str, _: i64, _: PageRequest) -> Result<Page, StoreError> {
            unreachable!()
        }
        async fn scan(&self, _: PageRequest) -> Result<Page, StoreError> {
            unreachable!()
        }
        async fn delete_expired(&self, _: &ItemKey) -> Result<bool, StoreError> {
            unreachable!()
        }
    }

    #[tokio::test]
    async fn settings_are_read_once_a_minute_per_tenant() {
        let store = Arc::new(CountingStore::default());
        let cache = SettingsCache::new();
        let warning = |s: ModSettings| s.weights.warning;
        let get = |tenant: &'static str, now| {
            let (cache, store) = (&cache, Arc::clone(&store));
            async move {
                cache
                    .get(&*store, Platform::Slack, tenant, now)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(warning(get("T1", 0).await), 1);
        assert_eq!(warning(get("T1", SETTINGS_TTL_MS - 1).await), 1);
        assert_eq!(warning(get("T2", 10).await), 2, "another tenant reads");
        assert_eq!(warning(get("T1", SETTINGS_TTL_MS).await), 3, "a minute on");
        assert_eq!(store.reads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_save_replaces_the_copy_and_failed_reads_are_not_remembered() {
        let store = CountingStore::default();
        let cache = SettingsCache::new();
        store.fail.store(true, Ordering::SeqCst);
        assert!(cache.get(&store, Platform::Discord, "G", 0).await.is_err());
        store.fail.store(false, Ordering::SeqCst);
        assert_eq!(
            cache
                .get(&store, Platform::Discord, "G", 1)
                .await
                .unwrap()
                .weights
                .warning,
            1
        );
        let mut saved = ModSettings::default();
        saved.weights.warning = 42;
        cache.remember(Platform::Discord, "G", saved.clone(), 2);
        assert_eq!(
            cache.get(&store, Platform::Discord, "G", 3).await.unwrap(),
            saved
        );
        cache.forget(Platform::Discord, "G");
        assert_eq!(
            cache
                .get(&store, Platform::Discord, "G", 4)
                .await
                .unwrap()
                .weights
                .warning,
            2
        );
    }
}
