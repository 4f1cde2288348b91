//! `gavel discord commands` prints the application commands Discord needs; `gavel discord
//! register` sends them (bulk overwrite), globally or to one test server; `gavel discord
//! automod sync` compiles a community's stored AutoMod rules into the server's native rules.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use gavel_shared::adapters::discord_rest::DiscordRest;
use gavel_shared::clock::{Clock, SystemClock};
use gavel_shared::commands::CommandRegistry;
use gavel_shared::discord::registration::application_commands;
use gavel_shared::worker::automod::sync_stored;
use reqwest::Method;

use crate::serve::{ServeParts, StoreKind, open_store};

#[derive(Subcommand)]
pub enum DiscordCommand {
    /// Print the commands as the JSON body Discord takes.
    Commands,
    /// Register the commands with Discord (DISCORD_BOT_TOKEN and DISCORD_APPLICATION_ID from
    /// the environment). A global registration can take a while to show everywhere; `--guild`
    /// registers in one server at once, for testing.
    Register {
        /// A server (guild) id: register there only, at once, instead of globally.
        #[arg(long)]
        guild: Option<String>,
    },
    /// Discord's native AutoMod rules.
    Automod {
        #[command(subcommand)]
        command: AutomodCommand,
    },
}

#[derive(Subcommand)]
pub enum AutomodCommand {
    /// Compile the server's stored AutoMod rules into Discord's native AutoMod and bring the
    /// server's Gavel rules there (its own rules are left alone); prints what was created,
    /// updated, deleted and could not be compiled. Calls Discord where DISCORD_BOT_TOKEN or
    /// DISCORD_API_BASE is set, else records the calls (as `gavel serve` does).
    Sync {
        /// The Discord server (guild) id whose rules to sync.
        #[arg(long)]
        guild: String,
        /// Where the embedded store lives (as for `gavel serve`).
        #[arg(long, default_value = "./.gavel")]
        data: PathBuf,
        /// The store holding the server's rules: `dynamodb` (GAVEL_TABLE and the standard AWS
        /// environment) for a deployed stack, whose rules `/automod` saved there; `embedded`
        /// for a local `gavel serve`.
        #[arg(long, value_enum, default_value = "embedded")]
        store: StoreKind,
    },
}

/// The application commands as Discord takes them. A command over Discord's limits would have
/// the whole batch refused; say which, here.
fn commands_body() -> Result<serde_json::Value> {
    application_commands(&CommandRegistry::standard())
        .context("the commands do not fit Discord's limits")
}

pub async fn run(command: DiscordCommand) -> Result<()> {
    match command {
        DiscordCommand::Commands => {
            let body = commands_body()?;
            println!("{}", serde_json::to_string_pretty(&body)?);
            Ok(())
        }
        DiscordCommand::Register { guild } => {
            let body = commands_body()?;
            let application = std::env::var("DISCORD_APPLICATION_ID")
                .ok()
                .filter(|v| !v.trim().is_empty())
                .context("DISCORD_APPLICATION_ID is not set")?;
            if std::env::var("DISCORD_BOT_TOKEN").map_or(true, |v| v.trim().is_empty()) {
                bail!("DISCORD_BOT_TOKEN is not set");
            }
            let rest = DiscordRest::from_env().map_err(anyhow::Error::msg)?;
            let path = match &guild {
                Some(guild) => format!("/applications/{application}/guilds/{guild}/commands"),
                None => format!("/applications/{application}/commands"),
            };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            rest.request(Method::PUT, &path, Some(&body), None, deadline)
                .await
                .map_err(|e| anyhow::anyhow!("Discord refused the commands: {e}"))?;
            let count = body.as_array().map_or(0, Vec::len);
            match guild {
                Some(guild) => println!("Registered {count} commands in server {guild}."),
                None => println!("Registered {count} commands globally."),
            }
            Ok(())
        }
        DiscordCommand::Automod { command } => automod(command).await,
    }
}

async fn automod(command: AutomodCommand) -> Result<()> {
    match command {
        AutomodCommand::Sync { guild, data, store } => {
            let (store, _) = open_store(store, &data).await?;
            let parts = ServeParts::from_env()?;
            let api = parts
                .discord_api
                .context("no Discord API client is configured")?;
            let now = SystemClock.now_secs();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            let report = sync_stored(api.as_ref(), store.as_ref(), &guild, now, deadline)
                .await
                .map_err(|e| anyhow::anyhow!("the AutoMod sync did not finish: {e}"))?;
            println!("{report}");
            Ok(())
        }
    }
}
