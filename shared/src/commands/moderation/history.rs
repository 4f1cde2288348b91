//! `/infractions @user`: a member's cases, newest first, five to a page, with their current
//! score and the threshold it has reached. Pages turn with Newer / Older buttons (a flow, so
//! only the moderator who asked can turn them).
//!
//! The whole history is read for the score anyway (decay is computed when read), so pages are
//! cut from that one read rather than from a second, paginated query.

use std::sync::Arc;

use async_trait::async_trait;

use super::{mention, settings_of, storage_failure, target_of};
use crate::commands::{Command, CommandContext, CommandSpec, OptionKind, OptionSpec};
use crate::flows::{FlowButton, FlowEngine, FlowEvent, Input, Machine, Step, StepContext, View};
use crate::invocation::Capability;
use crate::moderation::{Cases, ModSettings, StoredCase, points};
use crate::reply::{ButtonStyle, Reply, Response};

pub const PAGE_SIZE: usize = 5;

static SPEC: CommandSpec = CommandSpec {
    name: "infractions",
    description: "A member's cases, with their current score",
    options: &[OptionSpec {
        name: "user",
        description: "The member",
        kind: OptionKind::User,
        required: true,
    }],
    requires: Some(Capability::ModerateMembers),
    context_menu: Some("Infractions"),
    message_menu: None,
    read_only: false,
};

/// `/infractions`.
pub struct Infractions {
    pages: Arc<HistoryPages>,
}

impl Infractions {
    pub fn new() -> Self {
        Self {
            pages: Arc::new(HistoryPages),
        }
    }
}

impl Default for Infractions {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Command for Infractions {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    fn register_flows(&self, engine: &mut FlowEngine) {
        engine.register(Arc::clone(&self.pages));
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        // Looking oneself up is harmless; only the app makes no sense.
        let target = match ctx.call.option("user") {
            Some(crate::invocation::OptionValue::User(u)) if *u == ctx.invocation.actor.id => {
                u.clone()
            }
            _ => match target_of(ctx, "look up") {
                Ok(target) => target,
                Err(refusal) => return refusal,
            },
        };
        let settings = match settings_of(ctx).await {
            Ok(settings) => settings,
            Err(error) => return storage_failure("history", &error),
        };
        let store = ctx.store;
        let cases = Cases::new(store, ctx.invocation.platform, &ctx.invocation.tenant);
        let history = match cases.all_of(&target).await {
            Ok(history) => history,
            Err(error) => return storage_failure("history", &error),
        };
        let state = PageState { target, page: 0 };
        if history.len() <= PAGE_SIZE {
            // One page: no buttons, so no flow to keep.
            return page_reply(&state, &history, &settings, ctx.now_secs()).into();
        }
        let view = page_view(&state, &history, &settings, ctx.now_secs());
        ctx.flows
            .start(self.pages.as_ref(), ctx.invocation, state, view)
            .await
    }
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PageState {
    pub target: String,
    /// 0 is the newest page.
    pub page: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageEvent {
    Newer,
    Older,
}

impl FlowEvent for PageEvent {
    fn code(self) -> &'static str {
        match self {
            PageEvent::Newer => "newer",
            PageEvent::Older => "older",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        match code {
            "newer" => Some(PageEvent::Newer),
            "older" => Some(PageEvent::Older),
            _ => None,
        }
    }
}

/// Turning the pages of one member's history.
pub struct HistoryPages;

#[async_trait]
impl Machine for HistoryPages {
    const NAME: &'static str = "history";
    type State = PageState;
    type Event = PageEvent;

    fn lifetime_secs(&self) -> i64 {
        15 * 60
    }

    fn restart_hint(&self) -> String {
        "Run `/infractions` again to see the history.".to_owned()
    }

    async fn step(
        &self,
        ctx: &StepContext<'_>,
        state: PageState,
        input: Input<PageEvent>,
    ) -> Step<PageState, PageEvent> {
        let Input::Click(event) = input else {
            return Step::Invalid("This list has no form.".to_owned());
        };
        let store = ctx.store;
        let (settings, history) = {
            let cases = Cases::new(store, ctx.invocation.platform, &ctx.invocation.tenant);
            let (settings, history) = tokio::join!(
                ModSettings::load(store, ctx.invocation.platform, &ctx.invocation.tenant),
                cases.all_of(&state.target)
            );
            match (settings, history) {
                (Ok((settings, _)), Ok(history)) => (settings, history),
                (Err(error), _) | (_, Err(error)) => {
                    tracing::error!(%error, "could not read a member's history");
                    return Step::Invalid(
                        "I could not reach my storage. Please try again.".to_owned(),
                    );
                }
            }
        };
        let last = pages(history.len()).saturating_sub(1);
        let page = match event {
            PageEvent::Newer => state.page.saturating_sub(1),
            PageEvent::Older => (state.page + 1).min(last),
        };
        let state = PageState { page, ..state };
        let view = match page_view(&state, &history, &settings, ctx.now_secs) {
            View::Message { reply, buttons } => View::Update { reply, buttons },
            other => other,
        };
        Step::Goto {
            state,
            effects: Vec::new(),
            view,
        }
    }
}

fn pages(cases: usize) -> usize {
    cases.div_ceil(PAGE_SIZE).max(1)
}

fn page_view(
    state: &PageState,
    history: &[StoredCase],
    settings: &ModSettings,
    now: i64,
) -> View<PageEvent> {
    let reply = page_reply(state, history, settings, now);
    let mut buttons = Vec::new();
    if state.page > 0 {
        buttons.push(FlowButton::new(
            PageEvent::Newer,
            "◀ Newer",
            ButtonStyle::Secondary,
        ));
    }
    if state.page + 1 < pages(history.len()) {
        buttons.push(FlowButton::new(
            PageEvent::Older,
            "Older ▶",
            ButtonStyle::Secondary,
        ));
    }
    View::Message { reply, buttons }
}

/// One page: the score line, then one field per case.
pub fn page_reply(
    state: &PageState,
    history: &[StoredCase],
    settings: &ModSettings,
    now: i64,
) -> Reply {
    let score = points::score_milli(history.iter().map(|s| &s.case), settings, now);
    if history.is_empty() {
        return Reply::ephemeral(format!(
            "{} has no cases. Score 0.0.",
            mention(&state.target)
        ));
    }
    let mut text = format!(
        "History of {}: {} case{}, score {}",
        mention(&state.target),
        history.len(),
        if history.len() == 1 { "" } else { "s" },
        points::display(score)
    );
    if let Some(reached) = points::reached(settings, score) {
        text.push_str(&format!(
            " (at or above the {} threshold, {} points)",
            reached.action.label(),
            reached.points
        ));
    }
    text.push_str(&format!(
        ". Page {} of {}.",
        state.page + 1,
        pages(history.len())
    ));
    let mut reply = Reply::ephemeral(text);
    for stored in history.iter().skip(state.page * PAGE_SIZE).take(PAGE_SIZE) {
        let case = &stored.case;
        let left = points::remaining_milli(case, settings.decay_milli_per_day, now);
        reply = reply.with_field(
            format!(
                "#{} {} {} · {}",
                case.number,
                case.kind.emoji(),
                case.kind.label(),
                crate::moderation::date(case.created_at)
            ),
            format!(
                "{} · by {} · {} · {} of {} pt counting",
                case.reason,
                mention(&case.moderator),
                case.status_at(now).label(),
                points::display(left),
                case.points
            ),
        );
    }
    reply
}
