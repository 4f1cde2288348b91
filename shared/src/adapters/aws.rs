//! The AWS SDK's settings, shared by every AWS adapter: [`environment`] for a Lambda function
//! (the standard environment, loaded once, with a trust store of AWS's own roots), and [`emulator_config`]
//! for a local emulator (moto) and the tests: a fixed region, the given credentials (moto's IAM
//! users in the least-privilege suite, fake ones elsewhere), the endpoint, and nothing read from
//! the environment. Each client builds a fresh connection pool from it, so each tokio runtime
//! (each test) has its own.
//!
//! Why a trust store of its own: the SDK's default HTTPS client reads and parses the system's
//! whole root store (about 140 PEM certificates on Amazon Linux) on the first request, which
//! was the largest single part of a cold start's CPU time (see BENCHMARKS.md, "Cold start").
//! Every endpoint the functions call (DynamoDB, EventBridge, EventBridge Scheduler, Secrets
//! Manager, STS) presents a certificate from Amazon Trust Services, whose four roots and the
//! Starfield root that cross-signs them are compiled in here. The trade: this client cannot
//! reach a server outside AWS, which nothing built from [`environment`] does (the platform APIs
//! use reqwest with its own roots), and a move of AWS's endpoints to another CA would need
//! these files updated.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use tokio::sync::OnceCell;

/// Amazon Trust Services' roots and Starfield Services Root G2 (public certificates).
const AWS_ROOTS: [&str; 5] = [
    include_str!("aws_roots/Amazon_Root_CA_1.pem"),
    include_str!("aws_roots/Amazon_Root_CA_2.pem"),
    include_str!("aws_roots/Amazon_Root_CA_3.pem"),
    include_str!("aws_roots/Amazon_Root_CA_4.pem"),
    include_str!("aws_roots/Starfield_Services_Root_Certificate_Authority_-_G2.pem"),
];

/// The standard AWS environment's settings, loaded once per process and shared by every client
/// (DynamoDB, EventBridge, Scheduler, Secrets Manager), which each take their own retries and
/// timeouts on top. Each load resolves the region, builds a credentials chain and an HTTPS
/// client, and a cold start used to make one load per client: three on the interactions
/// functions (see BENCHMARKS.md, "Cold start"). Sharing also shares one connection pool.
pub async fn environment() -> &'static SdkConfig {
    static LOADED: OnceCell<SdkConfig> = OnceCell::const_new();
    LOADED.get_or_init(|| defaults().load()).await
}

/// The standard AWS environment (region, credentials, `AWS_ENDPOINT_URL`), with an HTTPS
/// client that trusts [`AWS_ROOTS`] only.
fn defaults() -> ConfigLoader {
    let store = AWS_ROOTS.iter().fold(
        TrustStore::empty().with_native_roots(false),
        |store, pem| store.with_pem_certificate(pem.as_bytes()),
    );
    let loader = aws_config::defaults(BehaviorVersion::latest());
    match TlsContext::builder().with_trust_store(store).build() {
        Ok(context) => loader.http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(context)
                .build_https(),
        ),
        // Cannot happen with the certificates above; the SDK's default client still works.
        Err(_) => loader,
    }
}

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

/// How long one AWS call may take, every attempt and backoff included, and how often the SDK
/// tries it. The SDK's defaults (3 attempts from a 1 s backoff up to 20 s, no deadline at all)
/// suit batch work, not a call made inside the platforms' 3-second acknowledgement: every
/// client an edge function calls while a platform waits is built with one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallBudget {
    /// The whole call's budget. Each attempt (and connecting) gets half of it, so one hung
    /// connection still leaves room for a retry.
    pub timeout: Duration,
    /// Attempts per call, the first included (standard retry mode, exponential backoff with
    /// jitter from 50 ms, at most 500 ms between attempts).
    pub max_attempts: u32,
}

impl CallBudget {
    pub const fn new(timeout: Duration, max_attempts: u32) -> Self {
        Self {
            timeout,
            max_attempts,
        }
    }

    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(Duration::from_millis(50))
            .with_max_backoff(Duration::from_millis(500))
    }

    pub fn timeout_config(&self) -> TimeoutConfig {
        let attempt = self.timeout / 2;
        TimeoutConfig::builder()
            .operation_timeout(self.timeout)
            .operation_attempt_timeout(attempt)
            .connect_timeout(attempt)
            .build()
    }
}
