//! `gavel deploy check`: what an environment still lacks, function by function and then for
//! its stack, ending with a list of what is left to do (each with the command that does it).

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;
use aws_sdk_cloudformation::error::DisplayErrorContext;
use aws_sdk_cloudformation::types::StackStatus;
use gavel_shared::edge::Route;

use super::secrets::{SecretState, inspect};
use super::{Target, load_plan, replace_command};
use crate::doctor::{self, write_check};

/// The stack outputs given to the platforms, and the route each must be.
pub const URL_OUTPUTS: [(&str, Route); 5] = [
    ("DiscordInteractionsUrl", Route::DiscordInteractions),
    ("SlackCommandsUrl", Route::SlackCommands),
    ("SlackInteractionsUrl", Route::SlackInteractions),
    ("SlackEventsUrl", Route::SlackEvents),
    ("TelegramWebhookUrl", Route::TelegramWebhook),
];

/// Runs the checks, writing the report to `out`; returns what is left to do (empty: all
/// done).
pub async fn run(
    aws: &aws_config::SdkConfig,
    target: &Target,
    out: &mut dyn Write,
) -> Result<Vec<String>> {
    let (plan, aws) = load_plan(target, aws)?;
    let env = &plan.env;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let mut left = Left::default();
    // Each secret looked up once, however many functions read it.
    let mut states = BTreeMap::new();
    for secret_use in plan.secrets() {
        let state = inspect(&secrets, &secret_use.secret).await;
        states.insert(secret_use.secret.id, state);
    }
    writeln!(out, "Secrets (read at each function's cold start):")?;
    for function in &plan.functions {
        writeln!(out, "  {}", function.function)?;
        if function.secrets.is_empty() {
            writeln!(out, "    (none)")?;
        }
        for secret in &function.secrets {
            let spec = secret.spec;
            let Some(state) = states.get(&secret.id) else {
                continue;
            };
            let verdict = match state {
                SecretState::Present {
                    placeholder: false,
                    problem: None,
                } => "ok  ",
                SecretState::Present {
                    placeholder: true, ..
                } => "TODO",
                _ => "FAIL",
            };
            writeln!(
                out,
                "    {verdict} {} ({}): {}",
                spec.name,
                secret.id,
                state.label()
            )?;
            match state {
                SecretState::Present {
                    placeholder: false,
                    problem: None,
                } => {}
                SecretState::Missing => left.add(format!(
                    "create the secrets: `gavel deploy secrets --config-env {}`",
                    env.name
                )),
                SecretState::Present {
                    placeholder: true, ..
                } => left.add(format!(
                    "replace {}'s placeholder with {}: `{}`",
                    spec.name,
                    spec.description,
                    replace_command(&env.name, spec)
                )),
                SecretState::Present {
                    problem: Some(problem),
                    ..
                } => left.add(format!(
                    "{}'s value {problem}: `{} --replace {}`",
                    spec.name,
                    replace_command(&env.name, spec),
                    spec.name
                )),
                SecretState::ScheduledForDeletion => left.add(format!(
                    "restore {} (`aws secretsmanager restore-secret --secret-id {}`)",
                    secret.id, secret.id
                )),
                SecretState::Unreadable(why) => left.add(format!(
                    "make {} readable with these credentials ({why})",
                    secret.id
                )),
            }
        }
    }

    writeln!(out, "Stack {}:", env.stack_name)?;
    let deploy = format!("sam build && sam deploy --config-env {}", env.name);
    let cloudformation = aws_sdk_cloudformation::Client::new(&aws);
    let described = cloudformation
        .describe_stacks()
        .stack_name(&env.stack_name)
        .send()
        .await;
    let stack = match described {
        Ok(answer) => answer.stacks.unwrap_or_default().into_iter().next(),
        // CloudFormation answers a stack that does not exist with a ValidationError.
        Err(e)
            if DisplayErrorContext(&e)
                .to_string()
                .contains("does not exist") =>
        {
            None
        }
        Err(e) => {
            let why = DisplayErrorContext(&e).to_string();
            writeln!(out, "  FAIL cannot describe it: {why}")?;
            left.add(format!(
                "let these credentials describe stack {} ({why})",
                env.stack_name
            ));
            return left.finish(out);
        }
    };
    let Some(stack) = stack else {
        writeln!(out, "  TODO not found")?;
        left.add(format!("stack {} not found: `{deploy}`", env.stack_name));
        return left.finish(out);
    };
    let status = stack.stack_status.clone();
    let status_text = status
        .as_ref()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let settled = matches!(
        status,
        Some(StackStatus::CreateComplete | StackStatus::UpdateComplete)
    );
    writeln!(
        out,
        "  {} status {status_text}",
        if settled { "ok  " } else { "FAIL" }
    )?;
    if !settled {
        left.add(format!(
            "stack {} is {status_text}: wait for it, or read its events and `{deploy}`",
            env.stack_name
        ));
    }
    let outputs = stack.outputs.unwrap_or_default();
    let client = doctor::http_client()?;
    for (key, route) in URL_OUTPUTS {
        let url = outputs
            .iter()
            .find(|o| o.output_key.as_deref() == Some(key))
            .and_then(|o| o.output_value.clone());
        let Some(url) = url else {
            writeln!(out, "  FAIL output {key}: missing")?;
            left.add(format!(
                "stack {} has no output {key}: deploy the current template (`{deploy}`)",
                env.stack_name
            ));
            continue;
        };
        let mut check = doctor::refuses_forgery(&client, &url, route).await;
        check.what = format!("{key} {}", check.what);
        write!(out, "  ")?;
        write_check(out, &check)?;
        if !check.ok {
            left.add(format!(
                "{key} ({url}) must refuse a forged request with 401 ({}): do not give it \
                 to the platform until it does",
                check.detail
            ));
        }
    }
    left.finish(out)
}

/// What is left to do, each once, in the order found.
#[derive(Default)]
struct Left(Vec<String>);

impl Left {
    fn add(&mut self, item: String) {
        if !self.0.contains(&item) {
            self.0.push(item);
        }
    }

    fn finish(self, out: &mut dyn Write) -> Result<Vec<String>> {
        if self.0.is_empty() {
            writeln!(out, "Nothing left to do.")?;
        } else {
            writeln!(out, "Left to do:")?;
            for item in &self.0 {
                writeln!(out, "  - {item}")?;
            }
        }
        Ok(self.0)
    }
}
