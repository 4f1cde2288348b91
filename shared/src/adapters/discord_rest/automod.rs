//! Native AutoMod over REST: the guild's rules (list, create, modify, delete) and the audit-log
//! entries AutoMod leaves. Each goes through [`DiscordRest::request`], so buckets, 429s and
//! deadlines apply as to every other call; a 403 is told as the permission Gavel lacks.

use http::Method;
use serde_json::Value;

use super::DiscordRest;
use super::endpoints::check_ids;
use crate::platform::{ApiError, AuditLogEntry, AutoModRule};

/// Discord's JSON error code for "Unknown Auto Moderation Rule".
const UNKNOWN_RULE: i64 = 10066;
/// Discord's page size for the audit log, at most.
const AUDIT_PAGE: u32 = 100;

const MANAGE: &str = "Gavel needs the Manage Server permission to manage AutoMod rules";
const VIEW_AUDIT: &str = "Gavel needs the View Audit Log permission to read what AutoMod did";

impl DiscordRest {
    pub(super) async fn automod_list(
        &self,
        guild: &str,
        deadline: std::time::Instant,
    ) -> Result<Vec<AutoModRule>, ApiError> {
        check_ids(&[("server", guild)])?;
        let path = format!("/guilds/{guild}/auto-moderation/rules");
        let reply = self
            .request(Method::GET, &path, None, None, deadline)
            .await
            .map_err(|e| needs(e, MANAGE))?;
        decode(reply.status, reply.body, "the AutoMod rules")
    }

    pub(super) async fn automod_create(
        &self,
        guild: &str,
        rule: &AutoModRule,
        reason: &str,
        deadline: std::time::Instant,
    ) -> Result<AutoModRule, ApiError> {
        check_ids(&[("server", guild)])?;
        let mut body = body_of(rule)?;
        if let Some(body) = body.as_object_mut() {
            body.remove("id");
        }
        let path = format!("/guilds/{guild}/auto-moderation/rules");
        let reply = self
            .request(Method::POST, &path, Some(&body), Some(reason), deadline)
            .await
            .map_err(|e| needs(e, MANAGE))?;
        decode(reply.status, reply.body, "the created rule")
    }

    pub(super) async fn automod_modify(
        &self,
        guild: &str,
        rule_id: &str,
        rule: &AutoModRule,
        reason: &str,
        deadline: std::time::Instant,
    ) -> Result<AutoModRule, ApiError> {
        check_ids(&[("server", guild), ("AutoMod rule", rule_id)])?;
        let mut body = body_of(rule)?;
        if let Some(body) = body.as_object_mut() {
            // Neither may change: Discord refuses a different trigger type.
            body.remove("id");
            body.remove("trigger_type");
        }
        let path = format!("/guilds/{guild}/auto-moderation/rules/{rule_id}");
        let reply = self
            .request(Method::PATCH, &path, Some(&body), Some(reason), deadline)
            .await
            .map_err(|e| needs(e, MANAGE))?;
        decode(reply.status, reply.body, "the modified rule")
    }

    pub(super) async fn automod_delete(
        &self,
        guild: &str,
        rule_id: &str,
        reason: &str,
        deadline: std::time::Instant,
    ) -> Result<(), ApiError> {
        check_ids(&[("server", guild), ("AutoMod rule", rule_id)])?;
        let path = format!("/guilds/{guild}/auto-moderation/rules/{rule_id}");
        // Unknown rule: someone deleted it already, which is what sync wanted.
        self.request_accepting(
            Method::DELETE,
            &path,
            None,
            Some(reason),
            &[UNKNOWN_RULE],
            deadline,
        )
        .await
        .map(|_| ())
        .map_err(|e| needs(e, MANAGE))
    }

    pub(super) async fn automod_audit(
        &self,
        guild: &str,
        action_type: u16,
        after: Option<&str>,
        deadline: std::time::Instant,
    ) -> Result<Vec<AuditLogEntry>, ApiError> {
        check_ids(&[("server", guild)])?;
        let mut path =
            format!("/guilds/{guild}/audit-logs?action_type={action_type}&limit={AUDIT_PAGE}");
        if let Some(after) = after {
            check_ids(&[("audit-log entry", after)])?;
            path.push_str(&format!("&after={after}"));
        }
        let reply = self
            .request(Method::GET, &path, None, None, deadline)
            .await
            .map_err(|e| needs(e, VIEW_AUDIT))?;
        let entries = reply
            .body
            .get("audit_log_entries")
            .cloned()
            .unwrap_or(Value::Array(Vec::new()));
        let mut entries: Vec<AuditLogEntry> =
            decode(reply.status, entries, "the audit-log entries")?;
        // Discord lists newest first without `after` and oldest first with it: one order here.
        entries.sort_by_key(AuditLogEntry::number);
        Ok(entries)
    }
}

/// A 403 on these routes is nearly always the one permission they need: say which.
fn needs(error: ApiError, permission: &str) -> ApiError {
    match error {
        ApiError::Forbidden { message } => ApiError::Forbidden {
            message: format!("{permission} ({message})"),
        },
        other => other,
    }
}

fn body_of(rule: &AutoModRule) -> Result<Value, ApiError> {
    serde_json::to_value(rule)
        .map_err(|e| ApiError::NotSent(format!("the rule could not be written as JSON: {e}")))
}

fn decode<T: serde::de::DeserializeOwned>(
    status: u16,
    body: Value,
    what: &str,
) -> Result<T, ApiError> {
    serde_json::from_value(body).map_err(|e| ApiError::Rejected {
        status,
        message: format!("Discord answered, but {what} could not be read: {e}"),
    })
}
