//! `gavel load`: drives a running `gavel serve` with pre-signed requests and reports each kind's
//! throughput and latency as ratios against `GET /healthz` measured in the same run, since
//! absolute numbers on a shared machine mean little.
//!
//! Only loopback targets are accepted, and every run is bounded in count and time.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use ed25519_dalek::SigningKey;
use gavel_shared::commands::CommandRegistry;
use gavel_shared::edge::Route;

use crate::credentials::DevCredentials;
use crate::payloads::{self, Invoker};
use crate::send::post;
use crate::signing::{SignedRequest, sign_discord, sign_slack, unix_now};

#[derive(Clone)]
pub struct LoadOptions {
    pub url: String,
    pub requests: usize,
    pub concurrency: usize,
    pub max_seconds: u64,
}

struct Measured {
    name: &'static str,
    completed: usize,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl Measured {
    fn throughput(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn percentile(&self, p: f64) -> u64 {
        if self.latencies_us.is_empty() {
            return 0;
        }
        let idx = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        self.latencies_us[idx]
    }
}

/// The request kinds driven after the `GET /healthz` baseline, in order.
#[derive(Clone, Copy)]
enum Kind {
    DiscordPing,
    DiscordCommand,
    SlackCommand,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::DiscordPing, Kind::DiscordCommand, Kind::SlackCommand];

    fn name(self) -> &'static str {
        match self {
            Kind::DiscordPing => "discord PING",
            Kind::DiscordCommand => "discord /ping",
            Kind::SlackCommand => "slack /ping",
        }
    }

    fn signed(
        self,
        credentials: &DevCredentials,
        key: &SigningKey,
        registry: &CommandRegistry,
        now: i64,
    ) -> Result<SignedRequest> {
        let member = Invoker { moderator: false };
        Ok(match self {
            Kind::DiscordPing => sign_discord(
                key,
                Route::DiscordInteractions.path(),
                payloads::discord_ping(),
                now,
            ),
            Kind::DiscordCommand => sign_discord(
                key,
                Route::DiscordInteractions.path(),
                payloads::discord_command(registry, "/ping", member)?,
                now,
            ),
            Kind::SlackCommand => sign_slack(
                &credentials.slack_signing_secret,
                Route::SlackCommands.path(),
                "application/x-www-form-urlencoded",
                payloads::slack_command("/ping", member)?,
                now,
            ),
        })
    }
}

/// Load is only ever driven at a server on this machine.
pub fn require_loopback(target: &str) -> Result<()> {
    let url = reqwest::Url::parse(target)?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if !loopback {
        bail!("load is only driven at a server on this machine (127.0.0.0/8, ::1 or localhost)");
    }
    Ok(())
}

pub async fn run(credentials: &DevCredentials, options: LoadOptions) -> Result<()> {
    require_loopback(&options.url)?;
    if options.requests == 0 {
        bail!("--requests must be at least 1");
    }
    let key = credentials.signing_key()?;
    let registry = CommandRegistry::standard();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency)
        .build()?;
    let deadline = Duration::from_secs(options.max_seconds);
    // Open the connections (and wake the server) before anything is measured, so that the
    // first kind does not pay for connection setup the others reuse.
    let warm_up = LoadOptions {
        requests: options.concurrency * 4,
        ..options.clone()
    };
    drive_health(&client, &warm_up, deadline).await?;
    let baseline = drive_health(&client, &options, deadline).await?;
    let mut results = vec![baseline];
    for kind in Kind::ALL {
        // Signed just before they are sent: each kind may run for up to --max-seconds, and a
        // request signed at the start of a long run would fall outside the 5-minute replay
        // window and be refused.
        let now = unix_now();
        let requests = (0..options.requests)
            .map(|_| kind.signed(credentials, &key, &registry, now))
            .collect::<Result<Vec<_>>>()?;
        results.push(
            drive(
                &client,
                &options.url,
                kind.name(),
                requests,
                options.concurrency,
                deadline,
            )
            .await?,
        );
    }

    println!(
        "{:<16} {:>9} {:>10} {:>9} {:>9} {:>12} {:>12}",
        "kind", "requests", "req/s", "p50 µs", "p99 µs", "req/s ratio", "p50 ratio"
    );
    let base = &results[0];
    for m in &results {
        println!(
            "{:<16} {:>9} {:>10.0} {:>9} {:>9} {:>12.2} {:>12.2}",
            m.name,
            m.completed,
            m.throughput(),
            m.percentile(0.5),
            m.percentile(0.99),
            m.throughput() / base.throughput(),
            m.percentile(0.5) as f64 / base.percentile(0.5).max(1) as f64,
        );
    }
    println!("(ratios against GET /healthz in this run: HTTP handling alone, no verification)");
    Ok(())
}

async fn drive_health(
    client: &reqwest::Client,
    options: &LoadOptions,
    deadline: Duration,
) -> Result<Measured> {
    let url = format!(
        "{}{}",
        options.url.trim_end_matches('/'),
        Route::Health.path()
    );
    let started = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..options.concurrency {
        let (client, url, next, total) =
            (client.clone(), url.clone(), next.clone(), options.requests);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total
                && started.elapsed() < deadline
            {
                let t = Instant::now();
                let response = client.get(&url).send().await?;
                if response.status() != 200 {
                    bail!("healthz answered {}", response.status());
                }
                response.bytes().await?;
                latencies.push(t.elapsed().as_micros() as u64);
            }
            Ok(latencies)
        }));
    }
    collect("GET /healthz", tasks, started).await
}

async fn drive(
    client: &reqwest::Client,
    base: &str,
    name: &'static str,
    requests: Vec<SignedRequest>,
    concurrency: usize,
    deadline: Duration,
) -> Result<Measured> {
    let queue = std::sync::Arc::new(std::sync::Mutex::new(requests));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, base, queue) = (client.clone(), base.to_owned(), queue.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let Some(request) = queue.lock().expect("queue lock").pop() else {
                    break;
                };
                if started.elapsed() >= deadline {
                    break;
                }
                let t = Instant::now();
                let answer = post(&client, &base, &request).await?;
                if answer.status != 200 {
                    bail!("{name} answered {}: {}", answer.status, answer.body);
                }
                latencies.push(t.elapsed().as_micros() as u64);
            }
            Ok(latencies)
        }));
    }
    collect(name, tasks, started).await
}

async fn collect(
    name: &'static str,
    tasks: Vec<tokio::task::JoinHandle<Result<Vec<u64>>>>,
    started: Instant,
) -> Result<Measured> {
    let mut latencies_us = Vec::new();
    for task in tasks {
        latencies_us.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies_us.sort_unstable();
    Ok(Measured {
        name,
        completed: latencies_us.len(),
        elapsed,
        latencies_us,
    })
}
