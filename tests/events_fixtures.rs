//! The signed sample events in `events/`.
//!
//! `GAVEL_REGENERATE_EVENTS=1 cargo test -p gavel-tests --test events_fixtures` rewrites them from
//! the catalogue in `support/events.rs`. Without the variable this only checks them: every file
//! is a payload-format-2.0 event whose signature verifies under the test credentials (checked
//! with ed25519-compact and hmac-sha256, not with Gavel's verifiers), and every catalogued file
//! exists with the catalogued route and body, so the fixtures cannot rot silently.

use gavel_shared::edge::Route;
use gavel_shared::verify::{discord_headers, slack_headers, telegram_headers};
use gavel_tests::events::catalogue;
use gavel_tests::{
    FIXTURE_TIMESTAMP, discord_signature_verifies, event_body, event_header, events_dir,
    load_event, slack_signature_verifies,
};

fn regenerate_requested() -> bool {
    std::env::var("GAVEL_REGENERATE_EVENTS").is_ok_and(|v| v == "1")
}

#[test]
fn event_files_match_the_catalogue_and_verify_under_the_test_credentials() {
    let dir = events_dir();
    if regenerate_requested() {
        std::fs::create_dir_all(&dir).expect("create events/");
        for fixture in catalogue() {
            let text = serde_json::to_string_pretty(&fixture.event()).expect("serialise event");
            std::fs::write(dir.join(fixture.file), text + "\n").expect("write fixture");
        }
    }

    for fixture in catalogue() {
        let event = load_event(fixture.file);
        assert_eq!(
            event.raw_path.as_deref(),
            Some(fixture.route.path()),
            "{}: rawPath",
            fixture.file
        );
        assert_eq!(event.version.as_deref(), Some("2.0"), "{}", fixture.file);
        assert_eq!(
            event.is_base64_encoded, fixture.base64,
            "{}: isBase64Encoded",
            fixture.file
        );
        // Compare bodies as JSON values: key order may differ between serde_json builds.
        let on_disk = event_body(&event);
        let expected: serde_json::Value = body_as_json(&fixture.body);
        assert_eq!(
            body_as_json(&on_disk),
            expected,
            "{} is out of date; rerun with GAVEL_REGENERATE_EVENTS=1",
            fixture.file
        );
    }

    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("events/ exists") {
        let path = entry.expect("readable entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let event = load_event(&name);
        let body = event_body(&event);
        let path_str = event.raw_path.as_deref().unwrap_or_default();
        let route = Route::from_path(path_str)
            .unwrap_or_else(|| panic!("{name}: rawPath {path_str:?} is no Gavel route"));
        let verified = match route {
            Route::DiscordInteractions => {
                let timestamp = event_header(&event, discord_headers::TIMESTAMP);
                assert_eq!(timestamp, Some(&*FIXTURE_TIMESTAMP.to_string()), "{name}");
                discord_signature_verifies(
                    event_header(&event, discord_headers::SIGNATURE).unwrap_or_default(),
                    timestamp.unwrap_or_default(),
                    &body,
                )
            }
            Route::SlackCommands | Route::SlackInteractions | Route::SlackEvents => {
                let timestamp = event_header(&event, slack_headers::TIMESTAMP);
                assert_eq!(timestamp, Some(&*FIXTURE_TIMESTAMP.to_string()), "{name}");
                slack_signature_verifies(
                    event_header(&event, slack_headers::SIGNATURE).unwrap_or_default(),
                    timestamp.unwrap_or_default(),
                    &body,
                )
            }
            Route::TelegramWebhook => {
                event_header(&event, telegram_headers::SECRET)
                    == Some(gavel_tests::TELEGRAM_TEST_SECRET)
            }
            Route::Health => panic!("{name}: health checks are not signed events"),
        };
        assert!(
            verified,
            "{name}: signature does not verify under the test credentials; rerun with GAVEL_REGENERATE_EVENTS=1"
        );
        checked += 1;
    }
    assert!(
        checked >= catalogue().len(),
        "checked {checked} files, expected at least {}",
        catalogue().len()
    );
}

#[test]
fn readme_describes_every_event_file() {
    let readme = std::fs::read_to_string(events_dir().join("README.md")).expect("events/README.md");
    for fixture in catalogue() {
        assert!(
            readme.contains(fixture.file),
            "events/README.md does not mention {}",
            fixture.file
        );
    }
    assert!(readme.contains(gavel_tests::SLACK_TEST_SIGNING_SECRET));
    assert!(readme.contains(&gavel_tests::discord_test_public_key_hex()));
}

/// Form bodies compare as their sorted pairs, JSON bodies as values.
fn body_as_json(body: &[u8]) -> serde_json::Value {
    if let Ok(value) = serde_json::from_slice(body) {
        return value;
    }
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).expect("a fixture body is JSON or a form");
    for (_, value) in &mut pairs {
        // The interactivity form holds JSON in `payload`; normalise it too.
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(value) {
            *value = json.to_string();
        }
    }
    pairs.sort();
    serde_json::to_value(pairs).expect("pairs serialise")
}
