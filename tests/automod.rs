//! AutoMod end to end, on both store adapters: signed Slack message events through two edges
//! over one store (two Lambda instances), the jobs they publish carried out by the real worker
//! against recording fakes; `/automod` changes and dry runs through the Discord command.
//!
//! Every test runs in its own community, so counters, cases and audit entries never mix on
//! the shared moto table.

use std::sync::Arc;

use gavel_shared::automod::{RuleAction, RuleKind, Rules};
use gavel_shared::clock::{Clock, ManualClock};
use gavel_shared::edge::Edge;
use gavel_shared::invocation::Platform;
use gavel_shared::moderation::{
    AuditAction, Cases, Kind, ModSettings, Source, Status, automod_rules,
};
use gavel_shared::platform::recording::{PlatformCall, RecordingPlatform};
use gavel_shared::slack::web::RecordingSlackWeb;
use gavel_shared::store::Store;
use gavel_tests::doubles::RecordingBus;
use gavel_tests::harness::{Backing, edge_over, recording_worker, run_jobs, snowflake_from};
use gavel_tests::payloads::{self, DiscordInvoker};
use gavel_tests::records::{audit_log, save_settings};
use gavel_tests::requests::{self, Answer, swap};
use gavel_tests::slack_signed_headers;
use http::Method;
use serde_json::{Value, json};

const AUTHOR: &str = "U0SPAMMER1";
const CHANNEL: &str = "C0GENERAL1";
const MODLOG: &str = "C0MODLOG01";
const SLACK_MOD: &str = "U0GAVELMOD";

struct Setup {
    first: Edge,
    second: Edge,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    bus: Arc<RecordingBus>,
    platform: Arc<RecordingPlatform>,
    team: String,
    guild: String,
}

fn setup(Backing { store, clock }: Backing) -> Setup {
    let bus = Arc::new(RecordingBus::default());
    let slack_web = Arc::new(RecordingSlackWeb::new());
    let edge = || edge_over(Arc::clone(&store), &clock, slack_web.clone()).with_bus(bus.clone());
    let id = snowflake_from("15425452969985");
    Setup {
        first: edge(),
        second: edge(),
        store: Arc::clone(&store),
        clock: clock.clone(),
        bus,
        platform: Arc::new(RecordingPlatform::new()),
        team: format!("T{}", &id[10..]),
        guild: id,
    }
}

fn embedded() -> Setup {
    setup(Backing::embedded())
}

async fn dynamodb() -> Setup {
    setup(Backing::dynamodb().await)
}

/// An Events API delivery of a member's message, as Slack sends it.
fn message_event(team: &str, event_id: &str, channel: &str, ts: &str, text: &str) -> Vec<u8> {
    json!({
        "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
        "team_id": team,
        "api_app_id": payloads::SLACK_APP,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1764000000,
        "authorizations": [{
            "enterprise_id": null, "team_id": team, "user_id": "U0GAVELBOT",
            "is_bot": true, "is_enterprise_install": false
        }],
        "event": {
            "type": "message", "channel": channel, "user": AUTHOR, "text": text,
            "ts": ts, "event_ts": ts, "channel_type": "channel"
        }
    })
    .to_string()
    .into_bytes()
}

impl Setup {
    async fn deliver(&self, edge: &Edge, body: &[u8]) -> u16 {
        let ts = self.clock.now_secs().to_string();
        let headers = slack_signed_headers("application/json", &ts, body);
        let map = gavel_tests::header_map(headers.iter().map(|(k, v)| (*k, v.as_str())));
        edge.handle(&Method::POST, "/slack/events", &map, body)
            .await
            .status
            .as_u16()
    }

    async fn slack_settings(&self) {
        let settings = ModSettings {
            modlog_channel: Some(MODLOG.to_owned()),
            ..ModSettings::default()
        };
        save_settings(self.store.as_ref(), Platform::Slack, &self.team, &settings).await;
    }

    async fn save_rules(&self, platform: Platform, tenant: &str, rules: &Rules) {
        let (_, version) = automod_rules::load(self.store.as_ref(), platform, tenant)
            .await
            .unwrap();
        self.store
            .transact(vec![automod_rules::write(rules, platform, tenant, version)])
            .await
            .unwrap();
    }

    fn cases(&self, platform: Platform) -> Cases<'_> {
        let tenant = match platform {
            Platform::Slack => &self.team,
            Platform::Telegram => unreachable!("Telegram has its own suite, tests/telegram.rs"),
            Platform::Discord => &self.guild,
        };
        Cases::new(self.store.as_ref(), platform, tenant)
    }

    async fn run_jobs(&self) {
        let jobs = self.bus.take();
        run_jobs(
            &recording_worker(&self.store, &self.clock, &self.platform),
            &jobs,
        )
        .await;
    }

    async fn discord(&self, name: &str, options: Value, invoker: DiscordInvoker) -> Answer {
        let body =
            payloads::discord_command(&snowflake_from("15425452969986"), name, options, invoker);
        let body = swap(body, payloads::DISCORD_GUILD, &self.guild);
        requests::discord(&self.first, &self.clock, &body).await
    }

    async fn send(&self, body: Vec<u8>) -> Answer {
        let body = swap(body, payloads::DISCORD_GUILD, &self.guild);
        requests::discord(&self.first, &self.clock, &body).await
    }

    async fn automod(&self, action: &str, rule: Option<&str>, value: Option<&str>) -> Answer {
        let mut options = vec![json!({ "name": "action", "type": 3, "value": action })];
        if let Some(rule) = rule {
            options.push(json!({ "name": "rule", "type": 3, "value": rule }));
        }
        if let Some(value) = value {
            options.push(json!({ "name": "value", "type": 3, "value": value }));
        }
        self.discord("automod", Value::Array(options), DiscordInvoker::Moderator)
            .await
    }
}

fn banned(words: &[&str]) -> Rules {
    let mut rules = Rules::default();
    if let Some(rule) = rules.rule_mut("words") {
        rule.kind = RuleKind::Words {
            words: words.iter().map(|w| (*w).to_owned()).collect(),
        };
        rule.enabled = true;
    }
    rules
}

fn text_of(answer: &Answer) -> String {
    requests::content(&answer.body).to_owned()
}

/// A banned phrase, obfuscated, delivered three times (a retry of one event id and a copy
/// under another, on two instances at once): one case with `source: automod`, one DM, one
/// mod-log post with the follow-up buttons.
async fn a_caught_message_delivered_three_times_acts_once(s: Setup) {
    s.slack_settings().await;
    s.save_rules(Platform::Slack, &s.team, &banned(&["free nitro"]))
        .await;
    let body = |event_id| {
        message_event(
            &s.team,
            event_id,
            CHANNEL,
            "1764000000.000100",
            "get fr33 n1tr0 here",
        )
    };
    let (a, b) = (body("Ev0A"), body("Ev0B"));
    let (first, retry, copy) = tokio::join!(
        s.deliver(&s.first, &a),
        s.deliver(&s.second, &a),
        s.deliver(&s.second, &b),
    );
    assert_eq!((first, retry, copy), (200, 200, 200));
    let cases = s.cases(Platform::Slack).all_of(AUTHOR).await.unwrap();
    assert_eq!(cases.len(), 1, "{cases:?}");
    let case = &cases[0].case;
    assert_eq!(case.kind, Kind::Warning);
    assert_eq!(case.source, Some(Source::Automod("words".into())));
    assert!(case.reason.contains("free nitro"), "{}", case.reason);
    assert_eq!(case.moderator, "U0GAVELBOT");
    s.run_jobs().await;
    let calls = s.platform.calls();
    let dms: Vec<_> = calls
        .iter()
        .filter(|c| matches!(c, PlatformCall::SlackDm { user, .. } if user == AUTHOR))
        .collect();
    assert_eq!(dms.len(), 1, "{calls:?}");
    let posts: Vec<_> = calls
        .iter()
        .filter_map(|c| match c {
            PlatformCall::SlackReply { channel, reply } if channel == MODLOG => Some(reply),
            _ => None,
        })
        .collect();
    assert_eq!(posts.len(), 1, "{calls:?}");
    assert!(
        posts[0].text.contains("look-alike") || posts[0].text.contains("substitution"),
        "{}",
        posts[0].text
    );
    let labels: Vec<&str> = posts[0].buttons.iter().map(|b| b.label.as_str()).collect();
    assert_eq!(labels, ["Warn", "Mute 1h", "Dismiss (pardon)"]);
}

/// An ordinary message, an exempt channel's and the app's own are not acted on.
async fn clean_exempt_and_own_messages_are_left_alone(s: Setup) {
    s.slack_settings().await;
    let mut rules = banned(&["scam"]);
    if let Some(rule) = rules.rule_mut("words") {
        rule.exempt.channels.push("C0MODCHAT1".to_owned());
    }
    s.save_rules(Platform::Slack, &s.team, &rules).await;
    let clean = message_event(
        &s.team,
        "Ev1A",
        CHANNEL,
        "1764000001.000100",
        "a classic from Scunthorpe",
    );
    let exempt = message_event(
        &s.team,
        "Ev1B",
        "C0MODCHAT1",
        "1764000002.000100",
        "this is a scam",
    );
    let own = swap(
        message_event(
            &s.team,
            "Ev1C",
            CHANNEL,
            "1764000003.000100",
            "scam warning",
        ),
        AUTHOR,
        "U0GAVELBOT",
    );
    for body in [clean, exempt, own] {
        assert_eq!(s.deliver(&s.first, &body).await, 200);
    }
    assert!(
        s.cases(Platform::Slack)
            .all_of(AUTHOR)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.bus.take().is_empty(), "no jobs");
    let caught = message_event(
        &s.team,
        "Ev1D",
        CHANNEL,
        "1764000004.000100",
        "this is a sc4m",
    );
    assert_eq!(s.deliver(&s.first, &caught).await, 200);
    assert_eq!(
        s.cases(Platform::Slack).all_of(AUTHOR).await.unwrap().len(),
        1
    );
}

/// 20 messages from one member in one channel, alternating between two instances, trip the
/// flood rule (5 per 10 s) once; the next window trips it once more.
async fn a_flood_across_two_instances_trips_once_per_window(s: Setup) {
    s.slack_settings().await;
    let mut rules = Rules::default();
    for rule in &mut rules.rules {
        rule.enabled = matches!(rule.kind, RuleKind::Flood { .. });
    }
    s.save_rules(Platform::Slack, &s.team, &rules).await;
    let flood = |from: usize| {
        (from..from + 20).map(|i| {
            message_event(
                &s.team,
                &format!("Ev2{i}"),
                CHANNEL,
                &format!("1764000100.{i:06}"),
                &format!("message number {i}"),
            )
        })
    };
    for (i, body) in flood(0).enumerate() {
        let edge = if i % 2 == 0 { &s.first } else { &s.second };
        assert_eq!(s.deliver(edge, &body).await, 200);
    }
    let flooded = |cases: &[gavel_shared::moderation::StoredCase]| {
        cases
            .iter()
            .filter(|c| c.case.source == Some(Source::Automod("flood".into())))
            .count()
    };
    let cases = s.cases(Platform::Slack).all_of(AUTHOR).await.unwrap();
    assert_eq!(flooded(&cases), 1, "{cases:?}");
    assert_eq!(cases[0].case.kind, Kind::Mute);
    s.clock.advance_ms(60_000);
    for (i, body) in flood(100).enumerate() {
        let edge = if i % 2 == 0 { &s.second } else { &s.first };
        assert_eq!(s.deliver(edge, &body).await, 200);
    }
    let cases = s.cases(Platform::Slack).all_of(AUTHOR).await.unwrap();
    assert_eq!(flooded(&cases), 2, "one more trip in the next window");
}

/// A moderator's follow-up from the mod-log post: Dismiss pardons AutoMod's case, once.
async fn dismissing_a_catch_pardons_its_case_once(s: Setup) {
    s.slack_settings().await;
    s.save_rules(Platform::Slack, &s.team, &banned(&["scam"]))
        .await;
    let body = message_event(&s.team, "Ev3A", CHANNEL, "1764000200.000100", "pure scam");
    assert_eq!(s.deliver(&s.first, &body).await, 200);
    let jobs = s.bus.jobs();
    let post = jobs
        .iter()
        .find_map(|job| match &job.task {
            gavel_shared::jobs::Task::Post(post) => Some(post.clone()),
            _ => None,
        })
        .expect("a mod-log post");
    let dismiss = post.message.buttons[2].id.clone();
    let click = || {
        let body =
            payloads::slack_block_action(&dismiss, &snowflake_from("15425452969987"), SLACK_MOD);
        swap(body, payloads::SLACK_TEAM, &s.team)
    };
    let (one, two) = (click(), click());
    let (a, b) = tokio::join!(
        requests::slack(&s.first, &s.clock, "/slack/interactions", &one),
        requests::slack(&s.second, &s.clock, "/slack/interactions", &two)
    );
    assert_eq!((a.status, b.status), (200, 200));
    let cases = s.cases(Platform::Slack).all_of(AUTHOR).await.unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].case.status, Status::Pardoned);
    let audit = audit_log(s.store.as_ref(), Platform::Slack, &s.team).await;
    let pardons = audit
        .iter()
        .filter(|e| e.action == AuditAction::Pardon)
        .count();
    assert_eq!(pardons, 1, "{audit:?}");
}

/// `/automod` changes are saved over their version and audited with before and after; bad
/// input is refused with a clear message and saves nothing; the dry run explains.
async fn automod_changes_are_audited_and_tested(s: Setup) {
    let added = s.automod("add-word", None, Some("free nitro")).await;
    assert!(
        text_of(&added).contains("`free nitro` is now banned"),
        "{}",
        text_of(&added)
    );
    let action = s.automod("action", Some("words"), Some("mute 2h")).await;
    assert!(text_of(&action).contains("mute 2h"), "{}", text_of(&action));
    let regex = s.automod("add-regex", None, Some("(unclosed")).await;
    assert!(
        text_of(&regex).contains("not a valid regular expression"),
        "{}",
        text_of(&regex)
    );
    assert!(
        text_of(&regex).contains("Nothing was changed"),
        "{}",
        text_of(&regex)
    );
    let huge = "a".repeat(300);
    let long = s.automod("add-regex", None, Some(&huge)).await;
    assert!(text_of(&long).contains("260"), "{}", text_of(&long));
    let test = s.automod("test", None, Some("fr33 n1tr0 for all")).await;
    let shown = text_of(&test);
    assert!(
        shown.contains("free nitro") && shown.contains("mute 2h"),
        "{shown}"
    );
    let clean = s
        .automod("test", None, Some("a classic from Scunthorpe"))
        .await;
    assert!(
        text_of(&clean).contains("No rule would catch that"),
        "{}",
        text_of(&clean)
    );
    let member = s
        .discord(
            "automod",
            json!([{ "name": "action", "type": 3, "value": "list" }]),
            DiscordInvoker::Member,
        )
        .await;
    assert!(
        text_of(&member).contains("Manage Server"),
        "{}",
        text_of(&member)
    );

    let (rules, version) = automod_rules::load(s.store.as_ref(), Platform::Discord, &s.guild)
        .await
        .unwrap();
    assert_eq!(version, Some(2), "two saves");
    let words = rules.rule("words").unwrap();
    assert_eq!(words.action, RuleAction::Mute { secs: 7200 });
    let audit = audit_log(s.store.as_ref(), Platform::Discord, &s.guild).await;
    let changes: Vec<_> = audit
        .iter()
        .filter(|e| e.action == AuditAction::ConfigChange)
        .collect();
    assert_eq!(changes.len(), 2, "{audit:?}");
    assert!(
        changes
            .iter()
            .all(|e| e.before.is_some() && e.after.is_some())
    );
}

/// A Discord message command (`name`) on a message by `author` saying `content`.
fn message_command(name: &str, author: &str, content: &str, invoker: DiscordInvoker) -> Vec<u8> {
    let body =
        payloads::discord_command(&snowflake_from("15425452969988"), name, json!([]), invoker);
    let mut value: Value = serde_json::from_slice(&body).unwrap();
    let message = "1174109840998400050";
    value["data"]["type"] = json!(3);
    value["data"]["target_id"] = json!(message);
    value["data"]["resolved"] = json!({ "messages": { message: {
        "id": message, "channel_id": payloads::DISCORD_CHANNEL, "content": content,
        "author": { "id": author, "username": "bob", "discriminator": "0", "avatar": null },
        "attachments": [], "embeds": [], "mentions": [], "mention_roles": [],
        "pinned": false, "mention_everyone": false, "tts": false, "type": 0,
        "timestamp": "2025-11-24T15:59:00.000000+00:00", "edited_timestamp": null, "flags": 0
    } } });
    value.to_string().into_bytes()
}

/// **Report message** files a report holding the message and what AutoMod made of it;
/// **Check message** shows a moderator the hits with one-click follow-ups.
async fn report_message_and_check_message(s: Setup) {
    const BOB: &str = "1174109840998400020";
    s.save_rules(Platform::Discord, &s.guild, &banned(&["free nitro"]))
        .await;
    let report = s
        .send(message_command(
            "Report message",
            BOB,
            "claim your fr33 n1tr0",
            DiscordInvoker::Member,
        ))
        .await;
    let shown = report.body.to_string();
    assert!(shown.contains("Send this report about"), "{shown}");
    assert!(shown.contains("matched the banned phrase"), "{shown}");
    let confirm = report.buttons()[0].clone();
    let click = payloads::discord_component(
        &snowflake_from("15425452969988"),
        &confirm,
        DiscordInvoker::Member,
    );
    let sent = s.send(click).await;
    assert!(
        text_of(&sent).contains("was sent to the moderators"),
        "{}",
        text_of(&sent)
    );
    let delivered = s
        .bus
        .take()
        .into_iter()
        .find_map(|job| match job.task {
            gavel_shared::jobs::Task::DeliverReport { target, reason, .. } => {
                Some((target, reason))
            }
            _ => None,
        })
        .expect("the report goes to the report channel");
    assert_eq!(delivered.0, BOB);
    assert!(
        delivered.1.contains("fr33 n1tr0") && delivered.1.contains("AutoMod"),
        "{}",
        delivered.1
    );

    let own = s
        .send(message_command(
            "Report message",
            payloads::DISCORD_MEMBER,
            "free nitro",
            DiscordInvoker::Member,
        ))
        .await;
    assert!(
        text_of(&own).contains("your own message"),
        "{}",
        text_of(&own)
    );

    let check = s
        .send(message_command(
            "Check message",
            BOB,
            "claim your fr33 n1tr0",
            DiscordInvoker::Moderator,
        ))
        .await;
    assert!(
        text_of(&check).contains("breaks 1 rule"),
        "{}",
        text_of(&check)
    );
    let buttons = check.buttons();
    assert_eq!(buttons.len(), 3, "{:?}", check.body);
    let warn = payloads::discord_component(
        &snowflake_from("15425452969988"),
        &buttons[0],
        DiscordInvoker::Moderator,
    );
    let warned = s.send(warn.clone()).await;
    assert!(
        text_of(&warned).contains("followed this catch up"),
        "{}",
        text_of(&warned)
    );
    let cases = s.cases(Platform::Discord).all_of(BOB).await.unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].case.kind, Kind::Warning);
    assert_eq!(cases[0].case.moderator, payloads::DISCORD_MODERATOR);
    let member_check = s
        .send(message_command(
            "Check message",
            BOB,
            "x",
            DiscordInvoker::Member,
        ))
        .await;
    assert!(
        text_of(&member_check).contains("Manage Server"),
        "{}",
        text_of(&member_check)
    );
}

gavel_tests::on_both_stores!(
    report_message_and_check_message,
    a_caught_message_delivered_three_times_acts_once,
    clean_exempt_and_own_messages_are_left_alone,
    a_flood_across_two_instances_trips_once_per_window,
    dismissing_a_catch_pardons_its_case_once,
    automod_changes_are_audited_and_tested,
);
