//! `/reportchannel #channel`: where member reports are posted. The answer is deferred: the
//! worker first posts in the channel (proving Gavel may), then stores the choice and edits the
//! answer with the outcome, or with why it could not ("I lack the permissions there").

use async_trait::async_trait;

use super::{Command, CommandContext, CommandSpec, OptionKind, OptionSpec};
use crate::invocation::{Capability, OptionValue};
use crate::jobs::{BusError, Job, Task};
use crate::reply::{Reply, Response};

static SPEC: CommandSpec = CommandSpec {
    name: "reportchannel",
    description: "Choose the channel where member reports are posted",
    options: &[OptionSpec {
        name: "channel",
        description: "The moderators' channel",
        kind: OptionKind::Channel,
        required: true,
    }],
    requires: Some(Capability::ManageGuild),
    context_menu: None,
    message_menu: None,
    read_only: false,
};

pub struct ReportChannel;

#[async_trait]
impl Command for ReportChannel {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        let Some(OptionValue::Channel(channel)) = ctx.call.option("channel") else {
            return Reply::ephemeral("Name a channel: `/reportchannel #moderators`.").into();
        };
        let job = Job::for_invocation(
            ctx.invocation,
            Task::SetReportChannel {
                channel: channel.clone(),
            },
            ctx.now_secs(),
        );
        match ctx.bus.publish(&job).await {
            Ok(()) => Response::Deferred(Reply::ephemeral(format!(
                "Checking that I can post in <#{channel}>…"
            ))),
            Err(BusError::NotConfigured) => Reply::ephemeral(
                "This deployment has no worker for background work, so I cannot post in channels.",
            )
            .into(),
            Err(error) => {
                tracing::error!(%error, "could not publish a job");
                Reply::ephemeral("I could not start that; nothing was changed. Please try again.")
                    .into()
            }
        }
    }
}
