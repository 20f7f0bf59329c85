//! The fuzz targets' properties, replayed on every input kept in the
//! repository: the seeds of `fuzz/corpus/TARGET/` and every input a target
//! once failed on, `tests/fixtures/fuzz/TARGET/`. The properties are the
//! fuzz crate's own (`fuzz/src/`), so a regression fails here with the
//! message the fuzzer printed, without cargo-fuzz.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../fuzz/src/lib.rs"]
mod fuzz;

use std::path::Path;

/// Runs `check` on every file kept for `target`, naming the file that fails.
fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = [
        root.join("fuzz/corpus").join(target),
        root.join("tests/fixtures/fuzz").join(target),
    ]
    .iter()
    .filter_map(|dir| std::fs::read_dir(dir).ok())
    .flatten()
    .map(|entry| entry.unwrap().path())
    .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs kept for `{target}`");
    for file in files {
        let data = std::fs::read(&file).unwrap();
        if let Err(e) = std::panic::catch_unwind(|| check(&data)) {
            let message = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            panic!("{target}: {} fails: {message}", file.display());
        }
    }
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

#[test]
fn ingest_batch() {
    replay("ingest_batch", fuzz::ingest_batch::check);
}
