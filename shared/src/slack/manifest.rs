//! The Slack app manifest, generated from the command specs: every slash command with its
//! description and usage hint, the interactivity and events URLs, the bot scopes of the Web API
//! methods Gavel calls, and the events it subscribes to. `gavel slack manifest --url …` prints
//! it; pasted into Slack's "Create an app → From a manifest", it replaces creating about twenty
//! commands, two URLs and the scopes by hand.
//!
//! [`METHOD_SCOPES`] is the one list of Web API methods the code calls and the scopes each
//! needs; a test reads the Slack client's source and fails on a method missing from it, so a new
//! call cannot ship without the manifest asking for its scope.

use serde_json::{Value, json};

use crate::commands::{CommandRegistry, CommandSpec};

/// The Web API methods Gavel calls, and the bot scopes each needs (Slack's method docs).
pub const METHOD_SCOPES: &[(&str, &[&str])] = &[
    // Posts: mod-log lines, report deliveries, DMs (a user id as the channel opens the DM).
    ("chat.postMessage", &["chat:write", "im:write"]),
    // Removing a member from a channel, public or private.
    ("conversations.kick", &["channels:manage", "groups:write"]),
    // After a kick found nobody: whether Gavel is in the channel.
    ("conversations.info", &["channels:read", "groups:read"]),
    // Who moderates: workspace admins and owners; whether a payee is a bot.
    ("users.info", &["users:read"]),
    // Who moderates: the members of the moderator user group.
    ("usergroups.users.list", &["usergroups:read"]),
    // Forms: needs only the token, no scope.
    ("views.open", &[]),
    // Deleting a message AutoMod caught: called with a workspace admin's user token
    // (`SLACK_ADMIN_USER_TOKEN`, the `chat:write` user scope in [`USER_SCOPES`]), since a bot
    // token deletes only its own messages; no bot scope.
    ("chat.delete", &[]),
];

/// The user-token scopes: what an admin installing the app grants so that AutoMod may delete
/// members' messages (their token is `SLACK_ADMIN_USER_TOKEN`).
pub const USER_SCOPES: &[&str] = &["chat:write"];

/// The scope slash commands need.
const COMMANDS_SCOPE: &str = "commands";

/// The events Gavel subscribes to, and the scope each needs: AutoMod reads the messages of
/// the public and private channels the app is in.
pub const EVENT_SCOPES: &[(&str, &str)] = &[
    ("message.channels", "channels:history"),
    ("message.groups", "groups:history"),
];

/// Where the app's requests go: the deployment's base URL (the HTTP API's, or `gavel serve`'s
/// behind a tunnel).
#[derive(Clone, Debug)]
pub struct ManifestUrls {
    pub base: String,
}

impl ManifestUrls {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Every bot scope the manifest asks for, sorted and without repeats.
pub fn bot_scopes() -> Vec<&'static str> {
    let mut scopes: Vec<&str> = METHOD_SCOPES
        .iter()
        .flat_map(|(_, scopes)| scopes.iter().copied())
        .chain(EVENT_SCOPES.iter().map(|(_, scope)| *scope))
        .chain([COMMANDS_SCOPE])
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    scopes
}

/// `<user> [reason]`: the usage line without the command's name.
fn usage_hint(spec: &CommandSpec) -> String {
    spec.usage()
        .split_once(' ')
        .map(|(_, hint)| hint.to_owned())
        .unwrap_or_default()
}

/// The manifest (Slack's JSON form) for `registry`'s commands, named `name`.
pub fn manifest(registry: &CommandRegistry, name: &str, urls: &ManifestUrls) -> Value {
    let commands: Vec<Value> = registry
        .specs()
        .map(|spec| {
            let mut command = json!({
                "command": format!("/{}", spec.name),
                "url": urls.at("/slack/commands"),
                "description": spec.description,
                // Mentions arrive as <@U123>, which the option parser reads.
                "should_escape": true,
            });
            let hint = usage_hint(spec);
            if !hint.is_empty() {
                command["usage_hint"] = json!(hint);
            }
            command
        })
        .collect();
    json!({
        "_metadata": { "major_version": 1, "minor_version": 1 },
        "display_information": {
            "name": name,
            "description": "Moderation with cases, appeals, reminders and an economy, for Slack and Discord.",
            "background_color": "#2f3136",
        },
        "features": {
            "bot_user": { "display_name": name, "always_online": true },
            "slash_commands": commands,
        },
        "oauth_config": {
            "scopes": { "bot": bot_scopes(), "user": USER_SCOPES },
        },
        "settings": {
            "event_subscriptions": {
                "request_url": urls.at("/slack/events"),
                "bot_events": EVENT_SCOPES.iter().map(|(event, _)| *event).collect::<Vec<_>>(),
            },
            "interactivity": {
                "is_enabled": true,
                "request_url": urls.at("/slack/interactions"),
            },
            "org_deploy_enabled": false,
            "socket_mode_enabled": false,
            "token_rotation_enabled": false,
        },
    })
}

/// Slack's manifest rules that can be checked without Slack: required fields, lengths, command
/// names, URL shapes, scope names. Every problem found, in words.
pub fn problems(manifest: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            out.push(what);
        }
    };
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let name = text(&manifest["display_information"]["name"]);
    check(
        (1..=35).contains(&name.chars().count()),
        format!("display_information.name must be 1 to 35 characters, got {name:?}"),
    );
    let description = text(&manifest["display_information"]["description"]);
    check(
        description.chars().count() <= 140,
        "display_information.description must be at most 140 characters".into(),
    );
    let bot = text(&manifest["features"]["bot_user"]["display_name"]);
    check(
        (1..=80).contains(&bot.chars().count()),
        "features.bot_user.display_name must be 1 to 80 characters".into(),
    );
    let https = |url: &str| {
        url.strip_prefix("https://")
            .is_some_and(|rest| rest.contains('.') && !rest.contains(' ') && !rest.starts_with('/'))
    };
    let commands = manifest["features"]["slash_commands"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    check(
        commands.len() <= 50,
        format!("at most 50 slash commands, got {}", commands.len()),
    );
    let mut seen = std::collections::HashSet::new();
    for command in &commands {
        let name = text(&command["command"]);
        let valid = name.starts_with('/')
            && (2..=32).contains(&name.len())
            && name[1..]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        check(
            valid,
            format!("command {name:?}: `/` then 1 to 31 lower-case letters, digits, - or _"),
        );
        check(
            seen.insert(name.clone()),
            format!("command {name} appears twice"),
        );
        let description = text(&command["description"]);
        check(
            (1..=2000).contains(&description.chars().count()),
            format!("{name}: a description of 1 to 2000 characters"),
        );
        check(
            text(&command["usage_hint"]).chars().count() <= 1000,
            format!("{name}: a usage hint of at most 1000 characters"),
        );
        check(
            https(&text(&command["url"])),
            format!("{name}: the url must be https"),
        );
    }
    let settings = &manifest["settings"];
    check(
        https(&text(&settings["interactivity"]["request_url"])),
        "settings.interactivity.request_url must be https".into(),
    );
    check(
        https(&text(&settings["event_subscriptions"]["request_url"])),
        "settings.event_subscriptions.request_url must be https".into(),
    );
    for scope in manifest["oauth_config"]["scopes"]["bot"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let scope = text(scope);
        let valid = !scope.is_empty()
            && scope
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == ':' || c == '.' || c == '_');
        check(valid, format!("scope {scope:?} is not a scope name"));
    }
    if !commands.is_empty() {
        let has_commands = manifest["oauth_config"]["scopes"]["bot"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s == COMMANDS_SCOPE));
        check(
            has_commands,
            "slash commands need the `commands` scope".into(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_commands_make_a_manifest_slack_accepts() {
        let manifest = manifest(
            &CommandRegistry::standard(),
            "Gavel",
            &ManifestUrls::new("https://abc123.execute-api.eu-west-1.amazonaws.com/"),
        );
        assert_eq!(problems(&manifest), Vec::<String>::new());
        let commands = manifest["features"]["slash_commands"].as_array().unwrap();
        assert_eq!(commands.len(), CommandRegistry::standard().specs().count());
        let warn = commands.iter().find(|c| c["command"] == "/warn").unwrap();
        assert_eq!(warn["usage_hint"], "<user> [reason]");
        assert_eq!(
            warn["url"],
            "https://abc123.execute-api.eu-west-1.amazonaws.com/slack/commands"
        );
        assert!(
            commands
                .iter()
                .any(|c| c["command"] == "/ping" && c.get("usage_hint").is_none()),
            "no hint for a command without options"
        );
        let scopes = bot_scopes();
        for needed in ["commands", "chat:write", "users:read", "usergroups:read"] {
            assert!(scopes.contains(&needed), "{needed}");
        }
    }

    /// The first string literal after each `call(`, `call_with(` or `web_api(` in the Slack
    /// client's source: the Web API methods it calls.
    fn methods_called() -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/adapters/slack_api");
        let mut methods = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for opener in ["call(", "call_with(", "web_api("] {
                for (at, _) in source.match_indices(opener) {
                    let rest = &source[at + opener.len()..];
                    let Some(start) = rest.find('"') else {
                        continue;
                    };
                    // Only a literal that opens the call's arguments.
                    if !rest[..start].trim().is_empty() {
                        continue;
                    }
                    let literal = &rest[start + 1..];
                    if let Some(end) = literal.find('"') {
                        methods.push(literal[..end].to_owned());
                    }
                }
            }
        }
        methods.sort();
        methods.dedup();
        methods
    }

    #[test]
    fn every_web_api_method_the_client_calls_has_its_scopes_in_the_manifest() {
        let called = methods_called();
        assert!(
            called.len() >= 5,
            "the scan finds the client's calls: {called:?}"
        );
        let listed: Vec<&str> = METHOD_SCOPES.iter().map(|(m, _)| *m).collect();
        for method in &called {
            assert!(
                listed.contains(&method.as_str()),
                "{method} is called but not in METHOD_SCOPES: add it with its scopes"
            );
        }
        for method in listed {
            assert!(
                called.iter().any(|c| c == method),
                "{method} is in METHOD_SCOPES but nothing calls it: remove it (and its scopes)"
            );
        }
    }

    #[test]
    fn the_checks_find_what_slack_would_refuse() {
        let mut bad = manifest(
            &CommandRegistry::standard(),
            "A name far too long for Slack's thirty-five",
            &ManifestUrls::new("http://localhost:3000"),
        );
        bad["features"]["slash_commands"][0]["command"] = json!("/Has Space");
        bad["oauth_config"]["scopes"]["bot"] = json!(["chat:write", "Bad Scope"]);
        let found = problems(&bad);
        for expected in [
            "display_information.name",
            "\"/Has Space\"",
            "interactivity.request_url must be https",
            "Bad Scope",
            "`commands` scope",
        ] {
            assert!(
                found.iter().any(|p| p.contains(expected)),
                "{expected} in {found:?}"
            );
        }
    }
}
