//! The one form machine: draw the form, check a submission field by field, show the errors
//! or hand the values to the form's [`FormSpec::finish`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::FormEvent;
use super::fields::{Field, Values, submitted};
use crate::flows::confirm::Performed;
use crate::flows::{FlowButton, FlowModal, Input, Machine, Step, StepContext, View};
use crate::invocation::Platform;
use crate::reply::{ButtonStyle, FieldError, Reply};

/// What makes a form: its name and lifetime as a flow, its fields and texts, and what a valid
/// submission does.
#[async_trait]
pub trait FormSpec: Send + Sync + 'static {
    /// The flow's name in component ids and store keys (see [`Machine::NAME`]).
    const NAME: &'static str;
    /// See [`Machine::SHARED`].
    const SHARED: bool = false;
    /// What the form is about, fixed when it opens (whom, what kind, which case); stored with
    /// the draft.
    type Context: Serialize + DeserializeOwned + Send + Sync + 'static;

    fn lifetime_secs(&self) -> i64;

    /// How to start again, said when the form is submitted after it expired.
    fn restart_hint(&self) -> String;

    /// The fields, in the order drawn (and checked).
    fn fields(&self, context: &Self::Context) -> Vec<Field>;

    fn title(&self, context: &Self::Context) -> String;

    fn submit_label(&self, context: &Self::Context) -> String;

    /// Heads the list of errors on Discord: "Your report was not sent yet:".
    fn not_yet(&self) -> &'static str;

    /// The button under that list that reopens the form.
    fn edit_label(&self) -> &'static str;

    /// Acts on a valid submission: the effects commit with the form's end, the jobs go to the
    /// worker after, the reply closes the form. An `Err` is shown and leaves the form open.
    async fn finish(
        &self,
        ctx: &StepContext<'_>,
        context: Self::Context,
        values: Values,
    ) -> Result<Performed, String>;
}

/// A form's run: its context and what was typed so far, by field id (kept on Discord, where
/// a submission with errors closes the form, to reopen it filled in). Stored flat, the
/// context's fields beside the draft's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FormRun<C> {
    #[serde(flatten)]
    pub context: C,
    #[serde(flatten)]
    pub draft: BTreeMap<String, Option<String>>,
}

impl<C> FormRun<C> {
    pub fn new(context: C) -> Self {
        Self {
            context,
            draft: BTreeMap::new(),
        }
    }

    /// Fills in field `id` (a value given with the command).
    pub fn with(mut self, id: &str, value: Option<&str>) -> Self {
        self.draft.insert(id.to_owned(), value.map(str::to_owned));
        self
    }
}

/// A [`FormSpec`] as a flow.
pub struct FormFlow<F>(pub F);

impl<F: FormSpec> FormFlow<F> {
    /// The form, filled in with the run's draft.
    pub fn modal(&self, run: &FormRun<F::Context>) -> FlowModal<FormEvent> {
        let inputs = self
            .0
            .fields(&run.context)
            .iter()
            .map(|field| field.input(run.draft.get(field.id).cloned().flatten()))
            .collect();
        FlowModal {
            event: FormEvent::Submit,
            title: self.0.title(&run.context),
            submit_label: self.0.submit_label(&run.context),
            inputs,
        }
    }

    /// The view that opens the form, for [`crate::flows::FlowEngine::start`].
    pub fn open(&self, run: &FormRun<F::Context>) -> View<FormEvent> {
        View::Modal(self.modal(run))
    }

    /// A button that opens the form (under a message the form's run was prepared for).
    pub fn opener(label: impl Into<String>) -> FlowButton<FormEvent> {
        FlowButton::new(FormEvent::Edit, label, ButtonStyle::Primary)
    }

    async fn submit(
        &self,
        ctx: &StepContext<'_>,
        run: FormRun<F::Context>,
        typed: Vec<(String, String)>,
    ) -> Step<FormRun<F::Context>, FormEvent> {
        let fields = self.0.fields(&run.context);
        let mut draft = BTreeMap::new();
        let mut values = Vec::new();
        let mut errors = Vec::new();
        for field in &fields {
            let text = submitted(&typed, field.id);
            match field.check(text.as_deref()) {
                None => {}
                Some(Ok(value)) => values.push((field.id, value)),
                Some(Err(message)) => errors.push(FieldError {
                    field: field.id.to_owned(),
                    message,
                }),
            }
            draft.insert(field.id.to_owned(), text);
        }
        if errors.is_empty() {
            return match self.0.finish(ctx, run.context, Values(values)).await {
                Ok(done) => Step::Finish {
                    effects: done.effects,
                    jobs: done.jobs,
                    view: View::FormDone(done.reply),
                },
                Err(why) => Step::Invalid(why),
            };
        }
        let draft = FormRun {
            context: run.context,
            draft,
        };
        let fallback = Reply::ephemeral(self.0.not_yet());
        errors_step(
            ctx.invocation.platform,
            draft,
            errors,
            fallback,
            &fields,
            self.0.edit_label(),
        )
    }
}

#[async_trait]
impl<F: FormSpec> Machine for FormFlow<F> {
    const NAME: &'static str = F::NAME;
    const SHARED: bool = F::SHARED;
    type State = FormRun<F::Context>;
    type Event = FormEvent;

    fn lifetime_secs(&self) -> i64 {
        self.0.lifetime_secs()
    }

    fn restart_hint(&self) -> String {
        self.0.restart_hint()
    }

    async fn step(
        &self,
        ctx: &StepContext<'_>,
        run: Self::State,
        input: Input<FormEvent>,
    ) -> Step<Self::State, FormEvent> {
        match input {
            Input::Submit(FormEvent::Submit, typed) => self.submit(ctx, run, typed).await,
            Input::Click(FormEvent::Edit) => Step::Stay {
                view: self.open(&run),
            },
            Input::Click(FormEvent::Submit) | Input::Submit(FormEvent::Edit, _) => {
                Step::Invalid("That does not fit this form; use the form's own buttons.".into())
            }
        }
    }
}

/// The step for a submission with `errors`. On Slack the form stays open with the errors
/// beside the fields (nothing to store: the open form's id stays valid). On Discord the form
/// has closed, so the run keeps `draft` (what was typed) and the answer lists the errors
/// (`fallback` plus one field per error) under an `edit_label` button that reopens the form
/// filled in.
fn errors_step<S>(
    platform: Platform,
    draft: S,
    errors: Vec<FieldError>,
    fallback: Reply,
    fields: &[Field],
    edit_label: &str,
) -> Step<S, FormEvent> {
    let mut fallback = fallback;
    for error in &errors {
        let label = fields
            .iter()
            .find(|f| f.id == error.field)
            .map_or("", Field::error_label);
        fallback = fallback.with_field(label, error.message.clone());
    }
    match platform {
        // Telegram has no forms: a form's errors there are only the message (see the codec).
        Platform::Slack | Platform::Telegram => Step::Stay {
            view: View::FormErrors {
                errors,
                fallback,
                buttons: Vec::new(),
            },
        },
        Platform::Discord => Step::Goto {
            state: draft,
            effects: Vec::new(),
            view: View::FormErrors {
                errors,
                fallback,
                buttons: vec![FlowButton::new(
                    FormEvent::Edit,
                    edit_label,
                    ButtonStyle::Primary,
                )],
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        TempBan,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Context {
        kind: Kind,
        target: String,
        case: u64,
    }

    #[test]
    fn runs_are_stored_flat_so_runs_stored_before_the_generic_form_still_read() {
        // A form state as the per-command forms stored it: the draft's fields beside the
        // context's, unset ones as null.
        let old = json!({
            "kind": "temp_ban", "target": "u1", "case": 7, "reason": null, "duration": "2h"
        });
        let run: FormRun<Context> = serde_json::from_value(old).unwrap();
        assert_eq!(
            run.context,
            Context {
                kind: Kind::TempBan,
                target: "u1".into(),
                case: 7
            }
        );
        assert_eq!(run.draft.get("duration"), Some(&Some("2h".to_owned())));
        assert_eq!(run.draft.get("reason"), Some(&None));
        assert_eq!(run.draft.len(), 2);

        let fresh = FormRun::new(Context {
            kind: Kind::TempBan,
            target: "u1".into(),
            case: 7,
        })
        .with("reason", Some("spam"));
        assert_eq!(
            serde_json::to_value(&fresh).unwrap(),
            json!({ "kind": "temp_ban", "target": "u1", "case": 7, "reason": "spam" })
        );
    }
}
