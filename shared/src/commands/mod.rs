//! Command definitions and the registry that dispatches to them.
//!
//! A command is defined once, as a [`CommandSpec`] plus a [`Command`] implementation, and serves
//! both platforms: Discord registers the spec as an application command, Slack parses the slash
//! command's text against the same option list.

mod help;
mod ping;

use std::time::Instant;

use async_trait::async_trait;

use crate::invocation::{Action, Capability, CommandCall, Invocation};
use crate::reply::Reply;

pub use help::Help;
pub use ping::Ping;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionKind {
    /// Free text. On Slack the last text option takes the rest of the line.
    String,
    Integer,
    /// A member of the community (Discord user picker; Slack `<@U123>` mention).
    User,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub kind: OptionKind,
    pub required: bool,
}

/// Everything the platforms and `/help` need to know about a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub options: &'static [OptionSpec],
    /// The capability an invoker must hold; `None` means every member may use it.
    pub requires: Option<Capability>,
}

impl CommandSpec {
    /// `/name <required> [optional]`, as shown in help and usage errors.
    pub fn usage(&self) -> String {
        let mut usage = format!("/{}", self.name);
        for opt in self.options {
            if opt.required {
                usage.push_str(&format!(" <{}>", opt.name));
            } else {
                usage.push_str(&format!(" [{}]", opt.name));
            }
        }
        usage
    }
}

/// What a command handler sees.
pub struct CommandContext<'a> {
    pub invocation: &'a Invocation,
    pub call: &'a CommandCall,
    pub registry: &'a CommandRegistry,
    /// When the edge received the request; `/ping` reports the time since.
    pub received_at: Instant,
}

#[async_trait]
pub trait Command: Send + Sync {
    fn spec(&self) -> &'static CommandSpec;
    async fn run(&self, ctx: &CommandContext<'_>) -> Reply;
}

/// The commands this deployment serves.
pub struct CommandRegistry {
    commands: Vec<Box<dyn Command>>,
}

impl CommandRegistry {
    pub fn new(commands: Vec<Box<dyn Command>>) -> Self {
        Self { commands }
    }

    /// Every command Gavel ships.
    pub fn standard() -> Self {
        Self::new(vec![Box::new(Help), Box::new(Ping)])
    }

    pub fn spec(&self, name: &str) -> Option<&'static CommandSpec> {
        self.find(name).map(|c| c.spec())
    }

    pub fn specs(&self) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        self.commands.iter().map(|c| c.spec())
    }

    /// The commands an invoker with these capabilities may run, in registry order.
    pub fn available_to(&self, invocation: &Invocation) -> Vec<&'static CommandSpec> {
        self.specs().filter(|s| may_run(s, invocation)).collect()
    }

    fn find(&self, name: &str) -> Option<&dyn Command> {
        self.commands
            .iter()
            .find(|c| c.spec().name.eq_ignore_ascii_case(name))
            .map(|c| c.as_ref())
    }

    /// Runs the invocation's action and returns the reply to render.
    pub async fn dispatch(&self, invocation: &Invocation, received_at: Instant) -> Reply {
        match &invocation.action {
            Action::Command(call) => self.run_command(invocation, call, received_at).await,
            // No flows are registered yet, so any button or modal is one this deployment
            // does not know (an old message, or one from another app version).
            Action::Component { .. } | Action::ModalSubmit { .. } => Reply::ephemeral(
                "That button or form is no longer active. Run the command again to get a fresh one.",
            ),
        }
    }

    async fn run_command(
        &self,
        invocation: &Invocation,
        call: &CommandCall,
        received_at: Instant,
    ) -> Reply {
        let Some(command) = self.find(&call.name) else {
            return self.unknown_command(invocation, &call.name);
        };
        let spec = command.spec();
        if !may_run(spec, invocation) {
            let needed = spec.requires.map(Capability::label).unwrap_or("moderator");
            return Reply::ephemeral(format!(
                "You need the {needed} permission to use `/{}`.",
                spec.name
            ));
        }
        let ctx = CommandContext {
            invocation,
            call,
            registry: self,
            received_at,
        };
        command.run(&ctx).await
    }

    fn unknown_command(&self, invocation: &Invocation, name: &str) -> Reply {
        let available = self.available_to(invocation);
        let closest = available
            .iter()
            .map(|s| {
                (
                    strsim::levenshtein(s.name, &name.to_ascii_lowercase()),
                    s.name,
                )
            })
            .filter(|(distance, _)| *distance <= 2)
            .min();
        let mut text = format!("I don't know the command `/{name}`.");
        if let Some((_, suggestion)) = closest {
            text.push_str(&format!(" Did you mean `/{suggestion}`?"));
        }
        let names: Vec<String> = available.iter().map(|s| format!("`/{}`", s.name)).collect();
        text.push_str(&format!(
            " Commands you can use: {}. Run `/help` for details.",
            names.join(", ")
        ));
        Reply::ephemeral(text)
    }
}

fn may_run(spec: &CommandSpec, invocation: &Invocation) -> bool {
    spec.requires
        .is_none_or(|cap| invocation.actor.capabilities.contains(cap))
}
