//! A verified webhook update → what the edge acts on.
//!
//! frankenstein's `Update` is a closed enum: an update type it does not know (Telegram adds
//! them) would fail the whole parse. So the body is read as JSON first, the `update_id` and
//! the update's one field taken by name, and only the kinds Gavel handles (`message`,
//! `edited_message`, `callback_query`, `chat_member`) parsed with frankenstein's types.
//! Anything else, or a message of a shape its types refuse, is [`TelegramUpdate::Unhandled`]:
//! the edge answers 200 and logs it, because Telegram retries every other answer for a day.
//!
//! A plain `@ann` carries no user id, so the edge reads the body once ([`read_update`]), asks
//! [`read_ahead`] which usernames a command names and who the update shows, looks the names up
//! in the group's directory ([`usernames`](super::usernames)), and hands what it found to
//! [`parse_update`], which stays pure.

use std::collections::HashMap;

use frankenstein::types::{
    CallbackQuery, ChatMember, ChatMemberUpdated, ChatType, MaybeInaccessibleMessage, Message,
    MessageEntity, MessageEntityType, User,
};
use serde_json::Value;

use crate::commands::CommandRegistry;
use crate::invocation::{
    Action, Actor, Capabilities, CommandCall, Invocation, OptionValue, Platform, TargetMessage,
};
use crate::slack::options_from_text;

use super::usernames::{Seen, Sighting, normal_username};

/// Where a Telegram reply goes: the chat, and the message it answers (if any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    pub chat: String,
    pub message: Option<String>,
}

/// A verified update, read.
#[derive(Debug)]
pub enum TelegramUpdate {
    /// A command for Gavel, with its options read against the command's spec.
    Command {
        update_id: i64,
        invocation: Box<Invocation>,
        at: ChatMessage,
    },
    /// A command whose text does not fit it: the answer is its usage, and nothing runs.
    Usage {
        update_id: i64,
        text: String,
        at: ChatMessage,
    },
    /// A click on one of Gavel's buttons.
    Callback {
        update_id: i64,
        callback_id: String,
        invocation: Box<Invocation>,
        /// The message with the buttons, to edit (`None` when Telegram no longer has it).
        at: Option<ChatMessage>,
    },
    /// A member's message in a group (new or edited), for AutoMod.
    GroupMessage { update_id: i64, seen: SeenMessage },
    /// A member joined, left or changed in a group (`chat_member`): only their username is
    /// learned (members without one, and bots, are left out of `seen`).
    MemberChanged { update_id: i64, seen: Seen },
    /// Verified, but nothing Gavel handles (or a shape it cannot read).
    Unhandled {
        update_id: Option<i64>,
        kind: String,
    },
}

/// A member's message in a group: what AutoMod checks.
#[derive(Clone, Debug, PartialEq)]
pub struct SeenMessage {
    /// The group's chat id.
    pub tenant: String,
    pub message: TargetMessage,
    pub edited: bool,
    pub at_secs: i64,
}

/// What the edge reads from an update before acting on it.
#[derive(Debug, Default, PartialEq)]
pub struct Ahead {
    /// The members a group message shows with their usernames, to record.
    pub seen: Option<Seen>,
    /// The group's chat id, and the usernames (lower-cased) a command names its member by, to
    /// look up: only a `mention` where the command's user option is read, and only when the
    /// command is no reply (the replied-to author is the member then, as without usernames).
    pub mentioned: Option<(String, Vec<String>)>,
}

/// A verified update's body, read once: what [`read_ahead`] and [`parse_update`] both look at,
/// so neither parses the JSON nor deserializes the message again.
#[derive(Debug)]
pub struct Incoming {
    update_id: Option<i64>,
    content: Content,
}

#[derive(Debug)]
enum Content {
    Message {
        message: Box<Message>,
        edited: bool,
    },
    Callback(Box<CallbackQuery>),
    Member(Box<ChatMemberUpdated>),
    /// Nothing Gavel reads: the kind of update, or why the body cannot be read.
    Other(String),
}

const NOT_JSON: &str = "not JSON";

/// Reads a verified update's body (see the module's notes on leniency).
pub fn read_update(body: &[u8]) -> Incoming {
    let other = |update_id, why: &str| Incoming {
        update_id,
        content: Content::Other(why.to_owned()),
    };
    let Ok(update) = serde_json::from_slice::<Value>(body) else {
        return other(None, NOT_JSON);
    };
    let update_id = update["update_id"].as_i64();
    let Some(object) = update.as_object() else {
        return other(update_id, "not an object");
    };
    let Some((kind, content)) = object.iter().find(|(key, _)| *key != "update_id") else {
        return other(update_id, "empty");
    };
    let content = match kind.as_str() {
        "message" | "edited_message" => match serde_json::from_value::<Message>(content.clone()) {
            Ok(message) => Content::Message {
                message: Box::new(message),
                edited: kind == "edited_message",
            },
            Err(error) => {
                tracing::info!(%error, kind, "Telegram message Gavel cannot read");
                Content::Other(kind.clone())
            }
        },
        "callback_query" => match serde_json::from_value::<CallbackQuery>(content.clone()) {
            Ok(query) => Content::Callback(Box::new(query)),
            Err(error) => {
                tracing::info!(%error, "Telegram callback query Gavel cannot read");
                Content::Other(kind.clone())
            }
        },
        "chat_member" => match serde_json::from_value::<ChatMemberUpdated>(content.clone()) {
            Ok(changed) => Content::Member(Box::new(changed)),
            Err(error) => {
                tracing::info!(%error, "Telegram member update Gavel cannot read");
                Content::Other(kind.clone())
            }
        },
        other => Content::Other(other.to_owned()),
    };
    Incoming { update_id, content }
}

/// Who a message update shows, and which usernames it needs looked up; nothing for other
/// updates or shapes (a `chat_member` update's members are in [`TelegramUpdate::MemberChanged`]).
pub fn read_ahead(
    incoming: &Incoming,
    registry: &CommandRegistry,
    bot_username: Option<&str>,
) -> Ahead {
    let Content::Message { message, edited } = &incoming.content else {
        return Ahead::default();
    };
    let edited = *edited;
    if !matches!(
        message.chat.type_field,
        ChatType::Group | ChatType::Supergroup
    ) {
        return Ahead::default();
    }
    let group = message.chat.id.to_string();
    let (text, entities) = text_of(message);
    let replied_to = message
        .reply_to_message
        .as_deref()
        .and_then(|m| m.from.as_deref());
    let mut users: Vec<&User> = message.from.as_deref().into_iter().collect();
    users.extend(replied_to);
    users.extend(entities.iter().filter_map(|e| e.user.as_ref()));
    users.extend(message.new_chat_members.iter().flatten());
    let members = users.into_iter().filter_map(sighting).collect();
    let mentioned = (!edited && replied_to.is_none())
        .then(|| command_of(text, entities, bot_username))
        .flatten()
        .filter(|(name, _)| names_a_member(registry, name))
        .and_then(|(_, args)| target_mention(text, entities, args))
        .map(|(username, _, _)| (group.clone(), vec![username]));
    Ahead {
        seen: Some(Seen { group, members }),
        mentioned,
    }
}

/// A user worth recording: one with a username, and no bot (bots are never moderated).
fn sighting(user: &User) -> Option<Sighting> {
    if user.is_bot {
        return None;
    }
    Sighting::new(user.username.as_deref()?, user.id, &user.first_name)
}

/// Whether the command's first option is a member (the one a reply or mention fills).
fn names_a_member(registry: &CommandRegistry, name: &str) -> bool {
    registry
        .spec(name)
        .and_then(|spec| spec.options.first())
        .is_some_and(|first| first.kind == crate::commands::OptionKind::User)
}

/// A message's text (or caption) and its entities.
fn text_of(message: &Message) -> (&str, &[MessageEntity]) {
    let text = message
        .text
        .as_deref()
        .or(message.caption.as_deref())
        .unwrap_or_default();
    let entities = message
        .entities
        .as_deref()
        .or(message.caption_entities.as_deref())
        .unwrap_or_default();
    (text, entities)
}

/// The `mention` (`@ann`) that is the first word of a command's arguments (from byte `args`
/// on): its lower-cased username and byte range.
fn target_mention(
    text: &str,
    entities: &[MessageEntity],
    args: usize,
) -> Option<(String, usize, usize)> {
    let rest = text.get(args..)?;
    let first_word = args + (rest.len() - rest.trim_start().len());
    entities.iter().find_map(|entity| {
        let start = byte_index(text, usize::from(entity.offset))?;
        let end = byte_index(
            text,
            usize::from(entity.offset) + usize::from(entity.length),
        )?;
        (entity.type_field == MessageEntityType::Mention && start == first_word)
            .then(|| normal_username(text.get(start..end)?))
            .flatten()
            .map(|username| (username, start, end))
    })
}

/// Reads a verified update. `bot_username` (without `@`), when known, keeps commands meant
/// for another bot in the group (`/warn@OtherBot`) from running here. `known` holds the
/// usernames [`read_ahead`] listed that the group's directory knows (lower-cased → user id):
/// a known `@ann` names that member, an unknown one is answered with how to name them.
pub fn parse_update(
    incoming: Incoming,
    registry: &CommandRegistry,
    bot_username: Option<&str>,
    known: &HashMap<String, String>,
) -> TelegramUpdate {
    let Some(update_id) = incoming.update_id else {
        let why = match &incoming.content {
            Content::Other(why) if why == NOT_JSON => NOT_JSON,
            _ => "no update_id",
        };
        return unhandled(None, why);
    };
    match incoming.content {
        Content::Message { message, edited } => {
            from_message(update_id, &message, edited, registry, bot_username, known)
        }
        Content::Callback(query) => from_callback(update_id, *query),
        Content::Member(changed) => from_member_change(update_id, &changed),
        Content::Other(kind) => unhandled(Some(update_id), &kind),
    }
}

/// A member's change in a group: who they are now, to learn their username.
fn from_member_change(update_id: i64, changed: &ChatMemberUpdated) -> TelegramUpdate {
    if !matches!(
        changed.chat.type_field,
        ChatType::Group | ChatType::Supergroup
    ) {
        return unhandled(Some(update_id), "member update outside a group");
    }
    let user = match &changed.new_chat_member {
        ChatMember::Creator(m) => &m.user,
        ChatMember::Administrator(m) => &m.user,
        ChatMember::Member(m) => &m.user,
        ChatMember::Restricted(m) => &m.user,
        ChatMember::Left(m) => &m.user,
        ChatMember::Kicked(m) => &m.user,
    };
    TelegramUpdate::MemberChanged {
        update_id,
        seen: Seen {
            group: changed.chat.id.to_string(),
            members: sighting(user).into_iter().collect(),
        },
    }
}

fn unhandled(update_id: Option<i64>, kind: &str) -> TelegramUpdate {
    TelegramUpdate::Unhandled {
        update_id,
        kind: kind.chars().take(40).collect(),
    }
}

/// The community a chat belongs to: a group is its own; a private chat with the bot is the
/// member's own, outside any community (like Discord's DMs, `dm:{user}`).
fn tenant_of(chat_id: i64, chat_type: ChatType, user: u64) -> Option<String> {
    match chat_type {
        ChatType::Group | ChatType::Supergroup => Some(chat_id.to_string()),
        ChatType::Private => Some(format!("dm:{user}")),
        // Channels have no members to moderate; their posts are not commands.
        ChatType::Channel => None,
    }
}

fn actor(user: &User) -> Actor {
    Actor {
        id: user.id.to_string(),
        display_name: Some(user.first_name.clone()),
        // From `getChatMember`, asked only by a request that needs to know (the edge).
        capabilities: Capabilities::NONE,
    }
}

fn from_message(
    update_id: i64,
    message: &Message,
    edited: bool,
    registry: &CommandRegistry,
    bot_username: Option<&str>,
    known: &HashMap<String, String>,
) -> TelegramUpdate {
    let Some(from) = message.from.as_deref() else {
        return unhandled(Some(update_id), "message without a sender");
    };
    let chat = &message.chat;
    let Some(tenant) = tenant_of(chat.id, chat.type_field, from.id) else {
        return unhandled(Some(update_id), "channel post");
    };
    let (text, entities) = text_of(message);
    let at = ChatMessage {
        chat: chat.id.to_string(),
        message: Some(message.message_id.to_string()),
    };
    let command = (!edited)
        .then(|| command_of(text, entities, bot_username))
        .flatten();
    let Some((name, args)) = command else {
        let in_group = matches!(chat.type_field, ChatType::Group | ChatType::Supergroup);
        if !in_group || from.is_bot || text.is_empty() {
            return unhandled(Some(update_id), "message");
        }
        return TelegramUpdate::GroupMessage {
            update_id,
            seen: SeenMessage {
                tenant,
                message: TargetMessage {
                    id: message.message_id.to_string(),
                    channel: chat.id.to_string(),
                    author: from.id.to_string(),
                    author_is_bot: false,
                    content: canonical_text(text, entities, 0, known),
                },
                edited,
                at_secs: message
                    .edit_date
                    .filter(|_| edited)
                    .unwrap_or(message.date)
                    .try_into()
                    .unwrap_or(i64::MAX),
            },
        };
    };
    let replied_to = message
        .reply_to_message
        .as_deref()
        .and_then(|m| m.from.as_deref());
    if replied_to.is_none()
        && names_a_member(registry, &name)
        && let Some((username, _, _)) = target_mention(text, entities, args)
        && !known.contains_key(&username)
    {
        return TelegramUpdate::Usage {
            update_id,
            text: format!(
                "Gavel has not seen @{username} in this group yet, and Telegram does not let bots look members up by username. Reply to one of their messages with the command, or pick them from the mention list."
            ),
            at,
        };
    }
    let args = canonical_text(text, entities, args, known);
    let options = match registry.spec(&name) {
        Some(spec) => {
            // A moderation command used as a reply names the replied-to member, where the
            // text names nobody: their mention goes first, as if typed.
            let names_user = args.trim_start().starts_with("<@");
            let args = match (spec.options.first(), replied_to) {
                (Some(first), Some(author))
                    if first.kind == crate::commands::OptionKind::User && !names_user =>
                {
                    format!("<@{}> {args}", author.id)
                }
                _ => args,
            };
            match options_from_text(spec, &args) {
                Ok(options) => options,
                Err(usage) => {
                    return TelegramUpdate::Usage {
                        update_id,
                        text: format!(
                            "{usage}\nOn Telegram, name a member by replying to one of their messages, by picking them from the mention list, or by their @username once Gavel has seen them in this group."
                        ),
                        at,
                    };
                }
            }
        }
        None => Vec::<(String, OptionValue)>::new(),
    };
    let invocation = Invocation {
        id: update_id.to_string(),
        platform: Platform::Telegram,
        tenant,
        channel: Some(chat.id.to_string()),
        actor: actor(from),
        action: Action::Command(CommandCall {
            name,
            options,
            bots: replied_to
                .filter(|u| u.is_bot)
                .map(|u| vec![u.id.to_string()])
                .unwrap_or_default(),
            message: None,
        }),
        response_url: None,
        trigger_id: None,
        interaction_token: None,
        app: None,
    };
    TelegramUpdate::Command {
        update_id,
        invocation: Box::new(invocation),
        at,
    }
}

/// The command a message starts with (`/warn` or `/warn@GavelBot`), lower-case, and the
/// byte offset where its arguments start; `None` for ordinary messages and for commands
/// addressed to another bot.
fn command_of(
    text: &str,
    entities: &[MessageEntity],
    bot_username: Option<&str>,
) -> Option<(String, usize)> {
    let entity = entities.first()?;
    if entity.type_field != MessageEntityType::BotCommand || entity.offset != 0 {
        return None;
    }
    let end = byte_index(text, usize::from(entity.length))?;
    let word = text.get(1..end)?;
    let (name, addressed) = match word.split_once('@') {
        Some((name, bot)) => (name, Some(bot)),
        None => (word, None),
    };
    if let (Some(addressed), Some(ours)) = (addressed, bot_username)
        && !addressed.eq_ignore_ascii_case(ours)
    {
        return None;
    }
    Some((name.to_ascii_lowercase(), end))
}

/// The text from byte `from` on, with each `text_mention` (a member picked from the mention
/// list, who may have no username) and each `mention` of a `known` username written `<@id>`,
/// the form the text-option parser and the rest of Gavel read mentions in.
fn canonical_text(
    text: &str,
    entities: &[MessageEntity],
    from: usize,
    known: &HashMap<String, String>,
) -> String {
    let mut out = String::new();
    let mut at = from;
    for entity in entities {
        let (Some(start), Some(end)) = (
            byte_index(text, usize::from(entity.offset)),
            byte_index(
                text,
                usize::from(entity.offset) + usize::from(entity.length),
            ),
        ) else {
            continue;
        };
        let id = match (&entity.user, entity.type_field) {
            (Some(user), MessageEntityType::TextMention) => user.id.to_string(),
            (_, MessageEntityType::Mention) => {
                let username = text.get(start..end).and_then(normal_username);
                match username.and_then(|u| known.get(&u)) {
                    Some(id) => id.clone(),
                    None => continue,
                }
            }
            _ => continue,
        };
        if start < at {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(&format!("<@{id}>"));
        at = end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}

/// The byte index of a UTF-16 offset (Telegram counts entity offsets in UTF-16 code units);
/// `None` past the end or inside a character.
fn byte_index(text: &str, utf16: usize) -> Option<usize> {
    let mut units = 0;
    for (index, c) in text.char_indices() {
        if units == utf16 {
            return Some(index);
        }
        if units > utf16 {
            return None;
        }
        units += c.len_utf16();
    }
    (units == utf16).then_some(text.len())
}

fn from_callback(update_id: i64, query: CallbackQuery) -> TelegramUpdate {
    let message = match &query.message {
        Some(MaybeInaccessibleMessage::Message(message)) => {
            Some((message.chat.id, message.chat.type_field, message.message_id))
        }
        Some(MaybeInaccessibleMessage::InaccessibleMessage(message)) => {
            Some((message.chat.id, message.chat.type_field, message.message_id))
        }
        None => None,
    };
    let Some((chat_id, chat_type, message_id)) = message else {
        return unhandled(Some(update_id), "callback without a message");
    };
    let Some(tenant) = tenant_of(chat_id, chat_type, query.from.id) else {
        return unhandled(Some(update_id), "callback in a channel");
    };
    let invocation = Invocation {
        id: update_id.to_string(),
        platform: Platform::Telegram,
        tenant,
        channel: Some(chat_id.to_string()),
        actor: actor(&query.from),
        // The compact id is expanded by the edge, which knows the registered flows.
        action: Action::Component {
            custom_id: query.data.clone().unwrap_or_default(),
        },
        response_url: None,
        trigger_id: None,
        interaction_token: None,
        app: None,
    };
    let at = (!matches!(
        query.message,
        Some(MaybeInaccessibleMessage::InaccessibleMessage(_))
    ))
    .then(|| ChatMessage {
        chat: chat_id.to_string(),
        message: Some(message_id.to_string()),
    });
    TelegramUpdate::Callback {
        update_id,
        callback_id: query.id,
        invocation: Box::new(invocation),
        at,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn registry() -> CommandRegistry {
        CommandRegistry::standard()
    }

    fn message(text: &str, entities: Value) -> Value {
        json!({
            "update_id": 10,
            "message": {
                "message_id": 7,
                "date": 1764000000,
                "chat": { "id": -1001234567890i64, "type": "supergroup", "title": "Gavel test" },
                "from": { "id": 111, "is_bot": false, "first_name": "Mod" },
                "text": text,
                "entities": entities,
                "reply_to_message": {
                    "message_id": 6,
                    "date": 1763999990,
                    "chat": { "id": -1001234567890i64, "type": "supergroup", "title": "Gavel test" },
                    "from": { "id": 222, "is_bot": false, "first_name": "Ann" },
                    "text": "spam spam"
                }
            }
        })
    }

    fn parse(update: &Value, bot: Option<&str>) -> TelegramUpdate {
        parse_update(
            read_update(update.to_string().as_bytes()),
            &registry(),
            bot,
            &HashMap::new(),
        )
    }

    fn command_options(update: TelegramUpdate) -> (String, Vec<(String, OptionValue)>) {
        match update {
            TelegramUpdate::Command { invocation, .. } => match invocation.action {
                Action::Command(call) => (call.name, call.options),
                other => panic!("{other:?}"),
            },
            other => panic!("expected a command, got {other:?}"),
        }
    }

    #[test]
    fn a_reply_names_the_replied_to_member_and_the_text_the_rest() {
        let update = message(
            "/warn@GavelBot spamming links",
            json!([{ "type": "bot_command", "offset": 0, "length": 14 }]),
        );
        let (name, options) = command_options(parse(&update, Some("gavelbot")));
        assert_eq!(name, "warn");
        assert_eq!(
            options,
            vec![
                ("user".into(), OptionValue::User("222".into())),
                (
                    "reason".into(),
                    OptionValue::String("spamming links".into())
                ),
            ]
        );
    }

    #[test]
    fn a_text_mention_names_its_member_even_after_other_scripts() {
        // "Ünïcödé 😀" before the mention shifts UTF-16 offsets away from byte offsets.
        let text = "/warn Bob 😀 é";
        let update = message(
            text,
            json!([
                { "type": "bot_command", "offset": 0, "length": 5 },
                { "type": "text_mention", "offset": 6, "length": 3, "user": { "id": 333, "is_bot": false, "first_name": "Bob" } }
            ]),
        );
        let (_, options) = command_options(parse(&update, None));
        assert_eq!(options[0], ("user".into(), OptionValue::User("333".into())));
        assert_eq!(
            options.last().unwrap().1,
            OptionValue::String("😀 é".into())
        );
    }

    #[test]
    fn commands_for_another_bot_and_unknown_updates_are_left_alone() {
        let update = message(
            "/warn@OtherBot spam",
            json!([{ "type": "bot_command", "offset": 0, "length": 14 }]),
        );
        assert!(matches!(
            parse(&update, Some("GavelBot")),
            TelegramUpdate::GroupMessage { .. }
        ));
        for body in [
            json!({ "update_id": 11, "message_reaction_count": { "whatever": 1 } }),
            json!({ "update_id": 12, "some_future_update": {} }),
            json!({ "update_id": 13, "message": { "no": "fields" } }),
            json!({ "no_update_id": true }),
        ] {
            assert!(
                matches!(parse(&body, None), TelegramUpdate::Unhandled { .. }),
                "{body}"
            );
        }
        assert!(matches!(
            parse_update(
                read_update(b"\xff garbage"),
                &registry(),
                None,
                &HashMap::new()
            ),
            TelegramUpdate::Unhandled {
                update_id: None,
                ..
            }
        ));
    }

    fn without_reply(text: &str, entities: Value) -> Value {
        let mut update = message(text, entities);
        update["message"]
            .as_object_mut()
            .unwrap()
            .remove("reply_to_message");
        update
    }

    fn warn_at_ann(username: &str) -> Value {
        without_reply(
            &format!("/warn {username} spam"),
            json!([
                { "type": "bot_command", "offset": 0, "length": 5 },
                { "type": "mention", "offset": 6, "length": username.len() }
            ]),
        )
    }

    fn parse_known(update: &Value, known: &[(&str, &str)]) -> TelegramUpdate {
        let known = known
            .iter()
            .map(|(u, id)| (u.to_string(), id.to_string()))
            .collect();
        parse_update(
            read_update(update.to_string().as_bytes()),
            &registry(),
            None,
            &known,
        )
    }

    #[test]
    fn a_known_username_names_its_member_whatever_its_case() {
        let update = warn_at_ann("@Ann");
        let ahead = read_ahead(
            &read_update(update.to_string().as_bytes()),
            &registry(),
            None,
        );
        assert_eq!(
            ahead.mentioned,
            Some(("-1001234567890".to_owned(), vec!["ann".to_owned()]))
        );
        let (name, options) = command_options(parse_known(&update, &[("ann", "222")]));
        assert_eq!(name, "warn");
        assert_eq!(
            options,
            vec![
                ("user".into(), OptionValue::User("222".into())),
                ("reason".into(), OptionValue::String("spam".into())),
            ]
        );
    }

    #[test]
    fn an_unknown_username_is_answered_with_how_to_name_a_member() {
        match parse_known(&warn_at_ann("@ann"), &[("bob", "333")]) {
            TelegramUpdate::Usage { text, .. } => {
                assert!(text.contains("has not seen @ann"), "{text}");
                assert!(text.contains("Reply to one of their messages"), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_reply_still_names_the_replied_to_member_over_a_username() {
        let update = message(
            "/warn @ann spam",
            json!([
                { "type": "bot_command", "offset": 0, "length": 5 },
                { "type": "mention", "offset": 6, "length": 4 }
            ]),
        );
        let ahead = read_ahead(
            &read_update(update.to_string().as_bytes()),
            &registry(),
            None,
        );
        assert_eq!(ahead.mentioned, None, "nothing to look up");
        let (_, options) = command_options(parse(&update, None));
        assert_eq!(options[0], ("user".into(), OptionValue::User("222".into())));
        assert_eq!(options[1].1, OptionValue::String("@ann spam".into()));
    }

    #[test]
    fn a_message_shows_its_sender_the_replied_to_author_and_mentioned_members() {
        let mut update = message(
            "hi Cy and Dee",
            json!([
                { "type": "text_mention", "offset": 3, "length": 2, "user": { "id": 444, "is_bot": false, "first_name": "Cy", "username": "CyC" } },
                { "type": "text_mention", "offset": 10, "length": 3, "user": { "id": 555, "is_bot": false, "first_name": "Dee" } }
            ]),
        );
        update["message"]["from"]["username"] = "TheMod".into();
        update["message"]["reply_to_message"]["from"]["username"] = "ann".into();
        let ahead = read_ahead(
            &read_update(update.to_string().as_bytes()),
            &registry(),
            None,
        );
        let seen = ahead.seen.unwrap();
        assert_eq!(seen.group, "-1001234567890");
        let names: Vec<_> = seen
            .members
            .iter()
            .map(|s| (s.username.as_str(), s.id.as_str()))
            .collect();
        // Dee has no username: nothing to learn.
        assert_eq!(names, [("themod", "111"), ("ann", "222"), ("cyc", "444")]);
        // A bot is never recorded.
        update["message"]["from"]["is_bot"] = true.into();
        let ahead = read_ahead(
            &read_update(update.to_string().as_bytes()),
            &registry(),
            None,
        );
        assert_eq!(ahead.seen.unwrap().members.len(), 2);
    }

    fn chat_member(new_chat_member: Value) -> Value {
        json!({
            "update_id": 20,
            "chat_member": {
                "chat": { "id": -1001234567890i64, "type": "supergroup", "title": "Gavel test" },
                "from": { "id": 666, "is_bot": false, "first_name": "Eve", "username": "Eve" },
                "date": 1764000000,
                "old_chat_member": { "status": "left", "user": { "id": 666, "is_bot": false, "first_name": "Eve", "username": "Eve" } },
                "new_chat_member": new_chat_member
            }
        })
    }

    #[test]
    fn a_member_update_is_read_for_who_the_member_is() {
        let update = chat_member(json!({
            "status": "member",
            "user": { "id": 666, "is_bot": false, "first_name": "Eve", "username": "Eve" }
        }));
        match parse(&update, None) {
            TelegramUpdate::MemberChanged { update_id, seen } => {
                assert_eq!(update_id, 20);
                assert_eq!(seen.group, "-1001234567890");
                assert_eq!(
                    seen.members,
                    vec![Sighting::new("eve", 666, "Eve").unwrap()]
                );
            }
            other => panic!("{other:?}"),
        }
        // Nothing for a message-only read ahead: the variant carries the members.
        assert_eq!(
            read_ahead(
                &read_update(update.to_string().as_bytes()),
                &registry(),
                None
            ),
            Ahead::default()
        );
    }

    #[test]
    fn a_member_update_of_a_shape_gavel_cannot_read_is_unhandled() {
        for new_chat_member in [
            json!({ "status": "a_status_from_the_future", "user": { "id": 1, "is_bot": false, "first_name": "X" } }),
            json!({ "status": "member" }),
            json!("member"),
        ] {
            let update = chat_member(new_chat_member.clone());
            assert!(
                matches!(
                    parse(&update, None),
                    TelegramUpdate::Unhandled {
                        update_id: Some(20),
                        ..
                    }
                ),
                "{new_chat_member}"
            );
        }
    }
}
