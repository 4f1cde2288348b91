//! Conversation flows end to end through the edge, on both store adapters: the embedded store
//! and DynamoDB (moto). Every request is signed and goes through verification, parsing, the
//! flow engine and the renderers, and clicks are served by a second edge over the same store,
//! as a different Lambda instance would serve them.

use std::sync::Arc;

use gavel_shared::clock::ManualClock;
use gavel_shared::edge::Edge;
use gavel_shared::slack::web::{RecordingSlackWeb, SlackCall};
use gavel_shared::store::{PageRequest, Store};
use gavel_tests::harness::{Backing, edge_over, futures_join, snowflake_from};
use gavel_tests::payloads::{self, DiscordInvoker};
use gavel_tests::requests::{self, Answer, button_ids, content};
use serde_json::Value;

/// The member being reported in every test.
const TARGET_DISCORD: &str = "1174109840998400077";
const TARGET_SLACK: &str = "U0GAVELTGT";

/// Two edges (two "instances") over one store, the clock they share, and what Slack was sent.
struct Setup {
    first: Edge,
    second: Edge,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    slack: Arc<RecordingSlackWeb>,
}

fn edges(Backing { store, clock }: Backing) -> Setup {
    let slack = Arc::new(RecordingSlackWeb::new());
    let edge = || edge_over(Arc::clone(&store), &clock, slack.clone());
    Setup {
        first: edge(),
        second: edge(),
        store,
        clock,
        slack,
    }
}

fn embedded() -> Setup {
    edges(Backing::embedded())
}

async fn dynamodb() -> Setup {
    edges(Backing::dynamodb().await)
}

/// A Discord snowflake no other request in this binary uses.
fn snowflake() -> String {
    snowflake_from("14425452969984")
}

/// A reason no other test uses, so reports can be counted in a shared table.
fn reason(label: &str) -> String {
    format!("{label} {} kept posting invite links", snowflake())
}

async fn discord(edge: &Edge, clock: &ManualClock, body: Vec<u8>) -> Answer {
    requests::discord(edge, clock, &body).await
}

async fn slack(edge: &Edge, clock: &ManualClock, path: &str, body: Vec<u8>) -> Answer {
    requests::slack(edge, clock, path, &body).await
}

fn report_command(reason: Option<&str>) -> Vec<u8> {
    let mut options =
        vec![serde_json::json!({ "name": "user", "type": 6, "value": TARGET_DISCORD })];
    if let Some(reason) = reason {
        options.push(serde_json::json!({ "name": "reason", "type": 3, "value": reason }));
    }
    payloads::discord_command(
        &snowflake(),
        "report",
        Value::Array(options),
        DiscordInvoker::Member,
    )
}

/// Reports in the tenant's partition whose reason is `reason`.
async fn reports_with(store: &Arc<dyn Store>, platform_tenant: &str, reason: &str) -> usize {
    let mut count = 0;
    let mut page = PageRequest::first(100);
    loop {
        let found = store
            .query(
                &format!("{platform_tenant}#reports"),
                "report#",
                page.clone(),
            )
            .await
            .expect("reports can be listed");
        count += found
            .items
            .iter()
            .filter(|i| i.data["reason"] == reason)
            .count();
        match found.cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return count,
        }
    }
}

fn discord_tenant() -> String {
    format!("discord:{}", payloads::DISCORD_GUILD)
}

fn slack_tenant() -> String {
    format!("slack:{}", payloads::SLACK_TEAM)
}

/// `/report` with a reason asks to confirm; Confirm, served by another instance, sends the
/// report once and replaces the prompt, removing its buttons.
async fn confirmation_across_requests(s: Setup) {
    let why = reason("confirm");
    // An instance's first command reads the community's rate-limit overrides (then cached),
    // and the DynamoDB adapter learns each bucket's state (a cold guess may cost a second
    // round): warm up once, then count the steady state.
    let warm_up = discord(&s.first, &s.clock, report_command(Some(&reason("warm-up")))).await;
    assert!(warm_up.round_trips <= 4, "{}", warm_up.round_trips);
    let prompt = discord(&s.first, &s.clock, report_command(Some(&why))).await;
    assert_eq!(prompt.status, 200);
    assert_eq!(prompt.body["type"], 4, "{}", prompt.body);
    assert_eq!(prompt.body["data"]["flags"], 64, "the prompt is ephemeral");
    assert!(content(&prompt.body).contains("Send this report"));
    assert_eq!(
        prompt.round_trips, 2,
        "one transaction (claim and rate-limit tokens), then the flow's creation"
    );
    let ids = button_ids(&prompt.body);
    assert_eq!(ids.len(), 2, "Confirm and Cancel: {}", prompt.body);
    assert!(ids.iter().all(|id| id.len() <= 100));
    assert_eq!(reports_with(&s.store, &discord_tenant(), &why).await, 0);

    let click = payloads::discord_component(&snowflake(), &ids[0], DiscordInvoker::Member);
    let done = discord(&s.second, &s.clock, click).await;
    assert_eq!(done.status, 200);
    assert_eq!(
        done.body["type"], 7,
        "the prompt is replaced: {}",
        done.body
    );
    assert!(content(&done.body).contains("was sent to the moderators"));
    assert_eq!(done.body["data"]["components"], Value::Array(vec![]));
    assert_eq!(done.round_trips, 2, "read the state, write the transition");
    assert_eq!(reports_with(&s.store, &discord_tenant(), &why).await, 1);

    // A late click on the same (now removed) button is told it was handled; nothing repeats.
    let late = payloads::discord_component(&snowflake(), &ids[0], DiscordInvoker::Member);
    let late = discord(&s.first, &s.clock, late).await;
    assert_eq!(late.body["type"], 4);
    assert!(
        content(&late.body).contains("already handled"),
        "{}",
        late.body
    );
    assert_eq!(reports_with(&s.store, &discord_tenant(), &why).await, 1);

    // Moderators see it in /reports.
    let list = payloads::discord_command(
        &snowflake(),
        "reports",
        Value::Array(vec![]),
        DiscordInvoker::Moderator,
    );
    let list = discord(&s.first, &s.clock, list).await;
    let listed = list.body["data"]["content"].as_str().unwrap_or("");
    assert!(listed.contains(&why), "{listed}");
}

/// Eight clicks on Confirm at once, split across two instances: one sends, seven are told it
/// was already handled.
async fn concurrent_clicks_have_one_effect(s: Setup) {
    let why = reason("double");
    let prompt = discord(&s.first, &s.clock, report_command(Some(&why))).await;
    let confirm = button_ids(&prompt.body)[0].clone();
    let s = Arc::new(s);
    let clicks = (0..8).map(|i| {
        let s = Arc::clone(&s);
        let confirm = confirm.clone();
        tokio::spawn(async move {
            let body = payloads::discord_component(&snowflake(), &confirm, DiscordInvoker::Member);
            let edge = if i % 2 == 0 { &s.first } else { &s.second };
            discord(edge, &s.clock, body).await
        })
    });
    let answers: Vec<Answer> = futures_join(clicks).await;
    let sent = answers.iter().filter(|a| a.body["type"] == 7).count();
    let handled = answers
        .iter()
        .filter(|a| a.body["type"] == 4 && content(&a.body).contains("already handled"))
        .count();
    assert_eq!((sent, handled), (1, 7));
    assert_eq!(reports_with(&s.store, &discord_tenant(), &why).await, 1);
}

/// After five minutes the run is gone: Confirm answers that it expired, how to start again,
/// and replaces the message so its buttons are gone. Nothing is sent.
async fn expired_flows_answer_and_remove_their_buttons(s: Setup) {
    let why = reason("expired");
    let prompt = discord(&s.first, &s.clock, report_command(Some(&why))).await;
    let confirm = button_ids(&prompt.body)[0].clone();
    s.clock.advance_ms(5 * 60 * 1000);
    let click = payloads::discord_component(&snowflake(), &confirm, DiscordInvoker::Member);
    let stale = discord(&s.second, &s.clock, click).await;
    assert_eq!(stale.body["type"], 7, "{}", stale.body);
    let text = content(&stale.body);
    assert!(text.contains("expired"), "{text}");
    assert!(text.contains("Run `/report` again"), "{text}");
    assert_eq!(stale.body["data"]["components"], Value::Array(vec![]));
    assert_eq!(reports_with(&s.store, &discord_tenant(), &why).await, 0);
}

/// An edited id, or a real id clicked by someone else, is refused and runs nothing.
async fn forged_ids_are_refused(s: Setup) {
    let why = reason("forged");
    let prompt = discord(&s.first, &s.clock, report_command(Some(&why))).await;
    let confirm = button_ids(&prompt.body)[0].clone();
    let cancel = button_ids(&prompt.body)[1].clone();
    // Swap the event of the Cancel id for Confirm's, keeping Cancel's MAC.
    let edited = cancel.replace(":no:", ":yes:");
    assert_ne!(edited, cancel);
    for (id, who) in [
        (edited.as_str(), DiscordInvoker::Member),
        (confirm.as_str(), DiscordInvoker::Moderator),
        (
            "g1:report:AAAAAAAA:1:yes:AAAAAAAAAAAAAAAA",
            DiscordInvoker::Member,
        ),
    ] {
        let click = payloads::discord_component(&snowflake(), id, who);
        let refused = discord(&s.first, &s.clock, click).await;
        assert_eq!(refused.status, 200);
        assert_eq!(refused.body["type"], 4);
        assert_eq!(refused.body["data"]["flags"], 64);
        assert!(
            content(&refused.body).contains("isn't valid"),
            "{}",
            refused.body
        );
        assert_eq!(refused.round_trips, 0, "refused before any store access");
    }
    assert_eq!(reports_with(&s.store, &discord_tenant(), &why).await, 0);
    // The genuine click by its owner still works.
    let click = payloads::discord_component(&snowflake(), &confirm, DiscordInvoker::Member);
    assert_eq!(discord(&s.first, &s.clock, click).await.body["type"], 7);
    assert_eq!(reports_with(&s.store, &discord_tenant(), &why).await, 1);
}

/// Cancel ends the run without an effect; Confirm afterwards is told it was handled.
async fn cancel_ends_the_run(s: Setup) {
    let why = reason("cancel");
    let prompt = discord(&s.first, &s.clock, report_command(Some(&why))).await;
    let ids = button_ids(&prompt.body);
    let cancel = payloads::discord_component(&snowflake(), &ids[1], DiscordInvoker::Member);
    let cancelled = discord(&s.first, &s.clock, cancel).await;
    assert_eq!(cancelled.body["type"], 7);
    assert!(content(&cancelled.body).contains("cancelled"));
    let confirm = payloads::discord_component(&snowflake(), &ids[0], DiscordInvoker::Member);
    let late = discord(&s.second, &s.clock, confirm).await;
    assert!(content(&late.body).contains("already handled"));
    assert_eq!(reports_with(&s.store, &discord_tenant(), &why).await, 0);
}

/// Discord: `/report @user` opens a modal as the first answer; an invalid submission gets the
/// errors and an "Edit report" button that reopens the form with the draft; a valid one sends.
async fn discord_modal_with_validation(s: Setup) {
    let modal = discord(&s.first, &s.clock, report_command(None)).await;
    assert_eq!(modal.body["type"], 9, "{}", modal.body);
    let form_id = modal.body["data"]["custom_id"].as_str().unwrap().to_owned();
    let inputs: Vec<&str> = modal.body["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|label| label["component"]["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(inputs, vec!["reason", "evidence"]);

    let bad = payloads::discord_modal_submit(
        &snowflake(),
        &form_id,
        &[("reason", "spam"), ("evidence", "not a link")],
        DiscordInvoker::Member,
    );
    let errors = discord(&s.second, &s.clock, bad).await;
    assert_eq!(errors.body["type"], 4, "{}", errors.body);
    let text = content(&errors.body);
    assert!(text.contains("at least 10 characters"), "{text}");
    assert!(text.contains("https:// link"), "{text}");
    let edit = button_ids(&errors.body);
    assert_eq!(edit.len(), 1);

    let reopen = payloads::discord_component(&snowflake(), &edit[0], DiscordInvoker::Member);
    let reopened = discord(&s.first, &s.clock, reopen).await;
    assert_eq!(reopened.body["type"], 9, "{}", reopened.body);
    assert_eq!(
        reopened.body["data"]["components"][0]["component"]["value"], "spam",
        "the draft is kept"
    );
    let form_id = reopened.body["data"]["custom_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let why = reason("modal");
    let good = payloads::discord_modal_submit(
        &snowflake(),
        &form_id,
        &[
            ("reason", &why),
            ("evidence", "https://discord.com/channels/1/2/3"),
        ],
        DiscordInvoker::Member,
    );
    let sent = discord(&s.second, &s.clock, good).await;
    assert_eq!(sent.body["type"], 4);
    assert!(content(&sent.body).contains("was sent"), "{}", sent.body);
    assert_eq!(reports_with(&s.store, &discord_tenant(), &why).await, 1);
}

/// Slack: the prompt's buttons come back as block actions; the answer goes to the
/// response_url (replacing the prompt), and concurrent clicks send one report.
async fn slack_confirmation_through_response_url(s: Setup) {
    let why = reason("slack");
    let text = format!("<@{TARGET_SLACK}> {why}");
    let command = payloads::slack_command("/report", &text, "1764000000.7.cmd");
    let prompt = slack(&s.first, &s.clock, "/slack/commands", command).await;
    assert_eq!(prompt.status, 200);
    assert_eq!(prompt.body["response_type"], "ephemeral");
    let actions = prompt.body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("an actions block")
        .clone();
    let ids: Vec<String> = actions["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);

    let s = Arc::new(s);
    let clicks = (0..4).map(|i| {
        let s = Arc::clone(&s);
        let id = ids[0].clone();
        tokio::spawn(async move {
            let body = payloads::slack_block_action(
                &id,
                &format!("1764000000.7.click{i}"),
                payloads::SLACK_USER,
            );
            let edge = if i % 2 == 0 { &s.first } else { &s.second };
            slack(edge, &s.clock, "/slack/interactions", body).await
        })
    });
    for answer in futures_join(clicks).await {
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.body,
            Value::Null,
            "block actions are acknowledged empty"
        );
    }
    let posts: Vec<Value> = s
        .slack
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            SlackCall::Respond { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    let replaced: Vec<&Value> = posts
        .iter()
        .filter(|m| m["replace_original"] == true)
        .collect();
    assert_eq!(replaced.len(), 1, "{posts:?}");
    assert!(replaced[0]["text"].as_str().unwrap().contains("was sent"));
    let handled = posts
        .iter()
        .filter(|m| {
            m["replace_original"] == false
                && m["text"].as_str().unwrap_or("").contains("already handled")
        })
        .count();
    assert_eq!(handled, 3, "{posts:?}");
    assert_eq!(reports_with(&s.store, &slack_tenant(), &why).await, 1);
}

/// Slack: `/report @user` opens a modal with views.open; an invalid submission is answered with
/// `response_action: errors` keyed by field, a valid one with a closing view.
async fn slack_modal_with_validation_errors(s: Setup) {
    let command =
        payloads::slack_command("/report", &format!("<@{TARGET_SLACK}>"), "1764000000.8.cmd");
    let opened = slack(&s.first, &s.clock, "/slack/commands", command).await;
    assert_eq!(opened.status, 200);
    assert_eq!(
        opened.body,
        Value::Null,
        "the command is acknowledged empty"
    );
    let view = s
        .slack
        .calls()
        .into_iter()
        .find_map(|c| match c {
            SlackCall::OpenView { trigger_id, view } => {
                assert_eq!(trigger_id, "1764000000.8.cmd");
                Some(view)
            }
            _ => None,
        })
        .expect("views.open was called");
    assert_eq!(view["type"], "modal");
    let callback = view["callback_id"].as_str().unwrap().to_owned();
    let blocks: Vec<&str> = view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["block_id"].as_str().unwrap())
        .collect();
    assert_eq!(blocks, vec!["reason", "evidence"]);

    let bad = payloads::slack_view_submission(
        &callback,
        &[("reason", "short"), ("evidence", "ftp://x")],
        "1764000000.8.sub1",
        payloads::SLACK_USER,
    );
    let errors = slack(&s.second, &s.clock, "/slack/interactions", bad).await;
    assert_eq!(errors.status, 200);
    assert_eq!(errors.body["response_action"], "errors", "{}", errors.body);
    assert!(
        errors.body["errors"]["reason"]
            .as_str()
            .unwrap()
            .contains("at least 10")
    );
    assert!(
        errors.body["errors"]["evidence"]
            .as_str()
            .unwrap()
            .contains("https://")
    );
    assert_eq!(
        errors.round_trips, 2,
        "an invalid form reads the state and writes nothing; this instance's first click or \
         form also reads the workspace's moderators (kept a minute)"
    );

    let why = reason("slack-modal");
    let good = payloads::slack_view_submission(
        &callback,
        &[("reason", &why)],
        "1764000000.8.sub2",
        payloads::SLACK_USER,
    );
    let done = slack(&s.first, &s.clock, "/slack/interactions", good).await;
    assert_eq!(done.body["response_action"], "update", "{}", done.body);
    let closing = done.body["view"]["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap();
    assert!(closing.contains("was sent"), "{closing}");
    assert_eq!(reports_with(&s.store, &slack_tenant(), &why).await, 1);

    // Submitting the same form again (a double submit) sends nothing more.
    let again = payloads::slack_view_submission(
        &callback,
        &[("reason", &why)],
        "1764000000.8.sub3",
        payloads::SLACK_USER,
    );
    let again = slack(&s.second, &s.clock, "/slack/interactions", again).await;
    let text = again.body["view"]["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap_or("");
    assert!(text.contains("already handled"), "{}", again.body);
    assert_eq!(reports_with(&s.store, &slack_tenant(), &why).await, 1);
}

gavel_tests::on_both_stores!(
    confirmation_across_requests,
    concurrent_clicks_have_one_effect,
    expired_flows_answer_and_remove_their_buttons,
    forged_ids_are_refused,
    cancel_ends_the_run,
    discord_modal_with_validation,
    slack_confirmation_through_response_url,
    slack_modal_with_validation_errors,
);
