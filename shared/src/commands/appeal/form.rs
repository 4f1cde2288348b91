//! The appeal form, in two flows: [`AppealForm`], opened by `/appeal` without a reason, and
//! [`DmAppeal`], opened by the Appeal button under a banned member's direct message (who can
//! no longer run commands in the server). Both ask for the reason and, once it is valid,
//! check the appeal again (things may have changed while the form was open) and commit it
//! with the form's end.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::REASON;
use super::elsewhere::in_community;
use super::opening::{Standing, prepare_opening};
use crate::flows::confirm::Performed;
use crate::flows::form::{Field, FormFlow, FormRun, FormSpec, Values};
use crate::flows::{FlowEngine, StepContext};
use crate::invocation::{Invocation, Platform};
use crate::reply::{Button, Reply};
use crate::store::WriteOp;

const REASON_FIELD: &str = "reason";

/// How long the DM's Appeal button works.
pub const DM_APPEAL_LIFETIME_SECS: i64 = 30 * 24 * 60 * 60;

/// The one field of both forms.
fn fields() -> Vec<Field> {
    vec![
        Field::text(
            REASON_FIELD,
            "Why should the moderators reconsider?",
            REASON,
        )
        .named_in_errors("Reason")
        .multiline()
        .placeholder("What happened, from your side?"),
    ]
}

fn title(case: u64) -> String {
    format!("Appeal case #{case}")
}

const SUBMIT_LABEL: &str = "Send appeal";
const NOT_YET: &str = "Your appeal was not sent yet:";
const EDIT_LABEL: &str = "Edit appeal";

/// Files the appeal of `case` in `invocation`'s community, as a form's end: refusals and the
/// answer close the form; the appeal's writes commit with it.
async fn file(
    ctx: &StepContext<'_>,
    invocation: &Invocation,
    case: u64,
    values: Values,
) -> Performed {
    let answer = |reply: Reply| Performed {
        effects: Vec::new(),
        jobs: Vec::new(),
        reply,
    };
    let standing = match Standing::load(ctx.store, invocation, case, ctx.now_secs).await {
        Ok(standing) => standing,
        Err(refused) => return answer(refused),
    };
    let reason = values.text(REASON_FIELD).unwrap_or_default();
    match prepare_opening(
        ctx.store,
        ctx.flows,
        invocation,
        &standing,
        &reason,
        ctx.now_secs,
    )
    .await
    {
        Ok(opening) => Performed {
            effects: opening.ops,
            jobs: opening.post.into_iter().collect(),
            reply: opening.reply,
        },
        Err(reply) => answer(reply),
    }
}

/// What `/appeal`'s form is about: the case appealed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Appealed {
    pub case: u64,
}

/// `/appeal`'s form.
pub struct AppealForm;

#[async_trait]
impl FormSpec for AppealForm {
    const NAME: &'static str = "appeal-form";
    type Context = Appealed;

    fn lifetime_secs(&self) -> i64 {
        // Writing an appeal takes a while.
        15 * 60
    }

    fn restart_hint(&self) -> String {
        "Run `/appeal` again to write it.".to_owned()
    }

    fn fields(&self, _: &Appealed) -> Vec<Field> {
        fields()
    }

    fn title(&self, appealed: &Appealed) -> String {
        title(appealed.case)
    }

    fn submit_label(&self, _: &Appealed) -> String {
        SUBMIT_LABEL.to_owned()
    }

    fn not_yet(&self) -> &'static str {
        NOT_YET
    }

    fn edit_label(&self) -> &'static str {
        EDIT_LABEL
    }

    async fn finish(
        &self,
        ctx: &StepContext<'_>,
        appealed: Appealed,
        values: Values,
    ) -> Result<Performed, String> {
        Ok(file(ctx, ctx.invocation, appealed.case, values).await)
    }
}

/// What the DM's form is about: the server and the case. Discord sends a DM's clicks without
/// a guild, so the run is shared within the member's own DM "community" (`dm:{user}`, which
/// only that member's clicks carry) and keeps the server here.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DmAppealed {
    pub guild: String,
    pub case: u64,
}

/// The form behind a ban DM's Appeal button.
pub struct DmAppeal;

#[async_trait]
impl FormSpec for DmAppeal {
    const NAME: &'static str = "appeal-dm";
    const SHARED: bool = true;
    type Context = DmAppealed;

    fn lifetime_secs(&self) -> i64 {
        DM_APPEAL_LIFETIME_SECS
    }

    fn restart_hint(&self) -> String {
        "This appeal button has expired; contact the community's moderators.".to_owned()
    }

    fn fields(&self, _: &DmAppealed) -> Vec<Field> {
        fields()
    }

    fn title(&self, appealed: &DmAppealed) -> String {
        title(appealed.case)
    }

    fn submit_label(&self, _: &DmAppealed) -> String {
        SUBMIT_LABEL.to_owned()
    }

    fn not_yet(&self) -> &'static str {
        NOT_YET
    }

    fn edit_label(&self) -> &'static str {
        EDIT_LABEL
    }

    async fn finish(
        &self,
        ctx: &StepContext<'_>,
        appealed: DmAppealed,
        values: Values,
    ) -> Result<Performed, String> {
        // The appeal belongs to the server, as if the member had run `/appeal` there.
        let in_guild = in_community(ctx.invocation, &appealed.guild);
        Ok(file(ctx, &in_guild, appealed.case, values).await)
    }
}

/// The run behind a ban DM's Appeal button, and the button, for the ban's transaction. Only
/// Discord needs it (Slack has no bans), and an unappealable case gets none.
pub fn dm_appeal_button(
    flows: &FlowEngine,
    platform: Platform,
    guild: &str,
    case: &crate::moderation::Case,
) -> Option<(WriteOp, Button)> {
    if platform != Platform::Discord || case.unappealable {
        return None;
    }
    let run = FormRun::new(DmAppealed {
        guild: guild.to_owned(),
        case: case.number,
    });
    let run = flows
        .prepare_shared(
            &FormFlow(DmAppeal),
            platform,
            &crate::invocation::dm_tenant(&case.target),
            &format!("{guild}:{}", case.number),
            run,
            vec![FormFlow::<DmAppeal>::opener(format!(
                "Appeal case #{}",
                case.number
            ))],
        )
        .ok()?;
    let button = run.buttons.into_iter().next()?;
    Some((run.write, button))
}
