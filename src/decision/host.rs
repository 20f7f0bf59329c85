//! Operations the host application performs itself (search, export, print,
//! edit, delete, role change): decided for the session and logged through
//! the same chain as views.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Access, Cause, Decision, Explanation, RecordFacts};
use crate::event::{Action, EventDraft, Outcome};
use crate::policy::{HostPermissions, Operation, Scope};

/// A host operation with what the audit trail needs to know about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
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
    Edit,
    /// A deletion of a record.
    Delete,
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
}

impl HostActionError {
    /// The JSON Pointer of the offending value.
    pub fn pointer(&self) -> &str {
        match self {
            Self::FractionalFilter(p) => p,
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
            Self::Edit => Operation::Edit,
            Self::Delete => Operation::Delete,
            Self::RoleChange { .. } => Operation::RoleChange,
        }
    }

    /// The event action.
    pub fn event_action(&self) -> Action {
        match self {
            Self::Search { .. } => Action::Search,
            Self::Export { .. } => Action::Export,
            Self::Print => Action::Print,
            Self::Edit => Action::Edit,
            Self::Delete => Action::Delete,
            Self::RoleChange { .. } => Action::RoleChange,
        }
    }

    /// Whether it acts on records (so the user's relation to them matters).
    fn on_records(&self) -> bool {
        matches!(
            self,
            Self::Export { .. } | Self::Print | Self::Edit | Self::Delete
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
            _ => {}
        }
        Ok(d)
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
        record: Option<&RecordFacts>,
    ) -> Result<HostDecision, HostActionError> {
        let detail = action.detail()?;
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
