//! Command definitions and the registry that dispatches to them.
//!
//! A command is defined once, as a [`CommandSpec`] plus a [`Command`] implementation, and serves
//! both platforms: Discord registers the spec as an application command, Slack parses the slash
//! command's text against the same option list.

pub mod appeal;
pub mod automod;
mod economy;
mod help;
mod mentions;
mod modconfig;
pub mod moderation;
mod ping;
mod remind;
pub mod report;
mod report_channel;

use std::time::Instant;

use async_trait::async_trait;

use crate::clock::Clock;
use crate::flows::FlowEngine;
use crate::invocation::{Action, Capability, CommandCall, Invocation};
use crate::jobs::Bus;
use crate::moderation::{AuditAction, AuditEntry, ModSettings, RulesCache, SettingsCache};
use crate::reply::{Reply, Response};
use crate::store::{Store, WriteOp};

pub use appeal::{Appeal, ListAppeals};
pub use economy::{Balance, Daily, Economy, Leaderboard, Pay};
pub use help::Help;
pub use modconfig::ModConfig;
pub use ping::Ping;
pub use remind::Remind;
pub use report::{ListReports, Report};
pub use report_channel::ReportChannel;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionKind {
    /// Free text. On Slack the last text option takes the rest of the line.
    String,
    Integer,
    /// A member of the community (Discord user picker; Slack `<@U123>` mention).
    User,
    /// A channel (Discord channel picker; Slack `<#C123|name>` mention).
    Channel,
    /// A duration such as `2h` or `1d12h` (text on Discord). On Slack an optional duration
    /// is taken only when the word parses as one, so `/case 12 new reason` leaves it out.
    Duration,
    /// One of a fixed list of words (Discord shows them as choices). Optional choices are
    /// skipped on Slack like durations.
    Choice(&'static [&'static str]),
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
    /// The name of the Discord user context-menu command ("Warn member") that runs this
    /// command with the clicked member as `user`, if any.
    pub context_menu: Option<&'static str>,
    /// The name of the Discord message context-menu command ("Report message") that runs
    /// this command on the clicked message (`CommandCall::message`), if any.
    pub message_menu: Option<&'static str>,
    /// The command only reads and answers: it writes nothing, starts no flow and queues no job
    /// (`/ping`, `/help`). On Discord and Slack such a command takes no idempotency claim, since
    /// answering a repeat again repeats nothing (see `edge::answer_only`).
    pub read_only: bool,
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
    /// Starts flows.
    pub flows: &'a FlowEngine,
    /// The ports a command works through: the same store, bus and clock as its flows, so a
    /// command and the flow it starts see one world.
    pub store: &'a dyn Store,
    pub bus: &'a dyn Bus,
    pub clock: &'a dyn Clock,
}

impl CommandContext<'_> {
    pub fn now_secs(&self) -> i64 {
        self.clock.now_secs()
    }

    /// Now in milliseconds, for audit entries and the settings cache: whole seconds, so it
    /// agrees with [`CommandContext::now_secs`] (cases and their audit entries are dated
    /// together).
    pub fn now_ms(&self) -> i64 {
        self.now_secs() * 1000
    }
}

#[async_trait]
pub trait Command: Send + Sync {
    fn spec(&self) -> &'static CommandSpec;

    /// Registers the flows whose buttons and forms this command draws.
    fn register_flows(&self, _engine: &mut FlowEngine) {}

    /// Whether the command must know which users its options name are bots (it refuses
    /// them: a payment). Discord says so in every payload; on Slack it costs a `users.info`
    /// lookup, which the edge makes only for these commands.
    fn refuses_bots(&self) -> bool {
        false
    }

    /// Whether the command is offered in a DM with the bot, which is in no community: Discord
    /// registers it for that context too. Only commands that mean something there.
    fn in_dms(&self) -> bool {
        false
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response;
}

/// The commands this deployment serves, and what this instance remembers for them.
pub struct CommandRegistry {
    commands: Vec<Box<dyn Command>>,
    settings: SettingsCache,
    automod: RulesCache,
}

impl CommandRegistry {
    pub fn new(commands: Vec<Box<dyn Command>>) -> Self {
        Self {
            commands,
            settings: SettingsCache::new(),
            automod: RulesCache::default(),
        }
    }

    /// Every command Gavel ships.
    pub fn standard() -> Self {
        let mut commands: Vec<Box<dyn Command>> = vec![
            Box::new(Help),
            Box::new(Ping),
            Box::new(Report::new()),
            Box::new(ListReports),
            Box::new(ReportChannel),
        ];
        for sanction in moderation::SanctionCommand::all() {
            commands.push(Box::new(sanction));
        }
        commands.push(Box::new(moderation::Unban));
        commands.push(Box::new(moderation::Pardon));
        commands.push(Box::new(moderation::CaseCommand));
        commands.push(Box::new(moderation::Infractions::new()));
        commands.push(Box::new(ModConfig));
        commands.push(Box::new(Appeal::new()));
        commands.push(Box::new(ListAppeals));
        commands.push(Box::new(Remind));
        commands.push(Box::new(Balance));
        commands.push(Box::new(Daily));
        commands.push(Box::new(Pay::new()));
        commands.push(Box::new(Leaderboard));
        commands.push(Box::new(Economy));
        commands.push(Box::new(automod::Automod));
        Self::new(commands)
    }

    /// This instance's copy of the communities' moderation settings (read at most once a
    /// minute; `/modconfig` replaces it when it saves).
    pub fn settings_cache(&self) -> &SettingsCache {
        &self.settings
    }

    /// This instance's compiled AutoMod rules per community (read at most once a minute;
    /// `/automod` replaces them when it saves).
    pub fn automod_rules(&self) -> &RulesCache {
        &self.automod
    }

    /// Registers every command's flows with `engine`.
    pub fn register_flows(&self, engine: &mut FlowEngine) {
        for command in &self.commands {
            command.register_flows(engine);
        }
    }

    /// See [`Command::refuses_bots`].
    pub fn refuses_bots(&self, name: &str) -> bool {
        self.find(name).is_some_and(|c| c.refuses_bots())
    }

    pub fn spec(&self, name: &str) -> Option<&'static CommandSpec> {
        self.find(name).map(|c| c.spec())
    }

    pub fn specs(&self) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        self.commands.iter().map(|c| c.spec())
    }

    /// Whether command `name` is offered in a DM with the bot ([`Command::in_dms`]).
    pub fn in_dms(&self, name: &str) -> bool {
        self.find(name).is_some_and(|c| c.in_dms())
    }

    /// The commands an invoker with these capabilities may run, in registry order.
    pub fn available_to(&self, invocation: &Invocation) -> Vec<&'static CommandSpec> {
        self.specs().filter(|s| may_run(s, invocation)).collect()
    }

    fn find(&self, name: &str) -> Option<&dyn Command> {
        self.commands
            .iter()
            .find(|c| {
                let spec = c.spec();
                spec.name.eq_ignore_ascii_case(name)
                    || [spec.context_menu, spec.message_menu]
                        .into_iter()
                        .flatten()
                        .any(|menu| menu.eq_ignore_ascii_case(name))
            })
            .map(|c| c.as_ref())
    }

    /// Runs the invocation's action (a command, or a click or form for a flow) and returns
    /// what to render.
    pub async fn dispatch(
        &self,
        invocation: &Invocation,
        received_at: Instant,
        flows: &FlowEngine,
    ) -> Response {
        match &invocation.action {
            Action::Command(call) => self.run_command(invocation, call, received_at, flows).await,
            Action::Component { .. } | Action::ModalSubmit { .. } => {
                match flows.handle(invocation).await {
                    Some(response) => response,
                    None => Reply::ephemeral("That button or form is no longer active.").into(),
                }
            }
        }
    }

    async fn run_command(
        &self,
        invocation: &Invocation,
        call: &CommandCall,
        received_at: Instant,
        flows: &FlowEngine,
    ) -> Response {
        let Some(command) = self.find(&call.name) else {
            if call.message.is_some() {
                return unknown_message_action(&call.name).into();
            }
            return self.unknown_command(invocation, &call.name).into();
        };
        let ctx = CommandContext {
            invocation,
            call,
            registry: self,
            received_at,
            flows,
            store: flows.store().as_ref(),
            bus: flows.bus().as_ref(),
            clock: flows.clock().as_ref(),
        };
        let spec = command.spec();
        if !may_run(spec, invocation) {
            let needed = spec.requires.map(Capability::label).unwrap_or("moderator");
            self.audit_refusal(&ctx, spec, needed).await;
            return Reply::ephemeral(format!(
                "You need the {needed} permission to use `/{}`.",
                spec.name
            ))
            .into();
        }
        command.run(&ctx).await
    }

    /// Records a refused command in the community's audit log, so moderators can see who
    /// tried what. The refusal stands whatever happens to the record: a failed write is
    /// logged, never shown to the invoker.
    async fn audit_refusal(&self, ctx: &CommandContext<'_>, spec: &CommandSpec, needed: &str) {
        let (invocation, store) = (ctx.invocation, ctx.store);
        let now_ms = ctx.now_ms();
        let (platform, tenant) = (invocation.platform, invocation.tenant.as_str());
        let retention = match self.settings.get(store, platform, tenant, now_ms).await {
            Ok(settings) => settings.retention_secs(),
            Err(error) => {
                tracing::warn!(%error, "could not read the moderation settings; the refusal is kept for the default retention");
                ModSettings::default().retention_secs()
            }
        };
        let entry = AuditEntry::new(
            now_ms,
            &invocation.actor.id,
            AuditAction::PermissionRefused,
            format!("`/{}` needs the {needed} permission", spec.name),
        );
        let unique = format!("{}#refused", invocation.id);
        let written = match entry.write(platform, tenant, &unique, retention) {
            WriteOp::Create(item) => store.create(item).await.map(|_| ()),
            other => store.transact(vec![other]).await,
        };
        match written {
            Ok(()) => {}
            // The same request delivered again: its refusal is on record already.
            Err(crate::store::StoreError::AlreadyExists) => {}
            Err(error) => {
                tracing::error!(%error, command = spec.name, "could not record a permission refusal in the audit log");
            }
        }
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

/// A message context-menu command Gavel does not know: one a Discord client still lists from
/// its cached command list after an update removed it. It has no slash to type, so the slash
/// command's did-you-mean would only confuse.
fn unknown_message_action(name: &str) -> Reply {
    Reply::ephemeral(format!(
        "Gavel has no message action called “{name}” (it may have been removed in an update). \
         The ones it offers are under Apps when you right-click a message (long-press on \
         mobile); `/help` lists its commands."
    ))
}

fn may_run(spec: &CommandSpec, invocation: &Invocation) -> bool {
    spec.requires
        .is_none_or(|cap| invocation.actor.capabilities.contains(cap))
}
