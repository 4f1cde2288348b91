//! The command registry's dispatch, with stand-in commands: `/help` and suggestions show only
//! what the invoker may run, refusals name the missing permission, and clicks on forgotten
//! flows are told to start again. None of it touches the store.

use std::sync::Arc;

use std::time::Instant;

use async_trait::async_trait;
use gavel_shared::clock::ManualClock;
use gavel_shared::commands::{
    Command, CommandContext, CommandRegistry, CommandSpec, Help, OptionKind, OptionSpec, Ping,
};
use gavel_shared::flows::FlowEngine;
use gavel_shared::flows::component_id::ComponentKey;
use gavel_shared::invocation::{
    Action, Actor, Capabilities, Capability, CommandCall, Invocation, OptionValue, Platform,
    TargetMessage,
};
use gavel_shared::reply::{Reply, Response};
use gavel_shared::store::StoreError;
use gavel_tests::faulty::{FailOn, Faulty};
use gavel_tests::in_memory_store;

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
    message_menu: None,
    read_only: false,
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
/// touch it (flows are tested over real stores in the other suites). A refusal does try to
/// write its audit entry, and shows that a failed write leaves the answer as it is.
fn no_store() -> Faulty {
    Faulty::failing(
        in_memory_store(Arc::new(ManualClock::at_secs(1_764_000_000))),
        FailOn::everything(),
        StoreError::Backend("these tests must not touch the store".into()),
    )
}

fn flows() -> FlowEngine {
    FlowEngine::new(
        Arc::new(no_store()),
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

fn invocation(name: &str, options: Vec<(String, OptionValue)>, caps: Capabilities) -> Invocation {
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
            bots: Vec::new(),
            message: None,
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
    assert!(reply.text.contains(gavel_shared::VERSION), "{}", reply.text);
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

/// A message context-menu command has no slash to type: an unknown one is told it is a message
/// action Gavel does not have, not offered a slash command's did-you-mean.
#[tokio::test]
async fn an_unknown_message_action_is_named_as_one() {
    let mut invocation = invocation("pin message", vec![], Capabilities::NONE);
    let Action::Command(call) = &mut invocation.action else {
        unreachable!("the helper builds a command");
    };
    call.message = Some(TargetMessage {
        id: "1174109840998400050".into(),
        channel: "1174109840998400002".into(),
        author: "1174109840998400020".into(),
        author_is_bot: false,
        content: "hello".into(),
    });
    let reply = reply_of(
        registry()
            .dispatch(&invocation, Instant::now(), &flows())
            .await,
    );
    assert!(reply.is_ephemeral());
    assert!(
        reply
            .text
            .starts_with("Gavel has no message action called “pin message”"),
        "{}",
        reply.text
    );
    assert!(!reply.text.contains("Did you mean"), "{}", reply.text);
    assert!(
        !reply.text.contains("I don't know the command"),
        "{}",
        reply.text
    );
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
