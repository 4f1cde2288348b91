//! Appeals end to end through the edge, on both store adapters (embedded, and DynamoDB on
//! moto): signed `/appeal` commands, forms and clicks, served by two edges over one store as
//! two Lambda instances would, with the jobs they hand to the worker captured on a recording
//! bus. Cases are opened with the moderation core (`record_sanction`), as the moderation
//! commands do.
//!
//! Each test runs in its own guild and workspace (the payloads' tenant ids are swapped for
//! fresh ones), so tests sharing moto's table never see each other's cases, appeals or audit
//! entries.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gavel_shared::clock::{Clock, ManualClock};
use gavel_shared::edge::Edge;
use gavel_shared::invocation::{Action, Actor, Capabilities, CommandCall, Invocation, Platform};
use gavel_shared::jobs::{Job, Task};
use gavel_shared::moderation::actions::{
    ModContext, Sanction, prepare_edit, prepare_pardon, record_sanction,
};
use gavel_shared::moderation::appeal::{self, AppealStatus, REVIEW_LIFETIME_SECS};
use gavel_shared::moderation::{
    AuditAction, AuditEntry, Cases, Kind, ModSettings, Status, date_time, points,
};
use gavel_shared::slack::web::{RecordingSlackWeb, SlackCall};
use gavel_shared::store::Store;
use gavel_tests::doubles::RecordingBus;
use gavel_tests::harness::{Backing, edge_over, futures_join, snowflake_from};
use gavel_tests::payloads::{
    self, DISCORD_GUILD, DISCORD_MEMBER, DISCORD_MODERATOR, DiscordInvoker, SLACK_TEAM, SLACK_USER,
};
use gavel_tests::records::save_settings;
use gavel_tests::requests::{self, Answer, button_ids, content, swap};
use serde_json::{Value, json};

/// A second Discord moderator: the payloads' moderator with another user id.
const DISCORD_MODERATOR_2: &str = "1174109840998400012";
/// The Slack moderator the test settings configure (`GAVEL_SLACK_MODERATORS`).
const SLACK_MODERATOR: &str = "U0GAVELMOD";
/// Someone else, whose cases the member cannot appeal.
const OTHER_MEMBER: &str = "1174109840998400077";
const REVIEW_CHANNEL: &str = "1174109840998400555";
const MODLOG_CHANNEL: &str = "1174109840998400556";

/// Two edges over one store, their clock, bus and Slack recorder, and this test's tenants.
struct Setup {
    first: Edge,
    second: Edge,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    slack: Arc<RecordingSlackWeb>,
    bus: Arc<RecordingBus>,
    guild: String,
    team: String,
}

fn edges(Backing { store, clock }: Backing) -> Setup {
    let slack = Arc::new(RecordingSlackWeb::new());
    let bus = Arc::new(RecordingBus::default());
    let edge = || edge_over(Arc::clone(&store), &clock, slack.clone()).with_bus(bus.clone());
    let n = NEXT_TENANT.fetch_add(1, Ordering::Relaxed);
    Setup {
        first: edge(),
        second: edge(),
        store,
        clock,
        slack,
        bus,
        guild: format!("21741098409984{n:05}"),
        team: format!("T0APPL{n:04}"),
    }
}

static NEXT_TENANT: AtomicU64 = AtomicU64::new(1);

fn embedded() -> Setup {
    edges(Backing::embedded())
}

async fn dynamodb() -> Setup {
    edges(Backing::dynamodb().await)
}

/// A Discord snowflake no other request in this binary uses.
fn snowflake() -> String {
    snowflake_from("14425452969985")
}

fn reason(label: &str) -> String {
    format!("{label}: I was quoting the spammer to report them, not spamming myself")
}

impl Setup {
    fn tenant(&self, platform: Platform) -> &str {
        match platform {
            Platform::Discord => &self.guild,
            Platform::Slack => &self.team,
            Platform::Telegram => unreachable!("Telegram has its own suite, tests/telegram.rs"),
        }
    }

    /// Sends a Discord payload, moved into this test's guild.
    async fn discord(&self, edge: &Edge, body: Vec<u8>) -> Answer {
        let body = swap(body, DISCORD_GUILD, &self.guild);
        let answer = requests::discord(edge, &self.clock, &body).await;
        assert_eq!(answer.status, 200, "{:?}", answer);
        answer
    }

    /// Sends a Slack form body, moved into this test's workspace.
    async fn slack(&self, edge: &Edge, path: &str, body: Vec<u8>) -> Answer {
        let body = swap(body, SLACK_TEAM, &self.team);
        let answer = requests::slack(edge, &self.clock, path, &body).await;
        assert_eq!(answer.status, 200, "{:?}", answer);
        answer
    }

    /// Opens a case against `target` as a moderator would, through the moderation core.
    async fn case(&self, platform: Platform, kind: Kind, target: &str) -> u64 {
        let (settings, _) = ModSettings::load(self.store.as_ref(), platform, self.tenant(platform))
            .await
            .unwrap();
        let invocation = self.moderator_invocation(platform);
        let ctx = ModContext {
            store: self.store.as_ref(),
            invocation: &invocation,
            now_secs: self.clock.now_secs(),
            settings: &settings,
        };
        let sanction = Sanction {
            kind,
            target: target.to_owned(),
            reason: "posting invite links".to_owned(),
            duration_secs: kind.is_timed().then_some(86_400),
            source: None,
        };
        record_sanction(&ctx, &sanction)
            .await
            .expect("the case is recorded")
            .case
            .number
    }

    fn moderator_invocation(&self, platform: Platform) -> Invocation {
        Invocation {
            id: snowflake(),
            platform,
            tenant: self.tenant(platform).to_owned(),
            channel: Some("C1".to_owned()),
            actor: Actor {
                id: match platform {
                    Platform::Discord => DISCORD_MODERATOR,
                    Platform::Slack => SLACK_MODERATOR,
                    Platform::Telegram => unreachable!("Telegram has its own suite"),
                }
                .to_owned(),
                display_name: None,
                capabilities: Capabilities::all(),
            },
            action: Action::Command(CommandCall {
                name: "case".to_owned(),
                options: Vec::new(),
                bots: Vec::new(),
                message: None,
            }),
            response_url: None,
            trigger_id: None,
            interaction_token: None,
            app: None,
        }
    }

    /// Makes `channel` the tenant's appeal review channel.
    async fn review_channel(&self, platform: Platform, channel: &str) {
        self.settings(
            platform,
            ModSettings {
                appeal_channel: Some(channel.to_owned()),
                ..ModSettings::default()
            },
        )
        .await;
    }

    async fn settings(&self, platform: Platform, settings: ModSettings) {
        save_settings(
            self.store.as_ref(),
            platform,
            self.tenant(platform),
            &settings,
        )
        .await
    }

    async fn stored_case(&self, platform: Platform, number: u64) -> gavel_shared::moderation::Case {
        Cases::new(self.store.as_ref(), platform, self.tenant(platform))
            .get(number)
            .await
            .unwrap()
            .expect("the case exists")
            .case
    }

    async fn appeal(&self, platform: Platform, number: u64) -> Option<appeal::StoredAppeal> {
        appeal::load(self.store.as_ref(), platform, self.tenant(platform), number)
            .await
            .unwrap()
    }

    async fn score(&self, platform: Platform, user: &str) -> i64 {
        let tenant = self.tenant(platform);
        let (settings, _) = ModSettings::load(self.store.as_ref(), platform, tenant)
            .await
            .unwrap();
        let history = Cases::new(self.store.as_ref(), platform, tenant)
            .all_of(user)
            .await
            .unwrap();
        points::score_milli(
            history.iter().map(|s| &s.case),
            &settings,
            self.clock.now_secs(),
        )
    }

    /// The audit entries of `action` on case `number`.
    async fn audited(&self, platform: Platform, action: AuditAction, number: u64) -> usize {
        let (entries, _) = AuditEntry::recent(
            self.store.as_ref(),
            platform,
            self.tenant(platform),
            200,
            None,
        )
        .await
        .unwrap();
        entries
            .iter()
            .filter(|e| e.action == action && e.case == Some(number))
            .count()
    }

    /// The review posts published so far (every post but the mod log's).
    fn review_posts(&self) -> Vec<(String, gavel_shared::reply::Reply)> {
        self.posts()
            .into_iter()
            .filter(|(channel, _)| channel != MODLOG_CHANNEL)
            .collect()
    }

    fn modlog_lines(&self) -> Vec<String> {
        self.posts()
            .into_iter()
            .filter(|(channel, _)| channel == MODLOG_CHANNEL)
            .map(|(_, message)| message.text)
            .collect()
    }

    fn posts(&self) -> Vec<(String, gavel_shared::reply::Reply)> {
        self.bus
            .jobs()
            .into_iter()
            .filter_map(|job| match job.task {
                Task::Post(post) => Some((post.channel, post.message)),
                _ => None,
            })
            .collect()
    }

    fn lift_jobs(&self, number: u64) -> Vec<Job> {
        self.bus
            .jobs()
            .into_iter()
            .filter(|j| matches!(&j.task, Task::LiftSanction { case: Some(n), .. } if *n == number))
            .collect()
    }

    fn notifications(&self) -> Vec<(String, String)> {
        self.bus
            .jobs()
            .into_iter()
            .filter_map(|job| match job.task {
                Task::Notify { user, message } => Some((user, message.text)),
                _ => None,
            })
            .collect()
    }

    /// The texts Slack's `response_url`s were sent, and whether each replaced its message.
    fn slack_responses(&self) -> Vec<(bool, String)> {
        self.slack
            .calls()
            .into_iter()
            .filter_map(|c| match c {
                SlackCall::Respond { message, .. } => Some((
                    message["replace_original"] == true,
                    message["text"].as_str().unwrap_or("").to_owned(),
                )),
                _ => None,
            })
            .collect()
    }
}

fn appeal_command(case: u64, reason: Option<&str>) -> Vec<u8> {
    let mut options = vec![json!({ "name": "case", "type": 4, "value": case })];
    if let Some(reason) = reason {
        options.push(json!({ "name": "reason", "type": 3, "value": reason }));
    }
    payloads::discord_command(
        &snowflake(),
        "appeal",
        Value::Array(options),
        DiscordInvoker::Member,
    )
}

/// A click on `id` by the payloads' moderator, or by the second moderator.
fn moderator_click(id: &str, second: bool) -> Vec<u8> {
    let body = payloads::discord_component(&snowflake(), id, DiscordInvoker::Moderator);
    if !second {
        return body;
    }
    String::from_utf8(body)
        .unwrap()
        .replace(DISCORD_MODERATOR, DISCORD_MODERATOR_2)
        .into_bytes()
}

fn is_ephemeral(body: &Value) -> bool {
    body["data"]["flags"] == 64
}

/// A ban, its appeal with a reason, the review post with Accept and Deny, and a moderator's
/// Accept on another instance: the case is pardoned (its points gone), one lift job carries
/// the member's DM, the review is replaced by the decision, and the audit log has both steps.
/// Appealing again is refused: it was accepted.
async fn accepting_an_appeal_pardons_and_lifts(s: Setup) {
    s.review_channel(Platform::Discord, REVIEW_CHANNEL).await;
    let n = s.case(Platform::Discord, Kind::Ban, DISCORD_MEMBER).await;
    assert_eq!(s.score(Platform::Discord, DISCORD_MEMBER).await, 10_000);

    let why = reason("whole path");
    let opened = s.discord(&s.first, appeal_command(n, Some(&why))).await;
    assert_eq!(opened.body["type"], 4, "{}", opened.body);
    assert!(is_ephemeral(&opened.body));
    assert!(
        content(&opened.body).contains(&format!("appeal of case #{n} was sent to the moderators")),
        "{}",
        opened.body
    );
    let record = s
        .appeal(Platform::Discord, n)
        .await
        .expect("the appeal is recorded");
    assert_eq!(record.appeal.status, AppealStatus::Open);
    assert_eq!(record.appeal.reason, why);
    assert_eq!(record.appeal.user, DISCORD_MEMBER);
    assert_eq!(
        s.audited(Platform::Discord, AuditAction::AppealOpened, n)
            .await,
        1
    );

    let posts = s.review_posts();
    assert_eq!(posts.len(), 1, "one review post: {posts:?}");
    let (channel, review) = &posts[0];
    assert_eq!(channel, REVIEW_CHANNEL);
    assert!(!review.is_ephemeral());
    assert!(
        review.text.contains(&format!("appeals case #{n}")),
        "{}",
        review.text
    );
    let field = |name: &str| {
        review
            .fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.clone())
            .unwrap_or_default()
    };
    assert_eq!(field("Their appeal"), why);
    assert!(field("Case").contains("ban"), "{}", field("Case"));
    assert_eq!(field("Current score"), "10.0 points");
    let labels: Vec<&str> = review.buttons.iter().map(|b| b.label.as_str()).collect();
    assert_eq!(labels, vec!["Accept", "Deny"]);
    assert!(review.buttons.iter().all(|b| b.id.len() <= 100));

    let accepted = s
        .discord(&s.second, moderator_click(&review.buttons[0].id, false))
        .await;
    assert_eq!(
        accepted.body["type"], 7,
        "the review is replaced: {}",
        accepted.body
    );
    assert!(
        content(&accepted.body).contains(&format!("✅ Accepted by <@{DISCORD_MODERATOR}>")),
        "{}",
        accepted.body
    );
    assert_eq!(
        accepted.body["data"]["components"],
        json!([]),
        "no buttons left"
    );
    assert!(
        content(&accepted.body).contains("· pardoned ·"),
        "the review shows the case as the decision left it: {}",
        accepted.body
    );

    assert_eq!(
        s.stored_case(Platform::Discord, n).await.status,
        Status::Pardoned
    );
    assert_eq!(
        s.score(Platform::Discord, DISCORD_MEMBER).await,
        0,
        "the points are gone"
    );
    let record = s.appeal(Platform::Discord, n).await.unwrap();
    assert_eq!(record.appeal.status, AppealStatus::Accepted);
    assert_eq!(record.appeal.decided_by.as_deref(), Some(DISCORD_MODERATOR));
    assert_eq!(record.appeal.decided_at, Some(s.clock.now_secs()));

    let lifts = s.lift_jobs(n);
    assert_eq!(lifts.len(), 1, "{lifts:?}");
    let Task::LiftSanction {
        action, target, dm, ..
    } = &lifts[0].task
    else {
        unreachable!()
    };
    assert_eq!((*action, target.as_str()), (Kind::Ban, DISCORD_MEMBER));
    let dm = dm.as_ref().expect("the member is told").text.clone();
    assert!(
        dm.contains(&format!("appeal of case #{n} was accepted")),
        "{dm}"
    );
    assert_eq!(
        s.audited(Platform::Discord, AuditAction::AppealAccepted, n)
            .await,
        1
    );

    // A second click on the replaced review's button acts no more.
    let late = s
        .discord(&s.first, moderator_click(&review.buttons[1].id, true))
        .await;
    assert!(
        content(&late.body).contains("already handled"),
        "{}",
        late.body
    );
    assert_eq!(s.lift_jobs(n).len(), 1);

    let again = s.discord(&s.first, appeal_command(n, Some(&why))).await;
    assert!(
        content(&again.body).contains("already accepted"),
        "{}",
        again.body
    );
    assert_eq!(s.review_posts().len(), 1);
}

/// Two moderators click Accept at the same moment, each on both instances: one decision, one
/// pardon, one lift job, one audit entry; every other click is told it was already handled.
async fn concurrent_accepts_decide_once(s: Setup) {
    s.review_channel(Platform::Discord, REVIEW_CHANNEL).await;
    let n = s.case(Platform::Discord, Kind::Mute, DISCORD_MEMBER).await;
    s.discord(&s.first, appeal_command(n, Some(&reason("race"))))
        .await;
    let accept = s.review_posts()[0].1.buttons[0].id.clone();

    let s = Arc::new(s);
    let clicks = (0..6).map(|i| {
        let s = Arc::clone(&s);
        let accept = accept.clone();
        tokio::spawn(async move {
            let edge = if i % 2 == 0 { &s.first } else { &s.second };
            s.discord(edge, moderator_click(&accept, i % 3 == 0)).await
        })
    });
    let answers = futures_join(clicks).await;
    let decided = answers.iter().filter(|a| a.body["type"] == 7).count();
    let handled = answers
        .iter()
        .filter(|a| a.body["type"] == 4 && content(&a.body).contains("already handled"))
        .count();
    let texts: Vec<&str> = answers.iter().map(|a| content(&a.body)).collect();
    assert_eq!((decided, handled), (1, 5), "{texts:#?}");

    let case = s.stored_case(Platform::Discord, n).await;
    assert_eq!(case.status, Status::Pardoned);
    assert_eq!(
        case.history.iter().filter(|e| e.what == "pardoned").count(),
        1,
        "pardoned once: {:?}",
        case.history
    );
    assert_eq!(s.lift_jobs(n).len(), 1);
    assert_eq!(
        s.audited(Platform::Discord, AuditAction::AppealAccepted, n)
            .await,
        1
    );
}

/// Deny: the member is told by the worker, the case stands, the audit log and the mod log
/// have it. Appealing again is refused until the cooldown has passed, then replaces the
/// decided appeal with a new open one (and a new review); the old review's buttons stay dead.
async fn denying_notifies_and_starts_the_cooldown(s: Setup) {
    let settings = ModSettings {
        appeal_channel: Some(REVIEW_CHANNEL.to_owned()),
        modlog_channel: Some(MODLOG_CHANNEL.to_owned()),
        ..ModSettings::default()
    };
    s.settings(Platform::Discord, settings).await;
    let n = s
        .case(Platform::Discord, Kind::Warning, DISCORD_MEMBER)
        .await;
    s.discord(&s.first, appeal_command(n, Some(&reason("deny"))))
        .await;
    let old_review = s.review_posts()[0].1.clone();

    let denied = s
        .discord(&s.second, moderator_click(&old_review.buttons[1].id, false))
        .await;
    assert_eq!(denied.body["type"], 7, "{}", denied.body);
    assert!(
        content(&denied.body).contains(&format!("❌ Denied by <@{DISCORD_MODERATOR}>")),
        "{}",
        denied.body
    );
    assert_eq!(denied.body["data"]["components"], json!([]));
    let decided_at = s.clock.now_secs();
    let cooldown = ModSettings::default().appeal_cooldown_secs;

    assert_eq!(
        s.stored_case(Platform::Discord, n).await.status,
        Status::Active
    );
    assert_eq!(s.score(Platform::Discord, DISCORD_MEMBER).await, 1_000);
    let record = s.appeal(Platform::Discord, n).await.unwrap();
    assert_eq!(record.appeal.status, AppealStatus::Denied);
    assert_eq!(
        s.audited(Platform::Discord, AuditAction::AppealDenied, n)
            .await,
        1
    );
    assert!(s.lift_jobs(n).is_empty());
    let told = s.notifications();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0, DISCORD_MEMBER);
    assert!(
        told[0]
            .1
            .contains(&format!("appeal of case #{n} was denied")),
        "{}",
        told[0].1
    );
    assert!(
        told[0].1.contains(&date_time(decided_at + cooldown)),
        "{}",
        told[0].1
    );
    let modlog = s.modlog_lines();
    assert_eq!(modlog.len(), 1, "{modlog:?}");
    assert!(
        modlog[0].contains(&format!("denied <@{DISCORD_MEMBER}>'s appeal of case #{n}")),
        "{modlog:?}"
    );

    // Within the cooldown: refused, saying when.
    s.clock.advance_ms(3_600_000);
    let early = s
        .discord(&s.first, appeal_command(n, Some(&reason("again"))))
        .await;
    assert!(is_ephemeral(&early.body));
    let text = content(&early.body);
    assert!(text.contains("was denied on"), "{text}");
    assert!(text.contains(&date_time(decided_at + cooldown)), "{text}");
    assert_eq!(s.review_posts().len(), 1);

    // After it: a new appeal replaces the record (a versioned update) with a new review.
    s.clock.advance_ms(cooldown * 1000);
    let later = s
        .discord(&s.first, appeal_command(n, Some(&reason("later"))))
        .await;
    assert!(
        content(&later.body).contains("sent to the moderators"),
        "{}",
        later.body
    );
    let replaced = s.appeal(Platform::Discord, n).await.unwrap();
    assert_eq!(replaced.appeal.status, AppealStatus::Open);
    assert_eq!(replaced.version, record.version + 1);
    assert_ne!(replaced.appeal.review, record.appeal.review);
    assert_eq!(
        s.audited(Platform::Discord, AuditAction::AppealOpened, n)
            .await,
        2
    );
    let posts = s.review_posts();
    assert_eq!(posts.len(), 2);
    assert_ne!(posts[1].1.buttons[0].id, old_review.buttons[0].id);

    // The old review's Accept decides nothing; the new one's does.
    let stale = s
        .discord(&s.second, moderator_click(&old_review.buttons[0].id, false))
        .await;
    assert!(
        content(&stale.body).contains("already handled"),
        "{}",
        stale.body
    );
    assert_eq!(
        s.stored_case(Platform::Discord, n).await.status,
        Status::Active
    );
    let accepted = s
        .discord(&s.second, moderator_click(&posts[1].1.buttons[0].id, false))
        .await;
    assert_eq!(accepted.body["type"], 7, "{}", accepted.body);
    assert_eq!(
        s.stored_case(Platform::Discord, n).await.status,
        Status::Pardoned
    );
    // A warning has nothing to lift: the member is told by a notification instead.
    assert!(s.lift_jobs(n).is_empty());
    let told = s.notifications();
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told[1].1.contains("was accepted"), "{}", told[1].1);
    let modlog = s.modlog_lines();
    assert_eq!(modlog.len(), 2, "{modlog:?}");
    assert!(modlog[1].contains("accepted"), "{modlog:?}");
}

/// Every refusal is one clear ephemeral sentence, and none records, audits or posts anything.
async fn refusals_say_why_and_change_nothing(s: Setup) {
    s.review_channel(Platform::Discord, REVIEW_CHANNEL).await;
    let p = Platform::Discord;
    let why = reason("refusal");
    let refused = |label: &'static str, body: Value, expected: String| {
        assert_eq!(body["type"], 4, "{label}: {body}");
        assert!(is_ephemeral(&body), "{label}: {body}");
        let text = content(&body);
        assert!(
            text.contains(&expected),
            "{label}: {text:?} lacks {expected:?}"
        );
    };

    let answer = s.discord(&s.first, appeal_command(9999, Some(&why))).await;
    refused(
        "missing",
        answer.body,
        "There is no case #9999 here.".into(),
    );

    let others = s.case(p, Kind::Warning, OTHER_MEMBER).await;
    let answer = s
        .discord(&s.first, appeal_command(others, Some(&why)))
        .await;
    refused(
        "not theirs",
        answer.body,
        format!("Case #{others} is not one of yours"),
    );

    let pardoned = s.case(p, Kind::Warning, DISCORD_MEMBER).await;
    {
        let (settings, _) = ModSettings::load(s.store.as_ref(), p, &s.guild)
            .await
            .unwrap();
        let invocation = s.moderator_invocation(p);
        let ctx = ModContext {
            store: s.store.as_ref(),
            invocation: &invocation,
            now_secs: s.clock.now_secs(),
            settings: &settings,
        };
        let cases = Cases::new(s.store.as_ref(), p, &s.guild);
        let stored = cases.get(pardoned).await.unwrap().unwrap();
        let changed = prepare_pardon(&ctx, &stored, "first offence", AuditAction::Pardon)
            .await
            .unwrap();
        s.store.transact(changed.ops).await.unwrap();
    }
    let answer = s
        .discord(&s.first, appeal_command(pardoned, Some(&why)))
        .await;
    refused(
        "pardoned",
        answer.body,
        format!("Case #{pardoned} is already pardoned"),
    );

    let closed = s.case(p, Kind::Mute, DISCORD_MEMBER).await;
    {
        let (settings, _) = ModSettings::load(s.store.as_ref(), p, &s.guild)
            .await
            .unwrap();
        let invocation = s.moderator_invocation(p);
        let ctx = ModContext {
            store: s.store.as_ref(),
            invocation: &invocation,
            now_secs: s.clock.now_secs(),
            settings: &settings,
        };
        let cases = Cases::new(s.store.as_ref(), p, &s.guild);
        let stored = cases.get(closed).await.unwrap().unwrap();
        let changed = prepare_edit(&ctx, &stored, None, None, Some(false)).unwrap();
        s.store.transact(changed.ops).await.unwrap();
    }
    let answer = s
        .discord(&s.first, appeal_command(closed, Some(&why)))
        .await;
    refused(
        "unappealable",
        answer.body,
        format!("marked case #{closed} as not open to appeal"),
    );

    let short = s.case(p, Kind::Warning, DISCORD_MEMBER).await;
    let answer = s
        .discord(&s.first, appeal_command(short, Some("sorry")))
        .await;
    refused("too short", answer.body, "at least 20 characters".into());

    let refused_cases = [others, pardoned, closed, short];
    for n in refused_cases {
        assert!(s.appeal(p, n).await.is_none(), "case #{n} has no appeal");
        assert_eq!(s.audited(p, AuditAction::AppealOpened, n).await, 0);
    }
    assert!(s.review_posts().is_empty());

    // One open appeal per case: the second, on either instance, is refused.
    let open = s.case(p, Kind::Warning, DISCORD_MEMBER).await;
    let first = s.discord(&s.first, appeal_command(open, Some(&why))).await;
    assert!(
        content(&first.body).contains("sent to the moderators"),
        "{}",
        first.body
    );
    let second = s.discord(&s.second, appeal_command(open, Some(&why))).await;
    refused(
        "already open",
        second.body,
        format!("appeal of case #{open} is already open"),
    );
    assert_eq!(s.review_posts().len(), 1);
    assert_eq!(s.audited(p, AuditAction::AppealOpened, open).await, 1);
}

/// Two appeals of one case sent at once (on two instances): one opens, the other is told the
/// appeal is already open.
async fn concurrent_appeals_open_one(s: Setup) {
    s.review_channel(Platform::Discord, REVIEW_CHANNEL).await;
    let n = s
        .case(Platform::Discord, Kind::Warning, DISCORD_MEMBER)
        .await;
    let s = Arc::new(s);
    let sends = (0..4).map(|i| {
        let s = Arc::clone(&s);
        tokio::spawn(async move {
            let edge = if i % 2 == 0 { &s.first } else { &s.second };
            s.discord(edge, appeal_command(n, Some(&reason("twice"))))
                .await
        })
    });
    let answers = futures_join(sends).await;
    let sent = answers
        .iter()
        .filter(|a| content(&a.body).contains("sent to the moderators"))
        .count();
    let open = answers
        .iter()
        .filter(|a| content(&a.body).contains("already open"))
        .count();
    assert_eq!((sent, open), (1, 3));
    assert_eq!(s.review_posts().len(), 1);
    assert_eq!(
        s.audited(Platform::Discord, AuditAction::AppealOpened, n)
            .await,
        1
    );
}

/// A member who is not a moderator clicks Accept: refused ephemerally, audited as a refused
/// permission, and the review stays decidable by a moderator.
async fn a_members_click_is_refused_and_audited(s: Setup) {
    s.review_channel(Platform::Discord, REVIEW_CHANNEL).await;
    let n = s.case(Platform::Discord, Kind::Ban, DISCORD_MEMBER).await;
    s.discord(&s.first, appeal_command(n, Some(&reason("member click"))))
        .await;
    let review = s.review_posts()[0].1.clone();

    let click =
        payloads::discord_component(&snowflake(), &review.buttons[0].id, DiscordInvoker::Member);
    let refused = s.discord(&s.second, click).await;
    assert_eq!(refused.body["type"], 4, "{}", refused.body);
    assert!(is_ephemeral(&refused.body));
    assert!(
        content(&refused.body).contains("Only moderators"),
        "{}",
        refused.body
    );
    assert_eq!(
        s.audited(Platform::Discord, AuditAction::PermissionRefused, n)
            .await,
        1
    );
    assert_eq!(
        s.appeal(Platform::Discord, n).await.unwrap().appeal.status,
        AppealStatus::Open
    );
    assert_eq!(
        s.stored_case(Platform::Discord, n).await.status,
        Status::Active
    );
    assert!(s.lift_jobs(n).is_empty());

    let accepted = s
        .discord(&s.first, moderator_click(&review.buttons[0].id, true))
        .await;
    assert_eq!(accepted.body["type"], 7, "{}", accepted.body);
    assert!(
        content(&accepted.body).contains(&format!("Accepted by <@{DISCORD_MODERATOR_2}>")),
        "{}",
        accepted.body
    );
    assert_eq!(s.lift_jobs(n).len(), 1);
}

/// Discord: `/appeal case:n` opens a form; a short reason gets the error and an "Edit
/// appeal" button that reopens the form with the draft; a valid one opens the appeal.
async fn discord_form_with_validation(s: Setup) {
    s.review_channel(Platform::Discord, REVIEW_CHANNEL).await;
    let n = s.case(Platform::Discord, Kind::Mute, DISCORD_MEMBER).await;
    let modal = s.discord(&s.first, appeal_command(n, None)).await;
    assert_eq!(modal.body["type"], 9, "{}", modal.body);
    assert_eq!(modal.body["data"]["title"], format!("Appeal case #{n}"));
    let form_id = modal.body["data"]["custom_id"].as_str().unwrap().to_owned();
    let input = &modal.body["data"]["components"][0]["component"];
    assert_eq!(input["custom_id"], "reason");
    assert_eq!(input["max_length"], 1000);

    let bad = payloads::discord_modal_submit(
        &snowflake(),
        &form_id,
        &[("reason", "too short")],
        DiscordInvoker::Member,
    );
    let errors = s.discord(&s.second, bad).await;
    assert_eq!(errors.body["type"], 4, "{}", errors.body);
    assert!(
        content(&errors.body).contains("at least 20 characters"),
        "{}",
        errors.body
    );
    let edit = button_ids(&errors.body);
    assert_eq!(edit.len(), 1);
    assert!(s.appeal(Platform::Discord, n).await.is_none());

    let reopen = payloads::discord_component(&snowflake(), &edit[0], DiscordInvoker::Member);
    let reopened = s.discord(&s.first, reopen).await;
    assert_eq!(reopened.body["type"], 9, "{}", reopened.body);
    assert_eq!(
        reopened.body["data"]["components"][0]["component"]["value"], "too short",
        "the draft is kept"
    );
    let form_id = reopened.body["data"]["custom_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let why = reason("discord form");
    let good = payloads::discord_modal_submit(
        &snowflake(),
        &form_id,
        &[("reason", &why)],
        DiscordInvoker::Member,
    );
    let sent = s.discord(&s.second, good).await;
    assert_eq!(sent.body["type"], 4, "{}", sent.body);
    assert!(
        content(&sent.body).contains("sent to the moderators"),
        "{}",
        sent.body
    );
    let record = s.appeal(Platform::Discord, n).await.expect("recorded");
    assert_eq!(record.appeal.reason, why);
    assert_eq!(
        s.audited(Platform::Discord, AuditAction::AppealOpened, n)
            .await,
        1
    );
    let posts = s.review_posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].1.buttons.len(), 2);
}

/// Slack: `/appeal n` opens a form with views.open; a short reason is answered with the error
/// beside the field; a valid one opens the appeal. The workspace's moderator accepts it from
/// the review post: the post is replaced through the response_url. A member's click on the
/// same button is refused (and audited) first.
async fn slack_form_and_review(s: Setup) {
    s.review_channel(Platform::Slack, "C0REVIEW").await;
    let n = s.case(Platform::Slack, Kind::Kick, SLACK_USER).await;
    let command = payloads::slack_command("/appeal", &n.to_string(), "1764000000.9.cmd");
    let opened = s.slack(&s.first, "/slack/commands", command).await;
    assert_eq!(
        opened.body,
        Value::Null,
        "acknowledged empty; the form is open"
    );
    let view = s
        .slack
        .calls()
        .into_iter()
        .find_map(|c| match c {
            SlackCall::OpenView { view, .. } => Some(view),
            _ => None,
        })
        .expect("views.open was called");
    let callback = view["callback_id"].as_str().unwrap().to_owned();
    assert_eq!(view["blocks"][0]["block_id"], "reason");

    let bad = payloads::slack_view_submission(
        &callback,
        &[("reason", "short")],
        "1764000000.9.sub1",
        SLACK_USER,
    );
    let errors = s.slack(&s.second, "/slack/interactions", bad).await;
    assert_eq!(errors.body["response_action"], "errors", "{}", errors.body);
    assert!(
        errors.body["errors"]["reason"]
            .as_str()
            .unwrap()
            .contains("at least 20 characters")
    );

    let why = reason("slack form");
    let good = payloads::slack_view_submission(
        &callback,
        &[("reason", &why)],
        "1764000000.9.sub2",
        SLACK_USER,
    );
    let done = s.slack(&s.first, "/slack/interactions", good).await;
    assert_eq!(done.body["response_action"], "update", "{}", done.body);
    let closing = done.body["view"]["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap();
    assert!(closing.contains("sent to the moderators"), "{closing}");
    assert_eq!(
        s.appeal(Platform::Slack, n).await.unwrap().appeal.status,
        AppealStatus::Open
    );
    let posts = s.review_posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].0, "C0REVIEW");
    let accept = posts[0].1.buttons[0].id.clone();

    let member = payloads::slack_block_action(&accept, "1764000000.9.click1", SLACK_USER);
    s.slack(&s.second, "/slack/interactions", member).await;
    let moderator = payloads::slack_block_action(&accept, "1764000000.9.click2", SLACK_MODERATOR);
    s.slack(&s.first, "/slack/interactions", moderator).await;
    let responses = s.slack_responses();
    assert_eq!(responses.len(), 2, "{responses:?}");
    assert!(
        !responses[0].0 && responses[0].1.contains("Only moderators"),
        "{responses:?}"
    );
    assert!(
        responses[1].0
            && responses[1]
                .1
                .contains(&format!("Accepted by <@{SLACK_MODERATOR}>")),
        "{responses:?}"
    );
    assert_eq!(
        s.audited(Platform::Slack, AuditAction::PermissionRefused, n)
            .await,
        1
    );
    assert_eq!(
        s.audited(Platform::Slack, AuditAction::AppealAccepted, n)
            .await,
        1
    );
    assert_eq!(
        s.stored_case(Platform::Slack, n).await.status,
        Status::Pardoned
    );
    // A kick is over once done: nothing to lift, so the member is told by a notification.
    let told = s.notifications();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0, SLACK_USER);
}

/// Without a review channel the appeal is still recorded, and the member is told moderators
/// will see it in `/appeals`, which lists it with its own buttons (moderators only). Deciding
/// from the list answers with a new message and leaves the list; the appeal is gone from the
/// next list.
async fn without_a_review_channel_appeals_are_decided_from_the_list(s: Setup) {
    let p = Platform::Discord;
    let first = s.case(p, Kind::Ban, DISCORD_MEMBER).await;
    let second = s.case(p, Kind::Warning, DISCORD_MEMBER).await;
    for n in [first, second] {
        let opened = s
            .discord(&s.first, appeal_command(n, Some(&reason("list"))))
            .await;
        assert!(
            content(&opened.body).contains("`/appeals`"),
            "{}",
            opened.body
        );
        assert_eq!(
            s.appeal(p, n).await.unwrap().appeal.status,
            AppealStatus::Open
        );
        s.clock.advance_ms(1000);
    }
    assert!(s.review_posts().is_empty(), "nowhere to post");

    let members =
        payloads::discord_command(&snowflake(), "appeals", json!([]), DiscordInvoker::Member);
    let members = s.discord(&s.first, members).await;
    assert!(
        content(&members.body).contains("Moderate Members"),
        "{}",
        members.body
    );

    let list = payloads::discord_command(
        &snowflake(),
        "appeals",
        json!([]),
        DiscordInvoker::Moderator,
    );
    let list = s.discord(&s.second, list).await;
    assert!(is_ephemeral(&list.body));
    let text = content(&list.body);
    assert!(text.contains("2 appeals are waiting"), "{text}");
    let (at_first, at_second) = (
        text.find(&format!("Case #{first} ")).expect("first listed"),
        text.find(&format!("Case #{second} "))
            .expect("second listed"),
    );
    assert!(at_first < at_second, "oldest first: {text}");
    let ids = button_ids(&list.body);
    assert_eq!(ids.len(), 4, "{}", list.body);

    let accepted = s.discord(&s.first, moderator_click(&ids[0], false)).await;
    assert_eq!(accepted.body["type"], 4, "a new message: {}", accepted.body);
    assert!(is_ephemeral(&accepted.body));
    assert!(
        content(&accepted.body).contains("✅ Accepted by"),
        "{}",
        accepted.body
    );
    assert_eq!(s.stored_case(p, first).await.status, Status::Pardoned);
    assert_eq!(s.lift_jobs(first).len(), 1);

    let list = payloads::discord_command(
        &snowflake(),
        "appeals",
        json!([]),
        DiscordInvoker::Moderator,
    );
    let list = s.discord(&s.first, list).await;
    assert!(
        content(&list.body).contains("1 appeal is waiting"),
        "{}",
        list.body
    );
    assert!(!content(&list.body).contains(&format!("Case #{first} ")));
    // The second appeal's buttons are the same run's, wherever they are drawn.
    let denied = s.discord(&s.second, moderator_click(&ids[3], true)).await;
    assert!(
        content(&denied.body).contains("❌ Denied by"),
        "{}",
        denied.body
    );
    assert_eq!(
        s.appeal(p, second).await.unwrap().appeal.status,
        AppealStatus::Denied
    );
    let list = payloads::discord_command(
        &snowflake(),
        "appeals",
        json!([]),
        DiscordInvoker::Moderator,
    );
    let list = s.discord(&s.first, list).await;
    assert!(
        content(&list.body).contains("No appeals are waiting"),
        "{}",
        list.body
    );
}

/// A review nobody decides lapses after 14 days: its buttons say so and are removed, nothing
/// is decided, and the member may appeal again at once.
async fn an_undecided_review_lapses(s: Setup) {
    s.review_channel(Platform::Discord, REVIEW_CHANNEL).await;
    let n = s
        .case(Platform::Discord, Kind::Warning, DISCORD_MEMBER)
        .await;
    s.discord(&s.first, appeal_command(n, Some(&reason("lapse"))))
        .await;
    let review = s.review_posts()[0].1.clone();

    s.clock.advance_ms(REVIEW_LIFETIME_SECS * 1000);
    let late = s
        .discord(&s.second, moderator_click(&review.buttons[0].id, false))
        .await;
    assert_eq!(late.body["type"], 7, "{}", late.body);
    let text = content(&late.body);
    assert!(
        text.contains("expired") && text.contains("14 days"),
        "{text}"
    );
    assert_eq!(late.body["data"]["components"], json!([]));
    assert_eq!(
        s.stored_case(Platform::Discord, n).await.status,
        Status::Active
    );

    let again = s
        .discord(&s.first, appeal_command(n, Some(&reason("again"))))
        .await;
    assert!(
        content(&again.body).contains("sent to the moderators"),
        "{}",
        again.body
    );
    assert_eq!(s.review_posts().len(), 2);
}

gavel_tests::on_both_stores!(
    accepting_an_appeal_pardons_and_lifts,
    concurrent_accepts_decide_once,
    denying_notifies_and_starts_the_cooldown,
    refusals_say_why_and_change_nothing,
    concurrent_appeals_open_one,
    a_members_click_is_refused_and_audited,
    discord_form_with_validation,
    slack_form_and_review,
    without_a_review_channel_appeals_are_decided_from_the_list,
    an_undecided_review_lapses,
);
