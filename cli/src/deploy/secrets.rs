//! `gavel deploy secrets`: creates every secret an environment's functions read (the
//! template says which), each from the value source given for it, generated, asked for, or a
//! placeholder; leaves existing ones alone unless told to replace them. Prints names, ids and
//! states, never a value.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use gavel_shared::adapters::secret_registry::{
    self, SecretSpec, ValueSource, is_placeholder, placeholder,
};

use super::template::{SecretRef, SecretUse};
use super::{Target, load_plan, replace_command};

/// A secret's value: never printed, not even by `{:?}`.
pub struct SecretString(String);

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where a value given on the command line comes from.
#[derive(Clone, Debug)]
pub enum GivenSource {
    /// `--from-env NAME=VARIABLE`.
    Env(String),
    /// `--from-file NAME=PATH`.
    File(PathBuf),
}

/// `gavel deploy secrets`' options.
pub struct SecretsOptions {
    pub target: Target,
    /// Per secret name, where its value comes from.
    pub given: Vec<(String, GivenSource)>,
    /// `--replace NAME`: overwrite even a real value.
    pub replace: Vec<String>,
    /// Ask on the terminal for the secrets only their owner has (false: `--no-prompt`, or
    /// standard input is not a terminal).
    pub interactive: bool,
}

/// What is in Secrets Manager under an id.
#[derive(Debug, PartialEq, Eq)]
pub enum SecretState {
    Missing,
    /// Deleted, still recoverable: the name cannot be used until it is restored or gone.
    ScheduledForDeletion,
    /// It exists but cannot be read with these credentials (the error, which names no value).
    Unreadable(String),
    Present {
        placeholder: bool,
        /// Why the value would not work (its shape), if it would not.
        problem: Option<String>,
    },
}

impl SecretState {
    pub fn label(&self) -> String {
        match self {
            SecretState::Missing => "missing".to_owned(),
            SecretState::ScheduledForDeletion => "scheduled for deletion".to_owned(),
            SecretState::Unreadable(why) => format!("unreadable: {why}"),
            SecretState::Present {
                placeholder: true, ..
            } => "present, placeholder".to_owned(),
            SecretState::Present {
                problem: Some(problem),
                ..
            } => format!("present, but its value {problem}"),
            SecretState::Present { .. } => "present".to_owned(),
        }
    }
}

/// Looks `secret` up: exists (DescribeSecret), readable with the caller's credentials and
/// still a placeholder (GetSecretValue)?
pub async fn inspect(client: &Client, secret: &SecretRef) -> SecretState {
    match client.describe_secret().secret_id(&secret.id).send().await {
        Ok(described) if described.deleted_date.is_some() => {
            return SecretState::ScheduledForDeletion;
        }
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            return SecretState::Missing;
        }
        // Describing may be denied where reading is allowed (a function's role): read.
        Err(_) => {}
    }
    match client.get_secret_value().secret_id(&secret.id).send().await {
        Ok(answer) => {
            let value = answer.secret_string.unwrap_or_default();
            SecretState::Present {
                placeholder: is_placeholder(&value),
                problem: secret.spec.shape.check(&value).err(),
            }
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            SecretState::Missing
        }
        Err(e) => SecretState::Unreadable(DisplayErrorContext(&e).to_string()),
    }
}

/// Where a written value came from, for the report.
enum Origin {
    Given(String),
    Generated,
    Entered,
    Placeholder,
}

impl Origin {
    fn label(&self) -> String {
        match self {
            Origin::Given(from) => format!("from {from}"),
            Origin::Generated => "generated".to_owned(),
            Origin::Entered => "entered".to_owned(),
            Origin::Placeholder => "placeholder".to_owned(),
        }
    }
}

/// What `deploy secrets` did: the count of each outcome, and what is left.
#[derive(Debug, Default)]
pub struct SecretsReport {
    pub created: usize,
    pub replaced: usize,
    pub present: usize,
    /// Secrets that hold a placeholder after the run.
    pub placeholders: Vec<String>,
    /// Secrets that could not be made (unreadable, scheduled for deletion, a write failed).
    pub failed: Vec<String>,
}

/// Runs `gavel deploy secrets`. `vars` reads the environment (for `--from-env`).
pub async fn run(
    aws: &aws_config::SdkConfig,
    options: &SecretsOptions,
    vars: &dyn Fn(&str) -> Option<String>,
    out: &mut dyn Write,
) -> Result<SecretsReport> {
    let (plan, aws) = load_plan(&options.target, aws)?;
    let uses = plan.secrets();
    // Every value given is read and checked before anything is written, so a typo changes
    // nothing.
    let given = read_given(options, &uses, vars)?;
    for name in &options.replace {
        check_named(name, "--replace", &uses)?;
    }
    let client = Client::new(&aws);
    let env = &plan.env;
    writeln!(
        out,
        "Secrets of stack {} (samconfig [{}.deploy.parameters], {}):",
        env.stack_name,
        env.name,
        options.target.template.display()
    )?;
    let mut report = SecretsReport::default();
    for secret_use in &uses {
        let secret = &secret_use.secret;
        let spec = secret.spec;
        let value_given = given
            .iter()
            .find(|(name, _, _)| name == spec.name)
            .map(|(_, origin, value)| (origin.clone(), value));
        let replace = options.replace.iter().any(|n| n == spec.name);
        let state = inspect(&client, secret).await;
        let outcome = match state {
            SecretState::Present { placeholder, .. }
                if replace || (placeholder && value_given.is_some()) =>
            {
                match value_for(spec, value_given, options.interactive, replace)? {
                    (origin, Some(value)) => {
                        let written = put(&client, secret, &value).await;
                        note_write(&mut report, spec, &origin, &written, true);
                        written.map(|()| format!("replaced ({})", origin.label()))
                    }
                    (_, None) => Err(format!(
                        "--replace {} needs a value: --from-env or --from-file, or run it on \
                         a terminal",
                        spec.name
                    )),
                }
            }
            SecretState::Present { placeholder, .. } => {
                report.present += 1;
                if placeholder {
                    report.placeholders.push(spec.name.to_owned());
                }
                Ok(match value_given {
                    // Said, so nobody takes the value given for written.
                    Some(_) => format!(
                        "{}, left alone (--replace {} overwrites it)",
                        state.label(),
                        spec.name
                    ),
                    None => state.label(),
                })
            }
            SecretState::Missing => {
                let (origin, value) = value_for(spec, value_given, options.interactive, false)?;
                let value = value.unwrap_or_else(|| SecretString(placeholder(spec.name)));
                let written = create(&client, secret, &value).await;
                note_write(&mut report, spec, &origin, &written, false);
                written.map(|()| format!("created ({})", origin.label()))
            }
            SecretState::ScheduledForDeletion => Err(format!(
                "scheduled for deletion: restore it (`aws secretsmanager restore-secret \
                 --secret-id {}`) or wait until it is gone",
                secret.id
            )),
            SecretState::Unreadable(why) => Err(format!("unreadable: {why}")),
        };
        let line = outcome.unwrap_or_else(|problem| {
            report.failed.push(spec.name.to_owned());
            format!("FAILED: {problem}")
        });
        writeln!(
            out,
            "  {:<24} {:<40} {line}  [read by {}]",
            spec.name,
            secret.id,
            secret_use.functions.join(", ")
        )?;
    }
    writeln!(
        out,
        "{} secrets: {} created, {} replaced, {} present; {} placeholders, {} failed.",
        uses.len(),
        report.created,
        report.replaced,
        report.present,
        report.placeholders.len(),
        report.failed.len()
    )?;
    for name in &report.placeholders {
        if let Some(spec) = secret_registry::spec(name) {
            writeln!(
                out,
                "  {name} is a placeholder until it holds {}: `{}`",
                spec.description,
                replace_command(&env.name, spec)
            )?;
        }
    }
    Ok(report)
}

fn note_write(
    report: &mut SecretsReport,
    spec: &SecretSpec,
    origin: &Origin,
    written: &Result<(), String>,
    replaced: bool,
) {
    if written.is_err() {
        return;
    }
    if replaced {
        report.replaced += 1;
    } else {
        report.created += 1;
    }
    if matches!(origin, Origin::Placeholder) {
        report.placeholders.push(spec.name.to_owned());
    }
}

/// The value to write for `spec`: the one given, else generated, else asked for on a
/// terminal; `None` (a placeholder, where creating) when there is none to be had. A secret
/// made after the deploy is not asked for: it does not exist yet. `replacing` asks even so.
fn value_for(
    spec: &SecretSpec,
    given: Option<(String, &SecretString)>,
    interactive: bool,
    replacing: bool,
) -> Result<(Origin, Option<SecretString>)> {
    if let Some((from, value)) = given {
        return Ok((Origin::Given(from), Some(SecretString(value.0.clone()))));
    }
    let ask = interactive
        && (replacing
            || matches!(
                spec.source,
                ValueSource::Asked | ValueSource::OptionalUserToken
            ));
    match spec.source {
        ValueSource::Generated => Ok((
            Origin::Generated,
            Some(SecretString(
                secret_registry::generate().map_err(anyhow::Error::msg)?,
            )),
        )),
        _ if ask => {
            let prompt = format!(
                "{} ({}), empty for a placeholder: ",
                spec.name, spec.description
            );
            let entered = rpassword::prompt_password(prompt)
                .with_context(|| format!("reading {} from the terminal", spec.name))?;
            let entered = entered.trim().to_owned();
            if entered.is_empty() {
                return Ok((Origin::Placeholder, None));
            }
            spec.shape.check(&entered).map_err(|problem| {
                anyhow::anyhow!("the value entered for {} {problem}", spec.name)
            })?;
            Ok((Origin::Entered, Some(SecretString(entered))))
        }
        _ => Ok((Origin::Placeholder, None)),
    }
}

/// Reads and checks every `--from-env`/`--from-file` value: (name, where from, value).
fn read_given(
    options: &SecretsOptions,
    uses: &[SecretUse],
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String, SecretString)>> {
    let mut values: Vec<(String, String, SecretString)> = Vec::new();
    for (name, source) in &options.given {
        let spec = check_named(name, "a value source", uses)?;
        if values.iter().any(|(n, _, _)| n == name) {
            bail!("{name} is given more than one value source");
        }
        let (from, value) = match source {
            GivenSource::Env(variable) => (
                format!("${variable}"),
                vars(variable).filter(|v| !v.is_empty()).with_context(|| {
                    format!("--from-env {name}={variable}: {variable} is not set or empty")
                })?,
            ),
            GivenSource::File(path) => {
                let mut text = std::fs::read_to_string(path).with_context(|| {
                    format!("--from-file {name}={}: cannot read it", path.display())
                })?;
                // One trailing newline is the editor's, not the secret's.
                if text.ends_with('\n') {
                    text.pop();
                    if text.ends_with('\r') {
                        text.pop();
                    }
                }
                (path.display().to_string(), text)
            }
        };
        spec.shape
            .check(&value)
            .map_err(|problem| anyhow::anyhow!("the value {from} gives {name} {problem}"))?;
        values.push((name.clone(), from, SecretString(value)));
    }
    Ok(values)
}

/// The registry's `name`, which this environment's functions must read.
fn check_named(name: &str, what: &str, uses: &[SecretUse]) -> Result<&'static SecretSpec> {
    let spec = secret_registry::spec(name).with_context(|| {
        format!(
            "{what} names {name}, which is no secret gavel knows (known: {})",
            secret_registry::SECRET_VARIABLES.join(", ")
        )
    })?;
    if !uses.iter().any(|u| u.secret.spec.name == name) {
        bail!(
            "{what} names {name}, but no function of this environment reads it (the template \
             with its parameters names: {})",
            uses.iter()
                .map(|u| u.secret.spec.name)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(spec)
}

async fn create(client: &Client, secret: &SecretRef, value: &SecretString) -> Result<(), String> {
    client
        .create_secret()
        .name(secret.name())
        .description(format!(
            "Gavel {}: {}",
            secret.spec.name, secret.spec.description
        ))
        .secret_string(&value.0)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("CreateSecret failed: {}", DisplayErrorContext(&e)))
}

async fn put(client: &Client, secret: &SecretRef, value: &SecretString) -> Result<(), String> {
    client
        .put_secret_value()
        .secret_id(&secret.id)
        .secret_string(&value.0)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("PutSecretValue failed: {}", DisplayErrorContext(&e)))
}
