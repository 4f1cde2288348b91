//! Secrets from Secrets Manager (moto): read once at cold start into the settings every
//! `from_env` sees, and the Slack signing secret read again after a rotation, at most once a
//! minute, so a new secret works without a deploy and forged requests cannot make an instance
//! hammer the store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use gavel_shared::adapters::aws::{EMULATOR_KEY, emulator_config};
use gavel_shared::adapters::secrets::{SecretValue, SecretsManager};
use gavel_shared::clock::{Clock, ManualClock};
use gavel_shared::commands::CommandRegistry;
use gavel_shared::config::{EdgeSettings, Serves};
use gavel_shared::edge::{Edge, REREAD_SECS, SigningSecretSource};
use gavel_shared::verify::slack_headers;
use gavel_tests::{
    FIXTURE_TIMESTAMP, SLACK_TEST_SIGNING_SECRET, header_map, in_memory_store, moto, payloads,
    slack_signature_with, test_settings,
};
use http::Method;

fn admin(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&emulator_config(endpoint, EMULATOR_KEY, EMULATOR_KEY))
}

async fn create(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) {
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("moto creates the secret");
}

/// Counts the reads the edge makes.
struct Counting {
    inner: SecretValue,
    reads: AtomicUsize,
}

#[async_trait]
impl SigningSecretSource for Counting {
    async fn current(&self) -> Result<String, String> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.current().await
    }
}

async fn slack_ping(edge: &Edge, clock: &ManualClock, secret: &str) -> u16 {
    let body = payloads::slack_command("/ping", "", "1.2.3");
    let ts = clock.now_secs().to_string();
    let signature = slack_signature_with(secret, &ts, &body);
    let headers = header_map([
        ("content-type", "application/x-www-form-urlencoded"),
        (slack_headers::SIGNATURE, signature.as_str()),
        (slack_headers::TIMESTAMP, ts.as_str()),
    ]);
    edge.handle(&Method::POST, "/slack/commands", &headers, &body)
        .await
        .status
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_slack_signing_secret_works_within_a_minute_without_a_deploy() {
    let moto = moto::moto().await;
    let admin = admin(&moto.endpoint);
    let id = format!("gavel/{}/slack-signing-secret", moto::namespace());
    create(&admin, &id, SLACK_TEST_SIGNING_SECRET).await;
    let clock = Arc::new(ManualClock::at_secs(FIXTURE_TIMESTAMP));
    let source = Arc::new(Counting {
        inner: SecretValue::new(SecretsManager::on_emulator(&moto.endpoint), id.clone()),
        reads: AtomicUsize::new(0),
    });
    let edge = test_settings()
        .build_edge(
            Serves::Slack,
            Arc::new(CommandRegistry::standard()),
            clock.clone(),
            in_memory_store(clock.clone()),
        )
        .unwrap()
        .with_slack_secret_source(source.clone());
    let reads = || source.reads.load(Ordering::SeqCst);

    assert_eq!(
        slack_ping(&edge, &clock, SLACK_TEST_SIGNING_SECRET).await,
        200
    );
    assert_eq!(reads(), 0, "a good signature reads nothing");

    admin
        .put_secret_value()
        .secret_id(&id)
        .secret_string("rotated-signing-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(
        slack_ping(&edge, &clock, "rotated-signing-secret").await,
        200,
        "the first request signed with the new secret makes the edge read it"
    );
    assert_eq!(reads(), 1);
    assert_eq!(
        slack_ping(&edge, &clock, "rotated-signing-secret").await,
        200
    );
    assert_eq!(
        slack_ping(&edge, &clock, SLACK_TEST_SIGNING_SECRET).await,
        401,
        "the old secret no longer verifies"
    );
    for _ in 0..5 {
        assert_eq!(slack_ping(&edge, &clock, "forged").await, 401);
    }
    assert_eq!(
        reads(),
        1,
        "failures within a minute of a read read nothing more"
    );
    clock.advance_ms((REREAD_SECS + 1) * 1000);
    assert_eq!(slack_ping(&edge, &clock, "forged").await, 401);
    assert_eq!(reads(), 2, "a minute on, a failure may read again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_start_reads_each_configured_secret_into_the_settings() {
    let moto = moto::moto().await;
    let admin = admin(&moto.endpoint);
    let prefix = format!("gavel/{}", moto::namespace());
    create(
        &admin,
        &format!("{prefix}/slack-signing-secret"),
        "signing from the store",
    )
    .await;
    create(
        &admin,
        &format!("{prefix}/component-secret"),
        "component secret from the store, long enough",
    )
    .await;
    let ids: BTreeMap<String, String> = [
        ("SLACK_SIGNING_SECRET_ID", "slack-signing-secret"),
        ("GAVEL_COMPONENT_SECRET_ID", "component-secret"),
    ]
    .into_iter()
    .map(|(variable, name)| (variable.to_owned(), format!("{prefix}/{name}")))
    .collect();
    let manager = SecretsManager::on_emulator(&moto.endpoint);

    let loaded = manager
        .load(|variable| ids.get(variable).cloned())
        .await
        .unwrap();
    assert_eq!(
        loaded,
        vec!["GAVEL_COMPONENT_SECRET", "SLACK_SIGNING_SECRET"]
    );
    let settings = EdgeSettings::from_env().unwrap();
    assert_eq!(
        settings.slack_signing_secret.as_deref(),
        Some("signing from the store")
    );
    assert_eq!(
        settings.component_secret.as_deref(),
        Some("component secret from the store, long enough")
    );
    // The values never show in the settings' Debug (logs).
    let shown = format!("{settings:?}");
    assert!(!shown.contains("from the store"), "{shown}");

    // A secret that cannot be read fails the cold start, naming the variable, not a value.
    let missing = manager
        .load(|variable| (variable == "SLACK_BOT_TOKEN_ID").then(|| format!("{prefix}/absent")))
        .await
        .unwrap_err()
        .to_string();
    assert!(missing.contains("SLACK_BOT_TOKEN"), "{missing}");
}
