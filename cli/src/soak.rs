//! `gavel soak`: sustained mixed traffic against a running `gavel serve` (loopback only,
//! bounded in time), reporting every window the requests handled, the unexpected answers,
//! p50/p99 latency and the server's resident memory, then whether that memory stayed flat
//! after the warm-up.
//!
//! The traffic is what a busy community sends: reports with a reason (a prompt and its flow
//! state) confirmed with a click (the report filed, a job for the worker), reminders (an item,
//! a schedule), Slack events (each claimed by its id), PINGs, and forged requests, which must
//! be refused. Members and communities rotate, so rate limits shape the traffic no more than
//! real ones would.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ed25519_dalek::SigningKey;
use gavel_shared::commands::CommandRegistry;
use gavel_shared::edge::Route;
use serde_json::{Value, json};

use crate::credentials::DevCredentials;
use crate::payloads::{self, DEMO_GUILD, DEMO_USER, Invoker};
use crate::send::{Answer, post};
use crate::signing::{sign_discord, sign_slack, unix_now};

#[derive(Clone, Debug)]
pub struct SoakOptions {
    pub url: String,
    pub seconds: u64,
    pub window_secs: u64,
    pub concurrency: usize,
    /// The server's process, whose resident memory is sampled.
    pub pid: Option<u32>,
    /// Memory after the warm-up may grow by at most this fraction.
    pub max_growth: f64,
}

/// One window's figures.
#[derive(Default)]
struct Window {
    requests: u64,
    errors: u64,
    latencies_us: Vec<u64>,
}

/// What one request of the mix was and how it went.
struct Outcome {
    ok: bool,
    latency_us: u64,
}

struct Mix {
    url: String,
    client: reqwest::Client,
    registry: CommandRegistry,
    key: SigningKey,
    forger: SigningKey,
    slack_secret: String,
    next: AtomicU64,
}

impl Mix {
    /// A member and community for the n-th request: 5,000 members in 50 communities.
    fn who(&self, n: u64) -> (String, String) {
        (format!("2{:017}", n % 5_000), format!("3{:017}", n % 50))
    }

    /// `body` as this member of this community sent it.
    fn as_member(body: Vec<u8>, member: &str, guild: &str) -> Vec<u8> {
        String::from_utf8_lossy(&body)
            .replace(DEMO_USER, member)
            .replace(DEMO_GUILD, guild)
            .into_bytes()
    }

    async fn discord(&self, body: Vec<u8>) -> Result<(Answer, u64)> {
        let request = sign_discord(
            &self.key,
            Route::DiscordInteractions.path(),
            body,
            unix_now(),
        );
        let started = Instant::now();
        let answer = post(&self.client, &self.url, &request).await?;
        Ok((answer, started.elapsed().as_micros() as u64))
    }

    /// The n-th request of the mix (some kinds are two requests: a prompt and its click).
    async fn one(&self, n: u64) -> Vec<Outcome> {
        let member = Invoker { moderator: false };
        let (user, guild) = self.who(n);
        let result: Result<Vec<Outcome>> = async {
            Ok(match n % 6 {
                0 | 1 => {
                    let line = format!("/report user=4{:017} reason=posted-the-same-link-twice", n % 997);
                    let body = payloads::discord_command(&self.registry, &line, member)?;
                    let (prompt, t1) = self.discord(Self::as_member(body, &user, &guild)).await?;
                    let mut out = vec![Outcome { ok: prompt.status == 200, latency_us: t1 }];
                    let confirm = prompt
                        .json()
                        .and_then(|j| first_button(&j))
                        .context("a prompt with Confirm")?;
                    let click = payloads::discord_component(&confirm, member)?;
                    let (clicked, t2) = self.discord(Self::as_member(click, &user, &guild)).await?;
                    out.push(Outcome { ok: clicked.status == 200, latency_us: t2 });
                    out
                }
                2 => {
                    let body = payloads::discord_command(
                        &self.registry,
                        "/remind action=in duration=2h text=stand-up",
                        member,
                    )?;
                    let (answer, t) = self.discord(Self::as_member(body, &user, &guild)).await?;
                    vec![Outcome { ok: answer.status == 200, latency_us: t }]
                }
                3 => {
                    let body = json!({
                        "type": "event_callback",
                        "team_id": "T0GAVELDEV",
                        "api_app_id": "A0GAVELDEV",
                        "event_id": format!("Ev{n:012}"),
                        "event_time": unix_now(),
                        "event": { "type": "message", "user": "U0GAVELDEV", "text": "hello", "channel": "C0GAVELDEV", "ts": "1.2" }
                    })
                    .to_string()
                    .into_bytes();
                    let request = sign_slack(
                        &self.slack_secret,
                        Route::SlackEvents.path(),
                        "application/json",
                        body,
                        unix_now(),
                    );
                    let started = Instant::now();
                    let answer = post(&self.client, &self.url, &request).await?;
                    vec![Outcome { ok: answer.status == 200, latency_us: started.elapsed().as_micros() as u64 }]
                }
                4 => {
                    let (answer, t) = self.discord(payloads::discord_ping()).await?;
                    vec![Outcome { ok: answer.status == 200, latency_us: t }]
                }
                _ => {
                    // A forgery: signed with a key that is not the application's.
                    let request = sign_discord(
                        &self.forger,
                        Route::DiscordInteractions.path(),
                        payloads::discord_ping(),
                        unix_now(),
                    );
                    let started = Instant::now();
                    let answer = post(&self.client, &self.url, &request).await?;
                    vec![Outcome { ok: answer.status == 401, latency_us: started.elapsed().as_micros() as u64 }]
                }
            })
        }
        .await;
        result.unwrap_or_else(|error| {
            tracing::warn!(%error, "soak request failed");
            vec![Outcome {
                ok: false,
                latency_us: 0,
            }]
        })
    }
}

fn first_button(answer: &Value) -> Option<String> {
    answer["data"]["components"][0]["components"][0]["custom_id"]
        .as_str()
        .map(str::to_owned)
}

/// The resident memory of `pid` in KiB (Linux `/proc`).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub async fn run(credentials: &DevCredentials, options: SoakOptions) -> Result<()> {
    crate::load::require_loopback(&options.url)?;
    if options.seconds == 0 || options.seconds > 3 * 3600 {
        bail!("--seconds must be 1 to 10800");
    }
    let mix = Arc::new(Mix {
        url: options.url.clone(),
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(options.concurrency)
            .timeout(Duration::from_secs(10))
            .build()?,
        registry: CommandRegistry::standard(),
        key: credentials.signing_key()?,
        forger: SigningKey::from_bytes(&[9; 32]),
        slack_secret: credentials.slack_signing_secret.clone(),
        next: AtomicU64::new(0),
    });
    let started = Instant::now();
    let end = started + Duration::from_secs(options.seconds);
    let window = Duration::from_secs(options.window_secs.max(1));
    let current = Arc::new(std::sync::Mutex::new(Window::default()));
    let mut workers = Vec::new();
    for _ in 0..options.concurrency.max(1) {
        let (mix, current) = (Arc::clone(&mix), Arc::clone(&current));
        workers.push(tokio::spawn(async move {
            while Instant::now() < end {
                let n = mix.next.fetch_add(1, Ordering::Relaxed);
                let outcomes = mix.one(n).await;
                let mut w = current.lock().unwrap_or_else(|p| p.into_inner());
                for outcome in outcomes {
                    w.requests += 1;
                    if !outcome.ok {
                        w.errors += 1;
                    }
                    w.latencies_us.push(outcome.latency_us);
                }
            }
        }));
    }
    println!(
        "{:>6} {:>9} {:>7} {:>9} {:>9} {:>10}",
        "t (s)", "requests", "errors", "p50 µs", "p99 µs", "RSS KiB"
    );
    let mut samples: Vec<u64> = Vec::new();
    let mut total_errors = 0;
    let mut total = 0;
    let mut next_report = started + window;
    while next_report <= end + Duration::from_millis(500) {
        tokio::time::sleep_until(next_report.into()).await;
        let mut w = std::mem::take(&mut *current.lock().unwrap_or_else(|p| p.into_inner()));
        w.latencies_us.sort_unstable();
        let rss = options.pid.and_then(rss_kib);
        if let Some(rss) = rss {
            samples.push(rss);
        }
        total_errors += w.errors;
        total += w.requests;
        println!(
            "{:>6} {:>9} {:>7} {:>9} {:>9} {:>10}",
            started.elapsed().as_secs(),
            w.requests,
            w.errors,
            percentile(&w.latencies_us, 0.5),
            percentile(&w.latencies_us, 0.99),
            rss.map_or("-".to_owned(), |r| r.to_string())
        );
        next_report += window;
    }
    for worker in workers {
        let _ = worker.await;
    }
    println!("{total} requests, {total_errors} unexpected answers");
    if total_errors > 0 {
        bail!("{total_errors} of {total} requests were answered unexpectedly");
    }
    // Memory after the warm-up (the first third of the windows) may not grow past the limit.
    let warm = samples.len() / 3;
    if let (Some(&base), Some(&peak)) = (samples.get(warm), samples[warm..].iter().max()) {
        let growth = peak as f64 / base.max(1) as f64 - 1.0;
        println!(
            "RSS after warm-up: {base} KiB, at most {peak} KiB ({:+.1}%, limit {:+.0}%)",
            growth * 100.0,
            options.max_growth * 100.0
        );
        if growth > options.max_growth {
            bail!("RSS grew {:.1}% after the warm-up", growth * 100.0);
        }
    }
    Ok(())
}
