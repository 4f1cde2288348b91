//! Forward-compatible parsing: payloads shaped as Discord and Slack document and send them
//! today (`tests/fixtures/payloads/`), and variants generated from each the way the platforms
//! change them: a field left out, a field added, an enum value Gavel does not know, a component
//! or block type added. Every variant goes through the real edge, signed, and must be answered
//! as the original was: the same status and the same answer (kind, visibility, text with the
//! digits masked, number of buttons, what was posted to Slack). Where a removed field is one
//! the command needs (listed per fixture as `needed`), the answer must still be a helpful
//! message, never a 400 or a 500.
//!
//! Each fixture names its `essential` paths, the fields without which a payload is not one
//! (an interaction's id, type and token, a command's name): those are never removed. Paths
//! are dot-separated keys; `[]` stands for every element of an array and `*` for any one key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gavel_shared::slack::web::{RecordingSlackWeb, SlackCall};
use gavel_tests::harness::{Backing, edge_over, snowflake_from};
use gavel_tests::requests::{self, Answer};
use serde_json::{Map, Value, json};

/// A field Gavel has never heard of, added at every object level.
const UNKNOWN_KEY: &str = "gavel_corpus_unknown";

struct Fixture {
    name: String,
    route: String,
    encoding: Encoding,
    essential: Vec<Vec<String>>,
    needed: Vec<Vec<String>>,
    unknown_values: Vec<(Vec<String>, Value)>,
    body: Value,
}

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    /// A JSON body (Discord interactions, Slack events).
    Json,
    /// A form whose fields are the body's (Slack slash commands).
    Form,
    /// A form with one `payload` field holding the body as JSON (Slack interactivity).
    Payload,
}

/// What a variant changes, and so what its answer must be.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// The same answer as the original's.
    Same,
    /// A helpful answer: the change removed something the command needs.
    Helpful,
}

struct Variant {
    label: String,
    body: Value,
    expect: Expect,
}

/// What an answer looks like, with what varies between deliveries (ids, timings) masked.
#[derive(Debug, PartialEq)]
struct Shape {
    status: u16,
    kind: String,
    ephemeral: bool,
    text: String,
    buttons: usize,
    /// Slack: the messages posted to a `response_url` and the forms opened while answering.
    posted: Vec<String>,
}

impl Shape {
    fn is_helpful(&self) -> bool {
        self.status == 200
            && (!self.text.is_empty() || !self.posted.is_empty() || self.kind == "modal")
    }
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/payloads")
}

fn path_of(text: &str) -> Vec<String> {
    text.split('.').map(str::to_owned).collect()
}

fn load_fixtures() -> Vec<Fixture> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("tests/fixtures/payloads exists")
        .map(|entry| entry.expect("a folder entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("a readable fixture");
            let file: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
            let list = |key: &str| -> Vec<Vec<String>> {
                file[key]
                    .as_array()
                    .unwrap_or_else(|| panic!("{}: `{key}` is a list", path.display()))
                    .iter()
                    .map(|p| path_of(p.as_str().expect("paths are strings")))
                    .collect()
            };
            let unknown_values = file["unknown_values"]
                .as_array()
                .expect("`unknown_values` is a list")
                .iter()
                .map(|pair| (path_of(pair[0].as_str().expect("a path")), pair[1].clone()))
                .collect();
            Fixture {
                name: path.file_stem().unwrap().to_string_lossy().into_owned(),
                route: file["route"].as_str().expect("a route").to_owned(),
                encoding: match file["encoding"].as_str() {
                    Some("json") => Encoding::Json,
                    Some("form") => Encoding::Form,
                    Some("payload") => Encoding::Payload,
                    other => panic!("{}: unknown encoding {other:?}", path.display()),
                },
                essential: list("essential"),
                needed: list("needed"),
                unknown_values,
                body: file["body"].clone(),
            }
        })
        .collect()
}

/// A step into a JSON value, and how paths name it (`[]` for any array element).
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

impl Step {
    fn pattern(&self) -> &str {
        match self {
            Step::Key(key) => key,
            Step::Index(_) => "[]",
        }
    }
}

fn matches(pattern: &[String], path: &[Step]) -> bool {
    pattern.len() == path.len()
        && pattern
            .iter()
            .zip(path)
            .all(|(p, step)| p == step.pattern() || (p == "*" && matches!(step, Step::Key(_))))
}

/// Whether `path` is one of `patterns` or lies on the way to one (removing it removes them).
fn covers(patterns: &[Vec<String>], path: &[Step]) -> bool {
    patterns
        .iter()
        .any(|pattern| pattern.len() >= path.len() && matches(&pattern[..path.len()], path))
}

/// Every path in `value` to an object (`objects`) and to an object's key (`keys`).
fn walk(
    value: &Value,
    at: &mut Vec<Step>,
    objects: &mut Vec<Vec<Step>>,
    keys: &mut Vec<Vec<Step>>,
) {
    match value {
        Value::Object(map) => {
            objects.push(at.clone());
            for (key, inner) in map {
                at.push(Step::Key(key.clone()));
                keys.push(at.clone());
                walk(inner, at, objects, keys);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                at.push(Step::Index(i));
                walk(inner, at, objects, keys);
                at.pop();
            }
        }
        _ => {}
    }
}

fn at_mut<'v>(value: &'v mut Value, path: &[Step]) -> &'v mut Value {
    path.iter().fold(value, |value, step| match step {
        Step::Key(key) => &mut value[key.as_str()],
        Step::Index(i) => &mut value[*i],
    })
}

fn label_of(path: &[Step]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|step| match step {
            Step::Key(key) => key.clone(),
            Step::Index(i) => format!("[{i}]"),
        })
        .collect();
    if parts.is_empty() {
        "(top level)".to_owned()
    } else {
        parts.join(".")
    }
}

/// The variants of one fixture: every non-essential key removed in turn, an unknown field
/// added at every object level, each listed enum-ish value replaced by an unknown one, and an
/// unknown component (Discord) or block and element (Slack) type added to every list of them.
fn variants(fixture: &Fixture) -> Vec<Variant> {
    let (mut objects, mut keys) = (Vec::new(), Vec::new());
    walk(&fixture.body, &mut Vec::new(), &mut objects, &mut keys);
    let mut out = Vec::new();
    for path in &keys {
        if covers(&fixture.essential, path) {
            continue;
        }
        let mut body = fixture.body.clone();
        let (last, parent) = path.split_last().expect("a key path is not empty");
        if let (Step::Key(key), Value::Object(map)) = (last, at_mut(&mut body, parent)) {
            map.remove(key);
        }
        out.push(Variant {
            label: format!("without {}", label_of(path)),
            body,
            expect: if covers(&fixture.needed, path) {
                Expect::Helpful
            } else {
                Expect::Same
            },
        });
    }
    for path in &objects {
        // A form's fields are strings, and a form is one level deep.
        if fixture.encoding == Encoding::Form && !path.is_empty() {
            continue;
        }
        let unknown = match fixture.encoding {
            Encoding::Form => json!("a value Gavel has never seen"),
            _ => json!({ "nested": [1, "two", null, { "three": 3.5 }] }),
        };
        let mut body = fixture.body.clone();
        if let Value::Object(map) = at_mut(&mut body, path) {
            map.insert(UNKNOWN_KEY.to_owned(), unknown);
        }
        out.push(Variant {
            label: format!("an unknown field in {}", label_of(path)),
            body,
            expect: Expect::Same,
        });
    }
    for (pattern, value) in &fixture.unknown_values {
        let mut body = fixture.body.clone();
        let targets: Vec<&Vec<Step>> = keys.iter().filter(|p| matches(pattern, p)).collect();
        assert!(
            !targets.is_empty(),
            "{}: `{}` names nothing in the payload",
            fixture.name,
            pattern.join(".")
        );
        for path in targets {
            *at_mut(&mut body, path) = value.clone();
        }
        out.push(Variant {
            label: format!("{} = {value}", pattern.join(".")),
            body,
            expect: Expect::Same,
        });
    }
    let discord = fixture.route.starts_with("/discord");
    for path in &keys {
        let Some(Step::Key(key)) = path.last() else {
            continue;
        };
        let additions: Vec<Value> = match (discord, key.as_str()) {
            (true, "components") => vec![
                json!({ "type": 99, "id": 990, "custom_id": "gavel:corpus:future",
                        "value": { "a": "shape Gavel does not know" } }),
                json!({ "type": 18, "id": 991, "component":
                        { "type": 98, "id": 992, "custom_id": "gavel:corpus:future-in-label" } }),
            ],
            (false, "blocks") => {
                vec![json!({ "type": "a_block_slack_adds", "block_id": "corpus" })]
            }
            (false, "elements") => {
                vec![json!({ "type": "an_element_slack_adds", "action_id": "gavel:corpus:future" })]
            }
            _ => continue,
        };
        for addition in additions {
            let mut body = fixture.body.clone();
            let Value::Array(items) = at_mut(&mut body, path) else {
                continue;
            };
            items.push(addition.clone());
            out.push(Variant {
                label: format!(
                    "a {} of type {} in {}",
                    key,
                    addition["type"],
                    label_of(path)
                ),
                body,
                expect: Expect::Same,
            });
        }
    }
    out
}

/// Gives the variant an interaction id of its own, so the claims of earlier deliveries do not
/// turn it into a repeat, without putting back a field the variant removed.
fn with_own_id(fixture: &Fixture, body: &mut Value) {
    let own = |body: &mut Value, key: &str, value: String| {
        if let Some(slot) = body.get_mut(key) {
            *slot = Value::String(value);
        }
    };
    if fixture.route.starts_with("/discord") {
        own(body, "id", snowflake_from("14425452969"));
    } else {
        let unique = snowflake_from("17640000001");
        own(body, "trigger_id", format!("1764000000.{unique}.corpus"));
        own(body, "event_id", format!("Ev{unique}"));
    }
}

fn encode(encoding: Encoding, body: &Value) -> Vec<u8> {
    match encoding {
        Encoding::Json => body.to_string().into_bytes(),
        Encoding::Form => {
            let fields: Vec<(String, String)> = body
                .as_object()
                .expect("a form fixture is an object")
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect();
            serde_urlencoded::to_string(fields).unwrap().into_bytes()
        }
        Encoding::Payload => serde_urlencoded::to_string([("payload", body.to_string())])
            .unwrap()
            .into_bytes(),
    }
}

/// Digits masked: interaction ids, timings and counters differ between deliveries.
fn masked(text: &str) -> String {
    let mut out = String::new();
    let mut in_digits = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// Every human-readable string in an answer, in order.
fn texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match inner {
                    Value::String(s)
                        if matches!(
                            key.as_str(),
                            "content" | "text" | "title" | "label" | "challenge"
                        ) =>
                    {
                        out.push(masked(s))
                    }
                    _ => texts(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|inner| texts(inner, out)),
        _ => {}
    }
}

fn count_buttons(value: &Value) -> usize {
    match value {
        Value::Object(map) => {
            usize::from(map.get("type") == Some(&json!(2)) && map.contains_key("custom_id"))
                + map.values().map(count_buttons).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(count_buttons).sum(),
        _ => 0,
    }
}

fn shape(answer: &Answer, posted: &[SlackCall], discord: bool) -> Shape {
    let body = &answer.body;
    let mut text = Vec::new();
    texts(body, &mut text);
    let kind = if discord {
        match body["type"].as_u64() {
            Some(9) => "modal".to_owned(),
            Some(kind) => kind.to_string(),
            None => "none".to_owned(),
        }
    } else if body.is_null() {
        "empty".to_owned()
    } else if let Some(action) = body["response_action"].as_str() {
        action.to_owned()
    } else {
        "message".to_owned()
    };
    let ephemeral = if discord {
        body["data"]["flags"].as_u64().is_some_and(|f| f & 64 != 0)
    } else {
        body["response_type"] == "ephemeral"
    };
    let posted = posted
        .iter()
        .map(|call| match call {
            SlackCall::Respond { message, .. } => {
                let mut text = Vec::new();
                texts(message, &mut text);
                format!("respond {}: {}", message["response_type"], text.join(" | "))
            }
            SlackCall::OpenView { view, .. } => {
                let mut text = Vec::new();
                texts(view, &mut text);
                format!("open view: {}", text.join(" | "))
            }
            other => format!("{other:?}"),
        })
        .collect();
    Shape {
        status: answer.status,
        kind,
        ephemeral,
        text: text.join(" | "),
        buttons: count_buttons(body),
        posted,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_variant_of_every_payload_is_answered_as_the_original_was() {
    let backing = Backing::embedded();
    let web = Arc::new(RecordingSlackWeb::new());
    let edge = edge_over(Arc::clone(&backing.store), &backing.clock, web.clone());
    let send = |fixture: &Fixture, body: &Value| {
        let mut body = body.clone();
        with_own_id(fixture, &mut body);
        let bytes = encode(fixture.encoding, &body);
        let (edge, clock, web, route) = (&edge, &backing.clock, &web, fixture.route.clone());
        async move {
            let before = web.calls().len();
            let answer = if route.starts_with("/discord") {
                requests::discord(edge, clock, &bytes).await
            } else {
                requests::slack(edge, clock, &route, &bytes).await
            };
            let calls = web.calls();
            (answer, calls[before.min(calls.len())..].to_vec())
        }
    };

    let fixtures = load_fixtures();
    assert!(fixtures.len() >= 17, "the corpus lost fixtures");
    let (mut ran, mut failures) = (0usize, Vec::new());
    for fixture in &fixtures {
        let discord = fixture.route.starts_with("/discord");
        let (answer, posted) = send(fixture, &fixture.body).await;
        let original = shape(&answer, &posted, discord);
        // The originals are the baseline: each must be a good answer in its own right.
        assert_eq!(original.status, 200, "{}: {answer:?}", fixture.name);
        assert!(
            original.is_helpful() || original.kind == "empty" || original.kind == "1",
            "{}: {original:?}",
            fixture.name
        );
        for variant in variants(fixture) {
            ran += 1;
            let (answer, posted) = send(fixture, &variant.body).await;
            let got = shape(&answer, &posted, discord);
            let ok = match variant.expect {
                Expect::Same => got == original,
                Expect::Helpful => got.is_helpful(),
            };
            if !ok {
                failures.push(format!(
                    "{} {} (expected {:?}):\n  original {original:?}\n  got      {got:?} {}",
                    fixture.name,
                    variant.label,
                    variant.expect,
                    if answer.status == 200 {
                        String::new()
                    } else {
                        answer.body.to_string()
                    }
                ));
            }
        }
    }
    println!(
        "payload corpus: {} fixtures, {ran} variants, {} answered differently",
        fixtures.len(),
        failures.len()
    );
    assert!(ran > 500, "only {ran} variants ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} variants were answered differently from their original:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The generator itself: essential paths are kept, needed ones expect a helpful answer, and a
/// listed unknown value that names nothing would be caught.
#[test]
fn the_variant_generator_honours_essential_and_needed_paths() {
    let fixture = Fixture {
        name: "t".into(),
        route: "/discord/interactions".into(),
        encoding: Encoding::Json,
        essential: vec![path_of("id"), path_of("data.name")],
        needed: vec![path_of("data.options.[].value")],
        unknown_values: vec![(path_of("data.options.[].type"), json!(99))],
        body: json!({ "id": "1", "x": 1, "data": { "name": "n", "options": [{ "type": 3, "value": "v" }] } }),
    };
    let variants = variants(&fixture);
    let labels: Vec<(&str, Expect)> = variants
        .iter()
        .map(|v| (v.label.as_str(), v.expect))
        .collect();
    assert!(labels.contains(&("without x", Expect::Same)));
    assert!(labels.contains(&("without data.options", Expect::Helpful)));
    assert!(labels.contains(&("without data.options.[0].value", Expect::Helpful)));
    assert!(labels.contains(&("without data.options.[0].type", Expect::Same)));
    assert!(
        !labels
            .iter()
            .any(|(l, _)| *l == "without id" || *l == "without data" || *l == "without data.name")
    );
    assert!(labels.contains(&("data.options.[].type = 99", Expect::Same)));
    // One unknown field per object: the top level, data, and the option.
    assert_eq!(
        labels
            .iter()
            .filter(|(l, _)| l.starts_with("an unknown field"))
            .count(),
        3
    );
    let map: Map<String, Value> = serde_json::from_value(variants[0].body.clone()).unwrap();
    assert!(map.contains_key("id"));
}

/// Interaction types the platforms add later: Discord's get a polite ephemeral message (its
/// users would otherwise see "This interaction failed"); Slack's are acknowledged, and told so
/// through the `response_url` where the payload has one and a message is what the user expects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interaction_types_gavel_does_not_know_get_a_polite_answer_not_a_400() {
    let backing = Backing::embedded();
    let web = Arc::new(RecordingSlackWeb::new());
    let edge = edge_over(Arc::clone(&backing.store), &backing.clock, web.clone());
    let fixtures = load_fixtures();
    let guild = fixtures
        .iter()
        .find(|f| f.name == "discord_slash_guild")
        .expect("the guild command fixture");
    let mut future = guild.body.clone();
    future["type"] = json!(6);
    future["data"] = json!({ "something": "Discord adds later" });
    let answer = requests::discord(&edge, &backing.clock, future.to_string().as_bytes()).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["type"], 4);
    assert_eq!(answer.body["data"]["flags"], 64);
    assert_eq!(
        requests::content(&answer.body),
        "Gavel can't handle this kind of interaction yet."
    );

    let url = "https://hooks.slack.com/app/T0GAVELTST/3000000000003/ZmFrZXNob3J0Y3V0";
    for (kind, told) in [
        ("message_action", true),
        ("an_interaction_slack_adds", true),
        ("block_suggestion", false),
        ("view_closed", false),
        ("shortcut", false),
    ] {
        let mut payload = json!({
            "type": kind, "team": { "id": "T0GAVELTST" },
            "user": { "id": "U0GAVELTST", "team_id": "T0GAVELTST" },
            "trigger_id": "1764000000.3000000000003.jkl", "callback_id": "gavel:corpus"
        });
        if kind != "shortcut" {
            payload["response_url"] = json!(url);
        }
        let before = web.calls().len();
        let answer = requests::slack(
            &edge,
            &backing.clock,
            "/slack/interactions",
            &encode(Encoding::Payload, &payload),
        )
        .await;
        assert_eq!(answer.status, 200, "{kind}: {:?}", answer.body);
        assert_eq!(answer.body, Value::Null, "{kind}");
        let posted: Vec<Value> = web.calls()[before..]
            .iter()
            .filter_map(|call| match call {
                SlackCall::Respond {
                    response_url,
                    message,
                } if response_url == url => Some(message.clone()),
                _ => None,
            })
            .collect();
        if told {
            assert_eq!(posted.len(), 1, "{kind}: {posted:?}");
            assert_eq!(posted[0]["response_type"], "ephemeral", "{kind}");
            assert_eq!(
                posted[0]["text"], "Gavel can't handle this kind of interaction yet.",
                "{kind}"
            );
        } else {
            assert!(posted.is_empty(), "{kind}: {posted:?}");
        }
    }
}
