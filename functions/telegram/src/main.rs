//! Lambda entry point for Telegram's webhook. Its own function, like each platform's: its role
//! reads only the Telegram secrets and the component secret, and the Discord and Slack
//! functions never hold the Telegram bot token. Everything is built once per cold start.

use std::sync::Arc;

use gavel_shared::adapters::dynamodb::DynamoStore;
use gavel_shared::adapters::eventbridge::EventBridgeBus;
use gavel_shared::adapters::lambda::handle_http_event;
use gavel_shared::adapters::secrets::SecretsManager;
use gavel_shared::adapters::telegram_api::TelegramBotApi;
use gavel_shared::clock::SystemClock;
use gavel_shared::config::{EdgeSettings, Serves};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gavel_shared::telemetry::init_json();
    // The webhook secret, the component secret and the bot token come from Secrets Manager
    // (their _ID variables), read while the DynamoDB client is made.
    let secrets = SecretsManager::from_env().await;
    let (store, loaded) = tokio::join!(
        DynamoStore::from_env(Arc::new(SystemClock)),
        secrets.load_configured()
    );
    loaded?;
    let store = Arc::new(store?);
    // This function holds the bot token because two calls belong inside the webhook answer:
    // `getChatMember` (may this member moderate?) and the edit of a clicked message.
    // Everything else goes to the worker.
    let telegram = Arc::new(TelegramBotApi::from_env()?);
    let edge = EdgeSettings::from_env()?
        .build_standard_edge(Serves::Telegram, store)?
        .with_telegram_api(telegram)
        .with_bus(Arc::new(EventBridgeBus::from_env().await?));
    let edge = Arc::new(edge);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayV2httpRequest>| {
        let edge = Arc::clone(&edge);
        async move { Ok::<_, lambda_runtime::Error>(handle_http_event(&edge, event.payload).await) }
    }))
    .await
}
