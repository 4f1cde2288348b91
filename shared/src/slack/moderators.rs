//! Who moderates a Slack workspace. Slack payloads carry no roles, so Gavel decides: the users
//! listed in the deployment's environment (`GAVEL_SLACK_MODERATORS`) or in the workspace's
//! settings (`/modconfig slack-moderators`), the members of its moderator user group, and the
//! workspace's admins and owners (`users.info`).
//!
//! The edge asks only for requests that need to know; this service answers within
//! [`LOOKUP_BUDGET`] and never fails: what could not be read in time leaves the lists that
//! could be read to decide, and the failure is logged.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::web::SlackWeb;
use crate::clock::Clock;
use crate::invocation::Invocation;
use crate::moderation::SettingsCache;
use crate::store::Store;

/// How long the Slack Web API may take to say whether an invoker is a workspace admin or in
/// the moderator user group. Slack wants its acknowledgement within 3 seconds, and the command
/// still has to run after this; past the budget the configured lists decide alone.
pub const LOOKUP_BUDGET: Duration = Duration::from_millis(1000);

/// Decides who is a Slack moderator, from the configured lists and the Slack Web API.
pub struct SlackModerators {
    /// `GAVEL_SLACK_MODERATORS`: moderators in every workspace this deployment serves.
    everywhere: HashSet<String>,
    web: Arc<dyn SlackWeb>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl SlackModerators {
    /// Nobody is listed for every workspace until [`listing`](Self::listing) says so.
    pub fn new(web: Arc<dyn SlackWeb>, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            everywhere: HashSet::new(),
            web,
            store,
            clock,
        }
    }

    /// The moderators named for every workspace (`GAVEL_SLACK_MODERATORS`).
    pub fn listing(mut self, users: impl IntoIterator<Item = String>) -> Self {
        self.everywhere = users.into_iter().collect();
        self
    }

    /// Where the admin and user-group questions go.
    pub fn asking(mut self, web: Arc<dyn SlackWeb>) -> Self {
        self.web = web;
        self
    }

    /// Whether `user` is named a moderator for every workspace: known without any lookup.
    pub fn is_listed_everywhere(&self, user: &str) -> bool {
        self.everywhere.contains(user)
    }

    /// Whether the invoker of `invocation` moderates its workspace. The workspace's settings
    /// come from `settings` (this instance's one-minute copy).
    pub async fn is_moderator(&self, invocation: &Invocation, settings: &SettingsCache) -> bool {
        let user = invocation.actor.id.as_str();
        if self.is_listed_everywhere(user) {
            return true;
        }
        let settings = match settings
            .get(
                self.store.as_ref(),
                invocation.platform,
                &invocation.tenant,
                self.clock.now_ms(),
            )
            .await
        {
            Ok(settings) => settings,
            Err(error) => {
                tracing::warn!(%error, "could not read the workspace's moderators; only GAVEL_SLACK_MODERATORS count");
                return false;
            }
        };
        settings.slack_moderators.iter().any(|m| m == user)
            || self
                .slack_says_moderator(user, settings.slack_moderator_group.as_deref())
                .await
    }

    /// Asks Slack, both questions at once, whether `user` is a workspace admin or owner or a
    /// member of `group`; the first yes ends the wait.
    async fn slack_says_moderator(&self, user: &str, group: Option<&str>) -> bool {
        let admin = async {
            match self.web.user_is_admin(user).await {
                Ok(admin) => admin,
                Err(error) => {
                    tracing::warn!(%error, "could not ask Slack whether the invoker is a workspace admin; the configured moderators decide");
                    false
                }
            }
        };
        let member = async {
            let Some(group) = group else {
                return false;
            };
            match self.web.usergroup_members(group).await {
                Ok(members) => members.iter().any(|m| m == user),
                Err(error) => {
                    tracing::warn!(%error, group, "could not list the moderator user group; the configured moderators decide");
                    false
                }
            }
        };
        let either = async {
            tokio::pin!(admin, member);
            let (mut admin_done, mut member_done) = (false, false);
            loop {
                tokio::select! {
                    yes = &mut admin, if !admin_done => {
                        if yes {
                            return true;
                        }
                        admin_done = true;
                    }
                    yes = &mut member, if !member_done => {
                        if yes {
                            return true;
                        }
                        member_done = true;
                    }
                    else => return false,
                }
            }
        };
        match tokio::time::timeout(LOOKUP_BUDGET, either).await {
            Ok(found) => found,
            Err(_) => {
                tracing::warn!(
                    budget_ms = LOOKUP_BUDGET.as_millis() as u64,
                    "Slack did not answer the moderator lookups in time; the configured moderators decide"
                );
                false
            }
        }
    }
}
