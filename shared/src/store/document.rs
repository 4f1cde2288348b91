//! A document a community's commands save whole: one item (the moderation settings, the
//! economy's), read with its version and replaced over it, so two writers never interleave.
//! Every field of such a document has a default, so a community that never saved one reads the
//! defaults, and a document from an older version still reads.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Item, ItemKey, NewItem, Store, StoreError, WriteOp};

/// The document at `key` and its version (`None`: never saved, so the defaults).
pub async fn load<T: DeserializeOwned + Default>(
    store: &dyn Store,
    key: &ItemKey,
    what: &str,
) -> Result<(T, Option<u64>), StoreError> {
    match store.get(key).await? {
        Some(item) => Ok((read(&item, what), Some(item.version))),
        None => Ok((T::default(), None)),
    }
}

/// The document in `item`. One that no longer parses (hand-edited) reads as the defaults, with
/// an error in the log, rather than locking the community out of its commands.
pub fn read<T: DeserializeOwned + Default>(item: &Item, what: &str) -> T {
    serde_json::from_value(item.data.clone()).unwrap_or_else(|error| {
        tracing::error!(%error, what, "stored document unreadable; using the defaults");
        T::default()
    })
}

/// The write that saves `document` at `key` over `version`, or creates it.
pub fn write<T: Serialize>(key: ItemKey, document: &T, version: Option<u64>) -> WriteOp {
    let item = NewItem::new(key, serde_json::to_value(document).unwrap_or_default());
    match version {
        Some(expected_version) => WriteOp::Update {
            item,
            expected_version,
        },
        None => WriteOp::Create(item),
    }
}
