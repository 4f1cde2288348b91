//! Lambda entry point for the Discord endpoint(s). Everything is built once per cold start:
//! the verifier, the command registry and the DynamoDB client; warm invocations reuse them.

use std::sync::Arc;

use gavel_shared::adapters::dynamodb::DynamoStore;
use gavel_shared::adapters::eventbridge::EventBridgeBus;
use gavel_shared::adapters::lambda::handle_http_event;
use gavel_shared::adapters::secrets::SecretsManager;
use gavel_shared::clock::SystemClock;
use gavel_shared::config::{EdgeSettings, Serves};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gavel_shared::telemetry::init_json();
    // The component secret comes from Secrets Manager (GAVEL_COMPONENT_SECRET_ID), read while
    // the DynamoDB client is made, so the cold start waits for the slower of the two only.
    let secrets = SecretsManager::from_env().await;
    let (store, loaded) = tokio::join!(
        DynamoStore::from_env(Arc::new(SystemClock)),
        secrets.load_configured()
    );
    loaded?;
    let store = Arc::new(store?);
    // Slow work (platform API calls) is published on the job bus for the worker, which
    // alone holds the bot token.
    let bus = Arc::new(EventBridgeBus::from_env().await?);
    let edge = Arc::new(
        EdgeSettings::from_env()?
            .build_standard_edge(Serves::Discord, store)?
            .with_bus(bus),
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayV2httpRequest>| {
        let edge = Arc::clone(&edge);
        async move { Ok::<_, lambda_runtime::Error>(handle_http_event(&edge, event.payload).await) }
    }))
    .await
}
