//! Native AutoMod sync against a fake Discord (wiremock) that keeps the guild's rules and
//! refuses, with Discord's 400 shape, what Discord refuses: a 7th KEYWORD rule, a 2nd
//! MENTION_SPAM, keywords over 60 characters or past 1000, regexes past 10 or over 260, a
//! mention limit over 50, allow lists past 100, exemptions past 20 roles or 50 channels. Then
//! the audit log's AutoMod entries read into cases, each once, however often they are read.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gavel_shared::adapters::discord_rest::{DiscordLimits, DiscordRest};
use gavel_shared::automod::rules::{Exemptions, Rule, RuleAction, RuleKind, Rules};
use gavel_shared::clock::Clock;
use gavel_shared::invocation::Platform;
use gavel_shared::jobs::{Job, ReplyTarget, Task};
use gavel_shared::maintenance::{Budget, Maintenance, Sweep};
use gavel_shared::moderation::{Cases, Kind, automod_rules};
use gavel_shared::platform::automod::{
    ACTION_TIMEOUT, AutoModAction, AutoModRule, TRIGGER_KEYWORD, TRIGGER_MENTION_SPAM,
    TriggerMetadata,
};
use gavel_shared::platform::{ApiError, DiscordApi};
use gavel_shared::store::{NewItem, create_or_replace};
use gavel_shared::worker::automod::{AUTOMOD_ACTOR, ingest_audit_log, sync_native, sync_stored};
use gavel_shared::worker::{Outcome, Worker};
use gavel_tests::doubles::RecordingBus;
use gavel_tests::harness::Backing;
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const GUILD: &str = "1300000000000000001";
const MODLOG: &str = "1300000000000000099";

/// The guild as the fake keeps it.
#[derive(Default)]
struct Guild {
    rules: Vec<Value>,
    audit: Vec<Value>,
    next_id: u64,
    /// Method and path of every request, in order.
    requests: Vec<(String, String)>,
}

#[derive(Clone, Default)]
struct FakeDiscord(Arc<Mutex<Guild>>);

fn form_error(path: &[&str], message: &str) -> ResponseTemplate {
    let mut errors = json!({ "_errors": [{ "code": "INVALID", "message": message }] });
    for key in path.iter().rev() {
        errors = json!({ *key: errors });
    }
    ResponseTemplate::new(400).set_body_json(json!({
        "code": 50035, "message": "Invalid Form Body", "errors": errors
    }))
}

/// What Discord refuses in a rule's body, as its 400.
fn refusal(body: &Value, trigger: u64, others: &[Value]) -> Option<ResponseTemplate> {
    let count = |t: u64| {
        others
            .iter()
            .filter(|r| r["trigger_type"].as_u64() == Some(t))
            .count()
    };
    let max_of_type = match trigger {
        1 => 6,
        _ => 1,
    };
    if count(trigger) >= max_of_type {
        return Some(form_error(
            &["trigger_type"],
            "Maximum number of rules of this trigger type reached",
        ));
    }
    let m = &body["trigger_metadata"];
    let list = |name: &str| m[name].as_array().cloned().unwrap_or_default();
    let keywords = list("keyword_filter");
    if keywords.len() > 1000 {
        return Some(form_error(
            &["trigger_metadata", "keyword_filter"],
            "Must be 1000 or fewer in length.",
        ));
    }
    if let Some(i) = keywords
        .iter()
        .position(|k| k.as_str().unwrap_or("").chars().count() > 60)
    {
        return Some(form_error(
            &["trigger_metadata", "keyword_filter", &i.to_string()],
            "Must be 60 or fewer in length.",
        ));
    }
    let regexes = list("regex_patterns");
    if regexes.len() > 10 {
        return Some(form_error(
            &["trigger_metadata", "regex_patterns"],
            "Must be 10 or fewer in length.",
        ));
    }
    if regexes
        .iter()
        .any(|r| r.as_str().unwrap_or("").chars().count() > 260)
    {
        return Some(form_error(
            &["trigger_metadata", "regex_patterns"],
            "Must be 260 or fewer in length.",
        ));
    }
    if list("allow_list").len() > 100 {
        return Some(form_error(
            &["trigger_metadata", "allow_list"],
            "Must be 100 or fewer in length.",
        ));
    }
    if m["mention_total_limit"].as_u64().is_some_and(|l| l > 50) {
        return Some(form_error(
            &["trigger_metadata", "mention_total_limit"],
            "int value should be less than or equal to 50.",
        ));
    }
    let count_of = |name: &str| body[name].as_array().map_or(0, Vec::len);
    if count_of("exempt_roles") > 20 || count_of("exempt_channels") > 50 {
        return Some(form_error(&["exempt_roles"], "Too many exemptions."));
    }
    for action in body["actions"].as_array().into_iter().flatten() {
        let meta = &action["metadata"];
        if meta["custom_message"]
            .as_str()
            .is_some_and(|c| c.chars().count() > 150)
        {
            return Some(form_error(&["actions"], "Must be 150 or fewer in length."));
        }
        if action["type"].as_u64() == Some(3)
            && (!matches!(trigger, 1 | 5)
                || meta["duration_seconds"]
                    .as_u64()
                    .is_none_or(|d| d > 2_419_200))
        {
            return Some(form_error(&["actions"], "Invalid timeout."));
        }
    }
    None
}

impl Respond for FakeDiscord {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut guild = self.0.lock().unwrap();
        let path = request.url.path().to_owned();
        let method = request.method.to_string();
        guild.requests.push((method.clone(), path.clone()));
        let rules_path = format!("/guilds/{GUILD}/auto-moderation/rules");
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        match (method.as_str(), path.as_str()) {
            ("GET", p) if p == rules_path => {
                ResponseTemplate::new(200).set_body_json(Value::Array(guild.rules.clone()))
            }
            ("POST", p) if p == rules_path => {
                let trigger = body["trigger_type"].as_u64().unwrap_or(0);
                if let Some(refused) = refusal(&body, trigger, &guild.rules) {
                    return refused;
                }
                guild.next_id += 1;
                let mut rule = body.clone();
                rule["id"] = json!(format!("1400000000000000{:03}", guild.next_id));
                rule["guild_id"] = json!(GUILD);
                guild.rules.push(rule.clone());
                ResponseTemplate::new(200).set_body_json(rule)
            }
            ("PATCH" | "DELETE", p) if p.starts_with(&format!("{rules_path}/")) => {
                let id = p.rsplit('/').next().unwrap().to_owned();
                let Some(at) = guild.rules.iter().position(|r| r["id"] == json!(id)) else {
                    return ResponseTemplate::new(404).set_body_json(
                        json!({ "code": 10066, "message": "Unknown Auto Moderation Rule" }),
                    );
                };
                if method == "DELETE" {
                    guild.rules.remove(at);
                    return ResponseTemplate::new(204);
                }
                if body.get("trigger_type").is_some() {
                    return form_error(&["trigger_type"], "Cannot be changed.");
                }
                let trigger = guild.rules[at]["trigger_type"].as_u64().unwrap_or(0);
                let others: Vec<Value> = guild
                    .rules
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != at)
                    .map(|(_, r)| r.clone())
                    .collect();
                if let Some(refused) = refusal(&body, trigger, &others) {
                    return refused;
                }
                let mut rule = body.clone();
                rule["id"] = json!(id);
                rule["trigger_type"] = json!(trigger);
                guild.rules[at] = rule.clone();
                ResponseTemplate::new(200).set_body_json(rule)
            }
            ("GET", p) if p == format!("/guilds/{GUILD}/audit-logs") => {
                let query = |name: &str| {
                    request
                        .url
                        .query_pairs()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.into_owned())
                };
                let kind: u64 = query("action_type").unwrap().parse().unwrap();
                let after: u64 = query("after").map_or(0, |a| a.parse().unwrap());
                let mut entries: Vec<Value> = guild
                    .audit
                    .iter()
                    .filter(|e| {
                        e["action_type"].as_u64() == Some(kind)
                            && e["id"].as_str().unwrap().parse::<u64>().unwrap() > after
                    })
                    .cloned()
                    .collect();
                // As Discord lists them: newest first.
                entries.reverse();
                ResponseTemplate::new(200)
                    .set_body_json(json!({ "audit_log_entries": entries, "users": [] }))
            }
            _ => ResponseTemplate::new(404)
                .set_body_json(json!({ "code": 0, "message": "404: Not Found" })),
        }
    }
}

impl FakeDiscord {
    fn requests(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().requests.clone()
    }

    fn rules(&self) -> Vec<Value> {
        self.0.lock().unwrap().rules.clone()
    }

    fn add_own_rule(&self, id: &str, trigger: u8) {
        self.0.lock().unwrap().rules.push(json!({
            "id": id, "name": format!("Server's own {id}"), "event_type": 1,
            "trigger_type": trigger, "trigger_metadata": {}, "actions": [], "enabled": true,
            "exempt_roles": [], "exempt_channels": []
        }));
    }

    fn add_audit(&self, entry: Value) {
        self.0.lock().unwrap().audit.push(entry);
    }
}

async fn fake() -> (FakeDiscord, MockServer, DiscordRest) {
    let fake = FakeDiscord::default();
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    let rest = DiscordRest::new(
        server.uri(),
        Some("test-bot-token".into()),
        Some("42".into()),
        DiscordLimits::default(),
    )
    .unwrap();
    (fake, server, rest)
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(20)
}

fn rule(id: &str, kind: RuleKind, action: RuleAction) -> Rule {
    Rule {
        id: id.into(),
        enabled: true,
        kind,
        action,
        delete: true,
        exempt: Exemptions::default(),
    }
}

/// Rules past every Discord limit: 1100 words (4400 keywords with their variants), four more
/// words rules, 13 patterns with one too long, two mention rules, 120 allowed words.
fn oversized_rules() -> Rules {
    let words: Vec<String> = (0..1100).map(|i| format!("sea{i}")).collect();
    let mut rules = vec![rule(
        "words",
        RuleKind::Words { words },
        RuleAction::Mute { secs: 3600 },
    )];
    for n in 0..4 {
        rules.push(rule(
            &format!("w{n}"),
            RuleKind::Words {
                words: vec![format!("spam{n}")],
            },
            RuleAction::Warn,
        ));
    }
    let mut patterns: Vec<String> = (0..12).map(|i| format!("bad{i}+")).collect();
    patterns.push("z".repeat(261));
    let mut regex = rule("re", RuleKind::Regex { patterns }, RuleAction::Warn);
    regex.exempt.roles = (0..25).map(|i| format!("{}", 1_500_000 + i)).collect();
    regex.exempt.channels = (0..60).map(|i| format!("{}", 1_600_000 + i)).collect();
    rules.insert(1, regex);
    rules.push(rule(
        "mentions",
        RuleKind::Mentions { max: 50 },
        RuleAction::Mute { secs: 600 },
    ));
    rules.push(rule(
        "mentions2",
        RuleKind::Mentions { max: 9 },
        RuleAction::Warn,
    ));
    rules.push(rule(
        "caps",
        RuleKind::Caps {
            ratio_percent: 70,
            min_letters: 10,
        },
        RuleAction::Warn,
    ));
    Rules {
        rules,
        allow_words: (0..120).map(|i| format!("fine{i:03}")).collect(),
    }
}

#[tokio::test]
async fn sync_fits_discords_limits_and_a_second_sync_writes_nothing() {
    let (fake, _server, rest) = fake().await;
    fake.add_own_rule("1399999999999999001", TRIGGER_KEYWORD);
    let rules = oversized_rules();

    let first = sync_native(&rest, None, GUILD, &rules, Some(MODLOG), 0, deadline())
        .await
        .unwrap();
    assert!(first.failed.is_empty(), "Discord refused: {first}");
    let stored = fake.rules();
    let keyword = stored
        .iter()
        .filter(|r| r["trigger_type"] == json!(TRIGGER_KEYWORD))
        .count();
    assert_eq!(keyword, 6, "the server's own rule and five of Gavel's");
    assert_eq!(
        first.created,
        [
            "Gavel: words",
            "Gavel: words (2)",
            "Gavel: words (3)",
            "Gavel: words (4)",
            "Gavel: words (5)",
            "Gavel: mentions"
        ]
    );
    let lines = first.not_compiled.join("\n");
    for expected in [
        "`re`: no keyword rule is left of Discord's 6 keyword rules (the server's own rules use 1)",
        "`w0`: 4 of its 4 keywords",
        "`mentions2` (mention spam): Discord allows one mention-spam rule",
        "`caps` (capitals)",
        "allow list: 20 words past Discord's 100",
        "`re`: a pattern of 261 characters is over Discord's 260",
    ] {
        assert!(lines.contains(expected), "{expected:?} in\n{lines}");
    }
    let text = first.to_string();
    assert!(text.starts_with("✅ AutoMod sync: 6 created, 0 updated, 0 deleted, 0 unchanged."));

    let before = fake.requests().len();
    let second = sync_native(&rest, None, GUILD, &rules, Some(MODLOG), 0, deadline())
        .await
        .unwrap();
    let since: Vec<(String, String)> = fake.requests()[before..].to_vec();
    assert_eq!(
        since,
        [(
            "GET".to_owned(),
            format!("/guilds/{GUILD}/auto-moderation/rules")
        )],
        "the second sync only lists"
    );
    assert_eq!(second.writes(), 0);
    assert_eq!(second.unchanged.len(), 6);

    // The server's own rule was never touched.
    assert!(
        fake.requests()
            .iter()
            .all(|(_, p)| !p.ends_with("1399999999999999001"))
    );

    // A smaller rule set updates, deletes and leaves the rest; then nothing again.
    let mut smaller = rules.clone();
    smaller.rules.retain(|r| r.id != "words");
    smaller.rules.retain(|r| r.id != "mentions2");
    if let RuleKind::Mentions { max } = &mut smaller.rule_mut("mentions").unwrap().kind {
        *max = 12;
    }
    let third = sync_native(&rest, None, GUILD, &smaller, Some(MODLOG), 0, deadline())
        .await
        .unwrap();
    assert!(third.failed.is_empty(), "{third}");
    assert_eq!(third.deleted.len(), 5);
    assert_eq!(third.updated, ["Gavel: mentions"]);
    // Freed keyword slots go to the rules that found none before.
    assert_eq!(
        third.created,
        [
            "Gavel: re",
            "Gavel: w0",
            "Gavel: w1",
            "Gavel: w2",
            "Gavel: w3"
        ]
    );
    let fourth = sync_native(&rest, None, GUILD, &smaller, Some(MODLOG), 0, deadline())
        .await
        .unwrap();
    assert_eq!(fourth.writes(), 0, "{fourth}");
}

#[tokio::test]
async fn the_fake_refuses_what_discord_refuses() {
    let (fake, _server, rest) = fake().await;
    let keyword = |keywords: Vec<String>, regexes: Vec<String>| AutoModRule {
        name: "probe".into(),
        event_type: 1,
        trigger_type: TRIGGER_KEYWORD,
        trigger_metadata: TriggerMetadata {
            keyword_filter: Some(keywords),
            regex_patterns: Some(regexes),
            ..TriggerMetadata::default()
        },
        enabled: true,
        ..AutoModRule::default()
    };
    let refused = |result: Result<AutoModRule, ApiError>, field: &str| match result {
        Err(ApiError::Rejected {
            status: 400,
            message,
        }) => {
            assert!(message.contains(field), "{field} in {message}")
        }
        other => panic!("expected a 400 about {field}, got {other:?}"),
    };
    let create = |rule: AutoModRule| {
        let rest = &rest;
        async move {
            rest.create_automod_rule(GUILD, &rule, "test", deadline())
                .await
        }
    };
    refused(
        create(keyword(vec!["x".repeat(61)], vec![])).await,
        "keyword_filter.0: Must be 60 or fewer",
    );
    refused(
        create(keyword((0..1001).map(|i| i.to_string()).collect(), vec![])).await,
        "keyword_filter: Must be 1000 or fewer",
    );
    refused(
        create(keyword(vec![], (0..11).map(|i| i.to_string()).collect())).await,
        "regex_patterns: Must be 10 or fewer",
    );
    refused(
        create(keyword(vec![], vec!["r".repeat(261)])).await,
        "regex_patterns: Must be 260 or fewer",
    );
    let mut mention = AutoModRule {
        name: "mentions".into(),
        trigger_type: TRIGGER_MENTION_SPAM,
        trigger_metadata: TriggerMetadata {
            mention_total_limit: Some(51),
            ..TriggerMetadata::default()
        },
        ..AutoModRule::default()
    };
    refused(create(mention.clone()).await, "mention_total_limit");
    mention.trigger_metadata.mention_total_limit = Some(50);
    mention.actions = vec![AutoModAction {
        kind: ACTION_TIMEOUT,
        metadata: Default::default(),
    }];
    refused(create(mention.clone()).await, "Invalid timeout");
    for n in 0..6 {
        create(keyword(vec![format!("w{n}")], vec![]))
            .await
            .unwrap_or_else(|e| panic!("rule {n}: {e}"));
    }
    refused(
        create(keyword(vec!["w7".into()], vec![])).await,
        "trigger_type: Maximum number of rules",
    );
    assert_eq!(fake.rules().len(), 6);
}

fn audit_entry(id: u64, action_type: u16, rule: &str, member: &str) -> Value {
    json!({
        "id": id.to_string(), "action_type": action_type, "user_id": member,
        "target_id": null,
        "options": {
            "auto_moderation_rule_name": rule, "auto_moderation_rule_trigger_type": "1",
            "channel_id": "1300000000000000050"
        }
    })
}

#[tokio::test]
async fn audit_log_entries_become_cases_once_however_often_they_are_read() {
    let (fake, _server, rest) = fake().await;
    let Backing { store, clock } = Backing::embedded();
    let mut rules = Rules {
        rules: vec![
            rule(
                "words",
                RuleKind::Words {
                    words: vec!["free nitro".into()],
                },
                RuleAction::Warn,
            ),
            rule(
                "mentions",
                RuleKind::Mentions { max: 5 },
                RuleAction::Mute { secs: 600 },
            ),
        ],
        allow_words: vec![],
    };
    rules.rules[0].delete = true;
    let now = clock.now_secs();
    let report = sync_native(
        &rest,
        Some(store.as_ref()),
        GUILD,
        &rules,
        None,
        now,
        deadline(),
    )
    .await
    .unwrap();
    assert_eq!(report.created.len(), 2, "{report}");

    let (alice, bob) = ("1300000000000000201", "1300000000000000202");
    // One blocked message of Alice's; Bob's mention spam blocked and timed out (two entries,
    // one case: the timeout counts for a muting rule); a rule the server made itself.
    fake.add_audit(audit_entry(
        1_500_000_000_000_000_001,
        143,
        "Gavel: words",
        alice,
    ));
    fake.add_audit(audit_entry(
        1_500_000_000_000_000_002,
        143,
        "Gavel: mentions",
        bob,
    ));
    fake.add_audit(audit_entry(
        1_500_000_000_000_000_003,
        145,
        "Gavel: mentions",
        bob,
    ));
    fake.add_audit(audit_entry(
        1_500_000_000_000_000_004,
        143,
        "Their own rule",
        alice,
    ));

    let first = ingest_audit_log(&rest, store.as_ref(), GUILD, now, deadline())
        .await
        .unwrap();
    assert_eq!(first.recorded.len(), 2, "{first:?}");
    let second = ingest_audit_log(&rest, store.as_ref(), GUILD, now, deadline())
        .await
        .unwrap();
    assert!(
        second.recorded.is_empty(),
        "the cursor moved past them: {second:?}"
    );

    // Lose the cursor (as if its write had failed): the claims still stop a second case.
    store
        .delete(
            &gavel_shared::store::ItemKey::new(
                format!("discord:{GUILD}#config"),
                "automod-audit-cursor",
            ),
            None,
        )
        .await
        .unwrap();
    let third = ingest_audit_log(&rest, store.as_ref(), GUILD, now, deadline())
        .await
        .unwrap();
    assert!(third.recorded.is_empty(), "{third:?}");
    assert_eq!(third.duplicates, 2);

    let cases = Cases::new(store.as_ref(), Platform::Discord, GUILD);
    let alice_cases = cases.all_of(alice).await.unwrap();
    let bob_cases = cases.all_of(bob).await.unwrap();
    assert_eq!((alice_cases.len(), bob_cases.len()), (1, 1));
    let warning = &alice_cases[0].case;
    assert_eq!(
        (warning.kind, warning.moderator.as_str()),
        (Kind::Warning, AUTOMOD_ACTOR)
    );
    assert!(
        warning
            .reason
            .starts_with("AutoMod (Discord native): rule `words` (Gavel: words)"),
        "{}",
        warning.reason
    );
    let mute = &bob_cases[0].case;
    assert_eq!((mute.kind, mute.duration_secs), (Kind::Mute, Some(600)));
}

#[tokio::test]
async fn the_sweep_hands_synced_guilds_to_the_worker_which_records_and_tells() {
    let (fake, _server, rest) = fake().await;
    let Backing { store, clock } = Backing::embedded();
    let rest: Arc<dyn DiscordApi> = Arc::new(rest);
    let rules = Rules {
        rules: vec![rule(
            "words",
            RuleKind::Words {
                words: vec!["scam".into()],
            },
            RuleAction::Warn,
        )],
        allow_words: vec![],
    };
    let item = NewItem::new(automod_rules::key(Platform::Discord, GUILD), json!(rules));
    create_or_replace(store.as_ref(), item).await.unwrap();
    let worker = Worker::new(store.clone(), clock.clone(), Some(rest.clone()), None);

    // `/automod sync` publishes this job; the worker syncs the stored rules.
    let job = Job {
        id: "discord:sync-1".into(),
        platform: Platform::Discord,
        tenant: GUILD.into(),
        task: Task::SyncAutomod {
            guild: GUILD.into(),
        },
        reply_to: ReplyTarget::Nobody,
        created_at: clock.now_secs(),
    };
    assert_eq!(worker.handle(&job, deadline()).await, Outcome::Done);
    assert_eq!(fake.rules().len(), 1);
    let again = sync_stored(
        rest.as_ref(),
        store.as_ref(),
        GUILD,
        clock.now_secs(),
        deadline(),
    )
    .await
    .unwrap();
    assert_eq!(again.writes(), 0);

    fake.add_audit(audit_entry(
        1_500_000_000_000_000_010,
        143,
        "Gavel: words",
        "1300000000000000301",
    ));
    let bus = Arc::new(RecordingBus::default());
    let m = Maintenance::new(store.clone(), bus.clone(), clock.clone());
    let report = m.run(Sweep::AutomodAudit, Budget::for_secs(30)).await;
    assert_eq!(report.count("handed"), 1, "{report}");
    // Handed once per period: a second run in the same period finds it not due.
    let report = m.run(Sweep::AutomodAudit, Budget::for_secs(30)).await;
    assert_eq!(report.count("handed"), 0, "{report}");
    let jobs = bus.take();
    assert_eq!(jobs.len(), 1);
    assert!(matches!(&jobs[0].task, Task::IngestAutomodAudit { guild } if guild == GUILD));
    for job in jobs.iter().chain(&jobs) {
        worker.handle(job, deadline()).await;
    }
    let cases = Cases::new(store.as_ref(), Platform::Discord, GUILD);
    assert_eq!(cases.all_of("1300000000000000301").await.unwrap().len(), 1);
}
