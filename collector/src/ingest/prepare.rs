//! The first phase of ingest, outside any lock: the body parsed as a batch,
//! each event canonicalized and inspected alone by the core (shape and
//! recomputed hash: the CPU-heavy part, run for many chains at once), and
//! the columns the review APIs search by taken out of it.

use sealtrail::canon::strict::{self, FormatError};
use serde_json::Value;

use super::decide::Uploaded;
use super::IngestError;
use crate::store::events::Columns;

/// A parsed, inspected batch: three lists of the same length, in upload order.
pub struct Batch {
    /// The events as uploaded (for the alert rules).
    pub values: Vec<Value>,
    /// The core's view of each and its canonical line.
    pub uploaded: Vec<Uploaded>,
    /// The searchable columns of each.
    pub columns: Vec<Columns>,
}

impl Batch {
    /// Parses and inspects `{"events": [...]}`; `400` for anything else.
    pub fn parse(body: &[u8]) -> Result<Self, IngestError> {
        let events = events_of(body)?;
        let mut uploaded = Vec::with_capacity(events.len());
        let mut columns = Vec::with_capacity(events.len());
        for (i, ev) in events.iter().enumerate() {
            uploaded.push(inspect(ev, i)?);
            columns.push(columns_of(ev));
        }
        Ok(Self {
            values: events,
            uploaded,
            columns,
        })
    }
}

/// The events of a body `{"events": [...]}`, read strictly: a member named
/// twice anywhere is refused under the `format` rule, as every verifier
/// refuses it, rather than silently keeping one of the two.
fn events_of(body: &[u8]) -> Result<Vec<Value>, IngestError> {
    let shape = "the body is not a batch of events `{\"events\": [...]}`";
    let mut body = match strict::parse(body) {
        Ok(Value::Object(body)) => body,
        Ok(_) => return Err(IngestError::BadRequest(format!("{shape}: not an object"))),
        Err(e @ FormatError::Syntax(_)) => {
            return Err(IngestError::BadRequest(format!("{shape}: {e}")))
        }
        Err(e) => {
            return Err(IngestError::BadRequest(format!(
                "the body breaks the `format` rule: {e}"
            )))
        }
    };
    match body.remove("events") {
        Some(Value::Array(events)) if !events.is_empty() => Ok(events),
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
    let line = strict::to_string(ev).map_err(|e| {
        IngestError::BadRequest(format!("`/events/{i}` breaks the `format` rule: {e}"))
    })?;
    let ins = sealtrail::verify::inspect_line(line.as_bytes(), position).map_err(|f| {
        IngestError::BadRequest(format!(
            "`/events/{i}` breaks the `{}` rule: {}",
            f.rule, f.detail
        ))
    })?;
    Ok(Uploaded { ins, line })
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
