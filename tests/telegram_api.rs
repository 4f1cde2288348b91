//! The Telegram Bot API client against the fake Bot API (`support/telegram_fake.rs`), which
//! enforces Telegram's per-chat pace and answers its 400, 403 and 429.

#[path = "support/telegram_fake.rs"]
mod telegram_fake;

use std::time::{Duration, Instant};

use gavel_shared::adapters::telegram_api::TelegramBotApi;
use gavel_shared::platform::{ApiError, TelegramApi};
use gavel_shared::reply::Reply;
use serde_json::json;
use telegram_fake::{POWERLESS_GROUP, Status, TOKEN, fake};

const GROUP: &str = "-1001234567890";
const MEMBER: &str = "4242";
/// Has never started a private chat with the bot.
const STRANGER: &str = "5151";

fn soon(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

#[tokio::test]
async fn messages_to_one_chat_are_paced_so_telegram_never_answers_429() {
    let (_server, fake, client) = fake().await;
    for n in 0..3 {
        client
            .send_reply(GROUP, &Reply::public(format!("notice {n}")), soon(10))
            .await
            .expect("paced messages are accepted");
    }
    assert_eq!(fake.too_many(), 0, "the client kept the pace itself");
    let sent = fake.calls_of("sendMessage");
    assert_eq!(sent.len(), 3);
    for pair in sent.windows(2) {
        assert!(pair[1].1 - pair[0].1 >= Duration::from_secs(1));
    }
    // Another chat does not wait behind this one.
    let started = Instant::now();
    client
        .send_reply("-1005555555555", &Reply::public("elsewhere"), soon(10))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(900));
}

#[tokio::test]
async fn a_429_is_waited_out_within_the_deadline_and_reported_past_it() {
    let (_server, fake, client) = fake().await;
    fake.state.lock().unwrap().throttle = Some(("banChatMember".into(), 1));
    let started = Instant::now();
    client
        .ban_member(GROUP, MEMBER, None, false, soon(10))
        .await
        .expect("retried after retry_after");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(fake.calls_of("banChatMember").len(), 2);

    fake.state.lock().unwrap().throttle = Some(("restrictChatMember".into(), 1));
    let short = Instant::now() + Duration::from_millis(500);
    match client
        .restrict_member(GROUP, MEMBER, Some(2_000_000_000), short)
        .await
    {
        Err(ApiError::RateLimited { retry_after_ms }) => assert!(retry_after_ms >= 1000),
        other => panic!("expected a rate limit, got {other:?}"),
    }
}

#[tokio::test]
async fn refusals_say_what_to_do() {
    let (_server, _fake, client) = fake().await;
    match client
        .ban_member(POWERLESS_GROUP, MEMBER, None, false, soon(5))
        .await
    {
        Err(ApiError::Forbidden { message }) => assert!(message.contains("Ban users"), "{message}"),
        other => panic!("{other:?}"),
    }
    match client
        .send_reply(STRANGER, &Reply::ephemeral("hi"), soon(5))
        .await
    {
        Err(ApiError::Forbidden { message }) => {
            assert!(message.contains("started a private chat"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_unban_never_removes_a_member_who_rejoined() {
    let (server, fake, client) = fake().await;
    fake.set(GROUP, MEMBER, Status::Member);
    client
        .ban_member(GROUP, MEMBER, Some(2_000_000_000), false, soon(5))
        .await
        .unwrap();
    assert_eq!(fake.status(GROUP, MEMBER), Status::Kicked);
    // Telegram lifted the ban on its own and the member came back before Gavel's sweep.
    fake.set(GROUP, MEMBER, Status::Member);
    client.unban_member(GROUP, MEMBER, soon(5)).await.unwrap();
    assert_eq!(
        fake.status(GROUP, MEMBER),
        Status::Member,
        "still in the group"
    );
    let (body, _) = fake.calls_of("unbanChatMember").pop().unwrap();
    assert_eq!(body["only_if_banned"], true);

    // The fake would have caught the flag's absence: a plain unban removes the member.
    reqwest::Client::new()
        .post(format!("{}/bot{TOKEN}/unbanChatMember", server.uri()))
        .json(&json!({ "chat_id": GROUP, "user_id": MEMBER }))
        .send()
        .await
        .unwrap();
    assert_eq!(fake.status(GROUP, MEMBER), Status::Left);
}

#[tokio::test]
async fn member_rights_are_read_once_and_kept() {
    let (_server, fake, client) = fake().await;
    let rights = client.member_rights(GROUP, MEMBER, soon(5)).await.unwrap();
    assert!(!rights.administrator);
    client.member_rights(GROUP, MEMBER, soon(5)).await.unwrap();
    assert_eq!(
        fake.calls_of("getChatMember").len(),
        1,
        "the second answer came from memory"
    );
}

#[tokio::test]
async fn the_token_never_appears_in_an_error_and_a_refused_token_stops_calls() {
    // Nothing listens there: the network error must not carry the URL.
    let offline = TelegramBotApi::new("http://127.0.0.1:9", Some(TOKEN.to_owned())).unwrap();
    let error = offline
        .send_reply(GROUP, &Reply::ephemeral("x"), soon(2))
        .await
        .unwrap_err();
    assert!(!error.to_string().contains(TOKEN), "{error}");
    assert!(!format!("{offline:?}").contains(TOKEN));

    let (server, _fake, _) = fake().await;
    let wrong = TelegramBotApi::new(server.uri(), Some("999:wrong".to_owned())).unwrap();
    let refused = wrong.delete_message(GROUP, "5", soon(5)).await.unwrap_err();
    assert!(
        matches!(refused, ApiError::Rejected { status: 401, .. }),
        "{refused:?}"
    );
    let after = wrong.delete_message(GROUP, "6", soon(5)).await.unwrap_err();
    assert!(matches!(after, ApiError::NotSent(_)), "{after:?}");
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(
        requests.len(),
        1,
        "nothing more was sent with the refused token"
    );
}
