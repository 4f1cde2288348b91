//! Table administration: creating the table the store expects (keys, the due index, TTL) and
//! checking an existing one, for `gavel table` and the tests.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};

use super::errors::{build_failure, service_failure};
use super::{DUE_INDEX, TTL_ATTRIBUTE};
use crate::store::StoreError;

/// What [`create_table`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableStatus {
    Created,
    AlreadyExisted,
}

/// Creates the table the store expects (keys `pk`/`sk`, GSI `due`, on-demand billing), waits
/// until it is active, and turns TTL on for `ttl`. Idempotent: an existing table is reported
/// (and its TTL setting completed), after checking it has the store's keys and index.
pub async fn create_table(client: &Client, table: &str) -> Result<TableStatus, StoreError> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(build_failure)
    };
    let attribute = |name: &str, kind: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .map_err(build_failure)
    };
    let due_index = GlobalSecondaryIndex::builder()
        .index_name(DUE_INDEX)
        .key_schema(key("due_q", KeyType::Hash)?)
        .key_schema(key("due_at", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(build_failure)?;
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .attribute_definitions(attribute("pk", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("sk", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("due_q", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("due_at", ScalarAttributeType::N)?)
        .global_secondary_indexes(due_index)
        .send()
        .await;
    let status = match created {
        Ok(_) => TableStatus::Created,
        Err(error) if error.code() == Some("ResourceInUseException") => TableStatus::AlreadyExisted,
        Err(error) => return Err(service_failure("CreateTable", &error)),
    };
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(Duration::from_secs(300))
        .await
        .map_err(|e| {
            StoreError::Unavailable(format!("table {table} did not become active: {e}"))
        })?;
    if status == TableStatus::AlreadyExisted {
        check_layout(client, table).await?;
    }
    enable_ttl(client, table).await?;
    Ok(status)
}

/// An existing table must have the store's keys and due index, or every call would fail later
/// with a less helpful message.
pub(super) async fn check_layout(client: &Client, table: &str) -> Result<(), StoreError> {
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| service_failure("DescribeTable", &e))?;
    let Some(description) = described.table() else {
        return Err(StoreError::Backend(format!(
            "table {table} has no description"
        )));
    };
    let keys: Vec<(&str, &str)> = description
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    let has_due = description.global_secondary_indexes().iter().any(|index| {
        index.index_name() == Some(DUE_INDEX)
            && index
                .key_schema()
                .iter()
                .map(|k| (k.attribute_name(), k.key_type().as_str()))
                .eq([("due_q", "HASH"), ("due_at", "RANGE")])
    });
    if keys != [("pk", "HASH"), ("sk", "RANGE")] || !has_due {
        return Err(StoreError::Invalid(format!(
            "table {table} exists but is not laid out for Gavel (keys pk/sk and GSI {DUE_INDEX} on due_q/due_at)"
        )));
    }
    Ok(())
}

pub(super) async fn enable_ttl(client: &Client, table: &str) -> Result<(), StoreError> {
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| service_failure("DescribeTimeToLive", &e))?;
    if let Some(ttl) = current.time_to_live_description() {
        let on = matches!(
            ttl.time_to_live_status(),
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        );
        if on && ttl.attribute_name() == Some(TTL_ATTRIBUTE) {
            return Ok(());
        }
        if on {
            return Err(StoreError::Invalid(format!(
                "table {table} expires items by {:?}, not {TTL_ATTRIBUTE:?}",
                ttl.attribute_name().unwrap_or_default()
            )));
        }
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .map_err(build_failure)?,
        )
        .send()
        .await
        .map_err(|e| service_failure("UpdateTimeToLive", &e))?;
    Ok(())
}
