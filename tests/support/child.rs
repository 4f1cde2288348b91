//! A second process for the tests that run a command the way an operator does: this test
//! binary again, running only one ignored entry point (the usual way to get a second process
//! from a test binary without building another one), with an environment that holds nothing
//! but PATH and what the test adds.

use std::process::Command;

/// This binary, to run only the ignored test `entry_point`, with an empty environment but PATH.
pub fn child_process(entry_point: &str) -> Command {
    let mut child = Command::new(std::env::current_exe().expect("the test binary's path"));
    child
        .args([
            entry_point,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    child
}

/// The standard AWS settings an operator sets, pointing at the emulator at `endpoint`; nothing
/// from this machine's own AWS setup (config files, instance metadata) can leak in.
pub fn with_emulator_aws<'c>(child: &'c mut Command, endpoint: &str) -> &'c mut Command {
    child
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/nonexistent/gavel-test-aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/gavel-test-aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
}
