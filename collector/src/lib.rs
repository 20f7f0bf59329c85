//! # sealtrail-collector
//!
//! The reference collector for sealtrail audit chains: it receives chains
//! uploaded by browsers following `shared/spec/audit-chain.md`, verifies
//! every event with the `sealtrail` core before storing it, runs the core's
//! alert rules over what it stored, and answers the review page.
//!
//! - [`ingest`]: the upload protocol (verify, idempotent retries, gap, fork,
//!   tamper, head anchors), each batch atomic (SQLite commits the batches
//!   waiting together, a savepoint each);
//! - [`store`]: SQLite or PostgreSQL behind one `sqlx::Any` pool;
//! - [`reads`]: the review APIs, each read first appended to the collector's
//!   own audit chain ([`readlog`]);
//! - [`retention`]: old events move to an archive table, never deleted;
//! - [`alerting`]: the core's alert engine, fed as batches are stored;
//! - [`server`]: routes, static files (`www/`, `pkg/`), CORS, CSP, body limit.

pub mod alerting;
pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod findings;
pub mod ingest;
pub mod readlog;
pub mod reads;
pub mod retention;
pub mod server;
pub mod store;

pub use config::Config;
pub use server::{start, Running};
