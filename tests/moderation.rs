//! Moderation end to end, on both store adapters: signed requests through the edge (two edges
//! over one store, as two Lambda instances), the jobs they publish carried out by the real
//! worker against recording fakes of Discord and Slack.
//!
//! Every test runs in its own community (guild or team id), so case numbers, histories and
//! audit entries of tests sharing the moto table never mix.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gavel_shared::clock::ManualClock;
use gavel_shared::edge::Edge;
use gavel_shared::invocation::Platform;
use gavel_shared::jobs::{Job, Task};
use gavel_shared::moderation::{AuditAction, AuditEntry, Cases, Kind, ModSettings, Status};
use gavel_shared::platform::recording::{PlatformCall, RecordingPlatform};
use gavel_shared::slack::web::RecordingSlackWeb;
use gavel_shared::store::Store;
use gavel_shared::worker::{Outcome, Worker};
use gavel_tests::FIXTURE_TIMESTAMP;
use gavel_tests::doubles::RecordingBus;
use gavel_tests::harness::{Backing, edge_over, recording_worker, run_jobs, snowflake_from};
use gavel_tests::payloads::{self, DiscordInvoker};
use gavel_tests::records::{audit_log, save_settings};
use gavel_tests::requests::{self, Answer, swap};
use serde_json::{Value, json};

const TARGET: &str = "1174109840998400077";
const SLACK_TARGET: &str = "U0GAVELTGT";
const SLACK_MOD: &str = "U0GAVELMOD";

struct Setup {
    first: Edge,
    second: Edge,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    bus: Arc<RecordingBus>,
    platform: Arc<RecordingPlatform>,
    slack_web: Arc<RecordingSlackWeb>,
    /// This test's own community.
    guild: String,
    team: String,
}

fn setup(Backing { store, clock }: Backing) -> Setup {
    let bus = Arc::new(RecordingBus::default());
    let slack_web = Arc::new(RecordingSlackWeb::new());
    let edge = || edge_over(Arc::clone(&store), &clock, slack_web.clone()).with_bus(bus.clone());
    Setup {
        first: edge(),
        second: edge(),
        store: Arc::clone(&store),
        clock: clock.clone(),
        bus,
        platform: Arc::new(RecordingPlatform::new()),
        slack_web,
        guild: snowflake(),
        team: format!("T{}", &snowflake()[10..]),
    }
}

fn embedded() -> Setup {
    setup(Backing::embedded())
}

async fn dynamodb() -> Setup {
    setup(Backing::dynamodb().await)
}

fn snowflake() -> String {
    snowflake_from("15425452969984")
}

/// What moderation answers show.
trait Shown {
    /// The text of a Discord answer or a Slack one.
    fn text(&self) -> String;
}

impl Shown for Answer {
    fn text(&self) -> String {
        if let Some(content) = self.body["data"]["content"].as_str() {
            let mut text = content.to_owned();
            for embed in self.body["data"]["embeds"].as_array().into_iter().flatten() {
                text.push_str(&embed.to_string());
            }
            return text;
        }
        self.body.to_string()
    }
}

impl Setup {
    fn in_guild(&self, body: Vec<u8>) -> Vec<u8> {
        swap(body, payloads::DISCORD_GUILD, &self.guild)
    }

    fn tenant(&self, platform: Platform) -> &str {
        match platform {
            Platform::Discord => &self.guild,
            Platform::Slack => &self.team,
            Platform::Telegram => unreachable!("Telegram has its own suite, tests/telegram.rs"),
        }
    }

    async fn discord_on(&self, edge: &Edge, body: Vec<u8>) -> Answer {
        requests::discord(edge, &self.clock, &self.in_guild(body)).await
    }

    /// `/name` with `options` (name, Discord type, value) by `invoker`.
    async fn command(
        &self,
        name: &str,
        options: &[(&str, u8, Value)],
        invoker: DiscordInvoker,
    ) -> Answer {
        let options: Vec<Value> = options
            .iter()
            .map(|(n, t, v)| json!({ "name": n, "type": t, "value": v }))
            .collect();
        let body = payloads::discord_command(&snowflake(), name, Value::Array(options), invoker);
        self.discord_on(&self.first, body).await
    }

    async fn moderator(&self, name: &str, options: &[(&str, u8, Value)]) -> Answer {
        self.command(name, options, DiscordInvoker::Moderator).await
    }

    async fn click_on(&self, edge: &Edge, custom_id: &str) -> Answer {
        let body = payloads::discord_component(&snowflake(), custom_id, DiscordInvoker::Moderator);
        self.discord_on(edge, body).await
    }

    async fn slack(&self, command: &str, text: &str, user: &str) -> Answer {
        let body = payloads::slack_command(command, text, &snowflake());
        let body = swap(
            swap(body, payloads::SLACK_USER, user),
            payloads::SLACK_TEAM,
            &self.team,
        );
        requests::slack(&self.first, &self.clock, "/slack/commands", &body).await
    }

    async fn slack_click(&self, action_id: &str, user: &str) -> Answer {
        let body = payloads::slack_block_action(action_id, &snowflake(), user);
        let body = swap(body, payloads::SLACK_TEAM, &self.team);
        requests::slack(&self.second, &self.clock, "/slack/interactions", &body).await
    }

    fn worker(&self) -> Worker {
        recording_worker(&self.store, &self.clock, &self.platform)
    }

    /// Runs every published job once through the real worker.
    async fn run_jobs(&self) -> Vec<Job> {
        let jobs = self.bus.take();
        run_jobs(&self.worker(), &jobs).await;
        jobs
    }

    fn cases(&self, platform: Platform) -> Cases<'_> {
        Cases::new(self.store.as_ref(), platform, self.tenant(platform))
    }

    async fn audit(&self, platform: Platform) -> Vec<AuditEntry> {
        audit_log(self.store.as_ref(), platform, self.tenant(platform)).await
    }

    async fn save_settings(&self, platform: Platform, settings: &ModSettings) {
        save_settings(
            self.store.as_ref(),
            platform,
            self.tenant(platform),
            settings,
        )
        .await
    }
}

fn user(id: &str) -> (&'static str, u8, Value) {
    ("user", 6, json!(id))
}

fn reason(text: &str) -> (&'static str, u8, Value) {
    ("reason", 3, json!(text))
}

fn duration(text: &str) -> (&'static str, u8, Value) {
    ("duration", 3, json!(text))
}

fn calls_matching(
    platform: &RecordingPlatform,
    f: impl Fn(&PlatformCall) -> bool,
) -> Vec<PlatformCall> {
    platform.calls().into_iter().filter(|c| f(c)).collect()
}

/// Three warnings reach the mute threshold: the third answer recommends a mute with an Apply
/// button, and one click opens the mute case, which the worker applies as a Discord timeout.
async fn warnings_escalate_to_a_mute_applied_with_one_click(s: Setup) {
    for n in 1..=2 {
        let answer = s.moderator("warn", &[user(TARGET), reason("spam")]).await;
        assert_eq!(answer.status, 200);
        assert!(
            answer.text().contains(&format!("Case #{n}: warning")),
            "{}",
            answer.text()
        );
        assert!(
            answer.buttons().is_empty(),
            "no recommendation yet: {}",
            answer.text()
        );
    }
    let third = s
        .moderator("warn", &[user(TARGET), reason("spam again")])
        .await;
    let text = third.text();
    assert!(text.contains("Case #3: warning"), "{text}");
    assert!(text.contains("Score 3.0 (was 2.0)"), "{text}");
    assert!(text.contains("recommended next, a mute for 1h"), "{text}");
    let buttons = third.buttons();
    assert_eq!(buttons.len(), 2, "Apply and Dismiss: {text}");

    let applied = s.click_on(&s.second, &buttons[0]).await;
    assert!(
        applied.text().contains("Case #4: mute for 1h"),
        "{}",
        applied.text()
    );
    assert_eq!(applied.body["type"], 7, "the offer is replaced");

    let jobs = s.run_jobs().await;
    assert_eq!(jobs.len(), 4, "three warnings and a mute");
    let timeouts = calls_matching(&s.platform, |c| {
        matches!(c, PlatformCall::DiscordTimeout { .. })
    });
    assert_eq!(timeouts.len(), 1);
    let PlatformCall::DiscordTimeout { user, until, .. } = &timeouts[0] else {
        unreachable!()
    };
    assert_eq!(user, TARGET);
    assert_eq!(*until, Some(FIXTURE_TIMESTAMP + 3600));
    let dms = calls_matching(&s.platform, |c| matches!(c, PlatformCall::DiscordDm { .. }));
    assert_eq!(dms.len(), 4, "the member is told of every case");

    let history = s.cases(Platform::Discord).all_of(TARGET).await.unwrap();
    let kinds: Vec<Kind> = history.iter().map(|c| c.case.kind).collect();
    assert_eq!(
        kinds,
        [Kind::Mute, Kind::Warning, Kind::Warning, Kind::Warning]
    );
    assert_eq!(history[0].case.dm.as_deref(), Some("sent"));
}

/// Two Confirm clicks on a ban, on two instances at once: one case, one ban call, even when
/// the job is delivered twice.
async fn a_ban_confirmed_by_two_concurrent_clicks_bans_once(s: Setup) {
    let prompt = s.moderator("ban", &[user(TARGET), reason("raid")]).await;
    assert!(prompt.text().contains("Ban"), "{}", prompt.text());
    assert!(
        s.cases(Platform::Discord)
            .all_of(TARGET)
            .await
            .unwrap()
            .is_empty(),
        "nothing before Confirm"
    );
    let confirm = &prompt.buttons()[0];
    let (a, b) = tokio::join!(
        s.click_on(&s.first, confirm),
        s.click_on(&s.second, confirm)
    );
    let texts = [a.text(), b.text()];
    assert_eq!(
        texts.iter().filter(|t| t.contains("Case #1: ban")).count(),
        1,
        "{texts:?}"
    );
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("already handled"))
            .count(),
        1,
        "{texts:?}"
    );
    let jobs = s.bus.take();
    assert_eq!(jobs.len(), 1);
    // At-least-once delivery: the same job arrives twice.
    let worker = s.worker();
    let deadline = Instant::now() + Duration::from_secs(10);
    assert_eq!(worker.handle(&jobs[0], deadline).await, Outcome::Done);
    assert_eq!(worker.handle(&jobs[0], deadline).await, Outcome::Duplicate);
    let bans = calls_matching(&s.platform, |c| {
        matches!(c, PlatformCall::DiscordBan { .. })
    });
    assert_eq!(bans.len(), 1, "{:?}", s.platform.calls());
    let cases = s.cases(Platform::Discord).all_of(TARGET).await.unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].case.kind, Kind::Ban);
    // The DM went before the ban, while the member could still be reached.
    let calls = s.platform.calls();
    let dm_at = calls
        .iter()
        .position(|c| matches!(c, PlatformCall::DiscordDm { .. }));
    let ban_at = calls
        .iter()
        .position(|c| matches!(c, PlatformCall::DiscordBan { .. }));
    assert!(dm_at < ban_at, "{calls:?}");
}

/// Two different bans confirmed at the same moment both happen, with the next two numbers:
/// the one whose case number was taken first steps again instead of failing.
async fn two_bans_confirmed_at_once_both_get_numbers(s: Setup) {
    let other = "1174109840998400078";
    let first = s.moderator("ban", &[user(TARGET), reason("raid")]).await;
    let second = s.moderator("ban", &[user(other), reason("raid")]).await;
    let (one, two) = (first.buttons(), second.buttons());
    let (a, b) = tokio::join!(
        s.click_on(&s.first, &one[0]),
        s.click_on(&s.second, &two[0])
    );
    let texts = [a.text(), b.text()];
    assert!(texts.iter().all(|t| t.contains(": ban for")), "{texts:?}");
    let cases = s.cases(Platform::Discord);
    let mut numbers = vec![
        cases.all_of(TARGET).await.unwrap()[0].case.number,
        cases.all_of(other).await.unwrap()[0].case.number,
    ];
    numbers.sort();
    assert_eq!(numbers, [1, 2]);
    assert_eq!(s.bus.take().len(), 2);
}

/// As Discord sends an interaction from the bot's DM with `user`: no guild, no member.
/// The submission, from `user`'s DM with the bot, of the form `modal` (an interaction answer
/// of type 9) with `reason` filled in.
fn dm_form_submission(modal: &Value, reason: &str, user: &str) -> Vec<u8> {
    assert_eq!(modal["type"], 9, "{modal}");
    let form = modal["data"]["custom_id"].as_str().unwrap();
    in_dm_of(
        payloads::discord_modal_submit(
            &snowflake(),
            form,
            &[("reason", reason)],
            DiscordInvoker::Member,
        ),
        user,
    )
}

fn in_dm_of(body: Vec<u8>, user: &str) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(&body).unwrap();
    let object = value.as_object_mut().unwrap();
    for key in ["guild_id", "guild", "member", "app_permissions"] {
        object.remove(key);
    }
    object.insert(
        "user".into(),
        json!({ "id": user, "username": "bob", "discriminator": "0", "avatar": null, "global_name": null }),
    );
    object.insert("context".into(), json!(1));
    value.to_string().into_bytes()
}

/// A banned member cannot run `/appeal` in the server: the ban's DM carries an Appeal button,
/// which only that member can use, and which files the appeal in the server.
async fn a_banned_member_appeals_from_the_dm(s: Setup) {
    let prompt = s.moderator("ban", &[user(TARGET), reason("raid")]).await;
    s.click_on(&s.first, &prompt.buttons()[0]).await;
    s.run_jobs().await;
    let dm = s
        .platform
        .calls()
        .into_iter()
        .find_map(|c| match c {
            PlatformCall::DiscordDm {
                user,
                content,
                buttons,
            } if user == TARGET => Some((content, buttons)),
            _ => None,
        })
        .expect("the member was DMed");
    assert!(dm.0.contains("appeal with the button below"), "{}", dm.0);
    assert_eq!(dm.1.len(), 1, "one Appeal button");
    let button = &dm.1[0];

    // Someone else's DM click is refused.
    let stranger = in_dm_of(
        payloads::discord_component(&snowflake(), button, DiscordInvoker::Member),
        payloads::DISCORD_MEMBER,
    );
    let refused = s.discord_on(&s.second, stranger).await;
    assert_ne!(refused.body["type"], 9, "{}", refused.body);

    let click = in_dm_of(
        payloads::discord_component(&snowflake(), button, DiscordInvoker::Member),
        TARGET,
    );
    let modal = s.discord_on(&s.second, click).await;
    let submit = dm_form_submission(
        &modal.body,
        "I was not in the voice channel during that raid",
        TARGET,
    );
    let sent = s.discord_on(&s.first, submit).await;
    assert!(sent.text().contains("appeal of case #1"), "{}", sent.text());
    let entries = s.audit(Platform::Discord).await;
    let opened: Vec<_> = entries
        .iter()
        .filter(|e| e.action == AuditAction::AppealOpened)
        .collect();
    assert_eq!(opened.len(), 1, "{entries:?}");
    assert_eq!(opened[0].actor, TARGET);
}

/// A warned member runs `/appeal` in their DM with the bot (no guild): without a reason it
/// opens the form, whose submission (from the DM too) files the appeal in the server; with
/// one it files at once. A case number they have nowhere is answered plainly.
async fn a_member_appeals_with_the_command_in_the_dm(s: Setup) {
    let member = snowflake();
    for n in 1..=2 {
        let warned = s.moderator("warn", &[user(&member), reason("spam")]).await;
        assert!(
            warned.text().contains(&format!("Case #{n}")),
            "{}",
            warned.text()
        );
    }
    let appeal = |options: Value| {
        in_dm_of(
            payloads::discord_command(&snowflake(), "appeal", options, DiscordInvoker::Member),
            &member,
        )
    };
    let why = "I was quoting the spammer to report them";

    let modal = s
        .discord_on(
            &s.first,
            appeal(json!([{ "name": "case", "type": 4, "value": 1 }])),
        )
        .await;
    let submit = dm_form_submission(&modal.body, why, &member);
    let sent = s.discord_on(&s.second, submit).await;
    assert!(sent.text().contains("appeal of case #1"), "{}", sent.text());

    let at_once = s
        .discord_on(
            &s.first,
            appeal(json!([
                { "name": "case", "type": 4, "value": 2 },
                { "name": "reason", "type": 3, "value": why }
            ])),
        )
        .await;
    assert!(
        at_once.text().contains("appeal of case #2"),
        "{}",
        at_once.text()
    );
    let opened: Vec<Option<u64>> = s
        .audit(Platform::Discord)
        .await
        .into_iter()
        .filter(|e| e.action == AuditAction::AppealOpened)
        .map(|e| e.case)
        .collect();
    assert_eq!(opened.len(), 2, "both filed in the server: {opened:?}");
    assert!(
        opened.contains(&Some(1)) && opened.contains(&Some(2)),
        "{opened:?}"
    );

    let nowhere = s
        .discord_on(
            &s.first,
            appeal(json!([{ "name": "case", "type": 4, "value": 9 }])),
        )
        .await;
    assert!(
        nowhere.text().contains("no case #9 in any community"),
        "{}",
        nowhere.text()
    );
}

/// Every moderation command refuses a member without its permission, and writes nothing.
async fn each_command_refuses_members_without_its_permission(s: Setup) {
    let cases = [
        ("note", vec![user(TARGET), reason("x")], "Moderate Members"),
        ("warn", vec![user(TARGET), reason("x")], "Moderate Members"),
        (
            "mute",
            vec![user(TARGET), duration("1h"), reason("x")],
            "Moderate Members",
        ),
        ("kick", vec![user(TARGET), reason("x")], "Kick Members"),
        (
            "tempban",
            vec![user(TARGET), duration("1d"), reason("x")],
            "Ban Members",
        ),
        ("ban", vec![user(TARGET), reason("x")], "Ban Members"),
        ("unban", vec![user(TARGET), reason("x")], "Ban Members"),
        ("pardon", vec![("case", 4, json!(1))], "Moderate Members"),
        ("case", vec![("number", 4, json!(1))], "Moderate Members"),
        ("infractions", vec![user(TARGET)], "Moderate Members"),
    ];
    for (name, options, permission) in cases {
        let answer = s.command(name, &options, DiscordInvoker::Member).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body["data"]["flags"], 64, "{name}: ephemeral");
        assert_eq!(
            answer.text(),
            format!("You need the {permission} permission to use `/{name}`."),
            "{name}"
        );
    }
    assert!(s.bus.take().is_empty());
    assert!(
        s.cases(Platform::Discord)
            .all_of(TARGET)
            .await
            .unwrap()
            .is_empty()
    );
    // Slack: an ordinary member is refused too.
    let answer = s
        .slack(
            "/warn",
            &format!("<@{SLACK_TARGET}> spam"),
            payloads::SLACK_USER,
        )
        .await;
    assert!(
        answer
            .text()
            .contains("You need the Moderate Members permission"),
        "{}",
        answer.text()
    );
}

/// Moderators cannot act on themselves or on the app, and the app's own missing permission is
/// said before anything is recorded.
async fn self_the_app_and_missing_app_permissions_are_refused(s: Setup) {
    let me = s
        .moderator("warn", &[user(payloads::DISCORD_MODERATOR), reason("x")])
        .await;
    assert_eq!(me.text(), "You cannot warn yourself.");
    let app = s
        .moderator("ban", &[user(payloads::DISCORD_APPLICATION), reason("x")])
        .await;
    assert_eq!(app.text(), "I cannot ban myself.");
    // The app lacks Ban Members here.
    let body = payloads::discord_command(
        &snowflake(),
        "ban",
        json!([{ "name": "user", "type": 6, "value": TARGET }, { "name": "reason", "type": 3, "value": "x" }]),
        DiscordInvoker::Moderator,
    );
    let mut value: Value = serde_json::from_slice(&body).unwrap();
    value["app_permissions"] = json!(((1u64 << 10) | (1 << 11) | (1 << 40)).to_string());
    let answer = s.discord_on(&s.first, value.to_string().into_bytes()).await;
    assert!(
        answer.text().contains("I need the Ban Members permission"),
        "{}",
        answer.text()
    );
    assert!(answer.buttons().is_empty());
    assert!(
        s.cases(Platform::Discord)
            .all_of(TARGET)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Seven cases make two pages of history; the buttons turn them, and the score is shown.
async fn history_pages_turn_and_show_the_score(s: Setup) {
    for n in 0..7 {
        let kind = if n % 2 == 0 { "note" } else { "warn" };
        let answer = s
            .moderator(kind, &[user(TARGET), reason(&format!("entry {n}"))])
            .await;
        assert!(
            answer.text().contains(&format!("Case #{}", n + 1)),
            "{}",
            answer.text()
        );
    }
    let first = s.moderator("infractions", &[user(TARGET)]).await;
    let text = first.text();
    assert!(text.contains("7 cases, score 3.0"), "{text}");
    assert!(text.contains("Page 1 of 2"), "{text}");
    assert!(
        text.contains("entry 6") && text.contains("entry 2"),
        "{text}"
    );
    assert!(!text.contains("entry 1"), "{text}");
    let buttons = first.buttons();
    assert_eq!(buttons.len(), 1, "only Older on the first page");

    let second = s.click_on(&s.second, &buttons[0]).await;
    let text = second.text();
    assert!(text.contains("Page 2 of 2"), "{text}");
    assert!(
        text.contains("entry 1") && text.contains("entry 0"),
        "{text}"
    );
    assert!(!text.contains("entry 2"), "{text}");
    assert_eq!(second.body["type"], 7);
    let back = second.buttons();
    assert_eq!(back.len(), 1, "only Newer on the last page");
    let again = s.click_on(&s.first, &back[0]).await;
    assert!(again.text().contains("Page 1 of 2"), "{}", again.text());

    // Ten days later a tenth of a point a day has decayed every warning away.
    s.clock.advance_ms(10 * 86_400 * 1000);
    let later = s.moderator("infractions", &[user(TARGET)]).await;
    assert!(
        later.text().contains("7 cases, score 0.0"),
        "{}",
        later.text()
    );
}

/// One of every action: each leaves exactly one audit entry of its kind, with who and what.
async fn every_action_kind_is_audited(s: Setup) {
    s.moderator("note", &[user(TARGET), reason("watch")]).await;
    s.moderator("warn", &[user(TARGET), reason("spam")]).await;
    s.moderator("mute", &[user(TARGET), duration("10m"), reason("flood")])
        .await;
    s.moderator("kick", &[user(TARGET), reason("raid")]).await;
    let tempban = s
        .moderator(
            "tempban",
            &[user(TARGET), duration("7d"), reason("raid again")],
        )
        .await;
    s.click_on(&s.first, &tempban.buttons()[0]).await;
    let ban = s
        .moderator("ban", &[user(TARGET), reason("for good")])
        .await;
    s.click_on(&s.first, &ban.buttons()[0]).await;
    let edit = s
        .moderator(
            "case",
            &[("number", 4, json!(2)), reason("spam in #general")],
        )
        .await;
    assert!(edit.text().contains("Case #2 updated"), "{}", edit.text());
    let pardon = s
        .moderator("pardon", &[("case", 4, json!(2)), reason("first time")])
        .await;
    assert!(
        pardon.text().contains("Case #2 (warning"),
        "{}",
        pardon.text()
    );
    let unban = s
        .moderator("unban", &[user(TARGET), reason("served")])
        .await;
    assert!(
        unban.text().contains("Cases #6, #5 are recorded as lifted"),
        "{}",
        unban.text()
    );

    let entries = s.audit(Platform::Discord).await;
    for action in [
        AuditAction::Note,
        AuditAction::Warning,
        AuditAction::Mute,
        AuditAction::Kick,
        AuditAction::TempBan,
        AuditAction::Ban,
        AuditAction::CaseEdit,
        AuditAction::Pardon,
        AuditAction::Unban,
    ] {
        let found: Vec<_> = entries.iter().filter(|e| e.action == action).collect();
        assert_eq!(found.len(), 1, "{action:?}: {entries:?}");
        assert_eq!(found[0].actor, payloads::DISCORD_MODERATOR);
        assert_eq!(found[0].target.as_deref(), Some(TARGET));
    }
    let edit = entries
        .iter()
        .find(|e| e.action == AuditAction::CaseEdit)
        .unwrap();
    assert_eq!(edit.before.as_ref().unwrap()["reason"], "spam");
    assert_eq!(edit.after.as_ref().unwrap()["reason"], "spam in #general");
    let cases = s.cases(Platform::Discord);
    assert_eq!(
        cases.get(2).await.unwrap().unwrap().case.status,
        Status::Pardoned
    );
    assert_eq!(
        cases.get(6).await.unwrap().unwrap().case.status,
        Status::Expired
    );

    let jobs = s.run_jobs().await;
    assert!(
        jobs.iter()
            .any(|j| matches!(j.task, Task::LiftSanction { .. }))
    );
    let unbans = calls_matching(&s.platform, |c| {
        matches!(c, PlatformCall::DiscordUnban { .. })
    });
    assert_eq!(unbans.len(), 1);
}

/// With automatic escalation on, the third warning applies the mute at once.
async fn automatic_escalation_applies_the_recommendation(s: Setup) {
    let settings = ModSettings {
        auto_escalate: true,
        modlog_channel: Some("1174109840998400099".into()),
        ..ModSettings::default()
    };
    s.save_settings(Platform::Discord, &settings).await;
    for _ in 0..2 {
        s.moderator("warn", &[user(TARGET), reason("spam")]).await;
    }
    let third = s.moderator("warn", &[user(TARGET), reason("spam")]).await;
    assert!(
        third.text().contains("Escalated automatically"),
        "{}",
        third.text()
    );
    assert!(third.buttons().is_empty());
    s.run_jobs().await;
    assert_eq!(
        calls_matching(&s.platform, |c| matches!(
            c,
            PlatformCall::DiscordTimeout { .. }
        ))
        .len(),
        1
    );
    let modlog = calls_matching(
        &s.platform,
        |c| matches!(c, PlatformCall::DiscordReply { channel, .. } if channel == "1174109840998400099"),
    );
    assert_eq!(
        modlog.len(),
        4,
        "three warnings and the mute are posted to the mod log"
    );
}

/// Concurrent cases from two instances get distinct, gapless numbers.
async fn case_numbers_are_gapless_under_concurrency(s: Setup) {
    let edges = [&s.first, &s.second];
    let answers = futures::future::join_all((0..8).map(|n| {
        let edge = edges[n % 2];
        let body = payloads::discord_command(
            &snowflake(),
            "note",
            json!([{ "name": "user", "type": 6, "value": TARGET }, { "name": "reason", "type": 3, "value": format!("n{n}") }]),
            DiscordInvoker::Moderator,
        );
        let s = &s;
        async move { s.discord_on(edge, body).await }
    }))
    .await;
    for answer in &answers {
        assert!(answer.text().contains("Case #"), "{}", answer.text());
    }
    let mut numbers: Vec<u64> = s
        .cases(Platform::Discord)
        .all_of(TARGET)
        .await
        .unwrap()
        .iter()
        .map(|c| c.case.number)
        .collect();
    numbers.sort();
    assert_eq!(numbers, (1..=8).collect::<Vec<u64>>());
}

/// On Slack: a moderator warns and kicks; the kick removes the member from the channel, a mute
/// is recorded and said to be beyond what Slack can apply.
async fn slack_moderation_says_what_slack_cannot_apply(s: Setup) {
    let warn = s
        .slack("/warn", &format!("<@{SLACK_TARGET}> spam"), SLACK_MOD)
        .await;
    assert!(warn.text().contains("Case #1: warning"), "{}", warn.text());
    let mute = s
        .slack(
            "/mute",
            &format!("<@{SLACK_TARGET}> 2h flooding"),
            SLACK_MOD,
        )
        .await;
    assert!(
        mute.text().contains("Case #2: mute for 2h"),
        "{}",
        mute.text()
    );
    let kick = s
        .slack("/kick", &format!("<@{SLACK_TARGET}> raid"), SLACK_MOD)
        .await;
    assert!(kick.text().contains("Case #3: kick"), "{}", kick.text());
    let bad = s
        .slack(
            "/mute",
            &format!("<@{SLACK_TARGET}> forever flooding"),
            SLACK_MOD,
        )
        .await;
    assert!(bad.text().contains("such as `30m`"), "{}", bad.text());

    s.run_jobs().await;
    let calls = s.platform.calls();
    let kicks: Vec<_> = calls
        .iter()
        .filter(|c| matches!(c, PlatformCall::SlackKick { .. }))
        .collect();
    assert_eq!(kicks.len(), 1, "{calls:?}");
    let PlatformCall::SlackKick { channel, user } = kicks[0] else {
        unreachable!()
    };
    assert_eq!(
        (channel.as_str(), user.as_str()),
        (payloads::SLACK_CHANNEL, SLACK_TARGET)
    );
    assert_eq!(
        calls
            .iter()
            .filter(|c| matches!(c, PlatformCall::SlackDm { .. }))
            .count(),
        3
    );
    let told: Vec<String> = calls
        .iter()
        .filter_map(|c| match c {
            PlatformCall::SlackRespond {
                text,
                replace_original: false,
            } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert!(
        told.iter().any(|t| t.contains("Slack has no mute")),
        "{told:?}"
    );
}

/// On Slack a temporary ban asks to confirm with Block Kit buttons; Confirm, served by another
/// instance, opens the case and answers through the `response_url`.
async fn slack_tempban_is_confirmed_through_block_actions(s: Setup) {
    let prompt = s
        .slack("/tempban", &format!("<@{SLACK_TARGET}> 3d raid"), SLACK_MOD)
        .await;
    assert_eq!(prompt.status, 200);
    let action_ids: Vec<String> = prompt.body["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["action_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(action_ids.len(), 2, "{}", prompt.body);
    // Someone else's click is refused: the buttons are the moderator's.
    let foreign = s.slack_click(&action_ids[0], payloads::SLACK_USER).await;
    assert_eq!(foreign.status, 200);
    assert!(
        s.cases(Platform::Slack)
            .all_of(SLACK_TARGET)
            .await
            .unwrap()
            .is_empty()
    );

    s.slack_click(&action_ids[0], SLACK_MOD).await;
    let answered = s
        .slack_web
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            gavel_shared::slack::web::SlackCall::Respond { message, .. } => Some(message),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert!(
        answered.iter().any(|m| m["replace_original"] == true
            && m.to_string().contains("Case #1: temporary ban for 3d")),
        "{answered:?}"
    );
    let cases = s.cases(Platform::Slack).all_of(SLACK_TARGET).await.unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(
        cases[0].case.expires_at,
        Some(FIXTURE_TIMESTAMP + 3 * 86_400)
    );
    assert_eq!(s.bus.take().len(), 1);
}

/// Through the real Discord client against a fake Discord: a ban refused for the role order
/// (403, Missing Permissions) is told to the moderator in words they can act on, after the DM
/// went out, and the refusal is noted on the case.
async fn a_role_hierarchy_refusal_is_told_plainly(s: Setup) {
    use gavel_shared::adapters::discord_rest::{DiscordLimits, DiscordRest};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let discord = MockServer::start().await;
    let guild = s.guild.clone();
    Mock::given(method("GET"))
        .and(path(format!("/guilds/{guild}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": guild, "owner_id": "1174109840998400001" })),
        )
        .mount(&discord)
        .await;
    Mock::given(method("POST"))
        .and(path("/users/@me/channels"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "1174109840998400500", "type": 1 })),
        )
        .mount(&discord)
        .await;
    Mock::given(method("POST"))
        .and(path("/channels/1174109840998400500/messages"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "id": "1174109840998400501" })),
        )
        .expect(1)
        .mount(&discord)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("/guilds/{guild}/bans/{TARGET}")))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({ "message": "Missing Permissions", "code": 50013 })),
        )
        .expect(1)
        .mount(&discord)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "1" })))
        .expect(1)
        .mount(&discord)
        .await;
    let rest = DiscordRest::new(
        discord.uri(),
        Some("test-bot-token".into()),
        Some(payloads::DISCORD_APPLICATION.into()),
        DiscordLimits::default(),
    )
    .expect("a client");

    let prompt = s.moderator("ban", &[user(TARGET), reason("raid")]).await;
    s.click_on(&s.first, &prompt.buttons()[0]).await;
    let jobs = s.bus.take();
    let worker = Worker::new(
        Arc::clone(&s.store),
        s.clock.clone(),
        Some(Arc::new(rest)),
        None,
    );
    assert_eq!(
        worker
            .handle(&jobs[0], Instant::now() + Duration::from_secs(10))
            .await,
        Outcome::Done,
        "a permanent refusal is told, not retried"
    );
    let edits: Vec<Value> = discord
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    // The DM went out as a message with the Appeal button (through the same DM channel).
    let dm: Value = discord
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .find(|r| r.url.path() == "/channels/1174109840998400500/messages")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .expect("the DM was posted");
    assert!(
        dm["components"][0]["components"][0]["custom_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("g1:appeal-dm:")),
        "{dm}"
    );
    let told = edits[0]["content"].as_str().unwrap_or("");
    assert!(
        told.contains("Case #1 is recorded, but Discord refused the ban"),
        "{told}"
    );
    assert!(told.contains("my highest role must be above"), "{told}");
    assert!(told.contains("Ban Members"), "{told}");
    assert!(told.contains("They were told by DM"), "{told}");
    let case = s
        .cases(Platform::Discord)
        .get(1)
        .await
        .unwrap()
        .unwrap()
        .case;
    assert_eq!(case.dm.as_deref(), Some("sent"));
    assert!(
        case.history.iter().any(|e| e.what == "not applied"),
        "{case:?}"
    );
}

/// The server owner is never acted on, nor DMed about it; the case notes why.
async fn refusals_by_discord_are_told_and_noted(s: Setup) {
    let owner_platform = Arc::new(RecordingPlatform::new().with_guild_owner(TARGET));
    let prompt = s.moderator("ban", &[user(TARGET), reason("raid")]).await;
    s.click_on(&s.first, &prompt.buttons()[0]).await;
    let jobs = s.bus.take();
    let worker = Worker::new(
        Arc::clone(&s.store),
        s.clock.clone(),
        Some(owner_platform.clone()),
        None,
    );
    assert_eq!(
        worker
            .handle(&jobs[0], Instant::now() + Duration::from_secs(5))
            .await,
        Outcome::Done
    );
    let calls = owner_platform.calls();
    assert!(
        !calls.iter().any(|c| matches!(
            c,
            PlatformCall::DiscordBan { .. } | PlatformCall::DiscordDm { .. }
        )),
        "{calls:?}"
    );
    let told = calls
        .iter()
        .find_map(|c| match c {
            PlatformCall::DiscordEditOriginal { content } => Some(content.clone()),
            _ => None,
        })
        .expect("the moderator is told");
    assert!(told.contains("owns this server"), "{told}");
    let case = s
        .cases(Platform::Discord)
        .get(1)
        .await
        .unwrap()
        .unwrap()
        .case;
    assert!(
        case.history.iter().any(|e| e.what == "not applied"),
        "{case:?}"
    );
}

/// A captured Slack `/warn` replayed three seconds later (inside the signature window), and
/// copies of another sent at once, each open one case and send one DM: the trigger id is
/// claimed in the admission transaction.
async fn a_replayed_slack_command_acts_once(s: Setup) {
    let warn = |reason: &str| {
        let body = payloads::slack_command(
            "/warn",
            &format!("<@{SLACK_TARGET}> {reason}"),
            &snowflake(),
        );
        swap(
            swap(body, payloads::SLACK_USER, SLACK_MOD),
            payloads::SLACK_TEAM,
            &s.team,
        )
    };
    let body = warn("spam");
    let first = requests::slack(&s.first, &s.clock, "/slack/commands", &body).await;
    assert!(first.text().contains("#1"), "{}", first.text());
    s.clock.advance_ms(3_000);
    let replay = requests::slack(&s.second, &s.clock, "/slack/commands", &body).await;
    assert_eq!(replay.status, 200);
    assert!(
        replay.text().contains("already handled"),
        "{}",
        replay.text()
    );

    let copies = warn("flood");
    let (a, b, c) = tokio::join!(
        requests::slack(&s.first, &s.clock, "/slack/commands", &copies),
        requests::slack(&s.second, &s.clock, "/slack/commands", &copies),
        requests::slack(&s.first, &s.clock, "/slack/commands", &copies),
    );
    let opened = [a, b, c]
        .iter()
        .filter(|answer| answer.text().contains("#2"))
        .count();
    assert_eq!(opened, 1);
    let cases = s.cases(Platform::Slack);
    assert!(cases.get(2).await.unwrap().is_some());
    assert!(
        cases.get(3).await.unwrap().is_none(),
        "no case from a replay"
    );
    let dms = s
        .bus
        .take()
        .into_iter()
        .filter(|job| matches!(&job.task, Task::ApplySanction { dm: Some(_), .. }))
        .count();
    assert_eq!(dms, 2, "one DM per warning");
}

impl Setup {
    /// One Discord interaction (the same id, the same body) delivered five times: twice one
    /// after the other, then three copies at once, through both edges (two instances). The
    /// answers, first one first.
    async fn five_deliveries(&self, name: &str, options: &[(&str, u8, Value)]) -> Vec<Answer> {
        let options: Vec<Value> = options
            .iter()
            .map(|(n, t, v)| json!({ "name": n, "type": t, "value": v }))
            .collect();
        let body = self.in_guild(payloads::discord_command(
            &snowflake(),
            name,
            Value::Array(options),
            DiscordInvoker::Moderator,
        ));
        let mut answers = vec![
            requests::discord(&self.first, &self.clock, &body).await,
            requests::discord(&self.second, &self.clock, &body).await,
        ];
        let (a, b, c) = tokio::join!(
            requests::discord(&self.first, &self.clock, &body),
            requests::discord(&self.second, &self.clock, &body),
            requests::discord(&self.first, &self.clock, &body),
        );
        answers.extend([a, b, c]);
        for repeat in &answers[1..] {
            assert!(
                repeat.text().contains("already handled"),
                "a repeat acts never: {}",
                repeat.text()
            );
        }
        answers
    }

    async fn audited(&self, action: AuditAction) -> usize {
        self.audit(Platform::Discord)
            .await
            .iter()
            .filter(|e| e.action == action)
            .count()
    }
}

/// The exactly-once table in docs/DATA.md, row "case": one case, one job.
async fn a_repeated_warning_opens_one_case(s: Setup) {
    s.five_deliveries("warn", &[user(TARGET), reason("spam")])
        .await;
    let cases = s.cases(Platform::Discord);
    assert!(cases.get(1).await.unwrap().is_some());
    assert!(cases.get(2).await.unwrap().is_none());
    assert_eq!(s.bus.take().len(), 1, "one job: one DM");
    assert_eq!(s.audited(AuditAction::Warning).await, 1);
}

/// Row "unban": one lift, one audit entry.
async fn a_repeated_unban_lifts_once(s: Setup) {
    s.five_deliveries("unban", &[user(TARGET), reason("served")])
        .await;
    let lifts = s
        .bus
        .take()
        .into_iter()
        .filter(|job| matches!(job.task, Task::LiftSanction { .. }))
        .count();
    assert_eq!(lifts, 1);
    assert_eq!(s.audited(AuditAction::Unban).await, 1);
}

/// Row "reminder": one reminder, one schedule.
async fn a_repeated_reminder_is_set_once(s: Setup) {
    let options = [
        ("action", 3, json!("in")),
        ("duration", 3, json!("2h")),
        ("text", 3, json!("stand-up")),
    ];
    s.five_deliveries("remind", &options).await;
    let pending =
        gavel_shared::reminders::Reminders::new(s.store.as_ref(), Platform::Discord, &s.guild)
            .pending(payloads::DISCORD_MODERATOR)
            .await
            .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(s.bus.take().len(), 1, "one schedule asked for");
}

/// Row "settings change": saved once, audited once.
async fn a_repeated_settings_change_is_saved_once(s: Setup) {
    let options = [("setting", 3, json!("decay")), ("value", 3, json!("0.5"))];
    s.five_deliveries("modconfig", &options).await;
    assert_eq!(s.audited(AuditAction::ConfigChange).await, 1);
    let settings = ModSettings::load(s.store.as_ref(), Platform::Discord, &s.guild)
        .await
        .unwrap();
    assert_eq!(settings.1, Some(1), "one write of the settings");
}

gavel_tests::on_both_stores!(
    a_repeated_warning_opens_one_case,
    a_repeated_unban_lifts_once,
    a_repeated_reminder_is_set_once,
    a_repeated_settings_change_is_saved_once,
    a_replayed_slack_command_acts_once,
    warnings_escalate_to_a_mute_applied_with_one_click,
    a_ban_confirmed_by_two_concurrent_clicks_bans_once,
    each_command_refuses_members_without_its_permission,
    self_the_app_and_missing_app_permissions_are_refused,
    history_pages_turn_and_show_the_score,
    every_action_kind_is_audited,
    automatic_escalation_applies_the_recommendation,
    case_numbers_are_gapless_under_concurrency,
    slack_moderation_says_what_slack_cannot_apply,
    refusals_by_discord_are_told_and_noted,
    slack_tempban_is_confirmed_through_block_actions,
    a_role_hierarchy_refusal_is_told_plainly,
    two_bans_confirmed_at_once_both_get_numbers,
    a_banned_member_appeals_from_the_dm,
    a_member_appeals_with_the_command_in_the_dm,
);
