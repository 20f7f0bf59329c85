//! Event JSON: the strict profile of JSON every event is written in.
//!
//! The spec hashes `JCS(event)`, and that only pins an event down when every
//! reader sees the same members and values in its text. Some JSON is read
//! differently by different readers: a member named twice (most keep the
//! last, some the first), a number with a fraction or exponent, `-0`, or an
//! integer past 2^53 (readers round these differently), and U+0000 (a
//! PostgreSQL text cannot hold it). Events carry none of them, and
//! verifiers refuse them under the rule `format`:
//!
//! - member names are unique within every object;
//! - every number is an integer from -(2^53-1) to 2^53-1, written without
//!   fraction or exponent, and not `-0`;
//! - no string and no member name holds U+0000.
//!
//! ([`crate::Timestamp::parse`] holds the rule for `ts`.)
//!
//! [`parse`] reads text, refusing duplicate names (the one rule a parsed
//! tree can no longer show); [`to_vec`], [`to_string`] and [`hash_object`]
//! write a tree's canonical form and check the other rules as they go, the
//! last one straight into SHA-256 without building the text first.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};
use sha2::{Digest as _, Sha256};

use super::utf16_cmp;
use crate::Digest;

/// The largest integer magnitude an event may carry, 2^53 - 1: the largest
/// every JSON reader (ECMAScript's included) holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a text or a tree is not event JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    Syntax(String),
    /// A member name appears twice in one object.
    #[error("member `{pointer}` appears twice; expected unique member names")]
    Duplicate {
        /// JSON Pointer of the member.
        pointer: String,
    },
    /// A number with a fraction or an exponent, or `-0`.
    #[error("`{pointer}`: expected an integer, found `{found}`")]
    NotInteger {
        /// JSON Pointer of the number.
        pointer: String,
        /// The number as read.
        found: String,
    },
    /// An integer past ±(2^53-1).
    #[error(
        "`{pointer}`: expected an integer from -9007199254740991 to 9007199254740991, found `{found}`"
    )]
    OutOfRange {
        /// JSON Pointer of the number.
        pointer: String,
        /// The number as read.
        found: String,
    },
    /// U+0000 in a string or a member name.
    #[error("`{pointer}`: expected no U+0000 in strings and member names, found one")]
    Nul {
        /// JSON Pointer of the string (of the member, for a name).
        pointer: String,
    },
}

/// Parses `text` as event JSON: [`FormatError::Duplicate`] for a member
/// named twice, [`FormatError::Syntax`] for anything that is not JSON.
/// Numbers and strings are checked when the tree is written.
pub fn parse(text: &[u8]) -> Result<Value, FormatError> {
    parse_noting_seq(text).map_err(|(e, _)| e)
}

/// [`parse`], also returning on failure the top-level `seq` when one was
/// read, so a verifier can say which event broke the rule.
pub(crate) fn parse_noting_seq(text: &[u8]) -> Result<Value, (FormatError, Option<u64>)> {
    let seen = Seen::default();
    let mut de = serde_json::Deserializer::from_slice(text);
    let parsed = Node {
        path: Path::Root,
        seen: &seen,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    let seq = seen.seq.get();
    match (parsed, seen.duplicate.take()) {
        (_, Some(pointer)) => Err((FormatError::Duplicate { pointer }, seq)),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err((FormatError::Syntax(e.to_string()), None)),
    }
}

/// The canonical (RFC 8785) bytes of event JSON `value`, checked as written.
pub fn to_vec(value: &Value) -> Result<Vec<u8>, FormatError> {
    let mut out = Vec::with_capacity(512);
    Writer { out: &mut out }
        .value(value)
        .map_err(|f| (*f).into_error())?;
    Ok(out)
}

/// The canonical text of event JSON `value`, checked as written.
pub fn to_string(value: &Value) -> Result<String, FormatError> {
    // Only whole strings and ASCII are ever written: always UTF-8.
    String::from_utf8(to_vec(value)?).map_err(|e| FormatError::Syntax(e.to_string()))
}

/// SHA-256 of the canonical form of the object `members` without the member
/// named `without`, checked as written; the canonical text is never built.
pub fn hash_object(members: &Map<String, Value>, without: &str) -> Result<Digest, FormatError> {
    let mut sink = HashSink {
        sha: Sha256::new(),
        buf: Vec::with_capacity(HASH_BUF),
    };
    Writer { out: &mut sink }
        .object(members, Some(without))
        .map_err(|f| (*f).into_error())?;
    sink.sha.update(&sink.buf);
    Ok(Digest(sink.sha.finalize().into()))
}

/// Where canonical bytes go.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Bytes gathered before each SHA-256 update: a canonical form is written
/// in many short pieces, and one update per piece would cost more than the
/// hashing.
const HASH_BUF: usize = 4096;

struct HashSink {
    sha: Sha256,
    buf: Vec<u8>,
}

impl Sink for HashSink {
    fn put(&mut self, bytes: &[u8]) {
        if self.buf.len() + bytes.len() > HASH_BUF {
            self.sha.update(&self.buf);
            self.buf.clear();
        }
        self.buf.extend_from_slice(bytes);
    }
}

/// Writes RFC 8785 canonical JSON of event JSON: members in UTF-16 order,
/// no whitespace, strings with the minimal escapes, integers as digits.
struct Writer<'s, S: Sink> {
    out: &'s mut S,
}

impl<S: Sink> Writer<'_, S> {
    fn value(&mut self, v: &Value) -> Result<(), Box<Fault>> {
        match v {
            Value::Null => self.out.put(b"null"),
            Value::Bool(true) => self.out.put(b"true"),
            Value::Bool(false) => self.out.put(b"false"),
            Value::Number(n) => self.number(n)?,
            Value::String(s) => self.string(s)?,
            Value::Array(items) => {
                self.out.put(b"[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.put(b",");
                    }
                    self.value(item).map_err(|f| f.at(i.to_string()))?;
                }
                self.out.put(b"]");
            }
            Value::Object(map) => self.object(map, None)?,
        }
        Ok(())
    }

    /// An object; `without` names a member left out (the event's `hash`).
    fn object(
        &mut self,
        map: &Map<String, Value>,
        without: Option<&str>,
    ) -> Result<(), Box<Fault>> {
        self.out.put(b"{");
        // A tree's members usually come in byte order already, which is
        // UTF-16 order unless two names first differ in non-ASCII bytes.
        let mut keys = map.keys();
        let ordered = keys.next().is_none_or(|first| {
            keys.try_fold(first, |prev, k| {
                utf16_cmp(prev.as_bytes(), k.as_bytes())
                    .is_lt()
                    .then_some(k)
            })
            .is_some()
        });
        if ordered {
            self.members(map.iter(), without)?;
        } else {
            let mut sorted: Vec<(&String, &Value)> = map.iter().collect();
            sorted.sort_by(|a, b| utf16_cmp(a.0.as_bytes(), b.0.as_bytes()));
            self.members(sorted.into_iter(), without)?;
        }
        self.out.put(b"}");
        Ok(())
    }

    fn members<'v>(
        &mut self,
        members: impl Iterator<Item = (&'v String, &'v Value)>,
        without: Option<&str>,
    ) -> Result<(), Box<Fault>> {
        let mut first = true;
        for (k, v) in members {
            if without == Some(k.as_str()) {
                continue;
            }
            if !first {
                self.out.put(b",");
            }
            first = false;
            self.string(k).map_err(|f| f.at(k.clone()))?;
            self.out.put(b":");
            self.value(v).map_err(|f| f.at(k.clone()))?;
        }
        Ok(())
    }

    fn number(&mut self, n: &Number) -> Result<(), Box<Fault>> {
        let fault = |kind: fn(String) -> Kind| Box::new(Fault::new(kind(n.to_string())));
        if let Some(u) = n.as_u64() {
            if u > MAX_SAFE_INTEGER {
                return Err(fault(Kind::OutOfRange));
            }
            self.out.put(itoa::Buffer::new().format(u).as_bytes());
        } else if let Some(i) = n.as_i64() {
            if i.unsigned_abs() > MAX_SAFE_INTEGER {
                return Err(fault(Kind::OutOfRange));
            }
            self.out.put(itoa::Buffer::new().format(i).as_bytes());
        } else {
            // A float: a fraction, an exponent, `-0`, or an integer too
            // long for 64 bits.
            let f = n.as_f64().unwrap_or(f64::NAN);
            let integral_but_large =
                f.is_finite() && f.fract() == 0.0 && f.abs() > MAX_SAFE_INTEGER as f64;
            return Err(fault(if integral_but_large {
                Kind::OutOfRange
            } else {
                Kind::NotInteger
            }));
        }
        Ok(())
    }

    fn string(&mut self, s: &str) -> Result<(), Box<Fault>> {
        self.out.put(b"\"");
        let b = s.as_bytes();
        let mut run = 0;
        let mut unicode = *b"\\u0000";
        for (i, &c) in b.iter().enumerate() {
            let escape: &[u8] = match c {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                0x20.. => continue,
                0 => return Err(Box::new(Fault::new(Kind::Nul))),
                0x08 => b"\\b",
                0x09 => b"\\t",
                0x0a => b"\\n",
                0x0c => b"\\f",
                0x0d => b"\\r",
                _ => {
                    let [.., hi, lo] = &mut unicode;
                    *hi = b'0' + (c >> 4);
                    *lo = hex_digit(c & 15);
                    &unicode
                }
            };
            self.out.put(b.get(run..i).unwrap_or_default());
            self.out.put(escape);
            run = i + 1;
        }
        self.out.put(b.get(run..).unwrap_or_default());
        self.out.put(b"\"");
        Ok(())
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

/// What a tree breaks, and where: reference tokens gathered innermost
/// first as the error travels out (only a failure pays for its pointer).
#[derive(Debug)]
struct Fault {
    kind: Kind,
    tokens: Vec<String>,
}

#[derive(Debug)]
enum Kind {
    NotInteger(String),
    OutOfRange(String),
    Nul,
}

impl Fault {
    fn new(kind: Kind) -> Self {
        Self {
            kind,
            tokens: Vec::new(),
        }
    }
}

trait At {
    fn at(self, token: String) -> Self;
}

impl At for Box<Fault> {
    fn at(mut self, token: String) -> Self {
        self.tokens.push(token);
        self
    }
}

impl Fault {
    fn into_error(self) -> FormatError {
        let pointer = readable_pointer(self.tokens.iter().rev().map(String::as_str));
        match self.kind {
            Kind::NotInteger(found) => FormatError::NotInteger { pointer, found },
            Kind::OutOfRange(found) => FormatError::OutOfRange { pointer, found },
            Kind::Nul => FormatError::Nul { pointer },
        }
    }
}

/// A JSON Pointer from its tokens, with control characters shown as
/// `\u00XX` so a message never carries them raw.
fn readable_pointer<'t>(tokens: impl Iterator<Item = &'t str>) -> String {
    let mut out = String::new();
    for t in tokens {
        out.push('/');
        for c in crate::pointer::escape_token(t).chars() {
            if c < ' ' {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            } else {
                out.push(c);
            }
        }
    }
    out
}

/// Where the parser is, for the pointer of a duplicate: a list linked
/// through the stack, turned into text only when a duplicate is found.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn pointer(&self, last: &str) -> String {
        let mut tokens = vec![last.to_owned()];
        let mut at = self;
        loop {
            match at {
                Path::Root => break,
                Path::Key(up, k) => {
                    tokens.push((*k).to_owned());
                    at = up;
                }
                Path::Index(up, i) => {
                    tokens.push(i.to_string());
                    at = up;
                }
            }
        }
        readable_pointer(tokens.iter().rev().map(String::as_str))
    }
}

/// What the parse noticed beside the tree.
#[derive(Default)]
struct Seen {
    duplicate: Cell<Option<String>>,
    seq: Cell<Option<u64>>,
}

/// Parses one JSON value into a [`Value`], refusing duplicate member names.
#[derive(Clone, Copy)]
struct Node<'a> {
    path: Path<'a>,
    seen: &'a Seen,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        // Finite: serde_json refuses numbers out of the f64 range.
        Ok(Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Node {
            path: Path::Index(&self.path, items.len()),
            seen: self.seen,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Node {
                path: Path::Key(&self.path, &key),
                seen: self.seen,
            })?;
            if matches!(self.path, Path::Root) && key == "seq" {
                self.seen.seq.set(value.as_u64());
            }
            match members.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(slot) => {
                    self.seen.duplicate.set(Some(self.path.pointer(slot.key())));
                    return Err(A::Error::custom("duplicate member name"));
                }
            }
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_named_twice_is_refused_at_any_depth() {
        for (text, pointer) in [
            (r#"{"a":1,"a":1}"#, "/a"),
            (r#"{"x":[0,{"b":{},"c":2,"b":{}}]}"#, "/x/1/b"),
            (r#"{"a/b~":{"é":1,"é":2}}"#, "/a~1b~0/é"),
            (r#"{"q\u0000":{"z":1,"z":1}}"#, "/q\\u0000/z"),
        ] {
            assert_eq!(
                parse(text.as_bytes()),
                Err(FormatError::Duplicate {
                    pointer: pointer.into()
                }),
                "{text}"
            );
        }
        // The same name in two objects is fine.
        assert!(parse(br#"{"a":{"a":1},"b":{"a":1}}"#).is_ok());
    }

    #[test]
    fn the_seq_read_before_a_duplicate_is_kept() {
        let (e, seq) = parse_noting_seq(br#"{"seq":7,"x":1,"x":2}"#).unwrap_err();
        assert!(matches!(e, FormatError::Duplicate { .. }));
        assert_eq!(seq, Some(7));
        let (e, seq) = parse_noting_seq(br#"{"seq":7,"x":"#).unwrap_err();
        assert!(matches!(e, FormatError::Syntax(_)));
        assert_eq!(seq, None);
    }

    #[test]
    fn not_json_is_syntax() {
        for text in ["", "{", "[1,]", r#"{"a":1} x"#, "\"\\ud800\""] {
            assert!(
                matches!(parse(text.as_bytes()), Err(FormatError::Syntax(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn numbers_are_integers_within_two_to_the_53() {
        let write = |text: &str| to_vec(&parse(text.as_bytes()).unwrap());
        for (text, canonical) in [
            ("[9007199254740991]", "[9007199254740991]"),
            ("[-9007199254740991]", "[-9007199254740991]"),
            ("[0, -1]", "[0,-1]"),
        ] {
            assert_eq!(write(text).unwrap(), canonical.as_bytes());
        }
        for (text, found) in [("[1.0]", "1.0"), ("[1e2]", "100.0"), ("[-0]", "-0.0")] {
            assert_eq!(
                write(text),
                Err(FormatError::NotInteger {
                    pointer: "/0".into(),
                    found: found.into()
                }),
                "{text}"
            );
        }
        for text in [
            "[9007199254740992]",
            "[-9007199254740992]",
            "[18446744073709551616]",
        ] {
            assert!(
                matches!(write(text), Err(FormatError::OutOfRange { .. })),
                "{text}"
            );
        }
    }

    #[test]
    fn u0000_is_refused_in_strings_and_names() {
        let write = |text: &str| to_vec(&parse(text.as_bytes()).unwrap());
        assert_eq!(
            write(r#"{"a":["x\u0000"]}"#),
            Err(FormatError::Nul {
                pointer: "/a/0".into()
            })
        );
        assert_eq!(
            write(r#"{"a\u0000b":1}"#),
            Err(FormatError::Nul {
                pointer: "/a\\u0000b".into()
            })
        );
        assert_eq!(
            write(r#"["\u0001\u001f"]"#).unwrap(),
            br#"["\u0001\u001f"]"#
        );
    }

    #[test]
    fn hashes_what_it_would_write_without_the_named_member() {
        let v = parse(
            br#"{"z":"\u00e9\n\"","hash":"x","a":[1,{"b":null}],"\ue000":1,"\ud83d\ude00":2}"#,
        )
        .unwrap();
        let Value::Object(map) = &v else {
            panic!("an object")
        };
        let mut without = map.clone();
        without.remove("hash");
        let text = to_vec(&Value::Object(without)).unwrap();
        assert_eq!(
            String::from_utf8(text.clone()).unwrap(),
            "{\"a\":[1,{\"b\":null}],\"z\":\"é\\n\\\"\",\"😀\":2,\"\u{e000}\":1}"
        );
        assert_eq!(hash_object(map, "hash").unwrap(), Digest::of(&text));
        // Longer than the hasher's buffer.
        let long = Value::from(vec![Value::from("é".repeat(3000)); 5]);
        let Value::Object(map) = serde_json::json!({ "long": long }) else {
            panic!("an object")
        };
        let text = to_vec(&Value::Object(map.clone())).unwrap();
        assert_eq!(hash_object(&map, "hash").unwrap(), Digest::of(&text));
    }
}
