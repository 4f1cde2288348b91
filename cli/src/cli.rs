//! The `gavel` command line: every subcommand and its arguments, in the library so that
//! `gavel docs commands` and the tests can walk the same tree `gavel --help` shows.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::{deploy, discord, docs, job, send, serve, slack, table, telegram};

#[derive(Parser)]
#[command(
    name = "gavel",
    version,
    about = "Gavel: Discord, Slack and Telegram moderation, serverless or local"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the Discord, Slack and Telegram endpoints, the worker and the schedules on one local
    /// HTTP server.
    Serve {
        /// The address to listen on.
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
        /// Which platform's request to sign and send.
        platform: send::Platform,
        /// A slash command line: `/name` then `key=value` options (Discord) or text (Slack and
        /// Telegram).
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
        /// The running server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        /// The server's data folder, for its development credentials.
        #[arg(long, default_value = "./.gavel")]
        data: PathBuf,
    },
    /// Start a server on a free port, drive a scripted scenario through it, print a transcript.
    Demo,
    /// Drive a running local server with signed requests and report ratios against /healthz.
    Load {
        /// The running server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        /// The server's data folder, for its development credentials.
        #[arg(long, default_value = "./.gavel")]
        data: PathBuf,
        /// Requests per kind.
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Stop each kind after this many seconds even if requests remain.
        #[arg(long, default_value_t = 60)]
        max_seconds: u64,
    },
    /// Sustained mixed traffic at a running local server, reporting every window the errors,
    /// p50/p99 and the server's memory (`scripts/soak.sh` starts the server and runs this).
    Soak {
        /// The running server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        /// The server's data folder, for its development credentials.
        #[arg(long, default_value = "./.gavel")]
        data: PathBuf,
        /// How long to run.
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        /// Seconds per reported window.
        #[arg(long, default_value_t = 10)]
        window: u64,
        /// Requests in flight at once.
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
    /// Check a deployment's endpoints answer as Discord, Slack and Telegram require (forged
    /// requests refused; with SLACK_SIGNING_SECRET set, signed Slack ones answered).
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
    /// Maintenance jobs by hand: `gavel job run expire|decay|cleanup|reminders|automod-audit`.
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
    /// The reference in docs/, generated from the code: `gavel docs commands > docs/commands.md`.
    Docs {
        #[command(subcommand)]
        command: docs::DocsCommand,
    },
    /// Operator commands for the DynamoDB table (region, credentials and endpoint from the
    /// standard AWS environment, e.g. AWS_ENDPOINT_URL for moto).
    Table {
        #[command(subcommand)]
        command: table::TableCommand,
    },
}
