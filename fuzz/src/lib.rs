//! Fuzz targets for everything that reads bytes a request brought: the two signature verifiers,
//! the Discord and Slack inbound parsers, a Slack command's text read against its options,
//! durations, and signed component ids.
//!
//! Each target takes arbitrary bytes and panics only when a property fails: nothing here may
//! panic on any input, and where a property is cheap to state it is checked too (a signed
//! request verifies and any change to it does not; a parsed duration reads back the same). The
//! fuzzer (`scripts/fuzz.sh`) treats a panic as a crash; `cargo test` replays every file of
//! `fuzz/corpus/<target>/` through the same functions, so a crash once found and committed
//! there stays fixed without the fuzzer.

mod component_id;
mod duration;
mod parsers;
mod text_options;
mod verify;

/// A fuzz target: panics only when a property fails.
pub type Target = fn(&[u8]);

/// Every target, by the name its corpus folder and `scripts/fuzz.sh` use.
pub const TARGETS: &[(&str, Target)] = &[
    ("verify_discord", verify::discord),
    ("verify_slack", verify::slack),
    ("discord_interaction", parsers::discord_interaction),
    ("slack_command", parsers::slack_command),
    ("slack_interaction", parsers::slack_interaction),
    ("slack_event", parsers::slack_event),
    ("text_options", text_options::options),
    ("duration", duration::duration),
    ("component_id", component_id::component_id),
];

/// The target named `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Splits `data` into a few leading control bytes (which choose what the target does with the
/// rest) and the rest; short inputs get zeros, so every input is usable.
fn control<const N: usize>(data: &[u8]) -> ([u8; N], &[u8]) {
    let mut ctl = [0u8; N];
    let n = data.len().min(N);
    ctl[..n].copy_from_slice(&data[..n]);
    (ctl, &data[n..])
}
