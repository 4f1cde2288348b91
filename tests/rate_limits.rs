//! Inbound rate limits: the limiter on both store adapters (racing requests, users apart,
//! tenant overrides), and `gavel serve` over HTTP answering a hammering user.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gavel_cli::serve::start_with;
use gavel_shared::adapters::dynamodb::DynamoStore;
use gavel_shared::adapters::embedded::EmbeddedStore;
use gavel_shared::clock::{ManualClock, SystemClock};
use gavel_shared::commands::{CommandRegistry, CommandSpec};
use gavel_shared::invocation::{
    Action, Actor, Capabilities, Capability, CommandCall, Invocation, Platform,
};
use gavel_shared::ratelimit::gcra::BucketPolicy;
use gavel_shared::ratelimit::limiter::{Admission, RateLimiter};
use gavel_shared::ratelimit::policy::{Limit, Policies, Scope, TenantLimits};
use gavel_shared::store::keys::Community;
use gavel_shared::store::{Store, round_trips};
use gavel_tests::payloads::{self, DiscordInvoker};
use gavel_tests::{discord_signed_headers, moto, test_settings};
use serde_json::{Value, json};

const NOW: i64 = 1_800_000_000;

/// Capacity 10 in any minute, all 10 at once, per user per command; the tenant and moderation
/// buckets far larger, so only the bucket under test can refuse.
fn ten_per_minute() -> Policies {
    let roomy = BucketPolicy::new(100_000, Duration::from_secs(1)).unwrap();
    Policies {
        user_command: BucketPolicy::new(10, Duration::from_secs(60)).unwrap(),
        tenant: roomy,
        moderation: roomy,
    }
}

/// A tenant no other test of this binary uses (they share one emulator table).
fn tenant() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("G{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn invocation(tenant: &str, user: &str, command: &str) -> Invocation {
    Invocation {
        id: format!("{tenant}-{user}-{command}"),
        platform: Platform::Discord,
        tenant: tenant.to_owned(),
        channel: None,
        actor: Actor {
            id: user.to_owned(),
            display_name: None,
            capabilities: Capability::ALL.into_iter().collect::<Capabilities>(),
        },
        action: Action::Command(CommandCall {
            name: command.to_owned(),
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

fn spec(name: &str) -> &'static CommandSpec {
    CommandRegistry::standard()
        .spec(name)
        .expect("a standard command")
}

struct Setup {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
}

fn embedded() -> Setup {
    let clock = Arc::new(ManualClock::at_secs(NOW));
    let store = EmbeddedStore::in_memory(clock.clone()).expect("an in-memory store");
    Setup {
        store: Arc::new(store),
        clock,
    }
}

async fn dynamodb() -> Setup {
    let moto = moto::moto().await;
    let clock = Arc::new(ManualClock::at_secs(NOW));
    let store = DynamoStore::new(moto.client(), &moto.table, clock.clone());
    Setup {
        store: Arc::new(store),
        clock,
    }
}

/// 200 requests from one user at once against capacity 10: exactly 10 pass. A second user,
/// racing at the same time, gets their own 10.
async fn two_hundred_racing_requests_allow_ten(s: Setup) {
    let limiter = Arc::new(RateLimiter::new(
        Arc::clone(&s.store),
        s.clock.clone(),
        ten_per_minute(),
    ));
    let tenant = tenant();
    let tasks: Vec<_> = (0..240)
        .map(|i| {
            let limiter = Arc::clone(&limiter);
            // 200 from ann, 40 from bob, interleaved.
            let user = if i % 6 == 5 { "bob" } else { "ann" };
            let invocation = invocation(&tenant, user, "ping");
            tokio::spawn(async move {
                let admission = limiter.admit(&invocation, spec("ping"), None).await;
                (user, admission.expect("the store answers"))
            })
        })
        .collect();
    let mut allowed = std::collections::HashMap::<&str, usize>::new();
    let mut limited = 0;
    for task in tasks {
        match task.await.unwrap() {
            (user, Admission::Allowed) => *allowed.entry(user).or_default() += 1,
            (_, Admission::Limited { scope, .. }) => {
                assert_eq!(scope, Scope::UserCommand);
                limited += 1;
            }
            (_, Admission::Repeat) => panic!("no claim was passed"),
        }
    }
    assert_eq!(allowed.get("ann"), Some(&10));
    assert_eq!(allowed.get("bob"), Some(&10));
    assert_eq!(limited, 190 + 30);
}

/// A refusal carries the exact wait; at that moment the next request passes, a millisecond
/// before it does not. Another command of the same user has its own bucket.
async fn the_wait_is_exact_and_commands_are_apart(s: Setup) {
    let limiter = RateLimiter::new(Arc::clone(&s.store), s.clock.clone(), ten_per_minute());
    let tenant = tenant();
    let ping = invocation(&tenant, "ann", "ping");
    for _ in 0..10 {
        assert_eq!(
            limiter.admit(&ping, spec("ping"), None).await,
            Ok(Admission::Allowed)
        );
    }
    s.clock.advance_ms(1_500);
    let Ok(Admission::Limited { retry_after_ms, .. }) =
        limiter.admit(&ping, spec("ping"), None).await
    else {
        panic!("the eleventh request within the minute is refused");
    };
    // Ten at once from idle, all of the window's capacity: at most ten in any minute, so the
    // next one is allowed a minute after they began.
    assert_eq!(retry_after_ms, 60_000 - 1_500);
    let help = invocation(&tenant, "ann", "help");
    assert_eq!(
        limiter.admit(&help, spec("help"), None).await,
        Ok(Admission::Allowed)
    );
    s.clock.advance_ms(retry_after_ms - 1);
    assert!(matches!(
        limiter.admit(&ping, spec("ping"), None).await,
        Ok(Admission::Limited { .. })
    ));
    s.clock.advance_ms(1);
    assert_eq!(
        limiter.admit(&ping, spec("ping"), None).await,
        Ok(Admission::Allowed)
    );
}

/// A tenant's stored overrides replace the defaults for that tenant only, and the limiter
/// reads them once, not on every request.
async fn stored_overrides_apply_to_their_tenant(s: Setup) {
    let strict = tenant();
    let other = tenant();
    let overrides = TenantLimits {
        user_command: Some(Limit {
            capacity: 2,
            window_secs: 60,
            burst: None,
        }),
        ..TenantLimits::default()
    };
    RateLimiter::set_overrides(
        s.store.as_ref(),
        Community::new(Platform::Discord, &strict),
        &overrides,
    )
    .await
    .unwrap();
    let limiter = RateLimiter::new(Arc::clone(&s.store), s.clock.clone(), ten_per_minute());
    let mut strict_allowed = 0;
    let mut other_allowed = 0;
    let mut trips = Vec::new();
    for _ in 0..12 {
        let (admission, n) = round_trips::measure(limiter.admit(
            &invocation(&strict, "ann", "ping"),
            spec("ping"),
            None,
        ))
        .await;
        trips.push(n);
        strict_allowed += usize::from(admission == Ok(Admission::Allowed));
        let other_admission = limiter
            .admit(&invocation(&other, "ann", "ping"), spec("ping"), None)
            .await;
        other_allowed += usize::from(other_admission == Ok(Admission::Allowed));
    }
    assert_eq!(strict_allowed, 2, "the tenant's override: 2 per minute");
    assert_eq!(other_allowed, 10, "everyone else: the defaults");
    assert_eq!(trips[0], 2, "the first request reads the overrides once");
    assert!(
        trips[1] == 1,
        "later allowed requests cost one transaction: {trips:?}"
    );
    assert!(
        trips[2..].iter().all(|&n| n == 2),
        "a refusal adds one read for the exact wait: {trips:?}"
    );
}

/// Moderation commands also draw from the moderator's stricter bucket, which is shared across
/// moderation commands.
async fn moderation_commands_share_a_stricter_bucket(s: Setup) {
    let mut policies = ten_per_minute();
    policies.moderation = BucketPolicy::new(3, Duration::from_secs(60)).unwrap();
    let limiter = RateLimiter::new(Arc::clone(&s.store), s.clock.clone(), policies);
    let tenant = tenant();
    let reports = invocation(&tenant, "mo", "reports");
    let outcomes: Vec<_> =
        futures((0..5).map(|_| limiter.admit(&reports, spec("reports"), None))).await;
    let allowed = outcomes
        .iter()
        .filter(|o| **o == Ok(Admission::Allowed))
        .count();
    assert_eq!(allowed, 3);
    assert!(outcomes.iter().any(|o| matches!(
        o,
        Ok(Admission::Limited {
            scope: Scope::Moderation,
            ..
        })
    )));
    // An ordinary command is not a moderation action.
    assert_eq!(
        limiter
            .admit(&invocation(&tenant, "mo", "ping"), spec("ping"), None)
            .await,
        Ok(Admission::Allowed)
    );
}

async fn futures<F: std::future::Future>(items: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    for item in items {
        out.push(item.await);
    }
    out
}

gavel_tests::on_both_stores!(
    two_hundred_racing_requests_allow_ten,
    the_wait_is_exact_and_commands_are_apart,
    stored_overrides_apply_to_their_tenant,
    moderation_commands_share_a_stricter_bucket,
);

/// Through `gavel serve` with the default limits: a member firing `/ping` as fast as the
/// client can gets the burst's three Pongs, then ephemeral replies with the wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_pings_through_the_local_server_get_the_burst_then_the_wait() {
    let store = EmbeddedStore::in_memory(Arc::new(SystemClock)).expect("an in-memory store");
    let running = start_with(
        "127.0.0.1:0".parse().unwrap(),
        &test_settings(),
        None,
        Arc::new(store),
    )
    .await
    .expect("the local server starts");
    let client = reqwest::Client::new();
    let url = format!("http://{}/discord/interactions", running.addr);
    let mut contents = Vec::new();
    for i in 0..8 {
        let body = payloads::discord_command(
            &format!("1442545297000000{i:03}"),
            "ping",
            json!([]),
            DiscordInvoker::Member,
        );
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .to_string();
        let mut request = client.post(&url).body(body.clone());
        for (name, value) in discord_signed_headers(&ts, &body) {
            request = request.header(name, value);
        }
        let answer = request.send().await.expect("the server answers");
        assert_eq!(answer.status().as_u16(), 200);
        let json: Value = answer.json().await.expect("JSON");
        assert_eq!(
            json["data"]["flags"], 64,
            "every answer is ephemeral: {json}"
        );
        contents.push(json["data"]["content"].as_str().unwrap_or("").to_owned());
    }
    running.task.abort();
    let pongs = contents.iter().filter(|c| c.starts_with("Pong!")).count();
    assert_eq!(pongs, 3, "{contents:#?}");
    assert!(contents[..3].iter().all(|c| c.starts_with("Pong!")));
    for limited in &contents[3..] {
        assert!(
            limited.starts_with("You're using `/ping` too quickly. Try again in "),
            "{limited}"
        );
        let secs: u64 = limited
            .trim_start_matches("You're using `/ping` too quickly. Try again in ")
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("the wait in seconds");
        // The burst spent, the next token is one interval (about 6.7 s) away.
        assert!((1..=7).contains(&secs), "{limited}");
    }
}
