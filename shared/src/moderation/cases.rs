//! Where cases live in the store, and the writes that open and change them.
//!
//! - the case itself: `{p}:{t}#member#{user}` / `case#{n:010}`, so a member's history is one
//!   query, newest first, paginated;
//! - an index from number to member: `{p}:{t}#case` / `{n:010}`, written once with the case, so
//!   `/case 12` finds it;
//! - the tenant's counter: `{p}:{t}#counter` / `cases`, holding the last number given;
//! - on Discord and Telegram, whose DMs with the bot are in no community, an index of the
//!   member's cases across communities: `{p}:dm:{user}#cases` / `{n:010}#{t}`, written once
//!   with the case, so `/appeal 3` sent in that DM finds the communities with their case #3.
//!
//! A number is allocated in the same transaction that creates the case: the writer reads the
//! counter (n - 1) and increments it capped at n, which fails if anyone else took n first; the
//! writer then reads again and retries. Numbers therefore have no gaps and no duplicates.
//!
//! Timed sanctions sit in the due index (queue [`EXPIRY_QUEUE`]) at their end, for the expiry
//! sweep.

use super::case::Case;
use crate::invocation::{Platform, dm_tenant, is_dm_tenant};
use crate::store::keys::{self, Community};
use crate::store::{Item, ItemKey, NewItem, PageRequest, Store, StoreError, WriteOp};

/// The due-index queue of timed sanctions, swept by the maintenance job.
pub const EXPIRY_QUEUE: &str = "sanction-expiry";
/// A member's full history is read for the score; beyond this many cases the oldest are left
/// out of it (they have long decayed at any sensible rate).
pub const SCORE_HISTORY_LIMIT: usize = 1000;

/// A case as read, with the version its next edit must name.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredCase {
    pub case: Case,
    pub version: u64,
}

/// The cases of one tenant.
#[derive(Clone, Copy)]
pub struct Cases<'a> {
    pub store: &'a dyn Store,
    pub platform: Platform,
    pub tenant: &'a str,
}

impl<'a> Cases<'a> {
    pub fn new(store: &'a dyn Store, platform: Platform, tenant: &'a str) -> Self {
        Self {
            store,
            platform,
            tenant,
        }
    }

    fn community(&self) -> Community<'_> {
        Community::new(self.platform, self.tenant)
    }

    /// The partition of a member's cases (and the decay job's items about them).
    pub fn member_partition(&self, user: &str) -> String {
        self.community().member(user)
    }

    pub fn case_key(&self, user: &str, number: u64) -> ItemKey {
        ItemKey::new(self.member_partition(user), format!("case#{number:010}"))
    }

    fn index_key(&self, number: u64) -> ItemKey {
        ItemKey::new(self.community().case_index(), format!("{number:010}"))
    }

    /// The member's entry for this case in their index across communities.
    fn everywhere_key(&self, user: &str, number: u64) -> ItemKey {
        let dm = dm_tenant(user);
        ItemKey::new(
            Community::new(self.platform, &dm).cases_everywhere(),
            format!("{}{}", everywhere_prefix(number), self.tenant),
        )
    }

    /// Whether this tenant's cases go in their members' index across communities: only where
    /// a DM with the bot is outside every community (a Slack DM is in the workspace), and
    /// never for a DM's own "community".
    fn indexed_everywhere(&self) -> bool {
        matches!(self.platform, Platform::Discord | Platform::Telegram)
            && !is_dm_tenant(self.tenant)
    }

    fn counter_key(&self) -> ItemKey {
        ItemKey::new(self.community().case_counter(), "cases")
    }

    /// The number the next case will get, if nobody takes it first.
    pub async fn next_number(&self) -> Result<u64, StoreError> {
        let last = match self.store.get(&self.counter_key()).await? {
            Some(item) => item.data.as_u64().unwrap_or(0),
            None => 0,
        };
        Ok(last + 1)
    }

    /// The writes that open `case` (numbered with [`Self::next_number`]): the counter first, so
    /// a lost race on the number is `TransactionConflict { index: offset }` where `offset` is
    /// the counter's position in the caller's transaction; then the case, its index and, on
    /// Discord and Telegram, the member's index across communities.
    pub fn open_ops(&self, case: &Case) -> Vec<WriteOp> {
        let number = case.number;
        let mut item = NewItem::new(
            self.case_key(&case.target, number),
            serde_json::to_value(case).unwrap_or_default(),
        );
        if let (true, Some(end)) = (case.kind == super::case::Kind::TempBan, case.expires_at) {
            item = item.due(EXPIRY_QUEUE, end);
        }
        let mut ops = vec![
            WriteOp::Increment {
                key: self.counter_key(),
                by: 1,
                cap: Some(number as i64),
            },
            WriteOp::Create(item),
            WriteOp::Create(NewItem::new(
                self.index_key(number),
                serde_json::json!({ "target": case.target }),
            )),
        ];
        if self.indexed_everywhere() {
            ops.push(WriteOp::Create(NewItem::new(
                self.everywhere_key(&case.target, number),
                serde_json::json!({ "tenant": self.tenant }),
            )));
        }
        ops
    }

    /// The write that saves an edited case over the version it was read at.
    pub fn update_op(&self, stored: &StoredCase) -> WriteOp {
        let case = &stored.case;
        let mut item = NewItem::new(
            self.case_key(&case.target, case.number),
            serde_json::to_value(case).unwrap_or_default(),
        );
        // Only a temporary ban still waiting to be lifted stays in the expiry queue.
        if let (super::case::Kind::TempBan, super::case::Status::Active, Some(end)) =
            (case.kind, case.status, case.expires_at)
        {
            item = item.due(EXPIRY_QUEUE, end);
        }
        WriteOp::Update {
            item,
            expected_version: stored.version,
        }
    }

    /// Case `number`, wherever it lives (two reads: the index, then the case).
    pub async fn get(&self, number: u64) -> Result<Option<StoredCase>, StoreError> {
        let Some(index) = self.store.get(&self.index_key(number)).await? else {
            return Ok(None);
        };
        let Some(target) = index.data["target"].as_str() else {
            return Err(StoreError::Invalid(format!(
                "case index {number} has no target"
            )));
        };
        self.get_of(target, number).await
    }

    /// Case `number` of `user` (one read).
    pub async fn get_of(&self, user: &str, number: u64) -> Result<Option<StoredCase>, StoreError> {
        match self.store.get(&self.case_key(user, number)).await? {
            Some(item) => decode(item).map(Some),
            None => Ok(None),
        }
    }

    /// One page of a member's history, newest first.
    pub async fn page_of(
        &self,
        user: &str,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<(Vec<StoredCase>, Option<String>), StoreError> {
        let page = self
            .store
            .query(
                &self.member_partition(user),
                "case#",
                PageRequest {
                    limit,
                    cursor,
                    descending: true,
                },
            )
            .await?;
        let cases = page
            .items
            .into_iter()
            .map(decode)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((cases, page.cursor))
    }

    /// A member's whole history (up to [`SCORE_HISTORY_LIMIT`]), newest first, for the score.
    pub async fn all_of(&self, user: &str) -> Result<Vec<StoredCase>, StoreError> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let (mut page, next) = self.page_of(user, 200, cursor).await?;
            all.append(&mut page);
            if next.is_none() || all.len() >= SCORE_HISTORY_LIMIT {
                all.truncate(SCORE_HISTORY_LIMIT);
                return Ok(all);
            }
            cursor = next;
        }
    }
}

/// The tenants where `user` has a case numbered `number`, from their index across communities
/// (Discord and Telegram only; empty elsewhere).
pub async fn tenants_with_case(
    store: &dyn Store,
    platform: Platform,
    user: &str,
    number: u64,
) -> Result<Vec<String>, StoreError> {
    let dm = dm_tenant(user);
    let pk = Community::new(platform, &dm).cases_everywhere();
    let prefix = everywhere_prefix(number);
    let mut tenants = Vec::new();
    let mut page = PageRequest::first(100);
    loop {
        let found = store.query(&pk, &prefix, page.clone()).await?;
        tenants.extend(found.items.into_iter().filter_map(|item| {
            item.data["tenant"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| item.key.sk.strip_prefix(&prefix).map(str::to_owned))
        }));
        match found.cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(tenants),
        }
    }
}

/// The sort-key prefix of case `number`'s entries in a member's index across communities.
fn everywhere_prefix(number: u64) -> String {
    format!("{number:010}#")
}

/// The platform, tenant and member of a member partition (`{p}:{t}#member#{user}`), for the
/// sweeps that find cases through the due index.
pub fn member_of(pk: &str) -> Option<(Platform, &str, &str)> {
    let (community, user) = keys::user_partition(pk, "member")?;
    Some((community.platform, community.tenant, user))
}

/// Reads a stored case (for sweeps that get the item from the due index).
pub fn decode(item: Item) -> Result<StoredCase, StoreError> {
    let case = serde_json::from_value(item.data)
        .map_err(|e| StoreError::Invalid(format!("unreadable case: {e}")))?;
    Ok(StoredCase {
        case,
        version: item.version,
    })
}
