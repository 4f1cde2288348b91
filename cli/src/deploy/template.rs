//! What an environment's stack will read: samconfig.toml's `[<env>.deploy.parameters]` (the
//! stack's name and its parameters) applied to template.yaml, down to the Secrets Manager
//! secret ids each function is given in its `{NAME}_ID` variables.
//!
//! The template is the only source of which secrets exist: a function that gains or loses a
//! secret, or a condition (`SlackMessageDeletion=on`) that adds one, changes what these
//! commands create and check without any list here to update. The intrinsics the functions'
//! variables and the conditions use are evaluated (`Ref`, `Sub`, `If`, `Equals`, `Not`, `And`,
//! `Or`, `Condition`, short or long form); anything known only once the stack exists (a
//! resource's id, the account) is an error naming where it was met.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use gavel_shared::adapters::secret_registry::{self, SecretSpec};
use serde_norway::{Mapping, Value};

/// An environment of samconfig.toml.
#[derive(Clone, Debug)]
pub struct DeployEnv {
    pub name: String,
    pub stack_name: String,
    /// `region` where the environment names one (SAM deploys there).
    pub region: Option<String>,
    /// `parameter_overrides`, unquoted.
    pub overrides: BTreeMap<String, String>,
}

/// Reads `[<env>.deploy.parameters]` (over `[<env>.global.parameters]`, as SAM does).
pub fn read_samconfig(path: &Path, env: &str) -> Result<DeployEnv> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {} (pass --samconfig PATH)", path.display()))?;
    let root: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    let section = |command: &str| {
        root.get(env)
            .and_then(|e| e.get(command))
            .and_then(|c| c.get("parameters"))
            .and_then(toml::Value::as_table)
    };
    let Some(deploy) = section("deploy") else {
        let envs: Vec<&str> = root
            .iter()
            .filter(|(_, v)| v.get("deploy").is_some())
            .map(|(k, _)| k.as_str())
            .collect();
        bail!(
            "{} has no [{env}.deploy.parameters] (environments with one: {})",
            path.display(),
            if envs.is_empty() {
                "none".to_owned()
            } else {
                envs.join(", ")
            }
        );
    };
    let mut merged = section("global").cloned().unwrap_or_default();
    merged.extend(deploy.clone());
    let string = |key: &str| -> Result<Option<String>> {
        match merged.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => bail!(
                "[{env}.deploy.parameters] {key} must be a string, not a {}",
                other.type_str()
            ),
        }
    };
    let stack_name = string("stack_name")?.with_context(|| {
        format!(
            "[{env}.deploy.parameters] in {} has no stack_name",
            path.display()
        )
    })?;
    let entries: Vec<String> = match merged.get("parameter_overrides") {
        None => Vec::new(),
        // SAM takes a list of `Key=Value` strings, or one string of them separated by spaces.
        Some(toml::Value::String(line)) => split_overrides(line)?,
        Some(toml::Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str().map(str::to_owned).ok_or_else(|| {
                    anyhow!("[{env}.deploy.parameters] parameter_overrides must hold strings")
                })
            })
            .collect::<Result<_>>()?,
        Some(other) => bail!(
            "[{env}.deploy.parameters] parameter_overrides must be a list of \"Key=Value\" \
             strings, not a {}",
            other.type_str()
        ),
    };
    let mut overrides = BTreeMap::new();
    for entry in entries {
        let (key, value) = entry.split_once('=').with_context(|| {
            format!(
                "[{env}.deploy.parameters] parameter_overrides entry {entry:?} is not Key=Value"
            )
        })?;
        overrides.insert(key.trim().to_owned(), unquote(value.trim()).to_owned());
    }
    Ok(DeployEnv {
        name: env.to_owned(),
        stack_name,
        region: string("region")?,
        overrides,
    })
}

/// `'AlarmTopicArn=""'` means the empty string: one pair of matching quotes comes off.
fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

/// `A=1 B="two words"`: split on spaces outside quotes (the quotes stay, for [`unquote`]).
fn split_overrides(line: &str) -> Result<Vec<String>> {
    let mut entries = Vec::new();
    let mut current = String::new();
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if !current.is_empty() {
                    entries.push(std::mem::take(&mut current));
                }
                continue;
            }
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        current.push(c);
    }
    if quote.is_some() {
        bail!("parameter_overrides {line:?} has an unclosed quote");
    }
    if !current.is_empty() {
        entries.push(current);
    }
    Ok(entries)
}

/// A parsed template.
pub struct Template {
    root: Value,
}

/// Reads template.yaml.
pub fn read_template(path: &Path) -> Result<Template> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {} (pass --template PATH)", path.display()))?;
    let root: Value = serde_norway::from_str(&text)
        .with_context(|| format!("{} is not valid YAML", path.display()))?;
    if !root.is_mapping() {
        bail!("{} is not a CloudFormation template", path.display());
    }
    Ok(Template { root })
}

/// One function and the secrets it reads at cold start.
#[derive(Clone, Debug)]
pub struct FunctionSecrets {
    /// The resource's logical id (`SlackFunction`).
    pub function: String,
    pub secrets: Vec<SecretRef>,
}

/// A secret a function is given: what it is and its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretRef {
    pub spec: &'static SecretSpec,
    /// What the function's `{NAME}_ID` holds: a name, or an ARN.
    pub id: String,
}

impl SecretRef {
    /// The secret's name (what CreateSecret takes): the id, or an ARN's part after `secret:`.
    pub fn name(&self) -> &str {
        match self.id.split_once(":secret:") {
            Some((arn, name)) if arn.starts_with("arn:") => name,
            _ => &self.id,
        }
    }
}

/// One secret and the functions that read it.
#[derive(Clone, Debug)]
pub struct SecretUse {
    pub secret: SecretRef,
    pub functions: Vec<String>,
}

/// What an environment's stack reads.
#[derive(Clone, Debug)]
pub struct Plan {
    pub env: DeployEnv,
    pub functions: Vec<FunctionSecrets>,
}

impl Plan {
    /// Every secret once, in the registry's order, with the functions that read it.
    pub fn secrets(&self) -> Vec<SecretUse> {
        let mut uses: Vec<SecretUse> = Vec::new();
        for function in &self.functions {
            for secret in &function.secrets {
                match uses.iter_mut().find(|u| u.secret == *secret) {
                    Some(known) => known.functions.push(function.function.clone()),
                    None => uses.push(SecretUse {
                        secret: secret.clone(),
                        functions: vec![function.function.clone()],
                    }),
                }
            }
        }
        let rank = |spec: &SecretSpec| {
            secret_registry::SECRETS
                .iter()
                .position(|s| s.name == spec.name)
        };
        uses.sort_by_key(|u| (rank(u.secret.spec), u.secret.id.clone()));
        uses
    }
}

/// The environment's secrets, function by function. `region` is the SDK's, for `AWS::Region`
/// where the environment names none.
pub fn plan(env: DeployEnv, template: &Template, region: Option<&str>) -> Result<Plan> {
    let root = &template.root;
    let section = |name: &str| root.get(name).and_then(Value::as_mapping);
    let empty = Mapping::new();
    let resources = section("Resources").context("the template has no Resources")?;
    let parameters = section("Parameters").unwrap_or(&empty);
    let mut values = BTreeMap::new();
    for (key, declared) in parameters {
        let Some(key) = key.as_str() else { continue };
        let value = match env.overrides.get(key) {
            Some(given) => Some(given.clone()),
            None => declared.get("Default").map(scalar_text).transpose()?,
        };
        values.insert(key.to_owned(), value);
    }
    let evaluator = Evaluator {
        parameters: values,
        conditions: section("Conditions").unwrap_or(&empty),
        resources: resources
            .keys()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        stack_name: env.stack_name.clone(),
        region: env.region.clone().or(region.map(str::to_owned)),
        env_name: env.name.clone(),
        decided: RefCell::new(BTreeMap::new()),
    };
    let global_variables = root
        .get("Globals")
        .and_then(|g| g.get("Function"))
        .and_then(variables);
    let mut functions = Vec::new();
    for (logical_id, resource) in resources {
        let Some(logical_id) = logical_id.as_str() else {
            continue;
        };
        let kind = resource.get("Type").and_then(Value::as_str);
        let serverless = kind == Some("AWS::Serverless::Function");
        if !serverless && kind != Some("AWS::Lambda::Function") {
            continue;
        }
        if let Some(condition) = resource.get("Condition") {
            let name = condition
                .as_str()
                .with_context(|| format!("{logical_id}: Condition must name a condition"))?;
            if !evaluator.condition(name)? {
                continue;
            }
        }
        // SAM merges Globals into each function's variables; the function's own win.
        let mut merged = BTreeMap::new();
        let own = resource.get("Properties").and_then(variables);
        for vars in [global_variables.filter(|_| serverless), own]
            .into_iter()
            .flatten()
        {
            for (key, value) in vars {
                if let Some(key) = key.as_str() {
                    merged.insert(key.to_owned(), value);
                }
            }
        }
        let mut secrets = Vec::new();
        for (variable, value) in merged {
            let Some(name) = variable.strip_suffix("_ID") else {
                continue;
            };
            let place = format!("{logical_id}'s {variable}");
            let Some(spec) = secret_registry::spec(name) else {
                // DISCORD_APPLICATION_ID is no secret: only a value under the secrets' prefix
                // (or a Secrets Manager ARN) makes an unknown name one. Read as text, not
                // evaluated, so a parameter not set yet is no error here.
                if names_a_secret(value) {
                    bail!(
                        "{place} names a secret ({}), but gavel's registry of secrets \
                         (shared/src/adapters/secret_registry.rs) has no {name}: add it there \
                         (its suffix, what it is, how its value comes to be), or fix the \
                         variable",
                        serde_norway::to_string(value).unwrap_or_default().trim()
                    );
                }
                continue;
            };
            let id = match evaluator.eval(value, &place)? {
                Evaluated::NoValue => continue,
                Evaluated::Text(id) => id,
                Evaluated::Bool(_) => bail!("{place} is a condition, not a secret id"),
            };
            let secret = SecretRef { spec, id };
            if !secret.name().ends_with(&format!("/{}", spec.suffix)) {
                bail!(
                    "{place} is {}, but the registry says {name}'s secret ends in /{}: one of \
                     the two is wrong",
                    secret.id,
                    spec.suffix
                );
            }
            secrets.push(secret);
        }
        secrets.sort_by_key(|s| s.spec.name);
        functions.push(FunctionSecrets {
            function: logical_id.to_owned(),
            secrets,
        });
    }
    Ok(Plan { env, functions })
}

fn variables(holder: &Value) -> Option<&Mapping> {
    holder
        .get("Environment")
        .and_then(|e| e.get("Variables"))
        .and_then(Value::as_mapping)
}

fn names_a_secret(expression: &Value) -> bool {
    let text = serde_norway::to_string(expression).unwrap_or_default();
    text.contains("SecretName") || text.contains("secretsmanager")
}

/// A plain scalar's text (`Default: 0` is "0"), as CloudFormation passes parameters.
fn scalar_text(value: &Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => bail!("expected a plain value, got {other:?}"),
    }
}

/// What an expression comes to.
#[derive(Debug, PartialEq)]
enum Evaluated {
    Text(String),
    Bool(bool),
    /// `!Ref AWS::NoValue`: the property is left out.
    NoValue,
}

struct Evaluator<'a> {
    parameters: BTreeMap<String, Option<String>>,
    conditions: &'a Mapping,
    resources: BTreeSet<String>,
    stack_name: String,
    region: Option<String>,
    env_name: String,
    /// Conditions already decided (`None` while one is being decided: a cycle).
    decided: RefCell<BTreeMap<String, Option<bool>>>,
}

impl Evaluator<'_> {
    fn condition(&self, name: &str) -> Result<bool> {
        if let Some(known) = self.decided.borrow().get(name) {
            return known.with_context(|| format!("condition {name} depends on itself"));
        }
        let body = self
            .conditions
            .get(name)
            .with_context(|| format!("the template has no condition {name}"))?;
        self.decided.borrow_mut().insert(name.to_owned(), None);
        let value = self.boolean(body, &format!("condition {name}"))?;
        self.decided
            .borrow_mut()
            .insert(name.to_owned(), Some(value));
        Ok(value)
    }

    fn boolean(&self, value: &Value, place: &str) -> Result<bool> {
        match self.eval(value, place)? {
            Evaluated::Bool(b) => Ok(b),
            Evaluated::Text(t) if t == "true" || t == "false" => Ok(t == "true"),
            other => bail!("{place}: expected a condition, got {other:?}"),
        }
    }

    fn text(&self, value: &Value, place: &str) -> Result<String> {
        match self.eval(value, place)? {
            Evaluated::Text(t) => Ok(t),
            Evaluated::Bool(b) => Ok(b.to_string()),
            Evaluated::NoValue => bail!("{place}: AWS::NoValue where a value is needed"),
        }
    }

    fn eval(&self, value: &Value, place: &str) -> Result<Evaluated> {
        let Some((function, argument)) = intrinsic(value) else {
            return Ok(Evaluated::Text(scalar_text(value).with_context(|| {
                format!("{place}: not a value gavel can evaluate")
            })?));
        };
        let items = |n: usize| -> Result<&Vec<Value>> {
            argument
                .as_sequence()
                .filter(|s| s.len() == n)
                .with_context(|| format!("{place}: {function} takes a list of {n}"))
        };
        match function.as_str() {
            "Ref" => {
                let name = argument
                    .as_str()
                    .with_context(|| format!("{place}: Ref takes a name"))?;
                if name == "AWS::NoValue" {
                    return Ok(Evaluated::NoValue);
                }
                self.name(name, place).map(Evaluated::Text)
            }
            "Sub" => self.sub(argument, place).map(Evaluated::Text),
            "If" => {
                let [condition, then, otherwise] = items(3)?.as_slice() else {
                    unreachable!("three items checked above")
                };
                let name = condition
                    .as_str()
                    .with_context(|| format!("{place}: If names a condition first"))?;
                self.eval(
                    if self.condition(name)? {
                        then
                    } else {
                        otherwise
                    },
                    place,
                )
            }
            "Equals" => {
                let [a, b] = items(2)?.as_slice() else {
                    unreachable!("two items checked above")
                };
                Ok(Evaluated::Bool(
                    self.text(a, place)? == self.text(b, place)?,
                ))
            }
            "Not" => Ok(Evaluated::Bool(!self.boolean(&items(1)?[0], place)?)),
            "And" | "Or" => {
                let list = argument
                    .as_sequence()
                    .with_context(|| format!("{place}: {function} takes a list"))?;
                let mut values = Vec::with_capacity(list.len());
                for item in list {
                    values.push(self.boolean(item, place)?);
                }
                Ok(Evaluated::Bool(if function == "And" {
                    values.iter().all(|v| *v)
                } else {
                    values.iter().any(|v| *v)
                }))
            }
            "Condition" => {
                let name = argument
                    .as_str()
                    .with_context(|| format!("{place}: Condition takes a name"))?;
                self.condition(name).map(Evaluated::Bool)
            }
            other => bail!("{place}: gavel cannot evaluate Fn::{other} before the deploy"),
        }
    }

    /// `!Sub "text ${Name}"` or `!Sub ["text ${Name}", {Name: value}]`.
    fn sub(&self, argument: &Value, place: &str) -> Result<String> {
        let (text, locals) = match argument {
            Value::String(text) => (text.as_str(), None),
            Value::Sequence(items) if items.len() == 2 => (
                items[0]
                    .as_str()
                    .with_context(|| format!("{place}: Sub's first item is its text"))?,
                items[1].as_mapping(),
            ),
            _ => bail!("{place}: Sub takes a string, or a string and a map"),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .with_context(|| format!("{place}: Sub has an unclosed ${{"))?;
            let name = &after[..end];
            match name.strip_prefix('!') {
                // `${!Literal}` is the text `${Literal}`.
                Some(literal) => {
                    out.push_str("${");
                    out.push_str(literal);
                    out.push('}');
                }
                None => match locals.and_then(|l| l.get(name)) {
                    Some(local) => out.push_str(&self.text(local, place)?),
                    None => out.push_str(&self.name(name, place)?),
                },
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// A parameter's or pseudo parameter's value.
    fn name(&self, name: &str, place: &str) -> Result<String> {
        if let Some(value) = self.parameters.get(name) {
            return value.clone().with_context(|| {
                format!(
                    "{place} needs parameter {name}, which has no default: set it in \
                     [{}.deploy.parameters] parameter_overrides",
                    self.env_name
                )
            });
        }
        let region = || {
            self.region.clone().with_context(|| {
                format!("{place} needs the region: set AWS_REGION or the environment's region")
            })
        };
        match name {
            "AWS::StackName" => Ok(self.stack_name.clone()),
            "AWS::Region" => region(),
            "AWS::Partition" => Ok(partition(&region()?).to_owned()),
            "AWS::URLSuffix" => Ok(if region()?.starts_with("cn-") {
                "amazonaws.com.cn".to_owned()
            } else {
                "amazonaws.com".to_owned()
            }),
            _ => {
                let resource = name.split('.').next().unwrap_or(name);
                if self.resources.contains(resource) {
                    bail!("{place} names resource {resource}, known only once the stack exists")
                }
                bail!(
                    "{place} names {name}, which is neither a parameter nor known before the deploy"
                )
            }
        }
    }
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// An intrinsic function's short name and argument: `!Sub x` (tag) or `{"Fn::Sub": x}`.
fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            Some((tag.trim_start_matches('!').to_owned(), &tagged.value))
        }
        Value::Mapping(map) if map.len() == 1 => {
            let (key, argument) = map.iter().next()?;
            let key = key.as_str()?;
            let name = match key {
                "Ref" | "Condition" => key,
                _ => key.strip_prefix("Fn::")?,
            };
            Some((name.to_owned(), argument))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(text: &str) -> Template {
        Template {
            root: serde_norway::from_str(text).unwrap(),
        }
    }

    fn env(overrides: &[(&str, &str)]) -> DeployEnv {
        DeployEnv {
            name: "dev".into(),
            stack_name: "gavel-dev".into(),
            region: None,
            overrides: overrides
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    const TEMPLATE: &str = r#"
Parameters:
  SecretName: {Type: String, Default: gavel/dev}
  Deletion: {Type: String, Default: "off"}
  Count: {Type: Number, Default: 2}
  AppId: {Type: String}
Conditions:
  Delete: !Equals [!Ref Deletion, "on"]
  Reserve: !Not [!Equals [!Ref Count, 0]]
  Both: {"Fn::And": [{"Condition": Delete}, !Condition Reserve]}
Globals:
  Function:
    Environment:
      Variables:
        GAVEL_COMPONENT_SECRET_ID: !Sub "${SecretName}/component-secret"
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          DISCORD_APPLICATION_ID: !Ref AppId
          SLACK_ADMIN_USER_TOKEN_ID: !If [Both, !Sub "${SecretName}/slack-admin-user-token", !Ref AWS::NoValue]
          SLACK_BOT_TOKEN_ID: {"Fn::Sub": ["${P}/slack-bot-token", {P: !Ref SecretName}]}
  Table:
    Type: AWS::DynamoDB::Table
"#;

    fn names(plan: &Plan) -> Vec<&str> {
        plan.functions[0]
            .secrets
            .iter()
            .map(|s| s.spec.name)
            .collect()
    }

    #[test]
    fn conditions_and_globals_decide_what_a_function_reads() {
        let t = template(TEMPLATE);
        let off = plan(env(&[]), &t, None).unwrap();
        assert_eq!(names(&off), ["GAVEL_COMPONENT_SECRET", "SLACK_BOT_TOKEN"]);
        assert_eq!(off.functions[0].secrets[0].id, "gavel/dev/component-secret");
        let on = plan(env(&[("Deletion", "on"), ("SecretName", "x/y")]), &t, None).unwrap();
        assert_eq!(
            names(&on),
            [
                "GAVEL_COMPONENT_SECRET",
                "SLACK_ADMIN_USER_TOKEN",
                "SLACK_BOT_TOKEN"
            ]
        );
        assert_eq!(on.functions[0].secrets[1].id, "x/y/slack-admin-user-token");
        let unreserved = plan(env(&[("Deletion", "on"), ("Count", "0")]), &t, None).unwrap();
        assert_eq!(names(&unreserved).len(), 2);
    }

    #[test]
    fn a_secret_the_registry_does_not_know_is_an_error() {
        let t = template(&TEMPLATE.replace("SLACK_BOT_TOKEN_ID", "SLACK_APP_TOKEN_ID"));
        let error = plan(env(&[]), &t, None).unwrap_err().to_string();
        assert!(error.contains("SLACK_APP_TOKEN_ID"), "{error}");
        assert!(error.contains("registry"), "{error}");
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for broken in [
            "Resources: {F: {Type: AWS::Serverless::Function, Properties: {Environment: {Variables: {SLACK_BOT_TOKEN_ID: !If [A]}}}}}",
            "Resources: {F: {Type: AWS::Serverless::Function, Properties: {Environment: {Variables: {SLACK_BOT_TOKEN_ID: !Sub \"${Nope}/slack-bot-token\"}}}}}",
            "Resources: {F: {Type: AWS::Serverless::Function, Condition: Loop}}\nConditions: {Loop: !Condition Loop}",
            "Resources: {F: {Type: AWS::Serverless::Function, Properties: {Environment: {Variables: {SLACK_BOT_TOKEN_ID: !Sub \"${F.Arn}\"}}}}}",
            "Resources: {F: {Type: AWS::Serverless::Function, Properties: {Environment: {Variables: {SLACK_BOT_TOKEN_ID: !Sub \"x/other\"}}}}}",
            "Parameters: {}",
        ] {
            assert!(plan(env(&[]), &template(broken), None).is_err(), "{broken}");
        }
    }

    #[test]
    fn overrides_come_as_a_list_or_a_line_with_quotes() {
        assert_eq!(
            split_overrides(r#"A=1 B="two words" C=''"#).unwrap(),
            ["A=1", "B=\"two words\"", "C=''"]
        );
        assert_eq!(unquote("\"\""), "");
        assert_eq!(unquote("'x'"), "x");
        assert_eq!(unquote("x"), "x");
        assert!(split_overrides("A=\"open").is_err());
    }

    #[test]
    fn an_arn_id_names_its_secret() {
        let secret = SecretRef {
            spec: secret_registry::spec("SLACK_BOT_TOKEN").unwrap(),
            id: "arn:aws:secretsmanager:us-east-1:1:secret:gavel/dev/slack-bot-token".into(),
        };
        assert_eq!(secret.name(), "gavel/dev/slack-bot-token");
    }
}
