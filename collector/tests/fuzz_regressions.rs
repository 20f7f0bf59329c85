//! The `ingest_batch` fuzz target's property (`fuzz/src/ingest_batch.rs`),
//! replayed on every input kept in the repository: the seeds of
//! `fuzz/corpus/ingest_batch/` and every input it once failed on,
//! `tests/fixtures/fuzz/ingest_batch/`. The core's targets are replayed by
//! the core's `tests/fuzz_regressions.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../fuzz/src"]
mod fuzz {
    pub mod bytes;
    pub mod ingest_batch;
    pub mod replay;
}

#[test]
fn ingest_batch() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    fuzz::replay::replay(&root, "ingest_batch", fuzz::ingest_batch::check);
}
