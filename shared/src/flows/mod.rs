//! Conversation flows: multi-step interactions (confirm a ban, fill a form) as typed state
//! machines whose state lives in the store, so any instance can take the next click.
//!
//! - A [`Machine`] declares its states and events as Rust types and all its transitions in one
//!   function, [`Machine::step`]. An event that does not apply in the current state is answered
//!   with a clear ephemeral message ([`Step::Invalid`]), not an error.
//! - State is stored per (platform, tenant, user, flow) with a version and an expiry (five
//!   minutes unless the machine says otherwise). A transition is **one conditional write on the
//!   version**, together with the transition's own effects in the same transaction: of two
//!   concurrent clicks exactly one commits; the other is told it was already handled.
//! - Buttons and modals carry [`component_id`]s naming the flow, the run and the version they
//!   were drawn for, under a MAC: forged or edited ids are refused, never executed.
//! - A flow whose state has expired answers that it expired and how to start again, and
//!   replaces the clicked message so its stale buttons are gone.
//! - A *shared* flow ([`Machine::SHARED`]) is one any member of the community may click (an
//!   appeal any moderator may decide): its ids are bound to the platform and tenant only, its
//!   runs live in the tenant's shared partition, and it can be prepared inside another
//!   transaction and posted by the worker ([`FlowEngine::prepare_shared`]).

pub mod component_id;
pub mod confirm;
pub mod form;
mod machine;

pub use machine::{
    DEFAULT_LIFETIME_SECS, FlowButton, FlowEvent, FlowModal, Input, Machine, Step, StepContext,
    View,
};

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::invocation::{Action, Invocation, Platform};
use crate::jobs::{Bus, Job, UnconfiguredBus};
use crate::reply::{Button, Modal, Reply, Response};
use crate::store::keys::Community;
use crate::store::{
    Item, ItemKey, NewItem, PageRequest, Store, StoreError, WriteOp, found_after_failure,
};
use component_id::{Binding, ComponentId, ComponentKey, IdError};

/// A machine with its types erased, so the engine can hold machines of every kind.
#[async_trait]
trait ErasedMachine: Send + Sync {
    fn name(&self) -> &'static str;
    fn shared(&self) -> bool;
    async fn take_step(&self, engine: &FlowEngine, run: Run<'_>) -> Response;
}

/// A decoded click or submission for a machine.
struct Run<'a> {
    invocation: &'a Invocation,
    id: ComponentId,
    fields: Option<Vec<(String, String)>>,
}

struct Typed<M>(Arc<M>);

#[async_trait]
impl<M: Machine> ErasedMachine for Typed<M> {
    fn name(&self) -> &'static str {
        M::NAME
    }

    fn shared(&self) -> bool {
        M::SHARED
    }

    async fn take_step(&self, engine: &FlowEngine, run: Run<'_>) -> Response {
        engine.take_step(self.0.as_ref(), run).await
    }
}

/// How many times a click is stepped when its effects keep losing races of their own.
const EFFECT_ATTEMPTS: usize = 3;

/// A step's effects failed a condition of their own (not the run's version): nothing was
/// written, and stepping again on fresh reads may succeed.
struct EffectConflict;

/// Why a transition did not commit.
enum Committed {
    /// Answer with this (already handled, a storage failure).
    Refused(Response),
    EffectConflict,
}

/// The stored form of a run. A finished run keeps a marker (`state: None`) until it expires,
/// so a late second click learns it was already handled instead of "expired". `by` names the
/// invocation whose step wrote it, so a step whose commit timed out can tell whether its own
/// write went through (its answer lost) or not.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored<S> {
    state: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    by: Option<String>,
}

/// A shared run made for the caller's own transaction (see [`FlowEngine::prepare_shared`]).
#[derive(Debug)]
pub struct SharedRun {
    /// Names the run; [`FlowEngine::shared_buttons`] draws more buttons for it.
    pub nonce: String,
    /// The run's creation, to commit with the caller's other writes.
    pub write: WriteOp,
    /// The buttons, their ids signed for the run's first version.
    pub buttons: Vec<Button>,
}

/// A shared run still waiting for its decisive click (see [`FlowEngine::pending_shared`]).
#[derive(Debug)]
pub struct PendingRun<S> {
    pub nonce: String,
    pub version: u64,
    pub state: S,
}

/// The version a run has when it is created (the store's first version).
const FIRST_VERSION: u64 = 1;

/// Runs flows: starts them from commands, and takes every click and submission.
pub struct FlowEngine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    key: ComponentKey,
    machines: Vec<Arc<dyn ErasedMachine>>,
    bus: Arc<dyn Bus>,
}

impl FlowEngine {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, key: ComponentKey) -> Self {
        Self {
            store,
            clock,
            key,
            machines: Vec::new(),
            bus: Arc::new(UnconfiguredBus),
        }
    }

    /// Registers a machine so its components can be routed back to it.
    pub fn register<M: Machine>(&mut self, machine: Arc<M>) {
        assert!(
            component_id::valid_name(M::NAME, component_id::MAX_NAME_CHARS),
            "flow name {:?} is not a valid component id name",
            M::NAME
        );
        assert!(
            self.machines.iter().all(|m| m.name() != M::NAME),
            "flow {:?} registered twice",
            M::NAME
        );
        let code = component_id::flow_code(M::NAME);
        assert!(
            self.machines
                .iter()
                .all(|m| component_id::flow_code(m.name()) != code),
            "flow {:?} has the compact id code of another flow; rename one",
            M::NAME
        );
        self.machines.push(Arc::new(Typed(machine)));
    }

    /// The full component id a Telegram button's compact `callback_data` stands for (see
    /// [`component_id::compact`]); `None` if no registered flow drew it.
    pub fn expand_compact(&self, data: &str) -> Option<String> {
        component_id::expand(data, self.machines.iter().map(|m| m.name()))
    }

    /// The store runs live in (commands are handed it with their context).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock runs expire by (commands are handed it with their context).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Where one run of a flow is stored: per platform, tenant and user, then flow and run.
    /// Each run has its own item, so a user may have several in flight (two `/report`s in two
    /// channels) and each message's buttons act on their own run.
    pub fn state_key(invocation: &Invocation, flow: &str, nonce: &str) -> ItemKey {
        ItemKey::new(
            Community::new(invocation.platform, &invocation.tenant).flows_of(&invocation.actor.id),
            format!("{flow}#{nonce}"),
        )
    }

    /// Where a run of a shared flow is stored: the tenant's shared partition, which no user's
    /// can be (`shared` is no Discord or Slack user id).
    pub fn shared_state_key(platform: Platform, tenant: &str, flow: &str, nonce: &str) -> ItemKey {
        ItemKey::new(
            Community::new(platform, tenant).shared_flows(),
            format!("{flow}#{nonce}"),
        )
    }

    fn run_key<M: Machine>(invocation: &Invocation, nonce: &str) -> ItemKey {
        if M::SHARED {
            Self::shared_state_key(invocation.platform, &invocation.tenant, M::NAME, nonce)
        } else {
            Self::state_key(invocation, M::NAME, nonce)
        }
    }

    /// Prepares a run of the shared flow `machine` in `state`, without an interaction to draw
    /// it: the caller commits [`SharedRun::write`] in its own transaction (so the run exists
    /// exactly when the caller's change does) and sends [`SharedRun::buttons`] in a message of
    /// its own, typically posted by the worker. `seed` must be unique per run (an interaction
    /// id); the run's nonce is derived from it.
    pub fn prepare_shared<M: Machine>(
        &self,
        machine: &M,
        platform: Platform,
        tenant: &str,
        seed: &str,
        state: M::State,
        buttons: Vec<FlowButton<M::Event>>,
    ) -> Result<SharedRun, serde_json::Error> {
        const {
            assert!(
                M::SHARED,
                "prepare_shared is for shared flows: a personal run starts from its user's interaction"
            )
        };
        let nonce = nonce_for(seed);
        let data = serde_json::to_value(Stored {
            state: Some(state),
            by: None,
        })?;
        let key = Self::shared_state_key(platform, tenant, M::NAME, &nonce);
        let write = WriteOp::Create(
            NewItem::new(key, data).expiring_at(self.clock.now_secs() + machine.lifetime_secs()),
        );
        let buttons = self.shared_buttons::<M>(platform, tenant, &nonce, FIRST_VERSION, buttons);
        Ok(SharedRun {
            nonce,
            write,
            buttons,
        })
    }

    /// Buttons for the shared run `nonce` at `version`, for another message than the one the
    /// run was prepared with (a moderator's list of open appeals).
    pub fn shared_buttons<M: Machine>(
        &self,
        platform: Platform,
        tenant: &str,
        nonce: &str,
        version: u64,
        buttons: Vec<FlowButton<M::Event>>,
    ) -> Vec<Button> {
        let binding = Binding::shared(platform, tenant);
        buttons
            .into_iter()
            .map(|b| Button {
                id: self.encode(binding, M::NAME, nonce, version, b.event),
                label: b.label,
                style: b.style,
            })
            .collect()
    }

    /// The runs of the shared flow `M` in `tenant` that have not finished or expired, in no
    /// particular order. Reads the flow's part of the shared partition, a page of 100 at a
    /// time; finished runs are skipped (they stay as markers until their expiry).
    pub async fn pending_shared<M: Machine>(
        &self,
        platform: Platform,
        tenant: &str,
    ) -> Result<Vec<PendingRun<M::State>>, StoreError> {
        let pk = Self::shared_state_key(platform, tenant, M::NAME, "").pk;
        let prefix = format!("{}#", M::NAME);
        let mut pending = Vec::new();
        let mut page = PageRequest::first(100);
        loop {
            let found = self.store.query(&pk, &prefix, page.clone()).await?;
            for item in found.items {
                let nonce = item.key.sk[prefix.len()..].to_owned();
                match serde_json::from_value::<Stored<M::State>>(item.data) {
                    Ok(Stored {
                        state: Some(state), ..
                    }) => pending.push(PendingRun {
                        nonce,
                        version: item.version,
                        state,
                    }),
                    Ok(Stored { state: None, .. }) => {}
                    Err(error) => {
                        tracing::error!(flow = M::NAME, %error, "a shared run is unreadable; left out");
                    }
                }
            }
            match found.cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(pending),
            }
        }
    }

    /// Starts a run of `machine` for the invoking user in `state`, and draws `view`. One
    /// conditional create: the same interaction delivered twice starts one run.
    pub async fn start<M: Machine>(
        &self,
        machine: &M,
        invocation: &Invocation,
        state: M::State,
        view: View<M::Event>,
    ) -> Response {
        match self.try_start(machine, invocation, state, view).await {
            Ok(response) => response,
            Err(error) => storage_failure(M::NAME, &error),
        }
    }

    /// [`FlowEngine::start`], with a storage failure returned rather than answered, for a
    /// caller whose own work already happened and must say so.
    pub async fn try_start<M: Machine>(
        &self,
        machine: &M,
        invocation: &Invocation,
        state: M::State,
        view: View<M::Event>,
    ) -> Result<Response, StoreError> {
        let nonce = nonce_for(&invocation.id);
        let key = Self::run_key::<M>(invocation, &nonce);
        let expires_at = self.clock.now_secs() + machine.lifetime_secs();
        let data = match serde_json::to_value(Stored {
            state: Some(state),
            by: None,
        }) {
            Ok(data) => data,
            Err(error) => return Ok(internal_error(M::NAME, &error.to_string())),
        };
        let binding = binding_of::<M>(invocation);
        match self
            .store
            .create(NewItem::new(key.clone(), data).expiring_at(expires_at))
            .await
        {
            Ok(stored) => Ok(self.draw(binding, M::NAME, &nonce, stored.version, view)),
            // The run's nonce is this interaction's, and a repeated interaction is stopped by
            // its claim before it gets here: a run already there, untouched, is this very
            // create, applied by an attempt whose answer was lost (the SDK's retry then meets
            // it). Drawing it is all that is left to do.
            Err(error @ StoreError::AlreadyExists) => {
                if self.untouched_run(&key).await {
                    Ok(self.draw(binding, M::NAME, &nonce, FIRST_VERSION, view))
                } else {
                    tracing::info!(flow = M::NAME, %error, "the run was started before");
                    Ok(already_handled())
                }
            }
            Err(error) if error.is_transient() && self.untouched_run(&key).await => {
                tracing::warn!(flow = M::NAME, %error, "the run's creation reported a failure but went through");
                Ok(self.draw(binding, M::NAME, &nonce, FIRST_VERSION, view))
            }
            Err(error) => Err(error),
        }
    }

    /// Whether the run at `key` exists as it was created, no step taken yet.
    async fn untouched_run(&self, key: &ItemKey) -> bool {
        found_after_failure(self.store.as_ref(), key, |item: &Item| {
            item.version == FIRST_VERSION && !item.data["state"].is_null()
        })
        .await
    }

    /// Handles a click or submission. `None` when the action is a command.
    pub async fn handle(&self, invocation: &Invocation) -> Option<Response> {
        let (raw, fields) = match &invocation.action {
            Action::Command(_) => return None,
            Action::Component { custom_id } => (custom_id.as_str(), None),
            Action::ModalSubmit { custom_id, fields } => (custom_id.as_str(), Some(fields.clone())),
        };
        let submitted = fields.is_some();
        // A shared flow's ids are checked against the tenant alone; every other id against
        // the clicker too.
        let shared = component_id::claimed_flow(raw)
            .and_then(|flow| self.machines.iter().find(|m| m.name() == flow))
            .is_some_and(|m| m.shared());
        let binding = if shared {
            Binding::shared(invocation.platform, &invocation.tenant)
        } else {
            binding(invocation)
        };
        let id = match self.key.decode(raw, binding) {
            Ok(id) => id,
            Err(IdError::Foreign) | Err(IdError::Malformed) => {
                tracing::info!("component id is not one of ours");
                return Some(no_longer_active(submitted));
            }
            Err(IdError::Forged) => {
                tracing::warn!(
                    user = invocation.actor.id,
                    "component id failed its integrity check; refused"
                );
                return Some(Response::Message(Reply::ephemeral(
                    "That button isn't valid for you, so nothing was done. If someone else ran the command, ask them, or run it yourself.",
                )));
            }
        };
        let Some(machine) = self.machines.iter().find(|m| m.name() == id.flow) else {
            return Some(no_longer_active(submitted));
        };
        let run = Run {
            invocation,
            id,
            fields,
        };
        Some(machine.take_step(self, run).await)
    }

    async fn take_step<M: Machine>(&self, machine: &M, run: Run<'_>) -> Response {
        // A step whose effects lost a race of their own (another moderator took the case
        // number the step meant to use) left nothing behind: read and step again, so the
        // click still counts. The run's version still guards against a double click.
        for _ in 1..EFFECT_ATTEMPTS {
            match self.step_once(machine, &run).await {
                Ok(response) => return response,
                Err(EffectConflict) => continue,
            }
        }
        match self.step_once(machine, &run).await {
            Ok(response) => response,
            Err(EffectConflict) => Response::Message(Reply::ephemeral(
                "That could not be applied because something changed in the meantime; nothing was done. Please start again.",
            )),
        }
    }

    async fn step_once<M: Machine>(
        &self,
        machine: &M,
        run: &Run<'_>,
    ) -> Result<Response, EffectConflict> {
        let invocation = run.invocation;
        let id = &run.id;
        let fields = run.fields.clone();
        let submitted = fields.is_some();
        let Some(event) = M::Event::from_code(&id.event) else {
            return Ok(no_longer_active(submitted));
        };
        let input = match fields {
            Some(fields) => Input::Submit(event, fields),
            None => Input::Click(event),
        };
        let key = Self::run_key::<M>(invocation, &id.nonce);
        let current = match self.store.get(&key).await {
            Ok(found) => found,
            Err(error) => return Ok(storage_failure(M::NAME, &error)),
        };
        let Some(current) = current else {
            tracing::info!(flow = M::NAME, "click on an expired flow");
            return Ok(expired(machine, submitted));
        };
        let stored: Stored<M::State> = match serde_json::from_value(current.data.clone()) {
            Ok(stored) => stored,
            Err(error) => return Ok(internal_error(M::NAME, &error.to_string())),
        };
        // A moved version, or a finished run: this click lost to an earlier one.
        let (Some(state), true) = (stored.state, current.version == id.version) else {
            return Ok(already_handled());
        };
        let ctx = StepContext {
            invocation,
            now_secs: self.clock.now_secs(),
            store: self.store.as_ref(),
            flows: self,
        };
        let version = current.version;
        let binding = binding_of::<M>(invocation);
        Ok(match machine.step(&ctx, state, input).await {
            Step::Invalid(why) => Response::Message(Reply::ephemeral(why)),
            Step::Stay { view } => self.draw(binding, M::NAME, &id.nonce, version, view),
            Step::Goto {
                state,
                effects,
                view,
            } => {
                let data = match serde_json::to_value(Stored {
                    state: Some(state),
                    by: Some(invocation.id.clone()),
                }) {
                    Ok(data) => data,
                    Err(error) => return Ok(internal_error(M::NAME, &error.to_string())),
                };
                let item =
                    NewItem::new(key, data).expiring_at(ctx.now_secs + machine.lifetime_secs());
                let write = WriteOp::Update {
                    item,
                    expected_version: version,
                };
                match self.commit(write, effects, &invocation.id).await {
                    Ok(()) => self.draw(binding, M::NAME, &id.nonce, version + 1, view),
                    Err(Committed::Refused(response)) => response,
                    Err(Committed::EffectConflict) => return Err(EffectConflict),
                }
            }
            Step::Finish {
                effects,
                jobs,
                view,
            } => {
                // Kept as a finished marker until the run would have expired anyway.
                let done = serde_json::to_value(Stored::<M::State> {
                    state: None,
                    by: Some(invocation.id.clone()),
                })
                .unwrap_or_default();
                let item =
                    NewItem::new(key, done).expiring_at(ctx.now_secs + machine.lifetime_secs());
                let write = WriteOp::Update {
                    item,
                    expected_version: version,
                };
                match self.commit(write, effects, &invocation.id).await {
                    Ok(()) => {
                        self.publish(jobs).await;
                        self.draw(binding, M::NAME, &id.nonce, version + 1, view)
                    }
                    Err(Committed::Refused(response)) => response,
                    Err(Committed::EffectConflict) => return Err(EffectConflict),
                }
            }
        })
    }

    /// Hands committed work to the worker. A job that cannot be published is logged: its
    /// effect in the store already happened and stays.
    pub async fn publish(&self, jobs: Vec<Job>) {
        for job in jobs {
            if let Err(error) = self.bus.publish(&job).await {
                tracing::error!(%error, job = %job.log_id(), "could not hand a job to the worker");
            }
        }
    }

    /// The bus jobs go out on (commands are handed it with their context).
    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    /// Publishes work on this deployment's bus.
    pub fn with_bus(mut self, bus: Arc<dyn Bus>) -> Self {
        self.bus = bus;
        self
    }

    /// The state write, alone (one conditional write) or with the step's effects (one
    /// transaction, the state write first so its conflict is index 0). `by` is the stepping
    /// invocation, which the state write records: after a timeout, the run read back one
    /// version on and written by `by` means the commit went through with its answer lost.
    async fn commit(
        &self,
        state_write: WriteOp,
        effects: Vec<WriteOp>,
        by: &str,
    ) -> Result<(), Committed> {
        let key = state_write.key().clone();
        let next = match &state_write {
            WriteOp::Update {
                expected_version, ..
            } => Some(expected_version + 1),
            _ => None,
        };
        let result = if effects.is_empty() {
            match state_write {
                WriteOp::Update {
                    item,
                    expected_version,
                } => self.store.update(item, expected_version).await.map(|_| ()),
                other => self.store.transact(vec![other]).await,
            }
        } else {
            let mut ops = Vec::with_capacity(effects.len() + 1);
            ops.push(state_write);
            ops.extend(effects);
            self.store.transact(ops).await
        };
        match result {
            Ok(()) => Ok(()),
            Err(StoreError::VersionConflict { .. })
            | Err(StoreError::TransactionConflict { index: 0 }) => {
                Err(Committed::Refused(already_handled()))
            }
            Err(StoreError::TransactionConflict { index }) => {
                tracing::warn!(
                    index,
                    "a flow's effect failed its condition; nothing changed"
                );
                Err(Committed::EffectConflict)
            }
            Err(error)
                if error.is_transient()
                    && found_after_failure(self.store.as_ref(), &key, |item| {
                        Some(item.version) == next && item.data["by"] == by
                    })
                    .await =>
            {
                tracing::warn!(%error, "a step's commit reported a failure but went through");
                Ok(())
            }
            Err(error) => Err(Committed::Refused(storage_failure("flow", &error))),
        }
    }

    fn encode<E: FlowEvent>(
        &self,
        binding: Binding<'_>,
        flow: &str,
        nonce: &str,
        version: u64,
        event: E,
    ) -> String {
        self.key.encode(
            &ComponentId {
                flow: flow.to_owned(),
                nonce: nonce.to_owned(),
                version,
                event: event.code().to_owned(),
            },
            binding,
        )
    }

    fn draw<E: FlowEvent>(
        &self,
        binding: Binding<'_>,
        flow: &str,
        nonce: &str,
        version: u64,
        view: View<E>,
    ) -> Response {
        let ids = |event: E| self.encode(binding, flow, nonce, version, event);
        let attach = |mut reply: Reply, buttons: Vec<FlowButton<E>>| {
            reply.buttons.extend(buttons.into_iter().map(|b| Button {
                id: ids(b.event),
                label: b.label,
                style: b.style,
            }));
            reply
        };
        match view {
            View::Message { reply, buttons } => Response::Message(attach(reply, buttons)),
            View::Update { reply, buttons } => Response::Update(attach(reply, buttons)),
            View::Modal(modal) => Response::Modal(Modal {
                id: ids(modal.event),
                title: modal.title,
                submit_label: modal.submit_label,
                inputs: modal.inputs,
            }),
            View::FormErrors {
                errors,
                fallback,
                buttons,
            } => Response::FormErrors {
                errors,
                fallback: attach(fallback, buttons),
            },
            View::FormDone(reply) => Response::FormDone(reply),
        }
    }
}

fn binding(invocation: &Invocation) -> Binding<'_> {
    Binding {
        platform: invocation.platform,
        tenant: &invocation.tenant,
        user: &invocation.actor.id,
    }
}

/// How `M`'s ids are bound for this invocation: to the tenant if `M` is shared, else to the
/// clicker too.
fn binding_of<M: Machine>(invocation: &Invocation) -> Binding<'_> {
    if M::SHARED {
        Binding::shared(invocation.platform, &invocation.tenant)
    } else {
        binding(invocation)
    }
}

/// A run's nonce: short, derived from the interaction that started it (unique per start).
fn nonce_for(interaction_id: &str) -> String {
    let digest = Sha256::digest(interaction_id.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..6])
}

fn expired<M: Machine>(machine: &M, submitted: bool) -> Response {
    let text = format!(
        "⌛ This expired: it waits {} for an answer. {}",
        lifetime_words(machine.lifetime_secs()),
        machine.restart_hint()
    );
    if submitted {
        Response::FormDone(Reply::ephemeral(text))
    } else {
        // Replacing the message removes its stale buttons.
        Response::Update(Reply::ephemeral(text))
    }
}

/// "5 minutes", "14 days": the largest whole unit, as people say a waiting time.
fn lifetime_words(secs: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match secs {
        s if s >= 86_400 && s % 86_400 == 0 => plural(s / 86_400, "day"),
        s if s >= 3600 && s % 3600 == 0 => plural(s / 3600, "hour"),
        s if s >= 60 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

fn already_handled() -> Response {
    Response::Message(Reply::ephemeral(
        "That was already handled (a second click, or someone got there first); nothing was done twice.",
    ))
}

fn no_longer_active(submitted: bool) -> Response {
    let text = "That button or form is no longer active. Run the command again to get a fresh one.";
    if submitted {
        Response::FormDone(Reply::ephemeral(text))
    } else {
        Response::Message(Reply::ephemeral(text))
    }
}

fn storage_failure(flow: &str, error: &StoreError) -> Response {
    tracing::error!(flow, %error, "flow state could not be read or written");
    Response::Message(Reply::ephemeral(
        "Gavel could not reach its storage, so nothing was done. Please try again in a moment.",
    ))
}

fn internal_error(flow: &str, problem: &str) -> Response {
    tracing::error!(flow, problem, "flow state could not be (de)serialised");
    Response::Message(Reply::ephemeral(
        "Something went wrong on Gavel's side and nothing was done. Please start again.",
    ))
}

#[cfg(test)]
mod tests {
    use super::lifetime_words;

    #[test]
    fn lifetimes_read_in_their_largest_whole_unit() {
        assert_eq!(lifetime_words(5 * 60), "5 minutes");
        assert_eq!(lifetime_words(15 * 60), "15 minutes");
        assert_eq!(lifetime_words(60), "1 minute");
        assert_eq!(lifetime_words(90 * 60), "90 minutes");
        assert_eq!(lifetime_words(2 * 3600), "2 hours");
        assert_eq!(lifetime_words(14 * 86_400), "14 days");
        assert_eq!(lifetime_words(86_400), "1 day");
        assert_eq!(lifetime_words(30), "30 seconds");
    }
}
