//! The `gavel` command's pieces, as a library so integration tests can start the local server
//! and sign requests in-process.

pub mod cli;
pub mod credentials;
pub mod demo;
pub mod deploy;
pub mod discord;
pub mod docs;
pub mod doctor;
pub mod job;
pub mod load;
pub mod payloads;
pub mod send;
pub mod serve;
pub mod signing;
pub mod slack;
pub mod soak;
pub mod table;
pub mod telegram;
