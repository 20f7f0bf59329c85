//! Operations the host application performs itself (search, export, print,
//! edit, delete, role change): decided for the session and logged through
//! the same chain as views.
//!
//! Edits and deletions carry what the record integrity review needs
//! (`docs/protocol.md`): the fields touched (the event's `fields`), an
//! edit's effective date (`detail.effectiveAt`) and how many notes a
//! deletion removes (`detail.notes`, with their types in `noteTypes`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Access, Cause, Decision, Explanation, RecordError, RecordFacts};
use crate::event::{Action, EventDraft, Outcome};
use crate::policy::pattern::Key;
use crate::policy::{HostPermissions, Operation, Pattern, Policy, Scope};
use crate::Timestamp;

/// A host operation with what the audit trail needs to know about it.
/// Read by [`read_action`] (`{"type": "edit", ...}`), written by serde.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum HostAction {
    /// A search, logged with its query and filters.
    Search {
        /// The query text as typed.
        query: String,
        /// Filters applied (strings, integers, booleans, lists of them).
        #[serde(default)]
        filters: Map<String, Value>,
    },
    /// An export or download of a record (or, without a record, in bulk).
    Export {
        /// File format (`pdf`, `csv`, `fhir`, ...).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<String>,
    },
    /// A print of a record.
    Print,
    /// An edit of a record.
    Edit {
        /// JSON Pointers of the fields changed (`/address/street`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fields: Vec<String>,
        /// The date the user gave the entry, when it has one: an entry
        /// effective well before it was made is reviewed as back-dated.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        effective_at: Option<Timestamp>,
    },
    /// A deletion of the given fields or notes (`/notes/3`), or of the whole
    /// record when none are given.
    Delete {
        /// JSON Pointers of what is deleted.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fields: Vec<String>,
    },
    /// A change of a user's role.
    RoleChange {
        /// Whose role (a staff id), logged as `detail.user`, which the
        /// role-escalation alert compares with the actor.
        target_user: String,
        /// The role before, if known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// The role asked for.
        to: String,
    },
}

/// Why a host action could not be decided.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum HostActionError {
    /// A filter holds a fractional number; events carry integers only.
    #[error(
        "at `{0}`: filters hold strings, integers and booleans only, found a fractional number"
    )]
    FractionalFilter(String),
    /// A field is not a JSON Pointer into the record.
    #[error("at `{pointer}`: expected a JSON Pointer such as `/address/street`, found `{found}`")]
    Field {
        /// Where, among the action's members (`/fields/2`).
        pointer: String,
        /// What was given.
        found: String,
    },
    /// The record lacks what the policy needs (its pointer is inside the record).
    #[error(transparent)]
    Record(#[from] RecordError),
}

impl HostActionError {
    /// The JSON Pointer of the offending value: among the action's members,
    /// or for [`HostActionError::Record`] inside the record.
    pub fn pointer(&self) -> &str {
        match self {
            Self::FractionalFilter(p) | Self::Field { pointer: p, .. } => p,
            Self::Record(e) => e.pointer(),
        }
    }
}

/// The answer to a host action: the verdict and the event to log.
#[derive(Debug, Clone, PartialEq)]
pub struct HostDecision {
    /// [`Decision::Allow`], [`Decision::Deny`] or [`Decision::StepUp`].
    pub decision: Decision,
    /// Why (the event records its `rule` as `detail.rule`).
    pub why: Explanation,
    /// The event: the action itself (`success` or `denied`), or
    /// `step-up-required` (`denied`) naming the requested action in `detail`.
    pub draft: EventDraft,
}

impl HostAction {
    /// Host operations in the order of [`Access`]'s table.
    pub(crate) const OPERATIONS: [Operation; 6] = [
        Operation::Search,
        Operation::Export,
        Operation::Print,
        Operation::Edit,
        Operation::Delete,
        Operation::RoleChange,
    ];

    /// The policy operation.
    pub fn operation(&self) -> Operation {
        match self {
            Self::Search { .. } => Operation::Search,
            Self::Export { .. } => Operation::Export,
            Self::Print => Operation::Print,
            Self::Edit { .. } => Operation::Edit,
            Self::Delete { .. } => Operation::Delete,
            Self::RoleChange { .. } => Operation::RoleChange,
        }
    }

    /// The event action.
    pub fn event_action(&self) -> Action {
        match self {
            Self::Search { .. } => Action::Search,
            Self::Export { .. } => Action::Export,
            Self::Print => Action::Print,
            Self::Edit { .. } => Action::Edit,
            Self::Delete { .. } => Action::Delete,
            Self::RoleChange { .. } => Action::RoleChange,
        }
    }

    /// Whether it acts on records (so the user's relation to them matters).
    fn on_records(&self) -> bool {
        matches!(
            self,
            Self::Export { .. } | Self::Print | Self::Edit { .. } | Self::Delete { .. }
        )
    }

    /// The action-specific `detail` of its event.
    fn detail(&self) -> Result<Map<String, Value>, HostActionError> {
        let mut d = Map::new();
        match self {
            Self::Search { query, filters } => {
                check_integers("/filters", &Value::Object(filters.clone()))?;
                d.insert("query".into(), Value::String(query.clone()));
                d.insert("filters".into(), Value::Object(filters.clone()));
            }
            Self::Export { format: Some(f) } => {
                d.insert("format".into(), Value::String(f.clone()));
            }
            Self::RoleChange {
                target_user,
                from,
                to,
            } => {
                d.insert("user".into(), Value::String(target_user.clone()));
                if let Some(f) = from {
                    d.insert("from".into(), Value::String(f.clone()));
                }
                d.insert("to".into(), Value::String(to.clone()));
            }
            Self::Edit {
                effective_at: Some(t),
                ..
            } => {
                d.insert("effectiveAt".into(), Value::String(t.to_string()));
            }
            _ => {}
        }
        Ok(d)
    }

    /// The fields an edit or deletion names, each checked to be a pointer.
    fn fields(&self) -> Result<&[String], HostActionError> {
        let fields = match self {
            Self::Edit { fields, .. } | Self::Delete { fields } => fields.as_slice(),
            _ => &[],
        };
        for (i, f) in fields.iter().enumerate() {
            if Pattern::parse(f).is_err() {
                return Err(HostActionError::Field {
                    pointer: format!("/fields/{i}"),
                    found: f.clone(),
                });
            }
        }
        Ok(fields)
    }
}

/// The notes of `record` a deletion of `fields` removes (all of them when
/// `fields` is empty: the whole record): how many, and their note types.
fn deleted_notes(policy: &Policy, record: &Value, fields: &[String]) -> (u64, BTreeSet<String>) {
    let mut notes = Vec::new();
    for m in &policy.notes {
        note_objects(
            &m.pattern,
            record,
            0,
            &mut String::new(),
            &mut |ptr, note| {
                let inside = |f: &String| {
                    ptr == f.as_str()
                        || ptr
                            .strip_prefix(f.as_str())
                            .is_some_and(|rest| rest.starts_with('/'))
                };
                if fields.is_empty() || fields.iter().any(inside) {
                    let kind = note.get(&m.type_member).and_then(Value::as_str);
                    notes.push(kind.map(str::to_owned));
                }
            },
        );
    }
    let types = notes.iter().flatten().cloned().collect();
    (notes.len() as u64, types)
}

/// Calls `found` with the pointer and value of every node of `v` that
/// `pattern` matches from token `depth` on.
fn note_objects(
    pattern: &Pattern,
    v: &Value,
    depth: usize,
    ptr: &mut String,
    found: &mut dyn FnMut(&str, &Value),
) {
    if depth == pattern.len() {
        return found(ptr, v);
    }
    let mut visit = |key: Key<'_>, token: &str, child: &Value, ptr: &mut String| {
        if pattern.accepts(depth, key) {
            let len = ptr.len();
            ptr.push('/');
            ptr.push_str(&crate::pointer::escape_token(token));
            note_objects(pattern, child, depth + 1, ptr, found);
            ptr.truncate(len);
        }
    };
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                visit(Key::Member(k), k, child, ptr);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                visit(Key::Index(i), &i.to_string(), child, ptr);
            }
        }
        _ => {}
    }
}

/// The scope `p` allows for host operation `op`.
pub(crate) fn allowance(op: Operation, p: &HostPermissions) -> Option<Scope> {
    match op {
        Operation::Search => p.search,
        Operation::Export => p.export,
        Operation::Print => p.print,
        Operation::Edit => p.edit,
        Operation::Delete => p.delete,
        Operation::RoleChange => p.role_change,
        Operation::View => None,
    }
}

impl Access<'_> {
    /// Decides a host action, on `record` when it concerns one. A record
    /// action without a record is a bulk action and needs the `all` scope.
    pub fn decide_host(
        &self,
        action: &HostAction,
        record: Option<&Value>,
    ) -> Result<HostDecision, HostActionError> {
        let mut detail = action.detail()?;
        let fields = action.fields()?;
        let facts = record
            .map(|r| RecordFacts::read(self.policy, r))
            .transpose()?;
        let mut note_types = BTreeSet::new();
        if let (HostAction::Delete { fields }, Some(r)) = (action, record) {
            let (count, types) = deleted_notes(self.policy, r, fields);
            detail.insert("notes".into(), Value::from(count));
            note_types = types;
        }
        let record = facts.as_ref();
        let standing = self.standing(record);
        let relation = standing.relation;
        let (decision, why) = if !self.live {
            let cause = Cause::SessionExpired;
            (Decision::Deny { cause }, Explanation::default())
        } else if !self.role_known {
            let cause = Cause::UnknownRole;
            (Decision::Deny { cause }, Explanation::default())
        } else {
            let slot = HostAction::OPERATIONS
                .iter()
                .position(|o| *o == action.operation());
            let cell = slot
                .and_then(|i| self.host.get(i))
                .copied()
                .unwrap_or_default();
            let cell = match (action.on_records(), relation) {
                // Bulk: only a reach over every record will do.
                (true, None) if cell.scope != Some(Scope::All) => super::fold::Cell {
                    scope: None,
                    ..cell
                },
                _ => cell,
            };
            let (decision, why) = self.settle(&cell, &standing);
            (
                decision.unwrap_or_else(|cause| Decision::Deny { cause }),
                why,
            )
        };
        let mut draft = match &decision {
            Decision::Allow => self.draft(action.event_action(), Outcome::Success),
            Decision::StepUp {
                auth_strength,
                max_age_minutes,
            } => {
                let mut d = self.draft(Action::StepUpRequired, Outcome::Denied);
                d.detail.insert(
                    "requested".into(),
                    Value::String(action.event_action().to_string()),
                );
                d.detail
                    .insert("authStrength".into(), Value::String(auth_strength.clone()));
                d.detail
                    .insert("maxAgeMinutes".into(), Value::from(*max_age_minutes));
                d
            }
            Decision::Deny { cause } | Decision::Seal { cause, .. } => {
                let mut d = self.draft(action.event_action(), Outcome::Denied);
                d.detail.insert("cause".into(), Value::from(cause.as_str()));
                d
            }
        };
        for (k, v) in detail {
            draft.detail.insert(k, v);
        }
        if let Some(rule) = &why.rule {
            draft.detail.insert("rule".into(), Value::from(&**rule));
        }
        draft.subject = record.zip(relation).map(|(r, rel)| self.subject(r, rel));
        draft.fields = fields.to_vec();
        draft.labels = crate::ordered::set(
            note_types
                .iter()
                .filter_map(|t| self.policy.labels(t))
                .flatten()
                .cloned(),
        )
        .into_iter()
        .collect();
        draft.note_types = note_types.into_iter().collect();
        draft.purpose_of_use = Some(
            if matches!(action, HostAction::RoleChange { .. }) {
                "HOPERAT"
            } else {
                "TREAT"
            }
            .to_owned(),
        );
        Ok(HostDecision {
            decision,
            why,
            draft,
        })
    }
}

/// Refuses fractional numbers anywhere in `v` (events carry integers only).
fn check_integers(at: &str, v: &Value) -> Result<(), HostActionError> {
    match v {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            Err(HostActionError::FractionalFilter(at.to_owned()))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, x)| check_integers(&format!("{at}/{i}"), x)),
        Value::Object(m) => m
            .iter()
            .try_for_each(|(k, x)| check_integers(&crate::pointer::push(at, k), x)),
        _ => Ok(()),
    }
}

/// The `type` names of [`HostAction`], in its order.
const ACTION_TYPES: [&str; 6] = ["search", "export", "print", "edit", "delete", "roleChange"];

/// A host action is read by hand rather than by serde's internally tagged
/// enum, which buffers the object in its own value tree first (and compiles
/// a second deserializer for it: about 4 KB gzipped of the `.wasm`). The
/// answers are serde's: a missing, unknown or mistyped `type` is named at
/// `/type`; a member of the wrong type is named at the action, what was
/// wrong in the message; an unknown member is named at itself.
impl<'de> Deserialize<'de> for HostAction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ActionVisitor)
    }
}

struct ActionVisitor;

impl<'de> serde::de::Visitor<'de> for ActionVisitor {
    type Value = HostAction;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("internally tagged enum HostAction")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<HostAction, A::Error> {
        use serde::de::Error as _;
        let mut kind = None;
        let mut rest = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if name == "type" {
                kind = Some(map.next_value::<ActionType>()?.0);
            } else {
                let value = map.next_value::<Value>()?;
                rest.insert(name, value);
            }
        }
        let kind = kind.ok_or_else(|| A::Error::missing_field("type"))?;
        let rest = Value::Object(rest);
        let args = |e: serde_json::Error| A::Error::custom(e);
        Ok(match kind {
            0 => {
                let a: SearchArgs = crate::located::read(&rest).map_err(args)?;
                HostAction::Search {
                    query: a.query,
                    filters: a.filters,
                }
            }
            1 => {
                let a: ExportArgs = crate::located::read(&rest).map_err(args)?;
                HostAction::Export { format: a.format }
            }
            // Any other member of a print is ignored, as serde does for a
            // unit variant.
            2 => HostAction::Print,
            3 => {
                let a: EditArgs = crate::located::read(&rest).map_err(args)?;
                HostAction::Edit {
                    fields: a.fields,
                    effective_at: a.effective_at,
                }
            }
            4 => {
                let a: DeleteArgs = crate::located::read(&rest).map_err(args)?;
                HostAction::Delete { fields: a.fields }
            }
            _ => {
                let a: RoleChangeArgs = crate::located::read(&rest).map_err(args)?;
                HostAction::RoleChange {
                    target_user: a.target_user,
                    from: a.from,
                    to: a.to,
                }
            }
        })
    }
}

/// The index in [`ACTION_TYPES`] of an action's `type`, read as serde reads
/// a variant's name (its index, as a number, too).
struct ActionType(usize);

impl<'de> Deserialize<'de> for ActionType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(ActionTypeVisitor)
    }
}

struct ActionTypeVisitor;

impl serde::de::Visitor<'_> for ActionTypeVisitor {
    type Value = ActionType;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("variant identifier")
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<ActionType, E> {
        usize::try_from(n)
            .ok()
            .filter(|&i| i < ACTION_TYPES.len())
            .map(ActionType)
            .ok_or_else(|| {
                E::invalid_value(
                    serde::de::Unexpected::Unsigned(n),
                    &"variant index 0 <= i < 6",
                )
            })
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<ActionType, E> {
        ACTION_TYPES
            .iter()
            .position(|t| *t == name)
            .map(ActionType)
            .ok_or_else(|| E::unknown_variant(name, &ACTION_TYPES))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SearchArgs {
    query: String,
    #[serde(default)]
    filters: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExportArgs {
    #[serde(default)]
    format: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EditArgs {
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    effective_at: Option<Timestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeleteArgs {
    #[serde(default)]
    fields: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RoleChangeArgs {
    target_user: String,
    #[serde(default)]
    from: Option<String>,
    to: String,
}
