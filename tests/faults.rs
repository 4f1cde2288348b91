//! Faults injected, nothing lost: the real flows (moderation commands and their DM jobs, a
//! button flow, rate limits, the worker, the maintenance sweep) driven through the fault
//! decorator ([`Faulty`]) on both store adapters, then retried the way the platform or the user
//! would (the user trying again after being told to, a click repeated, an EventBridge job
//! delivered again). After each scenario the store and the recording platform show every
//! effect exactly once (one case, one DM, one audit entry, one ban), or the user was told
//! plainly to try again and nothing had happened.
//!
//! Two ways of choosing the faults:
//! - **every call, every kind**: the scenario is run once per (store call, fault kind), the
//!   fault at that call only: a timeout, throttling, a transaction cancelled by a conflict, a
//!   stall past the store's budget, and a write that succeeded with its answer lost;
//! - **at random from a seed**: faults of every kind at a fixed rate over whole scenarios; a
//!   failure prints its seed (`GAVEL_FAULT_SEED=<seed>` replays it).
//!
//! And the deadline: with the store stalled for 2.5 s, the acknowledgement still arrives
//! inside Discord's 3 s.
//!
//! Then the same against DynamoDB itself, through the fault proxy in front of moto
//! (`tests/support/fault_proxy.rs`): lost answers at every write of a scenario, met by the SDK's
//! own retries, and the deadline with every request held for 2.5 s under the adapter's
//! production tuning. (Throttling and 500s retried within the attempts are shown in
//! `tests/store_dynamodb.rs`.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use gavel_shared::adapters::dynamodb::{DynamoStore, StoreTuning, emulator_client};
use gavel_shared::clock::{Clock, ManualClock};
use gavel_shared::edge::Edge;
use gavel_shared::invocation::{Action, Actor, Capabilities, CommandCall, Invocation, Platform};
use gavel_shared::jobs::Sweep;
use gavel_shared::maintenance::{Budget, Maintenance};
use gavel_shared::moderation::actions::{ModContext, Sanction, record_sanction};
use gavel_shared::moderation::{AuditAction, Cases, Kind, ModSettings, Status};
use gavel_shared::platform::recording::{PlatformCall, RecordingPlatform};
use gavel_shared::ratelimit::gcra::BucketPolicy;
use gavel_shared::ratelimit::policy::Policies;
use gavel_shared::slack::web::RecordingSlackWeb;
use gavel_shared::store::Store;
use gavel_shared::worker::{LEASE_SECS, Outcome, Worker};
use gavel_tests::doubles::RecordingBus;
use gavel_tests::fault_proxy::{FaultProxy, ProxyFault, WRITES};
use gavel_tests::faulty::{
    self, FailOn, Fault, FaultKind, Faulty, Op, STORE_BUDGET, SeedReport, timed_out,
};
use gavel_tests::harness::{Backing, edge_over, recording_worker, snowflake_from};
use gavel_tests::payloads::{self, DiscordInvoker};
use gavel_tests::records::audit_log;
use gavel_tests::requests::{self, Answer, swap};
use gavel_tests::{FIXTURE_TIMESTAMP, moto};
use serde_json::{Value, json};

const TARGET: &str = "1174109840998400077";

/// The budget the "stall past the budget" faults use: short, so that running a scenario once
/// per store call stays quick; what matters is that the stall outlasts it.
const SHORT_BUDGET: Duration = Duration::from_millis(200);

/// How many times a scenario's user tries again before the test calls it lost.
const ATTEMPTS: usize = 12;

// ---------------------------------------------------------------------------------------------
// Setup

/// The deadline tests measure the wall clock, so they run alone: every other test of this
/// binary holds this for reading (they share one emulator, which answers one request at a
/// time), the deadline tests for writing.
static QUIET: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

async fn shared() -> tokio::sync::RwLockReadGuard<'static, ()> {
    QUIET.read().await
}

async fn alone() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    QUIET.write().await
}

/// Which adapter a case runs on; each scenario makes fresh setups from it.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Embedded,
    Dynamo,
}

fn embedded() -> Backend {
    Backend::Embedded
}

async fn dynamodb() -> Backend {
    moto::moto().await;
    Backend::Dynamo
}

impl Backend {
    async fn backing(self) -> Backing {
        match self {
            Backend::Embedded => Backing::embedded(),
            Backend::Dynamo => Backing::dynamodb().await,
        }
    }

    /// A store no other test sees (the sweeps read queues shared by every community).
    async fn own_backing(self) -> Backing {
        match self {
            Backend::Embedded => Backing::embedded(),
            Backend::Dynamo => Backing::dynamodb_own_table("gavel-faults").await,
        }
    }

    async fn setup(self, faults: Faults) -> Setup {
        Setup::new(self.backing().await, faults, generous())
    }

    /// The faults a scenario meets at each call in turn. The decorator sits above the
    /// adapter, and every fault but a lost answer stops the call before the inner store is
    /// asked: those take the same path over either adapter, and run on the embedded store
    /// only. A lost answer is what the adapter makes a difference to (what the write left
    /// behind), so it runs at every write on both; the random runs mix every kind on both.
    fn injections(self) -> Vec<(Injection, bool)> {
        match self {
            Backend::Embedded => Injection::ALL.into_iter().map(|i| (i, false)).collect(),
            Backend::Dynamo => vec![(Injection::LostAnswer, true)],
        }
    }

    /// Seeds for the random runs: fewer on the slower emulator.
    fn seeds(self, all: &[u64]) -> Vec<u64> {
        let all = faulty::seeds(all);
        match self {
            Backend::Embedded => all,
            Backend::Dynamo => all.into_iter().take(2).collect(),
        }
    }
}

/// A million a second: rate limits never refuse unless the scenario is about them.
fn generous() -> Policies {
    gavel_tests::doubles::generous_limits()
}

/// The faults of one run: the decorator's choice and fault, and a budget if any.
#[derive(Clone)]
struct Faults {
    fail_on: FailOn,
    fault: Fault,
    budget: Option<Duration>,
    label: String,
}

impl Faults {
    /// The decorator only counts (the faults come from elsewhere: the proxy).
    fn nothing() -> Self {
        Self {
            fail_on: FailOn::ops([]),
            fault: Fault::timeout(),
            budget: None,
            label: "no decorator faults".into(),
        }
    }

    fn random(seed: u64, per_mille: u64) -> Self {
        Self {
            fail_on: FailOn::everything(),
            fault: Fault::random(seed, per_mille, FaultKind::ALL),
            budget: None,
            label: format!("random faults, seed {seed}"),
        }
    }
}

/// The kinds of fault a scenario meets at each of its store calls in turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Injection {
    /// A timeout at odd calls, throttling at even ones: the adapter reports both as
    /// unavailable, and the code treats them alike.
    TimeoutOrThrottled,
    /// A transaction cancelled for another transaction's conflict (transactions only).
    ConflictCancelled,
    /// A stall longer than the store's budget.
    StallPastBudget,
    /// A write applied, its answer lost (writes only).
    LostAnswer,
}

impl Injection {
    const ALL: [Injection; 4] = [
        Injection::TimeoutOrThrottled,
        Injection::ConflictCancelled,
        Injection::StallPastBudget,
        Injection::LostAnswer,
    ];

    /// This fault at the `n`-th store call after the decorator is armed (of the writes only,
    /// with `writes_only`).
    fn at(self, n: usize, writes_only: bool) -> Faults {
        let writes: Vec<Op> = Op::ALL.into_iter().filter(|op| op.writes()).collect();
        let any = if writes_only {
            writes.clone()
        } else {
            Op::ALL.to_vec()
        };
        let (ops, fault, budget) = match self {
            Injection::TimeoutOrThrottled if n % 2 == 1 => {
                (any, Fault::Fail(timed_out(Op::Get)), None)
            }
            Injection::TimeoutOrThrottled => (any, Fault::throttled(), None),
            Injection::ConflictCancelled => (vec![Op::Transact], Fault::conflict_cancelled(), None),
            Injection::StallPastBudget => (
                any,
                Fault::Stall(SHORT_BUDGET + Duration::from_millis(100)),
                Some(SHORT_BUDGET),
            ),
            Injection::LostAnswer => (writes, Fault::LostAnswer, None),
        };
        Faults {
            fail_on: FailOn::ops(ops).nth(n),
            fault,
            budget,
            label: format!("{self:?} at call {n}"),
        }
    }
}

/// One community served by an edge and the real worker, both over the fault decorator; the
/// assertions read the inner store, which holds what really happened.
struct Setup {
    store: Arc<dyn Store>,
    faulty: Arc<Faulty>,
    clock: Arc<ManualClock>,
    edge: Edge,
    bus: Arc<RecordingBus>,
    platform: Arc<RecordingPlatform>,
    worker: Worker,
    guild: String,
    label: String,
}

impl Setup {
    fn new(Backing { store, clock }: Backing, faults: Faults, limits: Policies) -> Self {
        let mut faulty = Faulty::new(Arc::clone(&store), faults.fail_on, faults.fault);
        if let Some(budget) = faults.budget {
            faulty = faulty.with_budget(budget);
        }
        let faulty = Arc::new(faulty);
        // Armed by the scenario, once its preparations are done.
        faulty.set_enabled(false);
        let through: Arc<dyn Store> = faulty.clone();
        let bus = Arc::new(RecordingBus::default());
        let edge = edge_over(
            Arc::clone(&through),
            &clock,
            Arc::new(RecordingSlackWeb::new()),
        )
        .with_bus(bus.clone())
        .with_rate_limits(limits);
        let platform = Arc::new(RecordingPlatform::new());
        let worker = recording_worker(&through, &clock, &platform);
        Self {
            store,
            faulty,
            clock,
            edge,
            bus,
            platform,
            worker,
            guild: snowflake(),
            label: faults.label,
        }
    }

    fn arm(&self) {
        self.faulty.set_enabled(true);
    }

    fn disarm(&self) {
        self.faulty.set_enabled(false);
    }

    /// Prints what was injected if the scenario fails.
    fn report(&self) -> SeedReport<'_> {
        SeedReport {
            seed: None,
            scenario: &self.label,
            faulty: &self.faulty,
        }
    }

    async fn command(&self, name: &str, options: &[(&str, u8, Value)]) -> Answer {
        let options: Vec<Value> = options
            .iter()
            .map(|(n, t, v)| json!({ "name": n, "type": t, "value": v }))
            .collect();
        let body = payloads::discord_command(
            &snowflake(),
            name,
            Value::Array(options),
            DiscordInvoker::Moderator,
        );
        self.discord(body).await
    }

    async fn click(&self, custom_id: &str) -> Answer {
        let body = payloads::discord_component(&snowflake(), custom_id, DiscordInvoker::Moderator);
        self.discord(body).await
    }

    async fn discord(&self, body: Vec<u8>) -> Answer {
        let body = swap(body, payloads::DISCORD_GUILD, &self.guild);
        let answer = requests::discord(&self.edge, &self.clock, &body).await;
        assert_eq!(answer.status, 200, "{}: {}", self.label, answer.body);
        answer
    }

    /// Records a case for [`TARGET`] as the moderation commands do, straight into the inner
    /// store (no faults, no jobs); returns its number.
    async fn record(&self, kind: Kind, duration_secs: Option<i64>) -> u64 {
        let settings = ModSettings::load(self.store.as_ref(), Platform::Discord, &self.guild)
            .await
            .unwrap()
            .0;
        let invocation = Invocation {
            id: snowflake(),
            platform: Platform::Discord,
            tenant: self.guild.clone(),
            channel: Some(payloads::DISCORD_CHANNEL.to_owned()),
            actor: Actor {
                id: payloads::DISCORD_MODERATOR.to_owned(),
                display_name: None,
                capabilities: Capabilities::all(),
            },
            action: Action::Command(CommandCall {
                name: "warn".to_owned(),
                options: vec![],
                bots: vec![],
                message: None,
            }),
            response_url: None,
            trigger_id: None,
            interaction_token: None,
            app: None,
        };
        let ctx = ModContext {
            store: self.store.as_ref(),
            invocation: &invocation,
            now_secs: self.clock.now_secs(),
            settings: &settings,
        };
        let sanction = Sanction {
            kind,
            target: TARGET.to_owned(),
            reason: "spam".to_owned(),
            duration_secs,
            source: None,
        };
        record_sanction(&ctx, &sanction).await.unwrap().case.number
    }

    fn cases(&self) -> Cases<'_> {
        Cases::new(self.store.as_ref(), Platform::Discord, &self.guild)
    }

    async fn kinds_of(&self, user: &str) -> Vec<Kind> {
        self.cases()
            .all_of(user)
            .await
            .expect("the inner store answers")
            .iter()
            .map(|c| c.case.kind)
            .collect()
    }

    async fn audit(&self) -> Vec<AuditAction> {
        audit_log(self.store.as_ref(), Platform::Discord, &self.guild)
            .await
            .into_iter()
            .map(|e| e.action)
            .collect()
    }

    fn calls(&self, f: impl Fn(&PlatformCall) -> bool) -> usize {
        self.platform.calls().iter().filter(|c| f(c)).count()
    }

    fn dms_to(&self, user: &str) -> usize {
        self.calls(|c| matches!(c, PlatformCall::DiscordDm { user: u, .. } if u == user))
    }

    /// Told to try again, the user finds that nothing happened: no new case, no new audit
    /// entry, no new job.
    async fn assert_unchanged(&self, before: &State, answer: &str) {
        let now = self.state().await;
        assert_eq!(
            &now, before,
            "{}: the user was told to try again ({answer:?}), but something happened",
            self.label
        );
    }

    async fn state(&self) -> State {
        State {
            cases: self.kinds_of(TARGET).await,
            audit: self.audit().await,
            jobs: self.bus.jobs().len(),
        }
    }

    /// Hands every published job to the worker as EventBridge would: again after each
    /// "retry later" (a run presumed crashed is taken over once its lease lapses), then once
    /// more after it is done; that last delivery must do nothing.
    async fn deliver(&self) {
        for job in self.bus.take() {
            let mut done = false;
            for _ in 0..ATTEMPTS {
                match self.worker.handle(&job, deadline()).await {
                    Outcome::Done | Outcome::Duplicate => {
                        done = true;
                        break;
                    }
                    Outcome::RetryLater(why) => self.later(&why),
                }
            }
            assert!(done, "{}: job never done: {job:?}", self.label);
            let mut again = None;
            for _ in 0..ATTEMPTS {
                match self.worker.handle(&job, deadline()).await {
                    Outcome::RetryLater(why) => self.later(&why),
                    other => {
                        again = Some(other);
                        break;
                    }
                }
            }
            assert_eq!(
                again,
                Some(Outcome::Duplicate),
                "{}: a repeated delivery did the job again: {job:?}",
                self.label
            );
        }
    }

    /// EventBridge's next attempt comes later; a claim still "running" lapses with its lease.
    fn later(&self, why: &str) {
        let wait = if why.contains("another delivery") {
            LEASE_SECS + 1
        } else {
            30
        };
        self.clock.advance_ms(wait * 1000);
    }
}

#[derive(Debug, PartialEq)]
struct State {
    cases: Vec<Kind>,
    audit: Vec<AuditAction>,
    jobs: usize,
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

fn snowflake() -> String {
    snowflake_from("16425452969984")
}

fn user(id: &str) -> (&'static str, u8, Value) {
    ("user", 6, json!(id))
}

fn reason(text: &str) -> (&'static str, u8, Value) {
    ("reason", 3, json!(text))
}

fn duration(text: &str) -> (&'static str, u8, Value) {
    ("duration", 3, json!(text))
}

/// A Discord answer's text (content and embeds).
fn text(answer: &Answer) -> String {
    let mut text = requests::content(&answer.body).to_owned();
    for embed in answer.body["data"]["embeds"]
        .as_array()
        .into_iter()
        .flatten()
    {
        text.push_str(&embed.to_string());
    }
    text
}

/// The plain "try again" of a failure (storage unreachable, records changing), not a rate
/// limit's wait.
fn told_to_retry(text: &str) -> bool {
    let text = text.to_lowercase();
    text.contains("try again") && !text.contains("too quickly") && !text.contains("too many")
}

// ---------------------------------------------------------------------------------------------
// Scenarios: each runs against one setup; faults are armed inside.

/// `/warn`: one case, one audit entry, one DM.
async fn warn(s: &Setup) {
    s.arm();
    let done = command_until(s, "warn", &[user(TARGET), reason("spam")], |t| {
        t.contains("Case #1: warning")
    })
    .await;
    assert!(done.buttons().is_empty(), "{}: {}", s.label, text(&done));
    s.deliver().await;
    s.disarm();
    assert_eq!(s.kinds_of(TARGET).await, [Kind::Warning], "{}", s.label);
    assert_eq!(s.audit().await, [AuditAction::Warning], "{}", s.label);
    assert_eq!(s.dms_to(TARGET), 1, "{}: {:?}", s.label, s.platform.calls());
}

/// `/mute 1h`: one case, one timeout on Discord, one DM.
async fn mute(s: &Setup) {
    s.arm();
    command_until(
        s,
        "mute",
        &[user(TARGET), duration("1h"), reason("flooding")],
        |t| t.contains("Case #1: mute"),
    )
    .await;
    // The worker meets its faults in `warn` and in the random runs.
    s.disarm();
    s.deliver().await;
    assert_eq!(s.kinds_of(TARGET).await, [Kind::Mute], "{}", s.label);
    assert_eq!(s.audit().await, [AuditAction::Mute], "{}", s.label);
    let timeouts = s.calls(|c| matches!(c, PlatformCall::DiscordTimeout { until: Some(_), .. }));
    assert_eq!(timeouts, 1, "{}: {:?}", s.label, s.platform.calls());
    assert_eq!(s.dms_to(TARGET), 1, "{}", s.label);
}

/// `/ban`, then Confirm (a button flow decided once): one case, one ban, one DM.
async fn ban(s: &Setup) {
    s.arm();
    let prompt = command_until(s, "ban", &[user(TARGET), reason("raid")], |_| true).await;
    let confirm = prompt.buttons()[0].clone();
    click_until(s, &confirm, |t| t.contains("Case #1: ban")).await;
    s.disarm();
    s.deliver().await;
    assert_eq!(s.kinds_of(TARGET).await, [Kind::Ban], "{}", s.label);
    assert_eq!(s.audit().await, [AuditAction::Ban], "{}", s.label);
    let bans = s.calls(|c| matches!(c, PlatformCall::DiscordBan { .. }));
    assert_eq!(bans, 1, "{}: {:?}", s.label, s.platform.calls());
    assert_eq!(s.dms_to(TARGET), 1, "{}", s.label);
}

/// Two warnings on record (written directly, without faults), then a third that recommends a
/// mute with an Apply button, and Apply: four cases, one timeout, a DM for each new case.
async fn escalation(s: &Setup) {
    for _ in 1..=2 {
        s.record(Kind::Warning, None).await;
    }
    s.arm();
    let offer = command_until(s, "warn", &[user(TARGET), reason("spam again")], |t| {
        t.contains("Case #3: warning")
    })
    .await;
    let buttons = offer.buttons();
    if buttons.is_empty() {
        // The offer could not be drawn: the answer says so, and the case stands.
        assert!(
            text(&offer).contains("/mute"),
            "{}: a recommendation without its button says what to do: {}",
            s.label,
            text(&offer)
        );
        command_until(
            s,
            "mute",
            &[user(TARGET), duration("1h"), reason("spam")],
            |t| t.contains("Case #4: mute"),
        )
        .await;
    } else {
        click_until(s, &buttons[0], |t| t.contains("Case #4: mute for 1h")).await;
    }
    s.disarm();
    s.deliver().await;
    assert_eq!(
        s.kinds_of(TARGET).await,
        [Kind::Mute, Kind::Warning, Kind::Warning, Kind::Warning],
        "{}",
        s.label
    );
    let timeouts = s.calls(|c| matches!(c, PlatformCall::DiscordTimeout { until: Some(_), .. }));
    assert_eq!(timeouts, 1, "{}: {:?}", s.label, s.platform.calls());
    assert_eq!(s.dms_to(TARGET), 2, "{}", s.label);
}

/// Runs `/name` until `done` says it happened; every other answer must be a plain "try again"
/// after which nothing has changed.
async fn command_until(
    s: &Setup,
    name: &str,
    options: &[(&str, u8, Value)],
    done: impl Fn(&str) -> bool,
) -> Answer {
    for _ in 0..ATTEMPTS {
        let before = s.state().await;
        let answer = s.command(name, options).await;
        let shown = text(&answer);
        let prompt = name == "ban";
        if (prompt && answer.buttons().len() == 2) || (!prompt && done(&shown)) {
            return answer;
        }
        assert!(
            told_to_retry(&shown),
            "{}: /{name} neither happened nor said to try again: {shown:?}",
            s.label
        );
        s.assert_unchanged(&before, &shown).await;
    }
    panic!("{}: /{name} never went through", s.label);
}

/// Clicks `custom_id` until `done` says it happened; as [`command_until`]. A click told "already
/// handled" before any click went through lost its effect.
async fn click_until(s: &Setup, custom_id: &str, done: impl Fn(&str) -> bool) -> Answer {
    for _ in 0..ATTEMPTS {
        let before = s.state().await;
        let answer = s.click(custom_id).await;
        let shown = text(&answer);
        if done(&shown) {
            return answer;
        }
        assert!(
            !shown.contains("already handled"),
            "{}: the click was taken, but its effect is missing: {shown:?}",
            s.label
        );
        assert!(
            told_to_retry(&shown),
            "{}: the click neither happened nor said to try again: {shown:?}",
            s.label
        );
        s.assert_unchanged(&before, &shown).await;
    }
    panic!("{}: the click never went through", s.label);
}

/// Runs `scenario` once per (store call, fault kind): the fault at that call only, until the
/// calls run out (a run in which the fault was never met). A stall past the budget ends as a
/// timeout before the store is reached, as the timeouts do, only later: it runs at every call
/// where `stalls` says so (`/warn`), the timeouts everywhere.
async fn at_every_call<F>(backend: Backend, stalls: bool, scenario: F)
where
    F: for<'s> Fn(&'s Setup) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 's>>,
{
    let injections = backend
        .injections()
        .into_iter()
        .filter(|(i, _)| stalls || *i != Injection::StallPastBudget);
    for (injection, writes_only) in injections {
        for n in 1.. {
            let s = backend.setup(injection.at(n, writes_only)).await;
            let _report = s.report();
            scenario(&s).await;
            if s.faulty.injected_count() == 0 {
                assert!(n > 1, "{:?}: the scenario made no store call", injection);
                break;
            }
        }
    }
}

async fn warn_at_every_call(backend: Backend) {
    let _shared = shared().await;
    at_every_call(backend, true, |s| Box::pin(warn(s))).await;
}

/// On the embedded store only: over DynamoDB, `/mute` takes `/warn`'s path (and runs under
/// random faults).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_at_every_call() {
    let _shared = shared().await;
    at_every_call(Backend::Embedded, false, |s| Box::pin(mute(s))).await;
}

async fn ban_at_every_call(backend: Backend) {
    let _shared = shared().await;
    at_every_call(backend, false, |s| Box::pin(ban(s))).await;
}

/// On the embedded store only: over DynamoDB, the offer's flow takes `/ban`'s path (a flow
/// started, a button clicked; and the escalation runs under random faults).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_at_every_call() {
    let _shared = shared().await;
    at_every_call(Backend::Embedded, false, |s| Box::pin(escalation(s))).await;
}

/// The moderation scenarios under random faults of every kind, one community per seed.
async fn moderation_under_random_faults(backend: Backend) {
    let _shared = shared().await;
    for seed in backend.seeds(&[11, 12, 13, 14]) {
        for (name, scenario) in [("warn", 0), ("mute", 1), ("ban", 2), ("escalation", 3)] {
            let s = backend.setup(Faults::random(seed, 150)).await;
            let _report = SeedReport {
                seed: Some(seed),
                scenario: name,
                faulty: &s.faulty,
            };
            match scenario {
                0 => warn(&s).await,
                1 => mute(&s).await,
                2 => ban(&s).await,
                _ => escalation(&s).await,
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rate limits

/// Ten `/ping`s in any minute per user (ten at once, then one a minute). Under random faults
/// no more than ten pass, every other answer is the limit's wait or a plain "try again", and
/// once the faults stop and the bucket has drained, the user has their ten again: a fault
/// never leaves a bucket stuck.
async fn rate_limits_under_random_faults(backend: Backend) {
    let _shared = shared().await;
    let ten = BucketPolicy::new(10, Duration::from_secs(60)).unwrap();
    let limits = Policies {
        user_command: ten,
        ..generous()
    };
    for seed in backend.seeds(&[21, 22, 23, 24]) {
        let s = Setup::new(backend.backing().await, Faults::random(seed, 250), limits);
        let _report = SeedReport {
            seed: Some(seed),
            scenario: "rate limits",
            faulty: &s.faulty,
        };
        s.arm();
        let (mut passed, mut limited, mut retry) = (0, 0, 0);
        for _ in 0..15 {
            let shown = text(&s.command("ping", &[]).await);
            if shown.starts_with("Pong!") {
                passed += 1;
            } else if shown.contains("too quickly") {
                limited += 1;
            } else {
                assert!(told_to_retry(&shown), "seed {seed}: {shown:?}");
                retry += 1;
            }
        }
        assert!(passed <= 10, "seed {seed}: {passed} passed");
        assert!(
            passed + limited > 0,
            "seed {seed}: some requests got through the faults"
        );
        assert_eq!(passed + limited + retry, 15);
        s.disarm();
        s.clock.advance_ms(10 * 60_000);
        for n in 0..10 {
            let shown = text(&s.command("ping", &[]).await);
            assert!(
                shown.starts_with("Pong!"),
                "seed {seed}, ping {n}: {shown:?}"
            );
        }
    }
}

/// A rate-limited command under each fault at each call: at most the limit passes, and the
/// user is told to wait or to try again.
async fn rate_limit_at_every_call(backend: Backend) {
    let _shared = shared().await;
    let two = BucketPolicy::new(2, Duration::from_secs(60)).unwrap();
    let limits = Policies {
        user_command: two,
        ..generous()
    };
    let injections = backend.injections().into_iter();
    for (injection, writes_only) in injections.filter(|(i, _)| *i != Injection::StallPastBudget) {
        for n in 1.. {
            let s = Setup::new(
                backend.backing().await,
                injection.at(n, writes_only),
                limits,
            );
            let _report = s.report();
            s.arm();
            let mut passed = 0;
            for _ in 0..4 {
                let shown = text(&s.command("ping", &[]).await);
                if shown.starts_with("Pong!") {
                    passed += 1;
                } else {
                    assert!(
                        shown.contains("too quickly") || told_to_retry(&shown),
                        "{}: {shown:?}",
                        s.label
                    );
                }
            }
            assert!(passed <= 2, "{}: {passed} passed", s.label);
            assert!(passed >= 1, "{}: one fault stopped every request", s.label);
            if s.faulty.injected_count() == 0 {
                break;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The worker

/// Jobs from three commands (made without faults) delivered through random faults, each
/// delivered again once done: every DM and timeout exactly once.
async fn worker_jobs_under_random_faults(backend: Backend) {
    let _shared = shared().await;
    for seed in backend.seeds(&[31, 32, 33, 34, 35, 36]) {
        let s = backend.setup(Faults::random(seed, 200)).await;
        let _report = SeedReport {
            seed: Some(seed),
            scenario: "worker",
            faulty: &s.faulty,
        };
        let others = ["1174109840998400078", "1174109840998400079"];
        s.command("warn", &[user(TARGET), reason("spam")]).await;
        s.command("mute", &[user(others[0]), duration("1h"), reason("spam")])
            .await;
        s.command("kick", &[user(others[1]), reason("spam")]).await;
        assert_eq!(s.bus.jobs().len(), 3);
        s.arm();
        s.deliver().await;
        s.disarm();
        for target in [TARGET, others[0], others[1]] {
            assert_eq!(s.dms_to(target), 1, "seed {seed}: {:?}", s.platform.calls());
        }
        assert_eq!(
            s.calls(|c| matches!(c, PlatformCall::DiscordTimeout { .. })),
            1
        );
        assert_eq!(
            s.calls(|c| matches!(c, PlatformCall::DiscordKick { .. })),
            1
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Maintenance

/// A temporary ban past its end, swept by runs that meet a fault: across runs (as the
/// schedule repeats them) the ban is lifted exactly once: one case expired, one unban on
/// Discord, one audit entry. Returns how many faults were injected.
async fn sweep(backend: Backend, faults: Faults) -> usize {
    let s = Setup::new(backend.own_backing().await, faults, generous());
    let _report = s.report();
    let number = s.record(Kind::TempBan, Some(3600)).await;
    s.clock.advance_ms(3601 * 1000);
    let through: Arc<dyn Store> = s.faulty.clone();
    let maintenance = Maintenance::new(through, s.bus.clone(), s.clock.clone());
    s.arm();
    let mut lifted = 0;
    for _ in 0..ATTEMPTS {
        let report = maintenance.run(Sweep::Expire, Budget::for_secs(60)).await;
        lifted += report.count("lifted");
        s.deliver().await;
        let case = s.cases().get_of(TARGET, number).await.unwrap().unwrap();
        let unbanned = s.calls(|c| matches!(c, PlatformCall::DiscordUnban { .. }));
        if case.case.status == Status::Expired && unbanned == 1 {
            break;
        }
        // The next scheduled run, after the outbox's grace period.
        s.clock.advance_ms(5 * 60 * 1000);
    }
    // One more run finds nothing left.
    let last = maintenance.run(Sweep::Expire, Budget::for_secs(60)).await;
    s.deliver().await;
    s.disarm();
    assert!(lifted <= 1, "{}: lifted {lifted} times", s.label);
    assert_eq!(last.count("lifted"), 0, "{}: {last}", s.label);
    let case = s.cases().get_of(TARGET, number).await.unwrap().unwrap();
    assert_eq!(case.case.status, Status::Expired, "{}", s.label);
    let unbans = s.calls(|c| matches!(c, PlatformCall::DiscordUnban { .. }));
    assert_eq!(unbans, 1, "{}: {:?}", s.label, s.platform.calls());
    let audit = s.audit().await;
    assert_eq!(
        audit.iter().filter(|a| **a == AuditAction::Unban).count(),
        1,
        "{}: {audit:?}",
        s.label
    );
    s.faulty.injected_count()
}

async fn sweep_at_every_call(backend: Backend) {
    let _shared = shared().await;
    let injections = backend.injections().into_iter();
    for (injection, writes_only) in injections.filter(|(i, _)| *i != Injection::StallPastBudget) {
        for n in 1.. {
            if sweep(backend, injection.at(n, writes_only)).await == 0 {
                assert!(n > 1, "{injection:?}: the sweep made no store call");
                break;
            }
        }
    }
}

async fn sweep_under_random_faults(backend: Backend) {
    let _shared = shared().await;
    for seed in backend.seeds(&[41, 42, 43, 44]) {
        sweep(backend, Faults::random(seed, 250)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The acknowledgement deadline

/// Discord gives an interaction 3 s for its acknowledgement. With the store stalled for 2.5 s
/// from the moment the request arrives, `/warn` is still answered inside that, and recorded
/// once.
async fn acknowledged_in_time_with_the_store_stalled(backend: Backend) {
    let _alone = alone().await;
    let faults = Faults {
        fail_on: FailOn::everything(),
        fault: Fault::Outage(Duration::from_millis(2_500)),
        budget: None,
        label: "a 2.5 s outage".into(),
    };
    let s = backend.setup(faults).await;
    s.arm();
    let started = Instant::now();
    let answer = s.command("warn", &[user(TARGET), reason("spam")]).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(2_500),
        "the stall was met: {took:?}"
    );
    assert!(
        took < Duration::from_secs(3),
        "acknowledged after {took:?}: {}",
        text(&answer)
    );
    assert!(
        text(&answer).contains("Case #1: warning"),
        "{}",
        text(&answer)
    );
    s.disarm();
    s.deliver().await;
    assert_eq!(s.kinds_of(TARGET).await, [Kind::Warning]);
    assert_eq!(s.dms_to(TARGET), 1);
}

/// The same stall against the production budget (2 s a call, as the DynamoDB adapter's
/// operation timeout): the first call gives up at the budget, and inside 3 s the user is told
/// either that it was done or plainly to try again (nothing having happened); either way the
/// warning is recorded once in the end.
async fn told_in_time_when_the_stall_outlasts_the_budget(backend: Backend) {
    let _alone = alone().await;
    let faults = Faults {
        fail_on: FailOn::everything(),
        fault: Fault::Outage(Duration::from_millis(2_500)),
        budget: Some(STORE_BUDGET),
        label: "a 2.5 s outage, a 2 s budget".into(),
    };
    let s = backend.setup(faults).await;
    s.arm();
    let started = Instant::now();
    let answer = s.command("warn", &[user(TARGET), reason("spam")]).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "acknowledged after {took:?}: {}",
        text(&answer)
    );
    // The call that met the stall first gave up at the budget; whether a later call of the
    // same request still waited out the rest of the stall and went through decides the
    // answer. Either way it is true.
    let shown = text(&answer);
    if !shown.contains("Case #1: warning") {
        assert!(told_to_retry(&shown), "{shown}");
        assert!(s.kinds_of(TARGET).await.is_empty());
        assert!(s.bus.jobs().is_empty());
        // The store is back: the user's second try is recorded once.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let again = s.command("warn", &[user(TARGET), reason("spam")]).await;
        assert!(
            text(&again).contains("Case #1: warning"),
            "{}",
            text(&again)
        );
    }
    s.disarm();
    s.deliver().await;
    assert_eq!(s.kinds_of(TARGET).await, [Kind::Warning]);
    assert_eq!(s.dms_to(TARGET), 1);
}

// ---------------------------------------------------------------------------------------------
// DynamoDB's own trouble, through the fault proxy in front of moto

/// A DynamoDB store over a fresh fault proxy in front of the binary's moto, with `tuning`.
async fn over_proxy(tuning: StoreTuning, label: &str) -> (FaultProxy, Setup) {
    let moto = moto::moto().await;
    let proxy = FaultProxy::start(&moto.endpoint).await;
    let clock = Arc::new(ManualClock::at_secs(FIXTURE_TIMESTAMP));
    let store = DynamoStore::new(
        emulator_client(&proxy.url, tuning),
        &moto.table,
        clock.clone(),
    );
    let mut faults = Faults::nothing();
    faults.label = label.to_owned();
    let backing = Backing {
        store: Arc::new(store),
        clock,
    };
    (proxy, Setup::new(backing, faults, generous()))
}

/// Budget enough for moto's pace, four attempts.
const PATIENT: StoreTuning = StoreTuning {
    timeout: Duration::from_secs(10),
    max_attempts: 4,
};

/// `/warn` with its DM job and `/ban` with Confirm over the real adapter, each run once per
/// write request with that request's answer lost (forwarded to moto, answered 500, sent
/// again by the SDK): one case, one DM, one ban each time, or a plain "try again".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_answers_lost_at_every_write() {
    let _shared = shared().await;
    for (name, scenario) in [("warn", 0), ("ban", 1)] {
        for n in 1.. {
            let (proxy, s) = over_proxy(
                PATIENT,
                &format!("{name}: DynamoDB answer lost at write {n}"),
            )
            .await;
            proxy.inject_at(&WRITES, n, ProxyFault::LoseAnswer);
            match scenario {
                0 => warn(&s).await,
                _ => ban(&s).await,
            }
            if proxy.pending() > 0 {
                assert!(n > 1, "{name} wrote nothing");
                break;
            }
        }
    }
}

/// The acknowledgement deadline against DynamoDB with the adapter's production tuning (2 s a
/// call, 1 s an attempt): with every request held for 2.5 s, the answer still comes inside 3 s
/// (the adapter gives up at its budget), and says either that it was done or plainly to try
/// again; either way the warning ends up recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_in_time_with_dynamodb_stalled() {
    let _alone = alone().await;
    let (proxy, s) = over_proxy(StoreTuning::default(), "DynamoDB stalled for 2.5 s").await;
    // Warm: the connection is open, as on a Lambda instance that served before.
    s.store
        .get(&gavel_shared::store::ItemKey::new("warm", "up"))
        .await
        .unwrap();
    proxy.outage(Duration::from_millis(2_500));
    let started = Instant::now();
    let answer = s.command("warn", &[user(TARGET), reason("spam")]).await;
    let took = started.elapsed();
    let shown = text(&answer);
    assert!(
        took < Duration::from_secs(3),
        "acknowledged after {took:?}: {shown}"
    );
    if !shown.contains("Case #1: warning") {
        assert!(told_to_retry(&shown), "{shown}");
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(
            s.kinds_of(TARGET).await.is_empty(),
            "told to try again, yet recorded"
        );
        let again = s.command("warn", &[user(TARGET), reason("spam")]).await;
        assert!(
            text(&again).contains("Case #1: warning"),
            "{}",
            text(&again)
        );
    }
    s.deliver().await;
    assert_eq!(s.kinds_of(TARGET).await, [Kind::Warning]);
    assert_eq!(s.dms_to(TARGET), 1);
}

gavel_tests::on_both_stores!(
    warn_at_every_call,
    ban_at_every_call,
    moderation_under_random_faults,
    rate_limits_under_random_faults,
    rate_limit_at_every_call,
    worker_jobs_under_random_faults,
    sweep_at_every_call,
    sweep_under_random_faults,
    acknowledged_in_time_with_the_store_stalled,
    told_in_time_when_the_stall_outlasts_the_budget,
);

/// The random mode is a pure function of the seed and the call's number: the same seed
/// injects the same faults at the same calls, so a failure is replayed by its seed.
#[tokio::test]
async fn the_same_seed_injects_the_same_faults() {
    let _shared = shared().await;
    let run = |seed: u64| async move {
        let s = Backend::Embedded.setup(Faults::random(seed, 300)).await;
        ban(&s).await;
        s.faulty
            .injected()
            .into_iter()
            .map(|i| (i.n, i.op, i.what))
            .collect::<Vec<_>>()
    };
    let first = run(7).await;
    assert!(!first.is_empty(), "a 30% rate injects something");
    assert_eq!(first, run(7).await);
    assert_ne!(first, run(8).await);
}
