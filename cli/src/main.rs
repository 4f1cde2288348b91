//! `gavel`: the local server, signed test requests, the demo, the load driver, and operator
//! commands (the table, maintenance jobs).

use anyhow::{Context, Result};
use clap::Parser;

use gavel_cli::cli::{Cli, Command};
use gavel_cli::credentials::DevCredentials;
use gavel_cli::payloads::Invoker;
use gavel_cli::{
    demo, deploy, discord, docs, doctor, job, load, send, serve, slack, soak, table, telegram,
};

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
            | Command::Docs { .. }
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
        Command::Docs { command } => docs::run(command),
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
