//! Gavel's core library.
//!
//! The modules split into three groups, and only the last one may know about transports:
//! - the domain: [`invocation`], [`reply`], [`commands`], [`ratelimit`] (platform-neutral, pure
//!   Rust);
//! - the platform codecs: [`verify`], [`discord`], [`slack`] (bytes in, domain types out and back);
//! - the edges: [`edge`] (HTTP status codes and routes, shared by Lambda and `gavel serve`),
//!   [`adapters`] (Lambda events), [`telemetry`].

pub mod adapters;
pub mod automod;
pub mod case_kind;
pub mod clock;
pub mod commands;
pub mod config;
pub mod discord;
pub mod economy;
pub mod edge;
pub mod flows;
pub mod idempotency;
pub mod invocation;
pub mod jobs;
pub mod maintenance;
pub mod moderation;
pub mod platform;
pub mod ratelimit;
pub mod reminders;
pub mod reply;
pub mod slack;
pub mod store;
#[cfg(feature = "conformance")]
pub mod store_conformance;
pub mod telegram;
pub mod telemetry;
pub(crate) mod ttl_map;
pub mod verify;
pub mod worker;

/// The version reported by `/ping` and `/healthz`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
