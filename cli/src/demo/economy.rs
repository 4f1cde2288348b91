//! The demo's economy section: a moderator gives a welcome bonus, a member collects a daily
//! (and is told when the next is ready), pays, is refused a payment the balance does not
//! cover, confirms a large one with a double click that pays once; then the balance, the
//! leaderboard, and the same commands on Slack.

use anyhow::Result;
use gavel_shared::commands::CommandRegistry;
use gavel_shared::edge::Route;

use super::{FlowTour, discord_buttons, discord_text, first_line, slack_text};
use crate::payloads::{self, DEMO_USER, Invoker};

const PAYEE: &str = "100000000000000077";

impl FlowTour<'_> {
    pub(super) async fn economy(&mut self) -> Result<()> {
        println!("Economy: balances whose books always balance, on both platforms.\n");
        let registry = CommandRegistry::standard();
        let member = Invoker { moderator: false };
        let moderator = Invoker { moderator: true };
        let discord = |line: String, who| payloads::discord_command(&registry, &line, who);

        let given = self
            .discord(
                "Discord: a moderator gives a member a welcome bonus (/economy give, audited)",
                discord(
                    format!("/economy action=give user={DEMO_USER} amount=500 value=welcome"),
                    moderator,
                )?,
            )
            .await?;
        let text = discord_text(&given);
        self.check(text.starts_with("Gave 500"), first_line(text));

        let daily = self
            .discord(
                "Discord: the member collects /daily",
                discord("/daily".into(), member)?,
            )
            .await?;
        let text = discord_text(&daily);
        self.check(text.starts_with("You collected 100"), first_line(text));
        let again = self
            .discord(
                "Discord: /daily again at once is refused with the time left",
                discord("/daily".into(), member)?,
            )
            .await?;
        let text = discord_text(&again);
        // Rounded up to the minute, so a slow machine still reads 20 hours.
        self.check(
            text.starts_with("You already collected") && text.contains("ready in 20 hours"),
            first_line(text),
        );

        let paid = self
            .discord(
                "Discord: /pay 50 to another member (one transaction: both accounts and a receipt)",
                discord(format!("/pay user={PAYEE} amount=50 note=lunch"), member)?,
            )
            .await?;
        let text = discord_text(&paid);
        self.check(
            text.starts_with("💸") && text.contains("50"),
            first_line(text),
        );
        let short = self
            .discord(
                "Discord: /pay 5000, more than the balance",
                discord(format!("/pay user={PAYEE} amount=5000"), member)?,
            )
            .await?;
        let text = discord_text(&short);
        self.check(
            text.contains("the balance is 550") && text.contains("nothing was changed"),
            first_line(text),
        );

        let lowered = self
            .discord(
                "Discord: /economy config confirm-over 100 (payments over 100 ask first)",
                discord(
                    "/economy action=config setting=confirm-over amount=100".into(),
                    moderator,
                )?,
            )
            .await?;
        let text = discord_text(&lowered);
        self.check(text.contains("is now 100"), first_line(text));
        let prompt = self
            .discord(
                "Discord: /pay 400 asks to confirm",
                discord(format!("/pay user={PAYEE} amount=400 note=rent"), member)?,
            )
            .await?;
        let buttons = discord_buttons(&prompt);
        self.check(
            buttons.len() == 2 && discord_text(&prompt).contains("400"),
            first_line(discord_text(&prompt)),
        );
        if let Some(pay) = buttons.first() {
            let click = || payloads::discord_component(pay, member);
            let (a, b) = tokio::join!(self.send_discord(click()?), self.send_discord(click()?));
            let answers = [a?, b?];
            self.title("Discord: Pay double-clicked (two requests at once)");
            let paid = answers
                .iter()
                .filter(|a| discord_text(a).starts_with("💸"))
                .count();
            self.check(
                paid == 1,
                "one click paid; the other was told it was already handled",
            );
        }

        let balance = self
            .discord(
                "Discord: /balance shows the balance and its latest changes",
                discord("/balance".into(), member)?,
            )
            .await?;
        let text = discord_text(&balance);
        let latest = text;
        self.check(
            text.contains("150 🪙 coins") && latest.contains("paid to") && latest.contains("daily"),
            first_line(text),
        );
        let board = self
            .discord(
                "Discord: /leaderboard ranks by balance (an index, no scan)",
                discord("/leaderboard".into(), member)?,
            )
            .await?;
        let ranked = discord_text(&board);
        let ok = ranked.contains(&format!("1. <@{PAYEE}> · 450"))
            && ranked.contains(&format!("2. <@{DEMO_USER}> · 150"));
        self.check(ok, "1. the payee, 450 · 2. the member, 150");

        let gave = self
            .slack(
                "Slack: /economy give <@U0GAVELDEV> 200 welcome (the same command definition)",
                Route::SlackCommands.path(),
                payloads::slack_command("/economy give <@U0GAVELDEV> 200 welcome", moderator)?,
            )
            .await?;
        let text = slack_text(&gave);
        self.check(text.starts_with("Gave 200"), first_line(text));
        let slack_paid = self
            .slack(
                "Slack: /pay <@U0GAVELTGT> 30 coffee",
                Route::SlackCommands.path(),
                payloads::slack_command("/pay <@U0GAVELTGT> 30 coffee", member)?,
            )
            .await?;
        let text = slack_text(&slack_paid);
        self.check(text.starts_with("💸"), first_line(text));
        let slack_balance = self
            .slack(
                "Slack: /balance",
                Route::SlackCommands.path(),
                payloads::slack_command("/balance", member)?,
            )
            .await?;
        let text = slack_text(&slack_balance);
        self.check(text.contains("170 🪙 coins"), first_line(text));
        println!();
        Ok(())
    }
}
