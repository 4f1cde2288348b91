//! `gavel slack manifest --url https://…`: the Slack app manifest for this deployment, built
//! from the command specs (see `gavel_shared::slack::manifest`). Paste it into Slack's "Create
//! an app → From a manifest" (or an existing app's "App Manifest" page).

use anyhow::{Result, bail};
use clap::Subcommand;
use gavel_shared::commands::CommandRegistry;
use gavel_shared::slack::manifest::{ManifestUrls, manifest, problems};

#[derive(Subcommand)]
pub enum SlackCommand {
    /// Print the app manifest (JSON): every slash command, the interactivity and events URLs
    /// under `--url`, the bot scopes the code calls.
    Manifest {
        /// The deployment's base URL: the HTTP API's (the stack's `SlackCommandsUrl` output
        /// without `/slack/commands`), or a tunnel to `gavel serve`. Slack needs https.
        #[arg(long)]
        url: String,
        /// The app's name in Slack (at most 35 characters).
        #[arg(long, default_value = "Gavel")]
        name: String,
    },
}

pub fn run(command: SlackCommand) -> Result<()> {
    match command {
        SlackCommand::Manifest { url, name } => {
            // Pasting the output URL of a route works too.
            let base = url.trim_end_matches('/');
            let base = ["/slack/commands", "/slack/interactions", "/slack/events"]
                .iter()
                .find_map(|route| base.strip_suffix(route))
                .unwrap_or(base);
            let manifest = manifest(
                &CommandRegistry::standard(),
                &name,
                &ManifestUrls::new(base),
            );
            let found = problems(&manifest);
            if !found.is_empty() {
                bail!(
                    "Slack would refuse this manifest:\n  {}",
                    found.join("\n  ")
                );
            }
            println!("{}", serde_json::to_string_pretty(&manifest)?);
            Ok(())
        }
    }
}
