//! What the suites read back from the store and write into it directly: a community's
//! moderation settings and its audit log.

use gavel_shared::invocation::Platform;
use gavel_shared::moderation::{AuditEntry, ModSettings};
use gavel_shared::store::Store;

/// Saves `settings` as the community's, over whatever it had (a versioned write).
pub async fn save_settings(
    store: &dyn Store,
    platform: Platform,
    tenant: &str,
    settings: &ModSettings,
) {
    let (_, version) = ModSettings::load(store, platform, tenant)
        .await
        .expect("the settings can be read");
    store
        .transact(vec![settings.write(platform, tenant, version)])
        .await
        .expect("settings save");
}

/// The community's whole audit log, newest first.
pub async fn audit_log(store: &dyn Store, platform: Platform, tenant: &str) -> Vec<AuditEntry> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let (mut page, next) = AuditEntry::recent(store, platform, tenant, 100, cursor)
            .await
            .expect("the audit log reads");
        all.append(&mut page);
        match next {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}
