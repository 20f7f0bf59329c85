//! # sealtrail-collector
//!
//! The reference collector for sealtrail audit chains: it receives chains
//! uploaded by browsers following `docs/protocol.md`, verifies every event
//! with the `sealtrail` core before storing it, runs the core's alert rules
//! over what it stored, and answers the review page.
//!
//! The house, top down (each arrow an import, none pointing back up):
//!
//! - `server` assembles the router from the handlers and the shared
//!   `state` (`AppState`); handlers answer with `error::ApiError`;
//! - handlers: `upload` (the upload protocol) and `reads` (the review APIs,
//!   each read first appended to the collector's own audit chain, `readlog`;
//!   typed, strict query parameters in `reads::params`; path segments and
//!   the client's address, behind a trusted proxy too, in `request`); they
//!   parse, authorise (`auth`), call and render;
//! - `ingest`: a batch is parsed and inspected outside any lock
//!   (`ingest::prepare`), then judged by a pure function over (stored range,
//!   anchors, batch) ([`decision`]) inside one write transaction per batch
//!   (SQLite groups the batches waiting, a savepoint each);
//! - `limits`: what one address or credential may ask of the upload routes
//!   (events per batch, bytes per string, batches in flight, request rates,
//!   failed authentications, a timeout);
//! - `cases`: every finding and break-glass as a case with a state derived
//!   from reviewers' steps (assign, acknowledge, investigate, comment,
//!   resolve), each appended to `case_events` and the read log in one
//!   transaction; `notify`: the outgoing, signed, retried webhook telling a
//!   case's recipients (off by default);
//! - `report`: the quarterly review report (seed 003's five questions for
//!   a period by the collector's receive time), as JSON, CSV and a page;
//! - `alerting`: the core's alert engine, fed as batches are stored;
//!   `retention`: old events move to an archive table, never deleted;
//! - `tlog`: the transparency log of every acknowledged event (a sequencer
//!   appending leaves and signing checkpoints, the public tile and proof
//!   endpoints, the witness client); `witness`: `sealtrail-collector
//!   witness`, a minimal C2SP witness with its own SQLite state;
//! - `store`: every SQL statement, one module of typed queries per table
//!   (`chains`, `events`, `anchors`, `findings`, `read_log`, `tlog`,
//!   `case_events`, `notifications`, `keys`), SQLite or
//!   PostgreSQL behind one `sqlx::Any` pool, migrations kept in step;
//!   `at_rest`: event lines, findings evidence and case notes sealed in the
//!   database under data keys a master key seals (rotation re-seals them).

mod alerting;
pub mod at_rest;
mod auth;
pub mod cases;
pub mod clock;
mod config;
pub mod credentials;
mod demo;
mod error;
mod ingest;
pub mod limits;
pub mod notify;
mod readlog;
mod reads;
mod report;
mod request;
mod retention;
mod server;
mod state;
mod store;
mod tlog;
mod upload;
pub mod witness;

pub use auth::TokenGrant;
pub use config::Config;
pub use ingest::Timings;
pub use retention::archive_before;
pub use server::{start, Running, StartError};
pub use state::AppState;
pub use store::{Backend, Store, StoreError};
pub use tlog::witnesses::WitnessTarget;
pub use tlog::{Log, LogError, Logged};

/// The ingest decision as a pure function over plain data (stored range,
/// anchors, batch), for tests and fuzzing: see [`decision::decide`].
pub mod decision {
    pub use crate::ingest::decide::{
        decide, reads, DecideError, Decision, Reads, Refusal, Stored, Uploaded,
    };
    pub use crate::store::anchors::Anchor;
    pub use crate::store::chains::Head;
    pub use crate::store::events::Stored as StoredEvent;
}
