//! AutoMod at the edge: a member's message (a Slack event, a Telegram group update) is checked
//! inline, inside the platform's acknowledgement, and what it calls for goes to the worker as
//! jobs. One path for every platform: each names its delivery's claim and hands a [`Watched`].
//!
//! One store transaction per message, whatever it holds: the claim of the `event_id`, the
//! claim of the message itself, and a step of each shared counter the stateful rules keep
//! (flood per member per channel, repeats of one text), so every Lambda instance counts the
//! same messages. The message's own claim is keyed by its channel, id and text, because
//! Slack has been seen to deliver copies of one message under distinct event ids; an edit
//! changes the text and is checked again. A counter past its rule's limit trips the rule
//! once per window: the message that trips it commits a marker for the window instead of the
//! counter's step (a second transaction, only then).

use http::StatusCode;

use super::{Edge, EdgeResponse};
use crate::automod::{Hit, Message, Probe};
use crate::commands::automod::{Acted, Caught, act};
use crate::idempotency::{Claims, lifetimes};
use crate::invocation::{Platform, TargetMessage};
use crate::slack::SlackMessage;
use crate::store::keys::Community;
use crate::store::{ItemKey, NewItem, StoreError, WriteOp};
use crate::telegram::SeenMessage;

/// What this message does to one stateful rule's counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Count {
    /// Counted: one step of the shared counter.
    Step,
    /// Past the limit: the rule trips, once per window (its marker is created).
    Trip,
    /// Past the limit, and the window's trip is another message's.
    Skip,
}

/// A member's message to check, from any platform.
pub(super) struct Watched<'a> {
    platform: Platform,
    tenant: &'a str,
    /// The app's own user, the actor of AutoMod's cases (where the platform says it).
    app_user: Option<&'a str>,
    message: &'a TargetMessage,
    edited: bool,
    at_secs: i64,
    /// The claim scopes of the delivery and of the message, and how long both are kept.
    delivery_scope: &'static str,
    message_scope: &'static str,
    claim_secs: i64,
}

impl<'a> From<&'a SlackMessage> for Watched<'a> {
    fn from(seen: &'a SlackMessage) -> Self {
        Self {
            platform: Platform::Slack,
            tenant: &seen.tenant,
            app_user: seen.app_user.as_deref(),
            message: &seen.message,
            edited: seen.edited,
            at_secs: seen.at_secs,
            delivery_scope: "slack:event",
            message_scope: "slack:message",
            claim_secs: lifetimes::SLACK_EVENT_SECS,
        }
    }
}

impl<'a> From<&'a SeenMessage> for Watched<'a> {
    fn from(seen: &'a SeenMessage) -> Self {
        Self {
            platform: Platform::Telegram,
            tenant: &seen.tenant,
            app_user: None,
            message: &seen.message,
            edited: seen.edited,
            at_secs: seen.at_secs,
            delivery_scope: "telegram:update",
            message_scope: "telegram:message",
            claim_secs: lifetimes::TELEGRAM_UPDATE_SECS,
        }
    }
}

impl Edge {
    /// Checks a member's message and acts on what it breaks. Acknowledged 200 unless the
    /// store failed before anything was recorded (503, so the platform delivers it again).
    /// `delivery_id` is the delivery's own id (Slack's `event_id`, Telegram's update id).
    pub(super) async fn check_message(
        &self,
        delivery_id: &str,
        seen: &Watched<'_>,
    ) -> EdgeResponse {
        let platform = seen.platform;
        let tenant = seen.tenant;
        let message = seen.message;
        let now_ms = self.clock.now_ms();
        let compiled = match self
            .registry
            .automod_rules()
            .get(self.store.as_ref(), platform, tenant, now_ms)
            .await
        {
            Ok(compiled) => compiled,
            Err(error) => return unavailable(&error, "could not read the automod rules"),
        };
        let checked = Message {
            text: &message.content,
            author: &message.author,
            author_roles: &[],
            channel: &message.channel,
            platform,
            at_secs: seen.at_secs,
        };
        let mut hits = compiled.engine.check(&checked);
        // An edit is not another message: it counts towards no flood or repeat.
        let probes = if seen.edited {
            Vec::new()
        } else {
            compiled.engine.probes(&checked)
        };
        let claims = vec![
            self.claims
                .claim_item(seen.delivery_scope, delivery_id, seen.claim_secs),
            self.claims.claim_item(
                seen.message_scope,
                &format!(
                    "{tenant}:{}:{}:{}",
                    message.channel,
                    message.id,
                    crate::telemetry::fingerprint(&message.content)
                ),
                seen.claim_secs,
            ),
        ];
        let community = Community::new(platform, tenant);
        let now_secs = now_ms.div_euclid(1000);
        let mut counts = vec![Count::Step; probes.len()];
        loop {
            let mut ops: Vec<WriteOp> = claims.iter().cloned().map(WriteOp::Create).collect();
            // Which probe each op after the claims is for.
            let mut owners = Vec::new();
            for (index, (probe, count)) in probes.iter().zip(&counts).enumerate() {
                let op = match count {
                    Count::Step => step(community, probe),
                    Count::Trip => trip_marker(community, probe, now_secs),
                    Count::Skip => continue,
                };
                ops.push(op);
                owners.push(index);
            }
            match self.store.transact(ops).await {
                Ok(()) => break,
                Err(StoreError::TransactionConflict { index }) if index < claims.len() => {
                    tracing::info!("message already checked; acknowledged without acting again");
                    return EdgeResponse::empty_ok();
                }
                // Each conflict moves one probe on (counted → tripping → tripped already),
                // so this loop ends within twice as many rounds as there are probes.
                Err(StoreError::TransactionConflict { index }) => {
                    match owners.get(index - claims.len()).map(|&o| (o, counts[o])) {
                        Some((owner, Count::Step)) => counts[owner] = Count::Trip,
                        Some((owner, Count::Trip)) => counts[owner] = Count::Skip,
                        _ => {
                            let error = StoreError::Backend(format!(
                                "the store named write {index}, which cannot conflict"
                            ));
                            return unavailable(&error, "could not record the message");
                        }
                    }
                }
                Err(error) => return unavailable(&error, "could not record the message"),
            }
        }
        hits.extend(
            probes
                .iter()
                .zip(&counts)
                .filter(|(_, count)| **count == Count::Trip)
                .filter_map(|(probe, _)| compiled.engine.counted_hit(probe, probe.limit + 1)),
        );
        if hits.is_empty() {
            tracing::info!("message checked: nothing caught");
            return EdgeResponse::empty_ok();
        }
        self.act_on(seen, &hits, &claims).await
    }

    async fn act_on(&self, seen: &Watched<'_>, hits: &[Hit], claims: &[NewItem]) -> EdgeResponse {
        let (platform, tenant) = (seen.platform, seen.tenant);
        let now_ms = self.clock.now_ms();
        let settings = match self
            .registry
            .settings_cache()
            .get(self.store.as_ref(), platform, tenant, now_ms)
            .await
        {
            Ok(settings) => settings,
            Err(error) => return self.release(claims, &error).await,
        };
        let caught = Caught {
            platform,
            tenant,
            message: seen.message,
            app_user: seen.app_user,
            hits,
            now_secs: now_ms.div_euclid(1000),
        };
        match act(&self.flows, &settings, &caught).await {
            Ok(Acted::Case(number)) => {
                tracing::info!(case = number, rule = %hits[0].rule, "message caught: case opened");
                EdgeResponse::empty_ok()
            }
            Ok(outcome) => {
                tracing::info!(?outcome, "message caught");
                EdgeResponse::empty_ok()
            }
            Err(error) => self.release(claims, &error).await,
        }
    }

    /// The catch could not be recorded: give the claims back, so the platform's next delivery of
    /// the message is checked again rather than taken for a copy, and ask for it.
    async fn release(&self, claims: &[NewItem], error: &StoreError) -> EdgeResponse {
        for claim in claims {
            if let Err(release) = self.store.delete(&claim.key, None).await {
                tracing::warn!(%release, "could not release a message claim; it lapses with its expiry");
            }
        }
        unavailable(error, "could not act on a caught message")
    }
}

/// One message counted by a stateful rule's shared counter: `limit` messages a window in a
/// burst, refilled evenly (the rate limiter's deadline cursor).
fn step(community: Community<'_>, probe: &Probe) -> WriteOp {
    let window_ms = i64::from(probe.window_secs.max(1)) * 1000;
    WriteOp::Advance {
        key: counter_key(community, probe),
        step_ms: (window_ms / i64::from(probe.limit.max(1))).max(1),
        max_ahead_ms: window_ms,
    }
}

fn counter_key(community: Community<'_>, probe: &Probe) -> ItemKey {
    ItemKey::new(community.rate_limits(), format!("automod#{}", probe.key))
}

/// The rule tripped for this window: created once, whichever message and instance trips it.
fn trip_marker(community: Community<'_>, probe: &Probe, now_secs: i64) -> WriteOp {
    let window = i64::from(probe.window_secs.max(1));
    let index = now_secs.div_euclid(window);
    WriteOp::Create(
        NewItem::new(
            Claims::key(
                "automod:tripped",
                &format!("{}:{}:{index}", community.scope(), probe.key),
            ),
            serde_json::json!({ "at": now_secs }),
        )
        .expiring_at((index + 1) * window + 1),
    )
}

fn unavailable(error: &StoreError, what: &str) -> EdgeResponse {
    tracing::error!(%error, "{what}; asking the platform to retry");
    EdgeResponse::error(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage unavailable, retry later",
    )
}
