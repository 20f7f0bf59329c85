//! The canonical-form scanner: checks in one pass over the bytes that a
//! JSON text *is* RFC 8785 canonical (no whitespace, members strictly
//! sorted by UTF-16 code units at every level, minimal string escapes,
//! integers in shortest form), and notes where an object's members lie.
//!
//! It is strict and conservative: `None` as soon as anything is not exactly
//! canonical or lies outside its limits (integers of more than 15 digits,
//! fractions and exponents, U+0000, objects of more than [`MAX_MEMBERS`]
//! recorded members, nesting deeper than [`MAX_DEPTH`]). The verifier's
//! fast path (`crate::verify`) builds on it; anything it refuses goes down
//! the general path, which gives the authoritative answer.

use super::utf16_cmp;

/// Deepest nesting the scanner follows.
const MAX_DEPTH: u32 = 100;

/// Longest integer (in digits) whose ECMAScript form is its own digits for
/// sure: every integer below 10^15 is exact in an `f64`.
const MAX_INT_DIGITS: usize = 15;

/// One member of an object: where its key starts and its value lies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member {
    /// Where the member's name (its opening quote) starts.
    pub(crate) key_start: usize,
    /// The name's content, between its quotes.
    pub(crate) key: (usize, usize),
    /// The value's bytes.
    pub(crate) value: (usize, usize),
}

/// Most members recorded for one object; an event with more takes the
/// general path.
const MAX_MEMBERS: usize = 24;

/// The members of one object, without allocating.
pub(crate) struct Members {
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

    pub(crate) fn as_slice(&self) -> &[Member] {
        self.items.get(..self.len).unwrap_or(&[])
    }
}

/// A strict canonical-JSON scanner: `None` as soon as anything is not
/// exactly canonical.
pub(crate) struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    pub(crate) fn new(b: &'a [u8], from: usize) -> Self {
        Self { b, i: from }
    }

    /// The next `"` or `\\` at or after the cursor: strings are skipped
    /// by jumping between them.
    fn next_mark(&self) -> Option<usize> {
        let rest = self.b.get(self.i..)?;
        memchr::memchr2(b'"', b'\\', rest).map(|k| self.i + k)
    }

    /// Where the scanner is: after a successful [`Scan::object`], just
    /// past the object's closing brace.
    pub(crate) fn pos(&self) -> usize {
        self.i
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
    pub(crate) fn object(&mut self, depth: u32, mut record: Option<&mut Members>) -> Option<()> {
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

fn lower_hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}
