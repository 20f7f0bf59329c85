//! The fast path: lines already in RFC 8785 canonical form.
//!
//! Every conforming producer writes canonical lines ([`crate::chain::to_line`]),
//! and for such a line the spec's hash input, `JCS(event without "hash")`,
//! is the line itself with its `"hash"` member cut out. So instead of
//! parsing into a tree and re-serialising, [`inspect_canonical`] checks in
//! one pass over the bytes that the line *is* canonical (no whitespace,
//! members strictly sorted by UTF-16 code units at every level, minimal
//! string escapes, integers in shortest form), notes where the top-level
//! members are, and hashes the two byte ranges around `"hash"`.
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
use crate::canon::utf16_cmp;
use crate::{Digest, Timestamp};

/// Deepest nesting the fast path follows (serde_json's own limit is 128).
const MAX_DEPTH: u32 = 100;

/// Longest integer (in digits) whose ECMAScript form is its own digits for
/// sure: every integer below 10^15 is exact in an `f64`.
const MAX_INT_DIGITS: usize = 15;

/// One member of an object: where its key starts and its value lies.
#[derive(Debug, Clone, Copy)]
struct Member {
    key_start: usize,
    key: (usize, usize),
    value: (usize, usize),
}

/// Fills `marks` (one word per 64 bytes of `b`) with the quote/backslash
/// bitmap the scanner jumps through (see [`Scan::marks`]).
fn mark_quotes(b: &[u8], marks: &mut [u64]) {
    for (m, chunk) in marks.iter_mut().zip(b.chunks(64)) {
        *m = chunk.chunks(8).enumerate().fold(0u64, |bits, (j, eight)| {
            bits | (quote_bits(eight) << (8 * j))
        });
    }
}

/// Inspects a canonical line, or returns `None` to defer to the general path.
pub(super) fn inspect_canonical(line: &[u8]) -> Option<Inspected> {
    // Canonical JSON has no raw control character anywhere (whitespace is
    // not allowed between tokens, and strings escape them): one vectorised
    // pass rules them out, so strings can be skipped by jumping from quote
    // to quote. One UTF-8 check for the whole line; the scanner then works
    // on bytes. Lines up to 4 KiB keep their quote bitmap on the stack.
    if line.iter().fold(false, |acc, &c| acc | (c < 0x20)) {
        return None;
    }
    let text = std::str::from_utf8(line).ok()?;
    let b = text.as_bytes();
    let words = b.len().div_ceil(64);
    let mut stack = [0u64; 64];
    let mut heap = Vec::new();
    let marks: &mut [u64] = if words <= stack.len() {
        stack.get_mut(..words)?
    } else {
        heap.resize(words, 0);
        &mut heap
    };
    mark_quotes(b, marks);
    let marks: &[u64] = marks;
    let mut s = Scan::new(b, marks, 0);
    let mut top = Members::default();
    s.object(0, Some(&mut top))?;
    let top = top.as_slice();
    if s.i != b.len() {
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
    let mut a = Scan::new(b, marks, actor.value.0);
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

/// Most members recorded for one object; an event with more takes the
/// general path.
const MAX_MEMBERS: usize = 24;

/// The members of one object, without allocating.
struct Members {
    items: [Member; MAX_MEMBERS],
    len: usize,
}

impl Default for Members {
    fn default() -> Self {
        let none = Member {
            key_start: 0,
            key: (0, 0),
            value: (0, 0),
        };
        Self {
            items: [none; MAX_MEMBERS],
            len: 0,
        }
    }
}

impl Members {
    fn push(&mut self, m: Member) -> Option<()> {
        *self.items.get_mut(self.len)? = m;
        self.len += 1;
        Some(())
    }

    fn as_slice(&self) -> &[Member] {
        self.items.get(..self.len).unwrap_or(&[])
    }
}

/// A strict canonical-JSON scanner: `None` as soon as anything is not
/// exactly canonical.
struct Scan<'a> {
    b: &'a [u8],
    i: usize,
    /// Bit `k % 64` of word `k / 64` is set when byte `k` is `"` or `\\`:
    /// strings are skipped by jumping between set bits.
    marks: &'a [u64],
}

impl<'a> Scan<'a> {
    fn new(b: &'a [u8], marks: &'a [u64], from: usize) -> Self {
        Self { b, i: from, marks }
    }

    /// The next `"` or `\\` at or after the cursor.
    fn next_mark(&self) -> Option<usize> {
        let mut w = self.i / 64;
        let mut word = self.marks.get(w)? & (u64::MAX << (self.i % 64));
        while word == 0 {
            w += 1;
            word = *self.marks.get(w)?;
        }
        Some(w * 64 + word.trailing_zeros() as usize)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    fn value(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(depth + 1, None),
            b'[' => self.array(depth + 1),
            b'"' => self.string().map(|_| ()),
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.word(b"null"),
            _ => self.integer(),
        }
    }

    fn word(&mut self, w: &[u8]) -> Option<()> {
        let end = self.i.checked_add(w.len())?;
        (self.b.get(self.i..end)? == w).then(|| self.i = end)
    }

    /// `0` or `-?[1-9][0-9]*` of at most [`MAX_INT_DIGITS`] digits, not
    /// followed by a fraction or exponent.
    fn integer(&mut self) -> Option<()> {
        let neg = self.peek()? == b'-';
        if neg {
            self.i += 1;
        }
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let digits = self.b.get(start..self.i)?;
        let ok = match digits {
            [] => false,
            [b'0'] => !neg,
            [b'0', ..] => false,
            d => d.len() <= MAX_INT_DIGITS,
        };
        (ok && !matches!(self.peek(), Some(b'.' | b'e' | b'E'))).then_some(())
    }

    /// A string with only the escapes RFC 8785 writes; returns the content
    /// range and whether it holds an escape.
    fn string(&mut self) -> Option<((usize, usize), bool)> {
        self.eat(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            // Raw control characters were ruled out for the whole line.
            self.i = self.next_mark()?;
            match self.peek()? {
                b'"' => {
                    let end = self.i;
                    self.i += 1;
                    return Some(((start, end), escaped));
                }
                b'\\' => {
                    escaped = true;
                    self.i += 1;
                    match self.peek()? {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                        b'u' => {
                            let hex = self.b.get(self.i + 1..self.i + 5)?;
                            let [b'0', b'0', h, l] = *hex else {
                                return None;
                            };
                            let val = lower_hex(h)? * 16 + lower_hex(l)?;
                            // Below 0x20 and without a short form; U+0000
                            // breaks the event profile: the general path says so.
                            if val == 0
                                || val >= 0x20
                                || matches!(val, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d)
                            {
                                return None;
                            }
                            self.i += 5;
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.eat(b'[')?;
        if self.eat(b']').is_some() {
            return Some(());
        }
        loop {
            self.value(depth)?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An object whose keys are strictly increasing in UTF-16 order;
    /// records its members when asked.
    fn object(&mut self, depth: u32, mut record: Option<&mut Members>) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        let mut last: Option<(usize, usize)> = None;
        loop {
            let key_start = self.i;
            let (key, escaped) = self.string()?;
            if escaped {
                return None;
            }
            if let Some(prev) = last {
                if !utf16_cmp(self.b.get(prev.0..prev.1)?, self.b.get(key.0..key.1)?).is_lt() {
                    return None;
                }
            }
            last = Some(key);
            self.eat(b':')?;
            let vstart = self.i;
            self.value(depth)?;
            if let Some(r) = record.as_deref_mut() {
                r.push(Member {
                    key_start,
                    key,
                    value: (vstart, self.i),
                })?;
            }
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

/// Bit `k` set when byte `k` of `eight` (at most 8 bytes) is `"` or `\\`.
/// Exact per-byte SWAR comparison, then the eight high bits gathered into
/// one byte with a multiply.
fn quote_bits(eight: &[u8]) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let x = match <[u8; 8]>::try_from(eight) {
        Ok(full) => u64::from_le_bytes(full),
        Err(_) => {
            let mut word = [0u8; 8];
            for (w, c) in word.iter_mut().zip(eight) {
                *w = *c;
            }
            u64::from_le_bytes(word)
        }
    };
    let eq = |c: u8| {
        let t = x ^ (ONES * u64::from(c));
        !(((t & LOW7) + LOW7) | t) & !LOW7
    };
    ((eq(b'"') | eq(b'\\')) >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

fn lower_hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn both(line: &str) -> (Option<Inspected>, Result<Inspected, super::super::Failure>) {
        let v: Value = serde_json::from_str(line).unwrap();
        (
            inspect_canonical(line.as_bytes()),
            super::super::inspect(&v, 0),
        )
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
            assert!(inspect_canonical(line.as_bytes()).is_none(), "{line}");
        }
    }

    #[test]
    fn quote_bits_are_exact() {
        for len in 0..=8 {
            for bytes in [
                *b"a\"\\b\"\"\\c",
                *b"\x22\x5c\xa2\xdc\x21\x5d\x00\xff",
                [b'"'; 8],
                [0xa2; 8],
            ] {
                let chunk = &bytes[..len];
                let naive = chunk.iter().enumerate().fold(0u64, |m, (k, &c)| {
                    m | (u64::from(c == b'"' || c == b'\\') << k)
                });
                assert_eq!(quote_bits(chunk), naive, "{chunk:?}");
            }
        }
    }
}
