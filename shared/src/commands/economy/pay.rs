//! `/pay user amount [note]`: one transaction moves the money, the payer's account over the
//! version it was read at (so two payments never spend one balance), the payee's likewise, and
//! a receipt keyed by the interaction (so a redelivery pays nothing more). Over the community's
//! threshold the payer confirms first; Confirm commits the same writes with the confirmation's
//! own state, so however many times it is clicked the payment happens once.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{
    amount_option, books, cause, mention, outside_community, payee, refusal_text, refused,
    settings_of, storage_failure,
};
use crate::commands::{Command, CommandContext, CommandSpec, OptionKind, OptionSpec};
use crate::economy::{
    Account, Books, Cause, EconomyError, EconomySettings, EntryKind, Leg, Planned, Refusal,
};
use crate::flows::StepContext;
use crate::flows::confirm::{Confirmation, ConfirmedAction, Performed};
use crate::invocation::OptionValue;
use crate::reply::{ButtonStyle, Reply, Response};

/// The longest note a payment carries.
const MAX_NOTE_CHARS: usize = 200;

static PAY: CommandSpec = CommandSpec {
    name: "pay",
    description: "Pay another member from your balance",
    options: &[
        OptionSpec {
            name: "user",
            description: "Whom to pay",
            kind: OptionKind::User,
            required: true,
        },
        OptionSpec {
            name: "amount",
            description: "How much, in whole units",
            kind: OptionKind::Integer,
            required: true,
        },
        OptionSpec {
            name: "note",
            description: "What it is for",
            kind: OptionKind::String,
            required: false,
        },
    ],
    requires: None,
    context_menu: None,
    message_menu: None,
    read_only: false,
};

/// A payment waiting for Confirm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub to: String,
    pub amount: i64,
    #[serde(default)]
    pub note: String,
    /// The `/pay` interaction: the payment's receipt, whichever click confirms it.
    pub cause: String,
}

/// The two legs of a payment from `from`, refused when the balance does not cover it.
fn legs(from: &str, order: &Order) -> Vec<Leg> {
    vec![
        Leg::new(from, -order.amount, EntryKind::Sent, order.note.clone())
            .with_counterparty(&order.to),
        Leg::new(
            &order.to,
            order.amount,
            EntryKind::Received,
            order.note.clone(),
        )
        .with_counterparty(from),
    ]
}

fn paid(settings: &EconomySettings, from: &str, order: &Order, planned: &Planned) -> Reply {
    let mut text = format!(
        "💸 {} paid {} {}.",
        mention(from),
        mention(&order.to),
        settings.money(order.amount)
    );
    if !order.note.is_empty() {
        text.push_str(&format!(" “{}”", order.note));
    }
    Reply::public(text).with_field(
        "Payer's balance",
        settings.money(planned.balance_of(from).unwrap_or_default()),
    )
}

/// `/pay`.
pub struct Pay {
    confirm: Arc<Confirmation<ConfirmPay>>,
}

impl Pay {
    pub fn new() -> Self {
        Self {
            confirm: Arc::new(Confirmation(ConfirmPay)),
        }
    }
}

impl Default for Pay {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Command for Pay {
    fn spec(&self) -> &'static CommandSpec {
        &PAY
    }

    fn refuses_bots(&self) -> bool {
        true
    }

    fn register_flows(&self, engine: &mut crate::flows::FlowEngine) {
        engine.register(Arc::clone(&self.confirm));
    }

    async fn run(&self, ctx: &CommandContext<'_>) -> Response {
        if let Some(refusal) = outside_community(ctx) {
            return refusal;
        }
        let me = ctx.invocation.actor.id.as_str();
        let (Some(OptionValue::User(to)), Some(amount)) =
            (ctx.call.option("user"), amount_option(ctx))
        else {
            return Reply::ephemeral(format!("Say whom to pay and how much: `{}`.", PAY.usage()))
                .into();
        };
        let note = ctx
            .call
            .option("note")
            .and_then(OptionValue::as_str)
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        if note.chars().count() > MAX_NOTE_CHARS {
            return Reply::ephemeral(format!(
                "A note holds at most {MAX_NOTE_CHARS} characters; nothing was paid."
            ))
            .into();
        }
        // Refused before anything is read or written.
        let early = if to == me {
            Some(Refusal::SelfPayment)
        } else if amount <= 0 {
            Some(Refusal::BadAmount(amount))
        } else {
            payee(ctx.invocation, to, &ctx.call.bots).err()
        };
        let settings = match settings_of(ctx).await {
            Ok(settings) => settings,
            Err(error) => return storage_failure(&error).into(),
        };
        if let Some(refusal) = early {
            return Reply::ephemeral(refusal_text(&settings, &refusal)).into();
        }
        let order = Order {
            to: to.clone(),
            amount,
            note,
            cause: ctx.invocation.id.clone(),
        };
        if amount > settings.confirm_over {
            // Not worth a prompt if the balance cannot cover it (Confirm checks again).
            match books(ctx, &settings).account(me).await {
                Ok(account) if account.balance() < amount => {
                    let refusal = Refusal::Insufficient {
                        balance: account.balance(),
                        needed: amount,
                    };
                    return Reply::ephemeral(refusal_text(&settings, &refusal)).into();
                }
                Ok(_) => {}
                Err(error) => return storage_failure(&error).into(),
            }
            let prompted = Prompted {
                order,
                money: settings.money(amount),
            };
            let view = self.confirm.prompt_view(&prompted);
            return ctx
                .flows
                .start(
                    self.confirm.as_ref(),
                    ctx.invocation,
                    Confirmation::<ConfirmPay>::pending(prompted),
                    view,
                )
                .await;
        }
        let books = books(ctx, &settings);
        match books
            .apply(&cause(ctx), &[me, to], Vec::new(), |_| Ok(legs(me, &order)))
            .await
        {
            Ok(planned) => paid(&settings, me, &order, &planned).into(),
            Err(error) => refused(&settings, &error).into(),
        }
    }
}

/// What the confirmation keeps: the order and how its amount reads, so the prompt needs no
/// settings read of its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompted {
    pub order: Order,
    pub money: String,
}

/// A large payment, behind Confirm / Cancel.
pub struct ConfirmPay;

#[async_trait]
impl ConfirmedAction for ConfirmPay {
    const FLOW: &'static str = "pay";
    type Payload = Prompted;

    fn restart_hint(&self) -> String {
        "Run `/pay` again.".to_owned()
    }

    fn prompt(&self, prompted: &Prompted) -> Reply {
        Reply::ephemeral(format!(
            "Pay {} {}?",
            mention(&prompted.order.to),
            prompted.money
        ))
    }

    fn confirm_label(&self) -> &'static str {
        "Pay"
    }

    fn confirm_style(&self) -> ButtonStyle {
        ButtonStyle::Primary
    }

    /// Reads both accounts and returns the payment's writes, committed by the engine with the
    /// confirmation's state (and read again by it if an account moved in between).
    async fn perform(
        &self,
        ctx: &StepContext<'_>,
        prompted: &Prompted,
    ) -> Result<Performed, String> {
        let invocation = ctx.invocation;
        let me = invocation.actor.id.as_str();
        let order = &prompted.order;
        let (settings, _) =
            EconomySettings::load(ctx.store, invocation.platform, &invocation.tenant)
                .await
                .map_err(|error| storage_failure(&error).text)?;
        let books = Books::new(
            ctx.store,
            invocation.platform,
            &invocation.tenant,
            &settings,
        );
        let (payer, payee) = tokio::join!(books.account(me), books.account(&order.to));
        let accounts: Vec<Account> = vec![
            payer.map_err(|error| storage_failure(&error).text)?,
            payee.map_err(|error| storage_failure(&error).text)?,
        ];
        let cause = Cause {
            id: &order.cause,
            by: me,
            at: ctx.now_secs,
        };
        let planned = books
            .plan(&cause, &accounts, &legs(me, order))
            .map_err(|refusal| refused(&settings, &EconomyError::Refused(refusal)).text)?;
        Ok(Performed {
            effects: planned.ops.clone(),
            jobs: Vec::new(),
            reply: paid(&settings, me, order, &planned),
        })
    }
}
