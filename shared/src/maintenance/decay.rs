//! Decay: scores fall with time ([`points`]), and the decay job records when a member's score
//! crosses a threshold downward (an audit entry, and a mod-log post where the community has a
//! mod-log channel), and prunes cases whose points have fully decayed from the score.
//!
//! The job never scans for members: seeds (written with each new case) and the member's
//! standing (written here) put a member in the due index ([`DECAY_QUEUE`]); their layout is in
//! [`crate::moderation::decay_seed`].
//!
//! Settling a member reads their partition once, takes the newest of standing and seeds as the
//! level before, compares it with the level now, and commits in one transaction: the audit
//! entries of the crossings, the new standing, the seeds deleted, the mod-log post in the
//! outbox. Two runs on one member race on those conditional writes; one commits, the other
//! finds nothing left. Cases are never deleted: a fully decayed case is marked (`decayed_at`,
//! with a history event) and counts for nothing from then on, whatever the rate later becomes.

use std::collections::HashSet;

use serde_json::json;

use super::sweep::DueSweep;
use super::{Budget, Maintenance, Report, Sweep, Tenants, outbox};
use crate::invocation::Platform;
use crate::jobs::{Job, Post, ReplyTarget, Task};
use crate::moderation::cases::member_of;
use crate::moderation::decay_seed::{DECAY_QUEUE, Level, SEED_PREFIX, STANDING, level_of};
use crate::moderation::points::{self, MILLI};
use crate::moderation::{
    AuditAction, AuditEntry, Case, CaseEvent, Cases, ModSettings, Status, StoredCase,
};
use crate::reply::Reply;
use crate::store::{Item, ItemKey, NewItem, PageRequest, StoreError, WriteOp};

/// Seeds deleted per settlement; more (a member given dozens of cases since the last run) are
/// older than the standing written and are deleted by the next settlement.
const SEEDS_PER_SETTLEMENT: usize = 50;
/// Items of one member's partition read at most (cases, seeds, standing).
const MEMBER_ITEMS_LIMIT: usize = 5_000;

const COUNTS: [&str; 6] = [
    "members",
    "crossings",
    "pruned",
    "contended",
    "republished",
    "failed",
];

pub(super) async fn sweep(m: &Maintenance, budget: Budget) -> Report {
    let (mut due, mut report) = DueSweep::start(
        m,
        Sweep::Decay,
        &COUNTS,
        DECAY_QUEUE,
        "the decay queue",
        budget,
    )
    .await;
    let mut tenants = Tenants::default();
    let mut settled = HashSet::new();
    let now = due.now;
    while let Some(items) = due.next_page(&mut report).await {
        for item in items {
            // A member may have several due items; one settlement covers them all.
            if !settled.insert(item.key.pk.clone()) {
                continue;
            }
            let Some((platform, tenant, user)) = member_of(&item.key.pk) else {
                report.add("failed", 1);
                report.note(format!("{} is not a member partition", item.key.pk));
                continue;
            };
            match settle(m, &mut tenants, platform, tenant, user, now).await {
                Ok(Settlement::Done { crossings, pruned }) => {
                    report.add("members", 1);
                    report.add("crossings", crossings);
                    report.add("pruned", pruned);
                }
                Ok(Settlement::Contended) => {
                    report.add("contended", 1);
                    report.note(format!(
                        "<@{user}> ({platform}:{tenant}) changed meanwhile; the next run settles them"
                    ));
                }
                Err(error) => {
                    report.add("failed", 1);
                    report.note(format!("<@{user}> ({platform}:{tenant}): {error}"));
                }
            }
        }
    }
    report
}

enum Settlement {
    Done {
        crossings: u64,
        pruned: u64,
    },
    /// Another run, or a new case, changed the member's items between our read and write.
    Contended,
}

/// What the decay job keeps about a member, read in one pass over their partition.
struct Member {
    cases: Vec<StoredCase>,
    seeds: Vec<(Item, Level)>,
    standing: Option<(Item, Level)>,
}

async fn read_member(m: &Maintenance, partition: &str) -> Result<Member, StoreError> {
    let mut member = Member {
        cases: Vec::new(),
        seeds: Vec::new(),
        standing: None,
    };
    let mut cursor = None;
    let mut read = 0;
    loop {
        let page = m
            .store
            .query(
                partition,
                "",
                PageRequest {
                    limit: 200,
                    cursor,
                    descending: false,
                },
            )
            .await?;
        read += page.items.len();
        for item in page.items {
            if item.key.sk.starts_with("case#") {
                member.cases.push(crate::moderation::cases::decode(item)?);
            } else if item.key.sk.starts_with(SEED_PREFIX) || item.key.sk == STANDING {
                let level: Level = serde_json::from_value(item.data.clone())
                    .map_err(|e| StoreError::Invalid(format!("unreadable {}: {e}", item.key.sk)))?;
                if item.key.sk == STANDING {
                    member.standing = Some((item, level));
                } else {
                    member.seeds.push((item, level));
                }
            }
        }
        match page.cursor {
            Some(next) if read < MEMBER_ITEMS_LIMIT => cursor = Some(next),
            _ => return Ok(member),
        }
    }
}

async fn settle(
    m: &Maintenance,
    tenants: &mut Tenants,
    platform: Platform,
    tenant: &str,
    user: &str,
    now: i64,
) -> Result<Settlement, StoreError> {
    let cases_api = Cases::new(m.store.as_ref(), platform, tenant);
    let partition = cases_api.member_partition(user);
    let member = read_member(m, &partition).await?;
    let settings = tenants
        .settings(m.store.as_ref(), platform, tenant)
        .await?
        .clone();
    let cases: Vec<Case> = member.cases.iter().map(|s| s.case.clone()).collect();

    // The level before: the newest record of it. A standing written the same second as a seed
    // was computed with that seed's case, so it wins the tie.
    let latest = member
        .standing
        .iter()
        .map(|(_, l)| (l.at, 1, l.level))
        .chain(member.seeds.iter().map(|(_, l)| (l.at, 0, l.level)))
        .max();
    let (before, since) = latest.map_or((0, now), |(at, _, level)| (level, at));
    let score = points::score_milli(&cases, &settings, now);
    let level = level_of(&cases, &settings, now);

    let mut ops = Vec::new();
    // Every threshold between the level now and the level before was crossed, highest first.
    let mut crossed: Vec<_> = settings
        .thresholds
        .iter()
        .filter(|t| t.points > level && t.points <= before)
        .collect();
    crossed.sort_by_key(|t| std::cmp::Reverse(t.points));
    crossed.dedup_by_key(|t| t.points);
    let mut crossings = Vec::new();
    for threshold in &crossed {
        // No case was added since `since` (each adds a seed), so the score only fell: the
        // first second below is exact. Below already then (a pardon): recorded as of now.
        let at = points::falls_below_at(&cases, &settings, threshold.points, since)
            .unwrap_or(now)
            .min(now);
        let entry = AuditEntry::new(
            at * 1000,
            "gavel",
            AuditAction::ThresholdCrossed,
            format!(
                "score fell below {} points (the {} threshold); now {}",
                threshold.points,
                threshold.action.label(),
                points::display(score)
            ),
        )
        .target(user)
        .change(
            Some(json!({ "level": before })),
            Some(json!({ "level": level, "score_milli": score })),
        );
        ops.push(entry.write(
            platform,
            tenant,
            &format!("decay#{user}#{}", threshold.points),
            settings.retention_secs(),
        ));
        crossings.push((threshold.points, threshold.action, at));
    }

    let next = points::next_change_at(&cases, &settings, now);
    let standing_key = ItemKey::new(partition.clone(), STANDING);
    let mut standing = NewItem::new(standing_key.clone(), json!(Level { level, at: now }));
    if let Some(at) = next {
        standing = standing.due(DECAY_QUEUE, at);
    }
    // Nothing left to watch and nothing reached: a standing would only take space.
    let forget = level == 0 && next.is_none();
    match (&member.standing, forget) {
        (Some((item, _)), true) => ops.push(WriteOp::Delete {
            key: standing_key,
            expected_version: Some(item.version),
        }),
        (Some((item, _)), false) => ops.push(WriteOp::Update {
            item: standing,
            expected_version: item.version,
        }),
        (None, true) => {}
        (None, false) => ops.push(WriteOp::Create(standing)),
    }
    for (seed, _) in member.seeds.iter().take(SEEDS_PER_SETTLEMENT) {
        ops.push(WriteOp::Delete {
            key: seed.key.clone(),
            expected_version: Some(seed.version),
        });
    }
    let post = match (&settings.modlog_channel, crossings.first()) {
        (Some(channel), Some((highest, _, at))) => Some(Job {
            id: format!("decay:{platform}:{tenant}:{user}:{highest}:{at}"),
            platform,
            tenant: tenant.to_owned(),
            task: Task::Post(Post {
                channel: channel.clone(),
                message: Reply::public(modlog_line(user, &crossings, score)),
            }),
            reply_to: ReplyTarget::Nobody,
            created_at: now,
        }),
        _ => None,
    };
    if let Some(job) = &post {
        ops.push(outbox::put(Sweep::Decay, job, now));
    }
    if !ops.is_empty() {
        match m.store.transact(ops).await {
            Ok(()) => {}
            Err(StoreError::TransactionConflict { .. }) => return Ok(Settlement::Contended),
            Err(error) => return Err(error),
        }
        if let Some(job) = &post {
            outbox::send(m.store.as_ref(), m.bus.as_ref(), job).await;
        }
    }
    let pruned = prune(m, &cases_api, &member.cases, &settings, now).await;
    Ok(Settlement::Done {
        crossings: crossings.len() as u64,
        pruned,
    })
}

/// "📉 <@U>'s score decayed below the kick threshold (6) and the mute threshold (3): now 2.9."
fn modlog_line(
    user: &str,
    crossings: &[(u32, crate::moderation::Kind, i64)],
    score: i64,
) -> String {
    let below: Vec<String> = crossings
        .iter()
        .map(|(points, action, _)| format!("the {} threshold ({points})", action.label()))
        .collect();
    format!(
        "📉 <@{user}>'s score decayed below {}: now {} point{}.",
        below.join(" and "),
        points::display(score),
        if score == MILLI { "" } else { "s" }
    )
}

/// Marks the member's fully decayed cases so they stop counting for good; each is its own
/// versioned write, so a moderator editing one at that moment only postpones its pruning.
async fn prune(
    m: &Maintenance,
    cases_api: &Cases<'_>,
    cases: &[StoredCase],
    settings: &ModSettings,
    now: i64,
) -> u64 {
    let mut pruned = 0;
    for stored in cases {
        let case = &stored.case;
        if case.points == 0
            || case.status == Status::Pardoned
            || case.decayed_at.is_some()
            || points::remaining_milli(case, settings.decay_milli_per_day, now) > 0
        {
            continue;
        }
        let mut after = case.clone();
        after.decayed_at = Some(now);
        after.history.push(CaseEvent {
            at: now,
            by: "gavel".to_owned(),
            what: "decayed".to_owned(),
            before: Some(format!(
                "{} point{}",
                case.points,
                if case.points == 1 { "" } else { "s" }
            )),
            after: Some("no longer counts".to_owned()),
        });
        let op = cases_api.update_op(&StoredCase {
            case: after,
            version: stored.version,
        });
        match m.store.transact(vec![op]).await {
            Ok(()) => pruned += 1,
            Err(error) => {
                tracing::info!(%error, case = case.number, "not pruned now; the next settlement will");
            }
        }
    }
    pruned
}
