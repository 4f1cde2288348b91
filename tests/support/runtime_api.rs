//! A Lambda Runtime API emulator, just enough for one function process at a time: `GET
//! /2018-06-01/runtime/invocation/next` hands out the event the driver gives it, `POST
//! .../invocation/{id}/response` (or `/error`, `/init/error`) hands the answer back.
//!
//! Loopback only (it binds 127.0.0.1 on a free port), bounded: request heads of at most
//! 16 KiB, bodies of at most 6 MiB (Lambda's own limit), a read timeout on every connection,
//! and every wait of the driver has a deadline, so a function that hangs fails the run instead
//! of stalling it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::Duration;

const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 6 * 1024 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// What the function asked of the Runtime API.
pub enum Incoming {
    /// It waits for an event: send one (request id, JSON) on the sender.
    Next(Sender<(String, String)>),
    /// The answer to request `id`.
    Response { id: String, body: String },
    /// An invocation or init error.
    Failed { path: String, body: String },
}

pub struct Emulator {
    pub address: String,
    incoming: Receiver<Incoming>,
    stop: Arc<AtomicBool>,
}

/// What every invocation is told of itself: the function's ARN and its timeout.
#[derive(Clone, Debug)]
pub struct FunctionInfo {
    pub arn: String,
    pub timeout: Duration,
}

impl Default for FunctionInfo {
    fn default() -> Self {
        Self {
            arn: "arn:aws:lambda:us-east-1:123456789012:function:coldstart".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

impl Emulator {
    pub fn start() -> std::io::Result<Self> {
        Self::start_for(FunctionInfo::default())
    }

    /// An emulator whose invocations carry `info`'s ARN and a deadline its timeout away.
    pub fn start_for(info: FunctionInfo) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        let (to_driver, incoming) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let to_driver = to_driver.clone();
                let info = info.clone();
                thread::spawn(move || {
                    let _ = serve(stream, to_driver, &info);
                });
            }
        });
        Ok(Self {
            address,
            incoming,
            stop,
        })
    }

    /// The function's next request to the API, waiting at most `limit`.
    pub fn recv(&self, limit: Duration) -> Result<Incoming, String> {
        self.incoming.recv_timeout(limit).map_err(|e| match e {
            RecvTimeoutError::Timeout => format!("the function made no call within {limit:?}"),
            RecvTimeoutError::Disconnected => "the emulator stopped".to_owned(),
        })
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // Wake the accept loop so it sees the flag and its thread ends.
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(&self.address);
    }
}

fn serve(
    stream: TcpStream,
    to_driver: Sender<Incoming>,
    info: &FunctionInfo,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let Some((method, path, body)) = read_request(&mut reader)? else {
            return Ok(());
        };
        let reply = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let (tx, rx) = mpsc::channel();
            if to_driver.send(Incoming::Next(tx)).is_err() {
                return Ok(());
            }
            // The driver answers when it has the next event; it drops the sender when the run
            // is over, which closes this connection.
            let Ok((id, event)) = rx.recv() else {
                return Ok(());
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() + info.timeout.as_millis())
                .unwrap_or_default();
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                 lambda-runtime-aws-request-id: {id}\r\nlambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: {}\r\n\
                 lambda-runtime-trace-id: Root=1-69248180-0123456789abcdef01234567;Sampled=0\r\n\
                 content-length: {}\r\n\r\n{event}",
                info.arn,
                event.len()
            )
        } else if method == "POST" && path.ends_with("/response") {
            let id = path
                .trim_end_matches("/response")
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_owned();
            let _ = to_driver.send(Incoming::Response {
                id,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            accepted()
        } else {
            let _ = to_driver.send(Incoming::Failed {
                path,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            accepted()
        };
        writer.write_all(reply.as_bytes())?;
    }
}

fn accepted() -> String {
    let body = r#"{"status":"OK"}"#;
    format!(
        "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// One HTTP/1.1 request: method, path, body. `None` when the client closed the connection.
fn read_request(
    reader: &mut BufReader<TcpStream>,
) -> std::io::Result<Option<(String, String, Vec<u8>)>> {
    let mut head = 0usize;
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    head += line.len();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let mut length = 0usize;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        head += line.len();
        if head > MAX_HEAD {
            return Err(std::io::Error::other("request head too large"));
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    if length > MAX_BODY {
        return Err(std::io::Error::other("request body too large"));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some((method, path, body)))
}
