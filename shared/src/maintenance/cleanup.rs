//! Cleanup: delete what has expired but DynamoDB's TTL has not removed yet (it runs up to days
//! late; the embedded store never deletes on its own), and audit and ledger entries older than
//! their community's retention today (an entry's expiry is set from the retention when it was
//! written, so a retention shortened since leaves older entries behind). Balances are never
//! pruned: only the ledger's history goes.
//!
//! Expired items are invisible to every read, so the job walks the whole store with
//! [`Store::scan`](crate::store::Store::scan), a page at a time. A daily scan costs one read of
//! the table (on-demand, eventually consistent: about 0.125 read units per 4 KB item), which is
//! cheaper than an index on expiry that every claim, flow state and audit entry would pay to
//! write. Each delete is conditional: [`delete_expired`](crate::store::Store::delete_expired)
//! only while the item is still expired (an item created over it since the scan stays), an old
//! audit entry only at the version the scan saw.
//!
//! The scan's position is a cursor item (`maintenance#cursor` / `cleanup`). A run claims each
//! page by moving the cursor past it with a conditional write *before* working on it, so two
//! runs at once take different pages; a run that dies mid-page leaves the rest of that page to
//! the next cycle. When the scan reaches the end the cycle is complete and the next run starts
//! a new one.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Budget, Maintenance, Report, Sweep, Tenants};
use crate::store::{Item, ItemKey, NewItem, StoreError, keys};

const COUNTS: [&str; 8] = [
    "scanned",
    "audit entries",
    "ledger entries",
    "flow state",
    "idempotency keys",
    "other",
    "contended",
    "failed",
];

/// Where the scan stands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Position {
    /// The next page's cursor; `None` before the first page of a cycle.
    cursor: Option<String>,
    /// When the current cycle started (Unix seconds).
    started_at: i64,
    /// When the last cycle finished, if one has.
    finished_at: Option<i64>,
}

pub fn cursor_key() -> ItemKey {
    ItemKey::new("maintenance#cursor", "cleanup")
}

/// What an expired item is, for the report: the kinds the issue of cleanup is about, and the
/// rest (rate-limit buckets, member reports, delivered reminders).
fn kind_of(key: &ItemKey) -> &'static str {
    if key.pk.ends_with("#audit") {
        "audit entries"
    } else if retained(key).is_some_and(|(what, _)| what == Retained::Ledger) {
        "ledger entries"
    } else if key.pk.contains("#flow#") {
        "flow state"
    } else if key.pk.starts_with("claim#") || key.pk.starts_with("job#") {
        "idempotency keys"
    } else {
        "other"
    }
}

pub(super) async fn run(m: &Maintenance, budget: Budget) -> Report {
    let mut report = Report::new(Sweep::Cleanup, &COUNTS);
    let mut pages = budget.pages();
    let mut tenants = Tenants::default();
    loop {
        if !pages.another() {
            report.more = true;
            return report;
        }
        match next_page(m, &mut tenants, &mut report).await {
            Ok(true) => {}
            Ok(false) => return report,
            Err(error) => {
                report.add("failed", 1);
                report.note(format!("cleanup stopped: {error}; the next run continues"));
                report.more = true;
                return report;
            }
        }
    }
}

/// Claims and cleans one page. `Ok(false)` when the cycle is complete.
async fn next_page(
    m: &Maintenance,
    tenants: &mut Tenants,
    report: &mut Report,
) -> Result<bool, StoreError> {
    let now = m.now();
    let stored = m.store.get(&cursor_key()).await?;
    let (position, version) = match &stored {
        Some(item) => (
            serde_json::from_value::<Position>(item.data.clone()).unwrap_or_default(),
            Some(item.version),
        ),
        None => (Position::default(), None),
    };
    // No cursor: a new cycle begins here.
    let started_at = if position.cursor.is_some() {
        position.started_at
    } else {
        now
    };
    let page = m.store.scan(m.page(position.cursor.clone())).await?;
    let claimed = Position {
        cursor: page.cursor.clone(),
        started_at,
        finished_at: if page.cursor.is_none() {
            Some(now)
        } else {
            position.finished_at
        },
    };
    let write = NewItem::new(cursor_key(), json!(claimed));
    let claim = match version {
        Some(version) => m.store.update(write, version).await.map(|_| ()),
        None => m.store.create(write).await.map(|_| ()),
    };
    match claim {
        Ok(()) => {}
        // Another run took this page first: go on from where it left the cursor.
        Err(StoreError::VersionConflict { .. } | StoreError::AlreadyExists) => {
            report.add("contended", 1);
            return Ok(true);
        }
        Err(error) => return Err(error),
    }
    for item in page.items {
        clean(m, tenants, item, now, report).await;
    }
    Ok(page.cursor.is_some())
}

async fn clean(m: &Maintenance, tenants: &mut Tenants, item: Item, now: i64, report: &mut Report) {
    if item.key == cursor_key() {
        return;
    }
    report.add("scanned", 1);
    if item.expires_at.is_some_and(|at| at <= now) {
        match m.store.delete_expired(&item.key).await {
            Ok(true) => report.add(kind_of(&item.key), 1),
            // Replaced by a live item since the scan: it stays.
            Ok(false) => {}
            Err(error) => {
                report.add("failed", 1);
                report.note(format!("{}/{}: {error}", item.key.pk, item.key.sk));
            }
        }
        return;
    }
    let Some((what, community)) = retained(&item.key) else {
        return;
    };
    let (platform, tenant) = (community.platform, community.tenant);
    let (at_secs, retention) = match what {
        Retained::Audit => (
            item.data["at_ms"].as_i64().map(|ms| ms.div_euclid(1000)),
            tenants
                .settings(m.store.as_ref(), platform, tenant)
                .await
                .map(|s| s.retention_secs()),
        ),
        Retained::Ledger => (
            item.data["at"].as_i64(),
            tenants
                .economy(m.store.as_ref(), platform, tenant)
                .await
                .map(|s| s.retention_secs()),
        ),
    };
    let retention = match retention {
        Ok(retention) => retention,
        Err(error) => {
            report.add("failed", 1);
            report.note(format!("settings of {platform}:{tenant}: {error}"));
            return;
        }
    };
    if at_secs.unwrap_or(i64::MAX).saturating_add(retention) <= now {
        match m.store.delete(&item.key, Some(item.version)).await {
            Ok(()) => report.add(kind_of(&item.key), 1),
            // Changed or gone since the scan (an eventually consistent read): next cycle.
            Err(StoreError::VersionConflict { .. }) => {}
            Err(error) => {
                report.add("failed", 1);
                report.note(format!("{}/{}: {error}", item.key.pk, item.key.sk));
            }
        }
    }
}

/// Records kept for a retention the community may shorten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retained {
    /// `{platform}:{tenant}#audit`: the moderation settings' retention.
    Audit,
    /// `ledger#…` in `{platform}:{tenant}#wallet#{user}`: the economy's retention.
    Ledger,
}

fn retained(key: &ItemKey) -> Option<(Retained, keys::Community<'_>)> {
    if let Some(community) = keys::community_partition(&key.pk, "audit") {
        return Some((Retained::Audit, community));
    }
    if key.sk.starts_with(crate::economy::account::LEDGER_PREFIX) {
        let (community, _) = keys::user_partition(&key.pk, "wallet")?;
        return Some((Retained::Ledger, community));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::Platform;

    #[test]
    fn items_are_told_apart_by_their_keys() {
        let kind = |pk: &str| kind_of(&ItemKey::new(pk, "x"));
        assert_eq!(kind("discord:1#audit"), "audit entries");
        assert_eq!(kind("slack:T1#flow#U1"), "flow state");
        assert_eq!(kind("claim#discord:interaction#9"), "idempotency keys");
        assert_eq!(kind("job#discord:9"), "idempotency keys");
        assert_eq!(kind("discord:1#rl"), "other");
        assert_eq!(
            kind_of(&ItemKey::new("slack:T1#wallet#U1", "ledger#000000000001")),
            "ledger entries"
        );
        assert_eq!(
            kind_of(&ItemKey::new("slack:T1#wallet#U1", "account")),
            "other",
            "a balance is never a ledger entry"
        );
        let audit = |pk: &str| {
            retained(&ItemKey::new(pk, "x"))
                .filter(|(what, _)| *what == Retained::Audit)
                .map(|(_, c)| (c.platform, c.tenant.to_owned()))
        };
        assert_eq!(
            audit("discord:dm:42#audit"),
            Some((Platform::Discord, "dm:42".to_owned()))
        );
        assert_eq!(audit("teams:1#audit"), None);
        assert_eq!(audit("discord:1#auditx"), None);
    }
}
