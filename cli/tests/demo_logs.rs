//! `gavel demo`'s whole script at `RUST_LOG=trace`, transcript and logs together, holds no
//! credential: no `response_url` (it lets anyone post into the channel for 30 minutes), no
//! Discord interaction token, no Slack trigger id, and no secret or signature (the demo's
//! signing secret, seed and component secret are runs of 40 or more hex digits, as are
//! signatures).

use std::process::Command;

/// The longest run of hex digits in `text`.
fn longest_hex_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

#[test]
fn the_demo_at_trace_level_logs_no_credential() {
    let output = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .arg("demo")
        .env("RUST_LOG", "trace")
        .output()
        .expect("gavel demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("steps answered as expected"),
        "the demo ran: {stdout}\n{stderr}"
    );
    assert!(
        stderr.lines().count() > 100,
        "trace-level logs were written: {} lines",
        stderr.lines().count()
    );
    for (stream, text) in [("transcript", &stdout), ("logs", &stderr)] {
        // The demo's response_url, and its trigger ids (`<snowflake>.local`).
        assert!(
            !text.contains("response-url-not-used-locally"),
            "a response_url in the {stream}"
        );
        let trigger = text
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .find(|word| word.len() > 10 && word.ends_with(".local"));
        assert!(
            trigger.is_none(),
            "a trigger id in the {stream}: {trigger:?}"
        );
        // Discord interaction tokens (`local-<snowflake>`).
        let token = text.match_indices("local-").find(|(at, _)| {
            text[at + 6..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        });
        assert!(token.is_none(), "an interaction token in the {stream}");
        let longest = longest_hex_run(text);
        assert!(
            longest < 40,
            "a run of {longest} hex digits (a secret or a signature) in the {stream}"
        );
    }
}
