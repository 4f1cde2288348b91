//! Least privilege, proven: each Lambda function's real code paths run against moto with IAM
//! enforced, under credentials whose only policy is generated from that function's statements
//! in `template.yaml` (read from the template by `support/iam_setup.py`, never copied here).
//! A call outside a function's policy fails the test; what a policy grants that no path used is
//! reported.
//!
//! Between the functions and moto sits a small proxy that sees every call: it names each one
//! (`dynamodb:GetItem`, `events:PutEvents`, `scheduler:CreateSchedule`, a Query on the due
//! index), and checks each item of a transaction against the template's grants (IAM authorizes
//! a `TransactWriteItems` item by item, as PutItem, UpdateItem, DeleteItem or ConditionCheckItem;
//! moto checks only the transaction as a whole). moto itself refuses every other call outside
//! the policy.
//!
//! The edges serve the commands of both platforms (moderation with its confirmations, reports,
//! reminders with `/remind cancel`, settings, the economy); their jobs go out through the real
//! EventBridge bus adapter and are run by the worker (with the real Scheduler adapter); the
//! maintenance function runs every sweep over what they left.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use gavel_shared::adapters::aws::emulator_config;
use gavel_shared::adapters::dynamodb::DynamoStore;
use gavel_shared::adapters::eventbridge::EventBridgeBus;
use gavel_shared::adapters::scheduler::{EventBridgeScheduler, ScheduleTarget};
use gavel_shared::adapters::secrets::SecretsManager;
use gavel_shared::clock::ManualClock;
use gavel_shared::commands::CommandRegistry;
use gavel_shared::config::Serves;
use gavel_shared::edge::Edge;
use gavel_shared::jobs::{Bus, BusError, Job};
use gavel_shared::maintenance::{Budget, Maintenance, Sweep};
use gavel_shared::platform::recording::RecordingPlatform;
use gavel_shared::slack::web::RecordingSlackWeb;
use gavel_shared::store::Store;
use gavel_shared::worker::{Outcome, Worker};
use gavel_tests::doubles::RecordingBus;
use gavel_tests::harness::snowflake_from;
use gavel_tests::payloads::{self, DiscordInvoker};
use gavel_tests::relay::{credential, denied};
use gavel_tests::requests::{self, Answer, swap};
use gavel_tests::{FIXTURE_TIMESTAMP, moto, test_settings};
use serde::Deserialize;
use serde_json::{Value, json};

const BUS: &str = "gavel-least-jobs";
const GROUP: &str = "gavel-least-once";
const SECRETS: &str = "gavel/least";
const TARGET: &str = "1174109840998400077";
const HOUR_MS: i64 = 3_600_000;

#[derive(Clone, Debug, Deserialize)]
struct Principal {
    access_key: String,
    secret_key: String,
    #[serde(default)]
    granted: Vec<String>,
    /// The function's `{NAME}_ID` variables: the secrets its cold start reads.
    #[serde(default)]
    secret_ids: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Setup {
    functions: BTreeMap<String, Principal>,
}

/// What the proxy saw: per function, each call's name; and every refusal.
#[derive(Default)]
struct Seen {
    used: BTreeMap<String, BTreeSet<String>>,
    refused: Vec<String>,
}

struct Proxy {
    upstream: String,
    /// Access key → (function, what the template grants it, the secrets it names).
    principals: BTreeMap<String, (String, BTreeSet<String>, BTreeSet<String>)>,
    http: reqwest::Client,
    seen: Mutex<Seen>,
}

impl Proxy {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The IAM action a call needs, as the template names it.
fn action_of(
    service: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Value,
) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|t| t.to_str().ok()) {
        let operation = target.rsplit('.').next().unwrap_or(target);
        let name = format!("{service}:{operation}");
        if operation == "Query" && body.get("IndexName").is_some() {
            return format!("{name} on the due index");
        }
        return name;
    }
    // EventBridge Scheduler is a REST API: the method and path name the operation.
    let operation = match (method.as_str(), uri.path().starts_with("/schedules/")) {
        ("POST", true) => "CreateSchedule",
        ("DELETE", true) => "DeleteSchedule",
        ("GET", true) => "GetSchedule",
        ("PUT", true) => "UpdateSchedule",
        _ => "Unknown",
    };
    format!("{service}:{operation}")
}

async fn relay(
    State(proxy): State<Arc<Proxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let principal = credential(&headers).and_then(|(key, service)| {
        proxy
            .principals
            .get(&key)
            .map(|(function, granted, secrets)| {
                (function.clone(), granted.clone(), secrets.clone(), service)
            })
    });
    if let Some((function, granted, secrets, service)) = &principal {
        let action = action_of(service, &method, &uri, &headers, &parsed);
        let mut calls = vec![action.clone()];
        if action == "dynamodb:TransactWriteItems" {
            calls.clear();
            for item in parsed["TransactItems"].as_array().into_iter().flatten() {
                for (kind, needs) in [
                    ("Put", "dynamodb:PutItem"),
                    ("Update", "dynamodb:UpdateItem"),
                    ("Delete", "dynamodb:DeleteItem"),
                    ("ConditionCheck", "dynamodb:ConditionCheckItem"),
                ] {
                    if item.get(kind).is_some() {
                        calls.push(needs.to_owned());
                    }
                }
            }
        }
        let mut seen = proxy.seen();
        seen.used
            .entry(function.clone())
            .or_default()
            .extend(calls.iter().cloned());
        // moto does not check resources; the template grants each function only the secrets
        // it names, and this checks that it reads no other.
        if action == "secretsmanager:GetSecretValue"
            && let Some(id) = parsed["SecretId"].as_str()
            && !secrets.contains(id)
        {
            let why = format!("{function}: read the secret {id}, which it is not given");
            seen.refused.push(why.clone());
            return denied(&why);
        }
        if action == "dynamodb:TransactWriteItems"
            && let Some(missing) = calls.iter().find(|c| !granted.contains(*c))
        {
            let why = format!("{function}: a transaction item needs {missing}");
            seen.refused.push(why.clone());
            return denied(&why);
        }
    }
    let url = format!(
        "{}{}",
        proxy.upstream,
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let (status, out, bytes) =
        match gavel_tests::relay::forward(&proxy.http, method.clone(), &url, &headers, &body).await
        {
            Ok(answer) => answer,
            Err(error) => return (StatusCode::BAD_GATEWAY, error).into_response(),
        };
    if !status.is_success() && String::from_utf8_lossy(&bytes).contains("AccessDenied") {
        let who = principal
            .map(|(f, ..)| f)
            .unwrap_or_else(|| "someone".into());
        let action = credential(&headers)
            .map(|(_, service)| action_of(&service, &method, &uri, &headers, &parsed))
            .unwrap_or_default();
        proxy
            .seen()
            .refused
            .push(format!("{who}: moto refused {action}"));
    }
    (status, out, bytes).into_response()
}

async fn start_proxy(proxy: Arc<Proxy>) -> String {
    let app = axum::Router::new().fallback(relay).with_state(proxy);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("a loopback port for the proxy");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn dynamo_client(endpoint: &str, p: &Principal) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&emulator_config(endpoint, &p.access_key, &p.secret_key))
}

fn events_client(endpoint: &str, p: &Principal) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::new(&emulator_config(endpoint, &p.access_key, &p.secret_key))
}

fn secrets_client(endpoint: &str, p: &Principal) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&emulator_config(endpoint, &p.access_key, &p.secret_key))
}

fn scheduler_client(endpoint: &str, p: &Principal) -> aws_sdk_scheduler::Client {
    aws_sdk_scheduler::Client::new(&emulator_config(endpoint, &p.access_key, &p.secret_key))
}

/// The function's real bus, with a copy of every job kept for the worker's turn.
struct Tee {
    real: EventBridgeBus,
    copy: RecordingBus,
}

#[async_trait]
impl Bus for Tee {
    async fn publish(&self, job: &Job) -> Result<(), BusError> {
        self.real.publish(job).await?;
        self.copy.publish(job).await
    }
}

/// A storage failure shows in the answer; any of them fails the test with the command.
fn assert_served(what: &str, answer: &Answer) {
    let text = answer.body.to_string();
    assert!(
        answer.status == 200
            && !text.contains("could not reach my storage")
            && !text.contains("could not read")
            && !text.contains("Please try again"),
        "{what}: {} {text}",
        answer.status
    );
}

struct Function {
    store: Arc<dyn Store>,
    bus: Arc<Tee>,
}

fn function(endpoint: &str, p: &Principal, clock: &Arc<ManualClock>) -> Function {
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(
        dynamo_client(endpoint, p),
        moto::TABLE,
        clock.clone(),
    ));
    let bus = Arc::new(Tee {
        real: EventBridgeBus::new(events_client(endpoint, p), BUS),
        copy: RecordingBus::default(),
    });
    Function { store, bus }
}

fn edge(f: &Function, clock: &Arc<ManualClock>, serves: Serves) -> Edge {
    test_settings()
        .build_edge(
            serves,
            Arc::new(CommandRegistry::standard()),
            clock.clone(),
            Arc::clone(&f.store),
        )
        .expect("test settings make an edge")
        .with_slack_web(Arc::new(RecordingSlackWeb::new()))
        .with_bus(f.bus.clone())
}

fn snowflake() -> String {
    snowflake_from("15425452969986")
}

fn opt(name: &str, kind: u8, value: Value) -> Value {
    json!({ "name": name, "type": kind, "value": value })
}

/// Every Discord command path the function serves that touches the store.
async fn discord_paths(edge: &Edge, clock: &ManualClock, guild: &str) {
    let send = |name: &'static str, options: Vec<Value>, who: DiscordInvoker| {
        let body = swap(
            payloads::discord_command(&snowflake(), name, Value::Array(options), who),
            payloads::DISCORD_GUILD,
            guild,
        );
        async move { requests::discord(edge, clock, &body).await }
    };
    let click = |id: String| {
        let body = swap(
            payloads::discord_component(&snowflake(), &id, DiscordInvoker::Moderator),
            payloads::DISCORD_GUILD,
            guild,
        );
        async move { requests::discord(edge, clock, &body).await }
    };
    let m = DiscordInvoker::Moderator;
    let member = DiscordInvoker::Member;
    let user = |id: &str| opt("user", 6, json!(id));
    let text = |name: &str, v: &str| opt(name, 3, json!(v));
    let int = |name: &str, v: i64| opt(name, 4, json!(v));

    assert_served("/ping", &send("ping", vec![], member).await);
    assert_served("/help", &send("help", vec![], m).await);
    let set = send(
        "modconfig",
        vec![text("setting", "appeal-cooldown"), text("value", "1h")],
        m,
    )
    .await;
    assert_served("/modconfig", &set);
    assert_served(
        "/warn",
        &send("warn", vec![user(TARGET), text("reason", "spam")], m).await,
    );
    let prompt = send(
        "tempban",
        vec![user(TARGET), text("duration", "1h"), text("reason", "raid")],
        m,
    )
    .await;
    assert_served("/tempban", &prompt);
    assert_served(
        "/tempban confirmed",
        &click(prompt.buttons()[0].clone()).await,
    );
    assert_served("/case", &send("case", vec![int("number", 1)], m).await);
    assert_served(
        "/case edit",
        &send(
            "case",
            vec![int("number", 1), text("reason", "spam, twice")],
            m,
        )
        .await,
    );
    assert_served(
        "/infractions",
        &send("infractions", vec![user(TARGET)], m).await,
    );
    assert_served(
        "/pardon",
        &send("pardon", vec![int("case", 1), text("reason", "mistake")], m).await,
    );
    let report = send(
        "report",
        vec![user(TARGET), text("reason", "posted scam links")],
        member,
    )
    .await;
    assert_served("/report", &report);
    assert_served(
        "/report confirmed",
        &click(report.buttons()[0].clone()).await,
    );
    assert_served("/reports", &send("reports", vec![], m).await);
    assert_served(
        "/remind in",
        &send(
            "remind",
            vec![
                text("action", "in"),
                text("duration", "1h"),
                text("text", "stand-up"),
            ],
            member,
        )
        .await,
    );
    assert_served(
        "/remind list",
        &send("remind", vec![text("action", "list")], member).await,
    );
    assert_served(
        "/remind cancel",
        &send(
            "remind",
            vec![text("action", "cancel"), text("text", "1")],
            member,
        )
        .await,
    );
    assert_served(
        "/remind in again",
        &send(
            "remind",
            vec![
                text("action", "in"),
                text("duration", "30m"),
                text("text", "tea"),
            ],
            member,
        )
        .await,
    );
    assert_served(
        "/economy config",
        &send(
            "economy",
            vec![
                text("action", "config"),
                text("setting", "fines"),
                text("value", "on"),
            ],
            m,
        )
        .await,
    );
    assert_served(
        "/economy give",
        &send(
            "economy",
            vec![
                text("action", "give"),
                user(payloads::DISCORD_MEMBER),
                int("amount", 500),
                text("value", "welcome"),
            ],
            m,
        )
        .await,
    );
    assert_served("/daily", &send("daily", vec![], member).await);
    assert_served(
        "/pay",
        &send("pay", vec![user(TARGET), int("amount", 50)], member).await,
    );
    assert_served("/balance", &send("balance", vec![], member).await);
    assert_served("/leaderboard", &send("leaderboard", vec![], member).await);
    assert_served("/appeals", &send("appeals", vec![], m).await);
}

/// The Slack function's paths: its commands (the same definitions) and a click.
async fn slack_paths(edge: &Edge, clock: &ManualClock, team: &str) {
    let send = |command: &'static str, text: &'static str, user: &'static str| {
        let body = swap(
            swap(
                payloads::slack_command(command, text, &snowflake()),
                payloads::SLACK_USER,
                user,
            ),
            payloads::SLACK_TEAM,
            team,
        );
        async move { requests::slack(edge, clock, "/slack/commands", &body).await }
    };
    let member = payloads::SLACK_USER;
    let moderator = "U0GAVELMOD";
    assert_served("Slack /ping", &send("/ping", "", member).await);
    assert_served(
        "Slack /warn",
        &send("/warn", "<@U0GAVELTGT> spam", moderator).await,
    );
    let prompt = send("/ban", "<@U0GAVELTGT> raid", moderator).await;
    assert_served("Slack /ban", &prompt);
    let action = prompt.body["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .find_map(|e| e["action_id"].as_str().map(str::to_owned))
        .expect("a Confirm button");
    let click = swap(
        payloads::slack_block_action(&action, &snowflake(), moderator),
        payloads::SLACK_TEAM,
        team,
    );
    let clicked = requests::slack(edge, clock, "/slack/interactions", &click).await;
    assert_eq!(clicked.status, 200, "Slack click");
    assert_served(
        "Slack /remind in",
        &send("/remind", "in 1h stand-up", member).await,
    );
    assert_served(
        "Slack /remind cancel",
        &send("/remind", "cancel 1", member).await,
    );
    assert_served(
        "Slack /economy give",
        &send("/economy", "give <@U0GAVELTST> 100 welcome", moderator).await,
    );
    assert_served(
        "Slack /pay",
        &send("/pay", "<@U0GAVELTGT> 10 coffee", member).await,
    );
    assert_served("Slack /daily", &send("/daily", "", member).await);
    assert_served(
        "Slack /leaderboard",
        &send("/leaderboard", "", member).await,
    );
}

/// The Telegram function's paths: a moderator's warning and temporary ban (their rights from
/// the recording Bot API), a member's command, and a click on the ban's prompt.
async fn telegram_paths(edge: &Edge, clock: &ManualClock, chat: i64) {
    use gavel_shared::clock::Clock;
    let moderator = 7001;
    let send = |from: u64, text: &str, reply_to: Option<u64>| {
        let id = snowflake().parse::<i64>().unwrap_or(1) % 1_000_000_000_000;
        let update = payloads::telegram_message(id, chat, from, text, reply_to, clock.now_secs());
        async move { requests::telegram(edge, update.to_string().as_bytes()).await }
    };
    let served = |what: &str, answer: &Answer| {
        assert_eq!(answer.status, 200, "{what}: {:?}", answer.body);
        assert_eq!(
            answer.body["method"], "sendMessage",
            "{what}: {:?}",
            answer.body
        );
        let text = answer.body["text"].as_str().unwrap_or_default();
        assert!(
            !text.contains("could not reach its storage"),
            "{what}: {text}"
        );
    };
    served("Telegram /ping", &send(7002, "/ping", None).await);
    served(
        "Telegram /warn",
        &send(moderator, "/warn spam", Some(7002)).await,
    );
    served(
        "Telegram /tempban",
        &send(moderator, "/tempban 1h raid", Some(7003)).await,
    );
    let prompt = send(moderator, "/ban raid", Some(7004)).await;
    served("Telegram /ban", &prompt);
    let data = requests::callback_data(&prompt.body);
    let confirm = data
        .first()
        .unwrap_or_else(|| panic!("a Confirm button: {}", prompt.body));
    let id = snowflake().parse::<i64>().unwrap_or(1) % 1_000_000_000_000;
    let click = payloads::telegram_click(id, chat, moderator, confirm, clock.now_secs());
    let clicked = requests::telegram(edge, click.to_string().as_bytes()).await;
    assert_eq!(
        clicked.body["method"], "answerCallbackQuery",
        "Telegram click"
    );
}

async fn run_worker(worker: &Worker, jobs: Vec<Job>) {
    for job in jobs {
        let outcome = worker
            .handle(&job, Instant::now() + Duration::from_secs(20))
            .await;
        assert!(
            matches!(outcome, Outcome::Done | Outcome::Duplicate),
            "job {} ({:?}): {outcome:?}",
            job.id,
            job.task
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_runs_on_exactly_what_the_template_grants_it() {
    let moto = moto::moto().await;
    let root = moto::workspace_root();
    let python = root.join(".venv/bin/python");
    let output = Command::new(&python)
        .arg(root.join("tests/support/iam_setup.py"))
        .arg(&moto.endpoint)
        .arg(root.join("template.yaml"))
        .arg(BUS)
        .arg(GROUP)
        .arg(SECRETS)
        .output()
        .expect("iam_setup.py runs");
    assert!(
        output.status.success(),
        "iam_setup.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let setup: Setup = serde_json::from_slice(&output.stdout).expect("iam_setup.py prints JSON");
    let principals = setup
        .functions
        .iter()
        .map(|(name, p)| {
            (
                p.access_key.clone(),
                (
                    name.clone(),
                    p.granted.iter().cloned().collect(),
                    p.secret_ids.values().cloned().collect(),
                ),
            )
        })
        .collect();
    let proxy = Arc::new(Proxy {
        upstream: moto.endpoint.clone(),
        principals,
        http: reqwest::Client::new(),
        seen: Mutex::new(Seen::default()),
    });
    let endpoint = start_proxy(Arc::clone(&proxy)).await;
    // From here on moto checks every call's signature and policy.
    reqwest::Client::new()
        .post(format!("{}/moto-api/reset-auth", moto.endpoint))
        .body("0")
        .send()
        .await
        .expect("moto enforces IAM from now");

    let clock = Arc::new(ManualClock::at_secs(FIXTURE_TIMESTAMP));
    let p = |name: &str| {
        setup
            .functions
            .get(name)
            .unwrap_or_else(|| panic!("{name} in the template"))
            .clone()
    };
    let guild = snowflake();
    let team = format!("T{}", &snowflake()[10..]);

    // Each function's cold start reads the secrets the template names for it, under its own
    // credentials.
    for (name, principal) in &setup.functions {
        let client = secrets_client(&endpoint, principal);
        let ids = principal.secret_ids.clone();
        let loaded = SecretsManager::new(client)
            .load(|variable| ids.get(variable).cloned())
            .await
            .unwrap_or_else(|e| panic!("{name}'s cold start: {e}"));
        assert_eq!(
            loaded.len(),
            principal.secret_ids.len(),
            "{name}: {loaded:?}"
        );
    }
    // The public endpoints never hold the Discord bot token.
    let edge_reads_token =
        SecretsManager::new(secrets_client(&endpoint, &p("DiscordInteractionsFunction")))
            .value(&format!("{SECRETS}/discord-bot-token"))
            .await;
    assert!(edge_reads_token.is_err(), "{edge_reads_token:?}");
    proxy.seen().refused.clear();
    let discord = function(&endpoint, &p("DiscordInteractionsFunction"), &clock);
    discord_paths(&edge(&discord, &clock, Serves::Discord), &clock, &guild).await;
    let slack = function(&endpoint, &p("SlackFunction"), &clock);
    slack_paths(&edge(&slack, &clock, Serves::Slack), &clock, &team).await;
    let telegram = function(&endpoint, &p("TelegramFunction"), &clock);
    let telegram_api = Arc::new(RecordingPlatform::new().with_telegram_admin("7001"));
    let chat = -1_000_000_000_000 - snowflake().parse::<i64>().unwrap_or(1) % 1_000_000_000;
    let telegram_edge = edge(&telegram, &clock, Serves::Telegram).with_telegram_api(telegram_api);
    telegram_paths(&telegram_edge, &clock, chat).await;

    // The worker runs what both published, with one-time schedules.
    let worker_p = p("WorkerFunction");
    let worker_store: Arc<dyn Store> = Arc::new(DynamoStore::new(
        dynamo_client(&endpoint, &worker_p),
        moto::TABLE,
        clock.clone(),
    ));
    let platform = Arc::new(RecordingPlatform::new());
    let worker = Worker::new(
        worker_store,
        clock.clone(),
        Some(platform.clone()),
        Some(platform.clone()),
    )
    .with_telegram(platform)
    .with_scheduler(Arc::new(EventBridgeScheduler::new(
        scheduler_client(&endpoint, &worker_p),
        ScheduleTarget {
            group: GROUP.into(),
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:gavel-maintenance".into(),
            role_arn: "arn:aws:iam::123456789012:role/gavel-scheduler".into(),
            dead_letter_arn: None,
        },
    )));
    let jobs: Vec<Job> = discord
        .bus
        .copy
        .take()
        .into_iter()
        .chain(slack.bus.copy.take())
        .chain(telegram.bus.copy.take())
        .collect();
    assert!(
        jobs.len() >= 5,
        "the commands handed the worker their work: {jobs:?}"
    );
    run_worker(&worker, jobs.clone()).await;
    // At least once: a redelivery meets its claim.
    run_worker(&worker, jobs).await;

    // Maintenance, once the temporary ban and the reminder are due.
    clock.advance_ms(2 * HOUR_MS);
    let maintenance = function(&endpoint, &p("MaintenanceFunction"), &clock);
    let m = Maintenance::new(
        Arc::clone(&maintenance.store),
        maintenance.bus.clone(),
        clock.clone(),
    );
    // Every sweep there is (the enum's own list), the AutoMod audit's included.
    for sweep in Sweep::ALL {
        let report = m.run(sweep, Budget::for_secs(60)).await;
        assert_eq!(report.count("failed"), 0, "{sweep:?}: {report:?}");
    }
    run_worker(&worker, maintenance.bus.copy.take()).await;

    let seen = proxy.seen();
    let mut report = String::from("\nWhat each function's policy grants that no path used:\n");
    for (name, principal) in &setup.functions {
        let used = seen.used.get(name).cloned().unwrap_or_default();
        let unused: Vec<&String> = principal
            .granted
            .iter()
            .filter(|g| !used.contains(*g) && !g.starts_with("iam:"))
            .collect();
        report.push_str(&format!("  {name}: {unused:?} (used: {used:?})\n"));
    }
    println!("{report}");
    assert!(
        seen.refused.is_empty(),
        "calls outside the template's policies:\n  {}\n{report}",
        seen.refused.join("\n  ")
    );
}
