//! `gavel serve`: the same edge the Lambda functions run, mounted on one local HTTP server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use gavel_shared::adapters::discord_rest::DiscordRest;
use gavel_shared::adapters::dynamodb::DynamoStore;
use gavel_shared::adapters::embedded::EmbeddedStore;
use gavel_shared::adapters::slack_api::SlackApiClient;
use gavel_shared::adapters::telegram_api::TelegramBotApi;
use gavel_shared::clock::Clock;
use gavel_shared::clock::SystemClock;
use gavel_shared::config::{EdgeSettings, Serves};
use gavel_shared::edge::{Edge, MAX_BODY_BYTES, Route};
use gavel_shared::jobs::InProcessScheduler;
use gavel_shared::maintenance::{Budget, Maintenance, Sweep};
use gavel_shared::platform::recording::RecordingPlatform;
use gavel_shared::platform::{DiscordApi, SlackApi, TelegramApi};
use gavel_shared::slack::web::{RecordingSlackWeb, SlackWeb};
use gavel_shared::store::Store;
use gavel_shared::worker::{InProcessBus, Worker};
use tokio::net::TcpListener;

use crate::credentials::DevCredentials;

/// A running local server.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// Set where the server signs with development credentials (secrets unset in the environment).
    pub dev_credentials: Option<DevCredentials>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    /// The in-process job bus; `jobs.drained()` waits for the worker to finish.
    pub jobs: Arc<InProcessBus>,
    /// The one-time schedules the worker made (temporary bans' ends, reminders).
    pub schedules: Arc<InProcessScheduler>,
    /// Runs the schedules: what EventBridge Scheduler does on AWS.
    ticker: tokio::task::JoinHandle<()>,
    stop_ticker: tokio::sync::watch::Sender<bool>,
}

impl RunningServer {
    /// Stops accepting, lets open connections finish, and waits until everything the server
    /// held (the store among it) is dropped. Aborting `task` alone would leave keep-alive
    /// connections holding the store open.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.shutdown.send(());
        self.task.await??;
        // The ticker holds the store too: let it finish the run under way (aborting it could
        // leave a store call running on a blocking thread, holding the file) and stop.
        let _ = self.stop_ticker.send(true);
        let _ = self.ticker.await;
        self.jobs.stop().await;
        Ok(())
    }
}

/// What `serve` will verify with, and where each piece came from.
pub struct ResolvedSettings {
    pub settings: EdgeSettings,
    pub dev_credentials: Option<DevCredentials>,
    pub created: bool,
}

/// Environment first; where a verification secret is unset, the data folder's development
/// credentials (made on first use).
pub fn resolve_settings(data_dir: &Path) -> Result<ResolvedSettings> {
    let mut settings = EdgeSettings::from_env()?;
    if settings.discord_public_key.is_some()
        && settings.slack_signing_secret.is_some()
        && settings.component_secret.is_some()
        && settings.telegram_webhook_secret.is_some()
    {
        return Ok(ResolvedSettings {
            settings,
            dev_credentials: None,
            created: false,
        });
    }
    let (dev, created) = DevCredentials::load_or_create(data_dir)?;
    settings
        .discord_public_key
        .get_or_insert_with(|| dev.discord_public_key.clone());
    settings
        .slack_signing_secret
        .get_or_insert_with(|| dev.slack_signing_secret.clone());
    settings
        .component_secret
        .get_or_insert_with(|| dev.component_secret());
    settings
        .telegram_webhook_secret
        .get_or_insert_with(|| dev.telegram_webhook_secret());
    // `gavel send slack --moderator` signs as this user: make it a moderator, as a workspace
    // would list its moderators in GAVEL_SLACK_MODERATORS.
    if settings.slack_moderators.is_empty() {
        settings
            .slack_moderators
            .push(crate::payloads::SLACK_DEV_MODERATOR.to_owned());
    }
    Ok(ResolvedSettings {
        settings,
        dev_credentials: Some(dev),
        created,
    })
}

/// What keeps one misbehaving client from holding the local server: a client that sends half
/// its headers, or a `Content-Length` and then nothing, is cut off; past the connection cap new
/// connections wait in the listen queue until one closes.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// From accepting a connection (or finishing a request on it) to its next request's headers.
    pub header_timeout: Duration,
    /// From the headers to the whole body.
    pub body_timeout: Duration,
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 256,
        }
    }
}

/// What each request is handled with.
#[derive(Clone)]
struct Handling {
    edge: Arc<Edge>,
    limits: ConnectionLimits,
    /// The local worker's queue: when it is full, requests are refused with 503 at once.
    jobs: Arc<InProcessBus>,
}

fn router(edge: Arc<Edge>, limits: ConnectionLimits, jobs: Arc<InProcessBus>) -> Router {
    Router::new()
        .fallback(dispatch)
        .with_state(Handling { edge, limits, jobs })
}

fn refusal(status: StatusCode, error: &'static str) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json")],
        format!(r#"{{"error":"{error}"}}"#),
    )
        .into_response()
}

async fn dispatch(
    State(Handling { edge, limits, jobs }): State<Handling>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    // Back-pressure: a worker behind by its whole queue takes no more work; Discord and
    // Slack show the user a failure rather than the request vanishing into a queue.
    if jobs.is_full() && parts.method != axum::http::Method::GET {
        let mut refused = refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "the local worker is behind; try again in a moment",
        );
        refused.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
        return refused;
    }
    // A declared length over the cap is refused without passing the body on to the edge.
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(length) = declared.filter(|length| *length > MAX_BODY_BYTES as u64) {
        // A body a little over the cap is read and dropped first (within the body timeout):
        // a client still writing it when the connection closes sees a broken pipe instead of
        // the 413. A larger one is refused before a byte is read.
        if length <= DRAIN_BYTES as u64 {
            let _ = tokio::time::timeout(limits.body_timeout, to_bytes(body, DRAIN_BYTES)).await;
        }
        return closing(refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body is larger than 1 MiB",
        ));
    }
    // Read one byte past the cap so the edge, not the transport, decides on 413.
    let read = tokio::time::timeout(limits.body_timeout, to_bytes(body, MAX_BODY_BYTES + 1)).await;
    let body = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) => {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|cause| cause.is::<http_body_util::LengthLimitError>())
                || error.to_string().contains("length limit");
            return closing(if too_large {
                refusal(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body is larger than 1 MiB",
                )
            } else {
                // A chunked body that does not parse, or a connection cut mid-body.
                refusal(StatusCode::BAD_REQUEST, "malformed request body")
            });
        }
        Err(_) => {
            return closing(refusal(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time",
            ));
        }
    };
    let answer = edge
        .handle(&parts.method, parts.uri.path(), &parts.headers, &body)
        .await;
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = answer.status;
    if let Some(content_type) = answer.content_type {
        response.headers_mut().insert(
            CONTENT_TYPE,
            content_type.parse().expect("static content type"),
        );
    }
    response
}

/// How much of an over-long body is read and dropped before the 413 (see `handle`).
const DRAIN_BYTES: usize = 2 * MAX_BODY_BYTES;

/// A refusal sent before the body was read to its end: the rest of it is still on the wire,
/// so the connection cannot carry another request. `Connection: close` tells the client so;
/// without it, a client that pools connections sends its next request on this one as hyper
/// closes it, and that request fails with "connection closed before message completed".
fn closing(mut response: Response) -> Response {
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    response
}

/// Which store `serve` runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    Embedded,
    Dynamodb,
}

/// Opens the chosen store and describes it for the start-up banner.
pub async fn open_store(kind: StoreKind, data_dir: &Path) -> Result<(Arc<dyn Store>, String)> {
    match kind {
        StoreKind::Embedded => Ok((
            open_embedded_store(data_dir)?,
            format!("embedded, {}", embedded_store_path(data_dir).display()),
        )),
        StoreKind::Dynamodb => {
            let store = DynamoStore::from_env(Arc::new(SystemClock))
                .await
                .context("opening the DynamoDB store (is GAVEL_TABLE set? `gavel table create` makes the table)")?;
            let label = format!("DynamoDB table {}", store.table());
            Ok((Arc::new(store), label))
        }
    }
}

/// The embedded store's file inside the data folder.
pub fn embedded_store_path(data_dir: &Path) -> PathBuf {
    data_dir.join("gavel.redb")
}

/// Opens the embedded store in the data folder (created on first use).
pub fn open_embedded_store(data_dir: &Path) -> Result<Arc<dyn Store>> {
    let path = embedded_store_path(data_dir);
    let store = EmbeddedStore::open(&path, Arc::new(SystemClock))
        .with_context(|| format!("opening the embedded store at {}", path.display()))?;
    Ok(Arc::new(store))
}

/// Binds and starts serving in the background, with settings resolved from the environment
/// and the data folder. The bool says whether development credentials were just created.
pub async fn start(
    addr: SocketAddr,
    data_dir: &Path,
    store: Arc<dyn Store>,
) -> Result<(RunningServer, bool)> {
    let resolved = resolve_settings(data_dir)?;
    let server = start_with(addr, &resolved.settings, resolved.dev_credentials, store).await?;
    Ok((server, resolved.created))
}

/// Binds and starts serving in the background with the given settings and store, and the
/// platform clients the environment names (see [`ServeParts::from_env`]).
pub async fn start_with(
    addr: SocketAddr,
    settings: &EdgeSettings,
    dev_credentials: Option<DevCredentials>,
    store: Arc<dyn Store>,
) -> Result<RunningServer> {
    start_with_parts(
        addr,
        settings,
        dev_credentials,
        store,
        ServeParts::from_env()?,
    )
    .await
}

/// The outside world of a local server: where Slack calls go, which platform APIs the worker
/// calls, and how many times the in-process bus delivers each job.
pub struct ServeParts {
    /// `response_url` posts and `views.open`, on the acknowledgement path.
    pub slack_web: Arc<dyn SlackWeb>,
    /// The worker's Discord REST client (`None`: jobs for Discord fail with a clear message).
    pub discord_api: Option<Arc<dyn DiscordApi>>,
    /// The worker's Slack Web API client.
    pub slack_api: Option<Arc<dyn SlackApi>>,
    /// Telegram's Bot API, for the edge (members' rights, clicked messages) and the worker
    /// (`None`: calls are recorded and logged).
    pub telegram_api: Option<Arc<dyn TelegramApi>>,
    /// Deliveries per job: 1, or 2 to show at-least-once delivery doing no harm.
    pub deliveries: usize,
    /// Timeouts and the connection cap.
    pub limits: ConnectionLimits,
    /// Job deliveries the local worker may have waiting or running (past it: 503).
    pub max_queued_jobs: usize,
}

impl ServeParts {
    /// Locally, Slack calls are recorded and logged unless the environment names a bot token
    /// or an API base (a fake Slack), so nobody needs a Slack workspace to try the flows. The
    /// worker calls a platform only where its token or API base is set, and otherwise records
    /// (and logs) what it would have sent.
    pub fn from_env() -> Result<Self> {
        let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
        let slack_configured = set("SLACK_BOT_TOKEN") || set("SLACK_API_BASE");
        let discord_configured = set("DISCORD_BOT_TOKEN") || set("DISCORD_API_BASE");
        let telegram_configured = set("TELEGRAM_BOT_TOKEN") || set("TELEGRAM_API_BASE");
        // `gavel send telegram --moderator` comes from this user: the recording API reports
        // them as an administrator, as Telegram would a group's moderators.
        let recording = Arc::new(
            RecordingPlatform::new()
                .with_telegram_admin(crate::payloads::TELEGRAM_DEV_MODERATOR.to_string()),
        );
        Ok(Self {
            slack_web: if slack_configured {
                Arc::new(SlackApiClient::from_env().map_err(anyhow::Error::msg)?)
            } else {
                Arc::new(RecordingSlackWeb::new())
            },
            discord_api: Some(if discord_configured {
                Arc::new(DiscordRest::from_env().map_err(anyhow::Error::msg)?)
            } else {
                recording.clone()
            }),
            slack_api: Some(if slack_configured {
                Arc::new(SlackApiClient::from_env().map_err(anyhow::Error::msg)?)
            } else {
                recording.clone()
            }),
            telegram_api: Some(if telegram_configured {
                Arc::new(TelegramBotApi::from_env().map_err(anyhow::Error::msg)?)
            } else {
                recording
            }),
            deliveries: 1,
            limits: ConnectionLimits::default(),
            max_queued_jobs: gavel_shared::worker::local_bus::MAX_PENDING,
        })
    }
}

/// Like [`start_with`], with the given outside world (tests and the demo use fakes).
pub async fn start_with_parts(
    addr: SocketAddr,
    settings: &EdgeSettings,
    dev_credentials: Option<DevCredentials>,
    store: Arc<dyn Store>,
    parts: ServeParts,
) -> Result<RunningServer> {
    // The local worker, on the same store: what EventBridge and the worker function are on AWS.
    let schedules = Arc::new(InProcessScheduler::new());
    let telegram: Arc<dyn TelegramApi> = parts
        .telegram_api
        .unwrap_or_else(|| Arc::new(RecordingPlatform::new()));
    let worker = Arc::new(
        Worker::new(
            Arc::clone(&store),
            Arc::new(SystemClock),
            parts.discord_api,
            parts.slack_api,
        )
        .with_telegram(Arc::clone(&telegram))
        .with_scheduler(schedules.clone()),
    );
    let bus = InProcessBus::start_bounded(worker, parts.deliveries, parts.max_queued_jobs);
    let maintenance = Maintenance::new(Arc::clone(&store), bus.clone(), Arc::new(SystemClock));
    let (stop_ticker, stopped) = tokio::sync::watch::channel(false);
    let ticker = tokio::spawn(tick(maintenance, Arc::clone(&schedules), stopped));
    let edge = Arc::new(
        settings
            .build_standard_edge(Serves::Both, store)?
            .with_slack_web(parts.slack_web)
            .with_telegram_api(telegram)
            .with_bus(bus.clone()),
    );
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let addr = listener.local_addr()?;
    let app = router(edge, parts.limits, bus.clone());
    let (shutdown, shutdown_requested) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_connections(listener, app, parts.limits, async {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = shutdown_requested => {}
        }
    }));
    Ok(RunningServer {
        addr,
        dev_credentials,
        task,
        shutdown,
        jobs: bus,
        schedules,
        ticker,
        stop_ticker,
    })
}

/// Accepts connections until `shutdown`, each served by hyper with a header read timeout,
/// at most `limits.max_connections` at once. On shutdown, open connections finish the request
/// in hand and close (keep-alive ones at once), and this returns when the last has: the store
/// is then no longer held.
async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = limits.max_connections.max(1);
    let permits = Arc::new(tokio::sync::Semaphore::new(slots));
    let (closing, closed) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Past the cap, wait for a connection to close before accepting another.
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of descriptors, say: back off a moment rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut closed = closed.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.header_timeout);
            let io = hyper_util::rt::TokioIo::new(stream);
            let mut connection = std::pin::pin!(builder.serve_connection(io, service));
            let result = tokio::select! {
                result = connection.as_mut() => result,
                // The only change ever sent is the one to closing.
                _ = closed.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    let _ = closing.send(true);
    // Every slot free again: every connection has ended.
    let _ = permits.acquire_many(slots as u32).await;
    Ok(())
}

/// How often `serve` sweeps for due temporary bans and reminders (every 5 minutes on AWS:
/// locally there are no invocations to pay for, and a demo should not wait).
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
/// Decay and cleanup: once at start, then daily, as on AWS.
pub const DAILY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The local EventBridge Scheduler: one-time schedules when due (checked every second), the
/// sweep every [`SWEEP_EVERY`], decay and cleanup every [`DAILY`]. Returns once `stopped`
/// turns true, between runs.
async fn tick(
    maintenance: Maintenance,
    schedules: Arc<InProcessScheduler>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let clock = SystemClock;
    let mut last_sweep: Option<std::time::Instant> = None;
    let mut last_daily: Option<std::time::Instant> = None;
    loop {
        if *stopped.borrow() {
            return;
        }
        for wakeup in schedules.take_due(clock.now_secs()) {
            let report = maintenance.wake(&wakeup).await;
            tracing::info!(%report, "one-time schedule ran");
        }
        let due = |last: Option<std::time::Instant>, every| {
            last.is_none_or(|t: std::time::Instant| t.elapsed() >= every)
        };
        if due(last_sweep, SWEEP_EVERY) {
            for job in [Sweep::Expire, Sweep::Reminders, Sweep::AutomodAudit] {
                report_if_busy(maintenance.run(job, Budget::for_secs(25)).await);
            }
            last_sweep = Some(std::time::Instant::now());
        }
        if due(last_daily, DAILY) {
            for job in [Sweep::Decay, Sweep::Cleanup] {
                report_if_busy(maintenance.run(job, Budget::for_secs(60)).await);
            }
            last_daily = Some(std::time::Instant::now());
        }
        tokio::select! {
            _ = stopped.changed() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
}

/// Logs a run that did something; idle sweeps every 30 s would only fill the log.
fn report_if_busy(report: gavel_shared::maintenance::Report) {
    if report.counts.iter().any(|(_, n)| *n > 0) || report.more {
        tracing::info!(%report, "maintenance");
    }
}

/// `gavel serve`: runs until Ctrl-C.
pub async fn run(
    addr: SocketAddr,
    data_dir: PathBuf,
    store: Arc<dyn Store>,
    store_label: String,
) -> Result<()> {
    let (server, created) = start(addr, &data_dir, store).await?;
    println!("Store: {store_label}");
    println!(
        "Gavel {} listening on http://{}",
        gavel_shared::VERSION,
        server.addr
    );
    for route in Route::ALL {
        println!(
            "  {} http://{}{}",
            if route == Route::Health {
                "GET "
            } else {
                "POST"
            },
            server.addr,
            route.path()
        );
    }
    if let Some(dev) = &server.dev_credentials {
        println!(
            "Development credentials ({} {}), for local testing only:",
            if created { "created in" } else { "from" },
            DevCredentials::path(&data_dir).display()
        );
        if std::env::var_os("DISCORD_PUBLIC_KEY").is_none() {
            println!("  DISCORD_PUBLIC_KEY={}", dev.discord_public_key);
        }
        if std::env::var_os("SLACK_SIGNING_SECRET").is_none() {
            println!("  SLACK_SIGNING_SECRET={}", dev.slack_signing_secret);
        }
        if std::env::var_os("TELEGRAM_WEBHOOK_SECRET").is_none() {
            println!(
                "  TELEGRAM_WEBHOOK_SECRET={}",
                dev.telegram_webhook_secret()
            );
        }
        println!("Try: gavel send discord /ping   or   gavel send slack /ping");
    }
    server.task.await??;
    Ok(())
}
