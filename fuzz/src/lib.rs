//! The properties the fuzz targets check, one module per target, kept apart
//! from the `fuzz_target!` wrappers so the regression tests
//! (`tests/fuzz_regressions.rs`, `collector/tests/fuzz_regressions.rs`)
//! replay every kept input through the very same checks: they include these
//! files with `#[path]`, with [`replay`].
//!
//! Each `check` panics when a property fails: libFuzzer records the input
//! as a crash, and the regression test fails with the same message.

pub mod bytes;
pub mod canon;
pub mod ingest_batch;
pub mod policy_parse;
pub mod replay;
pub mod seal_leak;
pub mod session_parse;
pub mod verify_line;
