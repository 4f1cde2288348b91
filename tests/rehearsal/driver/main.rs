//! `gavel-rehearse`: the deploy rehearsal's driver (`scripts/rehearse.sh` runs it). It reads
//! the plan (`tests/rehearsal/plan.py`: the template as SAM translates it for one samconfig
//! environment, every value resolved) and the principals (`provision.py`: what it created on
//! moto, one IAM user per role), then starts each function's real bootstrap under a Lambda
//! Runtime API emulator with exactly its planned environment and its role's credentials, and
//! walks every path through the stack:
//!
//! - every HTTP route of each edge function, through each way the plan exposes it (the HTTP
//!   API, a function URL): a forged request must get 401;
//! - every command of the registry on every platform, with options drawn from its spec, and the
//!   first button of every answer that has one (the flows' confirmations);
//! - every job those published, as the jobs queue hands them to the worker (SQS batches polled
//!   with the worker's role, the messages done deleted), and one job of every `Task` variant
//!   (the variants read from the enum itself, so a new one cannot be forgotten);
//! - every maintenance schedule's input, invoked as the scheduler role, and every `Sweep`
//!   variant must be in some schedule.
//!
//! It fails on a function that cannot start, a call its role does not allow (the proxy in
//! [`iam`] checks actions, resources and conditions), an error in a function's log, a message
//! left in a dead-letter queue, an alarm whose metric nobody emits, or a resource without tags;
//! it reports each granted action no path used. Its last line:
//! `rehearsal: <env>: <n> functions started, <n> calls, <n> denied, <n> dead letters`.

mod fakes;
mod iam;

#[path = "../../support/telegram_fake.rs"]
#[allow(dead_code)]
mod telegram_fake;

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gavel_shared::adapters::aws::emulator_config;
use gavel_shared::commands::{CommandRegistry, OptionKind};
use gavel_shared::jobs::{Sweep, Task};
use gavel_tests::events::http_api_event;
use gavel_tests::payloads::{self, DiscordInvoker};
use gavel_tests::requests::swap;
use gavel_tests::runtime_api::{Emulator, FunctionInfo, Incoming};
use gavel_tests::{discord_signature_with, slack_signature_with};
use serde_json::{Value, json};

const STEP: Duration = Duration::from_secs(30);
const TARGET: &str = "1174109840998400077";
const TELEGRAM_ADMIN: u64 = 7001;
const TELEGRAM_MEMBER: u64 = 7002;
const TELEGRAM_GROUP: i64 = -1_001_234_567_890;

struct Args {
    plan: PathBuf,
    principals: PathBuf,
    bin_dir: PathBuf,
    moto: String,
    logs: PathBuf,
    slack_signing_secret: String,
}

fn args() -> Result<Args, String> {
    let mut found = BTreeMap::new();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        found.insert(flag.trim_start_matches("--").to_owned(), value);
    }
    let mut take = |name: &str| {
        found
            .remove(name)
            .ok_or_else(|| format!("--{name} is required"))
    };
    Ok(Args {
        plan: take("plan")?.into(),
        principals: take("principals")?.into(),
        bin_dir: take("bin-dir")?.into(),
        moto: take("moto")?,
        logs: take("logs")?.into(),
        slack_signing_secret: take("slack-signing-secret")?,
    })
}

/// Everything that went wrong; the run fails if any.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    fn fail(&mut self, what: impl Into<String>) {
        let what = what.into();
        eprintln!("rehearsal: FAIL {what}");
        self.0.push(what);
    }
}

/// One function's bootstrap, waiting at the Runtime API.
struct Running {
    name: String,
    api: Emulator,
    child: Child,
    log: PathBuf,
    next: Option<Sender<(String, String)>>,
    invoked: u64,
}

impl Running {
    fn start(
        name: &str,
        binary: &Path,
        env: &BTreeMap<String, String>,
        info: FunctionInfo,
        log: PathBuf,
    ) -> Result<Self, String> {
        let api = Emulator::start_for(info).map_err(|e| format!("emulator: {e}"))?;
        let file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let child = Command::new(binary)
            .env_clear()
            .envs(env)
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .stdin(Stdio::null())
            .stdout(file.try_clone().map_err(|e| e.to_string())?)
            .stderr(file)
            .spawn()
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        let mut running = Self {
            name: name.to_owned(),
            api,
            child,
            log,
            next: None,
            invoked: 0,
        };
        // A cold start that fails ends the process before it asks for an event (what Lambda
        // reports as an init error): say so at once, with what it logged.
        let started = std::time::Instant::now();
        loop {
            match running.api.recv(Duration::from_millis(200)) {
                Ok(Incoming::Next(reply)) => {
                    running.next = Some(reply);
                    return Ok(running);
                }
                Ok(Incoming::Failed { path, body }) => return Err(format!("{path}: {body}")),
                Ok(Incoming::Response { id, .. }) => {
                    return Err(format!("an answer to {id} before any event"));
                }
                Err(_) if started.elapsed() > STEP => {
                    return Err(format!("no call to the Runtime API within {STEP:?}"));
                }
                Err(_) => {}
            }
            if let Ok(Some(status)) = running.child.try_wait() {
                let log = std::fs::read_to_string(&running.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(3).collect();
                return Err(format!(
                    "it exited ({status}) at its cold start: {}",
                    tail.join(" | ")
                ));
            }
        }
    }

    fn wait_next(&self) -> Result<Sender<(String, String)>, String> {
        match self.api.recv(STEP)? {
            Incoming::Next(reply) => Ok(reply),
            Incoming::Failed { path, body } => Err(format!("{}: {path}: {body}", self.name)),
            Incoming::Response { id, .. } => {
                Err(format!("{}: an answer to {id} before any event", self.name))
            }
        }
    }

    /// Hands `event` to the function; its answer, or the error it reported.
    fn invoke(&mut self, event: &Value) -> Result<Value, String> {
        self.invoked += 1;
        let id = format!("rehearsal-{}-{}", self.name, self.invoked);
        let reply = self
            .next
            .take()
            .ok_or("the function is not waiting for an event")?;
        reply
            .send((id.clone(), event.to_string()))
            .map_err(|_| format!("{}: the connection closed", self.name))?;
        let answer = match self.api.recv(STEP)? {
            Incoming::Response { id: got, body } if got == id => {
                Ok(serde_json::from_str(&body).unwrap_or(Value::String(body)))
            }
            Incoming::Response { id: got, .. } => Err(format!("answer to {got}, expected {id}")),
            Incoming::Failed { path, body } => Err(format!("{}: {path}: {body}", self.name)),
            Incoming::Next(_) => Err("asked for an event before answering".to_owned()),
        };
        self.next = Some(self.wait_next()?);
        answer
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    (1_174_109_840_998_600_000u64 + (now() as u64 % 100_000) * 1000 + n).to_string()
}

/// The variant names of a serde-tagged enum, read from the enum itself: serde's error for an
/// unknown variant lists every known one.
fn variants<T: serde::de::DeserializeOwned>(probe: Value) -> Vec<String> {
    match serde_json::from_value::<T>(probe) {
        Ok(_) => Vec::new(),
        Err(e) => {
            let text = e.to_string();
            text.split("expected one of ")
                .nth(1)
                .unwrap_or_default()
                .split(", ")
                .map(|v| {
                    v.trim_matches(|c: char| c == '`' || c.is_whitespace())
                        .to_owned()
                })
                .filter(|v| !v.is_empty() && !v.contains(' '))
                .collect()
        }
    }
}

/// A metric a function's EMF lines declared: namespace, name, dimensions with their values.
type Emitted = (String, String, Vec<(String, String)>);

struct Stack {
    functions: BTreeMap<String, Running>,
    /// HTTP path → the function serving it, and the ways in (http-api, function-url).
    routes: BTreeMap<String, (String, Vec<String>)>,
    discord_seed: [u8; 32],
    slack_secret: String,
    telegram_secret: String,
    slack_hooks: String,
}

impl Stack {
    fn serving(&self, path: &str) -> Option<&str> {
        self.routes.get(path).map(|(f, _)| f.as_str())
    }

    fn post(
        &mut self,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<(u16, Value), String> {
        let function = self
            .serving(path)
            .ok_or_else(|| format!("no function serves {path}"))?
            .to_owned();
        let event = http_api_event("POST", path, headers, body, false);
        let running = self.functions.get_mut(&function).ok_or("not running")?;
        let answer = running.invoke(&event)?;
        let status = answer["statusCode"].as_u64().unwrap_or(0) as u16;
        let body = answer["body"]
            .as_str()
            .map(|b| serde_json::from_str(b).unwrap_or(Value::String(b.to_owned())))
            .unwrap_or(Value::Null);
        Ok((status, body))
    }

    fn discord(&mut self, body: Vec<u8>) -> Result<(u16, Value), String> {
        let ts = now().to_string();
        let signature = discord_signature_with(self.discord_seed, &ts, &body);
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("x-signature-ed25519", signature),
            ("x-signature-timestamp", ts),
        ];
        self.post("/discord/interactions", &headers, &body)
    }

    fn slack(&mut self, path: &str, body: Vec<u8>) -> Result<(u16, Value), String> {
        // The payloads name Slack's hooks; the worker posts to the fake's.
        let body = swap(
            body,
            "https%3A%2F%2Fhooks.slack.com",
            &urlencode(&self.slack_hooks),
        );
        let body = swap(
            body,
            "https:\\/\\/hooks.slack.com",
            &self.slack_hooks.replace('/', "\\/"),
        );
        let body = swap(body, "https://hooks.slack.com", &self.slack_hooks);
        let ts = now().to_string();
        let content_type = if path == "/slack/events" {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        };
        let headers = [
            ("content-type", content_type.to_owned()),
            (
                "x-slack-signature",
                slack_signature_with(&self.slack_secret, &ts, &body),
            ),
            ("x-slack-request-timestamp", ts),
        ];
        self.post(path, &headers, &body)
    }

    fn telegram(&mut self, update: Value) -> Result<(u16, Value), String> {
        let headers = [
            ("content-type", "application/json".to_owned()),
            (
                "x-telegram-bot-api-secret-token",
                self.telegram_secret.clone(),
            ),
        ];
        self.post("/telegram/webhook", &headers, update.to_string().as_bytes())
    }
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("x", text)]).unwrap_or_default()[2..].to_owned()
}

/// An answer that shows a stack problem (storage, a job not queued) is a finding.
fn served(findings: &mut Findings, what: &str, answer: Result<(u16, Value), String>) -> Value {
    if std::env::var_os("REHEARSAL_VERBOSE").is_some() {
        eprintln!("rehearsal: {what}: {answer:?}");
    }
    match answer {
        Ok((200, body)) => {
            let text = body.to_string();
            for sign in [
                "could not reach my storage",
                "could not read",
                "Please try again",
                "try again in a moment",
            ] {
                if text.contains(sign) {
                    findings.fail(format!("{what}: answered {text}"));
                }
            }
            body
        }
        Ok((status, body)) => {
            findings.fail(format!("{what}: HTTP {status} {body}"));
            Value::Null
        }
        Err(e) => {
            findings.fail(format!("{what}: {e}"));
            Value::Null
        }
    }
}

/// A value for an option, by its kind and name, on Discord (type, value) and Slack (text).
fn option_value(name: &str, kind: &OptionKind) -> (u8, Value, String) {
    match kind {
        OptionKind::User => (6, json!(TARGET), "<@U0TARGET|target>".to_owned()),
        OptionKind::Channel => (
            7,
            json!(payloads::DISCORD_CHANNEL),
            format!("<#{}|general>", payloads::SLACK_CHANNEL),
        ),
        OptionKind::Integer => (4, json!(1), "1".into()),
        OptionKind::Duration => (3, json!("1h"), "1h".into()),
        OptionKind::Choice(words) => {
            let word = words.first().copied().unwrap_or_default();
            (3, json!(word), word.to_owned())
        }
        OptionKind::String => {
            let text = match name {
                "text" | "message" => "hello from the rehearsal",
                _ => "rehearsal",
            };
            (3, json!(text), text.to_owned())
        }
    }
}

fn discord_buttons(body: &Value) -> Vec<String> {
    gavel_tests::requests::button_ids(&body["data"])
}

fn slack_actions(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for block in body["blocks"].as_array().into_iter().flatten() {
        for element in block["elements"].as_array().into_iter().flatten() {
            if let Some(id) = element["action_id"].as_str() {
                out.push(id.to_owned());
            }
        }
    }
    out
}

/// The command once per word of its required choice (`/automod sync`, `/automod list`, ...),
/// or once if it has none.
fn choices(
    spec: &&'static gavel_shared::commands::CommandSpec,
) -> Vec<(
    &'static gavel_shared::commands::CommandSpec,
    Option<&'static str>,
)> {
    let words = spec.options.iter().find_map(|o| match o.kind {
        OptionKind::Choice(words) if o.required => Some(words),
        _ => None,
    });
    match words {
        Some(words) => words.iter().map(|w| (*spec, Some(*w))).collect(),
        None => vec![(*spec, None)],
    }
}

/// Every command of the registry on each platform whose edge the plan has, each button once.
fn walk_commands(stack: &mut Stack, findings: &mut Findings) -> BTreeSet<String> {
    let registry = CommandRegistry::standard();
    let mut walked = BTreeSet::new();
    let specs: Vec<_> = registry.specs().collect();
    let guild = payloads::DISCORD_GUILD;
    if stack.serving("/discord/interactions").is_some() {
        let (status, body) = stack
            .discord(payloads::discord_ping())
            .unwrap_or((0, Value::Null));
        if status != 200 || body["type"] != 1 {
            findings.fail(format!("Discord PING: {status} {body}"));
        }
        for (spec, choice) in specs.iter().flat_map(|s| choices(s)) {
            let options: Vec<Value> = spec
                .options
                .iter()
                .filter(|o| o.required || o.name == "reason" || o.name == "value")
                .map(|o| {
                    let (kind, value, _) = option_value(o.name, &o.kind);
                    let value = match (&o.kind, choice) {
                        (OptionKind::Choice(_), Some(word)) if o.required => json!(word),
                        _ => value,
                    };
                    json!({ "name": o.name, "type": kind, "value": value })
                })
                .collect();
            let body = swap(
                payloads::discord_command(
                    &unique(),
                    spec.name,
                    Value::Array(options),
                    DiscordInvoker::Moderator,
                ),
                payloads::DISCORD_GUILD,
                guild,
            );
            let answer = served(
                findings,
                &format!("Discord /{}", spec.name),
                stack.discord(body),
            );
            walked.insert(format!(
                "discord /{} {}",
                spec.name,
                choice.unwrap_or_default()
            ));
            if let Some(button) = discord_buttons(&answer).first() {
                let click =
                    payloads::discord_component(&unique(), button, DiscordInvoker::Moderator);
                served(
                    findings,
                    &format!("Discord /{} button", spec.name),
                    stack.discord(click),
                );
            }
        }
        // Native AutoMod end to end: a banned word, then a sync, which the worker turns into
        // the guild's native rules; the audit sweep later reads their hits into cases.
        // A rule that mutes is one Discord's AutoMod can carry out (a timeout).
        for (action, rule, value) in [
            ("add-word", None, Some("rehearsal native")),
            ("action", Some("words"), Some("mute 1h")),
            ("sync", None, None),
        ] {
            let mut options = vec![json!({ "name": "action", "type": 3, "value": action })];
            if let Some(rule) = rule {
                options.push(json!({ "name": "rule", "type": 3, "value": rule }));
            }
            if let Some(value) = value {
                options.push(json!({ "name": "value", "type": 3, "value": value }));
            }
            let body = payloads::discord_command(
                &unique(),
                "automod",
                Value::Array(options),
                DiscordInvoker::Moderator,
            );
            served(
                findings,
                &format!("Discord /automod {action}"),
                stack.discord(body),
            );
        }
    }
    if stack.serving("/slack/commands").is_some() {
        let (status, body) = stack
            .slack(
                "/slack/events",
                payloads::slack_url_verification("rehearsal-challenge"),
            )
            .unwrap_or((0, Value::Null));
        if status != 200 || !body.to_string().contains("rehearsal-challenge") {
            findings.fail(format!("Slack url_verification: {status} {body}"));
        }
        served(
            findings,
            "Slack message event",
            stack.slack(
                "/slack/events",
                payloads::slack_message_event(&format!("Ev{}", unique())),
            ),
        );
        for (spec, choice) in specs.iter().flat_map(|s| choices(s)) {
            let text: Vec<String> = spec
                .options
                .iter()
                .filter(|o| o.required || o.name == "reason" || o.name == "value")
                .map(|o| match (&o.kind, choice) {
                    (OptionKind::Choice(_), Some(word)) if o.required => word.to_owned(),
                    _ => option_value(o.name, &o.kind).2,
                })
                .collect();
            let trigger = format!("{}.{}.rehearsal", unique(), unique());
            let body =
                payloads::slack_command(&format!("/{}", spec.name), &text.join(" "), &trigger);
            let answer = served(
                findings,
                &format!("Slack /{}", spec.name),
                stack.slack("/slack/commands", body),
            );
            walked.insert(format!(
                "slack /{} {}",
                spec.name,
                choice.unwrap_or_default()
            ));
            if let Some(action) = slack_actions(&answer).first() {
                let click = payloads::slack_block_action(action, &trigger, payloads::SLACK_USER);
                served(
                    findings,
                    &format!("Slack /{} button", spec.name),
                    stack.slack("/slack/interactions", click),
                );
            }
        }
    }
    if stack.serving("/telegram/webhook").is_some() {
        for spec in &specs {
            let words: Vec<String> = spec
                .options
                .iter()
                .filter(|o| {
                    (o.required || o.name == "reason") && !matches!(o.kind, OptionKind::User)
                })
                .map(|o| option_value(o.name, &o.kind).2)
                .collect();
            let text = format!("/{} {}", spec.name, words.join(" "));
            let names_member = spec
                .options
                .iter()
                .any(|o| matches!(o.kind, OptionKind::User));
            let update = payloads::telegram_message(
                unique()[10..].parse().unwrap_or(1),
                TELEGRAM_GROUP,
                TELEGRAM_ADMIN,
                text.trim(),
                names_member.then_some(TELEGRAM_MEMBER),
                now(),
            );
            served(
                findings,
                &format!("Telegram /{}", spec.name),
                stack.telegram(update),
            );
            walked.insert(format!("telegram /{}", spec.name));
        }
    }
    walked
}

/// One job of every `Task` variant, built by hand: the exhaustive match below stops the build
/// when a variant is added without a sample, and the driver holds these against the enum.
fn sample_task(kind: &str) -> Option<Task> {
    use gavel_shared::case_kind::Kind;
    use gavel_shared::jobs::Post;
    use gavel_shared::reply::Reply;
    let task = match kind {
        "set_report_channel" => Task::SetReportChannel {
            channel: payloads::DISCORD_CHANNEL.into(),
        },
        "deliver_report" => Task::DeliverReport {
            target: TARGET.into(),
            reporter: payloads::DISCORD_MEMBER.into(),
            reason: "rehearsal".into(),
            evidence: None,
        },
        "apply_sanction" => Task::ApplySanction {
            case: 1,
            action: Kind::Warning,
            target: TARGET.into(),
            reason: "rehearsal".into(),
            until: None,
            delete_message_secs: 0,
            channel: None,
            dm: None,
            modlog: None,
        },
        "lift_sanction" => Task::LiftSanction {
            case: Some(1),
            action: Kind::Mute,
            target: TARGET.into(),
            reason: "rehearsal".into(),
            dm: None,
            modlog: None,
        },
        "delete_message" => Task::DeleteMessage {
            channel: payloads::DISCORD_CHANNEL.into(),
            message: "1174109840998400555".into(),
            modlog: None,
        },
        "notify" => Task::Notify {
            user: TARGET.into(),
            message: Reply::public("rehearsal"),
        },
        "post" => Task::Post(Post {
            channel: payloads::DISCORD_CHANNEL.into(),
            message: Reply::public("rehearsal"),
        }),
        "schedule" => Task::Schedule {
            wakeup: reminder_wakeup(),
        },
        "unschedule" => Task::Unschedule {
            wakeup: reminder_wakeup(),
        },
        "remind" => Task::Remind {
            user: TARGET.into(),
            channel: Some(payloads::DISCORD_CHANNEL.into()),
            text: "rehearsal".into(),
            set_at: now() - 60,
        },
        "sync_automod" => Task::SyncAutomod {
            guild: payloads::DISCORD_GUILD.into(),
        },
        "ingest_automod_audit" => Task::IngestAutomodAudit {
            guild: payloads::DISCORD_GUILD.into(),
        },
        _ => return None,
    };
    // Exhaustive: a new variant is a compile error here until it has a sample above.
    match &task {
        Task::SetReportChannel { .. }
        | Task::DeliverReport { .. }
        | Task::ApplySanction { .. }
        | Task::LiftSanction { .. }
        | Task::DeleteMessage { .. }
        | Task::Notify { .. }
        | Task::Post(_)
        | Task::Schedule { .. }
        | Task::Unschedule { .. }
        | Task::Remind { .. }
        | Task::SyncAutomod { .. }
        | Task::IngestAutomodAudit { .. } => {}
    }
    Some(task)
}

/// A one-time schedule an hour from now for a reminder (made, then deleted, by the worker).
fn reminder_wakeup() -> gavel_shared::jobs::Wakeup {
    gavel_shared::jobs::Wakeup::DeliverReminder {
        platform: gavel_shared::invocation::Platform::Discord,
        tenant: payloads::DISCORD_GUILD.into(),
        user: TARGET.into(),
        id: 1,
        at: now() + 3600,
    }
}

/// The worker's event source, as Lambda runs it: the jobs queue polled with the worker's own
/// role, each batch handed to the worker, the messages it did deleted, until the queue is empty.
/// How many jobs ran.
#[allow(clippy::too_many_arguments)]
fn drain_jobs(
    stack: &mut Stack,
    runtime: &tokio::runtime::Runtime,
    findings: &mut Findings,
    worker: &Option<(String, Value)>,
    keys: &BTreeMap<String, (String, String)>,
    endpoint: &str,
    queue_urls: &Value,
    region: &str,
) -> usize {
    let mut jobs_run = 0;
    if let Some((worker_name, source)) = worker.clone() {
        let (key, secret) = keys.get(&worker_name).cloned().unwrap_or_default();
        let sqs = aws_sdk_sqs::Client::new(&emulator_config(endpoint, &key, &secret));
        let url = queue_urls[source["queue_logical_id"].as_str().unwrap_or_default()]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        // Lambda reads the queue's attributes when it makes the event source mapping.
        let attributes = runtime.block_on(async {
            sqs.get_queue_attributes()
                .queue_url(&url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
                .send()
                .await
        });
        if let Err(e) = attributes {
            findings.fail(format!(
                "{worker_name} reading the jobs queue's attributes: {e}"
            ));
        }
        let batch = source["batch_size"].as_i64().unwrap_or(10) as i32;
        let mut empty_polls = 0;
        while empty_polls < 2 && jobs_run < 500 {
            let received = runtime.block_on(async {
                sqs.receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(batch.min(10))
                    .wait_time_seconds(1)
                    .send()
                    .await
            });
            let messages = match received {
                Ok(r) => r.messages().to_vec(),
                Err(e) => {
                    findings.fail(format!("{worker_name} polling the jobs queue: {e}"));
                    break;
                }
            };
            if messages.is_empty() {
                empty_polls += 1;
                continue;
            }
            empty_polls = 0;
            let records: Vec<Value> = messages
                .iter()
                .map(|m| json!({ "messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(), "eventSource": "aws:sqs", "eventSourceARN": source["queue_arn"], "awsRegion": region }))
                .collect();
            let Some(running) = stack.functions.get_mut(&worker_name) else {
                break;
            };
            jobs_run += records.len();
            let answer = running.invoke(&json!({ "Records": records }));
            let failed: BTreeSet<String> = match &answer {
                Ok(a) => a["batchItemFailures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
                    .collect(),
                Err(e) => {
                    findings.fail(format!("{worker_name}: {e}"));
                    messages
                        .iter()
                        .filter_map(|m| m.message_id().map(str::to_owned))
                        .collect()
                }
            };
            for m in &messages {
                if failed.contains(m.message_id().unwrap_or_default()) {
                    findings.fail(format!(
                        "{worker_name}: job {:?} went back to the queue",
                        m.body().map(|b| b.chars().take(160).collect::<String>())
                    ));
                    continue;
                }
                let deleted = runtime.block_on(async {
                    sqs.delete_message()
                        .queue_url(&url)
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .send()
                        .await
                });
                if let Err(e) = deleted {
                    findings.fail(format!("{worker_name} deleting a done job: {e}"));
                }
            }
        }
    } else {
        findings.fail("no function polls the jobs queue");
    }

    jobs_run
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("rehearsal: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn run() -> Result<bool, String> {
    let args = args()?;
    let plan = read_json(&args.plan)?;
    let principals = read_json(&args.principals)?;
    let env_name = plan["env"].as_str().unwrap_or("?").to_owned();
    let mode = plan["endpoint_mode"].as_str().unwrap_or("?").to_owned();
    let region = plan["region"].as_str().unwrap_or("us-east-1").to_owned();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut findings = Findings::default();
    std::fs::create_dir_all(&args.logs).map_err(|e| e.to_string())?;

    // Who is who: each function's user carries its role's statements; the scheduler role's too.
    let mut callers = BTreeMap::new();
    let mut keys: BTreeMap<String, (String, String)> = BTreeMap::new();
    let roles: BTreeMap<String, Value> = plan["resources"]["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["logical_id"].as_str().unwrap_or_default().to_owned(),
                r.clone(),
            )
        })
        .collect();
    for (name, p) in principals["principals"].as_object().into_iter().flatten() {
        let statements = match plan["functions"].get(name) {
            Some(f) => f["statements"].clone(),
            None => roles
                .get(name)
                .map(|r| r["statements"].clone())
                .unwrap_or(json!([])),
        };
        let key = p["access_key"].as_str().unwrap_or_default().to_owned();
        callers.insert(
            key.clone(),
            iam::Caller {
                name: name.clone(),
                statements: statements.as_array().cloned().unwrap_or_default(),
            },
        );
        keys.insert(
            name.clone(),
            (key, p["secret_key"].as_str().unwrap_or_default().to_owned()),
        );
    }
    let admin = (
        principals["admin"]["access_key"]
            .as_str()
            .unwrap_or("testing")
            .to_owned(),
        principals["admin"]["secret_key"]
            .as_str()
            .unwrap_or("testing")
            .to_owned(),
    );
    let proxy = Arc::new(iam::Proxy {
        upstream: args.moto.clone(),
        region: region.clone(),
        account: plan["account"]
            .as_str()
            .unwrap_or("123456789012")
            .to_owned(),
        callers,
        secret_arns: Mutex::new(BTreeMap::new()),
        http: reqwest::Client::new(),
        seen: Mutex::new(iam::Seen::default()),
    });
    let admin_config = emulator_config(&args.moto, &admin.0, &admin.1);
    let secrets = aws_sdk_secretsmanager::Client::new(&admin_config);
    // The secrets `gavel deploy secrets` made, by name → ARN (the six random characters).
    let listed = runtime.block_on(async { secrets.list_secrets().max_results(100).send().await });
    let mut telegram_secret = String::new();
    match listed {
        Ok(listed) => {
            let mut arns = proxy.secret_arns.lock().unwrap_or_else(|p| p.into_inner());
            for s in listed.secret_list() {
                if let (Some(name), Some(arn)) = (s.name(), s.arn()) {
                    arns.insert(name.to_owned(), arn.to_owned());
                }
            }
        }
        Err(e) => findings.fail(format!("listing the secrets: {e}")),
    }
    let endpoint = runtime
        .block_on(iam::start(Arc::clone(&proxy)))
        .map_err(|e| e.to_string())?;
    let (discord_api, _discord_calls) = runtime.block_on(fakes::discord());
    let (slack_api, _slack_calls) = runtime.block_on(fakes::slack());
    let (telegram_api, telegram, _) = runtime.block_on(telegram_fake::fake());
    {
        let mut state = telegram.state.lock().unwrap_or_else(|p| p.into_inner());
        state.admins.push(TELEGRAM_ADMIN.to_string());
        state.started.push(TARGET.to_string());
        state.started.push(TELEGRAM_MEMBER.to_string());
    }
    let group = TELEGRAM_GROUP.to_string();
    telegram.set(
        &group,
        &TELEGRAM_MEMBER.to_string(),
        telegram_fake::Status::Member,
    );
    telegram.set(
        &group,
        &TELEGRAM_ADMIN.to_string(),
        telegram_fake::Status::Member,
    );

    // Start every function as Lambda would: its planned environment, its role's keys.
    let mut stack = Stack {
        functions: BTreeMap::new(),
        routes: BTreeMap::new(),
        discord_seed: [0; 32],
        slack_secret: args.slack_signing_secret.clone(),
        telegram_secret: String::new(),
        slack_hooks: format!("{}/hooks", slack_api.uri()),
    };
    if let Some(seed) = plan["made_up_keys"]["DiscordPublicKey"]["ed25519_seed_hex"].as_str() {
        let bytes = hex::decode(seed).unwrap_or_default();
        stack
            .discord_seed
            .copy_from_slice(&bytes[..32.min(bytes.len())]);
    }
    let mut started = 0;
    for (name, function) in plan["functions"].as_object().into_iter().flatten() {
        let binary = args
            .bin_dir
            .join(function["binary"].as_str().unwrap_or_default());
        let Some((key, secret)) = keys.get(name) else {
            findings.fail(format!("{name}: no principal for its role"));
            continue;
        };
        let mut env: BTreeMap<String, String> = function["environment"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect();
        // The driver sends Telegram's header, so it reads the webhook secret as the runbook
        // has `gavel telegram set-webhook` do.
        if let Some(id) = env.get("TELEGRAM_WEBHOOK_SECRET_ID") {
            let value =
                runtime.block_on(async { secrets.get_secret_value().secret_id(id).send().await });
            match value {
                Ok(v) => telegram_secret = v.secret_string().unwrap_or_default().to_owned(),
                Err(e) => findings.fail(format!("reading {id}: {e}")),
            }
        }
        let function_name = function["function_name"]
            .as_str()
            .unwrap_or(name)
            .to_owned();
        let lambda = [
            ("AWS_LAMBDA_FUNCTION_NAME", function_name.clone()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                function["memory"].to_string(),
            ),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                function["logging"]["LogGroup"]
                    .as_str()
                    .unwrap_or("/aws/lambda/x")
                    .to_owned(),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "rehearsal".into()),
            ("AWS_REGION", region.clone()),
            ("AWS_DEFAULT_REGION", region.clone()),
            ("AWS_ACCESS_KEY_ID", key.clone()),
            ("AWS_SECRET_ACCESS_KEY", secret.clone()),
            ("AWS_ENDPOINT_URL", endpoint.clone()),
            ("HOME", std::env::temp_dir().display().to_string()),
            // The platforms' fakes: the only variables the template does not set.
            ("DISCORD_API_BASE", format!("{}/api/v10", discord_api.uri())),
            ("SLACK_API_BASE", format!("{}/api", slack_api.uri())),
            ("SLACK_RESPONSE_URL_PREFIX", stack.slack_hooks.clone()),
            ("TELEGRAM_API_BASE", telegram_api.uri()),
        ];
        for (k, v) in lambda {
            env.insert(k.to_owned(), v);
        }
        let info = FunctionInfo {
            arn: function["arn"].as_str().unwrap_or_default().to_owned(),
            timeout: Duration::from_secs(function["timeout"].as_u64().unwrap_or(10)),
        };
        let log = args.logs.join(format!("{env_name}-{mode}-{name}.log"));
        match Running::start(name, &binary, &env, info, log) {
            Ok(running) => {
                started += 1;
                stack.functions.insert(name.clone(), running);
            }
            Err(e) => findings.fail(format!("{name} did not start: {e}")),
        }
        for event in function["events"].as_array().into_iter().flatten() {
            if event["type"] == "http" {
                let path = event["path"].as_str().unwrap_or_default().to_owned();
                let entry = stack
                    .routes
                    .entry(path)
                    .or_insert_with(|| (name.clone(), Vec::new()));
                entry
                    .1
                    .push(event["via"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    stack.telegram_secret = telegram_secret;

    // Every route the code serves is reachable in the template (the health check is local).
    for route in gavel_shared::edge::Route::ALL {
        if route != gavel_shared::edge::Route::Health && !stack.routes.contains_key(route.path()) {
            findings.fail(format!(
                "{route:?} ({}) is served by no function of the template",
                route.path()
            ));
        }
    }

    // A forged request on every route, through every way in, is refused.
    let routes: Vec<(String, Vec<String>)> = stack
        .routes
        .iter()
        .map(|(p, (_, v))| (p.clone(), v.clone()))
        .collect();
    for (path, ways) in &routes {
        for way in ways {
            let headers = [
                ("content-type", "application/json".to_owned()),
                ("x-signature-ed25519", "00".repeat(64)),
                ("x-signature-timestamp", now().to_string()),
                ("x-slack-signature", "v0=00".to_owned()),
                ("x-slack-request-timestamp", now().to_string()),
                ("x-telegram-bot-api-secret-token", "forged".to_owned()),
            ];
            match stack.post(path, &headers, b"{\"type\":1}") {
                Ok((401, _)) => {}
                other => findings.fail(format!("forged {path} via {way}: {other:?}")),
            }
        }
    }

    // The walk is a moderator's busy afternoon in seconds: the communities raise their rate
    // limits through the stored overrides, as any community can (the demo does the same).
    let table = plan["resources"]["tables"][0]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let store = gavel_shared::adapters::dynamodb::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&admin_config),
        table,
        Arc::new(gavel_shared::clock::SystemClock),
    );
    let telegram_group = TELEGRAM_GROUP.to_string();
    for (platform, id) in [
        (
            gavel_shared::invocation::Platform::Discord,
            payloads::DISCORD_GUILD,
        ),
        (
            gavel_shared::invocation::Platform::Slack,
            payloads::SLACK_TEAM,
        ),
        (
            gavel_shared::invocation::Platform::Telegram,
            telegram_group.as_str(),
        ),
    ] {
        let community = gavel_shared::store::keys::Community::new(platform, id);
        let overrides = json!({
            "moderation": { "capacity": 1000, "window_secs": 60, "burst": 500 },
            "user_command": { "capacity": 1000, "window_secs": 60, "burst": 500 }
        });
        let item = gavel_shared::store::NewItem::new(
            gavel_shared::ratelimit::limiter::RateLimiter::overrides_key(community),
            overrides,
        );
        if let Err(e) = runtime.block_on(gavel_shared::store::Store::create(&store, item)) {
            findings.fail(format!("raising {platform}'s rate limits: {e}"));
        }
    }

    let walked = if stack.functions.len() == plan["functions"].as_object().map_or(0, |f| f.len()) {
        walk_commands(&mut stack, &mut findings)
    } else {
        BTreeSet::new()
    };

    // Every Task variant, as jobs on the bus (what the edges published is already there).
    let task_kinds = variants::<Task>(json!({ "kind": "not-a-task" }));
    if task_kinds.is_empty() {
        findings.fail("could not read Task's variants");
    }
    let events = aws_sdk_eventbridge::Client::new(&admin_config);
    let bus = plan["resources"]["event_buses"][0]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for kind in &task_kinds {
        let Some(task) = sample_task(kind) else {
            findings.fail(format!("no sample job for Task::{kind}"));
            continue;
        };
        let job = gavel_shared::jobs::Job {
            id: format!("rehearsal:{kind}:{}", unique()),
            platform: gavel_shared::invocation::Platform::Discord,
            tenant: payloads::DISCORD_GUILD.into(),
            task,
            reply_to: gavel_shared::jobs::ReplyTarget::Nobody,
            created_at: now(),
        };
        let detail = serde_json::to_string(&job).unwrap_or_default();
        let sent = runtime.block_on(async {
            events
                .put_events()
                .entries(
                    aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                        .event_bus_name(&bus)
                        .source(gavel_shared::adapters::eventbridge::SOURCE)
                        .detail_type(gavel_shared::adapters::eventbridge::DETAIL_TYPE)
                        .detail(detail)
                        .build(),
                )
                .send()
                .await
        });
        if let Err(e) = sent {
            findings.fail(format!("publishing Task::{kind}: {e}"));
        }
    }

    // The worker's event source: the jobs queue, polled with the worker's own role.
    let worker = plan["functions"]
        .as_object()
        .into_iter()
        .flatten()
        .find_map(|(name, f)| {
            f["events"]
                .as_array()?
                .iter()
                .find(|e| e["type"] == "sqs")
                .map(|e| (name.clone(), e.clone()))
        });
    let queue_urls = principals["queues"].clone();
    let mut jobs_run = drain_jobs(
        &mut stack,
        &runtime,
        &mut findings,
        &worker,
        &keys,
        &endpoint,
        &queue_urls,
        &region,
    );

    // Maintenance: each schedule's input, invoked as its role would invoke the function.
    let sweeps = variants::<Sweep>(json!("not-a-sweep"));
    let mut scheduled: BTreeSet<String> = BTreeSet::new();
    for schedule in plan["resources"]["schedules"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let target = schedule["target_arn"].as_str().unwrap_or_default();
        let role = schedule["role_arn"].as_str().unwrap_or_default();
        let role_id = roles
            .iter()
            .find(|(_, r)| r["arn"] == role)
            .map(|(id, _)| id.clone())
            .unwrap_or_default();
        let need = iam::Need {
            action: "lambda:InvokeFunction".into(),
            resource: target.to_owned(),
            context: Vec::new(),
        };
        // Scheduler invokes the function as this role: checked and counted like any call.
        let role_key = keys
            .get(&role_id)
            .map(|(k, _)| k.clone())
            .unwrap_or_default();
        if let Err(why) = proxy.check(&role_key, &[need]) {
            findings.fail(format!("schedule {}: {why}", schedule["logical_id"]));
        }
        let Some((name, _)) = plan["functions"]
            .as_object()
            .into_iter()
            .flatten()
            .find(|(_, f)| f["arn"] == target)
        else {
            findings.fail(format!(
                "schedule {}: targets no function of the stack",
                schedule["logical_id"]
            ));
            continue;
        };
        let input = schedule["input"].clone();
        for sweep in input["run"].as_array().into_iter().flatten() {
            scheduled.insert(sweep.as_str().unwrap_or_default().to_owned());
        }
        if let Some(running) = stack.functions.get_mut(name) {
            match running.invoke(&input) {
                Ok(answer) => {
                    if answer.to_string().contains("\"failed\":")
                        && !answer.to_string().contains("\"failed\":0")
                    {
                        findings.fail(format!("schedule {}: {answer}", schedule["logical_id"]));
                    }
                }
                Err(e) => findings.fail(format!("schedule {}: {e}", schedule["logical_id"])),
            }
        }
    }
    // What the sweeps handed the worker (the audit log read into cases, reminders, lifts).
    jobs_run += drain_jobs(
        &mut stack,
        &runtime,
        &mut findings,
        &worker,
        &keys,
        &endpoint,
        &queue_urls,
        &region,
    );
    for sweep in &sweeps {
        if !scheduled.contains(sweep) {
            findings.fail(format!(
                "Sweep::{sweep} is in no schedule: it would never run"
            ));
        }
    }

    // Dead letters: every queue some redrive policy or rule names as its dead-letter queue.
    let sqs_admin = aws_sdk_sqs::Client::new(&admin_config);
    let mut dead_letters = 0;
    let mut dlqs = BTreeSet::new();
    for queue in plan["resources"]["queues"].as_array().into_iter().flatten() {
        if let Some(policy) = queue["attributes"]["RedrivePolicy"]
            .as_str()
            .and_then(|p| serde_json::from_str::<Value>(p).ok())
        {
            dlqs.insert(
                policy["deadLetterTargetArn"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
    }
    for rule in plan["resources"]["rules"].as_array().into_iter().flatten() {
        for target in rule["targets"].as_array().into_iter().flatten() {
            if let Some(arn) = target["dead_letter_arn"].as_str() {
                dlqs.insert(arn.to_owned());
            }
        }
    }
    for queue in plan["resources"]["queues"].as_array().into_iter().flatten() {
        if !dlqs.contains(queue["arn"].as_str().unwrap_or_default()) {
            continue;
        }
        let url = queue_urls[queue["logical_id"].as_str().unwrap_or_default()]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let count = runtime.block_on(async {
            sqs_admin
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(
                    aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages,
                )
                .send()
                .await
        });
        let n: usize = count
            .ok()
            .and_then(|c| {
                c.attributes()
                    .and_then(|a| {
                        a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                    })
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0);
        if n > 0 {
            findings.fail(format!("{} dead letters in {}", n, queue["name"]));
        }
        dead_letters += n;
    }

    // Stop the functions, then read their logs: errors, and the metrics they emitted.
    let logs: Vec<(String, PathBuf)> = stack
        .functions
        .iter()
        .map(|(n, r)| (n.clone(), r.log.clone()))
        .collect();
    stack.functions.clear();
    let mut emitted: BTreeSet<Emitted> = BTreeSet::new();
    for (name, log) in &logs {
        let Ok(file) = std::fs::File::open(log) else {
            continue;
        };
        for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
            let Ok(value) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if let Some(aws) = value.get("_aws") {
                for directive in aws["CloudWatchMetrics"].as_array().into_iter().flatten() {
                    let namespace = directive["Namespace"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    for dims in directive["Dimensions"].as_array().into_iter().flatten() {
                        let dims: Vec<(String, String)> = dims
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|d| d.as_str())
                            .map(|d| {
                                (
                                    d.to_owned(),
                                    value[d].as_str().unwrap_or_default().to_owned(),
                                )
                            })
                            .collect();
                        for metric in directive["Metrics"].as_array().into_iter().flatten() {
                            emitted.insert((
                                namespace.clone(),
                                metric["Name"].as_str().unwrap_or_default().to_owned(),
                                dims.clone(),
                            ));
                        }
                    }
                }
                continue;
            }
            if value["level"]
                .as_str()
                .is_some_and(|l| l.eq_ignore_ascii_case("error"))
            {
                // What the emulator's signature quirk (see iam::relay) made a function log.
                if line.contains("SignatureDoesNotMatch") {
                    println!("rehearsal: emulator quirk (not failed): {name} logged it");
                    continue;
                }
                findings.fail(format!(
                    "{name} logged an error: {}",
                    line.chars().take(400).collect::<String>()
                ));
            }
        }
    }

    // Alarms: every metric is emitted by Gavel, or is an AWS service's metric of this stack.
    let function_names: BTreeSet<String> = plan["functions"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, f)| f["function_name"].as_str().map(str::to_owned))
        .collect();
    let queue_names: BTreeSet<String> = plan["resources"]["queues"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|q| q["name"].as_str().map(str::to_owned))
        .collect();
    let api_ids: BTreeSet<String> = plan["resources"]["apis"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["id"].as_str().or(a["api_id"].as_str()).map(str::to_owned))
        .collect();
    for alarm in plan["alarms"].as_array().into_iter().flatten() {
        for metric in alarm["metrics"].as_array().into_iter().flatten() {
            let namespace = metric["namespace"].as_str().unwrap_or_default();
            let name = metric["metric_name"].as_str().unwrap_or_default();
            let dims: Vec<(String, String)> = metric["dimensions"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect();
            let ok = match namespace {
                "AWS/Lambda" => dims
                    .iter()
                    .all(|(k, v)| k == "FunctionName" && function_names.contains(v)),
                "AWS/SQS" => dims
                    .iter()
                    .all(|(k, v)| k == "QueueName" && queue_names.contains(v)),
                "AWS/ApiGateway" => dims
                    .iter()
                    .all(|(k, v)| k == "ApiId" && (api_ids.is_empty() || api_ids.contains(v))),
                _ => emitted.iter().any(|(ns, n, d)| {
                    let mut d = d.clone();
                    let mut want = dims.clone();
                    d.sort();
                    want.sort();
                    ns == namespace && n == name && d == want
                }),
            };
            if !ok {
                findings.fail(format!(
                    "alarm {}: nothing emits {namespace} {name} {dims:?}",
                    alarm["name"]
                ));
            }
        }
    }
    if let Some(untagged) = plan["untagged"].as_array().filter(|u| !u.is_empty()) {
        findings.fail(format!("resources without tags: {untagged:?}"));
    }

    // What each role was granted that no path used.
    let seen = proxy.seen();
    println!("rehearsal: {env_name} ({mode}): granted but unused:");
    for caller in proxy.callers.values() {
        let used = seen.used.get(&caller.name).cloned().unwrap_or_default();
        let mut unused = BTreeSet::new();
        for statement in &caller.statements {
            for action in iam::listed(&statement["Action"]) {
                // What Lambda itself does with the role, which the rehearsal does not act out:
                // writing the function's logs, and an async destination's SendMessage.
                if action.starts_with("logs:") || action == "sqs:SendMessage" {
                    continue;
                }
                if !used
                    .iter()
                    .any(|(a, _)| iam::glob(&action.to_ascii_lowercase(), &a.to_ascii_lowercase()))
                {
                    unused.insert(action);
                }
            }
        }
        println!(
            "  {}: {}",
            caller.name,
            if unused.is_empty() {
                "nothing".into()
            } else {
                unused.into_iter().collect::<Vec<_>>().join(", ")
            }
        );
    }
    for quirk in &seen.quirks {
        println!("rehearsal: emulator quirk (not failed): {quirk}");
    }
    for denial in &seen.denied {
        findings.fail(format!("denied: {denial}"));
    }
    println!(
        "rehearsal: {env_name} ({mode}): {} paths walked, {} jobs run, sweeps {:?}, {} metrics emitted",
        walked.len(),
        jobs_run,
        scheduled,
        emitted.len()
    );
    println!(
        "rehearsal: {env_name}: {started} functions started, {} calls, {} denied, {dead_letters} dead letters",
        seen.calls,
        seen.denied.len()
    );
    Ok(findings.0.is_empty())
}
