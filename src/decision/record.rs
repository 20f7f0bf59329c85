//! The facts about a record that decisions and events need, found where the
//! policy's `record` section points.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::event::{Relation, Subject};
use crate::policy::Policy;

/// Why a record cannot be decided on.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    /// The record is not a JSON object.
    #[error("a record must be a JSON object, found {0}")]
    NotObject(&'static str),
    /// No id where the policy says the id is.
    #[error("at `{0}`: the record has no id there")]
    MissingId(String),
    /// A member the policy points at holds the wrong kind of value.
    #[error("at `{pointer}`: expected {expected}, found {found}")]
    WrongType {
        /// Where.
        pointer: String,
        /// What the policy needs there.
        expected: &'static str,
        /// What the record holds.
        found: &'static str,
    },
}

impl RecordError {
    /// The JSON Pointer of the offending value (empty for the whole record).
    pub fn pointer(&self) -> &str {
        match self {
            Self::NotObject(_) => "",
            Self::MissingId(p) | Self::WrongType { pointer: p, .. } => p,
        }
    }
}

/// A record's id, type, team and coarse demographics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFacts {
    /// Record id (integers are written in decimal).
    pub id: String,
    /// Record type, if the policy says where it is and the record has one.
    pub record_type: Option<String>,
    /// Team, likewise.
    pub team: Option<String>,
    /// Demographic attributes the policy names that the record holds.
    pub demographics: BTreeMap<String, String>,
    /// The values where the policy's `record` section points for conditions
    /// (`record.unit`, `record.excludedStaff`, ...), in
    /// `Attribute::RECORD` order; checked when a condition reads them
    /// (empty when no condition of the policy reads the record).
    pub(crate) attributes: Vec<Option<Value>>,
}

impl RecordFacts {
    /// Reads the facts of `record` where `policy` points.
    pub fn read(policy: &Policy, record: &Value) -> Result<Self, RecordError> {
        if !record.is_object() {
            return Err(RecordError::NotObject(kind(record)));
        }
        let layout = &policy.doc().record;
        let id = match crate::pointer::get(record, &layout.id) {
            None | Some(Value::Null) => return Err(RecordError::MissingId(layout.id.clone())),
            Some(v) => scalar(&layout.id, v, "a string or an integer")?,
        };
        if id.is_empty() {
            return Err(RecordError::MissingId(layout.id.clone()));
        }
        let optional = |p: &Option<String>| -> Result<Option<String>, RecordError> {
            match p
                .as_deref()
                .and_then(|p| crate::pointer::get(record, p).map(|v| (p, v)))
            {
                None | Some((_, Value::Null)) => Ok(None),
                Some((p, v)) => scalar(p, v, "a string").map(Some),
            }
        };
        let record_type = optional(&layout.record_type)?;
        let team = optional(&layout.team)?;
        let mut demographics = BTreeMap::new();
        for (name, p) in &layout.demographics {
            if let Some(v) = crate::pointer::get(record, p).filter(|v| !v.is_null()) {
                demographics.insert(name.clone(), scalar(p, v, "a string")?);
            }
        }
        // Read (and copied) only for a policy whose conditions read them:
        // a caseload is read record by record.
        let read_attributes = policy.rules.conditions.any_of_record();
        let attributes = crate::policy::condition::Attribute::RECORD
            .iter()
            .filter(|_| read_attributes)
            .map(|a| {
                a.layout_pointer(layout)
                    .and_then(|p| crate::pointer::get(record, p))
                    .filter(|v| !v.is_null())
                    .or_else(|| a.layout_default(layout))
                    .cloned()
            })
            .collect();
        Ok(Self {
            id,
            record_type,
            team,
            demographics,
            attributes,
        })
    }

    /// The event subject for a user who stands to this record as
    /// `relation`, `related` when it is one they declared a link to.
    pub fn subject(&self, relation: Relation, related: bool) -> Subject {
        Subject {
            record_id: self.id.clone(),
            record_type: self.record_type.clone(),
            relation: Some(relation),
            demographics: self.demographics.clone(),
            related,
        }
    }
}

/// A string, or an integer written in decimal.
fn scalar(pointer: &str, v: &Value, expected: &'static str) -> Result<String, RecordError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        other => Err(RecordError::WrongType {
            pointer: pointer.to_owned(),
            expected,
            found: kind(other),
        }),
    }
}

/// A JSON value's kind, in words.
pub(crate) use crate::policy::json_kind as kind;
