//! `/modconfig`, permission refusals in the audit log, and who moderates on Slack, end to end
//! through signed requests on both store adapters (embedded and DynamoDB on moto). Each case
//! uses a community of its own, so cases sharing moto's table never see each other's settings.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gavel_shared::clock::ManualClock;
use gavel_shared::edge::Edge;
use gavel_shared::invocation::Platform;
use gavel_shared::moderation::SettingsCache;
use gavel_shared::moderation::settings_cache::SETTINGS_TTL_MS;
use gavel_shared::moderation::{AuditAction, AuditEntry, Kind, ModSettings};
use gavel_shared::slack::web::{RecordingSlackWeb, SlackCall, SlackWeb, SlackWebError};
use gavel_shared::store::{ItemKey, NewItem, Store, StoreError};
use gavel_tests::FIXTURE_TIMESTAMP;
use gavel_tests::faulty::{FailOn, Fault, Faulty, Interleave, Op};
use gavel_tests::harness::{Backing, edge_over};
use gavel_tests::payloads::{self, DiscordInvoker};
use gavel_tests::records::{audit_log, save_settings};
use gavel_tests::requests::{self, Answer};
use serde_json::{Value, json};

/// Listed in `GAVEL_SLACK_MODERATORS` by the test settings.
const ENV_MODERATOR: &str = "U0GAVELMOD";

struct Setup {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
}

impl Setup {
    /// An edge (an instance) over the shared store whose Slack Web API is `web`.
    fn edge(&self, web: Arc<dyn SlackWeb>) -> Edge {
        edge_over(Arc::clone(&self.store), &self.clock, web)
    }

    fn plain_edge(&self) -> Edge {
        self.edge(Arc::new(RecordingSlackWeb::new()))
    }
}

fn embedded() -> Setup {
    let Backing { store, clock } = Backing::embedded();
    Setup { store, clock }
}

async fn dynamodb() -> Setup {
    let Backing { store, clock } = Backing::dynamodb().await;
    Setup { store, clock }
}

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A Discord snowflake no other request in this binary uses.
fn snowflake() -> String {
    format!("14425452969985{:05}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A Slack workspace id no other case uses.
fn slack_team() -> String {
    format!("T0MC{:05}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// What `/modconfig` answers show.
trait Shown {
    fn text(&self) -> &str;
    fn shown(&self) -> String;
    fn ephemeral(&self) -> bool;
}

impl Shown for Answer {
    /// The answer's text: Discord's content, or Slack's plain-text fallback.
    fn text(&self) -> &str {
        self.body["data"]["content"]
            .as_str()
            .or_else(|| self.body["text"].as_str())
            .unwrap_or("")
    }

    /// Everything shown, fields included (Slack puts them in blocks).
    fn shown(&self) -> String {
        self.body.to_string()
    }

    fn ephemeral(&self) -> bool {
        self.body["data"]["flags"] == 64 || self.body["response_type"] == "ephemeral"
    }
}

/// `/modconfig` from `invoker` in the guild `guild`, with the options given.
async fn discord_modconfig(
    edge: &Edge,
    clock: &ManualClock,
    guild: &str,
    invoker: DiscordInvoker,
    setting: Option<&str>,
    value: Option<&str>,
) -> Answer {
    let mut options = Vec::new();
    if let Some(setting) = setting {
        options.push(json!({ "name": "setting", "type": 3, "value": setting }));
    }
    if let Some(value) = value {
        options.push(json!({ "name": "value", "type": 3, "value": value }));
    }
    let body = payloads::discord_command(&snowflake(), "modconfig", Value::Array(options), invoker);
    let mut body: Value = serde_json::from_slice(&body).expect("the payload is JSON");
    body["guild_id"] = json!(guild);
    body["guild"]["id"] = json!(guild);
    body["channel"]["guild_id"] = json!(guild);
    body["authorizing_integration_owners"]["0"] = json!(guild);
    requests::discord(edge, clock, body.to_string().as_bytes()).await
}

/// `/{command} {text}` typed by `user` in the workspace `team`.
async fn slack_command(
    edge: &Edge,
    clock: &ManualClock,
    team: &str,
    user: &str,
    command: &str,
    text: &str,
) -> Answer {
    let trigger = format!("1764000000.{}.mc", NEXT.fetch_add(1, Ordering::Relaxed));
    let body = payloads::slack_command(command, text, &trigger);
    let fields: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&body).expect("the payload is a form");
    let fields: Vec<(String, String)> = fields
        .into_iter()
        .map(|(name, value)| match name.as_str() {
            "team_id" => (name, team.to_owned()),
            "user_id" => (name, user.to_owned()),
            _ => (name, value),
        })
        .collect();
    let body = serde_urlencoded::to_string(&fields)
        .expect("the form encodes")
        .into_bytes();
    requests::slack(edge, clock, "/slack/commands", &body).await
}

async fn slack_modconfig(edge: &Edge, s: &Setup, team: &str, user: &str, text: &str) -> Answer {
    slack_command(edge, &s.clock, team, user, "/modconfig", text).await
}

async fn settings(s: &Setup, platform: Platform, tenant: &str) -> (ModSettings, Option<u64>) {
    ModSettings::load(s.store.as_ref(), platform, tenant)
        .await
        .expect("the settings can be read")
}

async fn audit(s: &Setup, platform: Platform, tenant: &str) -> Vec<AuditEntry> {
    audit_log(s.store.as_ref(), platform, tenant).await
}

fn refused(answer: &Answer) -> bool {
    answer
        .text()
        .contains("You need the Manage Server permission to use `/modconfig`.")
}

/// Without options: every setting with its value and default, only to the invoker. Discord
/// leaves out the Slack-only settings.
async fn view_shows_every_setting_and_its_default(s: Setup) {
    let edge = s.plain_edge();
    let guild = snowflake();
    let set = discord_modconfig(
        &edge,
        &s.clock,
        &guild,
        DiscordInvoker::Moderator,
        Some("weight.warning"),
        Some("4"),
    )
    .await;
    assert!(set.text().contains("→"), "{}", set.text());

    let view = discord_modconfig(
        &edge,
        &s.clock,
        &guild,
        DiscordInvoker::Moderator,
        None,
        None,
    )
    .await;
    assert_eq!(view.status, 200);
    assert!(view.ephemeral(), "{}", view.body);
    let text = view.text();
    for key in [
        "weight.note",
        "weight.ban",
        "decay",
        "threshold.mute.duration",
        "threshold.tempban.duration",
        "auto-escalate",
        "modlog",
        "appeal-channel",
        "appeal-cooldown",
        "retention",
        "ban-delete",
    ] {
        assert!(text.contains(&format!("**{key}**")), "{key} in {text}");
    }
    assert!(
        text.contains("**weight.warning**\n4 points (default 1 point)"),
        "{text}"
    );
    assert!(
        text.contains("**decay**\n0.1 per day (the default)"),
        "{text}"
    );
    assert!(
        text.contains("**threshold.kick**\n6 points (the default)"),
        "{text}"
    );
    assert!(!text.contains("slack-moderator"), "{text}");

    let team = slack_team();
    let view = slack_modconfig(&edge, &s, &team, ENV_MODERATOR, "").await;
    assert!(view.ephemeral(), "{}", view.body);
    let shown = view.shown();
    assert!(
        shown.contains("*slack-moderators*\\nnone (the default)"),
        "{shown}"
    );
    assert!(
        shown.contains("*slack-moderator-group*\\noff (the default)"),
        "{shown}"
    );
    assert!(
        shown.contains("*weight.warning*\\n1 point (the default)"),
        "{shown}"
    );

    // A setting alone shows it and what it accepts, and changes nothing.
    let one = slack_modconfig(&edge, &s, &team, ENV_MODERATOR, "retention").await;
    assert_eq!(
        one.text(),
        "`retention` is 90 days (the default). It takes a number of days from 1 to 3650, such as `90`."
    );
    assert_eq!(settings(&s, Platform::Slack, &team).await.1, None);
}

/// Every kind of key, set and read back from the store, each answered with before → after.
async fn each_kind_of_key_is_set_and_read_back(s: Setup) {
    let edge = s.plain_edge();
    let guild = snowflake();
    let modlog = snowflake();
    let appeals = snowflake();
    let changes = [
        ("weight.ban", "12", "10 points → 12 points"),
        ("decay", "0.25", "0.1 per day → 0.25 per day"),
        ("threshold.mute", "4", "3 points → 4 points"),
        ("threshold.mute.duration", "2h", "1h → 2h"),
        ("threshold.tempban.duration", "2w", "7d → 14d"),
        ("threshold.kick", "off", "6 points → off"),
        ("auto-escalate", "on", "off → on"),
        (
            "modlog",
            &format!("<#{modlog}>"),
            &format!("off → <#{modlog}>"),
        ),
        (
            "appeal-channel",
            &appeals,
            &format!("off (appeals go to the mod log) → <#{appeals}>"),
        ),
        ("appeal-cooldown", "3d", "7d → 3d"),
        ("retention", "30", "90 days → 30 days"),
        ("ban-delete", "1d", "off → 1d"),
    ];
    for (key, value, shown) in &changes {
        let answer = discord_modconfig(
            &edge,
            &s.clock,
            &guild,
            DiscordInvoker::Moderator,
            Some(key),
            Some(value),
        )
        .await;
        assert!(answer.ephemeral());
        assert_eq!(answer.text(), format!("`{key}`: {shown}."));
    }
    let (stored, version) = settings(&s, Platform::Discord, &guild).await;
    assert_eq!(version, Some(changes.len() as u64), "one write per change");
    assert_eq!(stored.weights.ban, 12);
    assert_eq!(stored.decay_milli_per_day, 250);
    let mute = stored.thresholds.iter().find(|t| t.action == Kind::Mute);
    assert_eq!(
        mute.map(|t| (t.points, t.duration_secs)),
        Some((4, Some(7200)))
    );
    let tempban = stored.thresholds.iter().find(|t| t.action == Kind::TempBan);
    assert_eq!(tempban.and_then(|t| t.duration_secs), Some(14 * 86_400));
    assert!(stored.thresholds.iter().all(|t| t.action != Kind::Kick));
    assert!(stored.auto_escalate);
    assert_eq!(stored.modlog_channel, Some(modlog.clone()));
    assert_eq!(stored.appeal_channel.as_ref(), Some(&appeals));
    assert_eq!(stored.appeal_cooldown_secs, 3 * 86_400);
    assert_eq!(stored.audit_retention_days, 30);
    assert_eq!(stored.ban_delete_message_secs, 86_400);

    // Switched off again, and a value that is already set changes nothing.
    let off = discord_modconfig(
        &edge,
        &s.clock,
        &guild,
        DiscordInvoker::Moderator,
        Some("modlog"),
        Some("off"),
    )
    .await;
    assert_eq!(off.text(), format!("`modlog`: <#{modlog}> → off."));
    let same = discord_modconfig(
        &edge,
        &s.clock,
        &guild,
        DiscordInvoker::Moderator,
        Some("retention"),
        Some("30"),
    )
    .await;
    assert_eq!(
        same.text(),
        "`retention` is already 30 days; nothing was changed."
    );
    let (stored, version) = settings(&s, Platform::Discord, &guild).await;
    assert_eq!(stored.modlog_channel, None);
    assert_eq!(version, Some(changes.len() as u64 + 1));

    // Slack's own keys, in a workspace.
    let team = slack_team();
    for (text, shown) in [
        (
            "slack-moderators add <@U0ANN|ann> <@U0BOB>",
            "none → <@U0ANN>, <@U0BOB>",
        ),
        (
            "slack-moderators remove <@U0ANN>",
            "<@U0ANN>, <@U0BOB> → <@U0BOB>",
        ),
        (
            "slack-moderators <@U0CAT> <@U0DAN>",
            "<@U0BOB> → <@U0CAT>, <@U0DAN>",
        ),
        (
            "slack-moderator-group <!subteam^S0MODS|@mods>",
            "off → <!subteam^S0MODS>",
        ),
        ("modlog <#C0MODLOG|mod-log>", "off → <#C0MODLOG>"),
    ] {
        let answer = slack_modconfig(&edge, &s, &team, ENV_MODERATOR, text).await;
        assert_eq!(answer.status, 200);
        let key = text.split_whitespace().next().unwrap();
        assert_eq!(answer.text(), format!("`{key}`: {shown}."), "{text}");
    }
    let (stored, _) = settings(&s, Platform::Slack, &team).await;
    assert_eq!(stored.slack_moderators, vec!["U0CAT", "U0DAN"]);
    assert_eq!(stored.slack_moderator_group.as_deref(), Some("S0MODS"));
    assert_eq!(stored.modlog_channel.as_deref(), Some("C0MODLOG"));
}

/// A value a setting does not accept is refused with what it accepts, and nothing is saved.
async fn value_errors_say_what_is_accepted(s: Setup) {
    let edge = s.plain_edge();
    let guild = snowflake();
    for (key, value, accepted) in [
        ("weight.warning", "101", "from 0 to 100"),
        ("weight.kick", "lots", "from 0 to 100"),
        ("decay", "0.0001", "at most three decimals"),
        ("decay", "-1", "such as `0.1`"),
        ("threshold.ban", "0", "from 1 to 1000"),
        ("threshold.mute.duration", "29d", "at most 28 days"),
        ("threshold.tempban.duration", "forever", "such as `7d`"),
        ("auto-escalate", "maybe", "`on` or `off`"),
        ("modlog", "#mod-log", "a channel"),
        ("appeal-channel", "<#C0SLACKID>", "a channel"),
        ("appeal-cooldown", "10", "a duration"),
        ("retention", "0", "from 1 to 3650"),
        ("retention", "3651", "from 1 to 3650"),
        ("ban-delete", "8d", "at most 7 days"),
    ] {
        let answer = discord_modconfig(
            &edge,
            &s.clock,
            &guild,
            DiscordInvoker::Moderator,
            Some(key),
            Some(value),
        )
        .await;
        let text = answer.text();
        assert!(answer.ephemeral());
        assert!(
            text.contains(&format!("`{key}` takes")),
            "{key} {value}: {text}"
        );
        assert!(text.contains(accepted), "{key} {value}: {text}");
        assert!(text.ends_with("Nothing was changed."), "{text}");
    }
    assert_eq!(settings(&s, Platform::Discord, &guild).await.1, None);

    let team = slack_team();
    let typo = slack_modconfig(&edge, &s, &team, ENV_MODERATOR, "wieght.warning 3").await;
    assert_eq!(
        typo.text(),
        "`wieght.warning` is not a setting. Did you mean `weight.warning`? Run `/modconfig` to \
         see every setting."
    );
    let nobody =
        slack_modconfig(&edge, &s, &team, ENV_MODERATOR, "slack-moderators add @ann").await;
    assert!(
        nobody.text().contains("not a mention of a member"),
        "{}",
        nobody.text()
    );
    let group = slack_modconfig(
        &edge,
        &s,
        &team,
        ENV_MODERATOR,
        "slack-moderator-group mods",
    )
    .await;
    assert!(
        group.text().contains("a user group, such as @moderators"),
        "{}",
        group.text()
    );
    assert_eq!(settings(&s, Platform::Slack, &team).await.1, None);
    assert!(audit(&s, Platform::Slack, &team).await.is_empty());
}

/// A saved change writes one `ConfigChange` entry with the value before and after, in the
/// same transaction.
async fn a_change_is_audited_with_before_and_after(s: Setup) {
    let edge = s.plain_edge();
    let guild = snowflake();
    for (key, value) in [("weight.warning", "4"), ("threshold.mute", "off")] {
        discord_modconfig(
            &edge,
            &s.clock,
            &guild,
            DiscordInvoker::Moderator,
            Some(key),
            Some(value),
        )
        .await;
    }
    let entries = audit(&s, Platform::Discord, &guild).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    let warning = entries
        .iter()
        .find(|e| e.detail.starts_with("weight.warning"))
        .expect("the weight change is logged");
    assert_eq!(warning.action, AuditAction::ConfigChange);
    assert_eq!(warning.actor, payloads::DISCORD_MODERATOR);
    assert_eq!(warning.at_ms, FIXTURE_TIMESTAMP * 1000);
    assert_eq!(warning.detail, "weight.warning: 1 point → 4 points");
    assert_eq!(warning.before, Some(json!({ "weight.warning": 1 })));
    assert_eq!(warning.after, Some(json!({ "weight.warning": 4 })));
    let mute = entries
        .iter()
        .find(|e| e.detail.starts_with("threshold.mute"))
        .expect("the threshold change is logged");
    assert_eq!(
        mute.before,
        Some(json!({ "threshold.mute": { "points": 3, "action": "mute", "duration_secs": 3600 } }))
    );
    assert_eq!(mute.after, Some(json!({ "threshold.mute": null })));
}

/// Wraps a store and, once, saves a competing settings change just before the transaction
/// that would save `/modconfig`'s: another moderator's save landing between the read and the
/// write.
fn competing_save(inner: Arc<dyn Store>) -> Faulty {
    let theirs: Interleave = Arc::new(|store: Arc<dyn Store>, key: ItemKey| {
        Box::pin(async move {
            let current = store.get(&key).await?;
            let mut theirs = current
                .as_ref()
                .map(ModSettings::from_item)
                .unwrap_or_default();
            theirs.weights.ban = 77;
            let item = NewItem::new(key, serde_json::to_value(&theirs).unwrap());
            match current {
                Some(found) => store.update(item, found.version).await?,
                None => store.create(item).await?,
            };
            Ok(())
        })
    });
    Faulty::new(
        inner,
        FailOn::ops([Op::Transact]).sk_prefix("moderation").nth(1),
        Fault::Interleave(theirs),
    )
}

/// Another save between the read and the write: nothing of ours is saved or audited, the
/// moderator is told so, and trying again works.
async fn a_concurrent_save_is_refused_and_nothing_is_saved(s: Setup) {
    let competing = Arc::new(competing_save(Arc::clone(&s.store)));
    let edge = edge_over(
        competing.clone(),
        &s.clock,
        Arc::new(RecordingSlackWeb::new()),
    );
    let guild = snowflake();
    let lost = discord_modconfig(
        &edge,
        &s.clock,
        &guild,
        DiscordInvoker::Moderator,
        Some("weight.warning"),
        Some("4"),
    )
    .await;
    assert_eq!(
        lost.text(),
        "The moderation settings were changed meanwhile by someone else, so nothing was saved. \
         Run `/modconfig weight.warning` to see the value now, then try again."
    );
    let (stored, version) = settings(&s, Platform::Discord, &guild).await;
    assert_eq!(
        (stored.weights.ban, stored.weights.warning),
        (77, 1),
        "theirs only"
    );
    assert_eq!(version, Some(1));
    assert!(audit(&s, Platform::Discord, &guild).await.is_empty());

    let again = discord_modconfig(
        &edge,
        &s.clock,
        &guild,
        DiscordInvoker::Moderator,
        Some("weight.warning"),
        Some("4"),
    )
    .await;
    assert_eq!(again.text(), "`weight.warning`: 1 point → 4 points.");
    let (stored, _) = settings(&s, Platform::Discord, &guild).await;
    assert_eq!(
        (stored.weights.ban, stored.weights.warning),
        (77, 4),
        "both"
    );
    assert_eq!(audit(&s, Platform::Discord, &guild).await.len(), 1);
}

/// Six saves of different settings at once from two instances: each is saved or told it lost,
/// and exactly the saved ones are in the settings and the audit log.
async fn racing_saves_each_have_one_effect_or_none(s: Setup) {
    let s = Arc::new(s);
    let edges = Arc::new([s.plain_edge(), s.plain_edge()]);
    let guild = snowflake();
    const KEYS: [&str; 6] = [
        "weight.note",
        "weight.warning",
        "weight.mute",
        "weight.kick",
        "weight.tempban",
        "weight.ban",
    ];
    let tasks: Vec<_> = KEYS
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let (s, edges, guild) = (Arc::clone(&s), Arc::clone(&edges), guild.clone());
            tokio::spawn(async move {
                let answer = discord_modconfig(
                    &edges[i % 2],
                    &s.clock,
                    &guild,
                    DiscordInvoker::Moderator,
                    Some(key),
                    Some("50"),
                )
                .await;
                (*key, answer.text().to_owned())
            })
        })
        .collect();
    let mut saved = Vec::new();
    for task in tasks {
        let (key, text) = task.await.expect("the request finished");
        if text.contains("→ 50 points") {
            saved.push(key);
        } else {
            assert!(text.contains("changed meanwhile"), "{key}: {text}");
        }
    }
    assert!(!saved.is_empty(), "at least one save wins");
    let (stored, version) = settings(&s, Platform::Discord, &guild).await;
    assert_eq!(version, Some(saved.len() as u64));
    for kind in Kind::ALL {
        let key = format!("weight.{}", kind.code());
        let expected = if saved.contains(&key.as_str()) {
            50
        } else {
            ModSettings::default().weights.of(kind)
        };
        assert_eq!(stored.weights.of(kind), expected, "{key}");
    }
    let logged = audit(&s, Platform::Discord, &guild).await;
    assert_eq!(logged.len(), saved.len(), "{logged:?}");
}

/// Slack's moderator settings mean nothing on Discord and are refused there.
async fn slack_only_keys_are_refused_on_discord(s: Setup) {
    let edge = s.plain_edge();
    let guild = snowflake();
    for (key, value) in [
        ("slack-moderators", "<@U0ANN>"),
        ("slack-moderator-group", "S0MODS"),
    ] {
        let answer = discord_modconfig(
            &edge,
            &s.clock,
            &guild,
            DiscordInvoker::Moderator,
            Some(key),
            Some(value),
        )
        .await;
        assert!(
            answer
                .text()
                .starts_with(&format!("`{key}` is a Slack setting.")),
            "{}",
            answer.text()
        );
    }
    assert_eq!(settings(&s, Platform::Discord, &guild).await.1, None);
    assert!(audit(&s, Platform::Discord, &guild).await.is_empty());
}

/// A member without Manage Server is refused, nothing changes, and the refusal is audited.
async fn a_member_is_refused_and_the_refusal_is_audited(s: Setup) {
    let edge = s.plain_edge();
    let guild = snowflake();
    let answer = discord_modconfig(
        &edge,
        &s.clock,
        &guild,
        DiscordInvoker::Member,
        Some("weight.warning"),
        Some("9"),
    )
    .await;
    assert!(refused(&answer), "{}", answer.text());
    assert!(answer.ephemeral());
    assert_eq!(settings(&s, Platform::Discord, &guild).await.1, None);
    let entries = audit(&s, Platform::Discord, &guild).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].action, AuditAction::PermissionRefused);
    assert_eq!(entries[0].actor, payloads::DISCORD_MEMBER);
    assert_eq!(
        entries[0].detail,
        "`/modconfig` needs the Manage Server permission"
    );
}

/// Slack: an admin or owner (asked with `users.info`) moderates without being listed.
async fn a_slack_admin_may_moderate(s: Setup) {
    let web = Arc::new(RecordingSlackWeb::new().with_admins(vec!["U0ADMIN".into()]));
    let edge = s.edge(web.clone());
    let team = slack_team();
    let answer = slack_modconfig(&edge, &s, &team, "U0ADMIN", "weight.warning 2").await;
    assert_eq!(answer.text(), "`weight.warning`: 1 point → 2 points.");
    assert!(web.calls().contains(&SlackCall::UserIsAdmin {
        user: "U0ADMIN".into()
    }));
    // /help lists what an admin may run.
    let help = slack_command(&edge, &s.clock, &team, "U0ADMIN", "/help", "").await;
    assert!(help.shown().contains("/modconfig"), "{}", help.body);
}

/// Slack: members of the moderator user group moderate.
async fn a_slack_user_group_member_may_moderate(s: Setup) {
    let web = Arc::new(RecordingSlackWeb::new().with_usergroup("S0MODS", vec!["U0GROUPIE".into()]));
    let edge = s.edge(web.clone());
    let team = slack_team();
    let before = slack_modconfig(&edge, &s, &team, "U0GROUPIE", "").await;
    assert!(refused(&before), "no group is set yet: {}", before.text());
    let set = slack_modconfig(
        &edge,
        &s,
        &team,
        ENV_MODERATOR,
        "slack-moderator-group <!subteam^S0MODS|@mods>",
    )
    .await;
    assert!(set.text().contains("→ <!subteam^S0MODS>"), "{}", set.text());
    let after = slack_modconfig(&edge, &s, &team, "U0GROUPIE", "decay 0.5").await;
    assert_eq!(after.text(), "`decay`: 0.1 per day → 0.5 per day.");
    assert!(web.calls().contains(&SlackCall::UsergroupMembers {
        group: "S0MODS".into()
    }));
}

/// Slack: a member listed with `/modconfig slack-moderators` moderates at once on the instance
/// that saved the list, and on another instance once its one-minute copy runs out.
async fn a_listed_slack_member_may_moderate(s: Setup) {
    let (saving, other) = (s.plain_edge(), s.plain_edge());
    let team = slack_team();
    let early = slack_modconfig(&other, &s, &team, "U0LISTED", "").await;
    assert!(refused(&early), "{}", early.text());
    let add = slack_modconfig(
        &saving,
        &s,
        &team,
        ENV_MODERATOR,
        "slack-moderators add <@U0LISTED|lee>",
    )
    .await;
    assert_eq!(add.text(), "`slack-moderators`: none → <@U0LISTED>.");
    let now = slack_modconfig(&saving, &s, &team, "U0LISTED", "").await;
    assert!(
        !refused(&now) && now.shown().contains("slack-moderators"),
        "{}",
        now.body
    );
    let stale = slack_modconfig(&other, &s, &team, "U0LISTED", "").await;
    assert!(refused(&stale), "the other instance's copy is still fresh");
    s.clock.advance_ms(SETTINGS_TTL_MS);
    let later = slack_modconfig(&other, &s, &team, "U0LISTED", "").await;
    assert!(!refused(&later), "{}", later.text());
}

/// Slack: an ordinary member is refused and the refusal audited; commands that need no
/// permission never ask Slack about anyone.
async fn an_ordinary_slack_member_is_refused_and_audited(s: Setup) {
    let web = Arc::new(RecordingSlackWeb::new().with_admins(vec!["U0ADMIN".into()]));
    let edge = s.edge(web.clone());
    let team = slack_team();
    let ping = slack_command(&edge, &s.clock, &team, "U0PLAIN", "/ping", "").await;
    assert!(ping.text().starts_with("Pong!"), "{}", ping.text());
    assert!(web.calls().is_empty(), "{:?}", web.calls());

    let answer = slack_modconfig(&edge, &s, &team, "U0PLAIN", "retention 1").await;
    assert!(refused(&answer), "{}", answer.text());
    assert!(answer.ephemeral());
    assert_eq!(
        web.calls(),
        vec![SlackCall::UserIsAdmin {
            user: "U0PLAIN".into()
        }]
    );
    assert_eq!(settings(&s, Platform::Slack, &team).await.1, None);
    let entries = audit(&s, Platform::Slack, &team).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].action, AuditAction::PermissionRefused);
    assert_eq!(entries[0].actor, "U0PLAIN");
    assert!(
        entries[0].detail.contains("/modconfig"),
        "{}",
        entries[0].detail
    );
}

/// A Slack Web API that fails (or, with `hang`, never answers) every moderator lookup.
struct BrokenSlack {
    hang: bool,
}

#[async_trait]
impl SlackWeb for BrokenSlack {
    async fn respond(&self, _: &str, _: &Value) -> Result<(), SlackWebError> {
        Ok(())
    }
    async fn open_view(&self, _: &str, _: &Value) -> Result<(), SlackWebError> {
        Ok(())
    }
    async fn user_is_admin(&self, _: &str) -> Result<bool, SlackWebError> {
        self.fail().await
    }
    async fn usergroup_members(&self, _: &str) -> Result<Vec<String>, SlackWebError> {
        self.fail().await
    }
    async fn user_is_bot(&self, _: &str) -> Result<bool, SlackWebError> {
        self.fail().await
    }
}

impl BrokenSlack {
    async fn fail<T>(&self) -> Result<T, SlackWebError> {
        if self.hang {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Err(SlackWebError::Unreachable("connection refused".into()))
    }
}

/// Slack down or slow: the configured lists still decide, inside the acknowledgement budget,
/// and nobody is granted or failed by the outage.
async fn a_failing_slack_falls_back_to_the_lists(s: Setup) {
    let team = slack_team();
    let healthy = s.plain_edge();
    for text in [
        "slack-moderators add <@U0LISTED>",
        "slack-moderator-group S0MODS",
    ] {
        let set = slack_modconfig(&healthy, &s, &team, ENV_MODERATOR, text).await;
        assert!(set.text().contains("→"), "{}", set.text());
    }
    for hang in [false, true] {
        let edge = s.edge(Arc::new(BrokenSlack { hang }));
        for (user, allowed) in [
            (ENV_MODERATOR, true),
            ("U0LISTED", true),
            ("U0ADMIN", false),
        ] {
            let started = Instant::now();
            let answer = slack_modconfig(&edge, &s, &team, user, "").await;
            assert_eq!(answer.status, 200);
            assert_eq!(
                !refused(&answer),
                allowed,
                "{user} (hang {hang}): {}",
                answer.text()
            );
            assert!(
                started.elapsed() < Duration::from_millis(2500),
                "{user} answered after {:?}",
                started.elapsed()
            );
        }
    }
}

gavel_tests::on_both_stores!(
    view_shows_every_setting_and_its_default,
    each_kind_of_key_is_set_and_read_back,
    value_errors_say_what_is_accepted,
    a_change_is_audited_with_before_and_after,
    a_concurrent_save_is_refused_and_nothing_is_saved,
    racing_saves_each_have_one_effect_or_none,
    slack_only_keys_are_refused_on_discord,
    a_member_is_refused_and_the_refusal_is_audited,
    a_slack_admin_may_moderate,
    a_slack_user_group_member_may_moderate,
    a_listed_slack_member_may_moderate,
    an_ordinary_slack_member_is_refused_and_audited,
    a_failing_slack_falls_back_to_the_lists,
);

/// Saves `tenant`'s settings with this warning weight, straight into `store`.
async fn save_warning(store: &dyn Store, platform: Platform, tenant: &str, warning: u32) {
    let mut settings = ModSettings::default();
    settings.weights.warning = warning;
    save_settings(store, platform, tenant, &settings).await;
}

/// Each read's settings carry a warning weight of the read's number (T1 is saved again after
/// its first read), so a value shows which read it came from.
#[tokio::test]
async fn settings_are_read_once_a_minute_per_tenant() {
    let inner = Backing::embedded().store;
    let store = Arc::new(Faulty::counting(Arc::clone(&inner)));
    save_warning(inner.as_ref(), Platform::Slack, "T1", 1).await;
    save_warning(inner.as_ref(), Platform::Slack, "T2", 2).await;
    let cache = SettingsCache::new();
    let warning = |s: ModSettings| s.weights.warning;
    let get = |tenant: &'static str, now| {
        let (cache, store) = (&cache, Arc::clone(&store));
        async move {
            cache
                .get(&*store, Platform::Slack, tenant, now)
                .await
                .unwrap()
        }
    };
    assert_eq!(warning(get("T1", 0).await), 1);
    save_warning(inner.as_ref(), Platform::Slack, "T1", 3).await;
    assert_eq!(warning(get("T1", SETTINGS_TTL_MS - 1).await), 1);
    assert_eq!(warning(get("T2", 10).await), 2, "another tenant reads");
    assert_eq!(warning(get("T1", SETTINGS_TTL_MS).await), 3, "a minute on");
    assert_eq!(store.calls(Op::Get), 3);
}

/// The first read fails; the store holds the defaults (a warning weighs 1), then a warning
/// weight of 2 saved by another instance.
#[tokio::test]
async fn a_save_replaces_the_copy_and_failed_reads_are_not_remembered() {
    let inner = Backing::embedded().store;
    let store = Faulty::failing(
        Arc::clone(&inner),
        FailOn::ops([Op::Get]).nth(1),
        StoreError::Unavailable("down".into()),
    );
    let cache = SettingsCache::new();
    assert!(cache.get(&store, Platform::Discord, "G", 0).await.is_err());
    assert_eq!(
        cache
            .get(&store, Platform::Discord, "G", 1)
            .await
            .unwrap()
            .weights
            .warning,
        1
    );
    save_warning(inner.as_ref(), Platform::Discord, "G", 2).await;
    let mut saved = ModSettings::default();
    saved.weights.warning = 42;
    cache.remember(Platform::Discord, "G", saved.clone(), 2);
    assert_eq!(
        cache.get(&store, Platform::Discord, "G", 3).await.unwrap(),
        saved
    );
    cache.forget(Platform::Discord, "G");
    assert_eq!(
        cache
            .get(&store, Platform::Discord, "G", 4)
            .await
            .unwrap()
            .weights
            .warning,
        2
    );
}
