//! Nothing arriving over HTTP may panic a function: arbitrary methods, paths, header values and
//! bodies (including arbitrary bodies carrying a valid signature, which reach the parsers) always
//! get one of the statuses the edge documents.

use std::sync::LazyLock;

use gavel_shared::adapters::lambda::handle_http_event;
use gavel_shared::config::Serves;
use gavel_shared::edge::{Edge, Route};
use gavel_shared::verify::{discord_headers, slack_headers};
use gavel_tests::events::{catalogue, http_api_event};
use gavel_tests::{FIXTURE_TIMESTAMP, discord_signature, slack_signature, test_edge};
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue, Method};
use proptest::prelude::*;
use proptest::sample::select;

const DOCUMENTED: [u16; 6] = [200, 400, 401, 404, 405, 413];

static EDGE: LazyLock<Edge> = LazyLock::new(|| test_edge(Serves::Both));
// Timers on, as on every runtime Gavel runs on (Lambda's, `gavel serve`'s): the edge bounds
// its Slack moderator lookups with one.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime")
});

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn platform_routes() -> Vec<Route> {
    Route::ALL
        .into_iter()
        .filter(|r| *r != Route::Health)
        .collect()
}

fn methods() -> impl Strategy<Value = Method> {
    select(vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
    ])
}

fn paths() -> impl Strategy<Value = String> {
    let known: Vec<String> = Route::ALL.iter().map(|r| r.path().to_owned()).collect();
    prop_oneof![
        3 => select(known.clone()),
        1 => select(known).prop_map(|p| format!("{p}/")),
        1 => "/[a-z/]{0,24}",
        1 => ".{0,32}",
    ]
}

/// Bodies near what the parsers expect: fixture bodies with bytes replaced, cut short or
/// extended, plus small JSON and form documents with arbitrary values.
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    let fixture_bodies: Vec<Vec<u8>> = catalogue().into_iter().map(|f| f.body).collect();
    let mutated = (
        select(fixture_bodies),
        any::<prop::sample::Index>(),
        any::<u8>(),
        0usize..3,
    )
        .prop_map(|(mut body, index, byte, how)| {
            let at = index.index(body.len().max(1)).min(body.len());
            match how {
                0 if at < body.len() => body[at] = byte,
                1 => body.truncate(at),
                _ => body.insert(at, byte),
            }
            body
        });
    let json_docs = (
        select(vec!["type", "payload", "event", "data", "challenge", "id"]),
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            "[ -~]{0,16}".prop_map(|s| serde_json::Value::String(s).to_string()),
            Just("null".to_owned()),
            Just("{}".to_owned()),
            Just("[]".to_owned()),
        ],
        0u8..8,
    )
        .prop_map(|(key, value, kind)| {
            format!("{{\"type\":{kind},\"{key}\":{value}}}").into_bytes()
        });
    let slack_types = select(vec![
        "url_verification",
        "event_callback",
        "app_rate_limited",
        "block_actions",
        "view_submission",
        "view_closed",
        "shortcut",
    ]);
    // The same document as an Events API body (JSON) or as an interactivity form.
    let slack_docs = (slack_types, "[ -~]{0,24}", any::<bool>()).prop_map(|(kind, extra, form)| {
        let doc = format!("{{\"type\":\"{kind}\",\"x\":{}}}", serde_json::json!(extra));
        if form {
            serde_urlencoded::to_string([("payload", doc)])
                .unwrap()
                .into_bytes()
        } else {
            doc.into_bytes()
        }
    });
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..512),
        3 => mutated,
        2 => json_docs,
        2 => slack_docs,
        1 => "[a-z_]{1,8}=[ -~]{0,24}(&[a-z_]{1,8}=[ -~]{0,24}){0,4}".prop_map(String::into_bytes),
    ]
}

/// A header value: left out, arbitrary bytes (where `http` accepts them), or text.
fn header_values() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        1 => Just(None),
        2 => prop::collection::vec(any::<u8>(), 0..140).prop_map(Some),
        2 => "(v0=)?[0-9a-f]{0,130}".prop_map(|s| Some(s.into_bytes())),
        1 => "[0-9]{0,14}".prop_map(|s| Some(s.into_bytes())),
    ]
}

fn header_map(values: &[(&'static str, Option<Vec<u8>>)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in values {
        if let Some(Ok(value)) = value.as_deref().map(HeaderValue::from_bytes) {
            map.insert(HeaderName::from_static(name), value);
        }
    }
    map
}

/// Headers that sign `body` correctly for the route's platform at the edge's time.
fn signed_headers(route: Route, body: &[u8]) -> HeaderMap {
    if route == Route::TelegramWebhook {
        // Telegram signs nothing: its webhook's secret is the whole check.
        let mut map = HeaderMap::new();
        map.insert(
            "x-telegram-bot-api-secret-token",
            HeaderValue::from_static(gavel_tests::TELEGRAM_TEST_SECRET),
        );
        return map;
    }
    let ts = FIXTURE_TIMESTAMP.to_string();
    let (sig_name, sig, ts_name) = match route {
        Route::DiscordInteractions => (
            discord_headers::SIGNATURE,
            discord_signature(&ts, body),
            discord_headers::TIMESTAMP,
        ),
        _ => (
            slack_headers::SIGNATURE,
            slack_signature(&ts, body),
            slack_headers::TIMESTAMP,
        ),
    };
    let mut map = HeaderMap::new();
    map.insert(sig_name, HeaderValue::from_str(&sig).unwrap());
    map.insert(ts_name, HeaderValue::from_str(&ts).unwrap());
    map
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_requests_get_a_documented_status(
        method in methods(),
        path in paths(),
        discord_sig in header_values(),
        discord_ts in header_values(),
        slack_sig in header_values(),
        slack_ts in header_values(),
        body in bodies(),
    ) {
        let headers = header_map(&[
            (discord_headers::SIGNATURE, discord_sig),
            (discord_headers::TIMESTAMP, discord_ts),
            (slack_headers::SIGNATURE, slack_sig),
            (slack_headers::TIMESTAMP, slack_ts),
        ]);
        let response = RUNTIME.block_on(EDGE.handle(&method, &path, &headers, &body));
        prop_assert!(
            DOCUMENTED.contains(&response.status.as_u16()),
            "{} {path:?} answered {}", method, response.status
        );
    }

    #[test]
    fn signed_arbitrary_bodies_are_answered_or_refused_as_bad_requests(
        route in select(platform_routes()),
        body in bodies(),
    ) {
        let headers = signed_headers(route, &body);
        let response = RUNTIME.block_on(EDGE.handle(&Method::POST, route.path(), &headers, &body));
        let status = response.status.as_u16();
        // Signed, on a served route, with the right method and a small body: verification
        // passes, so only the parser's verdict is left.
        prop_assert!(status == 200 || status == 400, "{route:?} answered {status}");
        if status == 200 && !response.body.is_empty() {
            prop_assert!(
                serde_json::from_slice::<serde_json::Value>(&response.body).is_ok(),
                "a 200 body is JSON"
            );
        }
    }

    #[test]
    fn arbitrary_lambda_events_get_a_documented_status(
        route in select(Route::ALL.to_vec()),
        body in prop_oneof![
            "[A-Za-z0-9+/=]{0,64}",
            ".{0,64}",
        ],
        base64 in any::<bool>(),
        signed in any::<bool>(),
    ) {
        let ts = FIXTURE_TIMESTAMP.to_string();
        let headers = match (signed, route) {
            (false, _) => Vec::new(),
            (true, Route::DiscordInteractions) => vec![
                (discord_headers::SIGNATURE, discord_signature(&ts, body.as_bytes())),
                (discord_headers::TIMESTAMP, ts.clone()),
            ],
            (true, _) => vec![
                (slack_headers::SIGNATURE, slack_signature(&ts, body.as_bytes())),
                (slack_headers::TIMESTAMP, ts.clone()),
            ],
        };
        let method = if route == Route::Health { "GET" } else { "POST" };
        let mut event = http_api_event(method, route.path(), &headers, body.as_bytes(), false);
        // Mark the text as base64 whether or not it is: the adapter must cope either way.
        event["isBase64Encoded"] = serde_json::json!(base64);
        let event = serde_json::from_value(event).expect("an HTTP API event");
        let response = RUNTIME.block_on(handle_http_event(&EDGE, event));
        prop_assert!(
            DOCUMENTED.contains(&u16::try_from(response.status_code).unwrap()),
            "{route:?} answered {}", response.status_code
        );
    }
}
