//! The demo's Telegram walkthrough: the same commands in a group, against the recording Bot
//! API. A member from warnings to a mute recommendation (Apply clicked as an inline button),
//! a temporary ban confirmed with a click, the banned member's appeal sent from their private
//! chat with the bot, and a pardon that lifts the ban; each answer is the `sendMessage` in the
//! webhook's answer, each click answered with `answerCallbackQuery`.

use anyhow::Result;
use gavel_shared::edge::Route;
use gavel_shared::platform::recording::{PlatformCall, RecordingPlatform};
use gavel_shared::worker::InProcessBus;
use serde_json::Value;

use super::{FlowTour, count, first_line};
use crate::payloads::{self, Invoker, TELEGRAM_DEV_GROUP, TELEGRAM_DEV_USER};
use crate::send::post;
use crate::signing::with_telegram_secret;

fn text(answer: &Value) -> &str {
    answer["text"].as_str().unwrap_or_default()
}

fn callback_data(answer: &Value) -> Vec<String> {
    answer["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["callback_data"].as_str().map(str::to_owned))
        .collect()
}

impl FlowTour<'_> {
    async fn send_telegram(&self, update: Vec<u8>) -> Result<Value> {
        let request = with_telegram_secret(
            &self.credentials.telegram_webhook_secret(),
            Route::TelegramWebhook.path(),
            update,
        );
        let answer = post(self.client, self.base, &request).await?;
        Ok(answer.json().unwrap_or(Value::Null))
    }

    /// A moderator's command replying to the member's message.
    async fn telegram(&mut self, title: &str, line: &str) -> Result<Value> {
        self.title(title);
        let update =
            payloads::telegram_message(line, Some(TELEGRAM_DEV_USER), Invoker { moderator: true });
        self.send_telegram(update).await
    }

    /// The moderator clicks a button carrying `data`; the text the message was edited to.
    async fn telegram_click(
        &mut self,
        title: &str,
        data: &str,
        platform: &RecordingPlatform,
    ) -> Result<String> {
        self.title(title);
        let seen = platform.calls().len();
        let click = payloads::telegram_click(data, TELEGRAM_DEV_GROUP);
        let answer = self.send_telegram(click).await?;
        if answer["method"] != "answerCallbackQuery" {
            return Ok(format!("the click was not answered: {answer}"));
        }
        Ok(platform
            .calls()
            .into_iter()
            .skip(seen)
            .find_map(|c| match c {
                PlatformCall::TelegramEdit { reply, .. } => Some(reply.text),
                _ => None,
            })
            .unwrap_or_default())
    }

    pub(super) async fn telegram_moderation(
        &mut self,
        platform: &RecordingPlatform,
        jobs: &InProcessBus,
    ) -> Result<()> {
        println!("Moderation on Telegram: the same commands in a group, against a fake Bot API.\n");
        let start = platform.calls().len();
        let mut last = Value::Null;
        for n in 1..=3 {
            last = self
                .telegram(
                    &format!(
                        "Telegram: warning {n} of 3 (/warn, replying to the member's message)"
                    ),
                    "/warn spam in the group",
                )
                .await?;
            let shown = text(&last).to_owned();
            self.check(
                shown.contains(&format!("Case #{n}: warning")),
                first_line(&shown),
            );
        }
        let offer = callback_data(&last);
        self.title("Telegram: the third warning recommends a mute, as an inline keyboard");
        self.check(
            text(&last).contains("recommended next, a mute for 1h")
                && offer.len() == 2
                && offer.iter().all(|d| d.len() <= 64),
            "a mute for 1h, with [Apply] [Dismiss]; callback_data within Telegram's 64 bytes",
        );
        if let Some(apply) = offer.first() {
            let applied = self
                .telegram_click("Telegram: the moderator clicks Apply", apply, platform)
                .await?;
            self.check(
                applied.contains("Case #4: mute for 1h"),
                first_line(&applied),
            );
        }
        let prompt = self
            .telegram(
                "Telegram: /tempban 7d asks to confirm",
                "/tempban 7d raided the group",
            )
            .await?;
        let buttons = callback_data(&prompt);
        self.check(buttons.len() == 2, first_line(text(&prompt)));
        if let Some(confirm) = buttons.first() {
            let banned = self
                .telegram_click("Telegram: Confirm", confirm, platform)
                .await?;
            self.check(
                banned.contains("Case #5: temporary ban for 7d"),
                first_line(&banned),
            );
        }
        jobs.drained().await;
        let calls: Vec<PlatformCall> = platform.calls().into_iter().skip(start).collect();
        let mutes = count(&calls, |c| {
            matches!(c, PlatformCall::TelegramRestrict { .. })
        });
        let bans = count(&calls, |c| {
            matches!(c, PlatformCall::TelegramBan { until: Some(_), .. })
        });
        let told = count(
            &calls,
            |c| matches!(c, PlatformCall::TelegramMessage { chat, .. } if *chat == TELEGRAM_DEV_USER.to_string()),
        );
        self.title("Telegram: the worker mutes (restrictChatMember), bans until the end (banChatMember), tells the member privately");
        self.check(
            mutes == 1 && bans == 1 && told == 5,
            &format!("{mutes} restriction, {bans} ban with until_date, {told} private messages"),
        );
        self.title("Telegram: the banned member appeals from the private chat with the bot");
        let appeal = self
            .send_telegram(payloads::telegram_private_message(
                "/appeal 5 I was not part of the raid, I was reporting it",
            ))
            .await?;
        self.check(
            text(&appeal).contains("appeal of case #5") && appeal["chat_id"] == TELEGRAM_DEV_USER,
            first_line(text(&appeal)),
        );
        let before = platform.calls().len();
        let pardon = self
            .telegram(
                "Telegram: /pardon 5 lifts the temporary ban",
                "/pardon 5 appeal accepted",
            )
            .await?;
        self.check(text(&pardon).contains("#5"), first_line(text(&pardon)));
        jobs.drained().await;
        let unbans = count(&platform.calls()[before..], |c| {
            matches!(c, PlatformCall::TelegramUnban { .. })
        });
        self.title("Telegram: the worker unbans with only_if_banned (a member who rejoined stays)");
        self.check(unbans == 1, "one unbanChatMember");
        println!();
        Ok(())
    }
}
