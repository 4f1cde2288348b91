//! Telegram end to end, on both store adapters: webhook updates through the edge (two edges
//! over one store, as two Lambda instances), the jobs they publish carried out by the real
//! worker against the recording platform, and the maintenance sweep lifting what expires.
//!
//! Every test runs in its own group (chat id), so cases of tests sharing the moto table never
//! mix. The recording platform answers `getChatMember` with every right for [`MODERATOR`]
//! only, so the same updates from anyone else are a member's.

#[path = "support/telegram_fake.rs"]
mod telegram_fake;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use gavel_shared::adapters::telegram_api::TelegramBotApi;
use gavel_shared::automod::{RuleKind, Rules};
use gavel_shared::clock::ManualClock;
use gavel_shared::edge::{Edge, MAX_BODY_BYTES};
use gavel_shared::flows::component_id::MAX_COMPACT_BYTES;
use gavel_shared::flows::component_id::compact;
use gavel_shared::invocation::Platform;
use gavel_shared::jobs::Job;
use gavel_shared::maintenance::{Budget, Maintenance, Sweep};
use gavel_shared::moderation::appeal::{self, AppealStatus};
use gavel_shared::moderation::{Cases, Kind, ModSettings, Status, StoredCase, automod_rules};
use gavel_shared::platform::recording::{PlatformCall, RecordingPlatform};
use gavel_shared::slack::web::RecordingSlackWeb;
use gavel_shared::store::keys::Community;
use gavel_shared::store::{ItemKey, Store};
use gavel_shared::worker::Worker;
use gavel_tests::doubles::RecordingBus;
use gavel_tests::harness::{Backing, edge_over, run_jobs};
use gavel_tests::payloads;
use gavel_tests::records::save_settings;
use gavel_tests::requests::{self, Answer};
use gavel_tests::{FIXTURE_TIMESTAMP, TELEGRAM_TEST_BOT, TELEGRAM_TEST_SECRET};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};
use telegram_fake::Status as Membership;

const PATH: &str = "/telegram/webhook";
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
const MODERATOR: u64 = 7001;
const TARGET: u64 = 7002;

struct Setup {
    first: Edge,
    second: Edge,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    bus: Arc<RecordingBus>,
    platform: Arc<RecordingPlatform>,
    /// This test's own supergroup.
    chat: i64,
}

/// Update ids, message ids and chats no other test of this binary uses.
static NEXT: AtomicI64 = AtomicI64::new(1);

fn next() -> i64 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn setup(Backing { store, clock }: Backing) -> Setup {
    let bus = Arc::new(RecordingBus::default());
    let platform = Arc::new(RecordingPlatform::new().with_telegram_admin(MODERATOR.to_string()));
    let edge = || {
        edge_over(
            Arc::clone(&store),
            &clock,
            Arc::new(RecordingSlackWeb::new()),
        )
        .with_bus(bus.clone())
        .with_telegram_api(platform.clone())
    };
    // Supergroup ids are -100 followed by the group's number; a time-based part keeps runs
    // against one moto table apart.
    let chat = -(1_000_000_000_000 + (FIXTURE_TIMESTAMP % 1_000_000) * 1000 + next());
    Setup {
        first: edge(),
        second: edge(),
        store: Arc::clone(&store),
        clock: clock.clone(),
        bus,
        platform,
        chat,
    }
}

fn embedded() -> Setup {
    setup(Backing::embedded())
}

async fn dynamodb() -> Setup {
    setup(Backing::dynamodb().await)
}

fn headers(secret: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Some(secret) = secret {
        headers.insert(SECRET_HEADER, HeaderValue::from_str(secret).unwrap());
    }
    headers
}

/// What a Telegram answer shows: the webhook call in its body.
trait Shown {
    fn text(&self) -> String;
    fn callback_data(&self) -> Vec<String>;
}

impl Shown for Answer {
    fn text(&self) -> String {
        self.body["text"].as_str().unwrap_or_default().to_owned()
    }

    fn callback_data(&self) -> Vec<String> {
        requests::callback_data(&self.body)
    }
}

impl Setup {
    fn chat_json(&self) -> Value {
        json!({ "id": self.chat, "type": "supergroup", "title": "Gavel test" })
    }

    fn message(&self, from: u64, text: &str, reply_to: Option<u64>) -> Value {
        payloads::telegram_message(next(), self.chat, from, text, reply_to, self.clock_secs())
    }

    /// `text` sent by `from` in their private chat with the bot.
    fn private(&self, from: u64, text: &str) -> Value {
        payloads::telegram_private_message(next(), from, text, self.clock_secs())
    }

    /// A member of this test alone, so their index of cases across communities is theirs.
    fn new_member(&self) -> u64 {
        8_000_000_000 + u64::try_from(next()).unwrap_or_default()
    }

    /// `/warn` by the moderator in `chat`, replying to `member`'s message.
    async fn warn_in(&self, chat: i64, member: u64) -> Answer {
        let update = payloads::telegram_message(
            next(),
            chat,
            MODERATOR,
            "/warn spam",
            Some(member),
            self.clock_secs(),
        );
        self.post(&update).await
    }

    /// Review posts (messages with buttons) the worker sent to `chat`.
    fn reviews_in(&self, chat: i64) -> Vec<gavel_shared::reply::Reply> {
        self.platform
            .calls()
            .into_iter()
            .filter_map(|c| match c {
                PlatformCall::TelegramMessage { chat: to, reply }
                    if to == chat.to_string() && !reply.buttons.is_empty() =>
                {
                    Some(reply)
                }
                _ => None,
            })
            .collect()
    }

    /// A message by `from`, whose username is `username`.
    fn message_by(&self, from: u64, username: &str, text: &str) -> Value {
        let mut update = self.message(from, text, None);
        update["message"]["from"]["username"] = username.into();
        update
    }

    /// `/warn @{username} spam` by the moderator, with the `mention` entity Telegram sends.
    fn warn_by_username(&self, username: &str) -> Value {
        let mut update = self.message(MODERATOR, &format!("/warn @{username} spam"), None);
        let mention = json!({ "type": "mention", "offset": 6, "length": username.len() + 1 });
        update["message"]["entities"]
            .as_array_mut()
            .unwrap()
            .push(mention);
        update
    }

    /// The group's directory entry for `username`.
    async fn directory_entry(&self, username: &str) -> Option<gavel_shared::store::Item> {
        let tenant = self.chat.to_string();
        let pk = Community::new(Platform::Telegram, &tenant).usernames();
        self.store.get(&ItemKey::new(pk, username)).await.unwrap()
    }

    fn click(&self, from: u64, data: &str) -> Value {
        payloads::telegram_click(next(), self.chat, from, data, self.clock_secs())
    }

    fn clock_secs(&self) -> i64 {
        use gavel_shared::clock::Clock;
        self.clock.now_secs()
    }

    async fn post_on(&self, edge: &Edge, update: &Value) -> Answer {
        requests::telegram(edge, update.to_string().as_bytes()).await
    }

    async fn post(&self, update: &Value) -> Answer {
        self.post_on(&self.first, update).await
    }

    /// `/{command}` by the moderator, as a reply to the target's message.
    async fn moderate(&self, command: &str) -> Answer {
        let update = self.message(MODERATOR, command, Some(TARGET));
        self.post(&update).await
    }

    fn worker(&self) -> Worker {
        Worker::new(Arc::clone(&self.store), self.clock.clone(), None, None)
            .with_telegram(self.platform.clone())
    }

    async fn run_jobs(&self) -> Vec<Job> {
        let jobs = self.bus.take();
        run_jobs(&self.worker(), &jobs).await;
        jobs
    }

    /// The target member's cases in the group.
    async fn target_cases(&self) -> Vec<StoredCase> {
        self.cases().all_of(&TARGET.to_string()).await.unwrap()
    }

    /// Nothing was done: no job queued, no case opened against the target.
    async fn assert_nothing_done(&self) {
        assert!(self.bus.jobs().is_empty());
        assert!(self.target_cases().await.is_empty());
    }

    fn cases(&self) -> Cases<'_> {
        let tenant: &'static str = Box::leak(self.chat.to_string().into_boxed_str());
        Cases::new(self.store.as_ref(), Platform::Telegram, tenant)
    }

    fn calls(&self, f: impl Fn(&PlatformCall) -> bool) -> Vec<PlatformCall> {
        self.platform.calls().into_iter().filter(|c| f(c)).collect()
    }
}

/// Missing, wrong, wrong-case, longer and shorter secrets: 401, and nothing runs.
async fn forged_secrets_are_refused(s: Setup) {
    let update = s.message(MODERATOR, "/warn spam", Some(TARGET));
    let body = update.to_string().into_bytes();
    let longer = format!("{TELEGRAM_TEST_SECRET}x");
    let shorter = &TELEGRAM_TEST_SECRET[..TELEGRAM_TEST_SECRET.len() - 1];
    let upper = TELEGRAM_TEST_SECRET.to_ascii_uppercase();
    for secret in [
        None,
        Some("wrong"),
        Some(upper.as_str()),
        Some(&longer),
        Some(shorter),
    ] {
        let response = s
            .first
            .handle(&Method::POST, PATH, &headers(secret), &body)
            .await;
        assert_eq!(response.status, 401, "{secret:?}");
    }
    assert!(s.bus.jobs().is_empty());
    // The update was not claimed by any refused delivery: the genuine one still acts.
    let genuine = s.post(&update).await;
    assert!(genuine.text().contains("Case #1"), "{}", genuine.text());
}

/// Verified garbage and update types Gavel does not handle: 200 (Telegram retries anything
/// else for a day), nothing published, nothing claimed.
async fn garbage_and_unknown_updates_change_nothing(s: Setup) {
    let update_id = next();
    let bodies: Vec<Vec<u8>> = vec![
        b"\xff\xfe not json".to_vec(),
        b"{}".to_vec(),
        b"[1,2,3]".to_vec(),
        json!({ "update_id": update_id, "message_reaction": { "chat": s.chat_json() } })
            .to_string()
            .into_bytes(),
        json!({ "update_id": update_id, "a_kind_from_the_future": { "x": 1 } })
            .to_string()
            .into_bytes(),
        json!({ "update_id": update_id, "message": { "text": "/warn", "chat": 5 } })
            .to_string()
            .into_bytes(),
    ];
    for body in &bodies {
        let response = s
            .first
            .handle(
                &Method::POST,
                PATH,
                &headers(Some(TELEGRAM_TEST_SECRET)),
                body,
            )
            .await;
        assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(body));
    }
    assert!(s.bus.jobs().is_empty());
    assert!(s.platform.calls().is_empty());
    // The update id those carried is still free for the update that really has it.
    let mut real = s.message(MODERATOR, "/warn spam", Some(TARGET));
    real["update_id"] = update_id.into();
    assert!(s.post(&real).await.text().contains("Case #1"));
}

/// A body over the cap is refused before the secret is even compared.
async fn oversized_bodies_are_refused(s: Setup) {
    let body = vec![b' '; MAX_BODY_BYTES + 1];
    let response = s
        .first
        .handle(
            &Method::POST,
            PATH,
            &headers(Some(TELEGRAM_TEST_SECRET)),
            &body,
        )
        .await;
    assert_eq!(response.status, 413);
}

/// The same update delivered twice, to two instances: one case, one job.
async fn a_replayed_update_acts_once(s: Setup) {
    let update = s.message(
        MODERATOR,
        &format!("/warn@{TELEGRAM_TEST_BOT} spam"),
        Some(TARGET),
    );
    let first = s.post_on(&s.first, &update).await;
    let again = s.post_on(&s.second, &update).await;
    assert!(first.text().contains("Case #1"), "{}", first.text());
    assert!(again.text().contains("already handled"), "{}", again.text());
    assert_eq!(s.bus.jobs().len(), 1);
    assert_eq!(s.target_cases().await.len(), 1);
    // The answer is a reply to the command, in HTML.
    assert_eq!(first.body["method"], "sendMessage");
    assert_eq!(first.body["parse_mode"], "HTML");
    assert_eq!(first.body["chat_id"], s.chat);
}

/// A member without administrator rights is refused; a command for another bot is not ours.
async fn members_and_other_bots_commands_are_refused(s: Setup) {
    let member = s.message(TARGET + 1, "/warn spam", Some(TARGET));
    let refused = s.post(&member).await;
    assert!(!refused.text().contains("Case #"), "{}", refused.text());
    let other_bot = s.message(MODERATOR, "/warn@SomeOtherBot spam", Some(TARGET));
    let ignored = s.post(&other_bot).await;
    assert_eq!(ignored.status, 200);
    s.assert_nothing_done().await;
}

/// Three warnings reach the mute threshold; the Apply button (an inline keyboard within 64
/// bytes) is clicked on the other instance; the worker mutes with `restrictChatMember` until
/// the mute's end and tells the member in a private message.
async fn warnings_escalate_to_a_mute(s: Setup) {
    for n in 1..=2 {
        let answer = s.moderate("/warn spam").await;
        assert!(
            answer.text().contains(&format!("Case #{n}")),
            "{}",
            answer.text()
        );
        assert!(answer.callback_data().is_empty(), "{}", answer.text());
    }
    let third = s.moderate("/warn spam again").await;
    let data = third.callback_data();
    assert_eq!(data.len(), 2, "Apply and Dismiss: {}", third.body);
    assert!(
        data.iter().all(|d| d.len() <= MAX_COMPACT_BYTES),
        "{data:?}"
    );

    // Only a moderator's click counts; then every click is answered.
    let clicked = s.post_on(&s.second, &s.click(MODERATOR, &data[0])).await;
    assert_eq!(
        clicked.body["method"], "answerCallbackQuery",
        "{}",
        clicked.body
    );
    let edits = s.calls(|c| matches!(c, PlatformCall::TelegramEdit { .. }));
    let [PlatformCall::TelegramEdit { reply, .. }] = &edits[..] else {
        panic!("one edit of the offer: {edits:?}");
    };
    assert!(
        reply.text.contains("Case #4: mute for 1h"),
        "{}",
        reply.text
    );

    let jobs = s.run_jobs().await;
    assert_eq!(jobs.len(), 4, "three warnings and a mute");
    let mutes = s.calls(|c| matches!(c, PlatformCall::TelegramRestrict { .. }));
    assert_eq!(
        mutes,
        [PlatformCall::TelegramRestrict {
            chat: s.chat.to_string(),
            user: TARGET.to_string(),
            until: Some(FIXTURE_TIMESTAMP + 3600),
        }]
    );
    let dms = s.calls(
        |c| matches!(c, PlatformCall::TelegramMessage { chat, .. } if *chat == TARGET.to_string()),
    );
    assert_eq!(dms.len(), 4, "the member is told of every case");
    let history = s.target_cases().await;
    let kinds: Vec<Kind> = history.iter().map(|c| c.case.kind).collect();
    assert_eq!(
        kinds,
        [Kind::Mute, Kind::Warning, Kind::Warning, Kind::Warning]
    );
}

/// A temporary ban is applied with Telegram's own end, and lifted on time by the maintenance
/// sweep with `unbanChatMember` (which the client sends with `only_if_banned`).
async fn a_tempban_is_lifted_by_the_sweep(s: Setup) {
    let prompt = s.moderate("/tempban 2h raid").await;
    let data = prompt.callback_data();
    assert_eq!(data.len(), 2, "Confirm and Cancel: {}", prompt.body);
    // A member's click on the moderator's prompt is refused (the id is bound to its user).
    let forged = s.post(&s.click(TARGET, &data[0])).await;
    assert_eq!(forged.body["method"], "answerCallbackQuery");
    assert!(s.bus.jobs().is_empty(), "{}", forged.body);
    s.post(&s.click(MODERATOR, &data[0])).await;
    let edits = s.calls(
        |c| matches!(c, PlatformCall::TelegramEdit { reply, .. } if reply.text.contains("Case #1")),
    );
    assert_eq!(edits.len(), 1, "{:?}", s.platform.calls());
    s.run_jobs().await;
    let bans = s.calls(|c| matches!(c, PlatformCall::TelegramBan { .. }));
    assert_eq!(
        bans,
        [PlatformCall::TelegramBan {
            chat: s.chat.to_string(),
            user: TARGET.to_string(),
            until: Some(FIXTURE_TIMESTAMP + 7200),
            revoke_messages: false,
        }]
    );
    let maintenance = Maintenance::new(s.store.clone(), s.bus.clone(), s.clock.clone());
    assert_eq!(
        maintenance
            .run(Sweep::Expire, Budget::for_secs(60))
            .await
            .count("lifted"),
        0
    );
    s.clock.advance_ms(7201 * 1000);
    assert_eq!(
        maintenance
            .run(Sweep::Expire, Budget::for_secs(60))
            .await
            .count("lifted"),
        1
    );
    s.run_jobs().await;
    let unbans = s.calls(|c| matches!(c, PlatformCall::TelegramUnban { .. }));
    assert_eq!(
        unbans,
        [PlatformCall::TelegramUnban {
            chat: s.chat.to_string(),
            user: TARGET.to_string(),
        }]
    );
}

/// A member's group message breaking a rule that deletes: one case however often Telegram
/// delivers the update (two instances), and the worker deletes the message with
/// `deleteMessage`. An edit is checked again; a clean message is left alone.
async fn automod_catches_a_group_message_once_and_deletes_it(s: Setup) {
    let tenant = s.chat.to_string();
    let (_, version) = automod_rules::load(s.store.as_ref(), Platform::Telegram, &tenant)
        .await
        .unwrap();
    let mut rules = Rules::default();
    let rule = rules.rule_mut("words").expect("a words rule");
    rule.kind = RuleKind::Words {
        words: vec!["free nitro".to_owned()],
    };
    rule.enabled = true;
    rule.delete = true;
    s.store
        .transact(vec![automod_rules::write(
            &rules,
            Platform::Telegram,
            &tenant,
            version,
        )])
        .await
        .unwrap();

    let clean = s.message(TARGET, "good morning everyone", None);
    assert_eq!(s.post(&clean).await.status, 200);
    let spam = s.message(TARGET, "get fr33 n1tr0 here", None);
    let (a, b) = tokio::join!(s.post_on(&s.first, &spam), s.post_on(&s.second, &spam));
    assert_eq!((a.status, b.status), (200, 200));
    let cases = s.target_cases().await;
    assert_eq!(cases.len(), 1, "{cases:?}");
    s.run_jobs().await;
    let message_id = spam["message"]["message_id"].to_string();
    let deletes = s.calls(|c| matches!(c, PlatformCall::TelegramDelete { .. }));
    assert_eq!(
        deletes,
        [PlatformCall::TelegramDelete {
            chat: tenant.clone(),
            message: message_id,
        }]
    );
}

/// A member appeals their mute in the group (`/appeal 1 <reason>`; Telegram has no forms);
/// the worker posts the review with Accept and Deny; two moderators' clicks on Accept arrive
/// at once on both instances: one decision, one lift of the mute, every click answered.
/// Each Telegram chat is its own community, so the review is posted in the group itself: a
/// review in another chat would carry ids bound to the group, which clicks from that chat
/// fail (the binding is checked like any other).
async fn an_appeal_is_accepted_once_under_concurrent_clicks(s: Setup) {
    let review_chat = s.chat.to_string();
    let settings = ModSettings {
        appeal_channel: Some(review_chat.clone()),
        ..ModSettings::default()
    };
    save_settings(
        s.store.as_ref(),
        Platform::Telegram,
        &s.chat.to_string(),
        &settings,
    )
    .await;
    let muted = s.moderate("/mute 1h flooding").await;
    assert!(muted.text().contains("Case #1"), "{}", muted.body);
    s.run_jobs().await;

    let appeal = s
        .post(&s.message(TARGET, "/appeal 1 I was answering a question", None))
        .await;
    assert!(
        appeal.text().contains("appeal of case #1"),
        "{}",
        appeal.body
    );
    s.run_jobs().await;
    let reviews: Vec<_> = s
        .platform
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            PlatformCall::TelegramMessage { chat, reply }
                if chat == review_chat && !reply.buttons.is_empty() =>
            {
                Some(reply)
            }
            _ => None,
        })
        .collect();
    let [review] = &reviews[..] else {
        panic!("one review post: {reviews:?}");
    };
    let labels: Vec<&str> = review.buttons.iter().map(|b| b.label.as_str()).collect();
    assert_eq!(labels, ["Accept", "Deny"]);
    // What Telegram would carry back: the compact form the keyboard was drawn with.
    let accept = compact(&review.buttons[0].id).expect("a component id");
    assert!(accept.len() <= MAX_COMPACT_BYTES);

    // A click from another chat (the review forwarded elsewhere) is refused: the id is bound
    // to the group.
    let mut elsewhere = s.click(MODERATOR, &accept);
    elsewhere["callback_query"]["message"]["chat"]["id"] = (s.chat - 1).into();
    let refused = s.post(&elsewhere).await;
    assert!(refused.text().contains("isn't valid"), "{}", refused.body);
    let s = &s;
    let click = |n: usize| {
        let update = s.click(MODERATOR, &accept);
        let edge = if n.is_multiple_of(2) {
            &s.first
        } else {
            &s.second
        };
        async move { s.post_on(edge, &update).await }
    };
    let answers = futures::future::join_all((0..4).map(click)).await;
    assert!(
        answers
            .iter()
            .all(|a| a.body["method"] == "answerCallbackQuery"),
        "every click is answered"
    );
    let handled = answers
        .iter()
        .filter(|a| {
            a.body["text"]
                .as_str()
                .is_some_and(|t| t.contains("already handled"))
        })
        .count();
    assert_eq!(
        handled,
        3,
        "{:?}",
        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    let decided = s.calls(|c| matches!(c, PlatformCall::TelegramEdit { reply, .. } if reply.text.contains("Accepted")));
    assert_eq!(decided.len(), 1, "{decided:?}");
    s.run_jobs().await;
    let lifted = s.calls(|c| matches!(c, PlatformCall::TelegramRestrict { until: None, .. }));
    assert_eq!(
        lifted.len(),
        1,
        "the mute lifted once: {:?}",
        s.platform.calls()
    );
    let case = &s.target_cases().await[0].case;
    assert_eq!(case.status, Status::Pardoned);
}

/// Through the real Bot API client against the fake Bot API (which enforces Telegram's pace
/// and refuses as Telegram does): a temporary ban confirmed with a click is applied with
/// `banChatMember` until its end; the member never started the bot, so the private message
/// fails and the case says so. Telegram lifts the ban itself and the member rejoins; Gavel's
/// sweep then unbans with `only_if_banned`, and the member stays in the group.
async fn through_the_bot_api_a_lifted_ban_never_removes_a_rejoined_member(s: Setup) {
    let (server, fake, _) = telegram_fake::fake().await;
    let api =
        Arc::new(TelegramBotApi::new(server.uri(), Some(telegram_fake::TOKEN.to_owned())).unwrap());
    let (chat, target) = (s.chat.to_string(), TARGET.to_string());
    fake.state
        .lock()
        .unwrap()
        .admins
        .push(MODERATOR.to_string());
    fake.set(&chat, &target, Membership::Member);
    let edge = edge_over(
        Arc::clone(&s.store),
        &s.clock,
        Arc::new(RecordingSlackWeb::new()),
    )
    .with_bus(s.bus.clone())
    .with_telegram_api(api.clone());
    let worker =
        Worker::new(Arc::clone(&s.store), s.clock.clone(), None, None).with_telegram(api.clone());

    let prompt = s
        .post_on(
            &edge,
            &s.message(MODERATOR, "/tempban 2h raid", Some(TARGET)),
        )
        .await;
    let data = prompt.callback_data();
    assert_eq!(
        data.len(),
        2,
        "rights read from getChatMember: {}",
        prompt.body
    );
    let clicked = s.post_on(&edge, &s.click(MODERATOR, &data[0])).await;
    assert_eq!(clicked.body["method"], "answerCallbackQuery");
    run_jobs(&worker, &s.bus.take()).await;
    assert_eq!(fake.status(&chat, &target), Membership::Kicked);
    let (ban, _) = fake.calls_of("banChatMember").pop().unwrap();
    assert_eq!(ban["until_date"], FIXTURE_TIMESTAMP + 7200);
    let case = &s.cases().all_of(&target).await.unwrap()[0].case;
    assert!(
        case.dm
            .as_deref()
            .is_some_and(|dm| dm.contains("started a private chat")),
        "{:?}",
        case.dm
    );

    fake.set(&chat, &target, Membership::Member);
    s.clock.advance_ms(7201 * 1000);
    let maintenance = Maintenance::new(s.store.clone(), s.bus.clone(), s.clock.clone());
    let report = maintenance.run(Sweep::Expire, Budget::for_secs(60)).await;
    assert_eq!(report.count("lifted"), 1);
    run_jobs(&worker, &s.bus.take()).await;
    assert_eq!(
        fake.status(&chat, &target),
        Membership::Member,
        "still in the group"
    );
    let unbans = fake.calls_of("unbanChatMember");
    assert_eq!(unbans.len(), 1);
    assert_eq!(unbans[0].0["only_if_banned"], true);
    assert_eq!(fake.too_many(), 0, "the client kept Telegram's pace itself");
}

/// A warned member's private message tells them to appeal from the private chat; they do,
/// and the appeal is filed in the group (its record, its review in the group), once however
/// often Telegram delivers the update (two instances).
async fn a_member_appeals_from_the_private_chat(s: Setup) {
    let group = s.chat.to_string();
    let settings = ModSettings {
        appeal_channel: Some(group.clone()),
        ..ModSettings::default()
    };
    save_settings(s.store.as_ref(), Platform::Telegram, &group, &settings).await;
    let member = s.new_member();
    let warned = s.warn_in(s.chat, member).await;
    assert!(warned.text().contains("Case #1"), "{}", warned.body);
    s.run_jobs().await;
    let told = s.calls(
        |c| matches!(c, PlatformCall::TelegramMessage { chat, reply } if *chat == member.to_string() && reply.text.contains("case #1")),
    );
    let [PlatformCall::TelegramMessage { reply: dm, .. }] = &told[..] else {
        panic!("one private message: {told:?}");
    };
    assert!(
        dm.text
            .contains("`/appeal 1 <reason>` here, in this private chat"),
        "{}",
        dm.text
    );

    let appeal = s.private(member, "/appeal 1 I was answering a question, not spamming");
    let first = s.post_on(&s.first, &appeal).await;
    let again = s.post_on(&s.second, &appeal).await;
    assert!(
        first.text().contains("appeal of case #1 was sent"),
        "{}",
        first.body
    );
    assert_eq!(
        first.body["chat_id"], member,
        "answered in the private chat"
    );
    assert!(again.text().contains("already handled"), "{}", again.body);
    let record = appeal::load(s.store.as_ref(), Platform::Telegram, &group, 1)
        .await
        .unwrap()
        .expect("the appeal is the group's");
    assert_eq!(record.appeal.user, member.to_string());
    assert_eq!(record.appeal.status, AppealStatus::Open);
    s.run_jobs().await;
    let reviews = s.reviews_in(s.chat);
    assert_eq!(reviews.len(), 1, "one review in the group: {reviews:?}");
    assert!(
        reviews[0].text.contains("appeals case #1"),
        "{}",
        reviews[0].text
    );
}

/// From the private chat, a case number the member has nowhere is answered plainly; the
/// group's case numbers of someone else are not theirs.
async fn a_private_appeal_of_no_case_says_so(s: Setup) {
    let (member, other) = (s.new_member(), s.new_member());
    s.warn_in(s.chat, other).await;
    for number in [1, 9] {
        let answer = s
            .post(&s.private(
                member,
                &format!("/appeal {number} I did nothing wrong at all here"),
            ))
            .await;
        assert!(
            answer.text().contains(&format!(
                "You have no case #{number} in any community Gavel moderates"
            )),
            "{}",
            answer.body
        );
    }
    assert_eq!(s.bus.take().len(), 1, "only the warning's job");
}

/// A member with a case #1 in two groups is told both, and how to choose; once one of them
/// can no longer be appealed (its appeal is open), the private chat's `/appeal 1` files the
/// other's.
async fn a_case_number_in_two_groups_is_resolved_by_what_may_be_appealed(s: Setup) {
    let member = s.new_member();
    // A chat id no other test uses (theirs are all within a millionth of a trillion of ours).
    let other = s.chat - 500_000_000_000;
    s.warn_in(s.chat, member).await;
    s.warn_in(other, member).await;
    let why = "I was answering a question, not spamming";
    let ambiguous = s
        .post(&s.private(member, &format!("/appeal 1 {why}")))
        .await;
    let text = ambiguous.text();
    assert!(text.contains("in 2 communities"), "{text}");
    assert!(
        text.contains(&s.chat.to_string()) && text.contains(&other.to_string()),
        "{text}"
    );
    // The answer is HTML: `<code>/appeal 1 &lt;reason&gt;</code> in that group`.
    assert!(
        text.contains("/appeal 1 &lt;reason&gt;</code> in that group"),
        "{text}"
    );
    for chat in [s.chat, other] {
        let tenant = chat.to_string();
        let none = appeal::load(s.store.as_ref(), Platform::Telegram, &tenant, 1).await;
        assert!(none.unwrap().is_none(), "nothing filed in {tenant}");
    }

    // Appealed in the first group itself, the case there is taken.
    let in_group = payloads::telegram_message(
        next(),
        s.chat,
        member,
        &format!("/appeal 1 {why}"),
        None,
        s.clock_secs(),
    );
    assert!(s.post(&in_group).await.text().contains("appeal of case #1"));
    let filed = s
        .post(&s.private(member, &format!("/appeal 1 {why}")))
        .await;
    assert!(filed.text().contains("appeal of case #1"), "{}", filed.body);
    let record = appeal::load(s.store.as_ref(), Platform::Telegram, &other.to_string(), 1)
        .await
        .unwrap();
    assert!(record.is_some(), "filed in the other group");

    // Both taken now: each group's refusal, named.
    let refused = s
        .post(&s.private(member, &format!("/appeal 1 {why}")))
        .await;
    let text = refused.text();
    assert!(
        text.contains("cannot be appealed in any community"),
        "{text}"
    );
    assert!(text.contains(&other.to_string()), "{text}");
}

/// A member posts in the group; on another instance, `/warn @Username spam` (any case) opens
/// Case #1 against them, and the answer names whom the username was read as.
async fn a_member_seen_posting_is_warned_by_username(s: Setup) {
    let posted = s
        .post(&s.message_by(TARGET, "Spam_Queen", "buy cheap followers"))
        .await;
    assert_eq!(posted.status, 200);
    let answer = s
        .post_on(&s.second, &s.warn_by_username("spam_QUEEN"))
        .await;
    assert!(answer.text().contains("Case #1"), "{}", answer.text());
    assert!(
        answer.text().contains("read as User 7002"),
        "{}",
        answer.text()
    );
    let cases = s.target_cases().await;
    assert_eq!(cases.len(), 1);
    assert_eq!(s.bus.jobs().len(), 1);
}

/// A member who joins (a `chat_member` update) can be named by username at once.
async fn a_member_who_joined_is_warned_by_username(s: Setup) {
    let newcomer = TARGET + 10;
    let user =
        json!({ "id": newcomer, "is_bot": false, "first_name": "Nia", "username": "NiaNew" });
    let joined = json!({
        "update_id": next(),
        "chat_member": {
            "chat": s.chat_json(),
            "from": user,
            "date": s.clock_secs(),
            "old_chat_member": { "status": "left", "user": user },
            "new_chat_member": { "status": "member", "user": user },
        }
    });
    let acknowledged = s.post(&joined).await;
    assert_eq!(acknowledged.status, 200);
    assert!(s.platform.calls().is_empty(), "a join is only learned");
    let answer = s.post(&s.warn_by_username("nianew")).await;
    assert!(answer.text().contains("Case #1"), "{}", answer.text());
    let cases = s.cases().all_of(&newcomer.to_string()).await.unwrap();
    assert_eq!(cases.len(), 1);
}

/// A username Gavel has never seen in the group: the answer says how to name the member, and
/// nothing is opened or published.
async fn an_unseen_username_is_answered_with_how_to_name_the_member(s: Setup) {
    // Seen in another group only: each group's directory is its own.
    let elsewhere = payloads::telegram_message(next(), s.chat - 999, TARGET, "hi", None, 0);
    let mut elsewhere = elsewhere;
    elsewhere["message"]["from"]["username"] = "nobody".into();
    s.post(&elsewhere).await;
    let answer = s.post(&s.warn_by_username("nobody")).await;
    assert!(
        answer.text().contains("has not seen @nobody in this group"),
        "{}",
        answer.text()
    );
    assert!(!answer.text().contains("Case #"), "{}", answer.text());
    s.assert_nothing_done().await;
}

/// A member seen twice on one instance costs one directory read and write: the second message
/// makes no directory round trip; another instance reads the fresh entry and writes nothing.
async fn a_member_seen_twice_on_an_instance_costs_one_write(s: Setup) {
    // Warm the instance's caches (the settings' first read) with a member who has no
    // username, then count what a message costs.
    s.post(&s.message(TARGET + 1, "hello", None)).await;
    let baseline = s.post(&s.message(TARGET + 1, "hello", None)).await;
    let first = s.post(&s.message_by(TARGET, "Ann", "hello")).await;
    let again = s.post(&s.message_by(TARGET, "Ann", "hello again")).await;
    assert_eq!(
        again.round_trips, baseline.round_trips,
        "nothing new to record"
    );
    assert_eq!(
        first.round_trips,
        baseline.round_trips + 2,
        "one read and one write"
    );
    let entry = s.directory_entry("ann").await.expect("recorded");
    assert_eq!(entry.data["id"], TARGET.to_string());
    assert_eq!(entry.data["name"], format!("User {TARGET}"));
    assert_eq!(entry.version, 1);
    // The other instance has not recorded Ann, but the store's entry is a day fresh.
    let other = s
        .post_on(&s.second, &s.message_by(TARGET, "ann", "hi"))
        .await;
    assert_eq!(other.status, 200);
    assert_eq!(s.directory_entry("ann").await.unwrap().version, 1);
    // A username that changes hands: the newest sighting wins.
    s.post(&s.message_by(TARGET + 2, "ANN", "it is mine now"))
        .await;
    let entry = s.directory_entry("ann").await.unwrap();
    assert_eq!(entry.data["id"], (TARGET + 2).to_string());
}

gavel_tests::on_both_stores!(
    a_member_appeals_from_the_private_chat,
    a_private_appeal_of_no_case_says_so,
    a_case_number_in_two_groups_is_resolved_by_what_may_be_appealed,
    a_member_seen_posting_is_warned_by_username,
    a_member_who_joined_is_warned_by_username,
    an_unseen_username_is_answered_with_how_to_name_the_member,
    a_member_seen_twice_on_an_instance_costs_one_write,
    through_the_bot_api_a_lifted_ban_never_removes_a_rejoined_member,
    an_appeal_is_accepted_once_under_concurrent_clicks,
    automod_catches_a_group_message_once_and_deletes_it,
    forged_secrets_are_refused,
    garbage_and_unknown_updates_change_nothing,
    oversized_bodies_are_refused,
    a_replayed_update_acts_once,
    members_and_other_bots_commands_are_refused,
    warnings_escalate_to_a_mute,
    a_tempban_is_lifted_by_the_sweep,
);
