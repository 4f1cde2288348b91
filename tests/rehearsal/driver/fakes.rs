//! The platforms' APIs as the functions reach them in the rehearsal: Discord's REST API and
//! Slack's Web API answer every call the worker and the edges make with a well-formed success,
//! and record it; Telegram's is the suites' fake (`tests/support/telegram_fake.rs`), which
//! enforces its limits. The rehearsal is about the stack (configuration, permissions, queues),
//! not about the platforms' failures, which the other suites cover.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[derive(Clone, Default)]
pub struct Recorder {
    calls: Arc<Mutex<Vec<String>>>,
    next: Arc<AtomicU64>,
}

impl Recorder {
    fn id(&self) -> String {
        (1_174_109_840_998_500_000 + self.next.fetch_add(1, Ordering::Relaxed)).to_string()
    }
}

/// Discord keeps the guild's native AutoMod rules that the worker creates, and its audit log
/// shows one hit of each: so `/automod sync` and the audit sweep do all they do on Discord
/// (the ingestion opens cases).
struct Discord(Recorder, Mutex<Vec<Value>>);

impl Respond for Discord {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().trim_start_matches("/api/v10");
        let method = request.method.as_str().to_owned();
        if std::env::var_os("REHEARSAL_VERBOSE").is_some() {
            eprintln!(
                "rehearsal: Discord API {method} {path}?{} {}",
                request.url.query().unwrap_or_default(),
                String::from_utf8_lossy(&request.body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
        }
        self.0
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(format!("{method} {path}"));
        let mut rules = self.1.lock().unwrap_or_else(|p| p.into_inner());
        let body = match (method.as_str(), path) {
            (_, p) if p.ends_with("/audit-logs") => {
                let action_type: u64 = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "action_type")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(143);
                let entries: Vec<Value> = rules
                    .iter()
                    .enumerate()
                    .map(|(i, rule)| {
                        json!({
                            "id": (1_500_000_000_000_000_000u64 + i as u64 * 1000 + action_type).to_string(),
                            "action_type": action_type,
                            "user_id": "1174109840998400077",
                            "target_id": null,
                            "options": {
                                "auto_moderation_rule_name": rule["name"],
                                "auto_moderation_rule_trigger_type": rule["trigger_type"].to_string(),
                                "channel_id": "1174109840998400002"
                            }
                        })
                    })
                    .collect();
                json!({ "audit_log_entries": entries, "users": [], "auto_moderation_rules": *rules })
            }
            ("GET", p) if p.ends_with("/auto-moderation/rules") => json!(*rules),
            ("POST", p) if p.ends_with("/auto-moderation/rules") => {
                let mut rule: Value = serde_json::from_slice(&request.body).unwrap_or(json!({}));
                rule["id"] = json!(self.0.id());
                rules.push(rule.clone());
                rule
            }
            ("PATCH", p) if p.contains("/auto-moderation/rules/") => {
                let id = p.rsplit('/').next().unwrap_or_default();
                let patch: Value = serde_json::from_slice(&request.body).unwrap_or(json!({}));
                let Some(rule) = rules.iter_mut().find(|r| r["id"] == id) else {
                    return ResponseTemplate::new(404).set_body_json(
                        json!({ "code": 10066, "message": "Unknown Auto Moderation Rule" }),
                    );
                };
                for (k, v) in patch.as_object().into_iter().flatten() {
                    rule[k] = v.clone();
                }
                rule.clone()
            }
            ("DELETE", p) if p.contains("/auto-moderation/rules/") => {
                let id = p.rsplit('/').next().unwrap_or_default().to_owned();
                rules.retain(|r| r["id"] != id.as_str());
                return ResponseTemplate::new(204);
            }
            ("GET", p) if p.starts_with("/guilds/") && p.matches('/').count() == 2 => {
                let guild = p.trim_start_matches("/guilds/");
                json!({ "id": guild, "name": "Rehearsal", "owner_id": "1174109840998400099", "roles": [] })
            }
            ("DELETE", _) | ("PUT", _) => return ResponseTemplate::new(204),
            _ => json!({ "id": self.0.id(), "channel_id": "1174109840998400002", "type": 0 }),
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}

struct Slack(Recorder);

impl Respond for Slack {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let method = request
            .url
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        self.0
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(method.clone());
        let body: Value = match method.as_str() {
            "users.info" => json!({ "ok": true, "user": {
                "id": "U0GAVELTST", "is_admin": true, "is_owner": false, "is_bot": false } }),
            "usergroups.users.list" => json!({ "ok": true, "users": [] }),
            "conversations.open" => json!({ "ok": true, "channel": { "id": "D0REHEARSAL" } }),
            "conversations.info" => {
                json!({ "ok": true, "channel": { "id": "C0GAVELTST", "is_member": true } })
            }
            "views.open" => json!({ "ok": true, "view": { "id": "V0REHEARSAL" } }),
            _ => {
                json!({ "ok": true, "ts": format!("1764000000.{:06}", self.0.next.fetch_add(1, Ordering::Relaxed)), "channel": "C0GAVELTST" })
            }
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// Slack's `response_url`s point here too (the payloads name hooks.slack.com; the edge and the
/// worker post to whatever URL Slack gave).
pub async fn discord() -> (MockServer, Recorder) {
    let server = MockServer::start().await;
    let recorder = Recorder::default();
    Mock::given(any())
        .respond_with(Discord(recorder.clone(), Mutex::new(Vec::new())))
        .mount(&server)
        .await;
    (server, recorder)
}

pub async fn slack() -> (MockServer, Recorder) {
    let server = MockServer::start().await;
    let recorder = Recorder::default();
    Mock::given(any())
        .respond_with(Slack(recorder.clone()))
        .mount(&server)
        .await;
    (server, recorder)
}
