//! The AWS SDK's settings for a local emulator (moto), shared by every AWS adapter and the
//! tests: a fixed region, the given credentials (moto's IAM users in the least-privilege suite,
//! fake ones elsewhere), the endpoint, and nothing read from the environment. Each client
//! builds a fresh connection pool from it, so each tokio runtime (each test) has its own.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

/// The fake credentials an emulator without IAM accepts.
pub const EMULATOR_KEY: &str = "testing";

pub fn emulator_config(endpoint_url: &str, access_key: &str, secret_key: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            access_key, secret_key, None, None, "emulator",
        )))
        .endpoint_url(endpoint_url)
        .build()
}
