//! Forwarding a signed AWS call to moto unchanged, for the proxies that stand between the
//! functions and moto (the least-privilege suite's and the deploy rehearsal's): every header the
//! client sent goes on, the Host too (SigV4 signed it), and the answer comes back without the
//! hop-by-hop headers the proxy's own server sets again.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// `Credential=AKID/date/region/service/aws4_request` → (access key, service).
pub fn credential(headers: &HeaderMap) -> Option<(String, String)> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?.split(',').next()?;
    let mut parts = scope.split('/');
    let key = parts.next()?.to_owned();
    let service = parts.nth(2)?.to_owned();
    Some((key, service))
}

/// A refusal as AWS's JSON protocols answer one, which the SDKs read as AccessDenied.
pub fn denied(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [("content-type", "application/x-amz-json-1.0")],
        serde_json::json!({
            "__type": "com.amazon.coral.service#AccessDeniedException",
            "message": message,
        })
        .to_string(),
    )
        .into_response()
}

/// Sends `method url` with `headers` and `body` (none when empty); the answer's status,
/// headers and body, or why it could not be sent.
pub async fn forward(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(StatusCode, HeaderMap, Bytes), String> {
    let mut request = http.request(method, url);
    if !body.is_empty() {
        request = request.body(body.to_vec());
    }
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let answer = request.send().await.map_err(|e| e.to_string())?;
    let status = answer.status();
    let mut out = HeaderMap::new();
    for (name, value) in answer.headers() {
        if !matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            out.insert(name.clone(), value.clone());
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    Ok((status, out, bytes))
}
