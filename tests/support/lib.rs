//! Support for Gavel's cross-crate integration tests.

pub mod moto;
