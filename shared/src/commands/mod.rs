//! Command definitions and the registry that dispatches to them.
//!
//! A command is defined once, as a [`CommandSpec`] plus a [`Command`] implementation, and serves
//! both platforms: Discord registers the spec as an application command, Slack parses the slash
//! command's text against the same option list.

pub mod appeal;
mod help;
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
use crate::moderation::{AuditAction, AuditEntry, ModSettings, SettingsCache};
use crate::reply::{Reply, Response};
use crate::store::{Store, WriteOp};

pub use appeal::{Appeal, ListAppeals};
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

    async fn run(&self, ctx: &CommandContext<'_>) -> Response;
}

/// The commands this deployment serves, and what this instance remembers for them.
pub struct CommandRegistry {
    commands: Vec<Box<dyn Command>>,
    settings: SettingsCache,
}

impl CommandRegistry {
    pub fn new(commands: Vec<Box<dyn Command>>) -> Self {
        Self {
            commands,
            settings: SettingsCache::new(),
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
        Self::new(commands)
    }

    /// This instance's copy of the communities' moderation settings (read at most once a
    /// minute; `/modconfig` replaces it when it saves).
    pub fn settings_cache(&self) -> &SettingsCache {
        &self.settings
    }

    /// Registers every command's flows with `engine`.
    pub fn register_flows(&self, engine: &mut FlowEngine) {
        for command in &self.commands {
            command.register_flows(engine);
        }
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
            .find(|c| {
                let spec = c.spec();
                spec.name.eq_ignore_ascii_case(name)
                    || spec
                        .context_menu
                        .is_some_and(|menu| menu.eq_ignore_ascii_case(name))
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

fn may_run(spec: &CommandSpec, invocation: &Invocation) -> bool {
    spec.requires
        .is_none_or(|cap| invocation.actor.capabilities.contains(cap))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::flows::component_id::ComponentKey;
    use crate::invocation::{Actor, Capabilities, OptionValue, Platform};
    use crate::store::{Item, ItemKey, NewItem, Page, PageRequest, Store, StoreError, WriteOp};

    /// A moderator-only command, standing in for the moderation commands to come.
    struct Ban;

    static BAN: CommandSpec = CommandSpec {
        name: "ban",
        description: "Ban a member",
        options: &[
            OptionSpec {
                name: "user",
                description: "Who to ban",
                kind: OptionKind::User,
                required: true,
            },
            OptionSpec {
                name: "reason",
                description: "Why",
                kind: OptionKind::String,
                required: false,
            },
        ],
        requires: Some(Capability::BanMembers),
        context_menu: None,
    };

    #[async_trait]
    impl Command for Ban {
        fn spec(&self) -> &'static CommandSpec {
            &BAN
        }

        async fn run(&self, _: &CommandContext<'_>) -> Response {
            Reply::public("banned").into()
        }
    }

    fn registry() -> CommandRegistry {
        CommandRegistry::new(vec![Box::new(Help), Box::new(Ping), Box::new(Ban)])
    }

    /// These commands keep no state: a store that refuses every call proves they never
    /// touch it (flows are tested over real stores in the tests crate). A refusal does try to
    /// write its audit entry, and shows that a failed write leaves the answer as it is.
    struct NoStore;

    #[async_trait]
    impl Store for NoStore {
        async fn get(&self, _: &ItemKey) -> Result<Option<Item>, StoreError> {
            Err(refused())
        }
        async fn create(&self, _: NewItem) -> Result<Item, StoreError> {
            Err(refused())
        }
        async fn update(&self, _: NewItem, _: u64) -> Result<Item, StoreError> {
            Err(refused())
        }
        async fn delete(&self, _: &ItemKey, _: Option<u64>) -> Result<(), StoreError> {
            Err(refused())
        }
        async fn increment(
            &self,
            _: &ItemKey,
            _: i64,
            _: Option<i64>,
            _: Option<i64>,
        ) -> Result<i64, StoreError> {
            Err(refused())
        }
        async fn transact(&self, _: Vec<WriteOp>) -> Result<(), StoreError> {
            Err(refused())
        }
        async fn advance(&self, _: &ItemKey, _: i64, _: i64) -> Result<i64, StoreError> {
            Err(refused())
        }
        async fn query(&self, _: &str, _: &str, _: PageRequest) -> Result<Page, StoreError> {
            Err(refused())
        }
        async fn due_by(&self, _: &str, _: i64, _: PageRequest) -> Result<Page, StoreError> {
            Err(refused())
        }
        async fn scan(&self, _: PageRequest) -> Result<Page, StoreError> {
            Err(refused())
        }
        async fn delete_expired(&self, _: &ItemKey) -> Result<bool, StoreError> {
            Err(refused())
        }
    }

    fn refused() -> StoreError {
        StoreError::Backend("these tests must not touch the store".into())
    }

    fn flows() -> FlowEngine {
        FlowEngine::new(
            Arc::new(NoStore),
            Arc::new(ManualClock::at_secs(1_764_000_000)),
            ComponentKey::random(),
        )
    }

    fn reply_of(response: Response) -> Reply {
        match response {
            Response::Message(reply) => reply,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    fn invocation(
        name: &str,
        options: Vec<(String, OptionValue)>,
        caps: Capabilities,
    ) -> Invocation {
        Invocation {
            id: "1".into(),
            platform: Platform::Discord,
            tenant: "1174109840998400001".into(),
            channel: Some("1174109840998400002".into()),
            actor: Actor {
                id: "1174109840998400010".into(),
                display_name: None,
                capabilities: caps,
            },
            action: Action::Command(CommandCall {
                name: name.into(),
                options,
            }),
            response_url: None,
            trigger_id: None,
            interaction_token: None,
            app: None,
        }
    }

    fn moderator() -> Capabilities {
        [Capability::BanMembers].into_iter().collect()
    }

    async fn run(name: &str, options: Vec<(String, OptionValue)>, caps: Capabilities) -> Reply {
        reply_of(
            registry()
                .dispatch(&invocation(name, options, caps), Instant::now(), &flows())
                .await,
        )
    }

    fn field_names(reply: &Reply) -> Vec<&str> {
        reply.fields.iter().map(|f| f.name.as_str()).collect()
    }

    #[tokio::test]
    async fn help_lists_only_the_commands_the_invoker_may_run() {
        let member = run("help", vec![], Capabilities::NONE).await;
        assert!(member.is_ephemeral());
        assert_eq!(field_names(&member), vec!["/help [command]", "/ping"]);

        let moderator = run("help", vec![], moderator()).await;
        assert_eq!(
            field_names(&moderator),
            vec!["/help [command]", "/ping", "/ban <user> [reason]"]
        );
        // Other capabilities do not unlock it.
        let kicker = run(
            "help",
            vec![],
            [Capability::KickMembers].into_iter().collect(),
        )
        .await;
        assert!(!field_names(&kicker).contains(&"/ban <user> [reason]"));
    }

    #[tokio::test]
    async fn help_for_one_command_explains_its_options_if_the_invoker_may_run_it() {
        let about = vec![("command".into(), OptionValue::String("/Ban".into()))];
        let reply = run("help", about.clone(), moderator()).await;
        assert_eq!(reply.text, "`/ban <user> [reason]`: Ban a member");
        assert_eq!(field_names(&reply), vec!["user", "reason"]);
        assert_eq!(reply.fields[0].value, "Who to ban (required)");
        assert_eq!(reply.fields[1].value, "Why (optional)");

        let reply = run("help", about, Capabilities::NONE).await;
        assert!(
            reply.text.contains("no command `/Ban` that you can use"),
            "{}",
            reply.text
        );
        assert!(reply.fields.is_empty());
    }

    #[tokio::test]
    async fn a_refusal_names_the_missing_permission_even_if_it_cannot_be_audited() {
        let reply = run("ban", vec![], Capabilities::NONE).await;
        assert!(reply.is_ephemeral());
        assert_eq!(
            reply.text,
            "You need the Ban Members permission to use `/ban`."
        );
        assert_eq!(
            run("ban", vec![], moderator()).await,
            Reply::public("banned")
        );
    }

    #[tokio::test]
    async fn command_names_match_case_insensitively() {
        let reply = run("PING", vec![], Capabilities::NONE).await;
        assert!(reply.text.starts_with("Pong!"), "{}", reply.text);
    }

    #[tokio::test]
    async fn ping_answers_ephemerally_with_the_version() {
        let reply = run("ping", vec![], Capabilities::NONE).await;
        assert!(reply.is_ephemeral());
        assert!(reply.text.starts_with("Pong! Gavel "), "{}", reply.text);
        assert!(reply.text.contains(crate::VERSION), "{}", reply.text);
        assert!(reply.text.ends_with(" ms."), "{}", reply.text);
    }

    #[tokio::test]
    async fn an_unknown_command_suggests_a_close_one_within_distance_two() {
        for (typed, suggestion) in [
            ("pign", "ping"),
            ("pin", "ping"),
            ("hlep", "help"),
            ("HELPP", "help"),
        ] {
            let reply = run(typed, vec![], Capabilities::NONE).await;
            assert!(reply.is_ephemeral());
            assert!(
                reply
                    .text
                    .contains(&format!("Did you mean `/{suggestion}`?")),
                "{typed}: {}",
                reply.text
            );
            assert!(
                reply
                    .text
                    .contains(&format!("I don't know the command `/{typed}`.")),
                "{}",
                reply.text
            );
        }
    }

    #[tokio::test]
    async fn an_unknown_command_beyond_distance_two_gets_no_suggestion() {
        // "pxyz" is three edits from "ping"; "frobnicate" is far from everything.
        for typed in ["pxyz", "frobnicate"] {
            let reply = run(typed, vec![], moderator()).await;
            assert!(
                !reply.text.contains("Did you mean"),
                "{typed}: {}",
                reply.text
            );
            assert!(
                reply
                    .text
                    .contains("Commands you can use: `/help`, `/ping`, `/ban`."),
                "{}",
                reply.text
            );
        }
    }

    #[tokio::test]
    async fn suggestions_and_the_list_leave_out_commands_the_invoker_may_not_run() {
        let member = run("bam", vec![], Capabilities::NONE).await;
        assert!(!member.text.contains("/ban"), "{}", member.text);
        assert!(
            member
                .text
                .contains("Commands you can use: `/help`, `/ping`."),
            "{}",
            member.text
        );

        let moderator = run("bam", vec![], moderator()).await;
        assert!(
            moderator.text.contains("Did you mean `/ban`?"),
            "{}",
            moderator.text
        );
    }

    #[tokio::test]
    async fn components_and_modals_without_a_flow_are_told_to_start_again() {
        let mut invocation = invocation("ping", vec![], Capabilities::NONE);
        for action in [
            Action::Component {
                custom_id: "gavel:old".into(),
            },
            Action::ModalSubmit {
                custom_id: "gavel:old".into(),
                fields: vec![],
            },
        ] {
            let submitted = matches!(action, Action::ModalSubmit { .. });
            invocation.action = action;
            let response = registry()
                .dispatch(&invocation, Instant::now(), &flows())
                .await;
            let reply = match (response, submitted) {
                (Response::Message(reply), false) | (Response::FormDone(reply), true) => reply,
                (other, _) => panic!("unexpected {other:?}"),
            };
            assert!(reply.is_ephemeral());
            assert!(reply.text.contains("no longer active"), "{}", reply.text);
        }
    }

    #[test]
    fn usage_marks_required_and_optional_options() {
        assert_eq!(BAN.usage(), "/ban <user> [reason]");
        assert_eq!(
            registry().spec("PING").map(|s| s.usage()),
            Some("/ping".into())
        );
        assert_eq!(registry().spec("nope"), None);
    }
}
