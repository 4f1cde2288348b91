//! Discord's route: PING and autocomplete answered at once, commands claimed by interaction id
//! and admitted, clicks and form submissions dispatched to their flows.

use std::time::Instant;

use super::{Edge, EdgeResponse, UNSUPPORTED_TEXT, bad_request, record_invocation};
use crate::discord::{self, DiscordInbound};
use crate::idempotency::lifetimes;
use crate::invocation::Action;
use crate::reply::Reply;

impl Edge {
    pub(super) async fn discord_interaction(
        &self,
        body: &[u8],
        received_at: Instant,
    ) -> EdgeResponse {
        let invocation = match discord::parse_interaction(body) {
            Ok(DiscordInbound::Ping) => {
                return EdgeResponse::json(http::StatusCode::OK, discord::PONG.as_bytes().to_vec());
            }
            Ok(DiscordInbound::Autocomplete) => {
                return EdgeResponse::serialized(&discord::autocomplete_empty());
            }
            Ok(DiscordInbound::Invocation(invocation)) => invocation,
            // A verified request of a kind Discord added after this version: say so, in a
            // message only the user sees, instead of a 400 that Discord shows as "This
            // interaction failed".
            Ok(DiscordInbound::Unsupported { kind }) => {
                tracing::info!(
                    kind,
                    "unsupported Discord interaction type answered politely"
                );
                let reply = Reply::ephemeral(UNSUPPORTED_TEXT);
                return EdgeResponse::serialized(&discord::render_reply(&reply));
            }
            Err(problem) => return bad_request(&problem),
        };
        record_invocation(&invocation);
        let response = match invocation.action {
            // Commands are claimed by interaction id before they run. Clicks and form
            // submissions are not: the flow's versioned transition already lets exactly one
            // of any number of copies act, and skipping the claim keeps them at two round
            // trips (read the state, write the transition).
            Action::Command(_) => {
                let claim = self.claims.claim_item(
                    "discord:interaction",
                    &invocation.id,
                    lifetimes::DISCORD_INTERACTION_SECS,
                );
                self.admit_then_dispatch(&invocation, Some(claim), received_at)
                    .await
            }
            Action::Component { .. } | Action::ModalSubmit { .. } => {
                self.dispatch(&invocation, received_at).await
            }
        };
        EdgeResponse::serialized(&discord::render_response(&response))
    }
}
