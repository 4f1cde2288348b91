//! Each group's username directory: `@ann` → the member Gavel last saw with that username.
//!
//! Telegram's Bot API resolves a username to a user id only for public chats and bots, never
//! for an ordinary member, and a `mention` entity carries only the text. So Gavel learns
//! usernames from the updates it receives (a message's sender, the author it replies to,
//! members picked from the mention list, members joining or changing), and a moderator's
//! `/warn @ann` is looked up here.
//!
//! A username can change hands: the newest sighting wins, entries expire
//! [`USERNAME_LIFETIME_SECS`] after the last one, and the edge's answer names the member a
//! username was read as, so the moderator sees who was meant.
//!
//! Cost: each instance remembers what it recorded for [`RECENT_TTL`], so a member who posts all
//! day costs one read (and at most one write) per instance per few hours; a stored sighting
//! younger than [`REFRESH_AFTER_SECS`] is left as it is, so many instances seeing one member
//! write once a day between them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::clock::Clock;
use crate::invocation::Platform;
use crate::store::keys::Community;
use crate::store::{Item, ItemKey, NewItem, Store, StoreError};
use crate::ttl_map::TtlMap;

/// How long a username stays known after Gavel last saw it.
pub const USERNAME_LIFETIME_SECS: i64 = 180 * 86_400;
/// A stored sighting of the same member younger than this is not written again.
pub const REFRESH_AFTER_SECS: i64 = 86_400;
/// How long an instance trusts that it recorded a sighting.
pub const RECENT_TTL: Duration = Duration::from_secs(6 * 3600);
/// Bounded: an instance serving many groups keeps memory flat.
const RECENT_CAPACITY: usize = 20_000;
/// Telegram's longest username is 32 characters, and its first names 64.
const MAX_USERNAME: usize = 32;
const MAX_NAME_CHARS: usize = 64;

/// A member seen with a username.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sighting {
    /// Lower-cased, without `@` (Telegram usernames are case-insensitive).
    pub username: String,
    pub id: String,
    pub first_name: String,
}

impl Sighting {
    /// `None` for a username Telegram would not issue (the directory's sort keys come from
    /// what arrives over HTTP).
    pub fn new(username: &str, id: u64, first_name: &str) -> Option<Self> {
        Some(Self {
            username: normal_username(username)?,
            id: id.to_string(),
            first_name: first_name.chars().take(MAX_NAME_CHARS).collect(),
        })
    }
}

/// The members one update shows in a group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// The group's chat id.
    pub group: String,
    pub members: Vec<Sighting>,
}

/// What a username was read as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Known {
    pub id: String,
    pub first_name: String,
}

/// What looking usernames up found.
#[derive(Debug, Default)]
pub struct Lookup {
    /// Lower-cased username → the member.
    pub known: HashMap<String, Known>,
    /// The store failed or was too slow for at least one: a miss is no proof of absence.
    pub failed: bool,
}

/// `ann` for `@Ann`; `None` unless it is 1 to 32 letters, digits and underscores.
pub fn normal_username(text: &str) -> Option<String> {
    let name = text.strip_prefix('@').unwrap_or(text);
    let valid = !name.is_empty()
        && name.len() <= MAX_USERNAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| name.to_ascii_lowercase())
}

/// The directory over the store, with this instance's memory of what it recorded.
pub struct UsernameDirectory {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// `{group} {username}` → the id recorded for it.
    recent: TtlMap<String>,
}

impl UsernameDirectory {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            recent: TtlMap::new(RECENT_CAPACITY, Some(RECENT_TTL)),
        }
    }

    /// Records the members `seen` shows that this instance has not recorded lately, all at
    /// once. A failure is logged and forgotten: learning a username never fails an update.
    pub async fn learn(&self, seen: &Seen) {
        let now = Instant::now();
        let mut fresh: Vec<&Sighting> = Vec::new();
        for sighting in &seen.members {
            let remembered = self.recent.get(&recent_key(&seen.group, sighting), now);
            let duplicate = fresh.iter().any(|s| s.username == sighting.username);
            if remembered.as_deref() != Some(sighting.id.as_str()) && !duplicate {
                fresh.push(sighting);
            }
        }
        let writes = fresh.into_iter().map(|sighting| async move {
            match self.record(&seen.group, sighting).await {
                Ok(()) => self.recent.insert(
                    &recent_key(&seen.group, sighting),
                    sighting.id.clone(),
                    Instant::now(),
                ),
                Err(error) => tracing::warn!(%error, "could not record a Telegram username"),
            }
        });
        futures_util::future::join_all(writes).await;
    }

    /// One read, and a write unless the store already holds a recent sighting of this member.
    async fn record(&self, group: &str, sighting: &Sighting) -> Result<(), StoreError> {
        let key = key(group, &sighting.username);
        let now = self.clock.now_secs();
        let item = NewItem::new(
            key.clone(),
            json!({ "id": sighting.id, "name": sighting.first_name }),
        )
        .expiring_at(now.saturating_add(USERNAME_LIFETIME_SECS));
        let written = match self.store.get(&key).await? {
            Some(current) if same_and_recent(&current, sighting, now) => return Ok(()),
            Some(current) => self.store.update(item, current.version).await,
            None => self.store.create(item).await,
        };
        match written {
            // Another instance recorded a sighting at the same moment: either is the newest.
            Err(StoreError::VersionConflict { .. } | StoreError::AlreadyExists) => Ok(()),
            other => other.map(drop),
        }
    }

    /// The members `usernames` (lower-cased) were last seen as in `group`, read in parallel.
    pub async fn resolve(&self, group: &str, usernames: &[String]) -> Lookup {
        let reads = usernames
            .iter()
            .map(|username| async move { (username, self.store.get(&key(group, username)).await) });
        let mut lookup = Lookup::default();
        for (username, read) in futures_util::future::join_all(reads).await {
            match read {
                Ok(Some(item)) => {
                    let (Some(id), name) = (item.data["id"].as_str(), item.data["name"].as_str())
                    else {
                        tracing::warn!("a Telegram username entry without an id is ignored");
                        continue;
                    };
                    lookup.known.insert(
                        username.clone(),
                        Known {
                            id: id.to_owned(),
                            first_name: name.unwrap_or_default().to_owned(),
                        },
                    );
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "could not look a Telegram username up");
                    lookup.failed = true;
                }
            }
        }
        lookup
    }
}

/// Said under a command's answer: whom each username was read as (`None` when none was).
pub fn resolved_note(known: &HashMap<String, Known>) -> Option<String> {
    let mut lines: Vec<String> = known
        .iter()
        .map(|(username, member)| {
            // A first name is the member's own text: none of Gavel's markup (a `<@id>` could
            // point the moderator at someone else).
            let name: String = (member.first_name.chars())
                .filter(|c| !matches!(c, '<' | '>' | '*' | '`'))
                .collect();
            format!(
                "@{username} was read as {name} (<@{}>), the member last seen with that username here.",
                member.id
            )
        })
        .collect();
    lines.sort();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

fn key(group: &str, username: &str) -> ItemKey {
    ItemKey::new(
        Community::new(Platform::Telegram, group).usernames(),
        username,
    )
}

fn recent_key(group: &str, sighting: &Sighting) -> String {
    format!("{group} {}", sighting.username)
}

/// Whether the stored entry already says this member, by this name, and was written within
/// [`REFRESH_AFTER_SECS`] (its expiry is at most that much short of a full lifetime).
fn same_and_recent(current: &Item, sighting: &Sighting, now: i64) -> bool {
    current.data["id"] == sighting.id.as_str()
        && current.data["name"] == sighting.first_name.as_str()
        && current.expires_at.is_some_and(|expires| {
            expires >= now.saturating_add(USERNAME_LIFETIME_SECS - REFRESH_AFTER_SECS)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lower_cased_and_only_telegrams_alphabet_is_taken() {
        assert_eq!(normal_username("@Ann_99").as_deref(), Some("ann_99"));
        assert_eq!(normal_username("Bob").as_deref(), Some("bob"));
        for bad in ["@", "", "a b", "ann#x", "ännä", &"x".repeat(33)] {
            assert_eq!(normal_username(bad), None, "{bad}");
        }
        let sighting = Sighting::new("Ann", 7, &"é".repeat(100)).unwrap();
        assert_eq!(sighting.first_name.chars().count(), MAX_NAME_CHARS);
    }

    #[test]
    fn the_note_names_the_member_without_their_markup() {
        assert_eq!(resolved_note(&HashMap::new()), None);
        let known = HashMap::from([(
            "ann".to_owned(),
            Known {
                id: "222".into(),
                first_name: "Ann <@999> **x**".into(),
            },
        )]);
        let note = resolved_note(&known).unwrap();
        assert!(
            note.starts_with("@ann was read as Ann @999 x (<@222>)"),
            "{note}"
        );
    }
}
