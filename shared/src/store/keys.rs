//! Every partition key Gavel writes, in one place. A community's items all live under
//! `{platform}:{tenant}`, so one busy community makes no hot key for another, and each kind of
//! record has its own suffix. `docs/DATA.md` lists the sort keys and lifetimes beside these.
//!
//! Building keys only here means a typo cannot put a record where its reader never looks, and
//! the sweeps that find records through the due index read a key back with the same table.

use std::fmt;

use crate::invocation::Platform;

/// One community's key space: a Discord guild or a Slack workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Community<'a> {
    pub platform: Platform,
    pub tenant: &'a str,
}

impl<'a> Community<'a> {
    pub fn new(platform: Platform, tenant: &'a str) -> Self {
        Self { platform, tenant }
    }

    /// `{platform}:{tenant}`: the prefix of every key below, and the name of the community in
    /// per-instance caches.
    pub fn scope(self) -> String {
        self.to_string()
    }

    /// Settings and channels, one sort key each (`moderation`, `ratelimits`, `reports`).
    pub fn config(self) -> String {
        self.under("config")
    }

    /// One member's history: their cases, decay seeds and standing.
    pub fn member(self, user: &str) -> String {
        self.under_with("member", user)
    }

    /// The case index: case number → the member's partition.
    pub fn case_index(self) -> String {
        self.under("case")
    }

    /// The case-number counter.
    pub fn case_counter(self) -> String {
        self.under("counter")
    }

    /// On a member's own DM community ([`crate::invocation::dm_tenant`]): where their cases
    /// are in every community, so `/appeal` in a DM with the bot, which is in none, finds the
    /// community.
    pub fn cases_everywhere(self) -> String {
        self.under("cases")
    }

    /// The audit log.
    pub fn audit(self) -> String {
        self.under("audit")
    }

    /// Appeals, one item per case.
    pub fn appeals(self) -> String {
        self.under("appeal")
    }

    /// Member reports.
    pub fn reports(self) -> String {
        self.under("reports")
    }

    /// Rate-limit buckets.
    pub fn rate_limits(self) -> String {
        self.under("rl")
    }

    /// One user's flow runs (`shared` is no Discord or Slack user id, so
    /// [`shared_flows`](Self::shared_flows) cannot collide with it).
    pub fn flows_of(self, user: &str) -> String {
        self.under_with("flow", user)
    }

    /// Runs any moderator may step (an appeal's review).
    pub fn shared_flows(self) -> String {
        self.under_with("flow", "shared")
    }

    /// One user's reminders and their id counter.
    pub fn reminders_of(self, user: &str) -> String {
        self.under_with("remind", user)
    }

    /// One member's account and its ledger (`account`, `ledger#{seq}`).
    pub fn wallet(self, user: &str) -> String {
        self.under_with("wallet", user)
    }

    /// Receipts of the community's money movements, one per cause, so none is made twice.
    pub fn receipts(self) -> String {
        self.under("receipt")
    }

    /// Claims on the Discord audit-log entries of native AutoMod read into cases, one each.
    pub fn automod_entries(self) -> String {
        self.under("automod-entry")
    }

    /// The due-index queue that ranks the community's accounts by balance (the leaderboard).
    pub fn balances(self) -> String {
        self.under("balances")
    }

    /// A Telegram group's username directory: lower-cased username → the member last seen
    /// with it (Telegram's Bot API cannot look a username up).
    pub fn usernames(self) -> String {
        self.under("username")
    }

    fn under(self, what: &str) -> String {
        format!("{self}#{what}")
    }

    fn under_with(self, what: &str, whose: &str) -> String {
        format!("{self}#{what}#{whose}")
    }
}

impl fmt::Display for Community<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.platform, self.tenant)
    }
}

/// The community and user of a per-user partition built by [`Community::member`] (`what` =
/// `member`) or [`Community::reminders_of`] (`remind`), for sweeps that find records through
/// the due index.
pub fn user_partition<'k>(pk: &'k str, what: &str) -> Option<(Community<'k>, &'k str)> {
    let (scope, user) = pk.split_once(&format!("#{what}#"))?;
    let community = community_of(scope)?;
    (!user.is_empty()).then_some((community, user))
}

/// The community of a per-community partition (`what` = `audit`, `config`, …), for the
/// cleanup job, which meets every partition in its scan.
pub fn community_partition<'k>(pk: &'k str, what: &str) -> Option<Community<'k>> {
    community_of(pk.strip_suffix(what)?.strip_suffix('#')?)
}

/// `{platform}:{tenant}` read back, as [`Community::scope`] writes it.
fn community_of(scope: &str) -> Option<Community<'_>> {
    let (platform, tenant) = scope.split_once(':')?;
    let platform = Platform::from_code(platform)?;
    (!tenant.is_empty()).then_some(Community::new(platform, tenant))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_the_layout_stored_items_already_have() {
        let c = Community::new(Platform::Discord, "g1");
        assert_eq!(c.scope(), "discord:g1");
        assert_eq!(c.config(), "discord:g1#config");
        assert_eq!(c.member("u1"), "discord:g1#member#u1");
        assert_eq!(c.case_index(), "discord:g1#case");
        assert_eq!(c.case_counter(), "discord:g1#counter");
        assert_eq!(c.audit(), "discord:g1#audit");
        assert_eq!(c.appeals(), "discord:g1#appeal");
        assert_eq!(c.reports(), "discord:g1#reports");
        assert_eq!(c.rate_limits(), "discord:g1#rl");
        assert_eq!(c.flows_of("u1"), "discord:g1#flow#u1");
        assert_eq!(c.shared_flows(), "discord:g1#flow#shared");
        assert_eq!(c.wallet("u1"), "discord:g1#wallet#u1");
        assert_eq!(c.receipts(), "discord:g1#receipt");
        assert_eq!(c.balances(), "discord:g1#balances");
        let dm = crate::invocation::dm_tenant("u1");
        assert_eq!(
            Community::new(Platform::Telegram, &dm).cases_everywhere(),
            "telegram:dm:u1#cases"
        );
        let t = Community::new(Platform::Telegram, "-1001");
        assert_eq!(t.usernames(), "telegram:-1001#username");
        let s = Community::new(Platform::Slack, "T1");
        assert_eq!(s.reminders_of("U1"), "slack:T1#remind#U1");
    }

    #[test]
    fn user_partitions_read_back() {
        let c = Community::new(Platform::Slack, "T1");
        assert_eq!(user_partition(&c.member("U9"), "member"), Some((c, "U9")));
        assert_eq!(
            user_partition(&c.reminders_of("U9"), "remind"),
            Some((c, "U9"))
        );
        assert_eq!(user_partition(&c.member("U9"), "remind"), None);
        assert_eq!(user_partition("matrix:1#member#2", "member"), None);
        assert_eq!(user_partition("slack:#member#U1", "member"), None);
        assert_eq!(user_partition("slack:T1#member#", "member"), None);
        assert_eq!(community_partition(&c.audit(), "audit"), Some(c));
        assert_eq!(community_partition(&c.config(), "audit"), None);
        assert_eq!(community_partition("slack:T1#xaudit", "audit"), None);
        assert_eq!(community_partition("slack:#audit", "audit"), None);
    }
}
