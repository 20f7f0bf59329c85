//! Replays the inputs kept in the repository through a target's property:
//! the seeds of `fuzz/corpus/TARGET/` and every input a target once failed
//! on, `tests/fixtures/fuzz/TARGET/`. The regression tests of the core
//! (`tests/fuzz_regressions.rs`) and of the collector
//! (`collector/tests/fuzz_regressions.rs`) include this file.

use std::path::Path;

/// Runs `check` on every input kept for `target` in the repository at
/// `root`, naming the file that fails.
pub fn replay(root: &Path, target: &str, check: fn(&[u8])) {
    let mut files: Vec<_> = [
        root.join("fuzz/corpus").join(target),
        root.join("tests/fixtures/fuzz").join(target),
    ]
    .iter()
    .filter_map(|dir| std::fs::read_dir(dir).ok())
    .flatten()
    .filter_map(|entry| entry.ok().map(|e| e.path()))
    .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs kept for `{target}`");
    for file in files {
        let data = std::fs::read(&file).expect("a kept input is readable");
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
