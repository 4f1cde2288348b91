//! API Gateway HTTP API (payload 2.0) and Lambda Function URL events → [`Edge`].
//!
//! We take the raw event rather than `lambda_http::Request`: lambda_http decodes a base64 body
//! before our code runs and panics on invalid base64, and the rule is that nothing arriving
//! over HTTP may panic a function. Here an undecodable body is a plain 400.

use base64::Engine;
use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::aws_lambda_events::encodings::Body;
use lambda_http::http::{HeaderValue, StatusCode, header::CONTENT_TYPE};

use crate::edge::{Edge, EdgeResponse, MAX_BODY_BYTES};

/// Handles one HTTP event.
pub async fn handle_http_event(
    edge: &Edge,
    event: ApiGatewayV2httpRequest,
) -> ApiGatewayV2httpResponse {
    let method = event.request_context.http.method.clone();
    let path = route_path(
        event.raw_path.as_deref().unwrap_or("/"),
        event.request_context.stage.as_deref(),
    );
    let body = match decode_body(event.body.as_deref(), event.is_base64_encoded) {
        Ok(body) => body,
        Err(response) => return to_event_response(response),
    };
    to_event_response(edge.handle(&method, path, &event.headers, &body).await)
}

/// The path to route on. Function URLs and the `$default` stage deliver the request path as is;
/// an HTTP API on a named stage puts the stage in front (`/prod/discord/interactions`), which is
/// deployment detail, not part of the route.
fn route_path<'e>(raw_path: &'e str, stage: Option<&str>) -> &'e str {
    let Some(stage) = stage.filter(|s| !s.is_empty() && *s != "$default") else {
        return raw_path;
    };
    match raw_path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(stage))
    {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => raw_path,
    }
}

fn decode_body(body: Option<&str>, base64: bool) -> Result<Vec<u8>, EdgeResponse> {
    let Some(body) = body else {
        return Ok(Vec::new());
    };
    if !base64 {
        return Ok(body.as_bytes().to_vec());
    }
    // Check the size before decoding: base64 is 4 characters for 3 bytes.
    if body.len() / 4 * 3 > MAX_BODY_BYTES + 3 {
        return Err(EdgeResponse::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body is larger than 1 MiB",
        ));
    }
    base64::engine::general_purpose::STANDARD
        .decode(body.trim_end())
        .map_err(|_| {
            EdgeResponse::error(
                StatusCode::BAD_REQUEST,
                "body is marked base64 but is not valid base64",
            )
        })
}

fn to_event_response(response: EdgeResponse) -> ApiGatewayV2httpResponse {
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(response.status.as_u16());
    if let Some(content_type) = response.content_type {
        out.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    out.body = match String::from_utf8(response.body) {
        Ok(text) if text.is_empty() => None,
        Ok(text) => Some(Body::Text(text)),
        Err(bytes) => {
            out.is_base64_encoded = true;
            Some(Body::Text(
                base64::engine::general_purpose::STANDARD.encode(bytes.into_bytes()),
            ))
        }
    };
    out
}
