//! Typed values read by hand from JSON values, with serde's own errors.
//!
//! The derived `Deserialize` of a struct compiles a visitor, a field
//! identifier and a map loop per struct, generic over the deserializer
//! (about 80 KB of the shipped `.wasm` for the policy model alone). These
//! helpers read a `serde_json::Value` with one small function per struct
//! and build serde's own errors (`missing field`, `unknown field ...
//! expected one of`, `invalid type: ..., expected ...`) in the order the
//! derived code meets them, so the messages and JSON Pointers
//! [`crate::located`] gives stay the same. A reader written with them is
//! tested against the derived one it replaces.

use std::collections::BTreeMap;

use serde::de::{Error as _, Unexpected};
use serde_json::{Map, Value};

pub(crate) use crate::located::Path;
use crate::Timestamp;

/// What a struct's value must be, in serde's words for a struct with
/// `expecting = "an object"`.
pub(crate) const OBJECT: &str = "an object";

pub(crate) type Error = serde_json::Error;

/// What went wrong and where: serde's message, worded for JSON by
/// [`crate::located::message`] at the top.
pub(crate) struct Failed {
    pointer: String,
    error: Error,
}

impl Failed {
    /// The JSON Pointer and the message in JSON's words, as
    /// [`crate::located::from_value`] gives them.
    pub(crate) fn located(self) -> (String, String) {
        crate::located::message(self.pointer, &self.error.to_string())
    }
}

pub(crate) type R<T> = Result<T, Failed>;

pub(crate) fn fail<T>(at: &Path<'_>, error: Error) -> R<T> {
    Err(Failed {
        pointer: at.pointer(),
        error,
    })
}

/// The value's kind as serde names it in an "invalid type" message.
fn unexpected(v: &Value) -> Unexpected<'_> {
    crate::located::unexpected(v)
}

pub(crate) fn string(v: &Value, at: &Path<'_>) -> R<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => fail(at, Error::invalid_type(unexpected(other), &"a string")),
    }
}

pub(crate) fn boolean(v: &Value, at: &Path<'_>) -> R<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => fail(at, Error::invalid_type(unexpected(other), &"a boolean")),
    }
}

pub(crate) fn uint(v: &Value, at: &Path<'_>) -> R<u32> {
    let n = match v {
        Value::Number(n) => n,
        other => return fail(at, Error::invalid_type(unexpected(other), &"u32")),
    };
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => match u32::try_from(u) {
            Ok(u) => Ok(u),
            Err(_) => fail(at, Error::invalid_value(Unexpected::Unsigned(u), &"u32")),
        },
        (None, Some(i)) => fail(at, Error::invalid_value(Unexpected::Signed(i), &"u32")),
        (None, None) => fail(at, Error::invalid_type(unexpected(v), &"u32")),
    }
}

pub(crate) fn timestamp(v: &Value, at: &Path<'_>) -> R<Timestamp> {
    let s = string(v, at)?;
    Timestamp::parse(&s).or_else(|e| fail(at, Error::custom(e)))
}

/// Any value, kept as written (conditions, defaults, tests).
pub(crate) fn any(v: &Value, _at: &Path<'_>) -> R<Value> {
    Ok(v.clone())
}

/// `null` as absent, as serde reads an `Option`.
pub(crate) fn opt<T>(
    v: &Value,
    at: &Path<'_>,
    read: fn(&Value, &Path<'_>) -> R<T>,
) -> R<Option<T>> {
    match v {
        Value::Null => Ok(None),
        v => read(v, at).map(Some),
    }
}

pub(crate) fn list<T>(v: &Value, at: &Path<'_>, read: fn(&Value, &Path<'_>) -> R<T>) -> R<Vec<T>> {
    let items = match v {
        Value::Array(items) => items,
        other => return fail(at, Error::invalid_type(unexpected(other), &"a sequence")),
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, x) in items.iter().enumerate() {
        out.push(read(x, &Path::Index(at, i))?);
    }
    Ok(out)
}

pub(crate) fn map<T>(
    v: &Value,
    at: &Path<'_>,
    read: fn(&Value, &Path<'_>) -> R<T>,
) -> R<BTreeMap<String, T>> {
    let members = match v {
        Value::Object(members) => members,
        other => return fail(at, Error::invalid_type(unexpected(other), &"a map")),
    };
    let mut out = BTreeMap::new();
    for (k, x) in members {
        out.insert(k.clone(), read(x, &Path::Key(at, k))?);
    }
    Ok(out)
}

/// The members of a struct's object, each handed to `each` with its index
/// in `fields` (the names serde's derived code knows, in declaration
/// order); an unknown member is refused where serde refuses it.
pub(crate) fn object(
    v: &Value,
    at: &Path<'_>,
    expecting: &str,
    fields: &'static [&'static str],
    each: &mut dyn FnMut(usize, &Value, &Path<'_>) -> R<()>,
) -> R<()> {
    let members: &Map<String, Value> = match v {
        Value::Object(members) => members,
        other => return fail(at, Error::invalid_type(unexpected(other), &expecting)),
    };
    for (k, x) in members {
        let here = Path::Key(at, k);
        match fields.iter().position(|f| f == k) {
            Some(i) => each(i, x, &here)?,
            None => return fail(&here, Error::unknown_field(k, fields)),
        }
    }
    Ok(())
}

/// A member without a default, once every member was read.
pub(crate) fn required<T>(v: Option<T>, at: &Path<'_>, name: &'static str) -> R<T> {
    match v {
        Some(v) => Ok(v),
        None => fail(at, Error::missing_field(name)),
    }
}

/// A unit variant, written as its name (or, as serde also reads it, as an
/// object with its name as the only member and `null` as its value).
pub(crate) fn variant<T: Copy>(
    v: &Value,
    at: &Path<'_>,
    names: &'static [&'static str],
    values: &[T],
) -> R<T> {
    let pick = |name: &str| {
        names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| values.get(i).copied())
            .ok_or_else(|| Error::unknown_variant(name, names))
    };
    match v {
        Value::String(s) => pick(s).or_else(|e| fail(at, e)),
        Value::Object(members) if members.len() == 1 => {
            let Some((name, inner)) = members.iter().next() else {
                return fail(at, Error::custom("an object with a single key"));
            };
            let chosen = pick(name).or_else(|e| fail(at, e))?;
            match inner {
                Value::Null => Ok(chosen),
                other => fail(
                    &Path::Key(at, name),
                    Error::invalid_type(unexpected(other), &"unit variant"),
                ),
            }
        }
        Value::Object(_) => fail(
            at,
            Error::invalid_value(Unexpected::Map, &"an object with a single key"),
        ),
        other => fail(at, Error::invalid_type(unexpected(other), &"string or map")),
    }
}
