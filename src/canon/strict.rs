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
//! [`parse`] reads text under every rule (the only place a name given twice
//! can still be seen); [`to_vec`], [`to_string`] and [`hash_object`] write a
//! tree's canonical form and check the other rules as they go, the last one
//! straight into SHA-256 without building the text first.

use serde_json::{Map, Number, Value};

use super::sink::{self, HashSink, Sink};
use super::tape::{Field, Tape};
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

/// Parses `text` as event JSON: [`FormatError::Syntax`] for anything that
/// is not JSON, else the first breach of the profile found (a member named
/// twice first), else the tree.
pub fn parse(text: &[u8]) -> Result<Value, FormatError> {
    parse_noting_seq(text).map_err(|(e, _)| e)
}

/// [`parse`], also returning on failure the top-level `seq` (when the text
/// is JSON and has one), so a verifier can say which event broke the rule.
pub(crate) fn parse_noting_seq(text: &[u8]) -> Result<Value, (FormatError, Option<u64>)> {
    let tape = Tape::parse(text).map_err(|e| (e, None))?;
    match tape.duplicate().or_else(|| tape.fault()) {
        Some(e) => {
            let seq = match tape.field(&["seq"]) {
                Field::Uint(n) => Some(n),
                _ => None,
            };
            Err((e, seq))
        }
        None => Ok(tape.to_value()),
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
    let mut sink = HashSink::new();
    Writer { out: &mut sink }
        .object(members, Some(without))
        .map_err(|f| (*f).into_error())?;
    Ok(sink.finish())
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
            self.members(in_utf16_order(map).into_iter(), without)?;
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
        if sink::string(self.out, s) {
            Ok(())
        } else {
            Err(Box::new(Fault::new(Kind::Nul)))
        }
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

/// An object's members in UTF-16 order of their names: outside the
/// writer, so the sort is compiled once rather than once per sink.
fn in_utf16_order(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut sorted: Vec<(&String, &Value)> = map.iter().collect();
    sorted.sort_by(|a, b| utf16_cmp(a.0.as_bytes(), b.0.as_bytes()));
    sorted
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
pub(super) fn readable_pointer<'t>(tokens: impl Iterator<Item = &'t str>) -> String {
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
    fn a_breach_still_reports_the_seq() {
        for text in [
            r#"{"seq":7,"x":1,"x":2}"#,
            r#"{"x":1,"x":2,"seq":7}"#,
            r#"{"x":1.5,"seq":7}"#,
            r#"{"seq":7,"x":"\u0000"}"#,
        ] {
            let (e, seq) = parse_noting_seq(text.as_bytes()).unwrap_err();
            assert!(!matches!(e, FormatError::Syntax(_)), "{text}");
            assert_eq!(seq, Some(7), "{text}");
        }
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
        for (text, canonical) in [
            ("[9007199254740991]", "[9007199254740991]"),
            ("[-9007199254740991]", "[-9007199254740991]"),
            ("[0, -1]", "[0,-1]"),
        ] {
            assert_eq!(
                to_vec(&parse(text.as_bytes()).unwrap()).unwrap(),
                canonical.as_bytes()
            );
        }
        // Read from text, the number is named as written.
        for text in ["1.0", "1e2", "-0", "-0.0", "1E400"] {
            assert_eq!(
                parse(format!("[{text}]").as_bytes()),
                Err(FormatError::NotInteger {
                    pointer: "/0".into(),
                    found: text.into()
                }),
                "{text}"
            );
        }
        for text in [
            "9007199254740992",
            "-9007199254740992",
            "18446744073709551616",
        ] {
            assert!(
                matches!(
                    parse(format!("[{text}]").as_bytes()),
                    Err(FormatError::OutOfRange { .. })
                ),
                "{text}"
            );
        }
        // Written from a tree, likewise.
        let tree = |v: serde_json::Value| to_vec(&v);
        assert_eq!(
            tree(serde_json::json!([1.5])),
            Err(FormatError::NotInteger {
                pointer: "/0".into(),
                found: "1.5".into()
            })
        );
        assert!(matches!(
            tree(serde_json::json!({"a": [9_007_199_254_740_992_u64]})),
            Err(FormatError::OutOfRange { pointer, .. }) if pointer == "/a/0"
        ));
        assert!(matches!(
            tree(serde_json::json!([-9_007_199_254_740_992_i64])),
            Err(FormatError::OutOfRange { .. })
        ));
    }

    #[test]
    fn u0000_is_refused_in_strings_and_names() {
        assert_eq!(
            parse(br#"{"a":["x\u0000"]}"#),
            Err(FormatError::Nul {
                pointer: "/a/0".into()
            })
        );
        assert_eq!(
            parse(br#"{"a\u0000b":1}"#),
            Err(FormatError::Nul {
                pointer: "/a\\u0000b".into()
            })
        );
        assert_eq!(
            to_vec(&serde_json::json!({"a": ["x\u{0}"]})),
            Err(FormatError::Nul {
                pointer: "/a/0".into()
            })
        );
        assert_eq!(
            to_vec(&serde_json::json!({"a\u{0}b": 1})),
            Err(FormatError::Nul {
                pointer: "/a\\u0000b".into()
            })
        );
        assert_eq!(
            to_vec(&parse(br#"["\u0001\u001f"]"#).unwrap()).unwrap(),
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
