//! `gavel`: the local server, signed test requests, the demo, the load driver, and operator
//! commands (the table, maintenance jobs).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use gavel_cli::credentials::DevCredentials;
use gavel_cli::payloads::Invoker;
use gavel_cli::{
    demo, deploy, discord, doctor, job, load, send, serve, slack, soak, table, telegram,
};

#[derive(Parser)]
#[command(
    name = "gavel",
    version,
    about = "Gavel: Discord, Slack and Telegram moderation, serverless or local"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Discord and Slack endpoints on one local HTTP server.
    Serve {
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
        /// Where development credentials and the embedded store live.
        #[arg(long, default_value = "./.gavel")]
        data: PathBuf,
        /// `embedded` (a file in the data folder) or `dynamodb` (table from GAVEL_TABLE;
        /// region, credentials and AWS_ENDPOINT_URL from the standard AWS environment).
        #[arg(long, value_enum, default_value = "embedded")]
        store: serve::StoreKind,
    },
    /// Sign a request with the development credentials and post it to a running server.
    ///
    /// Examples: `gavel send discord /ping`, `gavel send discord /help command=ping`,
    /// `gavel send slack /help ping`, `gavel send slack --file events/slack-url-verification.json`.
    Send {
        platform: send::Platform,
        /// A slash command line: `/name` then `key=value` options (Discord) or text (Slack).
        #[arg(num_args = 0..)]
        command: Vec<String>,
        /// Send the body of an HTTP API event file (from events/) instead, freshly signed.
        #[arg(long, conflicts_with = "command")]
        file: Option<PathBuf>,
        /// Invoke as a moderator (Discord: Kick, Ban, Moderate Members, Manage Server).
        #[arg(long)]
        moderator: bool,
        /// Telegram: the command replies to a message of this user id (how a Telegram
        /// moderator names the member), e.g. `--reply-to 1000010`.
        #[arg(long)]
        reply_to: Option<u64>,
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(long, default_value = "./.gavel")]
        data: PathBuf,
    },
    /// Start a server on a free port, drive a scripted scenario through it, print a transcript.
    Demo,
    /// Drive a running local server with signed requests and report ratios against /healthz.
    Load {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(long, default_value = "./.gavel")]
        data: PathBuf,
        /// Requests per kind.
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Stop each kind after this many seconds even if requests remain.
        #[arg(long, default_value_t = 60)]
        max_seconds: u64,
    },
    /// Sustained mixed traffic at a running local server, reporting every window the errors,
    /// p50/p99 and the server's memory (`scripts/soak.sh` starts the server and runs this).
    Soak {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(long, default_value = "./.gavel")]
        data: PathBuf,
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        /// Seconds per reported window.
        #[arg(long, default_value_t = 10)]
        window: u64,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// The server's process id, whose resident memory is reported.
        #[arg(long)]
        pid: Option<u32>,
        /// How much the memory may grow after the warm-up (0.2: 20%).
        #[arg(long, default_value_t = 0.2)]
        max_growth: f64,
    },
    /// Discord application commands: print them, or register them with Discord.
    Discord {
        #[command(subcommand)]
        command: discord::DiscordCommand,
    },
    /// Check a deployment's endpoints answer as Discord and Slack require (forged requests
    /// refused; with SLACK_SIGNING_SECRET set, signed ones answered).
    Doctor {
        /// The deployment's base URL (the stack's `ApiUrl` output), or a local server's.
        #[arg(long)]
        url: String,
    },
    /// The Slack app: `gavel slack manifest --url https://…` prints its manifest.
    Slack {
        #[command(subcommand)]
        command: slack::SlackCommand,
    },
    /// The Telegram bot: `gavel telegram set-webhook --url …`, `gavel telegram commands register`.
    Telegram {
        #[command(subcommand)]
        command: telegram::TelegramCommand,
    },
    /// Maintenance jobs by hand: `gavel job run expire|decay|cleanup|reminders`.
    Job {
        #[command(subcommand)]
        command: job::JobCommand,
    },
    /// Deploying on AWS: the secrets the Discord, Slack and Telegram functions read, and a check.
    ///
    /// `gavel deploy secrets --config-env dev` creates the Secrets Manager secrets;
    /// `gavel deploy check --config-env dev` says what is left to do. Region, credentials and
    /// AWS_ENDPOINT_URL come from the standard AWS environment.
    Deploy {
        #[command(subcommand)]
        command: deploy::DeployCommand,
    },
    /// Operator commands for the DynamoDB table (region, credentials and endpoint from the
    /// standard AWS environment, e.g. AWS_ENDPOINT_URL for moto).
    Table {
        #[command(subcommand)]
        command: table::TableCommand,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // The cause chain on one line; a backtrace helps nobody running a command.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    // The demo and send print their own transcript; request logs would only interleave with it.
    let quiet = matches!(
        cli.command,
        Command::Demo
            | Command::Send { .. }
            | Command::Load { .. }
            | Command::Soak { .. }
            | Command::Table { .. }
            | Command::Discord { .. }
            | Command::Slack { .. }
            | Command::Telegram { .. }
            | Command::Doctor { .. }
            | Command::Job { .. }
            | Command::Deploy { .. }
    );
    gavel_shared::telemetry::init_human(if quiet { "warn" } else { "info" });
    match cli.command {
        Command::Serve { addr, data, store } => {
            let (store, label) = serve::open_store(store, &data).await?;
            serve::run(addr, data, store, label).await
        }
        Command::Send {
            platform,
            command,
            file,
            moderator,
            reply_to,
            url,
            data,
        } => {
            let credentials = DevCredentials::load(&data)?.with_context(|| {
                format!(
                    "no development credentials in {}: start `gavel serve --data {}` first",
                    data.display(),
                    data.display()
                )
            })?;
            let line = (!command.is_empty()).then(|| command.join(" "));
            let request = send::build(
                &credentials,
                platform,
                line.as_deref(),
                file.as_deref(),
                Invoker { moderator },
                reply_to,
            )?;
            let answer = send::post(&reqwest::Client::new(), &url, &request).await?;
            send::print_answer(&answer);
            Ok(())
        }
        Command::Demo => demo::run().await,
        Command::Table { command } => table::run(command).await,
        Command::Discord { command } => discord::run(command).await,
        Command::Slack { command } => slack::run(command),
        Command::Telegram { command } => telegram::run(command).await,
        Command::Doctor { url } => {
            let secret = std::env::var("SLACK_SIGNING_SECRET").ok();
            doctor::run(&url, secret.as_deref()).await
        }
        Command::Job { command } => job::run(command).await,
        Command::Deploy { command } => deploy::run(command).await,
        Command::Soak {
            url,
            data,
            seconds,
            window,
            concurrency,
            pid,
            max_growth,
        } => {
            let credentials = DevCredentials::load(&data)?
                .with_context(|| format!("no development credentials in {}", data.display()))?;
            soak::run(
                &credentials,
                soak::SoakOptions {
                    url,
                    seconds,
                    window_secs: window,
                    concurrency,
                    pid,
                    max_growth,
                },
            )
            .await
        }
        Command::Load {
            url,
            data,
            requests,
            concurrency,
            max_seconds,
        } => {
            let credentials = DevCredentials::load(&data)?
                .with_context(|| format!("no development credentials in {}", data.display()))?;
            load::run(
                &credentials,
                load::LoadOptions {
                    url,
                    requests,
                    concurrency: concurrency.max(1),
                    max_seconds,
                },
            )
            .await
        }
    }
}
