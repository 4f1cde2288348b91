//! `gavel table`: operator commands for the DynamoDB table the store lives in.
//!
//! The client comes from the standard AWS environment (region, credentials, and
//! `AWS_ENDPOINT_URL` to point at an emulator such as moto), like the Lambda functions'.

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Subcommand;
use gavel_shared::adapters::dynamodb::{
    DynamoClient, StoreTuning, TTL_ATTRIBUTE, TableStatus, client_from_env, create_table,
};

#[derive(Subcommand)]
pub enum TableCommand {
    /// Create the store's table (keys pk/sk, GSI `due`, on-demand billing, TTL on `ttl`).
    ///
    /// Safe to run again: an existing table is reported, checked and left as it is.
    Create {
        /// The table's name.
        #[arg(long, env = "GAVEL_TABLE")]
        table: String,
    },
}

pub async fn run(command: TableCommand) -> Result<()> {
    match command {
        TableCommand::Create { table } => {
            // An operator command has no 3-second deadline: give each call at least 20 s.
            let mut tuning = StoreTuning::from_env()?;
            tuning.timeout = tuning.timeout.max(Duration::from_secs(20));
            let client = client_from_env(tuning).await;
            println!("{}", create(&client, &table).await?);
            Ok(())
        }
    }
}

/// Creates `table` (or finds it) and says which.
pub async fn create(client: &DynamoClient, table: &str) -> Result<String> {
    let status = create_table(client, table)
        .await
        .with_context(|| format!("creating DynamoDB table {table}"))?;
    Ok(match status {
        TableStatus::Created => format!(
            "created table {table}: keys pk/sk, GSI due (due_q, due_at), TTL on {TTL_ATTRIBUTE}"
        ),
        TableStatus::AlreadyExisted => format!(
            "table {table} already exists with the store's layout; TTL on {TTL_ATTRIBUTE} is enabled"
        ),
    })
}
