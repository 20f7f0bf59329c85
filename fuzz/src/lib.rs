//! The properties the fuzz targets check, one module per target, kept apart
//! from the `fuzz_target!` wrappers so the main crate's
//! `tests/fuzz_regressions.rs` replays every saved input through the very
//! same checks (it includes this file with `#[path]`).
//!
//! Each `check` panics when a property fails: libFuzzer records the input
//! as a crash, and the regression test fails with the same message.

pub mod bytes;
pub mod canon;
pub mod ingest_batch;
pub mod policy_parse;
pub mod seal_leak;
pub mod session_parse;
pub mod verify_line;
