//! `gavel deploy`: what a SAM deployment needs besides `sam deploy`. `secrets` creates the
//! Secrets Manager secrets an environment's functions read (template.yaml names them, with
//! samconfig.toml's parameters); `check` says, before and after a deploy, what is still left
//! to do: missing, unreadable or placeholder secrets, a stack not deployed, URLs that do not
//! refuse forged requests. Region, credentials and `AWS_ENDPOINT_URL` come from the standard
//! AWS environment (samconfig's `region`, where the environment names one, wins, as in SAM).

pub mod check;
pub mod secrets;
pub mod template;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use aws_config::{Region, SdkConfig};
use clap::{Args, Subcommand};
use gavel_shared::adapters::secret_registry::SecretSpec;

use self::secrets::{GivenSource, SecretsOptions};
use self::template::{Plan, plan, read_samconfig, read_template};

/// Which environment, and where its files are.
#[derive(Args, Clone, Debug)]
pub struct Target {
    /// The samconfig.toml environment (`dev`, `prod`), as `sam deploy --config-env`.
    #[arg(long)]
    pub config_env: String,
    /// The SAM deploy settings to read the environment from.
    #[arg(long, default_value = "samconfig.toml")]
    pub samconfig: PathBuf,
    /// The SAM template whose functions' `{NAME}_ID` variables name the secrets.
    #[arg(long, default_value = "template.yaml")]
    pub template: PathBuf,
}

#[derive(Subcommand)]
pub enum DeployCommand {
    /// Create the Secrets Manager secrets the Discord, Slack and Telegram functions read.
    ///
    /// Every secret the environment's functions (and the worker) read. Existing secrets are left alone, except a placeholder given a value or a
    /// secret named by --replace. Missing ones are made from --from-env/--from-file, else
    /// generated (component secret, Telegram webhook secret), else asked for without echo on
    /// a terminal (bot tokens), else written as a placeholder (the Slack app's secrets, which
    /// exist only after the deploy). No value is ever printed.
    Secrets {
        #[command(flatten)]
        target: Target,
        /// `NAME=VARIABLE`: NAME's value is the environment variable VARIABLE's (repeatable).
        #[arg(long, value_name = "NAME=VARIABLE")]
        from_env: Vec<String>,
        /// `NAME=PATH`: NAME's value is the file's, less one trailing newline (repeatable).
        #[arg(long, value_name = "NAME=PATH")]
        from_file: Vec<String>,
        /// Overwrite NAME even if it holds a real value (a rotation; repeatable).
        #[arg(long, value_name = "NAME")]
        replace: Vec<String>,
        /// Never ask: what would be asked for becomes a placeholder.
        #[arg(long)]
        no_prompt: bool,
    },
    /// Check what an environment still lacks: secrets, stack, URLs refusing forgeries.
    ///
    /// Each function's secrets (exist, readable, not placeholders), the stack (deployed?), and that its Discord, Slack and Telegram URLs refuse forged
    /// requests. Ends with what is left to do, and fails if anything is.
    Check {
        #[command(flatten)]
        target: Target,
    },
}

pub async fn run(command: DeployCommand) -> Result<()> {
    let aws = gavel_shared::adapters::aws::environment().await;
    let mut out = std::io::stdout();
    match command {
        DeployCommand::Secrets {
            target,
            from_env,
            from_file,
            replace,
            no_prompt,
        } => {
            use std::io::IsTerminal;
            let mut given = Vec::new();
            for entry in from_env {
                let (name, variable) = pair("--from-env", &entry)?;
                given.push((name, GivenSource::Env(variable)));
            }
            for entry in from_file {
                let (name, path) = pair("--from-file", &entry)?;
                given.push((name, GivenSource::File(PathBuf::from(path))));
            }
            let options = SecretsOptions {
                target,
                given,
                replace,
                interactive: !no_prompt && std::io::stdin().is_terminal(),
            };
            let report = secrets::run(aws, &options, &|v| std::env::var(v).ok(), &mut out).await?;
            if !report.failed.is_empty() {
                bail!("{} secrets could not be made", report.failed.len());
            }
            Ok(())
        }
        DeployCommand::Check { target } => {
            let left = check::run(aws, &target, &mut out).await?;
            if !left.is_empty() {
                bail!("{} things left to do", left.len());
            }
            Ok(())
        }
    }
}

fn pair(flag: &str, entry: &str) -> Result<(String, String)> {
    let (name, rest) = entry
        .split_once('=')
        .filter(|(n, r)| !n.is_empty() && !r.is_empty())
        .with_context(|| format!("{flag} takes NAME=..., got {entry:?}"))?;
    Ok((name.to_owned(), rest.to_owned()))
}

/// The environment's plan, and the SDK settings in its region.
pub(crate) fn load_plan(target: &Target, aws: &SdkConfig) -> Result<(Plan, SdkConfig)> {
    let env = read_samconfig(&target.samconfig, &target.config_env)?;
    let template = read_template(&target.template)?;
    let aws = match &env.region {
        Some(region) => aws.to_builder().region(Region::new(region.clone())).build(),
        None => aws.clone(),
    };
    if aws.region().is_none() {
        bail!(
            "no AWS region: set AWS_REGION (or a profile's region), or `region` in \
             [{}.deploy.parameters]",
            target.config_env
        );
    }
    let region = aws.region().map(|r| r.to_string());
    Ok((plan(env, &template, region.as_deref())?, aws))
}

/// The command that gives `spec` its real value in `env`.
pub fn replace_command(env: &str, spec: &SecretSpec) -> String {
    format!(
        "gavel deploy secrets --config-env {env} --from-env {}=VARIABLE (or --from-file {}=PATH)",
        spec.name, spec.name
    )
}

#[cfg(test)]
mod tests {
    use super::pair;

    #[test]
    fn value_sources_are_name_equals_something() {
        assert_eq!(
            pair("--from-env", "SLACK_BOT_TOKEN=TOKEN").unwrap(),
            ("SLACK_BOT_TOKEN".to_owned(), "TOKEN".to_owned())
        );
        assert_eq!(pair("--from-file", "A=/p=q").unwrap().1, "/p=q");
        for bad in ["SLACK_BOT_TOKEN", "=TOKEN", "SLACK_BOT_TOKEN=", ""] {
            assert!(pair("--from-env", bad).is_err(), "{bad}");
        }
    }
}
