//! The browser layer: the only code that touches wasm-bindgen, js-sys and
//! web-sys (compiled for `wasm32` only). It is thin: the engine of a page
//! session is the core's [`crate::page::PageSession`]; this layer converts JS
//! values (`interop`), and does the browser's part of the contract in
//! `docs/protocol.md`:
//!
//! - `journal` appends this page's events with the core's chain writer and
//!   commits them to IndexedDB ([`store`], over the [`idb`] futures) before any
//!   answer that depends on them is returned (log before reveal);
//! - `upload` ships stored events to the collector and deletes them only
//!   after a `200`;
//! - `dialog` draws the break-glass dialog with DOM APIs, its listeners
//!   owned by [`listener`] guards;
//! - [`sliced`] converts large records and views a part at a time, so
//!   sealing one (in the core's steps) never holds the main thread long;
//! - `api` is the [`Sealtrail`] class JavaScript sees, typed by `types`;
//!   `instance` holds one running instance's parts.
//!
//! Only the class, `hashEvent` and [`WebError`] are the layer's interface;
//! [`idb`], [`listener`], [`sliced`], [`store`] and [`timer`] are public for
//! the browser tests (`tests/web.rs`), which drive IndexedDB, the stored
//! rows, listeners, large conversions and sleeps directly.

mod api;
mod dialog;
mod entropy;
mod error;
mod guarantees;
pub mod idb;
mod instance;
mod interop;
mod journal;
pub mod listener;
pub mod sliced;
pub mod store;
mod tabs;
pub mod timer;
mod types;
mod upload;

pub use api::{hash_event, Sealtrail};
pub use error::WebError;
