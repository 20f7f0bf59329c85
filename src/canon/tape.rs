//! Event JSON text read in one pass into a tape, and its canonical form
//! written from the tape straight into SHA-256.
//!
//! This is how a line from any producer (members in another order, spaces,
//! other escapes) is hashed at close to the speed of the hash itself: no
//! tree of owned strings and maps is built. The parse records each value as
//! a node holding byte ranges of the text; strings without escapes and
//! integers are already in canonical form there, so writing the canonical
//! form is mostly copying ranges. Each object's members are sorted once,
//! when it closes, which is also where a name given twice shows up.
//!
//! Syntax is RFC 8259 (UTF-8 only, no lone surrogates, nesting at most
//! [`MAX_DEPTH`] deep): anything else is [`FormatError::Syntax`]. What breaks
//! the strict profile ([`super::strict`]) but is JSON is recorded as a
//! fault, with the parse carried on to the end, so a verifier still reads
//! the event's `seq`.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::sink::{self, HashSink, Sink};
use super::strict::{readable_pointer, FormatError, MAX_SAFE_INTEGER};
use super::utf16_cmp;
use crate::Digest;

/// Deepest nesting read (the limit serde_json applies too).
pub(crate) const MAX_DEPTH: usize = 128;

/// One value of the text. Positions are byte offsets into the text; a
/// container's `end` is the index of the first node after its last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Null,
    True,
    False,
    /// An integer within ±(2^53-1): its text is its canonical form.
    Int {
        at: u32,
        len: u32,
    },
    /// Any other number (a fault is recorded for it).
    Num {
        at: u32,
        len: u32,
    },
    /// A string: the bytes between its quotes, and whether they hold an escape.
    Str {
        at: u32,
        len: u32,
        escaped: bool,
    },
    Arr {
        end: u32,
    },
    /// An object: its member names (node indexes) sorted in canonical order
    /// are `order[from..from + len]`; each name's value is the next node.
    Obj {
        end: u32,
        from: u32,
        len: u32,
    },
}

/// What breaks the strict profile, at which node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FaultKind {
    NotInteger,
    OutOfRange,
    Nul,
}

/// A value read from text, as nodes over the text.
#[derive(Debug)]
pub(crate) struct Tape<'t> {
    text: &'t str,
    nodes: Vec<Node>,
    order: Vec<u32>,
    /// The second name of the first member named twice.
    duplicate: Option<u32>,
    /// The first other fault.
    fault: Option<(FaultKind, u32)>,
}

impl Drop for Tape<'_> {
    fn drop(&mut self) {
        Spare::give(Spare {
            nodes: std::mem::take(&mut self.nodes),
            order: std::mem::take(&mut self.order),
            ..Spare::default()
        });
    }
}

/// The vectors a parse fills, kept per thread between parses: a verifier
/// reads millions of lines and a host hashes every event, and allocating
/// and freeing four vectors per event cost a fifth of the general path.
#[derive(Default)]
struct Spare {
    nodes: Vec<Node>,
    order: Vec<u32>,
    open: Vec<Open>,
    keys: Vec<Key>,
}

thread_local! {
    static SPARE: std::cell::RefCell<Spare> = std::cell::RefCell::default();
}

/// Vectors grown past this many elements are freed rather than kept: one
/// huge line must not hold its memory for the rest of the run.
const SPARE_MAX: usize = 1 << 16;

impl Spare {
    fn take() -> Spare {
        SPARE
            .try_with(|s| s.try_borrow_mut().map(|mut s| std::mem::take(&mut *s)))
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
    }

    /// Keeps the vectors given (emptied) where the thread's are missing.
    fn give(mut given: Spare) {
        fn keep<T>(mine: &mut Vec<T>, given: &mut Vec<T>) {
            if mine.capacity() == 0 && given.capacity() <= SPARE_MAX {
                given.clear();
                std::mem::swap(mine, given);
            }
        }
        let _ = SPARE.try_with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                keep(&mut s.nodes, &mut given.nodes);
                keep(&mut s.order, &mut given.order);
                keep(&mut s.open, &mut given.open);
                keep(&mut s.keys, &mut given.keys);
            }
        });
    }
}

/// What [`Tape::write`] changes in the members of the object it starts at.
#[derive(Debug, Clone, Copy)]
enum Edit<'a> {
    Nothing,
    /// Leaves out the member of this name (`hash(event)` leaves out `hash`).
    Without(&'a str),
    /// Writes this canonical text as the value of the member of this name.
    Replace(&'a str, &'a [u8]),
}

/// A member of the top-level object as [`Tape::field`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field<'a> {
    /// No such member (or no such object).
    Missing,
    /// A string, unescaped.
    Str(Cow<'a, str>),
    /// A non-negative integer that fits 64 bits (as serde_json's `as_u64`).
    Uint(u64),
    /// An object.
    Object,
    /// Anything else.
    Other,
}

impl<'t> Tape<'t> {
    /// Reads `text`; [`FormatError::Syntax`] when it is not one JSON value.
    pub(crate) fn parse(text: &'t [u8]) -> Result<Self, FormatError> {
        let text = utf8(text)?;
        Self::parse_text(text, has_control(text.as_bytes()))
    }

    /// [`Tape::parse`] of text already known to be UTF-8, and whether it
    /// holds a byte below 0x20.
    pub(crate) fn parse_text(text: &'t str, control: bool) -> Result<Self, FormatError> {
        if u32::try_from(text.len()).is_err() {
            return Err(syntax("the text is longer than 4 GiB".into()));
        }
        let spare = Spare::take();
        let mut nodes = spare.nodes;
        nodes.reserve(text.len() / 12);
        let mut p = Parser {
            b: text.as_bytes(),
            i: 0,
            control,
            tape: Tape {
                text,
                nodes,
                order: spare.order,
                duplicate: None,
                fault: None,
            },
            open: spare.open,
            keys: spare.keys,
        };
        let read = p.run();
        let Parser {
            tape, open, keys, ..
        } = p;
        Spare::give(Spare {
            open,
            keys,
            ..Spare::default()
        });
        read.map(|()| tape)
    }

    /// The first member named twice, as an error.
    pub(crate) fn duplicate(&self) -> Option<FormatError> {
        let at = self.duplicate?;
        Some(FormatError::Duplicate {
            pointer: self.pointer_to(at),
        })
    }

    /// The first number or string outside the strict profile, as an error.
    pub(crate) fn fault(&self) -> Option<FormatError> {
        let (kind, at) = self.fault?;
        let pointer = self.pointer_to(at);
        let found = || match self.nodes.get(at as usize) {
            Some(Node::Num { at, len }) => self.slice(*at, *len).to_owned(),
            _ => String::new(),
        };
        Some(match kind {
            FaultKind::NotInteger => FormatError::NotInteger {
                pointer,
                found: found(),
            },
            FaultKind::OutOfRange => FormatError::OutOfRange {
                pointer,
                found: found(),
            },
            FaultKind::Nul => FormatError::Nul { pointer },
        })
    }

    /// Whether the value read is an object.
    pub(crate) fn is_object(&self) -> bool {
        matches!(self.nodes.first(), Some(Node::Obj { .. }))
    }

    /// The member at `path` (names from the top-level object down).
    pub(crate) fn field(&self, path: &[&str]) -> Field<'_> {
        let mut at = 0u32;
        for name in path {
            match self.member(at, name) {
                Some(v) => at = v,
                None => return Field::Missing,
            }
        }
        match self.nodes.get(at as usize) {
            Some(Node::Str { at, len, escaped }) => Field::Str(self.string(*at, *len, *escaped)),
            Some(Node::Int { at, len } | Node::Num { at, len }) => {
                let text = self.slice(*at, *len);
                match text.bytes().all(|c| c.is_ascii_digit()) {
                    true => text.parse().map_or(Field::Other, Field::Uint),
                    false => Field::Other,
                }
            }
            Some(Node::Obj { .. }) => Field::Object,
            Some(_) => Field::Other,
            None => Field::Missing,
        }
    }

    /// SHA-256 of the canonical form of the top-level object without its
    /// member named `without`. Call only without a fault or duplicate.
    pub(crate) fn hash_object(&self, without: &str) -> Digest {
        let mut out = HashSink::new();
        self.write(0, &mut out, Edit::Without(without));
        out.finish()
    }

    /// The canonical form of the value, with the top-level member `name`'s
    /// value written as `value` (canonical JSON text) if there is one. Call
    /// only without a fault or duplicate.
    pub(crate) fn canonical_replacing(&self, name: &str, value: &[u8]) -> String {
        self.canonical_with(Edit::Replace(name, value))
    }

    /// The canonical form of the value. Call only without a fault or
    /// duplicate.
    pub(crate) fn canonical(&self) -> String {
        self.canonical_with(Edit::Nothing)
    }

    fn canonical_with(&self, edit: Edit<'_>) -> String {
        let mut out = Vec::with_capacity(self.text.len());
        self.write(0, &mut out, edit);
        // Only whole strings of the text and ASCII are written.
        String::from_utf8(out).unwrap_or_default()
    }

    /// The value as a tree. Call only without a fault or duplicate.
    pub(crate) fn to_value(&self) -> Value {
        self.value_at(0)
    }

    /// The node index of `obj`'s member named `name`.
    fn member(&self, obj: u32, name: &str) -> Option<u32> {
        let Some(Node::Obj { from, len, .. }) = self.nodes.get(obj as usize) else {
            return None;
        };
        // Names are sorted in canonical order: a binary search finds one. A
        // name written without escapes is compared where it lies in the text.
        let names = self.order.get(*from as usize..(*from + *len) as usize)?;
        let at = names
            .binary_search_by(|&k| match self.nodes.get(k as usize) {
                Some(&Node::Str {
                    at,
                    len,
                    escaped: false,
                }) => utf16_cmp(self.bytes(at, len), name.as_bytes()),
                _ => utf16_cmp(self.name(k).unwrap_or_default().as_bytes(), name.as_bytes()),
            })
            .ok()?;
        names.get(at).map(|k| k + 1)
    }

    fn slice(&self, at: u32, len: u32) -> &'t str {
        self.text
            .get(at as usize..(at + len) as usize)
            .unwrap_or_default()
    }

    /// [`Tape::slice`] as bytes, without the character-boundary checks a
    /// `str` range makes: for comparing and copying, where they cost a
    /// tenth of a member look-up.
    fn bytes(&self, at: u32, len: u32) -> &'t [u8] {
        self.text
            .as_bytes()
            .get(at as usize..(at + len) as usize)
            .unwrap_or_default()
    }

    /// A string node's content, unescaped.
    fn string(&self, at: u32, len: u32, escaped: bool) -> Cow<'t, str> {
        let raw = self.slice(at, len);
        if escaped {
            Cow::Owned(unescape(raw))
        } else {
            Cow::Borrowed(raw)
        }
    }

    /// The text of the name at node `k`.
    fn name(&self, k: u32) -> Option<Cow<'t, str>> {
        match self.nodes.get(k as usize) {
            Some(Node::Str { at, len, escaped }) => Some(self.string(*at, *len, *escaped)),
            _ => None,
        }
    }

    /// Whether the name at node `k` is `name`, unescaping only a name
    /// written with escapes.
    fn name_is(&self, k: u32, name: &str) -> bool {
        match self.nodes.get(k as usize) {
            Some(&Node::Str {
                at,
                len,
                escaped: false,
            }) => self.bytes(at, len) == name.as_bytes(),
            Some(_) => self.name(k).as_deref() == Some(name),
            None => false,
        }
    }

    /// The index of the first node after the value at `i`.
    fn next(&self, i: u32) -> u32 {
        match self.nodes.get(i as usize) {
            Some(Node::Arr { end } | Node::Obj { end, .. }) => *end,
            _ => i + 1,
        }
    }

    /// The JSON Pointer of node `target` (a member's name stands for the member).
    fn pointer_to(&self, target: u32) -> String {
        let mut tokens: Vec<Cow<'t, str>> = Vec::new();
        let mut at = 0u32;
        while at != target {
            let (first, end, object) = match self.nodes.get(at as usize) {
                Some(Node::Obj { end, .. }) => (at + 1, *end, true),
                Some(Node::Arr { end }) => (at + 1, *end, false),
                _ => break,
            };
            let mut child = first;
            let mut index = 0usize;
            let mut found = None;
            while child < end {
                let value = if object { child + 1 } else { child };
                let after = self.next(value);
                if object && child == target {
                    tokens.push(self.name(child).unwrap_or_default());
                    found = Some(target);
                    break;
                }
                if (value..after).contains(&target) {
                    tokens.push(match object {
                        true => self.name(child).unwrap_or_default(),
                        false => Cow::Owned(index.to_string()),
                    });
                    found = Some(value);
                    break;
                }
                child = after;
                index += 1;
            }
            match found {
                Some(next) => at = next,
                None => break,
            }
        }
        readable_pointer(tokens.iter().map(|t| t.as_ref()))
    }

    /// Writes the canonical form of the value at `i`, with `edit` made to
    /// the members of that value only.
    fn write<S: Sink>(&self, i: u32, out: &mut S, edit: Edit<'_>) {
        match self.nodes.get(i as usize).copied() {
            Some(Node::Null) => out.put(b"null"),
            Some(Node::True) => out.put(b"true"),
            Some(Node::False) => out.put(b"false"),
            Some(Node::Int { at, len } | Node::Num { at, len }) => {
                out.put(self.bytes(at, len));
            }
            Some(Node::Str { at, len, escaped }) => self.write_str(at, len, escaped, out),
            Some(Node::Arr { end }) => {
                out.byte(b'[');
                let mut child = i + 1;
                while child < end {
                    if child > i + 1 {
                        out.byte(b',');
                    }
                    self.write(child, out, Edit::Nothing);
                    child = self.next(child);
                }
                out.byte(b']');
            }
            Some(Node::Obj { from, len, .. }) => {
                out.byte(b'{');
                let names = self
                    .order
                    .get(from as usize..(from + len) as usize)
                    .unwrap_or_default();
                let mut first = true;
                for &k in names {
                    let edited = match edit {
                        Edit::Nothing => None,
                        Edit::Without(name) => match self.name_is(k, name) {
                            true => continue,
                            false => None,
                        },
                        Edit::Replace(name, value) => Some(value).filter(|_| self.name_is(k, name)),
                    };
                    if !first {
                        out.byte(b',');
                    }
                    first = false;
                    self.write(k, out, Edit::Nothing);
                    out.byte(b':');
                    match edited {
                        Some(value) => out.put(value),
                        None => self.write(k + 1, out, Edit::Nothing),
                    }
                }
                out.byte(b'}');
            }
            None => {}
        }
    }

    fn write_str<S: Sink>(&self, at: u32, len: u32, escaped: bool, out: &mut S) {
        if escaped {
            write_escaped(self.slice(at, len), out);
        } else {
            // No escape, and no quote or control character (the parse refused
            // them raw): already canonical, quotes and all.
            let quoted = self
                .text
                .as_bytes()
                .get((at as usize).saturating_sub(1)..(at + len) as usize + 1)
                .unwrap_or_default();
            out.put(quoted);
        }
    }

    fn value_at(&self, i: u32) -> Value {
        match self.nodes.get(i as usize).copied() {
            Some(Node::True) => Value::Bool(true),
            Some(Node::False) => Value::Bool(false),
            Some(Node::Int { at, len }) => {
                let text = self.slice(at, len);
                text.parse::<i64>().map_or(Value::Null, Value::from)
            }
            Some(Node::Str { at, len, escaped }) => {
                Value::String(self.string(at, len, escaped).into_owned())
            }
            Some(Node::Arr { end }) => {
                let mut items = Vec::new();
                let mut child = i + 1;
                while child < end {
                    items.push(self.value_at(child));
                    child = self.next(child);
                }
                Value::Array(items)
            }
            Some(Node::Obj { end, .. }) => {
                let mut members = Map::new();
                let mut child = i + 1;
                while child < end {
                    let name = self.name(child).unwrap_or_default().into_owned();
                    members.insert(name, self.value_at(child + 1));
                    child = self.next(child + 1);
                }
                Value::Object(members)
            }
            Some(Node::Null | Node::Num { .. }) | None => Value::Null,
        }
    }
}

/// `text` as UTF-8, or the syntax error that says where it is not.
pub(crate) fn utf8(text: &[u8]) -> Result<&str, FormatError> {
    std::str::from_utf8(text).map_err(|e| {
        syntax(format!(
            "invalid UTF-8 at byte {} (expected UTF-8 text)",
            e.valid_up_to()
        ))
    })
}

/// Whether `b` holds a byte below 0x20 (a raw control character or
/// whitespace other than the space).
pub(crate) fn has_control(b: &[u8]) -> bool {
    b.iter().fold(false, |any, &c| any | (c < 0x20))
}

fn syntax(detail: String) -> FormatError {
    FormatError::Syntax(detail)
}

/// The content of a string whose escapes the parse checked.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('\\') {
        out.push_str(rest.get(..at).unwrap_or_default());
        let esc = rest.get(at + 1..).unwrap_or_default();
        let (c, used) = decode_escape(esc);
        out.push(c);
        rest = esc.get(used..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// The canonical form of a string whose escaped text (checked by the parse)
/// is `raw`, written as it is decoded.
fn write_escaped<S: Sink>(raw: &str, out: &mut S) {
    out.byte(b'"');
    let mut rest = raw;
    while let Some(at) = rest.find('\\') {
        sink::content(out, rest.get(..at).unwrap_or_default().as_bytes());
        let esc = rest.get(at + 1..).unwrap_or_default();
        let (c, used) = decode_escape(esc);
        sink::content(out, c.encode_utf8(&mut [0; 4]).as_bytes());
        rest = esc.get(used..).unwrap_or_default();
    }
    sink::content(out, rest.as_bytes());
    out.byte(b'"');
}

/// The character of the escape `esc` starts (after its backslash), and how
/// many bytes of `esc` it takes.
fn decode_escape(esc: &str) -> (char, usize) {
    match esc.as_bytes().first() {
        Some(b'b') => ('\u{8}', 1),
        Some(b'f') => ('\u{c}', 1),
        Some(b'n') => ('\n', 1),
        Some(b'r') => ('\r', 1),
        Some(b't') => ('\t', 1),
        Some(b'u') => {
            let hi = hex4(esc.get(1..5)).unwrap_or(0xfffd);
            if (0xd800..0xdc00).contains(&hi) {
                let lo = hex4(esc.get(7..11)).unwrap_or(0xdc00);
                let c = 0x10000 + ((hi - 0xd800) << 10) + (lo.wrapping_sub(0xdc00) & 0x3ff);
                (char::from_u32(c).unwrap_or('\u{fffd}'), 11)
            } else {
                (char::from_u32(hi).unwrap_or('\u{fffd}'), 5)
            }
        }
        Some(&c) => (char::from(c), 1),
        None => ('\u{fffd}', 0),
    }
}

/// Four hex digits (either case) as a number.
fn hex4(digits: Option<&str>) -> Option<u32> {
    let d = digits?;
    if d.len() == 4 && d.bytes().all(|c| c.is_ascii_hexdigit()) {
        u32::from_str_radix(d, 16).ok()
    } else {
        None
    }
}

/// An open array or object.
struct Open {
    node: u32,
    object: bool,
    /// Where this object's names start in [`Parser::keys`].
    keys_from: usize,
}

struct Parser<'t> {
    b: &'t [u8],
    i: usize,
    /// Whether the text holds any byte below 0x20 (only then are strings
    /// searched for raw control characters).
    control: bool,
    tape: Tape<'t>,
    open: Vec<Open>,
    /// Names of the open objects, innermost last.
    keys: Vec<Key>,
}

/// A member name waiting for its object to close, with a sort key: its
/// first eight bytes (zero-padded, big-endian). When both names are
/// unescaped ASCII there, different keys order them as UTF-16 does (a
/// shorter name first, as no name holds a raw 0), and only equal keys need
/// the names themselves.
#[derive(Debug, Clone, Copy)]
struct Key {
    prefix: u64,
    ascii: bool,
    node: u32,
}

impl Key {
    fn order(&self, other: &Key, tape: &Tape<'_>) -> Ordering {
        if self.ascii && other.ascii && self.prefix != other.prefix {
            self.prefix.cmp(&other.prefix)
        } else {
            compare_names(tape, self.node, other.node)
        }
    }
}

impl Parser<'_> {
    fn run(&mut self) -> Result<(), FormatError> {
        self.ws();
        'value: loop {
            match self.peek() {
                Some(b'{') => {
                    self.i += 1;
                    self.begin(true)?;
                    self.ws();
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                        self.end();
                    } else {
                        self.name()?;
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    self.begin(false)?;
                    self.ws();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        self.end();
                    } else {
                        continue 'value;
                    }
                }
                Some(b'"') => self.string(false)?,
                Some(b't') => self.word(b"true", Node::True)?,
                Some(b'f') => self.word(b"false", Node::False)?,
                Some(b'n') => self.word(b"null", Node::Null)?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => return Err(self.unexpected("a value")),
            }
            // After a value: a separator, or the end of what holds it.
            loop {
                self.ws();
                let Some(object) = self.open.last().map(|o| o.object) else {
                    break 'value;
                };
                match (self.peek(), object) {
                    (Some(b','), _) => {
                        self.i += 1;
                        self.ws();
                        if object {
                            self.name()?;
                        }
                        continue 'value;
                    }
                    (Some(b'}'), true) | (Some(b']'), false) => {
                        self.i += 1;
                        self.end();
                    }
                    (_, true) => return Err(self.unexpected("`,` or `}`")),
                    (_, false) => return Err(self.unexpected("`,` or `]`")),
                }
            }
        }
        if self.i == self.b.len() {
            Ok(())
        } else {
            Err(self.unexpected("the end of the text"))
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn unexpected(&self, expected: &str) -> FormatError {
        match self.peek() {
            Some(c) => syntax(format!(
                "expected {expected} at byte {}, found `{}`",
                self.i,
                char::from(c).escape_default()
            )),
            None => syntax(format!("expected {expected}, found the end of the text")),
        }
    }

    fn push(&mut self, node: Node) -> u32 {
        // INVARIANT: fewer nodes than bytes, and the text fits a u32.
        let at = u32::try_from(self.tape.nodes.len()).unwrap_or(u32::MAX);
        self.tape.nodes.push(node);
        at
    }

    fn fault(&mut self, kind: FaultKind, node: u32) {
        if self.tape.fault.is_none() {
            self.tape.fault = Some((kind, node));
        }
    }

    fn pos(&self, i: usize) -> u32 {
        // INVARIANT: the text is shorter than 4 GiB (checked first).
        u32::try_from(i).unwrap_or(u32::MAX)
    }

    fn begin(&mut self, object: bool) -> Result<(), FormatError> {
        if self.open.len() >= MAX_DEPTH - 1 {
            return Err(syntax(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let node = self.push(if object {
            Node::Obj {
                end: 0,
                from: 0,
                len: 0,
            }
        } else {
            Node::Arr { end: 0 }
        });
        self.open.push(Open {
            node,
            object,
            keys_from: self.keys.len(),
        });
        Ok(())
    }

    /// Closes the innermost array or object. An object's names are sorted
    /// into canonical order here, and equal neighbours are a duplicate.
    fn end(&mut self) {
        let Some(open) = self.open.pop() else {
            return;
        };
        let end = self.pos(self.tape.nodes.len());
        let closed = if open.object {
            let tape = &self.tape;
            let names = self.keys.get_mut(open.keys_from..).unwrap_or_default();
            if names.iter().all(|k| k.ascii) {
                // The usual case: the prefixes order the names, and only
                // names sharing one (sorted together) are compared whole.
                names.sort_unstable_by_key(|k| k.prefix);
                for run in names.chunk_by_mut(|x, y| x.prefix == y.prefix) {
                    if run.len() > 1 {
                        run.sort_unstable_by(|x, y| compare_names(tape, x.node, y.node));
                    }
                }
            } else {
                names.sort_unstable_by(|x, y| x.order(y, tape));
            }
            if tape.duplicate.is_none() {
                let twice = names
                    .windows(2)
                    .find(|w| matches!(w, [x, y] if x.order(y, tape) == Ordering::Equal))
                    .and_then(|w| w.iter().map(|k| k.node).max());
                self.tape.duplicate = twice;
            }
            let from = self.pos(self.tape.order.len());
            let len = self.pos(self.keys.len() - open.keys_from);
            let names = self.keys.get(open.keys_from..).unwrap_or_default();
            self.tape.order.extend(names.iter().map(|k| k.node));
            self.keys.truncate(open.keys_from);
            Node::Obj { end, from, len }
        } else {
            Node::Arr { end }
        };
        if let Some(n) = self.tape.nodes.get_mut(open.node as usize) {
            *n = closed;
        }
    }

    /// A member's name and its colon.
    fn name(&mut self) -> Result<(), FormatError> {
        if self.peek() != Some(b'"') {
            return Err(self.unexpected("a member name"));
        }
        self.string(true)?;
        self.ws();
        if self.peek() != Some(b':') {
            return Err(self.unexpected("`:`"));
        }
        self.i += 1;
        self.ws();
        Ok(())
    }

    fn word(&mut self, word: &[u8], node: Node) -> Result<(), FormatError> {
        let end = self.i + word.len();
        if self.b.get(self.i..end) != Some(word) {
            return Err(self.unexpected("a value"));
        }
        self.i = end;
        self.push(node);
        Ok(())
    }

    /// A string at `"`; a name is also noted for its object.
    fn string(&mut self, is_name: bool) -> Result<(), FormatError> {
        let node = self.pos(self.tape.nodes.len());
        let start = self.i + 1;
        let mut j = start;
        let mut escaped = false;
        loop {
            let rest = self.b.get(j..).unwrap_or_default();
            let Some(k) = memchr::memchr2(b'"', b'\\', rest).map(|k| j + k) else {
                return Err(syntax(format!(
                    "the string at byte {} does not end",
                    self.i
                )));
            };
            j = k;
            if self.b.get(j) == Some(&b'"') {
                break;
            }
            escaped = true;
            j = self.escape(j + 1, node)?;
        }
        let content = self.b.get(start..j).unwrap_or_default();
        if self.control && content.iter().any(|&c| c < 0x20) {
            return Err(syntax(format!(
                "the string at byte {} holds a raw control character (expected it escaped)",
                self.i
            )));
        }
        self.push(Node::Str {
            at: self.pos(start),
            len: self.pos(j - start),
            escaped,
        });
        if is_name {
            let head = content.get(..8).unwrap_or(content);
            let mut prefix = [0u8; 8];
            for (p, c) in prefix.iter_mut().zip(head) {
                *p = *c;
            }
            self.keys.push(Key {
                prefix: u64::from_be_bytes(prefix),
                ascii: !escaped && head.is_ascii(),
                node,
            });
        }
        self.i = j + 1;
        Ok(())
    }

    /// Checks the escape after a backslash at `j - 1`; returns where the
    /// string goes on.
    fn escape(&mut self, j: usize, node: u32) -> Result<usize, FormatError> {
        let bad = |what: &str| syntax(format!("{what} at byte {}", j.saturating_sub(1)));
        match self.b.get(j) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(j + 1),
            Some(b'u') => {
                let hex = |at: usize| {
                    self.b
                        .get(at..at + 4)
                        .and_then(|d| std::str::from_utf8(d).ok())
                        .and_then(|d| hex4(Some(d)))
                };
                let cp = hex(j + 1).ok_or_else(|| bad("an invalid `\\u` escape"))?;
                match cp {
                    0xd800..=0xdbff => {
                        let low = match self.b.get(j + 5..j + 7) {
                            Some(b"\\u") => hex(j + 7),
                            _ => None,
                        };
                        match low {
                            Some(0xdc00..=0xdfff) => Ok(j + 11),
                            _ => Err(bad("a lone surrogate")),
                        }
                    }
                    0xdc00..=0xdfff => Err(bad("a lone surrogate")),
                    0 => {
                        self.fault(FaultKind::Nul, node);
                        Ok(j + 5)
                    }
                    _ => Ok(j + 5),
                }
            }
            _ => Err(bad("an invalid escape")),
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`; only integers
    /// within ±(2^53-1) without fraction or exponent, and not `-0`, fit
    /// the profile.
    fn number(&mut self) -> Result<(), FormatError> {
        let start = self.i;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.i += 1;
        }
        let digits_from = self.i;
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.unexpected("a digit")),
        }
        let digits = self.i - digits_from;
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.unexpected("a digit"));
            }
            self.digits();
            integer = false;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.unexpected("a digit"));
            }
            self.digits();
            integer = false;
        }
        let at = self.pos(start);
        let len = self.pos(self.i - start);
        let node = self.pos(self.tape.nodes.len());
        let zero = self.b.get(digits_from) == Some(&b'0');
        let kind = if !integer || (negative && zero) {
            Some(FaultKind::NotInteger)
        } else if digits > 16
            || std::str::from_utf8(self.b.get(digits_from..self.i).unwrap_or_default())
                .ok()
                .and_then(|d| d.parse::<u64>().ok())
                .is_none_or(|n| n > MAX_SAFE_INTEGER)
        {
            Some(FaultKind::OutOfRange)
        } else {
            None
        };
        match kind {
            Some(kind) => {
                self.fault(kind, node);
                self.push(Node::Num { at, len });
            }
            None => {
                self.push(Node::Int { at, len });
            }
        }
        Ok(())
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }
}

/// Canonical order of two member names (UTF-16 code units of their text).
fn compare_names(tape: &Tape<'_>, x: u32, y: u32) -> Ordering {
    match (tape.nodes.get(x as usize), tape.nodes.get(y as usize)) {
        (
            Some(Node::Str {
                at: xa,
                len: xl,
                escaped: false,
            }),
            Some(Node::Str {
                at: ya,
                len: yl,
                escaped: false,
            }),
        ) => utf16_cmp(tape.bytes(*xa, *xl), tape.bytes(*ya, *yl)),
        _ => {
            let a = tape.name(x).unwrap_or_default();
            let b = tape.name(y).unwrap_or_default();
            utf16_cmp(a.as_bytes(), b.as_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str) -> String {
        let tape = Tape::parse(text.as_bytes()).unwrap();
        let mut out = Vec::new();
        tape.write(0, &mut out, Edit::Nothing);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn writes_the_canonical_form() {
        assert_eq!(
            canonical(r#" { "b" : [ 1 , -2, true, null, false, {}, [] ], "a": "\u00e9\/\n\"\u001f", "\ud83d\ude00": 0, "\ue000": 1 } "#),
            "{\"a\":\"é/\\n\\\"\\u001f\",\"b\":[1,-2,true,null,false,{},[]],\"😀\":0,\"\u{e000}\":1}"
        );
        assert_eq!(canonical("\"x\""), "\"x\"");
        assert_eq!(canonical("[]"), "[]");
    }

    #[test]
    fn names_sharing_their_first_eight_bytes_are_ordered_whole() {
        // Sorted by prefix first: the names of one prefix are compared whole,
        // and a name given twice is found among them.
        assert_eq!(
            canonical(r#"{"abcdefghZ":1,"abcdefgh":2,"b":3,"abcdefghA":4,"a":5,"abcdefgi":6}"#),
            r#"{"a":5,"abcdefgh":2,"abcdefghA":4,"abcdefghZ":1,"abcdefgi":6,"b":3}"#
        );
        let twice = Tape::parse(br#"{"abcdefghij":1,"b":2,"abcdefghik":3,"abcdefghij":4}"#)
            .unwrap()
            .duplicate();
        assert!(
            matches!(&twice, Some(FormatError::Duplicate { pointer }) if pointer == "/abcdefghij"),
            "{twice:?}"
        );
        let once = Tape::parse(br#"{"abcdefghij":1,"abcdefghik":3,"abcdefgh":4}"#).unwrap();
        assert_eq!(once.duplicate(), None);
        assert_eq!(once.field(&["abcdefghik"]), Field::Uint(3));
        assert_eq!(once.field(&["abcdefgh"]), Field::Uint(4));
        assert_eq!(once.field(&["abcdefghi"]), Field::Missing);
    }

    #[test]
    fn refuses_what_is_not_json() {
        for text in [
            "",
            " ",
            "{",
            "}",
            "[1,]",
            "[,1]",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\" 1}",
            "{a:1}",
            "{\"a\":1,}",
            "[1 2]",
            "01",
            "1.",
            ".5",
            "1e",
            "-",
            "+1",
            "tru",
            "nul",
            "\"a",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"a\tb\"",
            "\"\u{1}\"",
            "[1] x",
            "\u{feff}{}",
            "NaN",
            "[\"\\\"]",
        ] {
            assert!(
                matches!(Tape::parse(text.as_bytes()), Err(FormatError::Syntax(_))),
                "{text:?}"
            );
        }
        assert!(Tape::parse(b"\xff").is_err());
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(Tape::parse(deep(127).as_bytes()).is_ok());
        assert!(Tape::parse(deep(128).as_bytes()).is_err());
    }

    #[test]
    fn faults_name_their_place_and_the_parse_goes_on() {
        let fault = |text: &str| Tape::parse(text.as_bytes()).unwrap().fault();
        assert_eq!(
            fault(r#"{"a":[0,{"b":1.5}],"seq":3}"#),
            Some(FormatError::NotInteger {
                pointer: "/a/1/b".into(),
                found: "1.5".into()
            })
        );
        assert_eq!(
            fault("[-0]"),
            Some(FormatError::NotInteger {
                pointer: "/0".into(),
                found: "-0".into()
            })
        );
        assert_eq!(
            fault("[9007199254740992]"),
            Some(FormatError::OutOfRange {
                pointer: "/0".into(),
                found: "9007199254740992".into()
            })
        );
        assert_eq!(
            fault("[9007199254740991, -9007199254740991, 0, 1e400]")
                .map(|e| e.to_string().contains("1e400")),
            Some(true)
        );
        assert_eq!(
            fault(r#"{"x\u0000":1}"#),
            Some(FormatError::Nul {
                pointer: "/x\\u0000".into()
            })
        );
        let t = Tape::parse(br#"{"a":1.5,"seq":7}"#).unwrap();
        assert_eq!(t.field(&["seq"]), Field::Uint(7));
        let t = Tape::parse(br#"{"q":{"z":1,"y":2,"z":3},"seq":7}"#).unwrap();
        assert_eq!(
            t.duplicate(),
            Some(FormatError::Duplicate {
                pointer: "/q/z".into()
            })
        );
        assert_eq!(t.field(&["seq"]), Field::Uint(7));
        let t = Tape::parse(br#"{"\u0061":1,"a":2}"#).unwrap();
        assert!(t.duplicate().is_some(), "names compare unescaped");
    }

    #[test]
    fn fields_and_trees() {
        let t =
            Tape::parse(br#"{"actor":{"id":"u\u0031","n":-1},"seq":18446744073709551615,"v":1}"#)
                .unwrap();
        assert_eq!(t.field(&["actor", "id"]), Field::Str("u1".into()));
        assert_eq!(t.field(&["actor"]), Field::Object);
        assert_eq!(t.field(&["actor", "n"]), Field::Other);
        assert_eq!(t.field(&["actor", "x"]), Field::Missing);
        assert_eq!(t.field(&["seq"]), Field::Uint(u64::MAX));
        assert!(t.is_object());
        let t = Tape::parse(br#"{"b":[1,"x",{"c":null}],"a":true}"#).unwrap();
        assert_eq!(
            t.to_value(),
            serde_json::json!({"a": true, "b": [1, "x", {"c": null}]})
        );
    }

    fn json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-(1i64 << 53)..=(1i64 << 53)).prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            "[a-z\\u{0}-\\u{1f}\"\\\\/\\u{7f}\\u{e9}\\u{2028}\\u{e000}\\u{ffff}\\u{1f600}]{0,6}"
                .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(
                    "[a-z\\u{e9}\\u{e000}\\u{ffff}\\u{1f600}_]{0,4}",
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Text from another writer (spaces, newlines, its own escapes) reads
        /// back to the same tree, and the tape writes what the tree writer
        /// writes, or both refuse.
        #[test]
        fn the_tape_writes_what_the_tree_writer_writes(v in json(), pretty in proptest::bool::ANY) {
            let text = if pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
            let tape = Tape::parse(text.as_bytes()).unwrap();
            let tree = super::super::strict::to_vec(&v);
            match tape.fault() {
                None => {
                    let mut out = Vec::new();
                    tape.write(0, &mut out, Edit::Nothing);
                    proptest::prop_assert_eq!(Ok(out), tree);
                    proptest::prop_assert_eq!(tape.to_value(), v);
                }
                Some(_) => proptest::prop_assert!(tree.is_err()),
            }
        }
    }
}
