//! `gavel serve` keeps its state across a restart: the embedded store and the development
//! credentials both live in the data folder, so a restarted server still verifies with the
//! same keys and still remembers what it has handled.

use gavel_cli::credentials::DevCredentials;
use gavel_cli::payloads::{self, Invoker};
use gavel_cli::send::{Answer, post};
use gavel_cli::serve;
use gavel_cli::signing::{sign_discord, unix_now};
use gavel_shared::commands::CommandRegistry;
use gavel_shared::edge::Route;
use serde_json::Value;

async fn start(data: &std::path::Path) -> serve::RunningServer {
    let store = serve::open_embedded_store(data).expect("open the embedded store");
    let (server, _) = serve::start("127.0.0.1:0".parse().unwrap(), data, store)
        .await
        .expect("serve starts");
    server
}

async fn stop(server: serve::RunningServer) {
    // Graceful: open keep-alive connections end too, so the store file is closed.
    server.shutdown().await.expect("the server stops cleanly");
}

fn content(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{}", answer.body);
    let json: Value = answer.json().expect("JSON");
    json["data"]["content"]
        .as_str()
        .expect("content")
        .to_owned()
}

#[tokio::test]
async fn a_restarted_server_remembers_what_it_handled() {
    let data = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let registry = CommandRegistry::standard();
    // A command with an effect: `/ping` takes no claim, since its repeat only answers again.
    let body = payloads::discord_command(
        &registry,
        "/remind action=in duration=10m text=stretch",
        Invoker::default(),
    )
    .unwrap();

    let first = start(data.path()).await;
    let credentials = first
        .dev_credentials
        .clone()
        .expect("development credentials");
    let request = sign_discord(
        &credentials.signing_key().unwrap(),
        Route::DiscordInteractions.path(),
        body,
        unix_now(),
    );
    let base = format!("http://{}", first.addr);
    let set = content(&post(&client, &base, &request).await.unwrap());
    assert!(set.contains("Reminder 1 set"), "{set}");
    stop(first).await;

    let second = start(data.path()).await;
    let reloaded = second
        .dev_credentials
        .clone()
        .expect("development credentials");
    assert_eq!(
        reloaded.discord_public_key, credentials.discord_public_key,
        "the same development credentials after a restart"
    );
    let base = format!("http://{}", second.addr);
    let again = content(&post(&client, &base, &request).await.unwrap());
    assert!(
        again.contains("already handled"),
        "the claim survived the restart: {again}"
    );
    assert!(DevCredentials::path(data.path()).exists());
    stop(second).await;
}
