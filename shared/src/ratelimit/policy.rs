//! Which buckets a command draws from, and how big they are: defaults in code, overridden per
//! tenant by a stored configuration item.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::gcra::{BucketPolicy, PolicyError};

/// The three kinds of bucket a command may draw from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One user hammering one command.
    UserCommand,
    /// A whole community (guild or workspace), whatever the user or command.
    Tenant,
    /// One moderator's moderation commands (those that need a capability), stricter.
    Moderation,
}

/// The policy for each scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policies {
    pub user_command: BucketPolicy,
    pub tenant: BucketPolicy,
    pub moderation: BucketPolicy,
}

impl Policies {
    pub fn for_scope(&self, scope: Scope) -> &BucketPolicy {
        match scope {
            Scope::UserCommand => &self.user_command,
            Scope::Tenant => &self.tenant,
            Scope::Moderation => &self.moderation,
        }
    }

    /// Applies a tenant's overrides; a scope the tenant did not set keeps its default.
    pub fn with_overrides(mut self, overrides: &TenantLimits) -> Result<Self, PolicyError> {
        if let Some(limit) = &overrides.user_command {
            self.user_command = limit.policy()?;
        }
        if let Some(limit) = &overrides.tenant {
            self.tenant = limit.policy()?;
        }
        if let Some(limit) = &overrides.moderation {
            self.moderation = limit.policy()?;
        }
        Ok(self)
    }
}

impl Default for Policies {
    /// - per user per command: 5 in any 20 s, 3 at once (then one every ~6.7 s);
    /// - per community: 300 in any minute, 60 at once (about 4 a second sustained);
    /// - per moderator, for moderation commands: 10 in any minute, 5 at once (then one every
    ///   10 s), so a misfired bulk action stops early.
    fn default() -> Self {
        let policy = |capacity, secs, burst| {
            BucketPolicy::new(capacity, Duration::from_secs(secs))
                .and_then(|p| p.with_burst(burst))
                .expect("the default policies are valid")
        };
        Self {
            user_command: policy(5, 20, 3),
            tenant: policy(300, 60, 60),
            moderation: policy(10, 60, 5),
        }
    }
}

/// One scope's limit as a tenant stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    pub capacity: u32,
    pub window_secs: u64,
    /// Defaults to `capacity` (all at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

impl Limit {
    pub fn policy(&self) -> Result<BucketPolicy, PolicyError> {
        let policy = BucketPolicy::new(self.capacity, Duration::from_secs(self.window_secs))?;
        match self.burst {
            Some(burst) => policy.with_burst(burst),
            None => Ok(policy),
        }
    }
}

/// A tenant's stored overrides: `{platform}:{tenant}#config` / `ratelimits`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_command: Option<Limit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Limit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderation: Option<Limit>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_defaults_are_what_the_docs_say() {
        let p = Policies::default();
        assert_eq!((p.user_command.capacity, p.user_command.burst), (5, 3));
        assert_eq!(p.user_command.step_ms(), 6667);
        assert_eq!(p.moderation.step_ms(), 10_000);
        assert_eq!(p.tenant.max_ahead_ms(), 60 * p.tenant.step_ms());
    }

    #[test]
    fn overrides_replace_only_the_scopes_they_name() {
        let stored = json!({ "user_command": { "capacity": 2, "window_secs": 10 } });
        let overrides: TenantLimits = serde_json::from_value(stored).unwrap();
        let p = Policies::default().with_overrides(&overrides).unwrap();
        assert_eq!((p.user_command.capacity, p.user_command.burst), (2, 2));
        assert_eq!(p.user_command.window_ms, 10_000);
        assert_eq!(p.tenant, Policies::default().tenant);
        assert_eq!(p.moderation, Policies::default().moderation);
    }

    #[test]
    fn invalid_overrides_are_refused() {
        let overrides = TenantLimits {
            moderation: Some(Limit {
                capacity: 3,
                window_secs: 60,
                burst: Some(4),
            }),
            ..TenantLimits::default()
        };
        assert_eq!(
            Policies::default().with_overrides(&overrides),
            Err(PolicyError::BurstAboveCapacity {
                burst: 4,
                capacity: 3
            })
        );
    }
}
