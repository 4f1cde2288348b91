//! `/automod`: moderators list, change and try the community's AutoMod rules, one versioned
//! document saved over the version read and audited with before and after, like
//! `/modconfig`. The first word picks the action, so on Slack `/automod add-word free nitro`
//! adds a phrase and `/automod test fr33 n1tr0` tries a text, as written.
//!
//! Also here: what happens when AutoMod catches a message ([`caught`]), the moderators'
//! follow-up buttons ([`review`]), and the Discord message commands **Report message** and
//! **Check message** ([`message_menu`]).

pub mod caught;
mod edit;
mod message_menu;
pub mod review;

use async_trait::async_trait;
use serde_json::json;

use super::{Command, CommandContext, CommandSpec, OptionKind, OptionSpec};
use crate::automod::{Engine, Message, Rule, RuleKind, Rules};
use crate::flows::FlowEngine;
use crate::invocation::{Capability, OptionValue, Platform};
use crate::jobs::{Job, Task};
use crate::moderation::{AuditAction, AuditEntry, ModSettings, automod_rules};
use crate::reply::{Reply, Response};
use crate::store::StoreError;

pub use caught::{Acted, Caught, act, explain};
pub use edit::Edit;
pub use message_menu::report_draft;
pub use review::AutomodReview;

/// The words `/automod` starts with: the views, then every change ([`Edit`]).
const ACTIONS: &[&str] = &[
    "list",
    "test",
    "sync",
    "enable",
    "disable",
    "add-word",
    "remove-word",
    "allow-word",
    "remove-allow-word",
    "allow-domain",
    "deny-domain",
    "remove-domain",
    "add-regex",
    "remove-regex",
    "set",
    "action",
    "delete",
    "exempt",
    "unexempt",
];

/// The seeded rules' ids, offered as choices (a community's rules keep these ids).
const RULE_IDS: &[&str] = &[
    "words", "caps", "links", "mentions", "flood", "repeats", "regex",
];

static SPEC: CommandSpec = CommandSpec {
    name: "automod",
    description: "List, change and test the AutoMod rules (moderators)",
    options: &[
        OptionSpec {
            name: "action",
            description: "list, test, sync, add-word, action, exempt, ...",
            kind: OptionKind::Choice(ACTIONS),
            required: true,
        },
        OptionSpec {
            name: "rule",
            description: "The rule: words, caps, links, mentions, flood, repeats, regex",
            kind: OptionKind::Choice(RULE_IDS),
            required: false,
        },
        OptionSpec {
            name: "value",
            description: "The word, domain, pattern, limit, action or exemption",
            kind: OptionKind::String,
            required: false,
        },
    ],
    requires: Some(Capability::ManageGuild),
    context_menu: None,
    message_menu: Some("Check message"),
    read_only: false,
};

/// `/automod`.
pub struct Automod;

#[async_trait]
impl Command for Automod {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    fn register_flows(&self, engine: &mut FlowEngine) {
        engine.register(std::sync::Arc::new(AutomodReview));
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        if ctx.invocation.outside_community() {
            return Reply::ephemeral("AutoMod rules belong to a community; run `/automod` in one.")
                .into();
        }
        if let Some(message) = &ctx.call.message {
            return message_menu::check(ctx, message).await;
        }
        let text = |name| ctx.call.option(name).and_then(OptionValue::as_str);
        let action = text("action").unwrap_or("list");
        let rule = text("rule");
        let value = text("value").unwrap_or("").trim();
        match action {
            "list" => list(ctx).await.into(),
            "test" => test(ctx, &joined(rule, value)).await.into(),
            "sync" => sync(ctx).await,
            word => match Edit::from_word(word) {
                Some(edit) => change(ctx, edit, rule, value).await.into(),
                None => Reply::ephemeral(format!(
                    "`{word}` is not an AutoMod action. Actions: {}.",
                    ACTIONS.join(", ")
                ))
                .into(),
            },
        }
    }
}

/// Slack drops an optional choice into the text when the word fits one (`/automod test caps
/// lock`), so a text that may start with a rule's name gets it back.
fn joined(rule: Option<&str>, value: &str) -> String {
    match rule {
        Some(rule) if value.is_empty() => rule.to_owned(),
        Some(rule) => format!("{rule} {value}"),
        None => value.to_owned(),
    }
}

async fn current(ctx: &CommandContext<'_>) -> Result<(Rules, Option<u64>), Reply> {
    let invocation = ctx.invocation;
    automod_rules::load(ctx.store, invocation.platform, &invocation.tenant)
        .await
        .map_err(|error| {
            tracing::error!(%error, "could not read the automod rules");
            Reply::ephemeral(
                "Gavel could not read the AutoMod rules, so nothing was changed. Please try again in a moment.",
            )
        })
}

async fn list(ctx: &CommandContext<'_>) -> Reply {
    let (rules, _) = match current(ctx).await {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let mut reply = Reply::ephemeral(
        "AutoMod rules. Change one with `/automod <action> [rule] [value]` (`/automod add-word free nitro`, `/automod action caps warn`), try a text with `/automod test <text>`.",
    );
    for rule in &rules.rules {
        reply = reply.with_field(
            format!("{} ({})", rule.id, rule.kind.label()),
            describe(rule, ctx.invocation.platform),
        );
    }
    if !rules.allow_words.is_empty() {
        reply = reply.with_field("allowed words", shorten(&rules.allow_words));
    }
    reply
}

/// "on · warn · 3 words: free nitro, scam, kys · exempt: <#C1>".
fn describe(rule: &Rule, platform: Platform) -> String {
    let mut parts = vec![
        if rule.enabled { "on" } else { "off" }.to_owned(),
        rule.action.label(),
    ];
    if rule.delete {
        parts.push("deletes the message".to_owned());
    }
    parts.push(match &rule.kind {
        RuleKind::Words { words } if words.is_empty() => "no words yet".to_owned(),
        RuleKind::Words { words } => format!("{} banned: {}", words.len(), shorten(words)),
        RuleKind::Caps {
            ratio_percent,
            min_letters,
        } => format!("over {ratio_percent}% capitals in more than {min_letters} letters"),
        RuleKind::Links {
            allow,
            deny,
            invites,
            lookalikes,
        } => {
            let mut what = Vec::new();
            if !allow.is_empty() {
                what.push(format!("only {} allowed", shorten(allow)));
            }
            if !deny.is_empty() {
                what.push(format!("{} denied", shorten(deny)));
            }
            if *invites {
                what.push("invites flagged".to_owned());
            }
            if *lookalikes {
                what.push("look-alike domains flagged".to_owned());
            }
            what.join(", ")
        }
        RuleKind::Mentions { max } => format!("more than {max} mentions"),
        RuleKind::Flood {
            max_messages,
            window_secs,
        } => format!("more than {max_messages} messages in {window_secs}s per channel"),
        RuleKind::Repeats {
            max_repeats,
            window_secs,
        } => format!("the same message more than {max_repeats} times in {window_secs}s"),
        RuleKind::Regex { patterns } if patterns.is_empty() => "no patterns yet".to_owned(),
        RuleKind::Regex { patterns } => patterns
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}. `{p}`", i + 1))
            .collect::<Vec<_>>()
            .join(" "),
    });
    let exempt = &rule.exempt;
    let mut exemptions: Vec<String> = exempt.channels.iter().map(|c| format!("<#{c}>")).collect();
    exemptions.extend(
        exempt
            .roles
            .iter()
            .map(|r| super::mentions::show_role(r, platform)),
    );
    exemptions.extend(exempt.members.iter().map(|m| format!("<@{m}>")));
    if !exemptions.is_empty() {
        parts.push(format!("exempt: {}", exemptions.join(" ")));
    }
    parts.join(" · ")
}

/// The first few entries of a list, and how many more.
fn shorten(list: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = list
        .iter()
        .take(SHOWN)
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if list.len() > SHOWN {
        text.push_str(&format!(" and {} more", list.len() - SHOWN));
    }
    text
}

/// `/automod test <text>`: the dry run, as if an ordinary member had posted `text` (no
/// exemption applies), for the rules that look at one message.
async fn test(ctx: &CommandContext<'_>, text: &str) -> Reply {
    if text.trim().is_empty() {
        return Reply::ephemeral("Give a text to try: `/automod test fr33 n1tr0`.");
    }
    let invocation = ctx.invocation;
    let compiled = match ctx
        .registry
        .automod_rules()
        .get(
            ctx.store,
            invocation.platform,
            &invocation.tenant,
            ctx.now_ms(),
        )
        .await
    {
        Ok(compiled) => compiled,
        Err(error) => {
            tracing::error!(%error, "could not read the automod rules");
            return Reply::ephemeral(
                "Gavel could not read the AutoMod rules. Please try again in a moment.",
            );
        }
    };
    dry_run(&compiled.engine, text, invocation.platform, ctx.now_secs())
}

/// What the rules make of `text`, explained.
pub(crate) fn dry_run(engine: &Engine, text: &str, platform: Platform, now_secs: i64) -> Reply {
    let message = Message {
        text,
        author: "",
        author_roles: &[],
        channel: "",
        platform,
        at_secs: now_secs,
    };
    let hits = engine.check(&message);
    if hits.is_empty() {
        return Reply::ephemeral(
            "✅ No rule would catch that. (Flood and repeats count messages over time, so a single test cannot trip them.)",
        );
    }
    let action = caught::strongest(&hits)
        .map(|hit| hit.action.label())
        .unwrap_or_default();
    Reply::ephemeral(format!(
        "🛡️ {} rule{} would catch that; the action would be: {action}.\n{}",
        hits.len(),
        if hits.len() == 1 { "" } else { "s" },
        explain(&hits)
    ))
}

async fn change(ctx: &CommandContext<'_>, edit: Edit, rule: Option<&str>, value: &str) -> Reply {
    let invocation = ctx.invocation;
    let (platform, tenant) = (invocation.platform, invocation.tenant.as_str());
    let (before, version) = match current(ctx).await {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let mut after = before.clone();
    // A list's own rule may be named (`/automod add-word words2 scam`); any other word in
    // the rule's place is the start of the text, as Slack parsed it.
    let (rule, value) = match rule {
        Some(id) if !edit.names_a_rule() && before.rule(id).is_none_or(|r| !lists(edit, r)) => {
            (None, joined(Some(id), value))
        }
        other => (other, value.to_owned()),
    };
    let said = match edit::apply(&mut after, edit, rule, &value, platform) {
        Ok(said) => said,
        Err(problem) => return Reply::ephemeral(format!("{problem} Nothing was changed.")),
    };
    if let Err(problem) = after.validate() {
        return Reply::ephemeral(format!("{problem}. Nothing was changed."));
    }
    if after == before {
        return Reply::ephemeral("That is how the rules are already; nothing was changed.");
    }
    let now_ms = ctx.now_ms();
    let (settings, _) = match ModSettings::load(ctx.store, platform, tenant).await {
        Ok(found) => found,
        Err(error) => {
            tracing::error!(%error, "could not read the moderation settings");
            return Reply::ephemeral(
                "Gavel could not read the moderation settings, so nothing was changed. Please try again in a moment.",
            );
        }
    };
    let entry = AuditEntry::new(
        now_ms,
        &invocation.actor.id,
        AuditAction::ConfigChange,
        format!("automod {}: {said}", edit.word()),
    )
    .change(
        Some(json!({ "automod": before })),
        Some(json!({ "automod": after })),
    );
    let ops = vec![
        automod_rules::write(&after, platform, tenant, version),
        entry.write(
            platform,
            tenant,
            &format!("{}#automod", invocation.id),
            settings.retention_secs(),
        ),
    ];
    match ctx.store.transact(ops).await {
        Ok(()) => {
            tracing::info!(edit = edit.word(), "automod rules changed");
            ctx.registry
                .automod_rules()
                .remember(platform, tenant, after, now_ms);
            Reply::ephemeral(format!("✅ {said}"))
        }
        Err(StoreError::TransactionConflict { index: 0 }) => {
            ctx.registry.automod_rules().forget(platform, tenant);
            Reply::ephemeral(
                "The AutoMod rules were changed meanwhile by someone else, so nothing was saved. Run `/automod list` to see them now, then try again.",
            )
        }
        Err(StoreError::TransactionConflict { .. }) => {
            Reply::ephemeral("This request was already handled; nothing was changed twice.")
        }
        Err(error) => {
            tracing::error!(%error, "could not save the automod rules");
            Reply::ephemeral(
                "Gavel could not save the AutoMod rules, so nothing was changed. Please try again in a moment.",
            )
        }
    }
}

/// Whether `rule` holds the list `edit` changes.
fn lists(edit: Edit, rule: &Rule) -> bool {
    match edit {
        Edit::AddWord | Edit::RemoveWord => matches!(rule.kind, RuleKind::Words { .. }),
        Edit::AllowDomain | Edit::DenyDomain | Edit::RemoveDomain => {
            matches!(rule.kind, RuleKind::Links { .. })
        }
        Edit::AddRegex | Edit::RemoveRegex => matches!(rule.kind, RuleKind::Regex { .. }),
        _ => false,
    }
}

/// `/automod sync`: the worker compiles the rules into Discord's native AutoMod and tells the
/// moderator what it did.
async fn sync(ctx: &CommandContext<'_>) -> Response {
    let invocation = ctx.invocation;
    if invocation.platform != Platform::Discord {
        return Reply::ephemeral(
            "Only Discord has a native AutoMod to sync to; on Slack, Gavel checks every message in the channels it is in.",
        )
        .into();
    }
    let job = Job::for_invocation(
        invocation,
        Task::SyncAutomod {
            guild: invocation.tenant.clone(),
        },
        ctx.now_secs(),
    );
    match ctx.bus.publish(&job).await {
        Ok(()) => Response::Deferred(Reply::ephemeral("Syncing the rules to Discord's AutoMod…")),
        Err(error) => {
            tracing::error!(%error, "could not hand the automod sync to the worker");
            Reply::ephemeral(
                "Gavel could not start the sync just now; nothing was changed. Please try again in a moment.",
            )
            .into()
        }
    }
}
