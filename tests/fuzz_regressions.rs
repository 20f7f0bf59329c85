//! The fuzz targets' properties (`fuzz/src/`), replayed on every input kept
//! in the repository: the seeds of `fuzz/corpus/TARGET/` and every input a
//! target once failed on, `tests/fixtures/fuzz/TARGET/`. A regression fails
//! here with the message the fuzzer printed, without cargo-fuzz.
//! `ingest_batch` decides with the collector: its replay is the collector's
//! `tests/fuzz_regressions.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// `Bytes::take` serves `ingest_batch` only, replayed by the collector.
#[allow(dead_code)]
#[path = "../fuzz/src"]
mod fuzz {
    pub mod bytes;
    pub mod canon;
    pub mod policy_parse;
    pub mod replay;
    pub mod seal_leak;
    pub mod session_parse;
    pub mod verify_line;
}

fn replay(target: &str, check: fn(&[u8])) {
    fuzz::replay::replay(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        target,
        check,
    );
}

#[test]
fn verify_line() {
    replay("verify_line", fuzz::verify_line::check);
}

#[test]
fn canon() {
    replay("canon", fuzz::canon::check);
}

#[test]
fn policy_parse() {
    replay("policy_parse", fuzz::policy_parse::check);
}

#[test]
fn session_parse() {
    replay("session_parse", fuzz::session_parse::check);
}

#[test]
fn seal_leak() {
    replay("seal_leak", fuzz::seal_leak::check);
}
