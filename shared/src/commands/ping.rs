//! `/ping`: proves the endpoint answers, with the version and how long handling took.

use async_trait::async_trait;

use super::{Command, CommandContext, CommandSpec};
use crate::reply::{Reply, Response};

/// `/ping`: proves the endpoint is wired up, and how fast it answers.
pub struct Ping;

static SPEC: CommandSpec = CommandSpec {
    name: "ping",
    description: "Check that Gavel is up and how long it takes to answer",
    options: &[],
    requires: None,
    context_menu: None,
    message_menu: None,
    read_only: true,
};

#[async_trait]
impl Command for Ping {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        let micros = ctx.received_at.elapsed().as_micros();
        Reply::ephemeral(format!(
            "Pong! Gavel {} handled this in {}.{:03} ms.",
            crate::VERSION,
            micros / 1000,
            micros % 1000
        ))
        .into()
    }
}
