//! One event alone, whether it was read into a tree or into a tape: the
//! members the rules need, the required shape, and the recomputed hash.
//! The same checks, in the same order, with the same words, for both.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{Failure, Inspected, Rule};
use crate::canon::strict::FormatError;
use crate::canon::tape::{Field, Tape};
use crate::chain::hash_event;
use crate::{Digest, Timestamp};

/// What [`inspect`] reads of an event.
pub(super) trait Members {
    /// Whether the event is a JSON object at all.
    fn is_object(&self) -> bool;
    /// The member at `path`, names from the top down.
    fn field(&self, path: &[&str]) -> Field<'_>;
    /// A member named twice (only text can show one).
    fn duplicate(&self) -> Option<FormatError>;
    /// `hash(event)`, or why the event has none.
    fn hash(&self) -> Result<Digest, FormatError>;
}

impl Members for Map<String, Value> {
    fn is_object(&self) -> bool {
        true
    }

    fn field(&self, path: &[&str]) -> Field<'_> {
        let mut at: Option<&Value> = None;
        for name in path {
            let object = match at {
                None => Some(self),
                Some(v) => v.as_object(),
            };
            match object.and_then(|o| o.get(*name)) {
                Some(v) => at = Some(v),
                None => return Field::Missing,
            }
        }
        match at {
            Some(Value::String(s)) => Field::Str(Cow::Borrowed(s)),
            Some(Value::Number(n)) => n.as_u64().map_or(Field::Other, Field::Uint),
            Some(Value::Object(_)) => Field::Object,
            Some(_) => Field::Other,
            None => Field::Object,
        }
    }

    fn duplicate(&self) -> Option<FormatError> {
        None
    }

    fn hash(&self) -> Result<Digest, FormatError> {
        hash_event(self)
    }
}

impl Members for Tape<'_> {
    fn is_object(&self) -> bool {
        Tape::is_object(self)
    }

    fn field(&self, path: &[&str]) -> Field<'_> {
        Tape::field(self, path)
    }

    fn duplicate(&self) -> Option<FormatError> {
        Tape::duplicate(self)
    }

    fn hash(&self) -> Result<Digest, FormatError> {
        match self.fault() {
            Some(e) => Err(e),
            None => Ok(self.hash_object("hash")),
        }
    }
}

/// An event that is not an object: nothing to read.
pub(super) struct NotAnObject;

impl Members for NotAnObject {
    fn is_object(&self) -> bool {
        false
    }

    fn field(&self, _: &[&str]) -> Field<'_> {
        Field::Missing
    }

    fn duplicate(&self) -> Option<FormatError> {
        None
    }

    fn hash(&self) -> Result<Digest, FormatError> {
        Err(FormatError::Syntax("not a JSON object".into()))
    }
}

/// Looks at one event alone: an object with the required members of the
/// right types, within the strict profile, and its recomputed hash.
pub(super) fn inspect(event: &impl Members, position: u64) -> Result<Inspected, Failure> {
    let fail = |seq: Option<u64>, detail: String| Failure {
        seq,
        position,
        rule: Rule::Format,
        detail,
    };
    if !event.is_object() {
        return Err(fail(None, "not a JSON object".into()));
    }
    let seq_written = match event.field(&["seq"]) {
        Field::Uint(n) => Some(n),
        _ => None,
    };
    let format = |detail: String| fail(seq_written, detail);
    if let Some(e) = event.duplicate() {
        return Err(format(e.to_string()));
    }
    let string = |name: &str| -> Result<String, Failure> {
        match event.field(&[name]) {
            Field::Str(s) => Ok(s.into_owned()),
            _ => Err(format(format!(
                "member `{name}` is missing or not a string"
            ))),
        }
    };
    let v = match event.field(&["v"]) {
        Field::Uint(n) => n,
        _ => {
            return Err(format(
                "member `v` is missing or not a non-negative integer".into(),
            ))
        }
    };
    let seq = seq_written
        .ok_or_else(|| format("member `seq` is missing or not a non-negative integer".into()))?;
    let chain = string("chain")?;
    let prev = string("prev")?;
    let hash = string("hash")?;
    let ts_text = string("ts")?;
    let ts = Timestamp::parse(&ts_text).map_err(|e| format(format!("member `ts`: {e}")))?;
    required_shape(event).map_err(format)?;
    let computed = event.hash().map_err(|e| format(e.to_string()))?;
    Ok(Inspected {
        v,
        chain,
        seq,
        ts,
        prev,
        hash,
        computed,
    })
}

/// The spec's required members beyond the chain ones: `actor` (with `id` and
/// `role`), `action`, and `outcome` from its four values.
fn required_shape(event: &impl Members) -> Result<(), String> {
    if event.field(&["actor"]) != Field::Object {
        return Err("member `actor` is missing or not an object".into());
    }
    for m in ["id", "role"] {
        if !matches!(event.field(&["actor", m]), Field::Str(_)) {
            return Err(format!("member `actor.{m}` is missing or not a string"));
        }
    }
    if !matches!(event.field(&["action"]), Field::Str(_)) {
        return Err("member `action` is missing or not a string".into());
    }
    match event.field(&["outcome"]) {
        Field::Str(s) if matches!(&*s, "success" | "denied" | "cancelled" | "error") => Ok(()),
        _ => Err("member `outcome` is not one of success, denied, cancelled, error".into()),
    }
}
