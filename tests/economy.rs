//! The economy on both store adapters, through the real commands (`/pay`, `/daily`,
//! `/balance`, `/leaderboard`, `/economy`) and the moderation commands that fine and pardon:
//! concurrent payments never spend one balance twice, concurrent dailies pay once, a
//! redelivered interaction pays once, every refusal changes nothing, and over random
//! interleavings of every kind of movement the books balance.
//!
//! Every test runs in its own community, so tests sharing the moto table never mix.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use gavel_shared::clock::ManualClock;
use gavel_shared::commands::CommandRegistry;
use gavel_shared::economy::{Account, Books, EconomySettings, Entry, EntryKind};
use gavel_shared::flows::FlowEngine;
use gavel_shared::flows::component_id::ComponentKey;
use gavel_shared::invocation::{
    Action, Actor, AppContext, Capabilities, CommandCall, Invocation, OptionValue, Platform,
};
use gavel_shared::jobs::Task;
use gavel_shared::maintenance::{Budget, Maintenance, Sweep};
use gavel_shared::moderation::{AuditAction, AuditEntry};
use gavel_shared::reply::{Reply, Response};
use gavel_shared::slack::web::{RecordingSlackWeb, SlackCall};
use gavel_shared::store::{Store, round_trips};
use gavel_tests::doubles::RecordingBus;
use gavel_tests::faulty::{Faulty, Op};
use gavel_tests::harness::{Backing, edge_over, snowflake_from};
use gavel_tests::payloads;
use gavel_tests::requests::{self, swap};
use proptest::prelude::*;

const MODERATOR: &str = "1174109840998400011";
const APP: &str = "1174109840998400003";
const BOT: &str = "1174109840998400099";
const DAY: i64 = 86_400;

struct World {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    registry: Arc<CommandRegistry>,
    flows: Arc<FlowEngine>,
    /// What the commands handed the worker.
    bus: Arc<RecordingBus>,
    guild: String,
}

fn world(Backing { store, clock }: Backing) -> World {
    let registry = Arc::new(CommandRegistry::standard());
    let bus = Arc::new(RecordingBus::default());
    let mut flows = FlowEngine::new(Arc::clone(&store), clock.clone(), ComponentKey::random())
        .with_bus(bus.clone());
    registry.register_flows(&mut flows);
    World {
        store,
        clock,
        registry,
        flows: Arc::new(flows),
        bus,
        guild: snowflake(),
    }
}

fn embedded() -> World {
    world(Backing::embedded())
}

async fn dynamodb() -> World {
    world(Backing::dynamodb().await)
}

fn snowflake() -> String {
    snowflake_from("15425452969985")
}

fn member(n: usize) -> String {
    format!("11741098409985{n:05}")
}

fn user(id: &str) -> (String, OptionValue) {
    ("user".to_owned(), OptionValue::User(id.to_owned()))
}

fn int(name: &str, n: i64) -> (String, OptionValue) {
    (name.to_owned(), OptionValue::Integer(n))
}

fn text(name: &str, s: &str) -> (String, OptionValue) {
    (name.to_owned(), OptionValue::String(s.to_owned()))
}

fn reply_of(response: Response) -> Reply {
    match response {
        Response::Message(reply) | Response::Update(reply) => reply,
        other => panic!("expected a message, got {other:?}"),
    }
}

impl World {
    fn invocation(&self, id: &str, actor: &str, action: Action) -> Invocation {
        let capabilities = if actor == MODERATOR {
            Capabilities::all()
        } else {
            Capabilities::NONE
        };
        Invocation {
            id: id.to_owned(),
            platform: Platform::Discord,
            tenant: self.guild.clone(),
            channel: Some("1174109840998400002".into()),
            actor: Actor {
                id: actor.to_owned(),
                display_name: None,
                capabilities,
            },
            action,
            response_url: None,
            trigger_id: None,
            interaction_token: Some("token".into()),
            app: Some(AppContext {
                user_id: APP.to_owned(),
                capabilities: Capabilities::all(),
            }),
        }
    }

    fn command(
        &self,
        id: &str,
        actor: &str,
        name: &str,
        options: Vec<(String, OptionValue)>,
    ) -> Invocation {
        self.invocation(
            id,
            actor,
            Action::Command(CommandCall {
                name: name.to_owned(),
                options,
                bots: vec![BOT.to_owned()],
                message: None,
            }),
        )
    }

    async fn dispatch(&self, invocation: &Invocation) -> Reply {
        reply_of(
            self.registry
                .dispatch(invocation, Instant::now(), &self.flows)
                .await,
        )
    }

    async fn run(&self, actor: &str, name: &str, options: Vec<(String, OptionValue)>) -> Reply {
        self.dispatch(&self.command(&snowflake(), actor, name, options))
            .await
    }

    async fn click(&self, actor: &str, custom_id: &str) -> Reply {
        let click = self.invocation(
            &snowflake(),
            actor,
            Action::Component {
                custom_id: custom_id.to_owned(),
            },
        );
        self.dispatch(&click).await
    }

    /// `/economy give|take` by the moderator.
    async fn adjust(&self, action: &str, who: &str, amount: i64) -> Reply {
        let options = vec![
            text("action", action),
            user(who),
            int("amount", amount),
            text("value", "seed"),
        ];
        self.run(MODERATOR, "economy", options).await
    }

    async fn give(&self, to: &str, amount: i64) {
        let reply = self.adjust("give", to, amount).await;
        assert!(reply.text.starts_with("Gave"), "{}", reply.text);
    }

    async fn config(&self, setting: &str, value: &str) {
        let reply = self
            .run(
                MODERATOR,
                "economy",
                vec![
                    text("action", "config"),
                    text("setting", setting),
                    text("value", value),
                ],
            )
            .await;
        assert!(reply.text.contains("is now"), "{}", reply.text);
    }

    async fn settings(&self) -> EconomySettings {
        EconomySettings::load(self.store.as_ref(), Platform::Discord, &self.guild)
            .await
            .unwrap()
            .0
    }

    async fn account(&self, user: &str) -> Account {
        let settings = self.settings().await;
        Books::new(
            self.store.as_ref(),
            Platform::Discord,
            &self.guild,
            &settings,
        )
        .account(user)
        .await
        .unwrap()
    }

    async fn balance(&self, user: &str) -> i64 {
        self.account(user).await.balance()
    }

    async fn ledger(&self, user: &str) -> Vec<Entry> {
        let settings = self.settings().await;
        Books::new(
            self.store.as_ref(),
            Platform::Discord,
            &self.guild,
            &settings,
        )
        .ledger(user)
        .await
        .unwrap()
    }

    /// Every account's ledger replays to its balance, entry numbers run without gaps, and the
    /// balances sum to what was minted less what was burned. Returns that sum.
    async fn assert_books_balance(&self, users: &[String]) -> i64 {
        let mut sum = 0;
        let mut minted = 0;
        let mut transfers = 0;
        for user in users {
            let account = self.account(user).await;
            let ledger = self.ledger(user).await;
            let replayed: i64 = ledger.iter().map(|e| e.amount).sum();
            assert_eq!(
                replayed,
                account.balance(),
                "{user}'s ledger replays to the balance"
            );
            let mut running = 0;
            for (i, entry) in ledger.iter().enumerate() {
                running += entry.amount;
                assert_eq!(
                    entry.seq,
                    i as u64 + 1,
                    "{user}'s entries are numbered without gaps"
                );
                assert_eq!(
                    entry.balance_after, running,
                    "{user}'s entry {} states the balance",
                    entry.seq
                );
                assert!(entry.balance_after >= 0, "no balance is ever negative");
                if entry.kind.mints_or_burns() {
                    minted += entry.amount;
                } else {
                    transfers += entry.amount;
                }
            }
            assert_eq!(account.state.seq, ledger.len() as u64);
            sum += account.balance();
        }
        assert_eq!(transfers, 0, "every payment's two legs cancel out");
        assert_eq!(
            sum, minted,
            "the balances sum to what was minted less what was burned"
        );
        sum
    }
}

/// 100 payments of 10 at once from an account holding 100: exactly ten are made, the rest are
/// refused for want of funds, and nothing is created or lost.
async fn a_hundred_concurrent_payments_from_one_account_make_exactly_ten(w: World) {
    let w = Arc::new(w);
    let payer = member(1);
    let payees: Vec<String> = (2..7).map(member).collect();
    w.give(&payer, 100).await;
    let handles: Vec<_> = (0..100)
        .map(|i| {
            let w = Arc::clone(&w);
            let payer = payer.clone();
            let to = payees[i % payees.len()].clone();
            tokio::spawn(async move {
                w.run(&payer, "pay", vec![user(&to), int("amount", 10)])
                    .await
            })
        })
        .collect();
    let mut paid = 0;
    for handle in handles {
        let reply = handle.await.unwrap();
        if reply.text.starts_with("💸") {
            paid += 1;
        } else {
            assert!(
                reply.is_ephemeral() && reply.text.contains("the balance is 0"),
                "a refusal for want of funds: {}",
                reply.text
            );
        }
    }
    assert_eq!(paid, 10);
    assert_eq!(w.balance(&payer).await, 0);
    let mut everyone = payees.clone();
    everyone.push(payer.clone());
    assert_eq!(w.assert_books_balance(&everyone).await, 100);
}

/// Twenty `/daily` at once pay once; the others are told how long until the next.
async fn twenty_concurrent_dailies_pay_once(w: World) {
    let w = Arc::new(w);
    let me = member(1);
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let w = Arc::clone(&w);
            let me = me.clone();
            tokio::spawn(async move { w.run(&me, "daily", vec![]).await })
        })
        .collect();
    let mut collected = 0;
    for handle in handles {
        let reply = handle.await.unwrap();
        if reply.text.starts_with("You collected") {
            collected += 1;
        } else {
            assert!(
                reply.text.contains("next one is ready in"),
                "{}",
                reply.text
            );
        }
    }
    assert_eq!(collected, 1);
    assert_eq!(w.balance(&me).await, 100);
    // The next day continues the streak with its bonus.
    w.clock.advance_ms(20 * 3600 * 1000);
    let reply = w.run(&me, "daily", vec![]).await;
    assert!(
        reply.text.contains("110") && reply.text.contains("day 2"),
        "{}",
        reply.text
    );
    assert_eq!(w.assert_books_balance(&[me]).await, 210);
}

/// The same interaction delivered again (Slack retries, a redelivery), one after the other
/// and at once, pays once: the receipt keyed by its id is already there.
async fn a_redelivered_interaction_pays_once(w: World) {
    let w = Arc::new(w);
    let (payer, payee) = (member(1), member(2));
    w.give(&payer, 500).await;
    let pay = w.command(
        &snowflake(),
        &payer,
        "pay",
        vec![user(&payee), int("amount", 40)],
    );
    let first = w.dispatch(&pay).await;
    assert!(first.text.starts_with("💸"), "{}", first.text);
    let again = w.dispatch(&pay).await;
    assert!(again.text.contains("already done"), "{}", again.text);

    let other = w.command(
        &snowflake(),
        &payer,
        "pay",
        vec![user(&payee), int("amount", 7)],
    );
    let copies: Vec<_> = (0..5)
        .map(|_| {
            let w = Arc::clone(&w);
            let other = other.clone();
            tokio::spawn(async move { w.dispatch(&other).await })
        })
        .collect();
    let mut paid = 0;
    for copy in copies {
        if copy.await.unwrap().text.starts_with("💸") {
            paid += 1;
        }
    }
    assert_eq!(paid, 1);
    assert_eq!(w.balance(&payee).await, 47);
    w.assert_books_balance(&[payer, payee]).await;
}

/// Each refusal is an ephemeral answer that says why, and no balance or ledger changes.
async fn every_refusal_is_told_and_changes_nothing(w: World) {
    let (me, other) = (member(1), member(2));
    w.give(&me, 50).await;
    w.config("max-balance", "1000").await;
    w.give(&other, 990).await;
    let before = (w.account(&me).await, w.account(&other).await);
    let cases: Vec<(Vec<(String, OptionValue)>, &str)> = vec![
        (vec![user(&other), int("amount", 51)], "the balance is 50"),
        (vec![user(&me), int("amount", 5)], "cannot pay yourself"),
        (vec![user(BOT), int("amount", 5)], "Bots and apps"),
        (vec![user(APP), int("amount", 5)], "Bots and apps"),
        (vec![user(&other), int("amount", 0)], "whole number from 1"),
        (vec![user(&other), int("amount", -5)], "whole number from 1"),
        (
            vec![user(&other), int("amount", 11)],
            "past the maximum balance",
        ),
    ];
    for (options, says) in cases {
        let reply = w.run(&me, "pay", options).await;
        assert!(reply.is_ephemeral(), "{}", reply.text);
        assert!(reply.text.contains(says), "{says}: {}", reply.text);
        assert!(reply.text.contains("nothing was changed"), "{}", reply.text);
    }
    assert_eq!((w.account(&me).await, w.account(&other).await), before);

    let first = w.run(&me, "daily", vec![]).await;
    assert!(first.text.starts_with("You collected"), "{}", first.text);
    let after_daily = w.account(&me).await;
    w.clock.advance_ms(3600 * 1000);
    let again = w.run(&me, "daily", vec![]).await;
    assert!(again.is_ephemeral());
    assert!(again.text.contains("ready in 19 hours"), "{}", again.text);
    assert_eq!(w.account(&me).await, after_daily);
    // In a DM with the app there is no community to hold a balance in.
    let mut in_dm = w.command(&snowflake(), &me, "daily", vec![]);
    in_dm.tenant = format!("dm:{me}");
    let reply = w.dispatch(&in_dm).await;
    assert!(reply.text.contains("belong to a server"), "{}", reply.text);
    w.assert_books_balance(&[me, other]).await;
}

/// Over the threshold a payment asks first; two clicks on Pay make one payment, Cancel none.
async fn a_large_payment_is_confirmed_once(w: World) {
    let w = Arc::new(w);
    let (payer, payee) = (member(1), member(2));
    w.give(&payer, 5_000).await;
    let prompt = w
        .run(
            &payer,
            "pay",
            vec![user(&payee), int("amount", 2_000), text("note", "rent")],
        )
        .await;
    assert!(
        prompt.text.contains("Pay <@") && prompt.text.contains("2,000"),
        "{}",
        prompt.text
    );
    assert_eq!(
        w.balance(&payer).await,
        5_000,
        "nothing moves before Confirm"
    );
    let confirm = prompt.buttons[0].id.clone();
    let clicks: Vec<_> = (0..2)
        .map(|_| {
            let w = Arc::clone(&w);
            let (payer, confirm) = (payer.clone(), confirm.clone());
            tokio::spawn(async move { w.click(&payer, &confirm).await })
        })
        .collect();
    let mut paid = 0;
    for click in clicks {
        if click.await.unwrap().text.starts_with("💸") {
            paid += 1;
        }
    }
    assert_eq!(paid, 1);
    assert_eq!(w.balance(&payee).await, 2_000);
    let entry = w.ledger(&payee).await.pop().unwrap();
    assert_eq!(
        (entry.kind, entry.reason.as_str()),
        (EntryKind::Received, "rent")
    );

    let prompt = w
        .run(&payer, "pay", vec![user(&payee), int("amount", 2_000)])
        .await;
    let cancelled = w.click(&payer, &prompt.buttons[1].id).await;
    assert!(
        cancelled.text.contains("nothing was done"),
        "{}",
        cancelled.text
    );
    assert_eq!(w.balance(&payer).await, 3_000);
    w.assert_books_balance(&[payer, payee]).await;
}

/// A warning with a fine takes it in the case's own transaction (no more than the member has),
/// the case shows it, and a pardon pays it back through the ledger; both are audited.
async fn fines_are_taken_with_the_case_and_refunded_by_a_pardon(w: World) {
    let target = member(1);
    w.config("fine.warning", "50").await;
    w.config("fines", "on").await;
    w.give(&target, 30).await;
    let warned = w
        .run(
            MODERATOR,
            "warn",
            vec![user(&target), text("reason", "spam")],
        )
        .await;
    assert!(warned.text.contains("#1"), "{}", warned.text);
    assert_eq!(
        w.balance(&target).await,
        0,
        "never below zero: 30 of the 50 taken"
    );
    let told = w
        .bus
        .jobs()
        .into_iter()
        .find_map(|job| match job.task {
            Task::ApplySanction { dm: Some(dm), .. } => Some(dm.text),
            _ => None,
        })
        .expect("the warning's DM");
    assert!(told.contains("Fine: 30 🪙 coins"), "{told}");
    let case = w.run(MODERATOR, "case", vec![int("number", 1)]).await;
    let fine = case
        .fields
        .iter()
        .find(|f| f.name == "Fine")
        .expect("the case shows its fine");
    assert_eq!(fine.value, "30");

    let pardoned = w
        .run(
            MODERATOR,
            "pardon",
            vec![int("case", 1), text("reason", "mistake")],
        )
        .await;
    assert!(
        pardoned.text.contains("fine of 30 is paid back"),
        "{}",
        pardoned.text
    );
    assert_eq!(w.balance(&target).await, 30);
    let kinds: Vec<EntryKind> = w.ledger(&target).await.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![EntryKind::Given, EntryKind::Fine, EntryKind::Refund]
    );
    // A second pardon is refused and refunds nothing more.
    let again = w
        .run(
            MODERATOR,
            "pardon",
            vec![int("case", 1), text("reason", "again")],
        )
        .await;
    assert!(again.text.contains("already pardoned"), "{}", again.text);
    assert_eq!(w.balance(&target).await, 30);
    let audited: Vec<AuditAction> =
        AuditEntry::recent(w.store.as_ref(), Platform::Discord, &w.guild, 50, None)
            .await
            .unwrap()
            .0
            .iter()
            .map(|e| e.action)
            .collect();
    assert!(audited.contains(&AuditAction::MoneyGiven), "{audited:?}");
    assert!(audited.contains(&AuditAction::ConfigChange), "{audited:?}");
    w.assert_books_balance(&[target]).await;
}

/// The leaderboard reads the balance index highest first, ten to a page.
async fn the_leaderboard_ranks_by_balance_in_pages(w: World) {
    let members: Vec<String> = (1..=12).map(member).collect();
    for (i, m) in members.iter().enumerate() {
        w.give(m, (i as i64 + 1) * 100).await;
    }
    // A payment moves two members in the ranking.
    let paid = w
        .run(
            &members[0],
            "pay",
            vec![user(&members[11]), int("amount", 100)],
        )
        .await;
    assert!(paid.text.starts_with("💸"), "{}", paid.text);
    let first = w.run(&members[3], "leaderboard", vec![]).await;
    let lines: Vec<String> = first.fields[0].value.lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 10);
    assert!(
        lines[0].starts_with("1. <@")
            && lines[0].contains(&members[11])
            && lines[0].contains("1,300"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains(&members[10]) && lines[1].contains("1,100"),
        "{lines:?}"
    );
    let second = w
        .run(&members[3], "leaderboard", vec![int("page", 2)])
        .await;
    let lines: Vec<&str> = second.fields[0].value.lines().collect();
    // Member 1 gave away everything and holds nothing: not ranked.
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("11. ") && lines[0].contains(&members[1]),
        "{lines:?}"
    );
}

/// `/balance` shows the balance and the last five changes to its owner; others see the
/// balance alone.
async fn balance_shows_the_latest_five_changes_to_its_owner(w: World) {
    let (me, other) = (member(1), member(2));
    w.give(&me, 100).await;
    for amount in 1..=6 {
        w.run(&me, "pay", vec![user(&other), int("amount", amount)])
            .await;
    }
    let mine = w.run(&me, "balance", vec![]).await;
    assert!(mine.text.contains("79 🪙 coins"), "{}", mine.text);
    let latest = &mine.fields[0].value;
    assert_eq!(latest.lines().count(), 5, "{latest}");
    assert!(
        latest.lines().next().unwrap().contains("-6 · paid to <@"),
        "{latest}"
    );
    let theirs = w.run(&me, "balance", vec![user(&other)]).await;
    assert!(
        theirs.text.contains("21 🪙 coins") && theirs.fields.is_empty(),
        "{theirs:?}"
    );
}

#[derive(Clone, Debug)]
enum Move {
    Pay { from: usize, to: usize, amount: i64 },
    Give { to: usize, amount: i64 },
    Take { from: usize, amount: i64 },
    Daily { who: usize },
    Warn { who: usize },
    Pardon { case: u64 },
    NextDay,
}

fn a_move() -> impl Strategy<Value = Move> {
    prop_oneof![
        4 => (0..4usize, 0..4usize, -5..80i64).prop_map(|(from, to, amount)| Move::Pay { from, to, amount }),
        2 => (0..4usize, 1..200i64).prop_map(|(to, amount)| Move::Give { to, amount }),
        1 => (0..4usize, 1..120i64).prop_map(|(from, amount)| Move::Take { from, amount }),
        2 => (0..4usize).prop_map(|who| Move::Daily { who }),
        1 => (0..4usize).prop_map(|who| Move::Warn { who }),
        1 => (1..6u64).prop_map(|case| Move::Pardon { case }),
        1 => Just(Move::NextDay),
    ]
}

/// Random interleavings of every movement, run in concurrent batches: whatever wins, the books
/// balance afterwards.
async fn books_balance_after(w: World, batches: Vec<Vec<Move>>) {
    let w = Arc::new(w);
    w.config("fine.warning", "25").await;
    w.config("fines", "on").await;
    w.config("max-balance", "600").await;
    let members: Vec<String> = (1..=4).map(member).collect();
    for batch in batches {
        let mut handles = Vec::new();
        for mv in batch {
            let w = Arc::clone(&w);
            let m = members.clone();
            if let Move::NextDay = mv {
                w.clock.advance_ms(DAY * 1000);
                continue;
            }
            handles.push(tokio::spawn(async move {
                match mv {
                    Move::Pay { from, to, amount } => {
                        w.run(&m[from], "pay", vec![user(&m[to]), int("amount", amount)])
                            .await
                    }
                    Move::Give { to, amount } => w.adjust("give", &m[to], amount).await,
                    Move::Take { from, amount } => w.adjust("take", &m[from], amount).await,
                    Move::Daily { who } => w.run(&m[who], "daily", vec![]).await,
                    Move::Warn { who } => {
                        w.run(
                            MODERATOR,
                            "warn",
                            vec![user(&m[who]), text("reason", "noise")],
                        )
                        .await
                    }
                    Move::Pardon { case } => {
                        w.run(
                            MODERATOR,
                            "pardon",
                            vec![int("case", case as i64), text("reason", "sorry")],
                        )
                        .await
                    }
                    Move::NextDay => unreachable!(),
                }
            }));
        }
        for handle in handles {
            let reply = handle.await.expect("no command panics");
            assert!(
                !reply.text.contains("could not reach my storage"),
                "{}",
                reply.text
            );
        }
    }
    let total = w.assert_books_balance(&members).await;
    for m in &members {
        assert!(w.balance(m).await <= 600, "no balance passes the maximum");
    }
    assert!(total >= 0);
}

fn random_batches(cases: u32) -> Vec<Vec<Vec<Move>>> {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    let strategy = proptest::collection::vec(proptest::collection::vec(a_move(), 1..8), 1..6);
    (0..cases)
        .map(|_| strategy.new_tree(&mut runner).expect("a case").current())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_books_balance_over_random_interleavings_on_the_embedded_store() {
    for batches in random_batches(24) {
        // Shown with the failure, so a failing interleaving can be replayed.
        println!("moves: {batches:?}");
        books_balance_after(embedded(), batches).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_books_balance_over_random_interleavings_on_dynamodb() {
    for batches in random_batches(4) {
        println!("moves: {batches:?}");
        books_balance_after(dynamodb().await, batches).await;
    }
}

/// Cleanup prunes ledger entries past the community's retention, shortened since they were
/// written too, and never a balance.
async fn cleanup_prunes_old_ledger_entries_and_keeps_balances(w: World) {
    let me = member(1);
    w.give(&me, 100).await;
    w.clock.advance_ms(20 * DAY * 1000);
    w.give(&me, 5).await;
    w.config("retention", "10").await;
    let m = Maintenance::new(
        w.store.clone(),
        Arc::new(RecordingBus::default()),
        w.clock.clone(),
    );
    let mut pruned = 0;
    for _ in 0..50 {
        let report = m.run(Sweep::Cleanup, Budget::for_secs(60)).await;
        pruned += report.count("ledger entries");
        if !report.more {
            break;
        }
    }
    assert_eq!(pruned, 1, "the entry of 20 days ago goes; today's stays");
    assert_eq!(w.balance(&me).await, 105, "the balance stays");
    let kept = w.ledger(&me).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].balance_after, 105);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_prunes_ledger_entries_on_the_embedded_store() {
    cleanup_prunes_old_ledger_entries_and_keeps_balances(embedded()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_prunes_ledger_entries_on_dynamodb() {
    cleanup_prunes_old_ledger_entries_and_keeps_balances(world(
        Backing::dynamodb_own_table("gavel-economy").await,
    ))
    .await;
}

/// What `/pay` and `/daily` cost the store after the edge's admission: reads, then one
/// transaction (the figures BENCHMARKS.md gives).
async fn pay_and_daily_take_one_transaction_each(w: World) {
    let (me, other) = (member(1), member(2));
    w.give(&me, 100).await;
    let counting = Arc::new(Faulty::counting(Arc::clone(&w.store)));
    let counted = world_over(&w, counting.clone());
    let (paid, trips) =
        round_trips::measure(counted.run(&me, "pay", vec![user(&other), int("amount", 5)])).await;
    assert!(paid.text.starts_with("💸"), "{}", paid.text);
    assert_eq!(counting.calls(Op::Transact), 1);
    assert_eq!(counting.calls(Op::Get), 3, "the settings and both accounts");
    assert_eq!(trips, 4);
    let counting = Arc::new(Faulty::counting(Arc::clone(&w.store)));
    let counted = world_over(&w, counting.clone());
    let (daily, trips) = round_trips::measure(counted.run(&me, "daily", vec![])).await;
    assert!(daily.text.starts_with("You collected"), "{}", daily.text);
    assert_eq!(counting.calls(Op::Transact), 1);
    assert_eq!(counting.calls(Op::Get), 2, "the settings and the account");
    assert_eq!(trips, 3);
}

/// The same community over another store handle (a decorator counting its calls).
fn world_over(w: &World, store: Arc<dyn Store>) -> World {
    World {
        guild: w.guild.clone(),
        ..world(Backing {
            store,
            clock: w.clock.clone(),
        })
    }
}

/// On Slack the edge asks `users.info` whether the user a payment names is a bot (a command's
/// text does not say), only for the commands that refuse bots; a bot is refused, a member paid.
async fn slack_payments_to_bots_are_refused(w: World) {
    let slack_web = Arc::new(RecordingSlackWeb::new().with_bots(vec!["U0GAVELBOT".to_owned()]));
    let edge = edge_over(Arc::clone(&w.store), &w.clock, slack_web.clone());
    let team = format!("T{}", &snowflake()[10..]);
    let slack = |text: &'static str, command: &'static str, user: &'static str| {
        let body = swap(
            swap(
                payloads::slack_command(command, text, &snowflake()),
                payloads::SLACK_USER,
                user,
            ),
            payloads::SLACK_TEAM,
            &team,
        );
        let edge = &edge;
        let clock = &w.clock;
        async move { requests::slack(edge, clock, "/slack/commands", &body).await }
    };
    let gave = slack("give <@U0GAVELPAY> 100 seed", "/economy", "U0GAVELMOD").await;
    assert!(gave.body.to_string().contains("Gave 100"), "{}", gave.body);
    let lookups = |web: &RecordingSlackWeb| {
        web.calls()
            .into_iter()
            .filter(|c| matches!(c, SlackCall::UserIsBot { .. }))
            .count()
    };
    let before = lookups(&slack_web);
    let to_bot = slack("<@U0GAVELBOT> 10", "/pay", "U0GAVELPAY").await;
    assert!(
        to_bot.body.to_string().contains("Bots and apps"),
        "{}",
        to_bot.body
    );
    let to_member = slack("<@U0GAVELTGT> 10 thanks", "/pay", "U0GAVELPAY").await;
    assert!(
        to_member.body.to_string().contains("💸"),
        "{}",
        to_member.body
    );
    assert_eq!(
        lookups(&slack_web),
        before + 2,
        "one users.info per payment"
    );
    slack("", "/ping", "U0GAVELPAY").await;
    assert_eq!(
        lookups(&slack_web),
        before + 2,
        "commands that pay nobody ask nothing"
    );
}

/// The one `/economy` spec reads Slack's words for each action.
#[test]
fn slack_words_fit_each_economy_action() {
    use gavel_shared::slack::options_from_text;
    let registry = CommandRegistry::standard();
    let spec = registry.spec("economy").unwrap();
    let parsed = |words: &str| -> HashMap<String, OptionValue> {
        options_from_text(spec, words)
            .unwrap()
            .into_iter()
            .collect()
    };
    let give = parsed("give <@U1> 50 daily bonus");
    assert_eq!(give["user"], OptionValue::User("U1".into()));
    assert_eq!(give["amount"], OptionValue::Integer(50));
    assert_eq!(give["value"], OptionValue::String("daily bonus".into()));
    assert!(!give.contains_key("setting"));
    let number = parsed("config daily 100");
    assert_eq!(number["setting"], OptionValue::String("daily".into()));
    assert_eq!(number["amount"], OptionValue::Integer(100));
    let word = parsed("config currency gems");
    assert_eq!(word["value"], OptionValue::String("gems".into()));
    assert!(
        options_from_text(spec, "give <@U1> lots of").is_ok(),
        "the reason takes the words"
    );
    let pay = registry.spec("pay").unwrap();
    assert!(
        options_from_text(pay, "<@U1> many")
            .unwrap_err()
            .to_string()
            .contains("whole number")
    );
}

gavel_tests::on_both_stores!(
    a_hundred_concurrent_payments_from_one_account_make_exactly_ten,
    twenty_concurrent_dailies_pay_once,
    a_redelivered_interaction_pays_once,
    every_refusal_is_told_and_changes_nothing,
    a_large_payment_is_confirmed_once,
    fines_are_taken_with_the_case_and_refunded_by_a_pardon,
    the_leaderboard_ranks_by_balance_in_pages,
    balance_shows_the_latest_five_changes_to_its_owner,
    pay_and_daily_take_one_transaction_each,
    slack_payments_to_bots_are_refused,
);
