//! `gavel-coldstart`: the cold start and the warm cost of Gavel's Lambda bootstraps, each
//! beside a minimal `lambda_runtime` function (`tests/coldstart-minimal`) built with the same
//! profile and measured in the same run. `scripts/coldstart.sh` builds both and runs this.
//!
//! Each sample starts one function process against a local Runtime API emulator
//! ([`gavel_tests::runtime_api`]), with a Lambda-like environment (credentials in variables, no `~/.aws`, the
//! secrets in moto's Secrets Manager as in the template, the table and the secrets on one moto
//! server), and measures:
//! - **to /next**: wall time from exec to the first `GET /invocation/next` (the init phase);
//! - **init CPU**: the process's CPU time at that moment (every thread, from
//!   `/proc/<pid>/task/*/schedstat`, in nanoseconds: `/proc/<pid>/stat` counts 10 ms ticks);
//! - **first**: wall time from handing out the first event to its answer, and the CPU time from
//!   exec to the end of the first invocation (what a cold request costs in all);
//! - **warm CPU**: CPU per invocation over the warm ones that follow;
//! - **RSS**: `VmHWM` (peak resident set) after the warm invocations.
//!
//! Rounds alternate the subjects so that a noisy neighbour affects both sides of a ratio; the
//! tables give medians and the ratio of medians. Only ratios are meant to be compared between
//! runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gavel_shared::adapters::aws::{EMULATOR_KEY, emulator_config};
use gavel_tests::events::{JSON, http_api_event};
use gavel_tests::payloads::{self, DiscordInvoker};
use gavel_tests::runtime_api::{Emulator, Incoming};
use gavel_tests::{
    SLACK_TEST_SIGNING_SECRET, discord_signed_headers, discord_test_public_key_hex, moto,
    slack_signed_headers,
};
use serde_json::{Value, json};

/// How long a function may take to reach `/next`, or to answer one event.
const STEP_LIMIT: Duration = Duration::from_secs(20);
const COMPONENT_SECRET: &str = "coldstart-component-secret-0123456789";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    DiscordPing,
    SlackUrlVerification,
    DiscordCommand,
}

impl Case {
    fn label(self) -> &'static str {
        match self {
            Case::DiscordPing => "Discord PING",
            Case::SlackUrlVerification => "Slack url_verification",
            Case::DiscordCommand => "Discord /ping on moto",
        }
    }

    /// A freshly signed event (each call a new interaction and a new member, so no claim and
    /// no member's bucket is met twice; commands rotate over [`COMMUNITIES`] communities, so no
    /// community's bucket refuses the warm loop), and what its answer's body must contain.
    fn event(self, n: u64) -> (Value, &'static str) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
            .to_string();
        match self {
            Case::DiscordPing => {
                let body = payloads::discord_ping();
                let headers = discord_signed_headers(&now, &body);
                (
                    http_api_event("POST", "/discord/interactions", &headers, &body, false),
                    r#"\"type\":1"#,
                )
            }
            Case::SlackUrlVerification => {
                let body = payloads::slack_url_verification("coldstart-challenge");
                let headers = slack_signed_headers(JSON, &now, &body);
                (
                    http_api_event("POST", "/slack/events", &headers, &body, false),
                    "coldstart-challenge",
                )
            }
            Case::DiscordCommand => {
                let stamp = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_micros())
                    .unwrap_or_default();
                let interaction = format!("1{stamp:015}{:03}", n % 1000);
                let member = format!("2{stamp:015}{:03}", n % 1000);
                let body = payloads::discord_command(
                    &interaction,
                    "ping",
                    json!([]),
                    DiscordInvoker::Member,
                );
                let body = String::from_utf8(body)
                    .expect("payloads are JSON text")
                    .replace(payloads::DISCORD_MEMBER, &member)
                    .replace(payloads::DISCORD_GUILD, &community(n))
                    .into_bytes();
                let headers = discord_signed_headers(&now, &body);
                (
                    http_api_event("POST", "/discord/interactions", &headers, &body, false),
                    r#"\"type\":4"#,
                )
            }
        }
    }
}

/// How many communities the command case's invocations rotate over. A community's bucket
/// takes 60 commands at once (300 a minute); a warm loop of 100 from one community would spend
/// a third of its invocations on the refusal path. The first command of each community also
/// reads its rate-limit overrides, once per instance.
const COMMUNITIES: u64 = 4;

/// The `n`th invocation's community: the test guild's id with its last digit rotated.
fn community(n: u64) -> String {
    let guild = payloads::DISCORD_GUILD;
    format!("{}{}", &guild[..guild.len() - 1], n % COMMUNITIES)
}

/// One function binary with its environment.
#[derive(Clone)]
struct Subject {
    name: &'static str,
    binary: PathBuf,
    env: Vec<(String, String)>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    to_next: Duration,
    init_cpu: Duration,
    first_wall: Duration,
    first_end_cpu: Duration,
    warm_cpu: Duration,
    warm_wall: Duration,
    hwm_kib: u64,
    /// Bytes written to stdout and stderr (CloudWatch Logs' ingestion) per warm invocation.
    log_bytes: f64,
}

/// CPU time of every thread of `pid`, in nanoseconds (the first field of schedstat).
fn cpu_of(pid: u32) -> Duration {
    let mut total = 0u64;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) {
                total += text
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    Duration::from_nanos(total)
}

fn log_len(log: &Path) -> u64 {
    std::fs::metadata(log).map(|m| m.len()).unwrap_or(0)
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn wait_next(api: &Emulator) -> Result<std::sync::mpsc::Sender<(String, String)>, String> {
    match api.recv(STEP_LIMIT)? {
        Incoming::Next(reply) => Ok(reply),
        Incoming::Failed { path, body } => Err(format!("{path}: {body}")),
        Incoming::Response { id, .. } => Err(format!("an answer to {id} before any event")),
    }
}

fn wait_answer(api: &Emulator, id: &str, expect: &str) -> Result<(), String> {
    match api.recv(STEP_LIMIT)? {
        Incoming::Response { id: got, body } if got == id => {
            if body.contains(expect) {
                Ok(())
            } else {
                Err(format!("unexpected answer to {id}: {body}"))
            }
        }
        Incoming::Response { id: got, .. } => Err(format!("answer to {got}, expected {id}")),
        Incoming::Failed { path, body } => Err(format!("{path}: {body}")),
        Incoming::Next(_) => Err("asked for an event before answering".to_owned()),
    }
}

/// One cold start and `warm` invocations after it.
fn sample(subject: &Subject, case: Case, warm: u32, log: &Path) -> Result<Sample, String> {
    let api = Emulator::start().map_err(|e| format!("emulator: {e}"))?;
    let log_file = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let home = std::env::temp_dir().join("gavel-coldstart-home");
    let _ = std::fs::create_dir_all(&home);
    let started = Instant::now();
    let mut child = Command::new(&subject.binary)
        .env_clear()
        .envs(subject.env.iter().map(|(k, v)| (k, v)))
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("HOME", &home)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("{}: {e}", subject.binary.display()))?;
    let pid = child.id();
    let result: Result<Sample, String> = (|| {
        let mut s = Sample::default();
        let mut reply = wait_next(&api)?;
        s.to_next = started.elapsed();
        s.init_cpu = cpu_of(pid);
        let mut n = 0u64;
        let mut invoke = |reply: std::sync::mpsc::Sender<(String, String)>| {
            n += 1;
            let id = format!("coldstart-{n}");
            let (event, expect) = case.event(n);
            reply
                .send((id.clone(), event.to_string()))
                .map_err(|_| "the connection closed".to_owned())?;
            let sent = Instant::now();
            wait_answer(&api, &id, expect)?;
            let answered = sent.elapsed();
            Ok::<_, String>((answered, wait_next(&api)?))
        };
        let (first, next) = invoke(reply)?;
        reply = next;
        s.first_wall = first;
        s.first_end_cpu = cpu_of(pid);
        let logged_before = log_len(log);
        let mut wall = Duration::ZERO;
        for _ in 0..warm {
            let (took, next) = invoke(reply)?;
            wall += took;
            reply = next;
        }
        s.warm_cpu = (cpu_of(pid) - s.first_end_cpu) / warm.max(1);
        s.warm_wall = wall / warm.max(1);
        s.hwm_kib = status_kib(pid, "VmHWM:");
        s.log_bytes = (log_len(log) - logged_before) as f64 / f64::from(warm.max(1));
        drop(reply);
        Ok(s)
    })();
    let _ = child.kill();
    let _ = child.wait();
    result.map_err(|e| {
        let tail = std::fs::read_to_string(log).unwrap_or_default();
        let tail: String = tail
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        format!("{} ({}): {e}\n{tail}", subject.name, case.label())
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

struct Args {
    bin_dir: PathBuf,
    rounds: u32,
    warm: u32,
}

fn args() -> Args {
    let mut out = Args {
        bin_dir: PathBuf::from("target/bench"),
        rounds: 7,
        warm: 200,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let value = it.next().unwrap_or_default();
        match arg.as_str() {
            "--bin-dir" => out.bin_dir = PathBuf::from(value),
            "--rounds" => out.rounds = value.parse().unwrap_or(out.rounds).clamp(1, 50),
            "--warm" => out.warm = value.parse().unwrap_or(out.warm).clamp(1, 5000),
            other => {
                eprintln!(
                    "usage: gavel-coldstart [--bin-dir DIR] [--rounds N] [--warm N] ({other}?)"
                );
                std::process::exit(2);
            }
        }
    }
    out
}

async fn create_secret(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) {
    // An earlier run on the same moto is impossible (moto is ours and fresh), but be tolerant.
    let _ = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await;
}

#[tokio::main]
async fn main() {
    let args = args();
    let moto = moto::moto().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&emulator_config(
        &moto.endpoint,
        EMULATOR_KEY,
        EMULATOR_KEY,
    ));
    create_secret(&secrets, "coldstart/component-secret", COMPONENT_SECRET).await;
    create_secret(
        &secrets,
        "coldstart/slack-signing-secret",
        SLACK_TEST_SIGNING_SECRET,
    )
    .await;
    create_secret(
        &secrets,
        "coldstart/slack-bot-token",
        "xoxb-coldstart-not-a-token",
    )
    .await;

    // What Lambda puts in every function's environment, and the template's variables.
    let lambda_env = |name: &str| -> Vec<(String, String)> {
        [
            ("AWS_LAMBDA_FUNCTION_NAME", name),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/coldstart"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "coldstart"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", EMULATOR_KEY),
            ("AWS_SECRET_ACCESS_KEY", EMULATOR_KEY),
            ("AWS_SESSION_TOKEN", "coldstart-session"),
            ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
            ("RUST_LOG", "info"),
            ("GAVEL_TABLE", moto.table.as_str()),
            ("GAVEL_BUS", "coldstart-bus"),
            ("GAVEL_METRICS_NAMESPACE", "Gavel/coldstart"),
            ("DISCORD_PUBLIC_KEY", &discord_test_public_key_hex()),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    };
    let bin = |name: &str| args.bin_dir.join(name);
    let discord = Subject {
        name: "discord-interactions",
        binary: bin("discord-interactions"),
        env: [
            lambda_env("discord-interactions"),
            vec![(
                "GAVEL_COMPONENT_SECRET_ID".into(),
                "coldstart/component-secret".into(),
            )],
        ]
        .concat(),
    };
    let slack = Subject {
        name: "slack",
        binary: bin("slack"),
        env: [
            lambda_env("slack"),
            vec![
                (
                    "GAVEL_COMPONENT_SECRET_ID".into(),
                    "coldstart/component-secret".into(),
                ),
                (
                    "SLACK_SIGNING_SECRET_ID".into(),
                    "coldstart/slack-signing-secret".into(),
                ),
                (
                    "SLACK_BOT_TOKEN_ID".into(),
                    "coldstart/slack-bot-token".into(),
                ),
            ],
        ]
        .concat(),
    };
    let minimal = Subject {
        name: "minimal",
        binary: bin("gavel-coldstart-minimal"),
        env: [
            lambda_env("minimal"),
            vec![(
                "SLACK_SIGNING_SECRET".into(),
                SLACK_TEST_SIGNING_SECRET.into(),
            )],
        ]
        .concat(),
    };
    let mut runs: Vec<(Subject, Case)> = vec![
        (minimal.clone(), Case::DiscordPing),
        (discord.clone(), Case::DiscordPing),
        (discord.clone(), Case::DiscordCommand),
    ];
    // The Slack function is measured when it was built (`--skip-slack` saves its build).
    if slack.binary.exists() {
        runs.push((minimal.clone(), Case::SlackUrlVerification));
        runs.push((slack.clone(), Case::SlackUrlVerification));
    }
    let log = std::env::temp_dir().join(format!("gavel-coldstart-{}.log", std::process::id()));
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); runs.len()];
    let (rounds, warm) = (args.rounds, args.warm);
    let work = tokio::task::spawn_blocking(move || {
        for round in 0..rounds {
            // Alternate the order so that neither side always runs first after a pause.
            let mut order: Vec<usize> = (0..runs.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let (subject, case) = &runs[i];
                match sample(subject, *case, warm, &log) {
                    Ok(s) => samples[i].push(s),
                    Err(e) => {
                        eprintln!("{e}");
                        std::process::exit(1);
                    }
                }
            }
            eprintln!("round {}/{rounds} done", round + 1);
        }
        (runs, samples)
    });
    let (runs, samples) = work.await.expect("the runs finished");
    report(&runs, &samples, &args);
}

fn report(runs: &[(Subject, Case)], samples: &[Vec<Sample>], args: &Args) {
    let med = |i: usize, f: fn(&Sample) -> f64| median(samples[i].iter().map(f).collect());
    type Metric = (&'static str, fn(&Sample) -> f64, &'static str);
    let metrics: [Metric; 8] = [
        ("to /next (wall)", |s| ms(s.to_next), "ms"),
        ("init CPU (exec to /next)", |s| ms(s.init_cpu), "ms"),
        ("first invocation (wall)", |s| ms(s.first_wall), "ms"),
        (
            "CPU exec to end of first invocation",
            |s| ms(s.first_end_cpu),
            "ms",
        ),
        ("warm CPU per invocation", |s| ms(s.warm_cpu) * 1000.0, "µs"),
        ("warm invocation (wall)", |s| ms(s.warm_wall) * 1000.0, "µs"),
        ("peak RSS (VmHWM)", |s| s.hwm_kib as f64 / 1024.0, "MiB"),
        ("log bytes per warm invocation", |s| s.log_bytes, "B"),
    ];
    println!(
        "gavel-coldstart: {} rounds, {} warm invocations each, binaries from {}\n",
        args.rounds,
        args.warm,
        args.bin_dir.display()
    );
    // Pairs: (subject run, baseline run). The command has no minimal twin; its baseline is the
    // minimal function's PING, the cheapest thing a Discord endpoint can do.
    let pairs = [(1usize, 0usize), (2, 0), (4, 3)];
    for (run, base) in pairs.into_iter().filter(|(run, _)| *run < runs.len()) {
        println!(
            "### {} ({}) against minimal {}\n",
            runs[run].1.label(),
            runs[run].0.name,
            runs[base].1.label()
        );
        println!("| metric | minimal | {} | ratio |", runs[run].0.name);
        println!("|---|---|---|---|");
        for (name, f, unit) in metrics {
            let (b, v) = (med(base, f), med(run, f));
            let ratio = if b > 0.0 {
                format!("**{:.2}x**", v / b)
            } else {
                "n/a".to_owned()
            };
            println!("| {name} | {b:.2} {unit} | {v:.2} {unit} | {ratio} |");
        }
        println!();
    }
    println!("| binary | bytes |");
    println!("|---|---|");
    for name in ["gavel-coldstart-minimal", "discord-interactions", "slack"] {
        let size = std::fs::metadata(args.bin_dir.join(name))
            .map(|m| m.len())
            .unwrap_or(0);
        println!("| {name} | {size} |");
    }
}
