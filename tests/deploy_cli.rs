//! `gavel deploy secrets` and `gavel deploy check` against moto (Secrets Manager and
//! CloudFormation), through the library functions the CLI calls, on the real template.yaml
//! with a samconfig environment written per test. Each test has a SecretName prefix and a
//! stack name of its own: moto is shared by the tests of this binary.
//!
//! What the template names is found here by another route than the command's (a scan of the
//! template's text for `{NAME}_ID: !Sub "${SecretName}/…"` lines), so a command that misread
//! the template would disagree with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_secretsmanager::Client as SecretsClient;
use gavel_cli::deploy::secrets::{self, GivenSource, SecretsOptions, SecretsReport};
use gavel_cli::deploy::{Target, check};
use gavel_shared::adapters::aws::{EMULATOR_KEY, emulator_config};
use gavel_shared::adapters::discord_rest::{DiscordLimits, DiscordRest};
use gavel_shared::adapters::secret_registry::{self, is_placeholder, placeholder};
use gavel_shared::adapters::slack_api::{SlackApiClient, Tier};
use gavel_shared::adapters::telegram_api::TelegramBotApi;
use gavel_shared::clock::ManualClock;
use gavel_shared::config::{EdgeSettings, Serves};
use gavel_shared::platform::ApiError;
use gavel_tests::child::{child_process, with_emulator_aws};
use gavel_tests::moto::{self, workspace_root};
use gavel_tests::{
    FIXTURE_TIMESTAMP, SLACK_TEST_SIGNING_SECRET, discord_test_public_key_hex, edge_with,
    in_memory_store, moto::Moto, slack_signed_headers,
};

fn aws(moto: &Moto) -> aws_config::SdkConfig {
    emulator_config(&moto.endpoint, EMULATOR_KEY, EMULATOR_KEY)
}

/// A test's own environment: a SecretName prefix, a stack name, a samconfig file.
struct Env {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    prefix: String,
    stack: String,
    target: Target,
}

fn env(extra: &[&str]) -> Env {
    let namespace = moto::namespace();
    let prefix = format!("gavel-test-{}/{namespace}", std::process::id());
    let stack = format!("gavel-test-{}-{namespace}", std::process::id());
    let dir = tempfile::tempdir().expect("a temp folder");
    let samconfig = write_samconfig(dir.path(), &prefix, &stack, extra);
    Env {
        dir: dir.path().to_path_buf(),
        _dir: dir,
        prefix,
        stack,
        target: Target {
            config_env: "test".into(),
            samconfig,
            template: workspace_root().join("template.yaml"),
        },
    }
}

/// `[test.deploy.parameters]` for `stack`, its secrets under `prefix`, in a file of its own.
fn write_samconfig(dir: &Path, prefix: &str, stack: &str, extra: &[&str]) -> PathBuf {
    let mut overrides = vec![
        "\"Stage=dev\"".to_owned(),
        format!("\"SecretName={prefix}\""),
        "'AlarmTopicArn=\"\"'".to_owned(),
        "\"SlackMessageDeletion=off\"".to_owned(),
    ];
    overrides.extend(extra.iter().map(|e| format!("\"{e}\"")));
    let path = dir.join(format!("samconfig-{stack}.toml"));
    std::fs::write(
        &path,
        format!(
            "version = 0.1\n[test.deploy.parameters]\nstack_name = \"{stack}\"\n\
             parameter_overrides = [{}]\n",
            overrides.join(", ")
        ),
    )
    .expect("samconfig written");
    path
}

/// NAME → id suffix of every secret a function of template.yaml reads, found in the
/// template's text: `NAME_ID: !Sub "${SecretName}/suffix"`, or on the next line inside
/// `!If [DeleteSlackMessages, …]` (only with `deletion`).
fn secrets_named_by_template(deletion: bool) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut named = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((variable, rest)) = line.trim().split_once(':') else {
            continue;
        };
        let Some(name) = variable.strip_suffix("_ID") else {
            continue;
        };
        let value = match rest.trim() {
            "" => lines.get(i + 1).map_or("", |l| l.trim()),
            value => value,
        };
        let Some(at) = value.find("${SecretName}/") else {
            continue;
        };
        if value.starts_with("!If") {
            assert!(
                value.starts_with("!If [DeleteSlackMessages,"),
                "a conditional secret this test does not know: {value}"
            );
            if !deletion {
                continue;
            }
        }
        let suffix: String = value[at + "${SecretName}/".len()..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        named.insert(name.to_owned(), suffix);
    }
    assert!(named.len() >= 5, "the scan found too little: {named:?}");
    named
}

fn options(env: &Env, given: Vec<(&str, GivenSource)>, replace: &[&str]) -> SecretsOptions {
    SecretsOptions {
        target: env.target.clone(),
        given: given
            .into_iter()
            .map(|(name, source)| (name.to_owned(), source))
            .collect(),
        replace: replace.iter().map(|s| s.to_string()).collect(),
        interactive: false,
    }
}

/// The test's stand-in for the process environment (`--from-env`).
fn vars(name: &str) -> Option<String> {
    match name {
        "TEST_DISCORD_TOKEN" => Some("discord-token-from-env-0001".into()),
        "TEST_DISCORD_TOKEN_2" => Some("discord-token-from-env-0002".into()),
        "TEST_SLACK_SECRET" => Some("slack-signing-secret-from-env".into()),
        "TEST_SLACK_BOT" => Some("xoxb-slack-bot-from-env".into()),
        "TEST_TELEGRAM_TOKEN" => Some("123456:telegram-token-from-env".into()),
        "TEST_NOT_A_BOT_TOKEN" => Some("not-a-slack-token".into()),
        _ => None,
    }
}

async fn run_secrets(moto: &Moto, options: &SecretsOptions) -> (SecretsReport, String) {
    let mut out = Vec::new();
    let report = secrets::run(&aws(moto), options, &vars, &mut out)
        .await
        .expect("deploy secrets runs");
    (report, String::from_utf8(out).unwrap())
}

/// NAME → the value stored under the env's prefix, for each secret of `named`.
async fn stored(
    moto: &Moto,
    env: &Env,
    named: &BTreeMap<String, String>,
) -> BTreeMap<String, (String, String)> {
    let client = SecretsClient::new(&aws(moto));
    let mut values = BTreeMap::new();
    for (name, suffix) in named {
        let answer = client
            .get_secret_value()
            .secret_id(format!("{}/{suffix}", env.prefix))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name} was created: {e:?}"));
        values.insert(
            name.clone(),
            (
                answer.secret_string.unwrap(),
                answer.version_id.unwrap_or_default(),
            ),
        );
    }
    values
}

/// How many secrets exist under the env's prefix.
async fn secrets_under(moto: &Moto, env: &Env) -> usize {
    let client = SecretsClient::new(&aws(moto));
    let listed = client
        .list_secrets()
        .max_results(100)
        .send()
        .await
        .expect("moto lists secrets");
    listed
        .secret_list()
        .iter()
        .filter(|s| {
            s.name()
                .is_some_and(|n| n.starts_with(&format!("{}/", env.prefix)))
        })
        .count()
}

fn generated_shape(value: &str) -> bool {
    (32..=256).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn assert_no_value_in(output: &str, values: &BTreeMap<String, (String, String)>) {
    for (name, (value, _)) in values {
        assert!(
            !output.contains(value.as_str()),
            "the output shows {name}'s value:\n{output}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_creates_every_secret_the_template_names_without_printing_a_value() {
    let moto = moto::moto().await;
    let env = env(&[]);
    let named = secrets_named_by_template(false);
    let token_file = env.dir.join("slack-bot-token");
    std::fs::write(&token_file, "xoxb-slack-bot-from-file\n").unwrap();
    let options = options(
        &env,
        vec![
            (
                "DISCORD_BOT_TOKEN",
                GivenSource::Env("TEST_DISCORD_TOKEN".into()),
            ),
            ("SLACK_BOT_TOKEN", GivenSource::File(token_file)),
        ],
        &[],
    );
    let (report, output) = run_secrets(moto, &options).await;

    assert_eq!(report.created, named.len(), "{output}");
    assert!(report.failed.is_empty(), "{output}");
    assert_eq!(secrets_under(moto, &env).await, named.len());
    let values = stored(moto, &env, &named).await;
    for (name, (value, _)) in &values {
        let spec = secret_registry::spec(name).expect("the registry knows every secret");
        match spec.source {
            secret_registry::ValueSource::Generated => {
                assert!(
                    generated_shape(value),
                    "{name} is not of the generated shape"
                );
                assert!(!is_placeholder(value));
            }
            secret_registry::ValueSource::AfterDeploy if name != "SLACK_BOT_TOKEN" => {
                assert_eq!(value, &placeholder(name), "{name}");
            }
            _ => {}
        }
        assert!(
            output.contains(name.as_str()),
            "{name} missing from:\n{output}"
        );
    }
    assert_ne!(
        values["GAVEL_COMPONENT_SECRET"].0, values["TELEGRAM_WEBHOOK_SECRET"].0,
        "each generated secret is drawn on its own"
    );
    assert_eq!(values["DISCORD_BOT_TOKEN"].0, "discord-token-from-env-0001");
    assert_eq!(
        values["SLACK_BOT_TOKEN"].0, "xoxb-slack-bot-from-file",
        "the file's trailing newline is not the secret's"
    );
    // Asked for, but there is no terminal: a placeholder until given.
    assert!(is_placeholder(&values["TELEGRAM_BOT_TOKEN"].0));
    assert!(!named.contains_key("SLACK_ADMIN_USER_TOKEN"));
    assert_no_value_in(&output, &values);
    assert!(
        !output.contains(secret_registry::PLACEHOLDER_PREFIX),
        "{output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_reports_every_secret_present_and_changes_nothing() {
    let moto = moto::moto().await;
    let env = env(&[]);
    let named = secrets_named_by_template(false);
    let options = options(&env, vec![], &[]);
    run_secrets(moto, &options).await;
    let before = stored(moto, &env, &named).await;

    let (report, output) = run_secrets(moto, &options).await;

    assert_eq!((report.created, report.replaced), (0, 0), "{output}");
    assert_eq!(report.present, named.len(), "{output}");
    assert_eq!(
        output.matches("present").count(),
        named.len() + 1,
        "one line per secret and the summary:\n{output}"
    );
    assert_eq!(
        stored(moto, &env, &named).await,
        before,
        "values and versions unchanged"
    );
    assert_no_value_in(&output, &before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_message_deletion_on_adds_the_admin_user_token() {
    let moto = moto::moto().await;
    let env = env(&["SlackMessageDeletion=on"]);
    let named = secrets_named_by_template(true);
    assert_eq!(named.len(), secrets_named_by_template(false).len() + 1);

    let (report, output) = run_secrets(moto, &options(&env, vec![], &[])).await;

    assert_eq!(report.created, named.len(), "{output}");
    assert!(output.contains("SLACK_ADMIN_USER_TOKEN"), "{output}");
    let values = stored(moto, &env, &named).await;
    assert!(is_placeholder(&values["SLACK_ADMIN_USER_TOKEN"].0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_placeholder_is_replaced_when_a_value_is_given_and_a_real_value_only_on_replace() {
    let moto = moto::moto().await;
    let env = env(&[]);
    let named = secrets_named_by_template(false);
    let first = options(
        &env,
        vec![(
            "DISCORD_BOT_TOKEN",
            GivenSource::Env("TEST_DISCORD_TOKEN".into()),
        )],
        &[],
    );
    run_secrets(moto, &first).await;
    let before = stored(moto, &env, &named).await;
    assert!(is_placeholder(&before["SLACK_SIGNING_SECRET"].0));

    // A value for a placeholder replaces it; a value for a real secret leaves it alone.
    let second = options(
        &env,
        vec![
            (
                "SLACK_SIGNING_SECRET",
                GivenSource::Env("TEST_SLACK_SECRET".into()),
            ),
            (
                "DISCORD_BOT_TOKEN",
                GivenSource::Env("TEST_DISCORD_TOKEN_2".into()),
            ),
        ],
        &[],
    );
    let (report, output) = run_secrets(moto, &second).await;
    assert_eq!(report.replaced, 1, "{output}");
    let after = stored(moto, &env, &named).await;
    assert_eq!(
        after["SLACK_SIGNING_SECRET"].0,
        "slack-signing-secret-from-env"
    );
    assert_eq!(after["DISCORD_BOT_TOKEN"], before["DISCORD_BOT_TOKEN"]);
    assert!(
        output.contains("present, left alone (--replace DISCORD_BOT_TOKEN overwrites it)"),
        "{output}"
    );
    assert_eq!(
        after["GAVEL_COMPONENT_SECRET"],
        before["GAVEL_COMPONENT_SECRET"]
    );
    assert_no_value_in(&output, &after);

    // --replace overwrites a real value: given, or generated anew.
    let third = options(
        &env,
        vec![(
            "DISCORD_BOT_TOKEN",
            GivenSource::Env("TEST_DISCORD_TOKEN_2".into()),
        )],
        &["DISCORD_BOT_TOKEN", "GAVEL_COMPONENT_SECRET"],
    );
    let (report, output) = run_secrets(moto, &third).await;
    assert_eq!(report.replaced, 2, "{output}");
    let rotated = stored(moto, &env, &named).await;
    assert_eq!(
        rotated["DISCORD_BOT_TOKEN"].0,
        "discord-token-from-env-0002"
    );
    assert_ne!(
        rotated["GAVEL_COMPONENT_SECRET"],
        after["GAVEL_COMPONENT_SECRET"]
    );
    assert!(generated_shape(&rotated["GAVEL_COMPONENT_SECRET"].0));
    assert_no_value_in(&output, &rotated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_value_sources_are_refused_before_anything_is_written() {
    let moto = moto::moto().await;
    let env = env(&[]);
    for (given, replace, expected) in [
        (
            vec![("SLACK_APP_TOKEN", GivenSource::Env("TEST_SLACK_BOT".into()))],
            vec![],
            "no secret gavel knows",
        ),
        (
            vec![(
                "SLACK_ADMIN_USER_TOKEN",
                GivenSource::Env("TEST_SLACK_BOT".into()),
            )],
            vec![],
            "no function of this environment reads it",
        ),
        (
            vec![("SLACK_BOT_TOKEN", GivenSource::Env("TEST_UNSET".into()))],
            vec![],
            "is not set",
        ),
        (
            vec![(
                "SLACK_BOT_TOKEN",
                GivenSource::Env("TEST_NOT_A_BOT_TOKEN".into()),
            )],
            vec![],
            "must start with xoxb-",
        ),
        (
            vec![("SLACK_BOT_TOKEN", GivenSource::File(env.dir.join("absent")))],
            vec![],
            "cannot read it",
        ),
        (vec![], vec!["NOPE"], "no secret gavel knows"),
    ] {
        let options = options(&env, given, &replace);
        let mut out = Vec::new();
        let error = secrets::run(&aws(moto), &options, &vars, &mut out)
            .await
            .expect_err("refused");
        assert!(format!("{error:#}").contains(expected), "{error:#}");
        assert!(
            !format!("{error:#}").contains("not-a-slack-token"),
            "{error:#}"
        );
    }
    assert_eq!(secrets_under(moto, &env).await, 0);
}

async fn run_check(moto: &Moto, target: &Target) -> (Vec<String>, String) {
    let mut out = Vec::new();
    let left = check::run(&aws(moto), target, &mut out)
        .await
        .expect("deploy check runs");
    (left, String::from_utf8(out).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_missing_and_placeholder_secrets_and_a_missing_stack() {
    let moto = moto::moto().await;
    let env = env(&[]);
    let (left, output) = run_check(moto, &env.target).await;
    assert!(output.contains("missing"), "{output}");
    assert!(
        left.iter()
            .any(|l| l.contains("gavel deploy secrets --config-env test")),
        "{left:?}"
    );
    assert!(
        left.iter()
            .any(|l| l.contains(&format!("stack {} not found", env.stack))
                && l.contains("sam deploy --config-env test")),
        "{left:?}"
    );

    run_secrets(moto, &options(&env, vec![], &[])).await;
    let (left, output) = run_check(moto, &env.target).await;
    assert!(output.contains("placeholder"), "{output}");
    for name in [
        "SLACK_SIGNING_SECRET",
        "SLACK_BOT_TOKEN",
        "DISCORD_BOT_TOKEN",
        "TELEGRAM_BOT_TOKEN",
    ] {
        assert!(
            left.iter()
                .any(|l| l.starts_with(&format!("replace {name}'s placeholder"))),
            "{name}: {left:?}"
        );
    }
    assert!(
        !left.iter().any(|l| l.contains("create the secrets")),
        "{left:?}"
    );
    assert!(
        !output.contains(secret_registry::PLACEHOLDER_PREFIX),
        "{output}"
    );
}

/// A server that answers 200 to anything: what an endpoint without a signature check does.
async fn accepting_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(|| async { "ok" });
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A stack on moto whose outputs are `urls` (CloudFormation cannot run Gavel's own template
/// there; the check reads only the outputs).
async fn create_stack(moto: &Moto, name: &str, urls: &[(&str, String)]) {
    let outputs: serde_json::Map<String, serde_json::Value> = urls
        .iter()
        .map(|(key, url)| (key.to_string(), serde_json::json!({ "Value": url })))
        .collect();
    let body = serde_json::json!({
        "Resources": { "Handle": { "Type": "AWS::CloudFormation::WaitConditionHandle" } },
        "Outputs": outputs,
    });
    aws_sdk_cloudformation::Client::new(&aws(moto))
        .create_stack()
        .stack_name(name)
        .template_body(body.to_string())
        .send()
        .await
        .expect("moto creates the stack");
}

/// Settings as a cold start makes them from placeholder secrets.
fn placeholder_settings() -> EdgeSettings {
    EdgeSettings {
        discord_public_key: Some(discord_test_public_key_hex()),
        slack_signing_secret: Some(placeholder("SLACK_SIGNING_SECRET")),
        telegram_webhook_secret: Some(placeholder("TELEGRAM_WEBHOOK_SECRET")),
        component_secret: Some(placeholder("GAVEL_COMPONENT_SECRET")),
        ..EdgeSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_requires_every_url_of_the_stack_to_refuse_forged_requests() {
    let moto = moto::moto().await;
    let env = env(&[]);
    let real = options(
        &env,
        vec![
            (
                "DISCORD_BOT_TOKEN",
                GivenSource::Env("TEST_DISCORD_TOKEN".into()),
            ),
            (
                "SLACK_SIGNING_SECRET",
                GivenSource::Env("TEST_SLACK_SECRET".into()),
            ),
            ("SLACK_BOT_TOKEN", GivenSource::Env("TEST_SLACK_BOT".into())),
            (
                "TELEGRAM_BOT_TOKEN",
                GivenSource::Env("TEST_TELEGRAM_TOKEN".into()),
            ),
        ],
        &[],
    );
    run_secrets(moto, &real).await;
    // The real edge, started with placeholder secrets: it refuses forgeries with 401.
    let server = gavel_cli::serve::start_with(
        "127.0.0.1:0".parse().unwrap(),
        &placeholder_settings(),
        None,
        in_memory_store(Arc::new(ManualClock::at_secs(FIXTURE_TIMESTAMP))),
    )
    .await
    .expect("the edge starts with placeholder secrets");
    let urls: Vec<(&str, String)> = check::URL_OUTPUTS
        .iter()
        .map(|(key, route)| (*key, format!("http://{}{}", server.addr, route.path())))
        .collect();
    create_stack(moto, &env.stack, &urls).await;

    let (left, output) = run_check(moto, &env.target).await;
    assert_eq!(left, Vec::<String>::new(), "{output}");
    assert_eq!(
        output.matches("HTTP 401 (wanted 401)").count(),
        5,
        "{output}"
    );
    assert!(output.contains("Nothing left to do."), "{output}");

    // The same secrets, a stack whose Telegram URL takes anything, and one output missing.
    let accepting = accepting_server().await;
    let other_stack = format!("{}-accepting", env.stack);
    let other = Target {
        samconfig: write_samconfig(&env.dir, &env.prefix, &other_stack, &[]),
        ..env.target.clone()
    };
    let mut urls: Vec<(&str, String)> = urls
        .into_iter()
        .filter(|(key, _)| *key != "SlackEventsUrl")
        .collect();
    for (key, url) in urls.iter_mut() {
        if *key == "TelegramWebhookUrl" {
            *url = format!("http://{accepting}/telegram/webhook");
        }
    }
    create_stack(moto, &other_stack, &urls).await;
    let (left, output) = run_check(moto, &other).await;
    assert_eq!(left.len(), 2, "{left:?}\n{output}");
    assert!(
        left.iter()
            .any(|l| l.starts_with("TelegramWebhookUrl") && l.contains("HTTP 200")),
        "{left:?}"
    );
    assert!(
        left.iter().any(|l| l.contains("no output SlackEventsUrl")),
        "{left:?}"
    );
    assert!(output.contains("FAIL"), "{output}");
    server.shutdown().await.unwrap();
}

/// A cold start whose secrets hold placeholders still starts: every edge builds, a request
/// signed with the real Slack secret is refused, and the platform clients treat a placeholder
/// token as none, saying so when a call needs it.
#[tokio::test]
async fn functions_start_with_placeholder_secrets_and_fail_clearly_at_use() {
    let settings = placeholder_settings();
    for serves in [Serves::Discord, Serves::Slack, Serves::Telegram] {
        let _ = edge_with(&settings, serves);
    }
    let edge = edge_with(&settings, Serves::Slack);
    let body = gavel_tests::payloads::slack_command("/ping", "", "1.2.3");
    let ts = FIXTURE_TIMESTAMP.to_string();
    let headers = slack_signed_headers("application/x-www-form-urlencoded", &ts, &body);
    let headers = gavel_tests::header_map(headers.iter().map(|(k, v)| (*k, v.as_str())));
    let answer = edge
        .handle(&http::Method::POST, "/slack/commands", &headers, &body)
        .await;
    assert_eq!(
        answer.status.as_u16(),
        401,
        "signed with {SLACK_TEST_SIGNING_SECRET}"
    );

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let not_configured = |error: ApiError, name: &str| {
        let text = error.to_string();
        assert!(
            text.contains(name) && text.contains("placeholder"),
            "{text}"
        );
    };
    let slack = SlackApiClient::new(
        "http://127.0.0.1:9",
        Some(placeholder("SLACK_BOT_TOKEN")),
        None,
    )
    .expect("a placeholder token is accepted at start-up");
    let error = slack
        .call("auth.test", Tier::Three, &serde_json::json!({}), deadline)
        .await
        .expect_err("no call with a placeholder");
    not_configured(error, "SLACK_BOT_TOKEN");
    let discord = DiscordRest::new(
        "http://127.0.0.1:9".into(),
        Some(placeholder("DISCORD_BOT_TOKEN")),
        Some("1".into()),
        DiscordLimits::default(),
    )
    .expect("a placeholder token is accepted at start-up");
    let error = discord
        .request(http::Method::GET, "/users/@me", None, None, deadline)
        .await
        .expect_err("no call with a placeholder");
    not_configured(error, "DISCORD_BOT_TOKEN");
    let telegram = TelegramBotApi::new(
        "http://127.0.0.1:9",
        Some(placeholder("TELEGRAM_BOT_TOKEN")),
    )
    .expect("a placeholder token is accepted at start-up");
    let error = telegram
        .call("getMe", &serde_json::json!({}), deadline)
        .await
        .expect_err("no call with a placeholder");
    not_configured(error, "TELEGRAM_BOT_TOKEN");
}

/// docs/deploy.md's table of secrets follows the registry the commands use.
#[test]
fn the_runbook_describes_every_secret_the_registry_knows() {
    let runbook = std::fs::read_to_string(workspace_root().join("docs/deploy.md")).unwrap();
    for spec in secret_registry::SECRETS {
        let row = format!("| `{}` | `<SecretName>/{}` |", spec.name, spec.suffix);
        assert!(runbook.contains(&row), "docs/deploy.md lacks the row {row}");
    }
    assert!(runbook.contains(&placeholder("<NAME>")));
}

/// `gavel deploy ...` as main.rs parses it.
#[derive(clap::Parser)]
struct DeployCli {
    #[command(subcommand)]
    command: gavel_cli::deploy::DeployCommand,
}

#[tokio::test]
#[ignore = "entry point for the child process of deploy_reads_the_standard_aws_environment"]
async fn child_runs_gavel_deploy() {
    use clap::Parser;
    let args = std::env::var("GAVEL_TEST_DEPLOY_ARGS").unwrap_or_default();
    let cli = DeployCli::parse_from(std::iter::once("gavel-deploy").chain(args.split(' ')));
    if let Err(error) = gavel_cli::deploy::run(cli.command).await {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

/// Runs `gavel deploy <args>` in a child process whose environment holds only the standard
/// AWS settings (pointing at moto) and `extra`; its standard input is no terminal.
fn deploy_child(endpoint: &str, args: &str, extra: &[(&str, &str)]) -> std::process::Output {
    let mut child = child_process("child_runs_gavel_deploy");
    with_emulator_aws(&mut child, endpoint)
        .env("GAVEL_TEST_DEPLOY_ARGS", args)
        .envs(extra.iter().copied())
        .stdin(std::process::Stdio::null());
    child.output().expect("run the child test process")
}

/// The commands as an operator runs them: AWS_ENDPOINT_URL and the region from the
/// environment, `--from-env` reading a real variable, and `check`'s exit status.
#[tokio::test]
async fn deploy_reads_the_standard_aws_environment_and_check_fails_while_work_is_left() {
    let moto = moto::moto().await;
    let env = env(&[]);
    let files = format!(
        "--config-env test --samconfig {} --template {}",
        env.target.samconfig.display(),
        env.target.template.display()
    );
    let token = "discord-token-from-the-process-environment";
    let secrets = deploy_child(
        &moto.endpoint,
        &format!("secrets {files} --from-env DISCORD_BOT_TOKEN=GAVEL_TEST_TOKEN"),
        &[("GAVEL_TEST_TOKEN", token)],
    );
    let stdout = String::from_utf8_lossy(&secrets.stdout);
    assert!(
        secrets.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&secrets.stderr)
    );
    assert!(
        stdout.contains("created (from $GAVEL_TEST_TOKEN)"),
        "{stdout}"
    );
    assert!(!stdout.contains(token), "{stdout}");
    let named = secrets_named_by_template(false);
    assert_eq!(
        stored(moto, &env, &named).await["DISCORD_BOT_TOKEN"].0,
        token
    );

    let check = deploy_child(&moto.endpoint, &format!("check {files}"), &[]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(!check.status.success(), "{stdout}");
    assert!(stdout.contains("Left to do:"), "{stdout}");
    assert!(
        String::from_utf8_lossy(&check.stderr).contains("things left to do"),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}
