//! Typed values read from JSON values, with an error naming the offending
//! member as a JSON Pointer.
//!
//! One small deserializer over `&Value` that knows where it is, so each
//! type it reads is compiled once, against it. (`serde_path_to_error`, used
//! before, wraps every visitor and seed of every type a second time: about
//! a tenth of the shipped `.wasm`.) Values are handed to visitors exactly as
//! serde_json's own `&Value` deserializer hands them, so the messages are
//! serde's own, reworded for people who think in JSON by [`message`].

use std::cell::RefCell;

use serde::de::value::StrDeserializer;
use serde::de::{
    DeserializeOwned, DeserializeSeed, EnumAccess, Error as _, IntoDeserializer, MapAccess,
    SeqAccess, Unexpected, VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Number, Value};

use crate::pointer;

type Error = serde_json::Error;

/// `value` read as `T`, or the JSON Pointer of what is wrong (from the top
/// of `value`) and what is wrong with it.
pub(crate) fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, (String, String)> {
    let found = RefCell::new(None);
    T::deserialize(At {
        value,
        path: Path::Root,
        found: &found,
    })
    .map_err(|e| message(found.take().unwrap_or_default(), &e.to_string()))
}

/// `value` read as `T`, with serde's own error and no place: for a reader
/// that names the place itself (a host action's members).
pub(crate) fn read<T: DeserializeOwned>(value: &Value) -> Result<T, Error> {
    let found = RefCell::new(None);
    T::deserialize(At {
        value,
        path: Path::Root,
        found: &found,
    })
}

/// serde's message in JSON's words, and the pointer of an unknown member
/// (reported at its object) moved onto the member.
pub(crate) fn message(mut pointer: String, raw: &str) -> (String, String) {
    let mut message = reword(raw);
    if let Some(name) = unknown_field_name(raw) {
        let tail = format!("/{}", pointer::escape_token(&name));
        if !pointer.ends_with(&tail) {
            pointer.push_str(&tail);
        }
        message = message.replacen("unknown field", "unknown member", 1);
    }
    (pointer, message)
}

/// serde's words for Rust types in JSON's words. Only serde's own text is
/// reworded: input it quotes (member names in backticks, strings in double
/// quotes) is kept as found (found by fuzzing `session_parse`: a member
/// named `a map...` was renamed `an object...` and pointed at nothing).
fn reword(raw: &str) -> String {
    const WORDS: [(&str, &str); 5] = [
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected u64", "expected a whole number"),
        ("a sequence", "an array"),
        ("a map", "an object"),
        ("unit value", "null"),
    ];
    let plain = |t: String| WORDS.iter().fold(t, |t, (from, to)| t.replace(from, to));
    let mut out = String::with_capacity(raw.len());
    let mut text = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        let close = match c {
            '`' | '"' => c,
            _ => {
                text.push(c);
                continue;
            }
        };
        out.push_str(&plain(std::mem::take(&mut text)));
        out.push(c);
        // Quoted input, up to its closing mark (strings escape theirs with `\`).
        while let Some(q) = chars.next() {
            out.push(q);
            if q == '\\' && close == '"' {
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            } else if q == close {
                break;
            }
        }
    }
    out.push_str(&plain(text));
    out
}

/// The member name in serde's "unknown field `x`, expected ..." message
/// (the last such mark ends it: the name itself may hold one).
fn unknown_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let end = rest.rfind("`, expected").or_else(|| rest.rfind('`'))?;
    rest.get(..end).map(str::to_owned)
}

/// Where the deserializer is: a list linked through the stack, written out
/// only when something fails.
#[derive(Clone, Copy)]
pub(crate) enum Path<'p> {
    Root,
    Key(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl Path<'_> {
    pub(crate) fn pointer(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Key(up, k) => pointer::push(&up.pointer(), k),
            Path::Index(up, i) => format!("{}/{i}", up.pointer()),
        }
    }
}

/// A value and where it is. The first (innermost) failure notes its
/// place in `found`.
#[derive(Clone, Copy)]
struct At<'de, 'p> {
    value: &'de Value,
    path: Path<'p>,
    found: &'p RefCell<Option<String>>,
}

impl At<'_, '_> {
    fn note<T>(&self, r: Result<T, Error>) -> Result<T, Error> {
        if r.is_err() {
            let mut found = self.found.borrow_mut();
            if found.is_none() {
                *found = Some(self.path.pointer());
            }
        }
        r
    }
}

/// The value's kind as serde names it in an "invalid type" message.
pub(crate) fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Unexpected::Unsigned(u),
            (None, Some(i), _) => Unexpected::Signed(i),
            (None, None, f) => Unexpected::Float(f.unwrap_or_default()),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

fn number<'de, V: Visitor<'de>>(n: &Number, visitor: V) -> Result<V::Value, Error> {
    match (n.as_u64(), n.as_i64(), n.as_f64()) {
        (Some(u), _, _) => visitor.visit_u64(u),
        (None, Some(i), _) => visitor.visit_i64(i),
        (None, None, f) => visitor.visit_f64(f.unwrap_or_default()),
    }
}

impl<'de, 'p> serde::Deserializer<'de> for At<'de, 'p> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let r = match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => number(n, visitor),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => self.seq(items, visitor),
            Value::Object(members) => self.map(members, visitor),
        };
        self.note(r)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => self.note(visitor.visit_none()),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let r = match self.value {
            Value::String(s) => {
                let unit: StrDeserializer<'_, Error> = s.as_str().into_deserializer();
                visitor.visit_enum(unit)
            }
            Value::Object(members) if members.len() == 1 => {
                visitor.visit_enum(Variant { members, at: self })
            }
            Value::Object(_) => Err(Error::invalid_value(
                Unexpected::Map,
                &"an object with a single key",
            )),
            other => Err(Error::invalid_type(unexpected(other), &"string or map")),
        };
        self.note(r)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    // A type that asks for one kind of value gets only that kind: a struct
    // or map only an object, a list only an array, a string only a string.
    // The refusal is the one the visitor's own default would give, but the
    // visitor's other entry points (a struct read from an array, each
    // "invalid type" answer) are never compiled for it: -63 KB raw, -13 KB
    // gzipped in the `.wasm`. (A struct from an array, which serde allows,
    // is refused, as the policy's own check already did.)

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let r = match self.value {
            Value::Object(members) => self.map(members, visitor),
            other => Err(Error::invalid_type(unexpected(other), &visitor)),
        };
        self.note(r)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let r = match self.value {
            Value::Array(items) => self.seq(items, visitor),
            other => Err(Error::invalid_type(unexpected(other), &visitor)),
        };
        self.note(r)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let r = match self.value {
            Value::String(s) => visitor.visit_borrowed_str(s),
            other => Err(Error::invalid_type(unexpected(other), &visitor)),
        };
        self.note(r)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let r = match self.value {
            Value::Bool(b) => visitor.visit_bool(*b),
            other => Err(Error::invalid_type(unexpected(other), &visitor)),
        };
        self.note(r)
    }

    forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char
        bytes byte_buf unit unit_struct tuple tuple_struct identifier
    }
}

impl<'de> At<'de, '_> {
    fn seq<V: Visitor<'de>>(&self, items: &'de [Value], visitor: V) -> Result<V::Value, Error> {
        let mut access = Items {
            items: items.iter().enumerate(),
            at: self,
        };
        let out = visitor.visit_seq(&mut access)?;
        match access.items.len() {
            0 => Ok(out),
            _ => Err(Error::invalid_length(
                items.len(),
                &"fewer elements in array",
            )),
        }
    }

    fn map<V: Visitor<'de>>(
        &self,
        members: &'de Map<String, Value>,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let mut access = Members {
            members: members.iter(),
            next: None,
            at: self,
        };
        let out = visitor.visit_map(&mut access)?;
        match access.members.len() {
            0 => Ok(out),
            _ => Err(Error::invalid_length(
                members.len(),
                &"fewer elements in map",
            )),
        }
    }
}

struct Items<'de, 'p, 'r> {
    items: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
    at: &'r At<'de, 'p>,
}

impl<'de> SeqAccess<'de> for Items<'de, '_, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let Some((i, value)) = self.items.next() else {
            return Ok(None);
        };
        let at = At {
            value,
            path: Path::Index(&self.at.path, i),
            found: self.at.found,
        };
        at.note(seed.deserialize(at)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Members<'de, 'p, 'r> {
    members: serde_json::map::Iter<'de>,
    next: Option<(&'de String, &'de Value)>,
    at: &'r At<'de, 'p>,
}

impl<'de> MapAccess<'de> for Members<'de, '_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((name, value)) = self.members.next() else {
            return Ok(None);
        };
        self.next = Some((name, value));
        let key: StrDeserializer<'_, Error> = name.as_str().into_deserializer();
        let r = seed.deserialize(key);
        let at = At {
            value,
            path: Path::Key(&self.at.path, name),
            found: self.at.found,
        };
        at.note(r).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        let Some((name, value)) = self.next.take() else {
            return Err(Error::custom("a value was asked for before its key"));
        };
        let at = At {
            value,
            path: Path::Key(&self.at.path, name),
            found: self.at.found,
        };
        at.note(seed.deserialize(at))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}

/// An externally tagged enum variant: `{"variant": value}`.
struct Variant<'de, 'p> {
    members: &'de Map<String, Value>,
    at: At<'de, 'p>,
}

impl<'de, 'p> EnumAccess<'de> for Variant<'de, 'p> {
    type Error = Error;
    type Variant = VariantValue<'de, 'p>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantValue<'de, 'p>), Error> {
        let Some((name, value)) = self.members.iter().next() else {
            return Err(Error::invalid_value(
                Unexpected::Map,
                &"an object with a single key",
            ));
        };
        let key: StrDeserializer<'_, Error> = name.as_str().into_deserializer();
        let variant = seed.deserialize(key)?;
        Ok((
            variant,
            VariantValue {
                value,
                name,
                at: self.at,
            },
        ))
    }
}

/// The value of an externally tagged variant, found under the variant's name.
struct VariantValue<'de, 'p> {
    value: &'de Value,
    name: &'de str,
    at: At<'de, 'p>,
}

impl<'de> VariantValue<'de, '_> {
    fn read<T>(self, f: impl FnOnce(At<'de, '_>) -> Result<T, Error>) -> Result<T, Error> {
        let at = At {
            value: self.value,
            path: Path::Key(&self.at.path, self.name),
            found: self.at.found,
        };
        at.note(f(at))
    }
}

impl<'de> VariantAccess<'de> for VariantValue<'de, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        self.read(|at| match at.value {
            Value::Null => Ok(()),
            other => Err(Error::invalid_type(unexpected(other), &"unit variant")),
        })
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        self.read(|at| seed.deserialize(at))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.read(|at| serde::Deserializer::deserialize_any(at, visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.read(|at| serde::Deserializer::deserialize_any(at, visitor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Doc {
        name: String,
        #[serde(default)]
        limit: Option<u32>,
        items: Vec<Item>,
        #[serde(default)]
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Item {
        id: u64,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    enum Kind {
        Plain,
        Sized(u32),
    }

    fn read(v: Value) -> Result<Doc, (String, String)> {
        from_value(&v)
    }

    #[test]
    fn reads_what_serde_json_reads() {
        let v = json!({"name": "a", "limit": 3, "items": [{"id": 1}], "kind": {"sized": 2}});
        assert_eq!(
            read(v.clone()).unwrap(),
            serde_json::from_value::<Doc>(v).unwrap()
        );
        let v = json!({"name": "a", "limit": null, "items": [], "kind": "plain"});
        assert_eq!(
            read(v.clone()).unwrap(),
            serde_json::from_value::<Doc>(v).unwrap()
        );
    }

    #[test]
    fn errors_name_the_member() {
        let err = |v: Value| read(v).unwrap_err();
        assert_eq!(
            err(json!({"name": "a", "items": [{"id": 1}, {"id": "x"}]})),
            (
                "/items/1/id".into(),
                "invalid type: string \"x\", expected a whole number".into()
            )
        );
        assert_eq!(
            err(json!({"name": "a", "items": [{}]})),
            ("/items/0".into(), "missing field `id`".into())
        );
        assert_eq!(
            err(json!({"name": "a", "items": [], "extra/x": 1})).0,
            "/extra~1x"
        );
        assert_eq!(
            err(json!({"name": "a", "items": [], "limit": -1})),
            (
                "/limit".into(),
                "invalid value: integer `-1`, expected a whole number from 0 to 4294967295".into()
            )
        );
        assert_eq!(
            err(json!({"name": "a", "items": [], "kind": {"sized": "x"}})).0,
            "/kind/sized"
        );
        assert_eq!(
            err(json!({"name": "a", "items": [], "kind": "other"})).0,
            "/kind"
        );
        assert_eq!(
            err(json!({"name": 1, "items": []})),
            (
                "/name".into(),
                "invalid type: integer `1`, expected a string".into()
            )
        );
        assert_eq!(err(json!([])).0, "");
        // Each type takes only its own kind of value: no struct from an array.
        assert_eq!(
            err(json!({"name": "a", "items": [["x"]]})),
            (
                "/items/0".into(),
                "invalid type: sequence, expected struct Item".into()
            )
        );
        assert_eq!(
            err(json!({"name": "a", "items": {"id": 1}})),
            (
                "/items".into(),
                "invalid type: map, expected an array".into()
            )
        );
        assert_eq!(
            err(json!({"name": true, "items": []})),
            (
                "/name".into(),
                "invalid type: boolean `true`, expected a string".into()
            )
        );
    }
}
