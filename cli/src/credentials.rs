//! Development credentials: a Discord signing key and a Slack signing secret that `gavel serve`
//! makes on first start and keeps in the data folder, so `gavel send` and `gavel demo` can sign
//! requests the server accepts. They never leave the machine and protect nothing real.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

const FILE_NAME: &str = "dev-credentials.json";

#[derive(Clone, Serialize, Deserialize)]
pub struct DevCredentials {
    /// Ed25519 seed (hex) standing in for Discord's private key.
    pub discord_signing_seed: String,
    /// The matching public key (hex): what DISCORD_PUBLIC_KEY would hold.
    pub discord_public_key: String,
    /// Stands in for the Slack app's signing secret.
    pub slack_signing_secret: String,
}

impl DevCredentials {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(FILE_NAME)
    }

    pub fn generate() -> Result<Self> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let mut secret = [0u8; 20];
        getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let key = SigningKey::from_bytes(&seed);
        Ok(Self {
            discord_signing_seed: hex::encode(seed),
            discord_public_key: hex::encode(key.verifying_key().to_bytes()),
            slack_signing_secret: hex::encode(secret),
        })
    }

    /// Reads the folder's credentials, if any.
    pub fn load(data_dir: &Path) -> Result<Option<Self>> {
        let path = Self::path(data_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not valid credentials JSON", path.display()))
                .map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Reads the folder's credentials, making and saving new ones on first use.
    pub fn load_or_create(data_dir: &Path) -> Result<(Self, bool)> {
        if let Some(existing) = Self::load(data_dir)? {
            return Ok((existing, false));
        }
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data folder {}", data_dir.display()))?;
        let created = Self::generate()?;
        let path = Self::path(data_dir);
        std::fs::write(&path, serde_json::to_vec_pretty(&created)?)
            .with_context(|| format!("writing {}", path.display()))?;
        restrict_permissions(&path)?;
        Ok((created, true))
    }

    /// The secret that signs button and form ids under `gavel serve`: derived from the signing
    /// seed, so it survives restarts without a new field in older credential files.
    pub fn component_secret(&self) -> String {
        self.derived(b"gavel component ids\0")
    }

    /// The Telegram webhook secret under `gavel serve` (what `gavel send telegram` sends),
    /// derived like [`Self::component_secret`]; hex fits Telegram's `secret_token` alphabet.
    pub fn telegram_webhook_secret(&self) -> String {
        self.derived(b"gavel telegram webhook\0")
    }

    /// A secret of its own for each `label`, from the signing seed.
    fn derived(&self, label: &[u8]) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(label)
            .chain_update(self.discord_signing_seed.as_bytes())
            .finalize();
        hex::encode(digest)
    }

    pub fn signing_key(&self) -> Result<SigningKey> {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(&self.discord_signing_seed, &mut seed)
            .context("discord_signing_seed must be 64 hex characters")?;
        Ok(SigningKey::from_bytes(&seed))
    }
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("restricting {}", path.display()))
}

#[cfg(not(unix))]
fn restrict_permissions(_: &Path) -> Result<()> {
    Ok(())
}
