//! `gavel table create` against moto, the way an operator runs it: in a separate process whose
//! environment holds only the standard AWS settings (endpoint, region, credentials) and
//! GAVEL_TABLE, so the test covers the environment chain and not just the library call.
//!
//! The child process is this test binary itself, running the ignored entry point
//! `child_runs_gavel_table_create` (the usual way to get a second process from a test binary
//! without building another one). Run alone, that entry point does nothing useful; it is
//! ignored so it never counts as a passing test.

use std::process::Output;

use clap::Parser;
use gavel_cli::table::{self, TableCommand};
use gavel_tests::child::{child_process, with_emulator_aws};
use gavel_tests::moto;

/// `gavel table ...` as main.rs parses it, so `--table` falls back to GAVEL_TABLE here too.
#[derive(Parser)]
struct TableCli {
    #[command(subcommand)]
    command: TableCommand,
}

#[tokio::test]
#[ignore = "entry point for the child process of gavel_table_create_reads_the_standard_aws_environment"]
async fn child_runs_gavel_table_create() {
    let cli = TableCli::parse_from(["gavel-table", "create"]);
    table::run(cli.command).await.expect("gavel table create");
}

fn run_child(endpoint: &str, table: &str) -> Output {
    let mut child = child_process("child_runs_gavel_table_create");
    // Only what an operator would set; nothing from this machine's AWS setup.
    with_emulator_aws(&mut child, endpoint).env("GAVEL_TABLE", table);
    let output = child.output().expect("run the child test process");
    assert!(
        output.status.success(),
        "gavel table create failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test]
async fn gavel_table_create_reads_the_standard_aws_environment() {
    let moto = moto::moto().await;
    let name = format!("gavel-cli-{}", std::process::id());

    let first = String::from_utf8_lossy(&run_child(&moto.endpoint, &name).stdout).into_owned();
    assert!(
        first.contains(&format!("created table {name}")),
        "first run creates: {first}"
    );
    let second = String::from_utf8_lossy(&run_child(&moto.endpoint, &name).stdout).into_owned();
    assert!(
        second.contains(&format!("table {name} already exists")),
        "second run reports the existing table: {second}"
    );

    // The table is there with the store's keys, due index and TTL.
    let client = moto.client();
    let described = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .expect("describe the new table");
    let table = described.table().expect("a table description");
    let keys: Vec<(&str, &str)> = table
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    assert_eq!(keys, [("pk", "HASH"), ("sk", "RANGE")]);
    let due = table
        .global_secondary_indexes()
        .iter()
        .find(|index| index.index_name() == Some("due"))
        .expect("the due GSI");
    let due_keys: Vec<(&str, &str)> = due
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    assert_eq!(due_keys, [("due_q", "HASH"), ("due_at", "RANGE")]);
    assert_eq!(
        due.projection()
            .and_then(|p| p.projection_type())
            .map(|t| t.as_str()),
        Some("ALL")
    );
    let ttl = client
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .expect("describe TTL");
    let ttl = ttl.time_to_live_description().expect("a TTL description");
    assert_eq!(ttl.attribute_name(), Some("ttl"));
    assert_eq!(
        ttl.time_to_live_status().map(|s| s.as_str()),
        Some("ENABLED")
    );
}
