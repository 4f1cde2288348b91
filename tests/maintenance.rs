//! Scheduled maintenance on both store adapters: cases and reminders written by the real
//! moderation and reminder code, the jobs run as the maintenance function runs them (one-time
//! wakeups and sweeps, alone and racing), their jobs carried out by the real worker against a
//! recording platform, and every job delivered twice to show the worker's claim.
//!
//! Sweeps read queues shared by every community, so on DynamoDB each test has a table of its
//! own on the binary's moto server (on the embedded store, a store of its own).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gavel_shared::clock::{Clock, ManualClock};
use gavel_shared::edge::Edge;
use gavel_shared::idempotency::Claims;
use gavel_shared::invocation::{Action, Actor, Capabilities, CommandCall, Invocation, Platform};
use gavel_shared::jobs::{Bus, BusError, Job, Task, Wakeup};
use gavel_shared::maintenance::{Budget, Maintenance, Report, Sweep};
use gavel_shared::moderation::actions::{
    ModContext, Sanction, prepare_edit, prepare_pardon, record_sanction,
};
use gavel_shared::moderation::{
    AuditAction, AuditEntry, Cases, Kind, ModSettings, Status, cases::EXPIRY_QUEUE,
};
use gavel_shared::platform::recording::{PlatformCall, RecordingPlatform};
use gavel_shared::reminders::{Cancelled, Reminders};
use gavel_shared::slack::web::RecordingSlackWeb;
use gavel_shared::store::{ItemKey, NewItem, PageRequest, Store};
use gavel_shared::worker::{Outcome, Worker};
use gavel_tests::doubles::RecordingBus;
use gavel_tests::harness::{Backing, edge_over, recording_worker, snowflake_from};
use gavel_tests::records::{audit_log, save_settings};
use gavel_tests::requests::{self, swap};
use gavel_tests::{FIXTURE_TIMESTAMP, moto, payloads};
use serde_json::{Value, json};

const MODERATOR: &str = "1174109840998400010";
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

struct Setup {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    bus: Arc<RecordingBus>,
    platform: Arc<RecordingPlatform>,
    guild: String,
    team: String,
}

fn setup(Backing { store, clock }: Backing) -> Setup {
    Setup {
        store,
        clock,
        bus: Arc::default(),
        platform: Arc::new(RecordingPlatform::new()),
        guild: snowflake(),
        team: format!("T{}", &snowflake()[10..]),
    }
}

fn embedded() -> Setup {
    setup(Backing::embedded())
}

async fn dynamodb() -> Setup {
    setup(Backing::dynamodb_own_table("gavel-maintenance").await)
}

fn snowflake() -> String {
    snowflake_from("15425452969984")
}

fn budget() -> Budget {
    Budget::for_secs(60)
}

impl Setup {
    fn maintenance(&self) -> Maintenance {
        Maintenance::new(self.store.clone(), self.bus.clone(), self.clock.clone())
    }

    fn tenant(&self, platform: Platform) -> &str {
        match platform {
            Platform::Discord => &self.guild,
            Platform::Slack => &self.team,
            Platform::Telegram => unreachable!("Telegram has its own suite, tests/telegram.rs"),
        }
    }

    fn invocation(&self, platform: Platform) -> Invocation {
        Invocation {
            id: snowflake(),
            platform,
            tenant: self.tenant(platform).to_owned(),
            channel: Some("C0GAVEL".to_owned()),
            actor: Actor {
                id: MODERATOR.to_owned(),
                display_name: None,
                capabilities: Capabilities::all(),
            },
            action: Action::Command(CommandCall {
                name: "tempban".to_owned(),
                options: vec![],
                bots: vec![],
                message: None,
            }),
            response_url: None,
            trigger_id: None,
            interaction_token: None,
            app: None,
        }
    }

    async fn settings(&self, platform: Platform) -> ModSettings {
        ModSettings::load(self.store.as_ref(), platform, self.tenant(platform))
            .await
            .unwrap()
            .0
    }

    async fn save_settings(&self, platform: Platform, settings: &ModSettings) {
        save_settings(
            self.store.as_ref(),
            platform,
            self.tenant(platform),
            settings,
        )
        .await
    }

    /// Records a sanction as `/tempban`, `/ban`, `/warn` do; returns the case number.
    async fn sanction(
        &self,
        platform: Platform,
        kind: Kind,
        target: &str,
        secs: Option<i64>,
    ) -> u64 {
        let settings = self.settings(platform).await;
        let invocation = self.invocation(platform);
        let ctx = ModContext {
            store: self.store.as_ref(),
            invocation: &invocation,
            now_secs: self.clock.now_secs(),
            settings: &settings,
        };
        let sanction = Sanction {
            kind,
            target: target.to_owned(),
            reason: "testing".to_owned(),
            duration_secs: secs,
            source: None,
        };
        record_sanction(&ctx, &sanction).await.unwrap().case.number
    }

    fn cases(&self, platform: Platform) -> Cases<'_> {
        Cases::new(self.store.as_ref(), platform, self.tenant(platform))
    }

    fn worker(&self) -> Worker {
        recording_worker(&self.store, &self.clock, &self.platform)
    }

    /// Hands every published job to the worker twice (at-least-once delivery); the second
    /// delivery must do nothing.
    async fn deliver_jobs(&self) -> Vec<Job> {
        let jobs = self.bus.take();
        let worker = self.worker();
        for job in &jobs {
            let deadline = Instant::now() + Duration::from_secs(10);
            assert_eq!(worker.handle(job, deadline).await, Outcome::Done, "{job:?}");
            assert_eq!(worker.handle(job, deadline).await, Outcome::Duplicate);
        }
        jobs
    }

    fn unbans(&self) -> Vec<String> {
        self.platform
            .calls()
            .into_iter()
            .filter_map(|c| match c {
                PlatformCall::DiscordUnban { user, .. } => Some(user),
                _ => None,
            })
            .collect()
    }

    async fn due_count(&self, queue: &str) -> usize {
        let far = self.clock.now_secs() + 400 * DAY;
        self.store
            .due_by(queue, far, PageRequest::first(1000))
            .await
            .unwrap()
            .items
            .len()
    }

    async fn audit(&self, platform: Platform) -> Vec<AuditEntry> {
        audit_log(self.store.as_ref(), platform, self.tenant(platform)).await
    }
}

fn lifted_total(reports: &[&Report]) -> u64 {
    reports.iter().map(|r| r.count("lifted")).sum()
}

/// The one-time schedule and the sweep fire at the same moment: the ban is lifted once, one
/// unban goes to Discord, and a later sweep or a late schedule does nothing.
async fn an_expired_temporary_ban_is_lifted_once_when_schedule_and_sweep_both_fire(s: Setup) {
    let target = snowflake();
    let number = s
        .sanction(Platform::Discord, Kind::TempBan, &target, Some(HOUR))
        .await;
    let wakeup = Wakeup::LiftExpired {
        platform: Platform::Discord,
        tenant: s.guild.clone(),
        target: target.clone(),
        case: number,
        at: FIXTURE_TIMESTAMP + HOUR,
    };
    let m = s.maintenance();
    // Before its end nothing happens, whoever asks.
    assert_eq!(m.wake(&wakeup).await.count("stale"), 1);
    assert_eq!(m.run(Sweep::Expire, budget()).await.count("lifted"), 0);

    s.clock.advance_ms(HOUR * 1000);
    let (woken, swept) = tokio::join!(m.wake(&wakeup), m.run(Sweep::Expire, budget()));
    assert_eq!(lifted_total(&[&woken, &swept]), 1, "{woken}\n{swept}");
    assert_eq!(woken.count("failed") + swept.count("failed"), 0);

    let jobs = s.deliver_jobs().await;
    assert_eq!(jobs.len(), 1, "one lift job: {jobs:?}");
    assert!(matches!(
        jobs[0].task,
        Task::LiftSanction { action: Kind::TempBan, case: Some(n), .. } if n == number
    ));
    assert_eq!(s.unbans(), vec![target.clone()]);

    let case = s
        .cases(Platform::Discord)
        .get_of(&target, number)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(case.case.status, Status::Expired);
    assert_eq!(case.case.history.last().unwrap().what, "expired");
    assert_eq!(
        s.due_count(EXPIRY_QUEUE).await,
        0,
        "out of the expiry queue"
    );
    assert!(
        s.audit(Platform::Discord)
            .await
            .iter()
            .any(|e| e.action == AuditAction::Unban
                && e.actor == "gavel"
                && e.case == Some(number))
    );

    // Again, later: nothing more.
    assert_eq!(m.wake(&wakeup).await.count("stale"), 1);
    assert_eq!(m.run(Sweep::Expire, budget()).await.count("lifted"), 0);
    assert!(s.deliver_jobs().await.is_empty());
    assert_eq!(s.unbans().len(), 1);
}

/// Two sweeps at once over three expired bans: each is lifted once.
async fn two_sweeps_at_once_lift_each_ban_once(s: Setup) {
    let targets: Vec<String> = (0..3).map(|_| snowflake()).collect();
    for target in &targets {
        s.sanction(Platform::Discord, Kind::TempBan, target, Some(HOUR))
            .await;
    }
    s.clock.advance_ms((HOUR + 1) * 1000);
    let (m1, m2) = (s.maintenance(), s.maintenance());
    let (a, b) = tokio::join!(
        m1.run(Sweep::Expire, budget()),
        m2.run(Sweep::Expire, budget())
    );
    assert_eq!(lifted_total(&[&a, &b]), 3, "{a}\n{b}");
    s.deliver_jobs().await;
    let mut unbanned = s.unbans();
    unbanned.sort();
    let mut expected = targets.clone();
    expected.sort();
    assert_eq!(unbanned, expected, "each member unbanned exactly once");
}

/// A moderator extended the ban after its schedule was made: the old schedule does nothing,
/// the sweep leaves it, and it is lifted at its new end.
async fn an_edited_case_is_not_lifted_before_its_new_end(s: Setup) {
    let target = snowflake();
    let number = s
        .sanction(Platform::Discord, Kind::TempBan, &target, Some(HOUR))
        .await;
    let settings = s.settings(Platform::Discord).await;
    let invocation = s.invocation(Platform::Discord);
    let ctx = ModContext {
        store: s.store.as_ref(),
        invocation: &invocation,
        now_secs: s.clock.now_secs(),
        settings: &settings,
    };
    let stored = s
        .cases(Platform::Discord)
        .get_of(&target, number)
        .await
        .unwrap()
        .unwrap();
    let edit = prepare_edit(&ctx, &stored, None, Some(3 * HOUR), None).unwrap();
    // The edit asks the worker for a schedule at the new end.
    assert!(matches!(
        &edit.task,
        Some(Task::Schedule { wakeup }) if wakeup.at() == FIXTURE_TIMESTAMP + 3 * HOUR
    ));
    s.store.transact(edit.ops).await.unwrap();

    s.clock.advance_ms((HOUR + 1) * 1000);
    let stale = Wakeup::LiftExpired {
        platform: Platform::Discord,
        tenant: s.guild.clone(),
        target: target.clone(),
        case: number,
        at: FIXTURE_TIMESTAMP + HOUR,
    };
    let m = s.maintenance();
    let woken = m.wake(&stale).await;
    assert_eq!((woken.count("lifted"), woken.count("stale")), (0, 1));
    assert!(woken.notes[0].contains("now ends"), "{woken}");
    assert_eq!(m.run(Sweep::Expire, budget()).await.count("lifted"), 0);
    assert!(s.deliver_jobs().await.is_empty());

    s.clock.advance_ms(2 * HOUR * 1000);
    assert_eq!(m.run(Sweep::Expire, budget()).await.count("lifted"), 1);
    s.deliver_jobs().await;
    assert_eq!(s.unbans(), vec![target]);
}

/// A pardoned ban was lifted by the pardon; its schedule later does nothing.
async fn a_pardoned_case_is_not_lifted_again(s: Setup) {
    let target = snowflake();
    let number = s
        .sanction(Platform::Discord, Kind::TempBan, &target, Some(HOUR))
        .await;
    let settings = s.settings(Platform::Discord).await;
    let invocation = s.invocation(Platform::Discord);
    let ctx = ModContext {
        store: s.store.as_ref(),
        invocation: &invocation,
        now_secs: s.clock.now_secs(),
        settings: &settings,
    };
    let stored = s
        .cases(Platform::Discord)
        .get_of(&target, number)
        .await
        .unwrap()
        .unwrap();
    let pardon = prepare_pardon(&ctx, &stored, "mistake", AuditAction::Pardon)
        .await
        .unwrap();
    s.store.transact(pardon.ops).await.unwrap();
    s.clock.advance_ms((HOUR + 1) * 1000);
    let m = s.maintenance();
    let woken = m
        .wake(&Wakeup::LiftExpired {
            platform: Platform::Discord,
            tenant: s.guild.clone(),
            target: target.clone(),
            case: number,
            at: FIXTURE_TIMESTAMP + HOUR,
        })
        .await;
    assert_eq!(woken.count("stale"), 1);
    assert!(woken.notes[0].contains("pardoned"), "{woken}");
    assert_eq!(m.run(Sweep::Expire, budget()).await.count("lifted"), 0);
    assert!(s.deliver_jobs().await.is_empty());
    assert!(s.unbans().is_empty());
}

/// A permanent ban after the temporary one: the temporary one ends, the member stays banned.
async fn a_temporary_ban_superseded_by_a_permanent_one_is_not_lifted(s: Setup) {
    let target = snowflake();
    let temporary = s
        .sanction(Platform::Discord, Kind::TempBan, &target, Some(HOUR))
        .await;
    let permanent = s
        .sanction(Platform::Discord, Kind::Ban, &target, None)
        .await;
    s.clock.advance_ms((HOUR + 1) * 1000);
    let report = s.maintenance().run(Sweep::Expire, budget()).await;
    assert_eq!(
        (report.count("lifted"), report.count("superseded")),
        (0, 1),
        "{report}"
    );
    assert!(
        report.notes[0].contains(&format!("case #{permanent}")),
        "{report}"
    );
    assert!(s.deliver_jobs().await.is_empty(), "no unban job");
    assert!(s.unbans().is_empty());
    let cases = s.cases(Platform::Discord);
    let ended = cases
        .get_of(&target, temporary)
        .await
        .unwrap()
        .unwrap()
        .case;
    assert_eq!(ended.status, Status::Expired);
    assert!(
        ended
            .history
            .last()
            .unwrap()
            .after
            .as_deref()
            .unwrap()
            .contains("keeps the member banned")
    );
    let ban = cases
        .get_of(&target, permanent)
        .await
        .unwrap()
        .unwrap()
        .case;
    assert_eq!(ban.status, Status::Active);
    assert_eq!(s.due_count(EXPIRY_QUEUE).await, 0);
}

/// More due bans than one page: each run does one page and says more is left; the next
/// continues until none is.
async fn a_sweep_over_more_than_a_page_finishes_across_runs(s: Setup) {
    for _ in 0..5 {
        s.sanction(Platform::Discord, Kind::TempBan, &snowflake(), Some(HOUR))
            .await;
    }
    s.clock.advance_ms((HOUR + 1) * 1000);
    let m = s.maintenance().with_page_size(2);
    let one_page = || Budget::for_secs(60).with_max_pages(1);
    let mut lifted = Vec::new();
    let mut runs = 0;
    loop {
        let report = m.run(Sweep::Expire, one_page()).await;
        runs += 1;
        lifted.push(report.count("lifted"));
        if !report.more || runs > 6 {
            break;
        }
    }
    // One page of bans per run (draining the empty outbox first uses no page).
    assert_eq!(lifted.iter().sum::<u64>(), 5, "{lifted:?}");
    assert!(
        lifted.iter().all(|n| *n <= 2),
        "never more than a page per run: {lifted:?}"
    );
    assert!(runs >= 3, "{lifted:?}");
    assert_eq!(s.due_count(EXPIRY_QUEUE).await, 0);
    assert_eq!(s.deliver_jobs().await.len(), 5);
    assert_eq!(s.unbans().len(), 5);
}

/// A lift whose publish never happened (the run died after its commit) is published by the
/// next sweep from the outbox, and the worker still unbans once.
async fn a_lift_committed_but_not_published_is_published_by_the_next_sweep(s: Setup) {
    let target = snowflake();
    s.sanction(Platform::Discord, Kind::TempBan, &target, Some(HOUR))
        .await;
    s.clock.advance_ms((HOUR + 1) * 1000);
    let failing = Maintenance::new(s.store.clone(), Arc::new(RefusingBus), s.clock.clone());
    let first = failing.run(Sweep::Expire, budget()).await;
    assert_eq!(first.count("lifted"), 1, "{first}");
    assert!(s.deliver_jobs().await.is_empty(), "nothing reached the bus");

    // Within the grace period the outbox is left to the run that wrote it.
    assert_eq!(
        s.maintenance()
            .run(Sweep::Expire, budget())
            .await
            .count("republished"),
        0
    );
    s.clock.advance_ms(3 * 60 * 1000);
    let second = s.maintenance().run(Sweep::Expire, budget()).await;
    assert_eq!(
        (second.count("republished"), second.count("lifted")),
        (1, 0),
        "{second}"
    );
    s.deliver_jobs().await;
    assert_eq!(s.unbans(), vec![target]);
    assert_eq!(
        s.maintenance()
            .run(Sweep::Expire, budget())
            .await
            .count("republished"),
        0
    );
}

struct RefusingBus;

#[async_trait]
impl Bus for RefusingBus {
    async fn publish(&self, _: &Job) -> Result<(), BusError> {
        Err(BusError::Failed("injected outage".into()))
    }
}

/// A reminder set with `/remind` on Slack is delivered once by DM, however the schedule and
/// the sweep race; a cancelled one never is.
async fn a_reminder_is_delivered_once(s: Setup) {
    let edge = edge_over(
        s.store.clone(),
        &s.clock,
        Arc::new(RecordingSlackWeb::new()),
    )
    .with_bus(s.bus.clone());
    let answer = slack_command(&s, &edge, "in 2h water the plants").await;
    assert!(answer.contains("Reminder 1 set for"), "{answer}");
    let answer = slack_command(&s, &edge, "in 3h call back").await;
    assert!(answer.contains("Reminder 2"), "{answer}");
    let listed = slack_command(&s, &edge, "list").await;
    assert!(
        listed.contains("water the plants") && listed.contains("call back"),
        "{listed}"
    );
    // The command asked the worker for the schedules.
    let scheduled: Vec<Wakeup> = s
        .bus
        .take()
        .into_iter()
        .filter_map(|j| match j.task {
            Task::Schedule { wakeup } => Some(wakeup),
            _ => None,
        })
        .collect();
    assert_eq!(scheduled.len(), 2);
    let cancelled = slack_command(&s, &edge, "cancel 2").await;
    assert!(cancelled.contains("Reminder 2 cancelled"), "{cancelled}");

    s.clock.advance_ms(3 * HOUR * 1000);
    let m = s.maintenance();
    let (woken_first, swept, woken_second) = tokio::join!(
        m.wake(&scheduled[0]),
        m.run(Sweep::Reminders, budget()),
        m.wake(&scheduled[1]),
    );
    let delivered: u64 = [&woken_first, &swept, &woken_second]
        .iter()
        .map(|r| r.count("delivered"))
        .sum();
    assert_eq!(delivered, 1, "{woken_first}\n{swept}\n{woken_second}");
    assert_eq!(woken_second.count("stale"), 1, "cancelled: {woken_second}");
    s.deliver_jobs().await;
    let dms: Vec<String> = s
        .platform
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            PlatformCall::SlackDm { user, text } => Some(format!("{user}: {text}")),
            _ => None,
        })
        .collect();
    assert_eq!(dms.len(), 1, "{dms:?}");
    assert!(dms[0].contains(payloads::SLACK_USER) && dms[0].contains("water the plants"));
    assert_eq!(
        m.run(Sweep::Reminders, budget()).await.count("delivered"),
        0
    );
    assert!(
        slack_command(&s, &edge, "list")
            .await
            .contains("no reminders")
    );
    let reminders = Reminders::new(s.store.as_ref(), Platform::Slack, &s.team);
    assert_eq!(
        reminders.cancel(payloads::SLACK_USER, 1).await.unwrap(),
        Cancelled::AlreadyDelivered
    );
}

async fn slack_command(s: &Setup, edge: &Edge, text: &str) -> String {
    let body = payloads::slack_command("/remind", text, &snowflake());
    let body = swap(body, payloads::SLACK_TEAM, &s.team);
    let answer = requests::slack(edge, &s.clock, "/slack/commands", &body).await;
    assert_eq!(answer.status, 200);
    answer.body.to_string()
}

/// Three warnings reach the mute threshold; as they decay the job records the crossing once
/// (audit log and mod-log post), and once they have fully decayed it prunes them from the
/// score, keeping the cases.
async fn decay_records_a_crossing_once_and_prunes_without_deleting(s: Setup) {
    let platform = Platform::Discord;
    let settings = ModSettings {
        modlog_channel: Some("1174109840998400999".into()),
        ..ModSettings::default()
    };
    s.save_settings(platform, &settings).await;
    let target = snowflake();
    for _ in 0..3 {
        s.sanction(platform, Kind::Warning, &target, None).await;
    }
    let m = s.maintenance();
    // Score 3.0: at the mute threshold; nothing to record yet.
    let report = m.run(Sweep::Decay, budget()).await;
    assert_eq!(report.count("crossings"), 0, "{report}");

    // 0.1 a day: below 3.0 after 864 s.
    s.clock.advance_ms(HOUR * 1000);
    let (a, b) = tokio::join!(m.run(Sweep::Decay, budget()), m.run(Sweep::Decay, budget()));
    assert_eq!(a.count("crossings") + b.count("crossings"), 1, "{a}\n{b}");
    let crossings: Vec<AuditEntry> = s
        .audit(platform)
        .await
        .into_iter()
        .filter(|e| e.action == AuditAction::ThresholdCrossed)
        .collect();
    assert_eq!(crossings.len(), 1);
    assert_eq!(crossings[0].target.as_deref(), Some(target.as_str()));
    assert_eq!(
        crossings[0].at_ms,
        (FIXTURE_TIMESTAMP + 864) * 1000,
        "the exact second"
    );
    let jobs = s.deliver_jobs().await;
    assert_eq!(jobs.len(), 1);
    let posts: Vec<String> = s
        .platform
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            PlatformCall::DiscordReply { channel, reply } if channel == "1174109840998400999" => {
                Some(reply.text)
            }
            _ => None,
        })
        .collect();
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0].contains("below the mute threshold (3)"),
        "{}",
        posts[0]
    );
    assert_eq!(m.run(Sweep::Decay, budget()).await.count("crossings"), 0);

    // Ten days on, every warning has decayed fully: pruned from the score, still on record.
    s.clock.advance_ms(10 * DAY * 1000);
    let report = m.run(Sweep::Decay, budget()).await;
    assert_eq!(report.count("pruned"), 3, "{report}");
    let history = s.cases(platform).all_of(&target).await.unwrap();
    assert_eq!(history.len(), 3, "no case deleted");
    for stored in &history {
        assert!(stored.case.decayed_at.is_some());
        assert_eq!(stored.case.history.last().unwrap().what, "decayed");
    }
    // Nothing is left to watch for this member.
    assert_eq!(m.run(Sweep::Decay, budget()).await.count("members"), 0);
    assert_eq!(s.due_count("decay").await, 0);
}

/// Cleanup deletes what expired but is still stored (claims, flow state, audit entries past
/// their retention, including one kept longer than a retention shortened since), counts each,
/// leaves live items, and with one page per run finishes across runs.
async fn cleanup_deletes_what_expired_and_counts_it(s: Setup) {
    let now = s.clock.now_secs();
    let claims = Claims::new(s.store.clone(), s.clock.clone());
    claims
        .claim("discord:interaction", "1", 15 * 60)
        .await
        .unwrap();
    claims.claim("slack:event", "Ev1", 2 * HOUR).await.unwrap();
    let flow = |user: &str, secs: i64| {
        NewItem::new(
            ItemKey::new(format!("discord:{}#flow#{user}", s.guild), "confirm#abc"),
            json!({"state": null}),
        )
        .expiring_at(now + secs)
    };
    s.store.create(flow("u1", 300)).await.unwrap();
    s.store.create(flow("u2", 60 * DAY)).await.unwrap();
    let audit = |n: i64, retention: i64| {
        AuditEntry::new((now + n) * 1000, MODERATOR, AuditAction::Warning, "x").write(
            Platform::Discord,
            &s.guild,
            &format!("i{n}"),
            retention,
        )
    };
    s.store
        .transact(vec![
            audit(1, DAY),
            audit(2, DAY),
            audit(3, 90 * DAY),
            audit(4, 90 * DAY),
        ])
        .await
        .unwrap();
    s.store
        .create(NewItem::new(ItemKey::new("keep#me", "forever"), json!({})))
        .await
        .unwrap();
    // A retention of 30 days, set after entries 3 and 4 were written with 90.
    s.save_settings(
        Platform::Discord,
        &ModSettings {
            audit_retention_days: 30,
            ..ModSettings::default()
        },
    )
    .await;

    s.clock.advance_ms(40 * DAY * 1000);
    let m = s.maintenance().with_page_size(3);
    let mut total: Vec<(&'static str, u64)> = Vec::new();
    let mut runs = 0;
    loop {
        let report = m
            .run(Sweep::Cleanup, Budget::for_secs(60).with_max_pages(1))
            .await;
        runs += 1;
        for (name, count) in &report.counts {
            match total.iter_mut().find(|(n, _)| n == name) {
                Some((_, t)) => *t += count,
                None => total.push((name, *count)),
            }
        }
        if !report.more || runs > 20 {
            break;
        }
    }
    let count = |name: &str| {
        total
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, c)| *c)
    };
    assert!(
        runs > 3,
        "one page of 3 per run over 10 items (and the cursor): {runs} runs"
    );
    assert_eq!(count("idempotency keys"), 2, "{total:?}");
    assert_eq!(count("flow state"), 1, "{total:?}");
    assert_eq!(
        count("audit entries"),
        4,
        "two expired, two past the new retention: {total:?}"
    );
    assert_eq!(count("failed"), 0, "{total:?}");
    assert_eq!(count("scanned"), 10, "every item once: {total:?}");
    // What is live stays.
    assert!(
        s.store
            .get(&ItemKey::new("keep#me", "forever"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        s.store
            .get(&ItemKey::new(
                format!("discord:{}#flow#u2", s.guild),
                "confirm#abc"
            ))
            .await
            .unwrap()
            .is_some()
    );
    // A new cycle finds nothing more to delete.
    let again = m.run(Sweep::Cleanup, budget()).await;
    let deleted: u64 = ["audit entries", "flow state", "idempotency keys", "other"]
        .iter()
        .map(|n| again.count(n))
        .sum();
    assert_eq!(deleted, 0, "{again}");
}

gavel_tests::on_both_stores!(
    an_expired_temporary_ban_is_lifted_once_when_schedule_and_sweep_both_fire,
    two_sweeps_at_once_lift_each_ban_once,
    an_edited_case_is_not_lifted_before_its_new_end,
    a_pardoned_case_is_not_lifted_again,
    a_temporary_ban_superseded_by_a_permanent_one_is_not_lifted,
    a_sweep_over_more_than_a_page_finishes_across_runs,
    a_lift_committed_but_not_published_is_published_by_the_next_sweep,
    a_reminder_is_delivered_once,
    decay_records_a_crossing_once_and_prunes_without_deleting,
    cleanup_deletes_what_expired_and_counts_it,
);

/// `gavel job run expire` as mirrored here, so the child parses its arguments as main.rs does.
#[derive(clap::Parser)]
struct JobCli {
    #[command(subcommand)]
    command: gavel_cli::job::JobCommand,
}

#[tokio::test]
#[ignore = "entry point for the child process of gavel_job_run_expire_unbans_once_on_a_fake_discord"]
async fn child_runs_gavel_job_run_expire() {
    use clap::Parser;
    let data = std::env::var("GAVEL_TEST_DATA").expect("the parent sets the data folder");
    let cli = JobCli::parse_from(["gavel-job", "run", "expire", "--data", &data]);
    gavel_cli::job::run(cli.command)
        .await
        .expect("gavel job run expire");
}

/// The operator's command, in a process of its own whose environment names only a fake Discord
/// (wiremock): after a temporary ban's end, `gavel job run expire` makes exactly one unban
/// call, and running it again makes none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gavel_job_run_expire_unbans_once_on_a_fake_discord() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let dir = tempfile::tempdir().unwrap();
    let (guild, target) = (snowflake(), snowflake());
    {
        // The ban was given two hours ago for one hour, on the store `gavel serve` would use.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let clock = Arc::new(ManualClock::at_secs(now - 2 * HOUR));
        let store = gavel_shared::adapters::embedded::EmbeddedStore::open(
            &gavel_cli::serve::embedded_store_path(dir.path()),
            clock.clone(),
        )
        .unwrap();
        let mut s = setup(Backing {
            store: Arc::new(store),
            clock,
        });
        s.guild = guild.clone();
        s.sanction(Platform::Discord, Kind::TempBan, &target, Some(HOUR))
            .await;
    }

    let discord = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/guilds/{guild}/bans/{target}")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&discord)
        .await;

    let run = || {
        let mut child = gavel_tests::child::child_process("child_runs_gavel_job_run_expire");
        child
            .env("GAVEL_TEST_DATA", dir.path())
            .env("DISCORD_API_BASE", discord.uri())
            .env("DISCORD_BOT_TOKEN", "fake-bot-token")
            .env("RUST_LOG", "warn");
        let output = child.output().expect("run the child process");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "gavel job run expire failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };
    let first = run();
    assert!(first.contains("expire: lifted 1,"), "{first}");
    let second = run();
    assert!(second.contains("expire: lifted 0,"), "{second}");
    // Exactly one unban reached Discord (the mock's `expect(1)` is checked on drop, too).
    let requests = discord.received_requests().await.unwrap();
    let unbans: Vec<_> = requests
        .iter()
        .filter(|r| r.method.as_str() == "DELETE")
        .collect();
    assert_eq!(unbans.len(), 1, "{requests:?}");
    assert_eq!(
        unbans[0].url.path(),
        format!("/guilds/{guild}/bans/{target}")
    );
    assert_eq!(requests.len(), 1, "nothing else was called: {requests:?}");
}

/// The worker makes the one-time schedule at a temporary ban's end once the ban is applied,
/// and a reminder's from the job the command published; redelivery makes no second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_schedules_a_bans_end_and_a_reminder() {
    use gavel_shared::jobs::InProcessScheduler;
    let s = embedded();
    let scheduler = Arc::new(InProcessScheduler::new());
    let worker = s.worker().with_scheduler(scheduler.clone());
    let target = snowflake();
    let settings = s.settings(Platform::Discord).await;
    let invocation = s.invocation(Platform::Discord);
    let ctx = ModContext {
        store: s.store.as_ref(),
        invocation: &invocation,
        now_secs: s.clock.now_secs(),
        settings: &settings,
    };
    let sanction = Sanction {
        kind: Kind::TempBan,
        target: target.clone(),
        reason: "testing".into(),
        duration_secs: Some(HOUR),
        source: None,
    };
    let prepared = record_sanction(&ctx, &sanction).await.unwrap();
    let job = ctx.job(prepared.task, 0, gavel_shared::jobs::ReplyTarget::Nobody);
    let deadline = Instant::now() + Duration::from_secs(10);
    assert_eq!(worker.handle(&job, deadline).await, Outcome::Done);
    assert_eq!(worker.handle(&job, deadline).await, Outcome::Duplicate);
    assert_eq!(scheduler.pending(), 1);
    assert!(scheduler.take_due(FIXTURE_TIMESTAMP + HOUR - 1).is_empty());
    assert_eq!(
        scheduler.take_due(FIXTURE_TIMESTAMP + HOUR),
        vec![Wakeup::LiftExpired {
            platform: Platform::Discord,
            tenant: s.guild.clone(),
            target,
            case: prepared.case.number,
            at: FIXTURE_TIMESTAMP + HOUR,
        }]
    );

    let reminders = Reminders::new(s.store.as_ref(), Platform::Discord, &s.guild);
    let reminder = reminders
        .create(
            MODERATOR,
            None,
            "stretch",
            s.clock.now_secs(),
            s.clock.now_secs() + 60,
        )
        .await
        .unwrap();
    let wakeup = reminders.wakeup(&reminder);
    let job = Job {
        id: "discord:schedule-test".into(),
        platform: Platform::Discord,
        tenant: s.guild.clone(),
        task: Task::Schedule {
            wakeup: wakeup.clone(),
        },
        reply_to: gavel_shared::jobs::ReplyTarget::Nobody,
        created_at: s.clock.now_secs(),
    };
    assert_eq!(worker.handle(&job, deadline).await, Outcome::Done);
    assert_eq!(scheduler.take_due(FIXTURE_TIMESTAMP + 60), vec![wakeup]);
}

/// The EventBridge Scheduler adapter against moto: an `at(...)` schedule that deletes itself
/// after it runs, created twice as one, deleted twice without error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_time_schedules_on_eventbridge_scheduler() {
    use gavel_shared::adapters::scheduler::{EventBridgeScheduler, ScheduleTarget};
    use gavel_shared::jobs::Scheduler;
    let moto = moto::moto().await;
    let scheduler = EventBridgeScheduler::on_emulator(
        &moto.endpoint,
        ScheduleTarget {
            group: "default".into(),
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:gavel-maintenance".into(),
            role_arn: "arn:aws:iam::123456789012:role/gavel-scheduler".into(),
            dead_letter_arn: None,
        },
    );
    let wakeup = Wakeup::LiftExpired {
        platform: Platform::Discord,
        tenant: snowflake(),
        target: snowflake(),
        case: 7,
        at: FIXTURE_TIMESTAMP + HOUR,
    };
    scheduler.create(&wakeup).await.unwrap();
    scheduler
        .create(&wakeup)
        .await
        .expect("creating it again is a success");
    let stored = scheduler
        .client()
        .get_schedule()
        .name(wakeup.name())
        .group_name("default")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stored.schedule_expression(),
        Some("at(2025-11-24T17:00:00)")
    );
    assert_eq!(
        stored.action_after_completion().map(|a| a.as_str()),
        Some("DELETE")
    );
    let input: Value = serde_json::from_str(stored.target().unwrap().input().unwrap()).unwrap();
    assert_eq!(input["wake"]["kind"], "lift_expired");
    assert_eq!(input["wake"]["case"], 7);
    scheduler.delete(&wakeup).await.unwrap();
    scheduler
        .delete(&wakeup)
        .await
        .expect("deleting it again is a success");
}

/// The sample triggers in events/maintenance/ are what the function reads.
#[test]
fn the_sample_triggers_parse() {
    use gavel_shared::jobs::Trigger;
    let dir = gavel_tests::events_dir().join("maintenance");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let trigger: Trigger = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not a trigger: {e}", path.display()));
        if let Trigger::Wake(wakeup) = &trigger {
            assert!(wakeup.at() > FIXTURE_TIMESTAMP);
        }
        seen += 1;
    }
    assert_eq!(seen, 4);
    // The template's schedules send the same inputs.
    let template = std::fs::read_to_string(moto::workspace_root().join("template.yaml")).unwrap();
    assert!(template.contains(r#"Input: '{"run": ["expire", "reminders", "automod_audit"]}'"#));
    assert!(template.contains(r#"Input: '{"run": ["decay"]}'"#));
    assert!(template.contains(r#"Input: '{"run": ["cleanup"]}'"#));
}
