//! Lambda entry point for the Slack endpoint(s). Everything is built once per cold start;
//! warm invocations reuse the verifier and the command registry.

use std::sync::Arc;

use gavel_shared::adapters::lambda::handle_http_event;
use gavel_shared::config::{EdgeSettings, Serves};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gavel_shared::telemetry::init_json();
    let edge = Arc::new(EdgeSettings::from_env()?.build_standard_edge(Serves::Slack)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayV2httpRequest>| {
        let edge = Arc::clone(&edge);
        async move { Ok::<_, lambda_runtime::Error>(handle_http_event(&edge, event.payload).await) }
    }))
    .await
}
