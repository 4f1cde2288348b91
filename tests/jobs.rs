//! Ack, then continue: a command that needs platform work answers at once with a deferred
//! answer, the worker makes the call and edits that answer. Through `gavel serve` with fake
//! Discord and Slack APIs (wiremock), every job delivered twice; and the worker alone on both
//! store adapters for its failure paths.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use gavel_cli::serve::{RunningServer, ServeParts, start_with_parts};
use gavel_shared::adapters::discord_rest::{DiscordLimits, DiscordRest};
use gavel_shared::adapters::embedded::EmbeddedStore;
use gavel_shared::adapters::slack_api::SlackApiClient;
use gavel_shared::clock::{ManualClock, SystemClock};
use gavel_shared::invocation::Platform;
use gavel_shared::jobs::{Job, ReplyTarget, Task};
use gavel_shared::platform::recording::RecordingPlatform;
use gavel_shared::platform::{ApiError, DiscordApi, SlackApi};
use gavel_shared::reply::Reply;
use gavel_shared::slack::web::RecordingSlackWeb;
use gavel_shared::store::{Store, StoreError};
use gavel_shared::worker::{Outcome, Worker};
use gavel_tests::faulty::{FailOn, Faulty, Op};
use gavel_tests::harness::Backing;
use gavel_tests::payloads::{self, DiscordInvoker};
use gavel_tests::{discord_signed_headers, slack_signed_headers, test_settings};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const APPLICATION: &str = "1174109840998400003";
const REPORTS_CHANNEL: &str = "1174109840998400555";

fn now_secs() -> String {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string()
}

async fn post(url: &str, headers: Vec<(&'static str, String)>, body: Vec<u8>) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(url).body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let answer = request.send().await.expect("the server answers");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

/// `gavel serve` on a fresh in-memory store, its worker calling the given platform APIs, and
/// every job delivered twice.
async fn serve_delivering_twice(
    discord_api: Option<Arc<dyn DiscordApi>>,
    slack_api: Option<Arc<dyn SlackApi>>,
) -> RunningServer {
    let store = EmbeddedStore::in_memory(Arc::new(SystemClock)).unwrap();
    let parts = ServeParts {
        slack_web: Arc::new(RecordingSlackWeb::new()),
        discord_api,
        slack_api,
        telegram_api: None,
        deliveries: 2,
        limits: gavel_cli::serve::ConnectionLimits::default(),
        max_queued_jobs: gavel_shared::worker::local_bus::MAX_PENDING,
    };
    start_with_parts(
        "127.0.0.1:0".parse().unwrap(),
        &test_settings(),
        None,
        Arc::new(store),
        parts,
    )
    .await
    .expect("the local server starts")
}

/// Discord, end to end: `/reportchannel` gets a deferred answer at once; the worker posts in
/// the channel once although the job is delivered twice, and edits the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_reportchannel_is_deferred_done_once_and_edited() {
    let discord = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/channels/{REPORTS_CHANNEL}/messages")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "900" })))
        .mount(&discord)
        .await;
    Mock::given(method("PATCH"))
        .and(path_regex(format!(
            "^/webhooks/{APPLICATION}/[^/]+/messages/@original$"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "901" })))
        .mount(&discord)
        .await;
    let api = DiscordRest::new(
        discord.uri(),
        Some("test-bot-token".into()),
        Some(APPLICATION.into()),
        DiscordLimits::default(),
    )
    .unwrap();
    let server = serve_delivering_twice(Some(Arc::new(api)), None).await;
    let url = format!("http://{}/discord/interactions", server.addr);

    let body = payloads::discord_command(
        "1442545298000000001",
        "reportchannel",
        json!([{ "name": "channel", "type": 7, "value": REPORTS_CHANNEL }]),
        DiscordInvoker::Moderator,
    );
    let (status, answer) = post(&url, discord_signed_headers(&now_secs(), &body), body).await;
    assert_eq!(status, 200);
    assert_eq!(answer["type"], 5, "a deferred answer: {answer}");
    assert_eq!(answer["data"]["flags"], 64, "ephemeral");

    server.jobs.drained().await;
    let requests = discord.received_requests().await.unwrap();
    let posts: Vec<_> = requests
        .iter()
        .filter(|r| r.method == http::Method::POST)
        .collect();
    assert_eq!(posts.len(), 1, "one post although the job came twice");
    let edits: Vec<_> = requests
        .iter()
        .filter(|r| r.method == http::Method::PATCH)
        .collect();
    assert_eq!(edits.len(), 1, "the answer is edited once");
    let edit: Value = serde_json::from_slice(&edits[0].body).unwrap();
    assert!(
        edit["content"].as_str().unwrap().contains(&format!(
            "Member reports will be posted in <#{REPORTS_CHANNEL}>"
        )),
        "{edit}"
    );
    assert!(
        edits[0].url.path().contains("aW50ZXJhY3Rpb246"),
        "the interaction's own token is used"
    );

    // A member's report now reaches that channel through the worker as well.
    let report = payloads::discord_command(
        "1442545298000000002",
        "report",
        json!([
            { "name": "user", "type": 6, "value": "1174109840998400077" },
            { "name": "reason", "type": 3, "value": "posted scam links in three channels" }
        ]),
        DiscordInvoker::Member,
    );
    let (_, prompt) = post(&url, discord_signed_headers(&now_secs(), &report), report).await;
    let confirm = prompt["data"]["components"][0]["components"][0]["custom_id"]
        .as_str()
        .expect("a Send report button")
        .to_owned();
    let click =
        payloads::discord_component("1442545298000000003", &confirm, DiscordInvoker::Member);
    let (_, done) = post(&url, discord_signed_headers(&now_secs(), &click), click).await;
    assert_eq!(done["type"], 7, "{done}");
    server.jobs.drained().await;
    let posts: Vec<Value> = discord
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method == http::Method::POST)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        posts.len(),
        2,
        "the channel check, then the report, each once"
    );
    assert!(posts[1]["content"].as_str().unwrap().contains("scam links"));
    assert_eq!(posts[1]["allowed_mentions"], json!({ "parse": [] }));
    server.shutdown().await.unwrap();
}

/// Slack, end to end: the command is acknowledged with a placeholder; the worker posts with
/// chat.postMessage once and replaces the placeholder through the response_url.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_reportchannel_is_acknowledged_done_once_and_replaced() {
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "ok": true, "ts": "1.2" })))
        .mount(&slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/hooks/response"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let api = SlackApiClient::new(
        format!("{}/api", slack.uri()),
        Some("xoxb-test".into()),
        Some(format!("{}/hooks/", slack.uri())),
    )
    .unwrap();
    let server = serve_delivering_twice(None, Some(Arc::new(api))).await;

    // The moderator (configured in the test settings) names a channel.
    let mut form: Vec<(String, String)> = serde_urlencoded::from_bytes(&payloads::slack_command(
        "/reportchannel",
        "<#C0MODS|mods>",
        "1.9.t",
    ))
    .unwrap();
    for (key, value) in form.iter_mut() {
        match key.as_str() {
            "user_id" => *value = "U0GAVELMOD".into(),
            "response_url" => *value = format!("{}/hooks/response", slack.uri()),
            _ => {}
        }
    }
    let body = serde_urlencoded::to_string(&form).unwrap().into_bytes();
    let headers = slack_signed_headers("application/x-www-form-urlencoded", &now_secs(), &body);
    let url = format!("http://{}/slack/commands", server.addr);
    let (status, answer) = post(&url, headers, body).await;
    assert_eq!(status, 200);
    assert_eq!(answer["response_type"], "ephemeral");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("Checking that I can post")
    );

    server.jobs.drained().await;
    let requests = slack.received_requests().await.unwrap();
    let posts: Vec<Value> = requests
        .iter()
        .filter(|r| r.url.path() == "/api/chat.postMessage")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(posts.len(), 1, "one post although the job came twice");
    assert_eq!(posts[0]["channel"], "C0MODS");
    let replaced: Vec<Value> = requests
        .iter()
        .filter(|r| r.url.path() == "/hooks/response")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(replaced.len(), 1);
    assert_eq!(replaced[0]["replace_original"], true);
    assert!(
        replaced[0]["text"]
            .as_str()
            .unwrap()
            .contains("Member reports will be posted in <#C0MODS>"),
        "{}",
        replaced[0]
    );
    server.shutdown().await.unwrap();
}

/// A Discord API that answers from a script, counting calls.
struct ScriptedDiscord {
    answers: std::sync::Mutex<Vec<Result<(), ApiError>>>,
    posts: std::sync::atomic::AtomicUsize,
    edits: std::sync::Mutex<Vec<String>>,
    /// Edits refused with 404 before one is accepted (the deferred answer not there yet).
    edits_before_the_answer_exists: std::sync::atomic::AtomicUsize,
    recorded: RecordingPlatform,
}

impl ScriptedDiscord {
    fn new(answers: Vec<Result<(), ApiError>>) -> Arc<Self> {
        Arc::new(Self {
            answers: std::sync::Mutex::new(answers),
            posts: Default::default(),
            edits: Default::default(),
            edits_before_the_answer_exists: Default::default(),
            recorded: RecordingPlatform::new(),
        })
    }
}

#[async_trait]
impl DiscordApi for ScriptedDiscord {
    async fn create_message(&self, _: &str, _: &str, _: Instant) -> Result<String, ApiError> {
        self.posts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // Slow enough that concurrent deliveries overlap.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let next = self.answers.lock().unwrap().remove(0);
        next.map(|()| "1".to_owned())
    }

    async fn edit_original_response(
        &self,
        _: &str,
        content: &str,
        _: Instant,
    ) -> Result<(), ApiError> {
        let early = &self.edits_before_the_answer_exists;
        if early.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            early.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            return Err(ApiError::NotFound("Unknown Webhook".into()));
        }
        self.edits.lock().unwrap().push(content.to_owned());
        Ok(())
    }

    async fn send_dm_reply(
        &self,
        user: &str,
        reply: &gavel_shared::reply::Reply,
        at: Instant,
    ) -> Result<String, ApiError> {
        self.recorded.send_dm_reply(user, reply, at).await
    }

    async fn create_followup(
        &self,
        token: &str,
        content: &str,
        at: Instant,
    ) -> Result<(), ApiError> {
        self.recorded.create_followup(token, content, at).await
    }

    // The job tests script posts and edits only; moderation calls are recorded, never refused.
    async fn timeout_member(
        &self,
        guild: &str,
        user: &str,
        until: Option<i64>,
        reason: &str,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        self.recorded
            .timeout_member(guild, user, until, reason, deadline)
            .await
    }

    async fn delete_message(
        &self,
        channel: &str,
        message: &str,
        reason: &str,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        DiscordApi::delete_message(&self.recorded, channel, message, reason, deadline).await
    }

    async fn kick_member(
        &self,
        guild: &str,
        user: &str,
        reason: &str,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        self.recorded
            .kick_member(guild, user, reason, deadline)
            .await
    }

    async fn ban_member(
        &self,
        guild: &str,
        user: &str,
        delete_message_secs: u32,
        reason: &str,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        self.recorded
            .ban_member(guild, user, delete_message_secs, reason, deadline)
            .await
    }

    async fn unban_member(
        &self,
        guild: &str,
        user: &str,
        reason: &str,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        self.recorded
            .unban_member(guild, user, reason, deadline)
            .await
    }

    async fn send_dm(
        &self,
        user: &str,
        content: &str,
        deadline: Instant,
    ) -> Result<String, ApiError> {
        DiscordApi::send_dm(&self.recorded, user, content, deadline).await
    }

    async fn guild_owner(&self, guild: &str, deadline: Instant) -> Result<String, ApiError> {
        self.recorded.guild_owner(guild, deadline).await
    }

    async fn post_reply(
        &self,
        channel: &str,
        reply: &Reply,
        deadline: Instant,
    ) -> Result<String, ApiError> {
        DiscordApi::post_reply(&self.recorded, channel, reply, deadline).await
    }
}

struct Setup {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
}

fn embedded() -> Setup {
    let Backing { store, clock } = Backing::embedded_at(1_800_000_000);
    Setup { store, clock }
}

async fn dynamodb() -> Setup {
    let Backing { store, clock } = Backing::dynamodb_at(1_800_000_000).await;
    Setup { store, clock }
}

fn job(id: &str) -> Job {
    Job {
        id: format!("discord:{id}"),
        platform: Platform::Discord,
        tenant: format!("G{id}"),
        task: Task::SetReportChannel {
            channel: "555".into(),
        },
        reply_to: ReplyTarget::DiscordInteraction {
            token: "tok".into(),
        },
        created_at: 1_800_000_000,
    }
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

/// Five deliveries of one job at once: one does it, the rest do nothing now; a later delivery
/// finds it done.
async fn concurrent_deliveries_act_once(s: Setup) {
    let discord = ScriptedDiscord::new(vec![Ok(())]);
    let worker = Arc::new(Worker::new(
        s.store.clone(),
        s.clock.clone(),
        Some(discord.clone() as Arc<dyn DiscordApi>),
        None::<Arc<dyn SlackApi>>,
    ));
    let job = job(&format!("{}", rand_id()));
    let runs: Vec<_> = (0..5)
        .map(|_| {
            let worker = Arc::clone(&worker);
            let job = job.clone();
            tokio::spawn(async move { worker.handle(&job, deadline()).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for run in runs {
        outcomes.push(run.await.unwrap());
    }
    assert_eq!(outcomes.iter().filter(|o| **o == Outcome::Done).count(), 1);
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            Outcome::Done | Outcome::RetryLater(_) | Outcome::Duplicate
        )),
        "{outcomes:?}"
    );
    assert_eq!(worker.handle(&job, deadline()).await, Outcome::Duplicate);
    assert_eq!(discord.posts.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(discord.edits.lock().unwrap().len(), 1);
}

/// A 403 is told plainly and not retried; the setting is not changed.
async fn a_forbidden_call_is_told_and_not_retried(s: Setup) {
    let discord = ScriptedDiscord::new(vec![Err(ApiError::Forbidden {
        message: "I lack the permissions for that here (Missing Permissions)".into(),
    })]);
    let worker = Worker::new(
        s.store.clone(),
        s.clock.clone(),
        Some(discord.clone() as Arc<dyn DiscordApi>),
        None,
    );
    let job = job(&format!("{}", rand_id()));
    assert_eq!(worker.handle(&job, deadline()).await, Outcome::Done);
    let edits = discord.edits.lock().unwrap().clone();
    assert_eq!(edits.len(), 1);
    assert!(
        edits[0].contains("could not post in <#555>"),
        "{}",
        edits[0]
    );
    assert!(edits[0].contains("Missing Permissions"), "{}", edits[0]);
    assert_eq!(worker.handle(&job, deadline()).await, Outcome::Duplicate);
    let setting = s
        .store
        .get(&Worker::report_channel_key(Platform::Discord, &job.tenant))
        .await
        .unwrap();
    assert_eq!(setting, None);
}

/// A platform outage releases the job: the next delivery does it.
async fn a_transient_failure_is_retried_by_the_next_delivery(s: Setup) {
    let discord = ScriptedDiscord::new(vec![Err(ApiError::Unavailable("HTTP 502".into())), Ok(())]);
    let worker = Worker::new(
        s.store.clone(),
        s.clock.clone(),
        Some(discord.clone() as Arc<dyn DiscordApi>),
        None,
    );
    let job = job(&format!("{}", rand_id()));
    assert!(matches!(
        worker.handle(&job, deadline()).await,
        Outcome::RetryLater(_)
    ));
    assert!(discord.edits.lock().unwrap().is_empty(), "nothing told yet");
    assert_eq!(worker.handle(&job, deadline()).await, Outcome::Done);
    assert_eq!(discord.posts.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert!(discord.edits.lock().unwrap()[0].contains("✅"));
}

/// Jobs as the jobs queue hands them to the worker, ten at most a batch: a job done is deleted
/// from the queue, one that must wait is named in `batchItemFailures` and comes back, and so
/// does a message that is no job (to be dead-lettered where someone can read it). When the
/// next batch brings the waiting job again, it is done, and the one done before is not redone.
async fn a_queue_batch_answers_each_job_on_its_own(s: Setup) {
    use gavel_shared::adapters::job_queue::handle_delivery;
    let discord = ScriptedDiscord::new(vec![
        Ok(()),
        Err(ApiError::Unavailable("HTTP 502".into())),
        Ok(()),
        Ok(()),
    ]);
    let worker = Worker::new(
        s.store.clone(),
        s.clock.clone(),
        Some(discord.clone() as Arc<dyn DiscordApi>),
        None,
    );
    let (first, second) = (job(&rand_id().to_string()), job(&rand_id().to_string()));
    let record = |id: &str, job: &Job| {
        let event = json!({ "source": "gavel", "detail-type": "gavel.job", "detail": job });
        json!({ "messageId": id, "body": event.to_string(), "eventSource": "aws:sqs" })
    };
    let batch = json!({ "Records": [
        record("m-1", &first),
        record("m-2", &second),
        { "messageId": "m-3", "body": "{\"not\": \"a job\"}" },
    ]});
    let answer = handle_delivery(&worker, &batch, deadline()).await.unwrap();
    assert_eq!(
        answer,
        json!({ "batchItemFailures": [{ "itemIdentifier": "m-2" }, { "itemIdentifier": "m-3" }] })
    );
    let again = json!({ "Records": [record("m-1", &first), record("m-2", &second)] });
    let answer = handle_delivery(&worker, &again, deadline()).await.unwrap();
    assert_eq!(answer, json!({ "batchItemFailures": [] }));
    // Three posts tried: the first job's once, the second's failed one and its retry.
    assert_eq!(discord.posts.load(std::sync::atomic::Ordering::SeqCst), 3);
    // A bare EventBridge event (a rule invoking the worker itself) still works.
    let third = job(&rand_id().to_string());
    let bare = json!({ "source": "gavel", "detail-type": "gavel.job", "detail": third });
    assert_eq!(
        handle_delivery(&worker, &bare, deadline()).await,
        Ok(Value::Null)
    );
}

/// A delivery that crashed mid-job (its claim left running) is taken over once the lease lapses.
async fn a_crashed_run_is_taken_over_after_its_lease(s: Setup) {
    let discord = ScriptedDiscord::new(vec![Ok(())]);
    let worker = Worker::new(
        s.store.clone(),
        s.clock.clone(),
        Some(discord.clone() as Arc<dyn DiscordApi>),
        None,
    );
    let job = job(&format!("{}", rand_id()));
    // What a crashed delivery leaves behind: a running claim.
    s.store
        .create(
            gavel_shared::store::NewItem::new(
                gavel_shared::store::ItemKey::new(format!("job#{}", job.id), "job"),
                json!({ "state": "running" }),
            )
            .expiring_at(1_800_000_000 + gavel_shared::worker::LEASE_SECS),
        )
        .await
        .unwrap();
    assert!(matches!(
        worker.handle(&job, deadline()).await,
        Outcome::RetryLater(_)
    ));
    s.clock.advance_ms(gavel_shared::worker::LEASE_SECS * 1000);
    assert_eq!(worker.handle(&job, deadline()).await, Outcome::Done);
    assert_eq!(discord.posts.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// The sample bus event in `events/bus/` is a job the worker reads.
#[test]
fn the_sample_bus_event_is_a_job() {
    let path = gavel_tests::events_dir().join("bus/job-set-report-channel.json");
    let event: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let job = Job::from_eventbridge(&event).expect("a job");
    assert_eq!(job.platform, Platform::Discord);
    assert_eq!(
        job.task,
        Task::SetReportChannel {
            channel: "1174109840998400555".into()
        }
    );
    assert!(matches!(
        job.reply_to,
        ReplyTarget::DiscordInteraction { .. }
    ));
    assert!(Job::from_eventbridge(&json!({ "detail": { "id": 1 } })).is_err());
    assert!(Job::from_eventbridge(&json!({})).is_err());
}

/// A store whose writes of the report-channel setting fail; everything else is the embedded
/// store. The worker is under test here, not the store.
fn setting_writes_fail(store: Arc<dyn Store>) -> Faulty {
    Faulty::failing(
        store,
        FailOn::ops([Op::Create, Op::Update]).sk_prefix("reports"),
        StoreError::Unavailable("injected outage".into()),
    )
}

/// The post went out but the setting could not be saved: the job is done (a retry would post
/// again) and the moderator is told to run the command again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_that_went_out_is_not_repeated_when_the_setting_cannot_be_saved() {
    let s = embedded();
    let discord = ScriptedDiscord::new(vec![Ok(())]);
    let worker = Worker::new(
        Arc::new(setting_writes_fail(s.store.clone())),
        s.clock.clone(),
        Some(discord.clone() as Arc<dyn DiscordApi>),
        None,
    );
    let job = job(&format!("{}", rand_id()));
    assert_eq!(worker.handle(&job, deadline()).await, Outcome::Done);
    assert_eq!(worker.handle(&job, deadline()).await, Outcome::Duplicate);
    assert_eq!(discord.posts.load(std::sync::atomic::Ordering::SeqCst), 1);
    let edits = discord.edits.lock().unwrap().clone();
    assert_eq!(edits.len(), 1);
    assert!(edits[0].contains("could not save it"), "{}", edits[0]);
}

/// The job ran before Discord had the deferred answer: the edit is tried again shortly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_before_the_deferred_answer_exists_is_tried_again() {
    let s = embedded();
    let discord = ScriptedDiscord::new(vec![Ok(())]);
    discord
        .edits_before_the_answer_exists
        .store(2, std::sync::atomic::Ordering::SeqCst);
    let worker = Worker::new(
        s.store.clone(),
        s.clock.clone(),
        Some(discord.clone() as Arc<dyn DiscordApi>),
        None,
    );
    assert_eq!(
        worker
            .handle(&job(&format!("{}", rand_id())), deadline())
            .await,
        Outcome::Done
    );
    let edits = discord.edits.lock().unwrap().clone();
    assert_eq!(edits.len(), 1, "the third look found the answer");
    assert!(edits[0].contains("✅"));
}

fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

gavel_tests::on_both_stores!(
    concurrent_deliveries_act_once,
    a_forbidden_call_is_told_and_not_retried,
    a_transient_failure_is_retried_by_the_next_delivery,
    a_queue_batch_answers_each_job_on_its_own,
    a_crashed_run_is_taken_over_after_its_lease,
);
