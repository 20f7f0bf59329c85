//! The fast path: lines already in RFC 8785 canonical form.
//!
//! Every conforming producer writes canonical lines ([`crate::chain::to_line`]),
//! and for such a line the spec's hash input, `JCS(event without "hash")`,
//! is the line itself with its `"hash"` member cut out. So instead of
//! parsing into a tree and re-serialising, [`inspect_canonical`] checks with
//! canonical JSON's own scanner ([`crate::canon::scan`]) that the line *is*
//! canonical, notes where the top-level members are, and hashes the two
//! byte ranges around `"hash"`.
//!
//! It never decides on its own that a line is bad: anything it is not sure
//! of (a float, a long integer, U+0000, an escape in a chain member, a
//! missing member, a `ts` not of the one form, any deviation from
//! canonical form) returns `None` and the caller
//! takes the general path, which gives the authoritative answer. So both
//! paths accept and reject exactly the same inputs; the tamper and property
//! tests run every case through canonical and non-canonical lines to hold
//! that.

use super::Inspected;
use crate::canon::scan::{Members, Scan};
use crate::{Digest, Timestamp};

/// Inspects a canonical line, or returns `None` to defer to the general
/// path. `text` holds no byte below 0x20 (the caller checked).
pub(super) fn inspect_canonical(text: &str) -> Option<Inspected> {
    // The caller checked the line is UTF-8 without any raw control
    // character (canonical JSON has none: no whitespace between tokens, and
    // strings escape them), so strings can be skipped by jumping from quote
    // to quote.
    let b = text.as_bytes();
    let mut s = Scan::new(b, 0);
    let mut top = Members::default();
    s.object(0, Some(&mut top))?;
    let top = top.as_slice();
    if s.pos() != b.len() {
        return None;
    }
    // One pass over the top-level members picks out the ones the chain
    // rules and the required shape need.
    let mut found: [Option<usize>; 9] = [None; 9];
    for (k, m) in top.iter().enumerate() {
        let slot = match b.get(m.key.0..m.key.1)? {
            b"v" => 0,
            b"seq" => 1,
            b"chain" => 2,
            b"prev" => 3,
            b"hash" => 4,
            b"ts" => 5,
            b"action" => 6,
            b"outcome" => 7,
            b"actor" => 8,
            _ => continue,
        };
        *found.get_mut(slot)? = Some(k);
    }
    let member = |slot: usize| top.get((*found.get(slot)?)?);
    let plain_str = |slot: usize| -> Option<&str> {
        let (from, to) = member(slot)?.value;
        let inner = text.get(from.checked_add(1)?..to.checked_sub(1)?)?;
        if b.get(from) != Some(&b'"') || inner.contains('\\') {
            return None;
        }
        Some(inner)
    };
    let uint = |slot: usize| -> Option<u64> {
        let (from, to) = member(slot)?.value;
        let v = text.get(from..to)?;
        if v.starts_with(|c: char| c.is_ascii_digit()) {
            v.parse().ok()
        } else {
            None
        }
    };
    let v = uint(0)?;
    let seq = uint(1)?;
    let chain = plain_str(2)?;
    let prev = plain_str(3)?;
    let hash = plain_str(4)?;
    let ts = Timestamp::parse(plain_str(5)?).ok()?;
    // The spec's required shape (see `check_required_shape`).
    plain_str(6)?;
    if !matches!(plain_str(7)?, "success" | "denied" | "cancelled" | "error") {
        return None;
    }
    let actor = member(8)?;
    let mut am = Members::default();
    let mut a = Scan::new(b, actor.value.0);
    a.object(1, Some(&mut am))?;
    for name in [b"id".as_slice(), b"role".as_slice()] {
        let m = am
            .as_slice()
            .iter()
            .find(|m| b.get(m.key.0..m.key.1) == Some(name))?;
        if b.get(m.value.0) != Some(&b'"') {
            return None;
        }
    }
    // Cut `"hash":"…"` and one adjacent comma out of the line.
    let idx = (*found.get(4)?)?;
    let this = top.get(idx)?;
    let (cut_from, cut_to) = match (
        idx.checked_sub(1).and_then(|p| top.get(p)),
        top.get(idx + 1),
    ) {
        (Some(before), _) => (before.value.1, this.value.1),
        (None, Some(after)) => (this.key_start, after.key_start),
        (None, None) => (this.key_start, this.value.1),
    };
    let computed = Digest::of_parts(&[b.get(..cut_from)?, b.get(cut_to..)?]);
    Some(Inspected {
        v,
        chain: chain.to_owned(),
        seq,
        ts,
        prev: prev.to_owned(),
        hash: hash.to_owned(),
        computed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The fast path as `inspect_line` takes it: only for lines without a
    /// raw control character.
    fn fast(line: &str) -> Option<Inspected> {
        if line.bytes().any(|c| c < 0x20) {
            None
        } else {
            inspect_canonical(line)
        }
    }

    fn both(line: &str) -> (Option<Inspected>, Result<Inspected, super::super::Failure>) {
        let v: Value = serde_json::from_str(line).unwrap();
        (fast(line), super::super::inspect(&v, 0))
    }

    const EVENT: &str = r#"{"action":"view","actor":{"id":"u1","role":"nurse"},"chain":"0123456789abcdef0123456789abcdef","hash":"HASH","outcome":"success","prev":"PREV","seq":3,"ts":"2026-11-23T06:00:00.123Z","v":1}"#;

    #[test]
    fn canonical_lines_take_the_fast_path_with_the_same_answer() {
        let (fast, slow) = both(EVENT);
        assert_eq!(fast.unwrap(), slow.unwrap());
        let line = EVENT.replace(r#""outcome""#, r#""note":"é\u001f\n\"😀 \\","outcome""#);
        let (fast, slow) = both(&line);
        assert_eq!(fast.unwrap(), slow.unwrap());
    }

    #[test]
    fn anything_not_canonical_defers() {
        for line in [
            EVENT.replace(r#""seq":3"#, r#""seq":3.0"#),
            EVENT.replace(r#""seq":3"#, r#""seq": 3"#),
            EVENT.replace(r#""seq":3"#, r#""seq":1e0"#),
            EVENT.replace(r#""v":1"#, r#""v":-0"#),
            EVENT.replace(r#""v":1"#, r#""v":01"#),
            EVENT.replace(r#""v":1"#, r#""v":1234567890123456"#),
            EVENT.replace(r#""action""#, r#""zzz":1,"action""#),
            EVENT.replace(r#""chain""#, r#""actor":1,"chain""#),
            EVENT.replace(r#""u1""#, r#""u\u0031""#),
            EVENT.replace(r#""u1""#, r#""u\/1""#),
            EVENT.replace(r#""nurse""#, r#""n\u000a""#),
            EVENT.replace(r#""nurse""#, r#""n\u0000""#),
            EVENT.replace(
                r#""ts":"2026-11-23T06:00:00.123Z""#,
                r#""ts":"2026-11-23T06:00:00Z""#,
            ),
            EVENT.replace(
                r#""ts":"2026-11-23T06:00:00.123Z""#,
                r#""ts":"2016-12-31T23:59:60.123Z""#,
            ),
            EVENT.replace(r#""role":"nurse""#, r#""role":5"#),
            EVENT.replace(r#""success""#, r#""maybe""#),
            EVENT.replace(r#""ts":"2026-11-23T06:00:00.123Z""#, r#""ts":"yesterday""#),
            format!("{EVENT} "),
            EVENT.replace("u1", "u\t1"),
            EVENT.replace(
                r#""v":1"#,
                &format!(
                    r#""v":1,{}"#,
                    (0..40)
                        .map(|i| format!(r#""w{i:02}":0"#))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ),
        ] {
            assert!(fast(&line).is_none(), "{line}");
        }
    }
}
