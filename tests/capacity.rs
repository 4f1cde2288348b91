//! What each path in BENCHMARKS.md's cost table consumes in DynamoDB: round trips and
//! capacity units, counted by the adapter (`round_trips`, with the units computed by DynamoDB's
//! documented rules: see `shared/src/adapters/dynamodb/capacity.rs`) on moto, through the real
//! edge, worker and maintenance code with the standard rate limits.
//!
//! The expected figures are the cost table's inputs. A change that adds a write (or makes an
//! item cross a KB) fails here, naming the path, instead of showing up on a bill; when such a
//! change is meant, update the figures here and the table in BENCHMARKS.md together.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gavel_shared::clock::ManualClock;
use gavel_shared::commands::CommandRegistry;
use gavel_shared::config::Serves;
use gavel_shared::edge::Edge;
use gavel_shared::idempotency::Claims;
use gavel_shared::maintenance::{Budget, Maintenance, Sweep};
use gavel_shared::platform::recording::RecordingPlatform;
use gavel_shared::slack::web::RecordingSlackWeb;
use gavel_shared::store::round_trips::{self, Trips};
use gavel_shared::worker::{Outcome, Worker};
use gavel_tests::doubles::RecordingBus;
use gavel_tests::harness::{Backing, snowflake_from};
use gavel_tests::payloads::{self, DiscordInvoker};
use gavel_tests::requests::{self, Answer, swap};
use gavel_tests::test_settings;
use serde_json::{Value, json};

const TARGET: &str = "1174109840998400077";

/// What one path cost: (round trips, read units in halves, write units).
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
struct Cost {
    trips: u32,
    read_halves: u32,
    writes: u32,
}

impl From<Trips> for Cost {
    fn from(t: Trips) -> Self {
        Self {
            trips: t.count,
            read_halves: t.capacity.read_half_units,
            writes: t.capacity.write_units,
        }
    }
}

const fn cost(trips: u32, read_halves: u32, writes: u32) -> Cost {
    Cost {
        trips,
        read_halves,
        writes,
    }
}

struct Setup {
    edge: Edge,
    bus: Arc<RecordingBus>,
    worker: Worker,
    clock: Arc<ManualClock>,
    guild: String,
}

/// An edge with the standard rate limits (the admission transaction is part of the cost)
/// over moto, in a guild of its own.
async fn setup() -> Setup {
    let backing = Backing::dynamodb().await;
    let bus = Arc::new(RecordingBus::default());
    let edge = test_settings()
        .build_edge(
            Serves::Both,
            Arc::new(CommandRegistry::standard()),
            backing.clock.clone(),
            Arc::clone(&backing.store),
        )
        .expect("test settings make an edge")
        .with_slack_web(Arc::new(RecordingSlackWeb::new()))
        .with_bus(bus.clone());
    let platform = Arc::new(RecordingPlatform::new());
    let worker = Worker::new(
        Arc::clone(&backing.store),
        backing.clock.clone(),
        Some(platform.clone()),
        Some(platform),
    );
    Setup {
        edge,
        bus,
        worker,
        clock: backing.clock,
        guild: snowflake_from("11741098409984"),
    }
}

impl Setup {
    async fn discord(&self, body: Vec<u8>) -> (Answer, Cost) {
        let body = swap(body, payloads::DISCORD_GUILD, &self.guild);
        let (answer, trips) =
            round_trips::measure_timed(requests::discord(&self.edge, &self.clock, &body)).await;
        (answer, trips.into())
    }

    async fn command(&self, name: &str, options: Value, who: DiscordInvoker) -> (Answer, Cost) {
        let id = snowflake_from("15425452969986");
        self.discord(payloads::discord_command(&id, name, options, who))
            .await
    }

    /// Runs every job published so far; what they cost together.
    async fn run_jobs(&self) -> Cost {
        let jobs = self.bus.take();
        assert!(!jobs.is_empty(), "the path published a job");
        let (_, trips) = round_trips::measure_timed(async {
            for job in &jobs {
                let outcome = self
                    .worker
                    .handle(job, Instant::now() + Duration::from_secs(10))
                    .await;
                assert_eq!(outcome, Outcome::Done, "{job:?}");
            }
        })
        .await;
        trips.into()
    }
}

fn served(what: &str, answer: &Answer) {
    assert_eq!(answer.status, 200, "{what}: {}", answer.body);
}

fn opt(name: &str, kind: u8, value: Value) -> Value {
    json!({ "name": name, "type": kind, "value": value })
}

/// The interactive paths of the cost table, each measured on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactive_paths_consume_what_the_cost_table_says() {
    let s = setup().await;
    let mut measured: Vec<(&str, Cost, Cost)> = Vec::new();

    // A PING is answered from the signature alone.
    let (answer, ping) = s.discord(payloads::discord_ping()).await;
    served("PING", &answer);
    measured.push(("PING", ping, cost(0, 0, 0)));

    // The first command an instance sees from a community also reads the community's
    // rate-limit overrides (one strongly consistent read), then caches them for 5 minutes.
    let (answer, first) = s.command("ping", json!([]), DiscordInvoker::Member).await;
    served("/ping", &answer);
    measured.push(("first command of a community", first, cost(2, 2, 4)));
    // A command answered at once: `/ping` only answers, so it takes no claim; its two
    // rate-limit buckets are one transaction of 2 writes under 1 KB, 2 units each. With the
    // claim it was 3 writes (6 units).
    let (answer, at_once) = s.command("ping", json!([]), DiscordInvoker::Member).await;
    served("/ping again", &answer);
    measured.push(("/ping (answered at once)", at_once, cost(1, 0, 4)));

    // A command with a worker job: /warn records the case and publishes the job that tells
    // the member and the log channel. The case's transaction holds the counter, the case, the
    // case index, the member's index across communities (Discord and Telegram) and the audit
    // entry, besides the decay seed.
    let warn = json!([
        opt("user", 6, json!(TARGET)),
        opt("reason", 3, json!("spam"))
    ]);
    let (answer, edge) = s.command("warn", warn, DiscordInvoker::Moderator).await;
    served("/warn", &answer);
    measured.push(("/warn at the edge", edge, cost(6, 8, 20)));
    let job = s.run_jobs().await;
    measured.push(("/warn's job in the worker", job, cost(5, 4, 4)));

    // A click: the confirmation of a /tempban prompt.
    let tempban = json!([
        opt("user", 6, json!(TARGET)),
        opt("duration", 3, json!("1h")),
        opt("reason", 3, json!("raid"))
    ]);
    let (prompt, _) = s
        .command("tempban", tempban, DiscordInvoker::Moderator)
        .await;
    served("/tempban", &prompt);
    let click_id = prompt.buttons()[0].clone();
    let (answer, click) = s
        .discord(payloads::discord_component(
            &snowflake_from("15425452969987"),
            &click_id,
            DiscordInvoker::Moderator,
        ))
        .await;
    served("/tempban confirmed", &answer);
    measured.push(("a click (/tempban's Confirm)", click, cost(6, 10, 16)));
    let _ = s.bus.take();

    // A Slack message event: claimed once per event id.
    let event = payloads::slack_message_event(&format!("Ev{}", snowflake_from("0")));
    let (answer, trips) =
        round_trips::measure_timed(requests::slack(&s.edge, &s.clock, "/slack/events", &event))
            .await;
    served("Slack message event", &answer);
    measured.push(("Slack message event", trips.into(), cost(2, 2, 8)));

    let report: Vec<String> = measured
        .iter()
        .map(|(what, got, want)| format!("{what}: measured {got:?}, expected {want:?}"))
        .collect();
    for (what, got, want) in &measured {
        assert_eq!(got, want, "{what}\n{}", report.join("\n"));
    }
}

/// The cleanup sweep over expired idempotency claims: per item, its share of the scan and one
/// conditional delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cleanup_sweep_consumes_per_item_what_the_cost_table_says() {
    const ITEMS: u32 = 100;
    let backing = Backing::dynamodb_own_table("gavel-capacity").await;
    let claims = Claims::new(Arc::clone(&backing.store), backing.clock.clone());
    for n in 0..ITEMS {
        claims
            .claim(
                "discord:interaction",
                &format!("15425452969{n:08}"),
                15 * 60,
            )
            .await
            .expect("a claim");
    }
    backing.clock.advance_ms(3_600_000);
    let m = Maintenance::new(
        Arc::clone(&backing.store),
        Arc::new(RecordingBus::default()),
        backing.clock.clone(),
    );
    let (report, trips) =
        round_trips::measure_timed(m.run(Sweep::Cleanup, Budget::for_secs(60))).await;
    assert_eq!(
        report.count("idempotency keys"),
        u64::from(ITEMS),
        "{report}"
    );
    let got: Cost = trips.into();
    // One scan page and one conditional delete per expired item, plus the sweep's own
    // bookkeeping (3 round trips, 1 write): about 1 write unit per item swept.
    assert_eq!(got, cost(103, 5, 101), "cleanup of {ITEMS} expired claims");
}
