//! The access policy: who may see, change, export or print which kinds of
//! content, how those kinds are found in a record, step-up, time-bound
//! grants and break-glass rules.
//!
//! A policy is JSON a compliance lead can read (see
//! `pkg-config/policy.default.json` and its schema
//! `pkg-config/policy.schema.json`). [`Policy::parse`] checks its shape,
//! every cross-reference and every pattern once, and compiles the pointer
//! patterns, so deciding a caseload never re-reads the policy text. Its
//! [`Policy::hash`] names it in every event. Its `alerts` member
//! ([`AlertConfig`]: thresholds, business hours) is what [`crate::alerts`]
//! reads; its `review` member ([`ReviewConfig`]: case outcomes, routing and
//! response times) is what the collector's case workflow reads.

mod alert_config;
mod alert_patterns;
mod attribute;
pub(crate) mod clock;
pub mod condition;
mod error;
pub mod model;
pub mod pattern;
mod reader;
mod review_config;
pub(crate) mod rules;
mod validate;

use std::sync::Arc;

use serde_json::Value;

pub use alert_config::{
    AlertConfig, AlertConfigError, BulkAccess, BusinessHours, ConcurrentAccess, LocalTime,
    RepeatedUnassigned, Weekday, MIN_SIGNIFICANCE_ONE_IN,
};
pub use alert_patterns::{ClockDrift, DemographicTargeting, OffHoursSpike, RecordIntegrity};
pub use error::PolicyError;
pub(crate) use error::{json_kind, refuse_misplaced_arrays};
pub use model::{
    BreakGlassRules, Confidentiality, FieldPermissions, FieldRule, Grant, HostPermissions, Limits,
    NoteRule, NoteType, Operation, PolicyDoc, PromptExemptions, RecordLayout, Role, Scope,
    SessionRules, StepUpRule,
};
pub use pattern::{Pattern, PatternError};
pub use review_config::{
    CaseSeverity, OutcomeDef, ReviewConfig, ReviewConfigError, ReviewProblem, Route, Routing,
    StaffNames,
};

use crate::{canon, Digest};

/// Prefix of a policy hash: `sha256:` then 64 lowercase hex characters.
pub const HASH_PREFIX: &str = "sha256:";

/// Where a policy holds arrays; anywhere else an array is a shape error.
const ARRAYS: &[&str] = &[
    "/fields",
    "/notes",
    "/notes/*/metaMembers",
    "/grants",
    "/authStrengths",
    "/stepUp",
    "/stepUp/*/actions",
    "/stepUp/*/noteTypes",
    "/breakGlass/roles",
    "/noteTypes/*/sensitivity",
    "/alerts/businessHours/days",
    "/alerts/exportActions",
    "/alerts/roleChangeActions",
    "/alerts/carePurposes",
    "/review/outcomes",
    "/review/routing/*/escalation",
    "/alerts/recordIntegrity/keyFields",
];

/// Where a policy holds conditions and record defaults, which their own
/// checks read (their arrays nest to any depth).
const OPAQUE: &[&str] = &[
    "/tests",
    "/record/defaults",
    "/conditions/*",
    "/roles/*/when",
    "/roles/*/noteTypes/*/when",
    "/roles/*/hostActions/when",
    "/grants/*/when",
    "/grants/*/noteTypes/*/when",
    "/grants/*/hostActions/when",
    "/stepUp/*/when",
    "/breakGlass/when",
];

/// A parsed, checked and compiled policy.
#[derive(Debug, Clone)]
pub struct Policy {
    doc: PolicyDoc,
    hash: String,
    pub(crate) note_types: NoteTypes,
    /// Field rules, then the record layout's pointers under the default note type.
    pub(crate) fields: Vec<(Pattern, usize)>,
    pub(crate) notes: Vec<NoteMatcher>,
    pub(crate) default_note_type: usize,
    pub(crate) incident_ref: Option<regex_lite::Regex>,
    pub(crate) rules: rules::Rules,
}

/// Note types by index (the policy's sorted order), with their labels.
/// Ids and labels are shared (`Arc`): every field decision names its note
/// type and labels, and a caseload has tens of thousands of fields, so a
/// decision takes a reference count rather than copies of the strings.
#[derive(Debug, Clone)]
pub(crate) struct NoteTypes {
    ids: Vec<Arc<str>>,
    labels: Vec<Arc<[String]>>,
    confidentiality: Vec<Confidentiality>,
}

impl NoteTypes {
    /// The index of note type `id`.
    pub(crate) fn index(&self, id: &str) -> Option<usize> {
        // A policy's few dozen ids are looked along (see `pointer::same`).
        if self.ids.len() <= 64 {
            return self.ids.iter().position(|x| crate::pointer::same(x, id));
        }
        self.ids.binary_search_by(|x| (**x).cmp(id)).ok()
    }

    /// The id of note type `i`.
    pub(crate) fn id(&self, i: usize) -> &str {
        self.ids.get(i).map_or("", |x| x)
    }

    /// The id of note type `i`, shared.
    pub(crate) fn shared_id(&self, i: usize) -> Arc<str> {
        self.ids.get(i).map_or_else(|| Arc::from(""), Arc::clone)
    }

    /// Confidentiality code then sensitivity codes of note type `i`.
    pub(crate) fn labels(&self, i: usize) -> &[String] {
        self.labels.get(i).map_or(&[], |x| x)
    }

    /// The labels of note type `i`, shared.
    pub(crate) fn shared_labels(&self, i: usize) -> Arc<[String]> {
        self.labels
            .get(i)
            .map_or_else(|| Arc::from(Vec::new()), Arc::clone)
    }

    /// The confidentiality of note type `i` (`V` when out of range).
    pub(crate) fn confidentiality(&self, i: usize) -> Confidentiality {
        self.confidentiality
            .get(i)
            .copied()
            .unwrap_or(Confidentiality::V)
    }

    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }
}

/// A compiled note rule.
#[derive(Debug, Clone)]
pub(crate) struct NoteMatcher {
    pub(crate) pattern: Pattern,
    pub(crate) type_member: String,
    pub(crate) meta_members: Vec<String>,
}

impl NoteMatcher {
    /// Whether member `name` of a note is governed by the default note type.
    pub(crate) fn is_meta(&self, name: &str) -> bool {
        let same = |m: &String| crate::pointer::same(m, name);
        same(&self.type_member) || self.meta_members.iter().any(same)
    }
}

impl Policy {
    /// Parses policy JSON text.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let value: Value = serde_json::from_slice(text.as_bytes())
            .map_err(|e| PolicyError::Syntax(e.to_string()))?;
        Self::from_value(&value)
    }

    /// Checks and compiles a policy already parsed as JSON.
    pub fn from_value(value: &Value) -> Result<Self, PolicyError> {
        let canonical =
            canon::to_vec(value).map_err(|e| PolicyError::invalid("", e.to_string()))?;
        let hash = format!("{HASH_PREFIX}{}", Digest::of(&canonical).to_hex());
        error::refuse_misplaced_arrays_outside(value, ARRAYS, OPAQUE)
            .map_err(|(pointer, message)| PolicyError::Shape { pointer, message })?;
        let doc = reader::policy_doc(value)
            .map_err(|(pointer, message)| PolicyError::Shape { pointer, message })?;
        validate::validate(&doc)?;
        Self::compile(doc, hash)
    }

    fn compile(doc: PolicyDoc, hash: String) -> Result<Self, PolicyError> {
        let ids: Vec<Arc<str>> = doc
            .note_types
            .keys()
            .map(|k| Arc::from(k.as_str()))
            .collect();
        let labels = doc
            .note_types
            .values()
            .map(|nt| {
                std::iter::once(nt.confidentiality.as_str().to_owned())
                    .chain(nt.sensitivity.iter().cloned())
                    .collect()
            })
            .collect();
        let confidentiality = doc
            .note_types
            .values()
            .map(|nt| nt.confidentiality)
            .collect();
        let note_types = NoteTypes {
            ids,
            labels,
            confidentiality,
        };
        let lookup = |at: String, id: &str| {
            note_types.index(id).ok_or(PolicyError::Dangling {
                pointer: at,
                kind: "note type",
                name: id.to_owned(),
                defined_in: "/noteTypes",
            })
        };
        let mut fields = Vec::with_capacity(doc.fields.len());
        for (i, f) in doc.fields.iter().enumerate() {
            let p = Pattern::parse(&f.pointer)
                .map_err(|e| PolicyError::invalid(format!("/fields/{i}/pointer"), e.to_string()))?;
            fields.push((p, lookup(format!("/fields/{i}/noteType"), &f.note_type)?));
        }
        let mut notes = Vec::with_capacity(doc.notes.len());
        for (i, n) in doc.notes.iter().enumerate() {
            let pattern = Pattern::parse(&n.pointer)
                .map_err(|e| PolicyError::invalid(format!("/notes/{i}/pointer"), e.to_string()))?;
            notes.push(NoteMatcher {
                pattern,
                type_member: n.type_member.clone(),
                meta_members: n.meta_members.clone(),
            });
        }
        let default_note_type = lookup(
            "/record/defaultNoteType".to_owned(),
            &doc.record.default_note_type,
        )?;
        // The layout's own pointers name places of the default note type:
        // their values are logged in every event, and the shape rule needs
        // to know they are declared (see `seal::walk`).
        let layout = &doc.record;
        let declared = [
            ("/record/id", Some(&layout.id)),
            ("/record/type", layout.record_type.as_ref()),
            ("/record/team", layout.team.as_ref()),
        ]
        .into_iter()
        .filter_map(|(at, p)| p.map(|p| (at.to_owned(), p)))
        .chain(
            layout
                .demographics
                .iter()
                .map(|(name, p)| (crate::pointer::push("/record/demographics", name), p)),
        );
        for (at, p) in declared {
            let p = Pattern::parse(p).map_err(|e| PolicyError::invalid(at, e.to_string()))?;
            fields.push((p, default_note_type));
        }
        let incident_ref = match &doc.break_glass.incident_ref_pattern {
            Some(p) => Some(incident_regex(p).map_err(|e| {
                PolicyError::invalid("/breakGlass/incidentRefPattern", e.to_string())
            })?),
            None => None,
        };
        let rules = rules::Rules::compile(&doc)?;
        Ok(Self {
            doc,
            hash,
            note_types,
            fields,
            notes,
            default_note_type,
            incident_ref,
            rules,
        })
    }

    /// The document as parsed (reason codes for a dialog, role labels, ...).
    pub fn doc(&self) -> &PolicyDoc {
        &self.doc
    }

    /// `sha256:` and the hex SHA-256 of the policy's RFC 8785 canonical form
    /// as given (defaults not filled in), written in every event's `policy`.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The size caps on events and records.
    pub fn limits(&self) -> &Limits {
        &self.doc.limits
    }

    /// The labels of a note type: its confidentiality code, then its sensitivity codes.
    pub fn labels(&self, note_type: &str) -> Option<&[String]> {
        self.note_types
            .index(note_type)
            .map(|i| self.note_types.labels(i))
    }

    /// The rank of an authentication strength (0 is weakest); unknown
    /// strengths rank below every listed one.
    pub(crate) fn auth_rank(&self, strength: &str) -> Option<usize> {
        self.doc.auth_strengths.iter().position(|s| s == strength)
    }
}

/// Compiles an incident reference pattern, anchored so the whole reference must match.
pub(crate) fn incident_regex(pattern: &str) -> Result<regex_lite::Regex, regex_lite::Error> {
    regex_lite::Regex::new(&format!("^(?:{pattern})$"))
}
