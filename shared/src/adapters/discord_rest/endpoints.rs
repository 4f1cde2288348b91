//! The endpoints Gavel calls, one method each ([`DiscordApi`]): messages, interaction
//! answers, moderation (timeout, kick, ban, unban), DMs, the guild owner and native AutoMod
//! (`automod`), each checking its ids before they go into a path.

use async_trait::async_trait;
use http::Method;
use serde_json::{Value, json};

use super::routes::is_snowflake;
use super::{DiscordReply, DiscordRest, MAX_DELETE_MESSAGE_SECS};
use crate::discord::render_channel_message;
use crate::platform::{ApiError, AuditLogEntry, AutoModRule, DiscordApi};
use crate::reply::Reply;

/// Discord's JSON error code for "Unknown Ban".
const UNKNOWN_BAN: i64 = 10026;

#[async_trait]
impl DiscordApi for DiscordRest {
    async fn create_message(
        &self,
        channel_id: &str,
        content: &str,
        deadline: std::time::Instant,
    ) -> Result<String, ApiError> {
        if !is_snowflake(channel_id) {
            return Err(ApiError::NotSent(format!(
                "{channel_id:?} is not a Discord channel id"
            )));
        }
        let body = json!({ "content": content, "allowed_mentions": { "parse": [] } });
        let path = format!("/channels/{channel_id}/messages");
        let reply = self
            .request(Method::POST, &path, Some(&body), None, deadline)
            .await?;
        match reply.body.get("id").and_then(Value::as_str) {
            Some(id) => Ok(id.to_owned()),
            None => Err(ApiError::Rejected {
                status: reply.status,
                message: "Discord posted the message but answered without its id".to_owned(),
            }),
        }
    }

    async fn edit_original_response(
        &self,
        interaction_token: &str,
        content: &str,
        deadline: std::time::Instant,
    ) -> Result<(), ApiError> {
        let Some(application_id) = &self.application_id else {
            return Err(ApiError::NotSent(
                "DISCORD_APPLICATION_ID is not set, so interaction answers cannot be edited"
                    .to_owned(),
            ));
        };
        if !valid_interaction_token(interaction_token) {
            return Err(ApiError::NotSent(
                "the interaction token is malformed".to_owned(),
            ));
        }
        let body = json!({ "content": content, "allowed_mentions": { "parse": [] } });
        let path = format!("/webhooks/{application_id}/{interaction_token}/messages/@original");
        self.request(Method::PATCH, &path, Some(&body), None, deadline)
            .await
            .map(|_| ())
    }

    async fn create_followup(
        &self,
        interaction_token: &str,
        content: &str,
        deadline: std::time::Instant,
    ) -> Result<(), ApiError> {
        let Some(application_id) = &self.application_id else {
            return Err(ApiError::NotSent(
                "DISCORD_APPLICATION_ID is not set, so interactions cannot be followed up"
                    .to_owned(),
            ));
        };
        if !valid_interaction_token(interaction_token) {
            return Err(ApiError::NotSent(
                "the interaction token is malformed".to_owned(),
            ));
        }
        // Flag 64: ephemeral, like the moderator's own answer.
        let body = json!({
            "content": content,
            "flags": 64,
            "allowed_mentions": { "parse": [] }
        });
        let path = format!("/webhooks/{application_id}/{interaction_token}");
        self.request(Method::POST, &path, Some(&body), None, deadline)
            .await
            .map(|_| ())
    }

    async fn timeout_member(
        &self,
        guild: &str,
        user: &str,
        until: Option<i64>,
        reason: &str,
        deadline: std::time::Instant,
    ) -> Result<(), ApiError> {
        check_ids(&[("server", guild), ("user", user)])?;
        let until = match until {
            Some(secs) => Value::String(rfc3339(secs)?),
            None => Value::Null,
        };
        let body = json!({ "communication_disabled_until": until });
        let path = format!("/guilds/{guild}/members/{user}");
        self.request(Method::PATCH, &path, Some(&body), Some(reason), deadline)
            .await
            .map(|_| ())
    }

    async fn delete_message(
        &self,
        channel: &str,
        message: &str,
        reason: &str,
        deadline: std::time::Instant,
    ) -> Result<(), ApiError> {
        check_ids(&[("channel", channel), ("message", message)])?;
        let path = format!("/channels/{channel}/messages/{message}");
        match self
            .request(Method::DELETE, &path, None, Some(reason), deadline)
            .await
        {
            Ok(_) | Err(ApiError::NotFound(_)) => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn kick_member(
        &self,
        guild: &str,
        user: &str,
        reason: &str,
        deadline: std::time::Instant,
    ) -> Result<(), ApiError> {
        check_ids(&[("server", guild), ("user", user)])?;
        let path = format!("/guilds/{guild}/members/{user}");
        self.request(Method::DELETE, &path, None, Some(reason), deadline)
            .await
            .map(|_| ())
    }

    async fn ban_member(
        &self,
        guild: &str,
        user: &str,
        delete_message_secs: u32,
        reason: &str,
        deadline: std::time::Instant,
    ) -> Result<(), ApiError> {
        check_ids(&[("server", guild), ("user", user)])?;
        // Discord refuses the whole ban past seven days; the ban matters more than how much
        // history goes with it, so a longer request deletes the seven days Discord allows.
        let delete_message_secs = delete_message_secs.min(MAX_DELETE_MESSAGE_SECS);
        let body = json!({ "delete_message_seconds": delete_message_secs });
        let path = format!("/guilds/{guild}/bans/{user}");
        self.request(Method::PUT, &path, Some(&body), Some(reason), deadline)
            .await
            .map(|_| ())
    }

    async fn unban_member(
        &self,
        guild: &str,
        user: &str,
        reason: &str,
        deadline: std::time::Instant,
    ) -> Result<(), ApiError> {
        check_ids(&[("server", guild), ("user", user)])?;
        let path = format!("/guilds/{guild}/bans/{user}");
        // Unknown Ban: not banned, which is what the moderator asked for.
        self.request_accepting(
            Method::DELETE,
            &path,
            None,
            Some(reason),
            &[UNKNOWN_BAN],
            deadline,
        )
        .await
        .map(|_| ())
    }

    async fn send_dm(
        &self,
        user: &str,
        content: &str,
        deadline: std::time::Instant,
    ) -> Result<String, ApiError> {
        self.in_dm(user, deadline, |channel| async move {
            self.create_message(&channel, content, deadline).await
        })
        .await
    }

    async fn send_dm_reply(
        &self,
        user: &str,
        reply: &Reply,
        deadline: std::time::Instant,
    ) -> Result<String, ApiError> {
        self.in_dm(user, deadline, |channel| async move {
            self.post_reply(&channel, reply, deadline).await
        })
        .await
    }

    async fn guild_owner(
        &self,
        guild: &str,
        deadline: std::time::Instant,
    ) -> Result<String, ApiError> {
        check_ids(&[("server", guild)])?;
        if let Some(owner) = self.guild_owners.get(guild, std::time::Instant::now()) {
            return Ok(owner);
        }
        let path = format!("/guilds/{guild}");
        let reply = self
            .request(Method::GET, &path, None, None, deadline)
            .await?;
        let owner = answered_id(&reply, "owner_id", "sent the server")?;
        self.guild_owners
            .insert(guild, owner.clone(), std::time::Instant::now());
        Ok(owner)
    }

    async fn post_reply(
        &self,
        channel: &str,
        reply: &Reply,
        deadline: std::time::Instant,
    ) -> Result<String, ApiError> {
        check_ids(&[("channel", channel)])?;
        let body = serde_json::to_value(render_channel_message(reply)).map_err(|e| {
            ApiError::NotSent(format!("the message could not be written as JSON: {e}"))
        })?;
        let path = format!("/channels/{channel}/messages");
        let answer = self
            .request(Method::POST, &path, Some(&body), None, deadline)
            .await?;
        answered_id(&answer, "id", "posted the message")
    }

    async fn list_automod_rules(
        &self,
        guild: &str,
        deadline: std::time::Instant,
    ) -> Result<Vec<AutoModRule>, ApiError> {
        self.automod_list(guild, deadline).await
    }

    async fn create_automod_rule(
        &self,
        guild: &str,
        rule: &AutoModRule,
        reason: &str,
        deadline: std::time::Instant,
    ) -> Result<AutoModRule, ApiError> {
        self.automod_create(guild, rule, reason, deadline).await
    }

    async fn modify_automod_rule(
        &self,
        guild: &str,
        rule_id: &str,
        rule: &AutoModRule,
        reason: &str,
        deadline: std::time::Instant,
    ) -> Result<AutoModRule, ApiError> {
        self.automod_modify(guild, rule_id, rule, reason, deadline)
            .await
    }

    async fn delete_automod_rule(
        &self,
        guild: &str,
        rule_id: &str,
        reason: &str,
        deadline: std::time::Instant,
    ) -> Result<(), ApiError> {
        self.automod_delete(guild, rule_id, reason, deadline).await
    }

    async fn audit_log_entries(
        &self,
        guild: &str,
        action_type: u16,
        after: Option<&str>,
        deadline: std::time::Instant,
    ) -> Result<Vec<AuditLogEntry>, ApiError> {
        self.automod_audit(guild, action_type, after, deadline)
            .await
    }
}

impl DiscordRest {
    /// Sends into the DM channel with `user`: the remembered one, or one opened now
    /// (`POST /users/@me/channels`), which is then remembered.
    async fn in_dm<F, Fut>(
        &self,
        user: &str,
        deadline: std::time::Instant,
        send: F,
    ) -> Result<String, ApiError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<String, ApiError>>,
    {
        check_ids(&[("user", user)])?;
        if let Some(channel) = self.dm_channels.get(user, std::time::Instant::now()) {
            match send(channel).await {
                // The remembered channel is gone (rare): open it again below, which replaces
                // it in the map.
                Err(ApiError::NotFound(_)) => {}
                done => return done,
            }
        }
        let body = json!({ "recipient_id": user });
        let reply = self
            .request(
                Method::POST,
                "/users/@me/channels",
                Some(&body),
                None,
                deadline,
            )
            .await?;
        let channel = answered_id(&reply, "id", "opened the DM channel")?;
        self.dm_channels
            .insert(user, channel.clone(), std::time::Instant::now());
        send(channel).await
    }
}

/// Refuses to send when an id is not a snowflake: it would change the request's path.
pub(super) fn check_ids(ids: &[(&str, &str)]) -> Result<(), ApiError> {
    match ids.iter().find(|(_, id)| !is_snowflake(id)) {
        Some((kind, id)) => Err(ApiError::NotSent(format!(
            "{id:?} is not a Discord {kind} id"
        ))),
        None => Ok(()),
    }
}

/// Unix seconds as the RFC 3339 time Discord reads (`2026-01-02T03:04:05+00:00`).
fn rfc3339(unix_secs: i64) -> Result<String, ApiError> {
    twilight_model::util::Timestamp::from_secs(unix_secs)
        .map(|t| t.iso_8601().with_microseconds(false).to_string())
        .map_err(|_| ApiError::NotSent(format!("{unix_secs} is not a time Discord can read")))
}

/// The string id `field` of a successful answer.
fn answered_id(reply: &DiscordReply, field: &str, did: &str) -> Result<String, ApiError> {
    reply
        .body
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::Rejected {
            status: reply.status,
            message: format!("Discord {did} but answered without its {field}"),
        })
}

/// Interaction tokens go into URL paths: only their own alphabet may pass.
fn valid_interaction_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_sent_as_rfc3339_in_utc() {
        assert_eq!(rfc3339(0).unwrap(), "1970-01-01T00:00:00+00:00");
        assert_eq!(rfc3339(1_800_000_000).unwrap(), "2027-01-15T08:00:00+00:00");
        assert!(matches!(rfc3339(i64::MAX), Err(ApiError::NotSent(_))));
    }
}
