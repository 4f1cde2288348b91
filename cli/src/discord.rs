//! `gavel discord commands` prints the application commands Discord needs; `gavel discord
//! register` sends them (bulk overwrite), globally or to one test server.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use gavel_shared::adapters::discord_rest::DiscordRest;
use gavel_shared::commands::CommandRegistry;
use gavel_shared::discord::registration::application_commands;
use reqwest::Method;

#[derive(Subcommand)]
pub enum DiscordCommand {
    /// Print the commands as the JSON body Discord takes.
    Commands,
    /// Register the commands with Discord (DISCORD_BOT_TOKEN and DISCORD_APPLICATION_ID from
    /// the environment). A global registration can take a while to show everywhere; `--guild`
    /// registers in one server at once, for testing.
    Register {
        #[arg(long)]
        guild: Option<String>,
    },
}

pub async fn run(command: DiscordCommand) -> Result<()> {
    // A command over Discord's limits would have the whole batch refused; say which, here.
    let body = application_commands(&CommandRegistry::standard())
        .context("the commands do not fit Discord's limits")?;
    match command {
        DiscordCommand::Commands => {
            println!("{}", serde_json::to_string_pretty(&body)?);
            Ok(())
        }
        DiscordCommand::Register { guild } => {
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
    }
}
