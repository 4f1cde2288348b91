//! What a machine declares: its events, the views it draws and its transition table. The
//! engine in the parent module turns these into signed component ids and stored runs.

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::FlowEngine;
use crate::invocation::Invocation;
use crate::jobs::Job;
use crate::reply::{ButtonStyle, FieldError, Reply, TextInput};
use crate::store::{Store, WriteOp};

/// How long a flow waits for its next step unless the machine says otherwise.
pub const DEFAULT_LIFETIME_SECS: i64 = 5 * 60;

/// A button event or form submission a machine understands, encoded as a short code in
/// component ids (`[A-Za-z0-9_-]`, at most 16 characters).
pub trait FlowEvent: Sized + Copy + Send + Sync + 'static {
    fn code(self) -> &'static str;
    fn from_code(code: &str) -> Option<Self>;
}

/// What arrived for the flow.
#[derive(Clone, Debug, PartialEq)]
pub enum Input<E> {
    Click(E),
    /// A submitted form, with its text inputs by id.
    Submit(E, Vec<(String, String)>),
}

impl<E: Copy> Input<E> {
    pub fn event(&self) -> E {
        match self {
            Input::Click(e) | Input::Submit(e, _) => *e,
        }
    }
}

/// A button a machine draws; the engine turns `event` into a signed component id.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowButton<E> {
    pub event: E,
    pub label: String,
    pub style: ButtonStyle,
}

impl<E> FlowButton<E> {
    pub fn new(event: E, label: impl Into<String>, style: ButtonStyle) -> Self {
        Self {
            event,
            label: label.into(),
            style,
        }
    }
}

/// A form a machine draws; submitting it sends `event`.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowModal<E> {
    pub event: E,
    pub title: String,
    pub submit_label: String,
    pub inputs: Vec<TextInput>,
}

/// What to show after a step, before ids are drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum View<E> {
    /// A new message.
    Message {
        reply: Reply,
        buttons: Vec<FlowButton<E>>,
    },
    /// Replace the message whose button was clicked.
    Update {
        reply: Reply,
        buttons: Vec<FlowButton<E>>,
    },
    Modal(FlowModal<E>),
    /// A submitted form had problems (see [`Response::FormErrors`]).
    FormErrors {
        errors: Vec<FieldError>,
        fallback: Reply,
        buttons: Vec<FlowButton<E>>,
    },
    /// A submitted form was accepted (see [`Response::FormDone`]).
    FormDone(Reply),
}

impl<E> View<E> {
    pub fn message(reply: Reply) -> Self {
        View::Message {
            reply,
            buttons: Vec::new(),
        }
    }

    pub fn update(reply: Reply) -> Self {
        View::Update {
            reply,
            buttons: Vec::new(),
        }
    }
}

/// The outcome of one event in one state: the one place a machine's transitions are declared.
#[derive(Debug)]
pub enum Step<S, E> {
    /// Move to `state`. `effects` commit in the same transaction as the state change, so they
    /// happen exactly once or not at all.
    Goto {
        state: S,
        effects: Vec<WriteOp>,
        view: View<E>,
    },
    /// The run is over, with `effects`, in one transaction. A marker stays until the run's
    /// expiry so late clicks are told it was already handled. `jobs` go to the worker once
    /// the transaction has committed (never for a losing click).
    Finish {
        effects: Vec<WriteOp>,
        jobs: Vec<Job>,
        view: View<E>,
    },
    /// Nothing changes (for example: reopen a form); components keep the current version.
    Stay { view: View<E> },
    /// The event does not apply in this state; the message says why, ephemerally.
    Invalid(String),
}

/// What a step may look at.
pub struct StepContext<'a> {
    pub invocation: &'a Invocation,
    pub now_secs: i64,
    pub store: &'a dyn Store,
    /// The engine, for a step that prepares another flow's run with its effects (a submitted
    /// appeal form opens a shared review).
    pub flows: &'a FlowEngine,
}

#[async_trait]
pub trait Machine: Send + Sync + 'static {
    /// The flow's name in component ids and store keys (`[a-z0-9-]`, at most 16 characters).
    const NAME: &'static str;
    /// Whether anyone in the community may click the run's buttons, not only the user who
    /// started it (a review any moderator may decide). A shared run's component ids are bound
    /// to the platform and tenant only and its state lives in the tenant's shared partition
    /// (`{platform}:{tenant}#flow#shared`). The engine lets every member's click through to
    /// [`Machine::step`], which must check that the clicker may act.
    const SHARED: bool = false;
    type State: Serialize + DeserializeOwned + Send + Sync + 'static;
    type Event: FlowEvent;

    fn lifetime_secs(&self) -> i64 {
        DEFAULT_LIFETIME_SECS
    }

    /// How to start again, said when a click arrives after the flow expired.
    fn restart_hint(&self) -> String;

    /// The transition table.
    async fn step(
        &self,
        ctx: &StepContext<'_>,
        state: Self::State,
        input: Input<Self::Event>,
    ) -> Step<Self::State, Self::Event>;
}
