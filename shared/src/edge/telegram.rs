//! Telegram's route: one webhook for every update. Commands are claimed by `update_id` (per
//! bot) in the admission transaction, as Discord's interaction ids are, and answered in the
//! webhook answer's body (a `sendMessage` call, which needs no token on this path). Clicks are
//! claimed the same way, run their flow, and are answered with `answerCallbackQuery` in the
//! body (so the clicker's spinner always stops); the clicked message's edit goes through the
//! Bot API client inside [`EDIT_BUDGET`].
//!
//! Telegram payloads carry no roles: a request that needs to know asks `getChatMember`
//! (cached per instance by the client) within the same budget as Slack's moderator lookup.
//!
//! Usernames: a command naming its member `@ann` is looked up in the group's directory within
//! that budget before the update is read; the members an update shows are recorded at the same
//! time as the update is acted on (`tokio::join!`), so the answer waits for at most the one
//! read and write of a member this instance has not recorded lately.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Edge, EdgeResponse, record_invocation};
use crate::commands::CommandRegistry;
use crate::idempotency::{Claim, lifetimes};
use crate::invocation::{Action, Capabilities, Capability, Invocation};
use crate::platform::{MemberRights, TelegramApi};
use crate::reply::{Reply, Response};
use crate::slack::moderators::LOOKUP_BUDGET;
use crate::telegram::render::{self, MAX_TOAST_CHARS};
use crate::telegram::usernames::{Lookup, resolved_note};
use crate::telegram::{ChatMessage, TelegramUpdate, parse_update, read_ahead, read_update};
use crate::verify::TelegramVerifier;

/// How long the edit of a clicked message may take before the answer goes without it.
const EDIT_BUDGET: Duration = Duration::from_millis(1500);

/// Claims of update ids.
const CLAIM_SCOPE: &str = "telegram:update";

impl Edge {
    // Telegram's settings sit with its route, keeping `mod.rs` short.

    /// Serves Telegram's webhook, checked against `verifier`'s secret.
    pub fn with_telegram(mut self, verifier: TelegramVerifier) -> Self {
        self.telegram = Some(verifier);
        self
    }

    /// Where the edge's Telegram calls go (`getChatMember`, `editMessageText`); without it
    /// they are recorded and logged.
    pub fn with_telegram_api(mut self, api: Arc<dyn TelegramApi>) -> Self {
        self.telegram_api = api;
        self
    }

    /// The bot's username (`TELEGRAM_BOT_USERNAME`, without `@`).
    pub fn with_telegram_bot_username(mut self, username: Option<String>) -> Self {
        self.telegram_bot = username.map(|u| u.trim_start_matches('@').to_owned());
        self
    }

    pub(super) async fn telegram_update(&self, body: &[u8], received_at: Instant) -> EdgeResponse {
        let bot = self.telegram_bot.as_deref();
        let incoming = read_update(body);
        let ahead = read_ahead(&incoming, &self.registry, bot);
        let lookup = self.look_up_usernames(ahead.mentioned.as_ref()).await;
        let ids: HashMap<String, String> = (lookup.known.iter())
            .map(|(username, known)| (username.clone(), known.id.clone()))
            .collect();
        let update = parse_update(incoming, &self.registry, bot, &ids);
        let seen = match &update {
            TelegramUpdate::MemberChanged { seen, .. } => Some(seen.clone()),
            _ => ahead.seen,
        };
        let learn = async {
            if let Some(seen) = &seen {
                self.telegram_usernames.learn(seen).await;
            }
        };
        let (response, ()) = tokio::join!(self.act_on_update(update, &lookup, received_at), learn);
        response
    }

    /// The directory's entries for the usernames a command names, inside [`LOOKUP_BUDGET`].
    async fn look_up_usernames(&self, mentioned: Option<&(String, Vec<String>)>) -> Lookup {
        let Some((group, usernames)) = mentioned else {
            return Lookup::default();
        };
        let resolve = self.telegram_usernames.resolve(group, usernames);
        tokio::time::timeout(LOOKUP_BUDGET, resolve)
            .await
            .unwrap_or_else(|_| {
                tracing::warn!("the username directory did not answer in time");
                Lookup {
                    failed: true,
                    ..Lookup::default()
                }
            })
    }

    async fn act_on_update(
        &self,
        update: TelegramUpdate,
        lookup: &Lookup,
        received_at: Instant,
    ) -> EdgeResponse {
        match update {
            TelegramUpdate::Unhandled { update_id, kind } => {
                tracing::info!(
                    update_id,
                    kind,
                    "Telegram update Gavel does not handle acknowledged"
                );
                EdgeResponse::empty_ok()
            }
            TelegramUpdate::Usage { mut text, at, .. } => {
                if lookup.failed {
                    text.insert_str(0, "Gavel could not read its username directory just now.\n");
                }
                self.telegram_answer(&at, &Reply::ephemeral(text))
            }
            TelegramUpdate::MemberChanged { update_id, .. } => {
                tracing::info!(update_id, "Telegram member update read for its username");
                EdgeResponse::empty_ok()
            }
            TelegramUpdate::Command {
                update_id,
                mut invocation,
                at,
            } => {
                record_invocation(&invocation);
                self.grant_telegram_rights(&mut invocation).await;
                let claim = self.claims.claim_item(
                    CLAIM_SCOPE,
                    &self.update_claim_id(update_id),
                    lifetimes::TELEGRAM_UPDATE_SECS,
                );
                let response = self
                    .admit_then_dispatch(&invocation, Some(claim), received_at)
                    .await;
                let mut reply = telegram_reply(&self.registry, &invocation, response);
                // Whom a username was read as, so a name that changed hands is seen.
                if let Some(note) = resolved_note(&lookup.known) {
                    reply.text = format!("{}\n{note}", reply.text);
                }
                self.telegram_answer(&at, &reply)
            }
            TelegramUpdate::Callback {
                update_id,
                callback_id,
                mut invocation,
                at,
            } => {
                record_invocation(&invocation);
                let toast = self
                    .telegram_click(update_id, &mut invocation, at.as_ref(), received_at)
                    .await;
                let answer = render::answer_callback(&callback_id, toast.as_deref());
                match render::webhook_call("answerCallbackQuery", &answer) {
                    Some(body) => EdgeResponse::json(http::StatusCode::OK, body),
                    None => EdgeResponse::empty_ok(),
                }
            }
            TelegramUpdate::GroupMessage { update_id, seen } => {
                // AutoMod: the message's claims are in its own transaction.
                self.check_message(&self.update_claim_id(update_id), &(&seen).into())
                    .await
            }
        }
    }

    /// `{bot}:{update_id}`: update ids count per bot.
    fn update_claim_id(&self, update_id: i64) -> String {
        let bot = self
            .telegram
            .as_ref()
            .map(|v| v.bot_key())
            .unwrap_or_default();
        format!("{bot}:{update_id}")
    }

    /// Runs a click; the text is the toast the clicker sees (`None`: the answer is a message).
    async fn telegram_click(
        &self,
        update_id: i64,
        invocation: &mut Invocation,
        at: Option<&ChatMessage>,
        received_at: Instant,
    ) -> Option<String> {
        // The compact id back to the full one, which the flow engine checks (MAC first, before
        // any store access); data that is not Gavel's stays as it is and is refused there.
        if let Action::Component { custom_id } = &mut invocation.action
            && let Some(full) = self.flows.expand_compact(custom_id)
        {
            *custom_id = full;
        }
        match self
            .claims
            .claim(
                CLAIM_SCOPE,
                &self.update_claim_id(update_id),
                lifetimes::TELEGRAM_UPDATE_SECS,
            )
            .await
        {
            Ok(Claim::First) => {}
            Ok(Claim::Repeat) => {
                tracing::info!("repeated Telegram update answered without acting");
                return Some("This was already handled; nothing was done twice.".to_owned());
            }
            Err(error) => {
                tracing::error!(%error, "could not claim the update id");
                return Some("Gavel could not reach its storage, so nothing was done.".to_owned());
            }
        }
        self.grant_telegram_rights(invocation).await;
        let response = self.dispatch(invocation, received_at).await;
        let (reply, edit) = match response {
            Response::Update(reply) | Response::FormDone(reply) => (reply, true),
            Response::Modal(_) => return Some(NO_FORMS.to_owned()),
            Response::Message(reply) | Response::Deferred(reply) => (reply, false),
            Response::FormErrors { fallback, .. } => (fallback, false),
        };
        // A short private answer is a toast; anything else a message in the chat.
        if !edit
            && reply.is_ephemeral()
            && reply.buttons.is_empty()
            && reply.fields.is_empty()
            && reply.text.chars().count() <= MAX_TOAST_CHARS
        {
            return Some(reply.text);
        }
        let chat = at
            .map(|m| m.chat.clone())
            .or_else(|| invocation.channel.clone())?;
        let deadline = Instant::now() + EDIT_BUDGET;
        let sent = async {
            match at.and_then(|m| m.message.as_deref()).filter(|_| edit) {
                Some(message) => {
                    self.telegram_api
                        .edit_reply(&chat, message, &reply, deadline)
                        .await
                }
                None => self
                    .telegram_api
                    .send_reply(&chat, &reply, deadline)
                    .await
                    .map(|_| ()),
            }
        };
        match tokio::time::timeout(EDIT_BUDGET, sent).await {
            Ok(Ok(())) => None,
            Ok(Err(error)) => {
                tracing::warn!(%error, "could not show a click's answer in the chat");
                Some(toast_of(&reply.text))
            }
            Err(_) => {
                tracing::warn!("Telegram did not take a click's answer in time");
                Some(toast_of(&reply.text))
            }
        }
    }

    /// Gives a group's owner and administrators the capabilities their rights carry. Only
    /// requests that need to know ask (the same test as Slack's), and a private chat has no
    /// community to moderate.
    async fn grant_telegram_rights(&self, invocation: &mut Invocation) {
        if invocation.outside_community() || !self.needs_moderator_check(invocation) {
            return;
        }
        let deadline = Instant::now() + LOOKUP_BUDGET;
        let lookup =
            self.telegram_api
                .member_rights(&invocation.tenant, &invocation.actor.id, deadline);
        match tokio::time::timeout(LOOKUP_BUDGET, lookup).await {
            Ok(Ok(rights)) => invocation.actor.capabilities = capabilities(rights),
            Ok(Err(error)) => {
                tracing::warn!(%error, "could not read the member's rights; they act as a member")
            }
            Err(_) => tracing::warn!(
                budget_ms = LOOKUP_BUDGET.as_millis() as u64,
                "Telegram did not say the member's rights in time; they act as a member"
            ),
        }
    }

    /// The answer to a command: `sendMessage` in the webhook answer's body.
    fn telegram_answer(&self, at: &ChatMessage, reply: &Reply) -> EdgeResponse {
        let params = render::send_message(&at.chat, reply, at.message.as_deref());
        match render::webhook_call("sendMessage", &params) {
            Some(body) => EdgeResponse::json(http::StatusCode::OK, body),
            None => EdgeResponse::empty_ok(),
        }
    }
}

/// Said where a platform would open a form.
const NO_FORMS: &str = "Telegram has no forms: type the command with its text instead.";

/// A command's answer as one message: forms become how to type the command.
fn telegram_reply(
    registry: &CommandRegistry,
    invocation: &Invocation,
    response: Response,
) -> Reply {
    match response {
        Response::Message(reply)
        | Response::Update(reply)
        | Response::FormDone(reply)
        | Response::Deferred(reply) => reply,
        Response::FormErrors { fallback, .. } => fallback,
        Response::Modal(_) => {
            let usage = match &invocation.action {
                Action::Command(call) => registry.spec(&call.name).map(|spec| spec.usage()),
                _ => None,
            };
            match usage {
                Some(usage) => Reply::ephemeral(format!("{NO_FORMS} Usage: `{usage}`")),
                None => Reply::ephemeral(NO_FORMS),
            }
        }
    }
}

fn toast_of(text: &str) -> String {
    text.chars().take(MAX_TOAST_CHARS).collect()
}

/// What a member's rights let them do through Gavel. Restricting members is Telegram's mute
/// and ban; changing the group's settings is what Discord calls Manage Server.
fn capabilities(rights: MemberRights) -> Capabilities {
    if rights.owner {
        return Capabilities::all();
    }
    let mut caps = Capabilities::NONE;
    if rights.administrator && rights.can_restrict_members {
        caps.insert(Capability::ModerateMembers);
        caps.insert(Capability::KickMembers);
        caps.insert(Capability::BanMembers);
    }
    if rights.administrator && rights.can_change_info {
        caps.insert(Capability::ManageGuild);
    }
    caps
}
