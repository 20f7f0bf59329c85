//! The browser layer: the only code that touches wasm-bindgen, js-sys and
//! web-sys (compiled for `wasm32` only). It is thin: it converts JS values to
//! core types, asks the core, and does the browser's part of the contract in
//! `shared/spec/audit-chain.md`:
//!
//! - [`journal`] appends this page's events with the core's chain writer and
//!   commits them to IndexedDB ([`store`], over the [`idb`] futures) before any
//!   answer that depends on them is returned (log before reveal);
//! - [`upload`] ships stored events to the collector and deletes them only
//!   after a `200`;
//! - [`dialog`] draws the break-glass dialog with DOM APIs;
//! - [`api`] is the `Sealtrail` class JavaScript sees, typed by [`types`].

pub mod api;
pub mod dialog;
pub mod entropy;
pub mod error;
pub mod idb;
pub mod journal;
pub mod store;
pub mod timer;
pub mod types;
pub mod upload;

pub use api::Sealtrail;
