//! How Lambda hands jobs to the worker: a batch from the jobs queue (SQS, see `template.yaml`:
//! the rule queues every job, the worker polls), or a bare EventBridge event (a rule that
//! invokes the worker directly, as stacks deployed before the queue did, or `sam local
//! invoke` with `events/bus/`).
//!
//! From a batch, each job is answered on its own: a job to be tried again (a platform outage,
//! a rate limit beyond the budget, a job running elsewhere) is named in `batchItemFailures`,
//! so SQS hands it out again when its visibility timeout ends, up to the queue's receive limit,
//! and every other message of the batch is deleted. The template turns that reporting on
//! (`FunctionResponseTypes: [ReportBatchItemFailures]`); without it the whole batch would come
//! back. A bare event has no such channel: a retry fails the invocation.

use std::time::Instant;

use serde_json::{Value, json};

use crate::jobs::Job;
use crate::worker::{Outcome, Worker};

/// Runs every job of `payload` before `deadline`; the answer Lambda expects, or an error that
/// fails the invocation (a bare event to be retried, or one that is no job at all).
pub async fn handle_delivery(
    worker: &Worker,
    payload: &Value,
    deadline: Instant,
) -> Result<Value, String> {
    let Some(records) = payload.get("Records").and_then(Value::as_array) else {
        let job = Job::from_eventbridge(payload).map_err(|e| e.to_string())?;
        return match worker.handle(&job, deadline).await {
            Outcome::Done | Outcome::Duplicate => Ok(Value::Null),
            Outcome::RetryLater(why) => Err(format!("job {} will be retried: {why}", job.log_id())),
        };
    };
    let mut failures = Vec::new();
    for record in records {
        let id = record
            .get("messageId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !handled(worker, id, record, deadline).await {
            failures.push(json!({ "itemIdentifier": id }));
        }
    }
    Ok(json!({ "batchItemFailures": failures }))
}

/// Whether the record's job is done (or was done before); false sends it back to the queue.
async fn handled(worker: &Worker, id: &str, record: &Value, deadline: Instant) -> bool {
    let job = record
        .get("body")
        .and_then(Value::as_str)
        .ok_or_else(|| "the message has no body".to_owned())
        .and_then(|body| serde_json::from_str::<Value>(body).map_err(|e| e.to_string()))
        .and_then(|event| Job::from_eventbridge(&event).map_err(|e| e.to_string()));
    let job = match job {
        Ok(job) => job,
        Err(why) => {
            // Not something any retry can fix: it goes back until the queue dead-letters it,
            // where someone can read it.
            tracing::error!(message = id, "not a Gavel job: {why}");
            return false;
        }
    };
    // What is left when the time runs out goes back whole, rather than half done.
    if Instant::now() >= deadline {
        tracing::warn!(job = %job.log_id(), "no time left in this invocation: back to the queue");
        return false;
    }
    match worker.handle(&job, deadline).await {
        Outcome::Done | Outcome::Duplicate => true,
        Outcome::RetryLater(why) => {
            tracing::warn!(job = %job.log_id(), "will be retried: {why}");
            false
        }
    }
}
