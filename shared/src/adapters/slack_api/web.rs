//! What the edge asks while it answers ([`SlackWeb`]): answers to a click, opening a form, and
//! who may moderate (`users.info`, `usergroups.users.list`, kept for a few minutes), all
//! within Slack's 3 seconds.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::endpoints::{USER_PREFIXES, USERGROUP_PREFIXES, check_slack_id};
use super::errors::web_error;
use super::{SlackApiClient, Tier, WebArgs};
use crate::slack::web::{SlackWeb, SlackWebError};

/// What the edge sends while it answers (a click's answer, opening a form): the same client,
/// inside Slack's 3-second deadline.
const EDGE_BUDGET: Duration = Duration::from_millis(2000);

#[async_trait]
impl SlackWeb for SlackApiClient {
    async fn respond(&self, response_url: &str, message: &Value) -> Result<(), SlackWebError> {
        self.post_to_response_url(response_url, message, Instant::now() + EDGE_BUDGET)
            .await
            .map_err(web_error)
    }

    async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<(), SlackWebError> {
        let args = json!({ "trigger_id": trigger_id, "view": view });
        self.call(
            "views.open",
            Tier::Four,
            &args,
            Instant::now() + EDGE_BUDGET,
        )
        .await
        .map(|_| ())
        .map_err(web_error)
    }

    async fn user_is_admin(&self, user: &str) -> Result<bool, SlackWebError> {
        Ok(self.user_flags(user).await?.admin)
    }

    async fn user_is_bot(&self, user: &str) -> Result<bool, SlackWebError> {
        Ok(self.user_flags(user).await?.bot)
    }

    async fn usergroup_members(&self, group: &str) -> Result<Vec<String>, SlackWebError> {
        check_slack_id("user group", group, USERGROUP_PREFIXES).map_err(web_error)?;
        if let Some(members) = self.usergroups.get(group, Instant::now()) {
            return Ok(members);
        }
        let answer = self
            .call_with(
                "usergroups.users.list",
                Tier::Two,
                WebArgs::Form(&[("usergroup", group)]),
                &[],
                Instant::now() + EDGE_BUDGET,
            )
            .await
            .map_err(web_error)?;
        let Some(users) = answer.get("users").and_then(Value::as_array) else {
            return Err(SlackWebError::Refused(
                "usergroups.users.list answered without the users".to_owned(),
            ));
        };
        let members: Vec<String> = users
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        self.usergroups
            .insert(group, members.clone(), Instant::now());
        Ok(members)
    }
}

/// What `users.info` says of a user that the edge asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct UserFlags {
    /// A workspace admin or owner.
    admin: bool,
    bot: bool,
}

impl SlackApiClient {
    /// `users.info`, remembered for a few minutes: one lookup serves both questions.
    async fn user_flags(&self, user: &str) -> Result<UserFlags, SlackWebError> {
        check_slack_id("user", user, USER_PREFIXES).map_err(web_error)?;
        if let Some(flags) = self.users.get(user, Instant::now()) {
            return Ok(flags);
        }
        let answer = self
            .call_with(
                "users.info",
                Tier::Four,
                WebArgs::Form(&[("user", user)]),
                &[],
                Instant::now() + EDGE_BUDGET,
            )
            .await
            .map_err(web_error)?;
        let Some(profile) = answer.get("user").filter(|u| u.is_object()) else {
            return Err(SlackWebError::Refused(
                "users.info answered without the user".to_owned(),
            ));
        };
        let flags = UserFlags {
            admin: ["is_admin", "is_owner", "is_primary_owner"]
                .iter()
                .any(|flag| profile[flag] == true),
            // Slackbot is no `is_bot` user, but it is no member either.
            bot: profile["is_bot"] == true || profile["id"] == "USLACKBOT",
        };
        self.users.insert(user, flags, Instant::now());
        Ok(flags)
    }
}
