//! The first phase of ingest, outside any lock: the body parsed as a batch,
//! each event canonicalized and inspected alone by the core (shape and
//! recomputed hash: the CPU-heavy part, run for many chains at once), checked
//! to belong to the chain it was posted to, and the columns the review APIs
//! search by taken out of it.

use serde::Deserialize;
use serde_json::Value;

use sealtrail::canon::strict::{self, FormatError};
use sealtrail::event::ChainId;
use sealtrail::event::Event;
use sealtrail::guarantees::Guarantees;

use super::decide::Uploaded;
use super::IngestError;
use crate::store::events::Columns;

/// The limits of a batch's shape (`docs/protocol.md`, "Limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Most events in one batch.
    pub max_events: usize,
    /// Most bytes of one string, or member name, inside an event.
    pub max_string_bytes: usize,
}

/// A parsed, inspected batch: four lists of the same length, in upload order.
pub struct Batch {
    /// Each event as the alert rules read it (none if the core's event type
    /// does not take it: the rules skip it, ingest does not).
    pub events: Vec<Option<Event>>,
    /// The core's view of each and its canonical line.
    pub uploaded: Vec<Uploaded>,
    /// The searchable columns of each.
    pub columns: Vec<Columns>,
    /// The `session.id` of each (what a credential's `sid` must be).
    pub sessions: Vec<String>,
    /// Where the batch came from (see [`crate::request`]).
    pub peer_ip: Option<String>,
    /// What the uploading browser promised about keeping events until
    /// upload (`guarantees` of the body; none from an older client).
    pub guarantees: Option<Guarantees>,
}

impl Batch {
    /// Parses and inspects `{"events": [...]}` posted to `chain`; `400` for
    /// anything else, and for an event of another chain (which says nothing
    /// about `chain`, so it marks nothing).
    pub fn parse(
        chain: &ChainId,
        body: &[u8],
        peer_ip: Option<String>,
        shape: Shape,
    ) -> Result<Self, IngestError> {
        let (values, guarantees) = events_of(body)?;
        let n = values.len();
        if n > shape.max_events {
            return Err(IngestError::TooLarge(format!(
                "the batch holds {n} events; this collector takes at most {} in one batch (`max-batch-events`): send smaller batches",
                shape.max_events
            )));
        }
        for (i, ev) in values.iter().enumerate() {
            if let Some((pointer, len)) =
                long_string(ev, &format!("/events/{i}"), shape.max_string_bytes)
            {
                return Err(IngestError::TooLarge(format!(
                    "`{pointer}` is {len} bytes; this collector takes strings of at most {} bytes (`max-string-bytes`)",
                    shape.max_string_bytes
                )));
            }
        }
        let (mut events, mut uploaded, mut columns, mut sessions) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for (i, ev) in values.iter().enumerate() {
            let u = inspect(ev, i)?;
            if u.ins.chain != chain.as_str() {
                return Err(IngestError::BadRequest(format!(
                    "`/events/{i}/chain`: expected `{chain}` (the chain posted to), found `{}`",
                    u.ins.chain
                )));
            }
            uploaded.push(u);
            columns.push(columns_of(ev));
            // Missing: empty, which no credential's `sid` is.
            sessions.push(text(ev, "/session/id").unwrap_or_default());
            events.push(Event::deserialize(ev).ok());
        }
        Ok(Self {
            events,
            uploaded,
            columns,
            sessions,
            peer_ip,
            guarantees,
        })
    }
}

/// The events of a body `{"events": [...], "guarantees"?: {...}}`, read
/// strictly: a member named twice anywhere is refused under the `format`
/// rule, as every verifier refuses it, rather than silently keeping one of
/// the two.
fn events_of(body: &[u8]) -> Result<(Vec<Value>, Option<Guarantees>), IngestError> {
    let shape = "the body is not a batch of events `{\"events\": [...]}`";
    let mut body = match strict::parse(body) {
        Ok(Value::Object(body)) => body,
        Ok(_) => return Err(IngestError::BadRequest(format!("{shape}: not an object"))),
        Err(e @ FormatError::Syntax(_)) => {
            return Err(IngestError::BadRequest(format!("{shape}: {e}")))
        }
        Err(e) => {
            return Err(IngestError::Rule {
                rule: "format".into(),
                message: format!("the body breaks the `format` rule: {e}"),
            })
        }
    };
    let guarantees = match body.remove("guarantees") {
        None => None,
        Some(v) => Some(Guarantees::deserialize(v).map_err(|e| {
            IngestError::BadRequest(format!(
                "`/guarantees`: expected {{\"durability\": \"strict\" or \"bestEffort\", \"storage\": \"persistent\" or \"evictable\"}}: {e}"
            ))
        })?),
    };
    match body.remove("events") {
        Some(Value::Array(events)) if !events.is_empty() => Ok((events, guarantees)),
        Some(Value::Array(_)) => Err(IngestError::BadRequest(
            "the batch `/events` holds no events".into(),
        )),
        _ => Err(IngestError::BadRequest(format!(
            "{shape}: `/events` is missing or not an array"
        ))),
    }
}

/// The canonical line is what is stored; the core inspects it on its fast
/// path for canonical text (one canonicalization per event). Writing it
/// checks the strict profile (integers within ±(2^53-1), no U+0000).
fn inspect(ev: &Value, i: usize) -> Result<Uploaded, IngestError> {
    let position = u64::try_from(i).unwrap_or(u64::MAX);
    let line = strict::to_string(ev).map_err(|e| IngestError::Rule {
        rule: "format".into(),
        message: format!("`/events/{i}` breaks the `format` rule: {e}"),
    })?;
    let ins = sealtrail::verify::inspect_line(line.as_bytes(), position).map_err(|f| {
        IngestError::Rule {
            rule: f.rule.as_str().to_owned(),
            message: format!("`/events/{i}` breaks the `{}` rule: {}", f.rule, f.detail),
        }
    })?;
    Ok(Uploaded { ins, line })
}

/// The JSON Pointer (under `at`) and length of the first string or member
/// name in `v` longer than `max` bytes. Nothing is allocated unless one is.
fn long_string(v: &Value, at: &str, max: usize) -> Option<(String, usize)> {
    let mut path = Vec::new();
    let len = find_long(v, max, &mut path)?;
    let mut pointer = at.to_owned();
    for token in path.iter().rev() {
        pointer.push('/');
        pointer.push_str(&token.replace('~', "~0").replace('/', "~1"));
    }
    Some((pointer, len))
}

/// The length of the first string or member name in `v` longer than `max`,
/// with the tokens leading to it pushed onto `path` innermost first.
fn find_long(v: &Value, max: usize, path: &mut Vec<String>) -> Option<usize> {
    match v {
        Value::String(s) if s.len() > max => Some(s.len()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = find_long(item, max, path)?;
            path.push(i.to_string());
            Some(len)
        }),
        Value::Object(members) => members.iter().find_map(|(name, item)| {
            let len = if name.len() > max {
                name.len()
            } else {
                find_long(item, max, path)?
            };
            path.push(name.clone());
            Some(len)
        }),
        _ => None,
    }
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn columns_of(ev: &Value) -> Columns {
    let demographics = ev
        .pointer("/subject/demographics")
        .filter(|d| d.as_object().is_some_and(|m| !m.is_empty()))
        .and_then(|d| sealtrail::canon::to_string(d).ok());
    Columns {
        // INVARIANT: `inspect` checked these members are strings.
        actor_id: text(ev, "/actor/id").unwrap_or_default(),
        actor_name: text(ev, "/actor/name"),
        actor_role: text(ev, "/actor/role").unwrap_or_default(),
        action: text(ev, "/action").unwrap_or_default(),
        outcome: text(ev, "/outcome").unwrap_or_default(),
        record_id: text(ev, "/subject/recordId"),
        record_type: text(ev, "/subject/type"),
        ip: text(ev, "/session/ip"),
        demographics,
    }
}
