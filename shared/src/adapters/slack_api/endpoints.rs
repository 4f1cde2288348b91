//! The endpoints the worker calls ([`SlackApi`]): messages, DMs and Block Kit replies through
//! `chat.postMessage`, kicks through `conversations.kick`, and answers to an interaction's
//! `response_url`, each checking its ids before they are sent.

use async_trait::async_trait;
use serde_json::{Value, json};
use std::time::Instant;

use super::mentions::{no_broadcasts, no_broadcasts_in_blocks};
use super::{SlackApiClient, Tier, WebArgs};
use crate::platform::{ApiError, SlackApi};
use crate::reply::Reply;
use crate::slack::render_message;

#[async_trait]
impl SlackApi for SlackApiClient {
    async fn post_message(
        &self,
        channel: &str,
        text: &str,
        deadline: Instant,
    ) -> Result<String, ApiError> {
        let args = json!({ "channel": channel, "text": no_broadcasts(text) });
        let answer = self.chat_post(channel, args, &[], deadline).await?;
        posted_ts(&answer)
    }

    async fn respond(
        &self,
        response_url: &str,
        text: &str,
        replace_original: bool,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        // Without `response_type`, Slack shows a new message to the moderator only.
        let body = json!({
            "text": no_broadcasts(text),
            "replace_original": replace_original,
        });
        self.post_to_response_url(response_url, &body, deadline)
            .await
    }

    async fn send_dm(&self, user: &str, text: &str, deadline: Instant) -> Result<String, ApiError> {
        check_slack_id("user", user, USER_PREFIXES)?;
        // A user id as the channel: Slack posts to the app's DM with them (its Messages tab).
        let args = json!({ "channel": user, "text": no_broadcasts(text) });
        let answer = self.chat_post(user, args, DM_REFUSALS, deadline).await?;
        match refused_code(&answer) {
            None => posted_ts(&answer),
            Some("messages_tab_disabled") => Err(ApiError::Forbidden {
                message: "members cannot receive DMs from Gavel: its Messages tab is turned off (App Home in the app's settings)".to_owned(),
            }),
            Some(code) => Err(ApiError::NotFound(format!(
                "I can't send that member a DM: they are not in this workspace or their account is deactivated ({code})"
            ))),
        }
    }

    async fn delete_message(
        &self,
        channel: &str,
        message: &str,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        check_slack_id("channel", channel, CHANNEL_PREFIXES)?;
        if message.is_empty() || !message.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(ApiError::NotSent(format!(
                "{message:?} is not a message ts"
            )));
        }
        let args = json!({ "channel": channel, "ts": message, "as_user": true });
        let answer = self
            .delete_as_admin(&args, DELETE_REFUSALS, deadline)
            .await?;
        match refused_code(&answer) {
            None => Ok(()),
            // Already gone: what the rule asked for holds.
            Some("message_not_found") => Ok(()),
            Some("cant_delete_message") => Err(ApiError::Forbidden {
                message: "the admin user token may not delete that message (workspace policy, or the token's user is not an admin)".to_owned(),
            }),
            Some(code) => Err(ApiError::Rejected {
                status: 200,
                message: format!("Slack refused to delete the message: {code}"),
            }),
        }
    }

    async fn kick_from_channel(
        &self,
        channel: &str,
        user: &str,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        check_slack_id("channel", channel, CHANNEL_PREFIXES)?;
        check_slack_id("user", user, USER_PREFIXES)?;
        let args = json!({ "channel": channel, "user": user });
        let answer = self
            .call_with(
                "conversations.kick",
                Tier::Three,
                WebArgs::Json(&args),
                KICK_REFUSALS,
                deadline,
            )
            .await?;
        let forbidden = |message: &str| {
            Err(ApiError::Forbidden {
                message: message.to_owned(),
            })
        };
        match refused_code(&answer) {
            None => Ok(()),
            // Slack says this both when the member is not in the channel and when I am not.
            Some("not_in_channel") => self.kick_found_nobody(channel, deadline).await,
            Some("cant_kick_self") => forbidden("I can't remove myself from a channel"),
            Some("cant_kick_from_general") => forbidden(
                "Slack doesn't let anyone be removed from the workspace's general channel",
            ),
            Some("cant_kick_from_last_channel") => {
                forbidden("Slack doesn't let a member be removed from the last channel they are in")
            }
            Some("method_not_supported_for_channel_type" | "not_supported") => forbidden(
                "Slack doesn't let me remove members from this kind of conversation (a DM, a group DM, or a channel shared with another organisation)",
            ),
            Some("user_not_found") => Err(ApiError::NotFound(
                "that member is not in this workspace".to_owned(),
            )),
            // restricted_action, and any code the list above does not know.
            Some(code) => forbidden(&format!(
                "this workspace's settings don't let me remove members from channels; a workspace admin can allow it ({code})"
            )),
        }
    }

    async fn post_reply(
        &self,
        channel: &str,
        reply: &Reply,
        deadline: Instant,
    ) -> Result<String, ApiError> {
        check_slack_id("channel", channel, CHANNEL_PREFIXES)?;
        let mut args = serde_json::to_value(render_message(reply)).map_err(|e| {
            ApiError::NotSent(format!("the message could not be written as JSON: {e}"))
        })?;
        no_broadcasts_in_blocks(&mut args);
        args["channel"] = Value::String(channel.to_owned());
        let answer = self.chat_post(channel, args, &[], deadline).await?;
        posted_ts(&answer)
    }
}

/// The error codes of `conversations.kick` that [`SlackApi::kick_from_channel`] words itself.
const KICK_REFUSALS: &[&str] = &[
    "not_in_channel",
    "cant_kick_self",
    "cant_kick_from_general",
    "cant_kick_from_last_channel",
    "method_not_supported_for_channel_type",
    "not_supported",
    "restricted_action",
    "user_not_found",
];

/// A user id in `channel`: Slack's "channel not found" means the user, not a channel.
const DM_REFUSALS: &[&str] = &[
    "channel_not_found",
    "user_not_found",
    "user_disabled",
    "messages_tab_disabled",
];

/// Member ids start with U (W on Enterprise Grid); channels C (public), G (older private)
/// or D (a DM); user groups S.
pub(super) const USER_PREFIXES: &[char] = &['U', 'W'];
const CHANNEL_PREFIXES: &[char] = &['C', 'G', 'D'];
/// `chat.delete` codes read here rather than as generic refusals.
const DELETE_REFUSALS: &[&str] = &["message_not_found", "cant_delete_message"];
pub(super) const USERGROUP_PREFIXES: &[char] = &['S'];

impl SlackApiClient {
    /// `chat.postMessage` with `args` (an object with `channel` and the message), paced to
    /// one post per second per channel. Mentions in the text stay text, and links do not
    /// unfold into previews.
    async fn chat_post(
        &self,
        channel: &str,
        mut args: Value,
        handled: &'static [&'static str],
        deadline: Instant,
    ) -> Result<Value, ApiError> {
        if let Some(args) = args.as_object_mut() {
            // Plain `@channel` or `#general` in the text stays text.
            args.insert("parse".to_owned(), json!("none"));
            args.insert("link_names".to_owned(), json!(false));
            // A reported link must not unfold into a preview in the moderators' channel.
            args.insert("unfurl_links".to_owned(), json!(false));
            args.insert("unfurl_media".to_owned(), json!(false));
        }
        let key = format!("chat.postMessage {channel}");
        let policy = self.limits.channel();
        self.web_api(
            "chat.postMessage",
            &key,
            &policy,
            WebArgs::Json(&args),
            handled,
            false,
            deadline,
        )
        .await
    }

    /// After `conversations.kick` answered `not_in_channel`: if I am in the channel, the
    /// member is not, which is what the moderator asked for; if I am not, I could not remove
    /// anyone. `conversations.info` tells which.
    async fn kick_found_nobody(&self, channel: &str, deadline: Instant) -> Result<(), ApiError> {
        let not_a_member = || {
            ApiError::Forbidden {
            message: "I'm not in that channel, so I can't remove anyone from it; invite me with /invite @Gavel".to_owned(),
        }
        };
        let answer = self
            .call_with(
                "conversations.info",
                Tier::Three,
                WebArgs::Form(&[("channel", channel)]),
                // A private channel I am not in is invisible to me.
                &["channel_not_found"],
                deadline,
            )
            .await;
        match answer {
            Ok(answer) if refused_code(&answer).is_some() => Err(not_a_member()),
            Ok(answer) if answer["channel"]["is_member"] == true => Ok(()),
            Ok(_) => Err(not_a_member()),
            Err(e) if e.is_transient() => Err(e),
            Err(e) => Err(ApiError::Forbidden {
                message: format!(
                    "Slack says the member or I am not in that channel, and I could not check which ({e}); if the member is still there, invite me with /invite @Gavel"
                ),
            }),
        }
    }
}

/// Refuses to send an id that is not a Slack id of the expected kind (`U0123ABCD`): a typo
/// would otherwise reach Slack as an argument it reports in less helpful words.
pub(super) fn check_slack_id(kind: &str, id: &str, prefixes: &[char]) -> Result<(), ApiError> {
    let valid = (2..=24).contains(&id.len())
        && id.starts_with(prefixes)
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(ApiError::NotSent(format!(
            "{id:?} is not a Slack {kind} id"
        )))
    }
}

/// The error code of an answer a caller asked to read itself; `None` when Slack said `ok`.
fn refused_code(answer: &Value) -> Option<&str> {
    (answer.get("ok") == Some(&Value::Bool(false))).then(|| {
        answer
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown_error")
    })
}

fn posted_ts(answer: &Value) -> Result<String, ApiError> {
    answer
        .get("ts")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::Rejected {
            status: 200,
            message: "Slack accepted the message but sent no ts".to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_ids_are_checked_by_kind() {
        assert!(check_slack_id("user", "U0123ABCD", USER_PREFIXES).is_ok());
        assert!(check_slack_id("user", "W0123ABCD", USER_PREFIXES).is_ok());
        assert!(check_slack_id("channel", "C0MODS", CHANNEL_PREFIXES).is_ok());
        assert!(check_slack_id("user group", "S0614TZR7", USERGROUP_PREFIXES).is_ok());
        for (id, prefixes) in [
            ("C0MODS", USER_PREFIXES),
            ("U1 ", USER_PREFIXES),
            ("u0123", USER_PREFIXES),
            ("U", USER_PREFIXES),
            ("C1/../x", CHANNEL_PREFIXES),
            ("", USERGROUP_PREFIXES),
        ] {
            assert!(
                matches!(check_slack_id("x", id, prefixes), Err(ApiError::NotSent(_))),
                "{id:?}"
            );
        }
    }
}
