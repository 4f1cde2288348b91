//! The confirmation flow: "Do this? [Confirm] [Cancel]". Any action that must not happen by
//! accident (a ban, a report sent to the moderators) implements [`ConfirmedAction`] and is
//! wrapped in [`Confirmation`]; the engine guarantees the action runs at most once however many
//! times, or from however many instances, Confirm is clicked.

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{FlowButton, FlowEvent, Input, Machine, Step, StepContext, View};
use crate::jobs::Job;
use crate::reply::{ButtonStyle, Reply};
use crate::store::WriteOp;

/// What confirming does.
pub struct Performed {
    /// Writes committed atomically with the confirmation.
    pub effects: Vec<WriteOp>,
    /// Work for the worker, published once the confirmation has committed.
    pub jobs: Vec<Job>,
    /// Replaces the prompt.
    pub reply: Reply,
}

#[async_trait]
pub trait ConfirmedAction: Send + Sync + 'static {
    /// The flow's name in component ids (`[a-z0-9-]`, at most 16 characters).
    const FLOW: &'static str;
    /// Everything the action needs, stored with the run.
    type Payload: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// "Run `/report` again." — said when Confirm arrives after the run expired.
    fn restart_hint(&self) -> String;

    /// The question under which Confirm and Cancel are drawn.
    fn prompt(&self, payload: &Self::Payload) -> Reply;

    fn confirm_label(&self) -> &'static str {
        "Confirm"
    }

    /// Danger for destructive actions.
    fn confirm_style(&self) -> ButtonStyle {
        ButtonStyle::Danger
    }

    /// Runs on Confirm. An `Err` leaves the run pending and shows the message ephemerally.
    async fn perform(
        &self,
        ctx: &StepContext<'_>,
        payload: &Self::Payload,
    ) -> Result<Performed, String>;

    fn cancelled(&self, _payload: &Self::Payload) -> Reply {
        Reply::ephemeral("Cancelled; nothing was done.")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmEvent {
    Confirm,
    Cancel,
}

impl FlowEvent for ConfirmEvent {
    fn code(self) -> &'static str {
        match self {
            ConfirmEvent::Confirm => "yes",
            ConfirmEvent::Cancel => "no",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        match code {
            "yes" => Some(ConfirmEvent::Confirm),
            "no" => Some(ConfirmEvent::Cancel),
            _ => None,
        }
    }
}

/// The one state a confirmation has while it waits: the payload of the pending action.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Pending<P> {
    pub payload: P,
}

/// A [`ConfirmedAction`] as a flow.
pub struct Confirmation<A>(pub A);

impl<A: ConfirmedAction> Confirmation<A> {
    /// The prompt with its two buttons, for [`super::FlowEngine::start`].
    pub fn prompt_view(&self, payload: &A::Payload) -> View<ConfirmEvent> {
        View::Message {
            reply: self.0.prompt(payload),
            buttons: vec![
                FlowButton::new(
                    ConfirmEvent::Confirm,
                    self.0.confirm_label(),
                    self.0.confirm_style(),
                ),
                FlowButton::new(ConfirmEvent::Cancel, "Cancel", ButtonStyle::Secondary),
            ],
        }
    }

    pub fn pending(payload: A::Payload) -> Pending<A::Payload> {
        Pending { payload }
    }
}

#[async_trait]
impl<A: ConfirmedAction> Machine for Confirmation<A> {
    const NAME: &'static str = A::FLOW;
    type State = Pending<A::Payload>;
    type Event = ConfirmEvent;

    fn restart_hint(&self) -> String {
        self.0.restart_hint()
    }

    async fn step(
        &self,
        ctx: &StepContext<'_>,
        state: Self::State,
        input: Input<ConfirmEvent>,
    ) -> Step<Self::State, ConfirmEvent> {
        match input {
            Input::Click(ConfirmEvent::Confirm) => {
                match self.0.perform(ctx, &state.payload).await {
                    Ok(done) => Step::Finish {
                        effects: done.effects,
                        jobs: done.jobs,
                        view: View::update(done.reply),
                    },
                    Err(why) => Step::Invalid(why),
                }
            }
            Input::Click(ConfirmEvent::Cancel) => Step::Finish {
                effects: Vec::new(),
                jobs: Vec::new(),
                view: View::update(self.0.cancelled(&state.payload)),
            },
            Input::Submit(..) => {
                Step::Invalid("This confirmation has no form to submit.".to_owned())
            }
        }
    }
}
