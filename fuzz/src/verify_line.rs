//! `verify_line`: one line of a chain file never panics the verifier, and the
//! canonical-line fast path answers exactly like the strict parse and
//! inspection of the tree.

use sealtrail::verify::{inspect, inspect_line, parse_line, Verifier};

/// Checks one input.
pub fn check(line: &[u8]) {
    let either = inspect_line(line, 0).map_err(|f| (f.seq, f.rule));
    let general = parse_line(line, 0)
        .and_then(|v| inspect(&v, 0))
        .map_err(|f| (f.seq, f.rule));
    assert_eq!(either, general);
    let mut v = Verifier::new(Default::default());
    let _ = v.push_line(line);
}
