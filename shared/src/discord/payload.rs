//! Gavel's own read model of a Discord interaction: only the fields Gavel acts on, each
//! optional or defaulted unless no interaction can lack it, unknown fields ignored, and every
//! numeric `type` read as an integer with a fallback for values Discord adds later.
//!
//! Why not twilight-model's `Interaction`: it requires every field its version knows
//! (`attachment_size_limit`, `entitlements`, `member.joined_at`, a user's `discriminator` …)
//! and refuses component types and enum values it does not, so a payload from a newer Discord
//! (or one that simply leaves a field out) fails to parse and the user sees "This interaction
//! failed". A verified request must never fail over a field Gavel does not read.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use twilight_model::guild::Permissions;

/// Reads a field whose shape may change in a component or entry Discord adds later: a value
/// of another shape reads as the default rather than failing the whole interaction.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    deserializer: D,
) -> Result<T, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(T::deserialize(value).unwrap_or_default())
}

/// Reads a list entry by entry, skipping the entries that do not read as `T`: one component or
/// option of a shape Gavel does not know must not take its siblings with it.
fn lenient_each<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    let values: Vec<serde_json::Value> = lenient(deserializer)?;
    Ok(values
        .into_iter()
        .filter_map(|value| T::deserialize(value).ok())
        .collect())
}

/// A Discord id. Discord sends snowflakes as strings of digits; an integer is accepted too, so
/// a JSON encoder that writes numbers does not break the read. Anything else is malformed:
/// ids become parts of store keys, so they are checked here.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Snowflake(pub String);

impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Snowflake {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SnowflakeVisitor;
        impl Visitor<'_> for SnowflakeVisitor {
            type Value = Snowflake;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a snowflake (a string of digits)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Snowflake, E> {
                // A u64 has at most 20 digits.
                if (1..=20).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(Snowflake(v.to_owned()))
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Snowflake, E> {
                Ok(Snowflake(v.to_string()))
            }
        }
        deserializer.deserialize_any(SnowflakeVisitor)
    }
}

/// A permission set, as Discord sends it: a decimal string of bits. A value that is not one
/// (Discord has never sent such, but bits beyond u64 would be one) reads as unknown: the
/// caller then grants nothing, which is the safe side.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct PermissionBits(pub Option<Permissions>);

impl<'de> Deserialize<'de> for PermissionBits {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let bits = match &value {
            serde_json::Value::String(s) => s.parse::<u64>().ok(),
            serde_json::Value::Number(n) => n.as_u64(),
            _ => None,
        };
        // Bits Discord adds later are kept by `from_bits_retain`, and ignored by the mapping.
        Ok(PermissionBits(bits.map(Permissions::from_bits_retain)))
    }
}

/// Defines an enum read from a JSON integer, with `Other` for the values Discord adds later.
macro_rules! lenient_kind {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $value:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(super) enum $name {
            $($variant,)*
            /// A value this version of Gavel does not know.
            Other(u64),
        }

        impl From<u64> for $name {
            fn from(value: u64) -> Self {
                match value {
                    $($value => $name::$variant,)*
                    other => $name::Other(other),
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                u64::deserialize(deserializer).map($name::from)
            }
        }
    };
}

lenient_kind!(
    /// `data.type` of an application command.
    CommandKind { ChatInput = 1, User = 2, Message = 3 }
);

lenient_kind!(
    /// The type of one option in `data.options`.
    OptionKind {
        SubCommand = 1,
        SubCommandGroup = 2,
        String = 3,
        Integer = 4,
        Boolean = 5,
        User = 6,
        Channel = 7,
        Role = 8,
        Mentionable = 9,
        Number = 10,
        Attachment = 11,
    }
);

lenient_kind!(
    /// The type of a component in a submitted modal.
    ComponentKind {
        ActionRow = 1,
        StringSelect = 3,
        TextInput = 4,
        UserSelect = 5,
        RoleSelect = 6,
        MentionableSelect = 7,
        ChannelSelect = 8,
        Label = 18,
    }
);

/// The interaction, reduced to what Gavel reads. `id`, `application_id` and `token` are in
/// every interaction Discord sends; without them a body is not one.
#[derive(Debug, Deserialize)]
pub(super) struct RawInteraction {
    pub id: Snowflake,
    pub application_id: Snowflake,
    pub token: String,
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    #[serde(default)]
    pub channel: Option<RawChannel>,
    #[serde(default)]
    pub channel_id: Option<Snowflake>,
    #[serde(default)]
    pub member: Option<RawMember>,
    #[serde(default)]
    pub user: Option<RawUser>,
    #[serde(default)]
    pub app_permissions: PermissionBits,
    #[serde(default)]
    pub data: Option<RawData>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawChannel {
    pub id: Option<Snowflake>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawMember {
    pub user: Option<RawUser>,
    pub nick: Option<String>,
    pub permissions: PermissionBits,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct RawUser {
    pub id: Snowflake,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub global_name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub bot: bool,
}

/// `data` of every interaction kind in one struct: each kind fills its own fields (a command
/// its name and options, a click its custom id, a modal its components), and which kind it
/// is comes from the interaction's `type`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawData {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<CommandKind>,
    #[serde(deserialize_with = "lenient_each")]
    pub options: Vec<RawOption>,
    pub target_id: Option<Snowflake>,
    pub resolved: RawResolved,
    pub custom_id: Option<String>,
    #[serde(deserialize_with = "lenient_each")]
    pub components: Vec<RawComponent>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawOption {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: OptionKind,
    /// Read by the option's type: a string, an integer, a number, a boolean or an id.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    /// A subcommand's (or group's) own options.
    #[serde(default, deserialize_with = "lenient_each")]
    pub options: Vec<RawOption>,
    /// Set on the option being typed in an autocomplete request.
    #[serde(default)]
    pub focused: bool,
}

/// The users and messages an interaction names, keyed by their ids. Entries are read one by
/// one when needed, so an entry of a shape Gavel does not expect spoils only itself.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawResolved {
    #[serde(deserialize_with = "lenient")]
    pub users: HashMap<String, serde_json::Value>,
    #[serde(deserialize_with = "lenient")]
    pub messages: HashMap<String, serde_json::Value>,
}

/// A message in `resolved.messages`: what a message context-menu command was used on. Its
/// id is the entry's key, and its channel the interaction's when the entry lacks one.
#[derive(Debug, Deserialize)]
pub(super) struct RawMessage {
    #[serde(default)]
    pub channel_id: Option<Snowflake>,
    pub author: RawUser,
    /// Empty for a message of only attachments or embeds.
    #[serde(default, deserialize_with = "lenient")]
    pub content: String,
}

/// A component of a submitted modal. Unknown types are read (their type and nothing else)
/// and skipped by the caller, so a component Discord adds later cannot fail the submission.
#[derive(Debug, Deserialize)]
pub(super) struct RawComponent {
    #[serde(rename = "type")]
    pub kind: ComponentKind,
    #[serde(default, deserialize_with = "lenient")]
    pub custom_id: Option<String>,
    /// A text input's text.
    #[serde(default, deserialize_with = "lenient")]
    pub value: Option<String>,
    /// A select's chosen values.
    #[serde(default, deserialize_with = "lenient")]
    pub values: Vec<String>,
    /// An action row's components.
    #[serde(default, deserialize_with = "lenient_each")]
    pub components: Vec<RawComponent>,
    /// A label's one component.
    #[serde(default, deserialize_with = "lenient")]
    pub component: Option<Box<RawComponent>>,
}
