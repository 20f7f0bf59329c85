//! `verify_line`: one line of a chain file never panics the verifier, and the
//! canonical-line fast path answers exactly like parsing and re-canonicalizing.

use sealtrail::verify::{inspect, inspect_line, Rule, Verifier};

/// Checks one input.
pub fn check(line: &[u8]) {
    let either = inspect_line(line, 0).map_err(|f| (f.seq, f.rule));
    let general = match serde_json::from_slice::<serde_json::Value>(line) {
        Ok(v) => inspect(&v, 0).map_err(|f| (f.seq, f.rule)),
        Err(_) => Err((None, Rule::Format)),
    };
    assert_eq!(either, general);
    let mut v = Verifier::new(Default::default());
    let _ = v.push_line(line);
}
