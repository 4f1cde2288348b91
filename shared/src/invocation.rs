//! The platform-neutral request: what every Discord or Slack payload becomes after verification.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Discord,
    Slack,
    Telegram,
}

impl Platform {
    /// Lower-case, for logs and keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Discord => "discord",
            Platform::Slack => "slack",
            Platform::Telegram => "telegram",
        }
    }

    /// The platform a lower-case code names (`discord`), as [`as_str`](Self::as_str) writes it.
    pub fn from_code(code: &str) -> Option<Self> {
        [Platform::Discord, Platform::Slack, Platform::Telegram]
            .into_iter()
            .find(|p| p.as_str() == code)
    }

    /// As people write it.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Discord => "Discord",
            Platform::Slack => "Slack",
            Platform::Telegram => "Telegram",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A moderation power the invoker holds in this channel. On Discord these come from the resolved
/// permissions in the payload; on Slack from the workspace's moderator configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Capability {
    ModerateMembers,
    KickMembers,
    BanMembers,
    ManageGuild,
}

impl Capability {
    pub const ALL: [Capability; 4] = [
        Capability::ModerateMembers,
        Capability::KickMembers,
        Capability::BanMembers,
        Capability::ManageGuild,
    ];

    /// The name a moderator knows the permission by.
    pub fn label(self) -> &'static str {
        match self {
            Capability::ModerateMembers => "Moderate Members",
            Capability::KickMembers => "Kick Members",
            Capability::BanMembers => "Ban Members",
            Capability::ManageGuild => "Manage Server",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Capability::ModerateMembers => 1,
            Capability::KickMembers => 2,
            Capability::BanMembers => 4,
            Capability::ManageGuild => 8,
        }
    }
}

/// A small set of [`Capability`] values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Capabilities(u8);

impl Capabilities {
    pub const NONE: Capabilities = Capabilities(0);

    pub fn all() -> Self {
        Capability::ALL.into_iter().collect()
    }

    pub fn insert(&mut self, cap: Capability) {
        self.0 |= cap.bit();
    }

    pub fn contains(self, cap: Capability) -> bool {
        self.0 & cap.bit() != 0
    }
}

impl FromIterator<Capability> for Capabilities {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        let mut caps = Capabilities::NONE;
        for cap in iter {
            caps.insert(cap);
        }
        caps
    }
}

/// Who invoked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub display_name: Option<String>,
    pub capabilities: Capabilities,
}

/// A typed option value, the union of what both platforms can carry.
#[derive(Clone, Debug, PartialEq)]
pub enum OptionValue {
    String(String),
    Integer(i64),
    Number(f64),
    Boolean(bool),
    User(String),
    Channel(String),
    Role(String),
}

impl OptionValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            OptionValue::String(s)
            | OptionValue::User(s)
            | OptionValue::Channel(s)
            | OptionValue::Role(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CommandCall {
    /// Lower-case name without the leading slash.
    pub name: String,
    pub options: Vec<(String, OptionValue)>,
    /// The users named in the options whom the platform marks as bots (Discord's resolved
    /// users say so; a Slack command's text does not), so a payment to one is refused.
    pub bots: Vec<String>,
    /// Discord's message context-menu commands: the message the command was used on (its
    /// author is also the `user` option). `None` for every other command.
    pub message: Option<TargetMessage>,
}

/// The message a message context-menu command was used on: Discord sends it, content included, in the payload's resolved data.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetMessage {
    pub id: String,
    pub channel: String,
    pub author: String,
    pub author_is_bot: bool,
    pub content: String,
}

impl CommandCall {
    pub fn option(&self, name: &str) -> Option<&OptionValue> {
        self.options.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// What the invoker did.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Command(CommandCall),
    /// A button or select menu, identified by its component id.
    Component {
        custom_id: String,
    },
    /// A submitted modal, identified by its id, with its text inputs.
    ModalSubmit {
        custom_id: String,
        fields: Vec<(String, String)>,
    },
}

/// One verified, parsed request from either platform. Its `Debug` leaves out the interaction
/// token and `response_url`, which are credentials for this interaction.
#[derive(Clone, PartialEq)]
pub struct Invocation {
    /// The platform's id for this interaction (Discord interaction id, Slack trigger id).
    pub id: String,
    pub platform: Platform,
    /// The community: a Discord guild id (or `dm:{user}` outside guilds) or a Slack team id.
    pub tenant: String,
    pub channel: Option<String>,
    pub actor: Actor,
    pub action: Action,
    /// Slack: where to post follow-ups and message updates (`response_url`); Discord answers
    /// in the HTTP response instead.
    pub response_url: Option<String>,
    /// Slack: the short-lived id that lets the app open a modal (`trigger_id`, 3 s).
    pub trigger_id: Option<String>,
    /// Discord: the interaction token, which lets the worker edit the answer or follow up
    /// for 15 minutes. A credential for this one interaction: never logged.
    pub interaction_token: Option<String>,
    /// Discord: the app itself in this channel (its user id and its own permissions), so
    /// commands can refuse what Discord would refuse before promising it. Slack has no
    /// equivalent in its payloads.
    pub app: Option<AppContext>,
}

/// What the platform says about the app where the interaction happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppContext {
    /// The app's bot user (on Discord the application id is the bot's user id).
    pub user_id: String,
    pub capabilities: Capabilities,
}

impl Invocation {
    /// The id to log: Discord's interaction id as it is; a Slack trigger id (which opens a
    /// modal for 3 seconds) only as a fingerprint.
    pub fn log_id(&self) -> String {
        match self.platform {
            Platform::Discord => self.id.clone(),
            Platform::Slack => format!("t-{}", crate::telemetry::fingerprint(&self.id)),
            // Telegram's ids are update ids and callback query ids: not credentials.
            Platform::Telegram => self.id.clone(),
        }
    }

    /// A Discord DM with the app or a Telegram private chat with the bot (tenant `dm:{user}`):
    /// no community, so nothing that belongs to one (moderation, the economy).
    pub fn outside_community(&self) -> bool {
        is_dm_tenant(&self.tenant)
    }
}

/// The tenant of `user`'s DM with the bot on Discord and Telegram (outside every community).
pub fn dm_tenant(user: &str) -> String {
    format!("{DM_PREFIX}{user}")
}

/// Whether `tenant` is a member's DM with the bot rather than a community.
pub fn is_dm_tenant(tenant: &str) -> bool {
    tenant.starts_with(DM_PREFIX)
}

const DM_PREFIX: &str = "dm:";

impl fmt::Debug for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invocation")
            .field("id", &self.log_id())
            .field("platform", &self.platform)
            .field("tenant", &self.tenant)
            .field("channel", &self.channel)
            .field("actor", &self.actor)
            .field("action", &self.action)
            .field(
                "response_url",
                &self.response_url.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "trigger_id",
                &self.trigger_id.as_ref().map(|_| "<redacted>"),
            )
            .field("app", &self.app)
            .field(
                "interaction_token",
                &self.interaction_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_leaves_out_the_interactions_credentials() {
        let invocation = Invocation {
            id: "SECRET-TRIGGER".into(),
            platform: Platform::Slack,
            tenant: "T".into(),
            channel: None,
            actor: Actor {
                id: "U".into(),
                display_name: None,
                capabilities: Capabilities::NONE,
            },
            action: Action::Component {
                custom_id: "x".into(),
            },
            response_url: Some("https://hooks.slack.com/actions/T/1/SECRET-URL".into()),
            trigger_id: Some("SECRET-TRIGGER".into()),
            interaction_token: Some("SECRET-TOKEN".into()),
            app: None,
        };
        let shown = format!("{invocation:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("trigger_id"));
    }
}
