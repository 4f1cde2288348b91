//! A Slack signing secret rotated in its secret store takes effect without a deploy: when a
//! Slack request's signature does not match, the edge reads the secret again (at most once a
//! minute per instance, so forged requests cannot make it hammer the store) and, if it
//! changed, checks the request once more with the new secret.

use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;

use crate::verify::{Rejection, SlackVerifier};

/// The least time between two reads of the secret by one instance.
pub const REREAD_SECS: i64 = 60;

/// Where the current Slack signing secret can be read.
#[async_trait]
pub trait SigningSecretSource: Send + Sync {
    async fn current(&self) -> Result<String, String>;
}

/// The Slack verifier in use, and where to read its secret again.
pub(super) struct SlackSecret {
    verifier: RwLock<SlackVerifier>,
    source: Option<Arc<dyn SigningSecretSource>>,
    /// When the secret was last read again (Unix seconds).
    last_read: Mutex<Option<i64>>,
}

impl SlackSecret {
    pub(super) fn new(verifier: SlackVerifier) -> Self {
        Self {
            verifier: RwLock::new(verifier),
            source: None,
            last_read: Mutex::new(None),
        }
    }

    pub(super) fn with_source(mut self, source: Arc<dyn SigningSecretSource>) -> Self {
        self.source = Some(source);
        self
    }

    pub(super) fn verify(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), Rejection> {
        self.verifier
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .verify(signature, timestamp, body, now)
    }

    /// After a signature failed to match: reads the secret again if the last read is a minute
    /// old, and puts it in use. Whether it was read (the request is then worth checking again).
    pub(super) async fn reread(&self, now: i64) -> bool {
        let Some(source) = &self.source else {
            return false;
        };
        {
            let mut last = self
                .last_read
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if last.is_some_and(|at| now - at < REREAD_SECS) {
                return false;
            }
            *last = Some(now);
        }
        let secret = match source.current().await {
            Ok(secret) => secret,
            Err(error) => {
                tracing::warn!(%error, "could not read the Slack signing secret again");
                return false;
            }
        };
        let mut verifier = self
            .verifier
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let window = verifier.window_secs();
        match SlackVerifier::new(&secret, window) {
            Ok(fresh) => {
                // Unchanged or not, one more HMAC on a failed request is all it costs.
                *verifier = fresh;
                true
            }
            Err(error) => {
                tracing::warn!(%error, "the Slack signing secret read again is unusable");
                false
            }
        }
    }
}
