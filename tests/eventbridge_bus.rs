//! The EventBridge bus adapter against moto's EventBridge: a job goes out as one event on
//! Gavel's bus, with the source and detail type the worker's rule matches.

use gavel_shared::adapters::eventbridge::EventBridgeBus;
use gavel_shared::invocation::Platform;
use gavel_shared::jobs::{Bus, BusError, Job, ReplyTarget, Task};
use gavel_tests::moto;

fn job() -> Job {
    Job {
        id: "discord:1442545299000000001".into(),
        platform: Platform::Discord,
        tenant: "1174109840998400001".into(),
        task: Task::SetReportChannel {
            channel: "1174109840998400555".into(),
        },
        reply_to: ReplyTarget::DiscordInteraction {
            token: "aW50ZXJhY3Rpb24".into(),
        },
        created_at: 1_800_000_000,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_published_on_the_bus() {
    let moto = moto::moto().await;
    let bus = EventBridgeBus::on_emulator(&moto.endpoint, "gavel-test-jobs")
        .await
        .expect("the emulator's bus");
    assert_eq!(bus.publish(&job()).await, Ok(()));
    // Creating the bus again is harmless (the adapter is idempotent about it).
    let again = EventBridgeBus::on_emulator(&moto.endpoint, "gavel-test-jobs")
        .await
        .expect("the same bus");
    assert_eq!(again.publish(&job()).await, Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_bus_is_a_clear_failure() {
    // Nothing listens on port 9: the publish fails with a message, it does not hang or panic.
    let bus = EventBridgeBus::new(
        aws_client_for("http://127.0.0.1:9").await,
        "gavel-test-jobs",
    );
    match bus.publish(&job()).await {
        Err(BusError::Failed(message)) => assert!(!message.is_empty()),
        other => panic!("expected a failure, got {other:?}"),
    }
}

async fn aws_client_for(endpoint: &str) -> aws_sdk_eventbridge::Client {
    let config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
        .region(aws_sdk_eventbridge::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_eventbridge::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_eventbridge::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_eventbridge::Client::from_conf(config)
}
