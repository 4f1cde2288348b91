//! A small map of recent answers, for the platform adapters and the Telegram username
//! directory: entries expire after a fixed time (or never), and the map never holds more than
//! its capacity, so a busy worker or edge cannot grow it without bound (one entry exists per
//! user, guild or group it has asked about or recorded).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub(crate) struct TtlMap<V> {
    /// Key → when the value was stored, and the value.
    entries: Mutex<HashMap<String, (Instant, V)>>,
    /// `None`: entries never expire (they only make room for newer ones).
    ttl: Option<Duration>,
    capacity: usize,
}

impl<V: Clone> TtlMap<V> {
    pub(crate) fn new(capacity: usize, ttl: Option<Duration>) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            ttl,
            capacity: capacity.max(1),
        }
    }

    /// The value stored under `key`, unless it has expired by `now`.
    pub(crate) fn get(&self, key: &str, now: Instant) -> Option<V> {
        let entries = self.lock();
        let (stored_at, value) = entries.get(key)?;
        (!self.expired(*stored_at, now)).then(|| value.clone())
    }

    /// Stores `value` under `key`. At capacity, expired entries go first, then the oldest.
    pub(crate) fn insert(&self, key: &str, value: V, now: Instant) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(key) {
            entries.retain(|_, (stored_at, _)| !self.expired(*stored_at, now));
            if entries.len() >= self.capacity {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, (stored_at, _))| *stored_at)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(key.to_owned(), (now, value));
    }

    fn expired(&self, stored_at: Instant, now: Instant) -> bool {
        self.ttl
            .is_some_and(|ttl| now.saturating_duration_since(stored_at) >= ttl)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, (Instant, V)>> {
        // Plain values: a panic elsewhere cannot leave the map half-updated.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl() {
        let map = TtlMap::new(4, Some(Duration::from_secs(60)));
        let now = Instant::now();
        map.insert("g", 1, now);
        assert_eq!(map.get("g", now + Duration::from_secs(59)), Some(1));
        assert_eq!(map.get("g", now + Duration::from_secs(60)), None);
        assert_eq!(map.get("other", now), None);
    }

    #[test]
    fn without_a_ttl_entries_stay() {
        let map = TtlMap::new(4, None);
        let now = Instant::now();
        map.insert("u", "dm", now);
        assert_eq!(
            map.get("u", now + Duration::from_secs(86_400 * 365)),
            Some("dm")
        );
        // A newer value replaces the old one.
        map.insert("u", "dm2", now);
        assert_eq!(map.get("u", now), Some("dm2"));
    }

    #[test]
    fn at_capacity_expired_entries_then_the_oldest_make_room() {
        let map = TtlMap::new(2, Some(Duration::from_secs(10)));
        let t0 = Instant::now();
        map.insert("a", 1, t0);
        map.insert("b", 2, t0 + Duration::from_secs(5));
        // "a" is still fresh: the oldest ("a") goes.
        map.insert("c", 3, t0 + Duration::from_secs(6));
        let t = t0 + Duration::from_secs(6);
        assert_eq!(
            (map.get("a", t), map.get("b", t), map.get("c", t)),
            (None, Some(2), Some(3))
        );
        // Replacing a present key never evicts another.
        map.insert("c", 4, t);
        assert_eq!((map.get("b", t), map.get("c", t)), (Some(2), Some(4)));
        // "b" has expired by now: it goes, "c" stays.
        let later = t0 + Duration::from_secs(15);
        map.insert("d", 5, later);
        assert_eq!(
            (map.get("c", later), map.get("d", later)),
            (Some(4), Some(5))
        );
        assert_eq!(map.lock().len(), 2);
    }
}
