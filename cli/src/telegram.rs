//! Operator commands for the Telegram bot, with `TELEGRAM_BOT_TOKEN` (and for the webhook
//! `TELEGRAM_WEBHOOK_SECRET`) from the environment; `TELEGRAM_API_BASE` points them at a fake.
//! Each reads what Telegram has first and writes only what differs.
//!
//! - `gavel telegram set-webhook --url https://…/telegram/webhook [--drop-pending] [--force]`
//! - `gavel telegram commands register`

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use gavel_shared::adapters::telegram_api::TelegramBotApi;
use gavel_shared::commands::CommandRegistry;
use gavel_shared::telegram::commands::{menu_unchanged, menus, webhook_params, webhook_unchanged};
use gavel_shared::verify::TelegramVerifier;
use serde_json::json;

#[derive(Subcommand)]
pub enum TelegramCommand {
    /// Point the bot's webhook at this deployment (`setWebhook`), with the secret and every
    /// update type Gavel handles listed explicitly. Nothing is written when Telegram already
    /// has that URL and those types, unless `--drop-pending` or `--force` (after rotating
    /// the secret, which Telegram never reports back).
    SetWebhook {
        /// The webhook's URL (the stack's `TelegramWebhookUrl` output); https.
        #[arg(long)]
        url: String,
        /// Drop the updates Telegram is still holding for the bot.
        #[arg(long)]
        drop_pending: bool,
        /// Write even if Telegram reports the same settings.
        #[arg(long)]
        force: bool,
    },
    /// The bot's command menus.
    Commands {
        #[command(subcommand)]
        command: CommandsCommand,
    },
}

#[derive(Subcommand)]
pub enum CommandsCommand {
    /// `setMyCommands`: members' commands in the default scope, every command in the
    /// administrators' scope; a menu Telegram already has is not written again.
    Register,
}

fn client() -> Result<TelegramBotApi> {
    if std::env::var("TELEGRAM_BOT_TOKEN").is_err() {
        bail!("TELEGRAM_BOT_TOKEN is not set");
    }
    TelegramBotApi::from_env().map_err(anyhow::Error::msg)
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(20)
}

pub async fn run(command: TelegramCommand) -> Result<()> {
    let api = client()?;
    match command {
        TelegramCommand::SetWebhook {
            url,
            drop_pending,
            force,
        } => {
            let secret = std::env::var("TELEGRAM_WEBHOOK_SECRET")
                .context("TELEGRAM_WEBHOOK_SECRET is not set")?;
            // Refused here, not by Telegram after the webhook was half set.
            TelegramVerifier::new(&secret)?;
            let info = api.call("getWebhookInfo", &json!({}), deadline()).await?;
            if !force && !drop_pending && webhook_unchanged(&url, &info) {
                println!("The webhook is already {url} with every update type; nothing written.");
                return Ok(());
            }
            let params = webhook_params(&url, &secret, drop_pending);
            api.call("setWebhook", &params, deadline()).await?;
            println!("Webhook set to {url}.");
            Ok(())
        }
        TelegramCommand::Commands {
            command: CommandsCommand::Register,
        } => {
            for menu in menus(&CommandRegistry::standard()) {
                let scope = json!({ "scope": menu.scope });
                let reported = api.call("getMyCommands", &scope, deadline()).await?;
                let label = serde_json::to_value(&menu.scope)?["type"].to_string();
                if menu_unchanged(&menu, &reported) {
                    println!(
                        "{label}: {} commands, unchanged; nothing written.",
                        menu.commands.len()
                    );
                    continue;
                }
                let params = json!({ "commands": menu.commands, "scope": menu.scope });
                api.call("setMyCommands", &params, deadline()).await?;
                println!("{label}: {} commands registered.", menu.commands.len());
            }
            Ok(())
        }
    }
}
