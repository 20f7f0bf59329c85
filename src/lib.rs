//! # sealtrail
//!
//! Field-level sealing, break-glass and hash-chained view events for
//! sensitive records, in the clinician's browser and on servers alike.
//!
//! ## Design in two minutes
//!
//! - **Core** (everything outside `web`): pure Rust, no browser imports, built
//!   and tested natively. A [`policy`] decides field by field what a
//!   [`session`] may see ([`decision::Access`] folds role, time-bound grants
//!   and step-up rules once per session); [`seal`] replaces restricted fields by placeholders
//!   carrying salted SHA-256 commitments; [`breakglass`] validates emergency
//!   justifications and issues single-record grants; every look becomes an
//!   [`event`] appended to a SHA-256 [`chain`] over RFC 8785 [`canon`]ical
//!   JSON, which [`verify`] checks rule by rule and [`alerts`] reviews.
//!   [`fhir`] renders events as FHIR R4 `AuditEvent`s.
//! - **Page session** ([`page`]): the engine of the browser package, still
//!   pure core. A [`page::PageSession`] holds policy, login, vaults and issued
//!   grants; each call returns a [`page::Pending`] (event drafts plus a typed
//!   answer) that yields the answer only in exchange for the stored events,
//!   so log-before-reveal holds by construction and is tested natively.
//! - **Web layer** (`src/web/`, wasm32 only): the only code that touches
//!   wasm-bindgen, js-sys and web-sys. It converts JS values, stores the page
//!   session's events in IndexedDB before committing them for an answer,
//!   uploads them in batches and draws the break-glass dialog with DOM APIs.
//! - **Storage and upload**: the wire contract is `docs/protocol.md`:
//!   events in IndexedDB until a collector acknowledges them with a `200`
//!   that [`wire::Acknowledged::check`] accepts; every reply of the upload
//!   protocol is a [`wire`] type both sides share. [`guarantees`] says what
//!   the browser promises about keeping them (durability strict or best
//!   effort, storage persistent or evictable).
//! - **Collector** (`collector/`): the reference server that verifies on
//!   ingest with this crate's [`verify`] and [`alerts`], and the review page.
//!
//! - **Transparency log** ([`tlog`]): the collector appends every accepted
//!   event's `(chain, seq, hash)` to a Merkle tree and signs its head, so
//!   browsers, witnesses and the CLI can prove it never rewrote history.
//!
//! `sample` (feature `sample`, on with the CLI) writes realistic chains for
//! the demo, the tests and the benchmark.
//!
//! Imports point one way, downwards, without circles (`tests/structure.rs`
//! fails the build otherwise): [`canon`] (canonical form, its scanner and
//! the strict event profile) and [`event`] (with the chain id and genesis)
//! under [`chain`], under [`verify`]; [`policy`] (with the alert settings
//! [`alerts`] reads) under [`session`], under [`decision`] (with the
//! break-glass grant), under [`seal`] and [`breakglass`], under [`page`],
//! under `web`. Nothing in the core imports `web`; the collector never does.
//!
//! The time is always passed in ([`Timestamp`]) and randomness comes from an
//! [`entropy::Entropy`] the host supplies, so the core is deterministic under test.

pub mod alerts;
pub mod bounded;
pub mod breakglass;
mod by_hand;
pub mod canon;
pub mod chain;
pub mod credential;
pub mod decision;
mod digest;
pub mod entropy;
pub mod event;
pub mod fhir;
pub mod guarantees;
mod located;
mod ordered;
pub mod page;
mod pointer;
pub mod policy;
#[cfg(feature = "sample")]
pub mod sample;
pub mod seal;
pub mod session;
mod time;
pub mod tlog;
pub mod verify;
#[cfg(target_arch = "wasm32")]
pub mod web;
pub mod wire;

pub use digest::{Digest, DigestError};
pub use time::{Timestamp, TimestampError};
