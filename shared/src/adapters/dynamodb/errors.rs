//! DynamoDB's answers turned into the store's words: a write that went through or failed its
//! condition ([`Settled`]), and every other failure as [`StoreError::Unavailable`] (worth
//! retrying later) or [`StoreError::Backend`].

use std::collections::HashMap;
use std::fmt::Debug;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;

use crate::store::StoreError;

/// A call either went through or failed its condition (with the old item when DynamoDB sent
/// it); everything else is an error.
pub(super) enum Settled<T> {
    Done(T),
    ConditionFailed(Option<HashMap<String, AttributeValue>>),
}

/// The operation errors that can carry a failed condition.
pub(super) trait ConditionFailure {
    fn condition_failure(&self) -> Option<&ConditionalCheckFailedException>;
}

impl ConditionFailure for PutItemError {
    fn condition_failure(&self) -> Option<&ConditionalCheckFailedException> {
        match self {
            PutItemError::ConditionalCheckFailedException(e) => Some(e),
            _ => None,
        }
    }
}

impl ConditionFailure for UpdateItemError {
    fn condition_failure(&self) -> Option<&ConditionalCheckFailedException> {
        match self {
            UpdateItemError::ConditionalCheckFailedException(e) => Some(e),
            _ => None,
        }
    }
}

impl ConditionFailure for DeleteItemError {
    fn condition_failure(&self) -> Option<&ConditionalCheckFailedException> {
        match self {
            DeleteItemError::ConditionalCheckFailedException(e) => Some(e),
            _ => None,
        }
    }
}

pub(super) fn settle<T, E, R>(
    operation: &str,
    result: Result<T, SdkError<E, R>>,
) -> Result<Settled<T>, StoreError>
where
    E: ConditionFailure + ProvideErrorMetadata + std::error::Error + 'static,
    R: Debug,
{
    match result {
        Ok(output) => Ok(Settled::Done(output)),
        Err(error) => match error
            .as_service_error()
            .and_then(ConditionFailure::condition_failure)
        {
            Some(failed) => Ok(Settled::ConditionFailed(failed.item().cloned())),
            None => Err(service_failure(operation, &error)),
        },
    }
}

/// Error codes that mean "busy or briefly unreachable: try again later". The SDK has already
/// retried the throttling ones within the time budget when they reach us.
pub(super) const TRANSIENT_CODES: [&str; 6] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "InternalServerError",
    "ServiceUnavailable",
];

/// Maps a failed call to [`StoreError::Unavailable`] (throttled, timed out, unreachable) or
/// [`StoreError::Backend`]. Messages carry the operation, DynamoDB's error code and message,
/// never credentials or request contents.
pub(super) fn service_failure<E, R>(operation: &str, error: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: Debug,
{
    match error {
        SdkError::TimeoutError(_) => {
            StoreError::Unavailable(format!("{operation}: DynamoDB did not answer in time"))
        }
        SdkError::DispatchFailure(failure) => {
            let why = if failure.is_timeout() {
                "timed out"
            } else if failure.is_io() {
                "connection failed"
            } else {
                "request could not be sent"
            };
            StoreError::Unavailable(format!("{operation}: {why}"))
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("unknown error");
            let message = service.err().message().unwrap_or("");
            if TRANSIENT_CODES.contains(&code) {
                StoreError::Unavailable(format!("{operation}: {code}"))
            } else {
                StoreError::Backend(format!("{operation}: {code}: {message}"))
            }
        }
        SdkError::ResponseError(_) => {
            StoreError::Unavailable(format!("{operation}: unreadable response from DynamoDB"))
        }
        SdkError::ConstructionFailure(_) => {
            StoreError::Backend(format!("{operation}: the request could not be built"))
        }
        _ => StoreError::Backend(format!("{operation}: {}", error.code().unwrap_or("failed"))),
    }
}

/// A transaction cancelled for a reason other than a condition: a concurrent transaction or
/// throttling is transient; anything else (validation) is a bug on our side.
pub(super) fn cancelled_without_condition_failure(
    reasons: &[aws_sdk_dynamodb::types::CancellationReason],
) -> StoreError {
    let codes: Vec<&str> = reasons
        .iter()
        .filter_map(|r| r.code())
        .filter(|code| *code != "None")
        .collect();
    let transient = codes.iter().all(|code| {
        matches!(
            *code,
            "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
        )
    });
    let summary = format!("TransactWriteItems cancelled: {}", codes.join(", "));
    if transient && !codes.is_empty() {
        StoreError::Unavailable(summary)
    } else {
        StoreError::Backend(summary)
    }
}

pub(super) fn build_failure(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("a DynamoDB request could not be built: {error}"))
}
