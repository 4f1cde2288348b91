//! A small HTTP proxy in front of moto that misbehaves as DynamoDB does under trouble: chosen
//! requests are answered with throttling (`400 ProvisionedThroughputExceededException` or
//! `ThrottlingException`, DynamoDB's JSON), with `500 InternalServerError`, after a delay, or
//! forwarded and then answered with a 500 (a write that happened, its answer lost). Everything
//! else is forwarded unchanged, so the adapter under test still meets moto's real semantics,
//! through the SDK's own retries and timeouts.
//!
//! One thing moto lacks is supplied here, because real DynamoDB has it and the adapter relies
//! on it: a `TransactWriteItems` carrying a `ClientRequestToken` it already applied is answered
//! with the first answer instead of being applied again (DynamoDB keeps tokens for 10 minutes).
//! The SDK sends one token per call, the same on every retry.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request, Response, StatusCode};
use tokio::time::Instant;

/// What a chosen request meets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyFault {
    /// `400 ProvisionedThroughputExceededException`; moto is not asked.
    ProvisionedThroughput,
    /// `400 ThrottlingException`; moto is not asked.
    Throttling,
    /// `500 InternalServerError`; moto is not asked.
    ServerError,
    /// Held this long, then forwarded.
    Delay(Duration),
    /// Forwarded (moto applies it), then answered with a 500.
    LoseAnswer,
}

/// The requests that change the table.
pub const WRITES: [&str; 4] = ["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"];

/// Which requests meet a fault: those for one of `operations` (`PutItem`,
/// `TransactWriteItems`...; empty: any), after the first `skip` of them, the next `times`.
struct Rule {
    operations: Vec<String>,
    skip: usize,
    times: usize,
    fault: ProxyFault,
}

impl Rule {
    fn matches(&self, operation: &str) -> bool {
        self.times > 0
            && (self.operations.is_empty() || self.operations.iter().any(|op| op == operation))
    }
}

/// One request the proxy saw: its operation and what it did with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub operation: String,
    /// `"forwarded"`, `"replayed"` (a known transaction token), or the fault's name.
    pub outcome: String,
}

#[derive(Default)]
struct Inner {
    rules: Vec<Rule>,
    seen: Vec<Seen>,
    /// Every request arriving before this is held until then, then forwarded.
    outage_until: Option<Instant>,
    /// Answers of applied transactions, by client request token.
    tokens: HashMap<String, (StatusCode, HeaderMap, Bytes)>,
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    inner: Mutex<Inner>,
}

/// A running proxy; it stops with the test's runtime.
pub struct FaultProxy {
    pub url: String,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// A proxy on a free loopback port forwarding to `upstream` (moto's endpoint).
    pub async fn start(upstream: &str) -> Self {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            inner: Mutex::default(),
        });
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("a free loopback port for the fault proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}"),
            shared,
        }
    }

    /// The next `times` requests for `operation` (any, if `None`) meet `fault`. Rules apply
    /// in the order they were added, each until used up.
    pub fn inject(&self, operation: Option<&str>, times: usize, fault: ProxyFault) {
        self.lock().rules.push(Rule {
            operations: operation.map(str::to_owned).into_iter().collect(),
            skip: 0,
            times,
            fault,
        });
    }

    /// The `n`-th request from now (1-based) for one of `operations` meets `fault`.
    pub fn inject_at(&self, operations: &[&str], n: usize, fault: ProxyFault) {
        self.lock().rules.push(Rule {
            operations: operations.iter().map(|op| (*op).to_owned()).collect(),
            skip: n.saturating_sub(1),
            times: 1,
            fault,
        });
    }

    /// Faults injected but not met yet (a scenario that ended before reaching them).
    pub fn pending(&self) -> usize {
        self.lock().rules.iter().map(|r| r.times).sum()
    }

    /// From now, for `duration`, every request is held until the end, then forwarded.
    pub fn outage(&self, duration: Duration) {
        self.lock().outage_until = Some(Instant::now() + duration);
    }

    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// The requests for `operation` so far, with what became of each.
    pub fn seen_for(&self, operation: &str) -> Vec<String> {
        self.seen()
            .into_iter()
            .filter(|s| s.operation == operation)
            .map(|s| s.outcome)
            .collect()
    }

    /// Forgets what was seen (the rules and tokens stay).
    pub fn clear_seen(&self) {
        self.lock().seen.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        lock(&self.shared.inner)
    }
}

fn lock(inner: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
        Ok(body) => body,
        Err(_) => return answer(StatusCode::BAD_REQUEST, HeaderMap::new(), Bytes::new()),
    };
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("-")
        .to_owned();
    let token = (operation == "TransactWriteItems")
        .then(|| serde_json::from_slice::<serde_json::Value>(&body).ok())
        .flatten()
        .and_then(|v| v["ClientRequestToken"].as_str().map(str::to_owned));
    let (fault, held_until, replay) = {
        let mut inner = lock(&shared.inner);
        let mut fault = None;
        for rule in inner.rules.iter_mut().filter(|r| r.matches(&operation)) {
            if rule.skip > 0 {
                rule.skip -= 1;
                continue;
            }
            rule.times -= 1;
            fault = Some(rule.fault);
            break;
        }
        let replay = token.as_ref().and_then(|t| inner.tokens.get(t).cloned());
        (fault, inner.outage_until, replay)
    };
    let see = |outcome: &str| {
        lock(&shared.inner).seen.push(Seen {
            operation: operation.clone(),
            outcome: outcome.to_owned(),
        })
    };
    if let Some(until) = held_until
        && Instant::now() < until
    {
        tokio::time::sleep_until(until).await;
    }
    match fault {
        Some(ProxyFault::ProvisionedThroughput) => {
            see("ProvisionedThroughputExceededException");
            return dynamodb_error(
                StatusCode::BAD_REQUEST,
                "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded.",
            );
        }
        Some(ProxyFault::Throttling) => {
            see("ThrottlingException");
            return dynamodb_error(
                StatusCode::BAD_REQUEST,
                "com.amazon.coral.availability#ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
            );
        }
        Some(ProxyFault::ServerError) => {
            see("InternalServerError");
            return server_error();
        }
        Some(ProxyFault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
        }
        Some(ProxyFault::LoseAnswer) | None => {}
    }
    if let Some((status, headers, body)) = replay {
        see("replayed");
        return answer(status, headers, body);
    }
    let forwarded = forward(&shared, &parts.method, &parts.uri, &parts.headers, body).await;
    let Some((status, headers, body)) = forwarded else {
        see("upstream failed");
        return server_error();
    };
    if let (Some(token), true) = (&token, status.is_success()) {
        lock(&shared.inner)
            .tokens
            .insert(token.clone(), (status, headers.clone(), body.clone()));
    }
    match fault {
        Some(ProxyFault::LoseAnswer) => {
            see("answer lost");
            server_error()
        }
        Some(ProxyFault::Delay(_)) => {
            see("delayed");
            answer(status, headers, body)
        }
        _ => {
            see("forwarded");
            answer(status, headers, body)
        }
    }
}

async fn forward(
    shared: &Shared,
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Option<(StatusCode, HeaderMap, Bytes)> {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).ok()?;
    let mut request = shared
        .client
        .request(method, format!("{}{path}", shared.upstream))
        .body(body);
    for (name, value) in headers {
        if !matches!(
            name.as_str(),
            "host" | "content-length" | "connection" | "transfer-encoding"
        ) {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    let response = request.send().await.ok()?;
    let status = StatusCode::from_u16(response.status().as_u16()).ok()?;
    let mut out = HeaderMap::new();
    for (name, value) in response.headers() {
        if matches!(
            name.as_str(),
            "content-length" | "connection" | "transfer-encoding"
        ) {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_str().as_bytes()),
            axum::http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.append(name, value);
        }
    }
    let body = response.bytes().await.ok()?;
    Some((status, out, body))
}

fn answer(status: StatusCode, headers: HeaderMap, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

fn dynamodb_error(status: StatusCode, kind: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "__type": kind, "message": message }).to_string();
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    answer(status, headers, Bytes::from(body))
}

fn server_error() -> Response<Body> {
    dynamodb_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "com.amazonaws.dynamodb.v20120810#InternalServerError",
        "Internal server error",
    )
}
