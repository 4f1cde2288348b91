//! Forwarding a signed AWS call to moto unchanged, for the proxies that stand between the
//! functions and moto (the least-privilege suite's and the deploy rehearsal's): every header the
//! client sent goes on, the Host too (SigV4 signed it), and the answer comes back without the
//! hop-by-hop headers the proxy's own server sets again.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};

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
