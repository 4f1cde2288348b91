//! `/help`: what the invoker may run, or how to use one command.

use async_trait::async_trait;

use super::{Command, CommandContext, CommandSpec, OptionKind, OptionSpec};
use crate::reply::{Reply, Response};

/// `/help [command]`: the commands this invoker may use, or one command's options.
pub struct Help;

static SPEC: CommandSpec = CommandSpec {
    name: "help",
    description: "List the commands you can use, or explain one",
    options: &[OptionSpec {
        name: "command",
        description: "A command to explain",
        kind: OptionKind::String,
        required: false,
    }],
    requires: None,
    context_menu: None,
    message_menu: None,
    read_only: true,
};

#[async_trait]
impl Command for Help {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        let available = ctx.registry.available_to(ctx.invocation);
        if let Some(wanted) = ctx.call.option("command").and_then(|v| v.as_str()) {
            let wanted = wanted.trim().trim_start_matches('/');
            return match available
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(wanted))
            {
                Some(spec) => {
                    let mut reply =
                        Reply::ephemeral(format!("`{}`: {}", spec.usage(), spec.description));
                    for opt in spec.options {
                        let need = if opt.required { "required" } else { "optional" };
                        reply = reply.with_field(opt.name, format!("{} ({need})", opt.description));
                    }
                    reply.into()
                }
                None => Reply::ephemeral(format!(
                    "There is no command `/{wanted}` that you can use. Run `/help` for the list."
                ))
                .into(),
            };
        }
        let mut reply = Reply::ephemeral("Commands you can use:");
        for spec in available {
            reply = reply.with_field(spec.usage(), spec.description);
        }
        reply.into()
    }
}
