//! `gavel serve` against clients that misbehave on purpose: half the headers sent and then
//! silence (slowloris), a `Content-Length` and then nothing, a declared length over the cap, a
//! chunked body that does not parse, more connections than the cap. Each is cut off or refused
//! in bounded time, and the server keeps answering everyone else. Raw TCP, so nothing in a
//! client library tidies the requests up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gavel_cli::serve::{ConnectionLimits, RunningServer, ServeParts, start_with_parts};
use gavel_shared::adapters::embedded::EmbeddedStore;
use gavel_shared::clock::SystemClock;
use gavel_shared::slack::web::RecordingSlackWeb;
use gavel_tests::test_settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMITS: ConnectionLimits = ConnectionLimits {
    header_timeout: Duration::from_millis(800),
    body_timeout: Duration::from_millis(800),
    max_connections: 3,
};
/// How long any one check may take: the limits plus a generous margin for a loaded machine.
const BOUND: Duration = Duration::from_secs(10);

async fn start() -> RunningServer {
    let store = EmbeddedStore::in_memory(Arc::new(SystemClock)).expect("an in-memory store");
    let parts = ServeParts {
        slack_web: Arc::new(RecordingSlackWeb::new()),
        discord_api: None,
        slack_api: None,
        telegram_api: None,
        deliveries: 1,
        limits: LIMITS,
        max_queued_jobs: gavel_shared::worker::local_bus::MAX_PENDING,
    };
    start_with_parts(
        "127.0.0.1:0".parse().unwrap(),
        &test_settings(),
        None,
        Arc::new(store),
        parts,
    )
    .await
    .expect("the local server starts")
}

async fn connect(server: &RunningServer) -> TcpStream {
    TcpStream::connect(server.addr).await.expect("a connection")
}

/// Everything the server sends until it closes the connection (bounded by [`BOUND`]).
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(BOUND, stream.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the server closed the connection in time");
    String::from_utf8_lossy(&out).into_owned()
}

/// The status line's code of a response read from `stream`, within [`BOUND`].
async fn status_of(stream: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
        .await
        .expect("an answer in time")
        .expect("a readable answer");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn half_sent_headers_are_cut_off() {
    let server = start().await;
    let mut slow = connect(&server).await;
    slow.write_all(b"POST /discord/interactions HTTP/1.1\r\nHost: gavel\r\nX-Signature")
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_to_close(&mut slow).await;
    assert!(
        started.elapsed() >= LIMITS.header_timeout / 2,
        "not cut before the timeout: {answer:?}"
    );
    assert!(!answer.contains("200 OK"), "{answer}");
}

/// A connection that sends nothing at all is cut off too, so idle sockets cannot hold every
/// slot (or descriptor) for ever.
#[tokio::test]
async fn a_silent_connection_is_cut_off() {
    let server = start().await;
    let mut silent = connect(&server).await;
    let started = Instant::now();
    let answer = read_to_close(&mut silent).await;
    assert!(started.elapsed() >= LIMITS.header_timeout / 2, "{answer:?}");
}

#[tokio::test]
async fn a_body_that_never_comes_is_answered_408() {
    let server = start().await;
    let mut stream = connect(&server).await;
    stream
        .write_all(b"POST /discord/interactions HTTP/1.1\r\nHost: gavel\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"type\":")
        .await
        .unwrap();
    let answer = status_of(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn a_declared_length_over_the_cap_is_refused_before_the_body() {
    let server = start().await;
    let mut stream = connect(&server).await;
    let started = Instant::now();
    stream
        .write_all(b"POST /discord/interactions HTTP/1.1\r\nHost: gavel\r\nContent-Length: 10485760\r\n\r\n")
        .await
        .unwrap();
    let answer = status_of(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        started.elapsed() < LIMITS.body_timeout,
        "refused at once, not after waiting for the body"
    );
    // The unread body is still on the wire: the client must not send another request on
    // this connection (a pooling client did, and lost it).
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_malformed_chunked_body_is_answered_400() {
    let server = start().await;
    let mut stream = connect(&server).await;
    stream
        .write_all(b"POST /discord/interactions HTTP/1.1\r\nHost: gavel\r\nTransfer-Encoding: chunked\r\n\r\nZZ-not-a-size\r\nhello\r\n0\r\n\r\n")
        .await
        .unwrap();
    let answer = status_of(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(!answer.contains("larger than"), "{answer}");
}

#[tokio::test]
async fn past_the_connection_cap_a_client_waits_for_a_free_slot() {
    let server = start().await;
    // Three idle connections take every slot.
    let mut idle = Vec::new();
    for _ in 0..LIMITS.max_connections {
        idle.push(connect(&server).await);
    }
    let mut waiting = connect(&server).await;
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gavel\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(300), waiting.read(&mut buf)).await;
    assert!(early.is_err(), "no slot, no answer yet");
    // The idle ones are cut off by the header timeout (or a client leaving): the waiting one is
    // then served.
    drop(idle.pop());
    let answer = read_to_close(&mut waiting).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""status":"ok""#), "{answer}");
}

/// A local worker behind by its whole queue takes no more work: requests get 503 with
/// `Retry-After` at once, rather than piling jobs up in memory.
#[tokio::test]
async fn a_full_local_queue_answers_503() {
    use gavel_tests::faulty::{FailOn, Fault, Faulty, Op};
    use gavel_tests::payloads::{self, DiscordInvoker};
    // The worker stalls on every job's claim, so the deliveries stay pending.
    let inner = Arc::new(EmbeddedStore::in_memory(Arc::new(SystemClock)).unwrap());
    let store = Faulty::new(
        inner,
        FailOn::ops([Op::Create]).sk_prefix("job"),
        Fault::Stall(Duration::from_secs(30)),
    );
    let parts = ServeParts {
        slack_web: Arc::new(RecordingSlackWeb::new()),
        discord_api: None,
        slack_api: None,
        telegram_api: None,
        deliveries: 1,
        limits: LIMITS,
        max_queued_jobs: 2,
    };
    let server = start_with_parts(
        "127.0.0.1:0".parse().unwrap(),
        &test_settings(),
        None,
        Arc::new(store),
        parts,
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let send = |n: u64| {
        let body = payloads::discord_command(
            &format!("15425452969987{n:05}"),
            "reportchannel",
            serde_json::json!([{ "name": "channel", "type": 7, "value": "1174109840998400002" }]),
            DiscordInvoker::Moderator,
        );
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .to_string();
        let mut request = client
            .post(format!("http://{}/discord/interactions", server.addr))
            .body(body.clone());
        for (name, value) in gavel_tests::discord_signed_headers(&ts, &body) {
            request = request.header(name, value);
        }
        request.send()
    };
    for n in 0..2 {
        let answer = send(n).await.unwrap();
        assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
    }
    let refused = send(2).await.unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert!(refused.text().await.unwrap().contains("worker is behind"));
    // Reading is not work: the health check still answers.
    let health = client
        .get(format!("http://{}/healthz", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
