//! Where canonical bytes go: a buffer, or SHA-256 directly, and the one
//! RFC 8785 string writer both event writers ([`super::strict`] over trees,
//! [`super::tape`] over text) use.

use sha2::{Digest as _, Sha256};

use crate::Digest;

/// A destination for canonical bytes.
pub(super) trait Sink {
    fn put(&mut self, bytes: &[u8]);

    /// One byte (separators, quotes): cheaper than a slice of one.
    fn byte(&mut self, c: u8) {
        self.put(&[c]);
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    fn byte(&mut self, c: u8) {
        self.push(c);
    }
}

/// Bytes gathered before each SHA-256 update: a canonical form is written
/// in many short pieces, and one update per piece would cost more than the
/// hashing.
const HASH_BUF: usize = 4096;

/// SHA-256 of everything put, fed a buffer at a time. The buffer lives in
/// the sink, not on the heap: one allocation of 4 KiB per event cost more
/// than its hashing (the allocator consolidates its free lists on every
/// request that large).
pub(super) struct HashSink {
    sha: Sha256,
    buf: [u8; HASH_BUF],
    len: usize,
}

impl HashSink {
    pub(super) fn new() -> Self {
        Self {
            sha: Sha256::new(),
            buf: [0; HASH_BUF],
            len: 0,
        }
    }

    pub(super) fn finish(mut self) -> Digest {
        self.flush();
        Digest(self.sha.finalize().into())
    }

    fn flush(&mut self) {
        self.sha
            .update(self.buf.get(..self.len).unwrap_or_default());
        self.len = 0;
    }
}

impl Sink for HashSink {
    fn put(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() > HASH_BUF {
            self.flush();
            if bytes.len() > HASH_BUF {
                self.sha.update(bytes);
                return;
            }
        }
        if let Some(to) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            to.copy_from_slice(bytes);
            self.len += bytes.len();
        }
    }

    fn byte(&mut self, c: u8) {
        if self.len >= HASH_BUF {
            self.flush();
        }
        if let Some(to) = self.buf.get_mut(self.len) {
            *to = c;
            self.len += 1;
        }
    }
}

/// Writes `s` as an RFC 8785 string: `"` and `\` escaped, U+0008, U+0009,
/// U+000A, U+000C, U+000D by their short escapes, the other characters below
/// U+0020 as `\u00xx` (lowercase hex), everything else as itself. False,
/// with the string half written, when `s` holds U+0000 (events may not).
pub(super) fn string<S: Sink>(out: &mut S, s: &str) -> bool {
    out.byte(b'"');
    let ok = content(out, s.as_bytes());
    out.byte(b'"');
    ok
}

/// The inside of [`string`], for bytes of UTF-8 text.
pub(super) fn content<S: Sink>(out: &mut S, b: &[u8]) -> bool {
    let mut run = 0;
    let mut unicode = *b"\\u0000";
    for (i, &c) in b.iter().enumerate() {
        if c >= 0x20 && c != b'"' && c != b'\\' {
            continue;
        }
        if c == 0 {
            return false;
        }
        out.put(b.get(run..i).unwrap_or_default());
        out.put(escape(c, &mut unicode));
        run = i + 1;
    }
    out.put(b.get(run..).unwrap_or_default());
    true
}

/// The canonical escape of `c`, a `"`, a `\` or a byte below 0x20 (not 0).
fn escape(c: u8, unicode: &mut [u8; 6]) -> &[u8] {
    match c {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        0x08 => b"\\b",
        0x09 => b"\\t",
        0x0a => b"\\n",
        0x0c => b"\\f",
        0x0d => b"\\r",
        _ => {
            let [.., hi, lo] = unicode;
            *hi = b'0' + (c >> 4);
            *lo = hex_digit(c & 15);
            unicode
        }
    }
}

/// The lowercase hex digit of `n` (below 16).
fn hex_digit(n: u8) -> u8 {
    if n < 10 {
        b'0' + n
    } else {
        b'a' + n - 10
    }
}
