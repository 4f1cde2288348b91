//! Lambda entry point for the Slack endpoint(s). Everything is built once per cold start:
//! the verifier, the command registry and the DynamoDB client; warm invocations reuse them.

use std::sync::Arc;

use gavel_shared::adapters::dynamodb::DynamoStore;
use gavel_shared::adapters::eventbridge::EventBridgeBus;
use gavel_shared::adapters::lambda::handle_http_event;
use gavel_shared::adapters::secrets::SecretsManager;
use gavel_shared::adapters::slack_api::SlackApiClient;
use gavel_shared::clock::SystemClock;
use gavel_shared::config::{EdgeSettings, Serves};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gavel_shared::telemetry::init_json();
    // The signing secret, the component secret and the bot token come from Secrets Manager
    // (their _ID variables), read while the DynamoDB client is made.
    let secrets = SecretsManager::from_env().await;
    let (store, loaded) = tokio::join!(
        DynamoStore::from_env(Arc::new(SystemClock)),
        secrets.load_configured()
    );
    loaded?;
    let store = Arc::new(store?);
    // This function holds the bot token (if set) because a form must open within the trigger
    // id's 3 seconds; everything slower goes to the worker.
    let slack_web = Arc::new(SlackApiClient::from_env()?);
    let mut edge = EdgeSettings::from_env()?
        .build_standard_edge(Serves::Slack, store)?
        .with_slack_web(slack_web)
        .with_bus(Arc::new(EventBridgeBus::from_env().await?));
    // A rotated signing secret takes effect within a minute, without a deploy.
    if let Some(source) = secrets.slack_signing_secret() {
        edge = edge.with_slack_secret_source(Arc::new(source));
    }
    let edge = Arc::new(edge);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayV2httpRequest>| {
        let edge = Arc::clone(&edge);
        async move { Ok::<_, lambda_runtime::Error>(handle_http_event(&edge, event.payload).await) }
    }))
    .await
}
