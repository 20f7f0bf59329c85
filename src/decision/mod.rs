//! Decisions: what one session may do, now, to one piece of content.
//!
//! [`Access`] evaluates a [`Policy`] for a [`Session`] at a given time once:
//! the role's allowances, every time-bound grant in force, step-up
//! requirements and break-glass eligibility are folded into a small table,
//! so each field decision is a lookup. Deny by default: an operation nobody
//! allowed, an unknown role, an unknown note type or a session past its
//! lifetime never yields [`Decision::Allow`].

mod grant;
mod host;
mod record;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

pub use grant::BreakGlassGrant;
pub use host::{HostAction, HostActionError, HostDecision};
pub(crate) use record::kind as kind_of;
pub use record::{RecordError, RecordFacts};

use crate::event::{Action, EventDraft, Outcome, Relation};
use crate::policy::{FieldPermissions, Grant, HostPermissions, Operation, Policy, Scope};
use crate::session::Session;
use crate::Timestamp;

/// Operations on the content of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FieldAction {
    /// See it.
    View,
    /// Change it.
    Edit,
    /// Export or download it.
    Export,
    /// Print it.
    Print,
    /// Delete it.
    Delete,
}

impl FieldAction {
    const ALL: [FieldAction; 5] = [
        Self::View,
        Self::Edit,
        Self::Export,
        Self::Print,
        Self::Delete,
    ];

    /// The policy operation of the same name.
    pub fn operation(self) -> Operation {
        match self {
            Self::View => Operation::View,
            Self::Edit => Operation::Edit,
            Self::Export => Operation::Export,
            Self::Print => Operation::Print,
            Self::Delete => Operation::Delete,
        }
    }

    fn allowance(self, p: &FieldPermissions) -> Option<Scope> {
        match self {
            Self::View => p.view,
            Self::Edit => p.edit,
            Self::Export => p.export,
            Self::Print => p.print,
            Self::Delete => p.delete,
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// What the policy says about one field for one operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Viewing: show a placeholder instead of the value.
    Seal {
        /// Whether this user may ask for break-glass access to it.
        break_glass: bool,
        /// Why.
        cause: Cause,
    },
    /// Any other operation: refused.
    Deny {
        /// Why.
        cause: Cause,
    },
    /// Allowed after a fresh, strong enough authentication.
    StepUp {
        /// The weakest acceptable authentication strength.
        auth_strength: String,
        /// How recent it must be, in minutes.
        max_age_minutes: u32,
    },
}

impl Decision {
    /// True for [`Decision::Allow`].
    pub fn is_allow(&self) -> bool {
        matches!(self, Self::Allow)
    }
}

/// Why something was sealed or denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Cause {
    /// The role (and every grant in force) allows nothing of the kind.
    NotPermitted,
    /// Allowed only for a narrower scope than the user's relation to the record.
    OutOfScope,
    /// The content's note type is not in the policy (fail closed).
    UnknownNoteType,
    /// The content is not shaped as the policy expects (a note without a type).
    Malformed,
    /// The session is past its lifetime.
    SessionExpired,
    /// The session's role is not in the policy.
    UnknownRole,
}

impl Cause {
    /// The name as written in placeholders and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotPermitted => "notPermitted",
            Self::OutOfScope => "outOfScope",
            Self::UnknownNoteType => "unknownNoteType",
            Self::Malformed => "malformed",
            Self::SessionExpired => "sessionExpired",
            Self::UnknownRole => "unknownRole",
        }
    }
}

/// The allowance for one operation after folding role and grants.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    scope: Option<Scope>,
    /// Index of the first step-up rule the session does not satisfy.
    step_up: Option<usize>,
}

/// A policy evaluated for one session at one time.
#[derive(Debug)]
pub struct Access<'a> {
    policy: &'a Policy,
    session: &'a Session,
    now: Timestamp,
    live: bool,
    role_known: bool,
    break_glass: bool,
    caseload: HashSet<&'a str>,
    fields: Vec<[Cell; 5]>,
    host: [Cell; 6],
}

impl<'a> Access<'a> {
    /// Evaluates `policy` for `session` at `now`, with the policy's own grants
    /// and `extra_grants` (issued by the host at run time) that are in force.
    pub fn new(
        policy: &'a Policy,
        session: &'a Session,
        now: Timestamp,
        extra_grants: &[Grant],
    ) -> Self {
        let doc = policy.doc();
        let role = doc.roles.get(&session.role);
        let live = session.is_live(now, doc.session.max_age_minutes);
        let grants: Vec<&Grant> = doc
            .grants
            .iter()
            .chain(extra_grants)
            .filter(|g| grant_applies(g, session, now))
            .collect();
        let mut fields = vec![[Cell::default(); 5]; policy.note_types.len()];
        for (i, row) in fields.iter_mut().enumerate() {
            let id = policy.note_types.id(i);
            for op in FieldAction::ALL {
                let from_role = role
                    .and_then(|r| r.note_types.get(id))
                    .and_then(|p| op.allowance(p));
                let from_grants = grants
                    .iter()
                    .filter_map(|g| g.note_types.get(id).and_then(|p| op.allowance(p)));
                if let Some(cell) = row.get_mut(op.slot()) {
                    *cell = Cell {
                        scope: from_role.into_iter().chain(from_grants).max(),
                        step_up: unmet_step_up(policy, session, now, op.operation(), Some(id)),
                    };
                }
            }
        }
        let mut host = [Cell::default(); 6];
        for (slot, op) in HostAction::OPERATIONS.iter().enumerate() {
            let pick = |p: &HostPermissions| host::allowance(*op, p);
            let scope = role
                .and_then(|r| pick(&r.host_actions))
                .into_iter()
                .chain(grants.iter().filter_map(|g| pick(&g.host_actions)))
                .max();
            if let Some(cell) = host.get_mut(slot) {
                *cell = Cell {
                    scope,
                    step_up: unmet_step_up(policy, session, now, *op, None),
                };
            }
        }
        Self {
            policy,
            session,
            now,
            live,
            role_known: role.is_some(),
            break_glass: live && doc.break_glass.roles.contains(&session.role),
            caseload: session.caseload.iter().map(String::as_str).collect(),
            fields,
            host,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &'a Policy {
        self.policy
    }

    /// The session.
    pub fn session(&self) -> &'a Session {
        self.session
    }

    /// The time of evaluation.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Whether the session is within its lifetime.
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// Whether this user may ask for break-glass access (authorised role, live session).
    pub fn may_break_glass(&self) -> bool {
        self.break_glass
    }

    /// How the user stands to a record with id `record_id` of team `team`.
    pub fn relation(&self, record_id: &str, team: Option<&str>) -> Relation {
        if self.caseload.contains(record_id) {
            Relation::Caseload
        } else if team.is_some() && team == self.session.team.as_deref() {
            Relation::Team
        } else {
            Relation::Unassigned
        }
    }

    /// Decides `action` on content of note type `note_type` (an index into
    /// the policy's note types; `None` when the type is unknown).
    pub(crate) fn decide_index(
        &self,
        note_type: Option<usize>,
        action: FieldAction,
        relation: Relation,
    ) -> Decision {
        let refuse = |cause: Cause, bg: bool| match action {
            FieldAction::View => Decision::Seal {
                break_glass: bg,
                cause,
            },
            _ => Decision::Deny { cause },
        };
        if !self.live {
            return refuse(Cause::SessionExpired, false);
        }
        if !self.role_known {
            return refuse(Cause::UnknownRole, false);
        }
        let Some(cell) = note_type
            .and_then(|i| self.fields.get(i))
            .and_then(|row| row.get(action.slot()))
        else {
            return refuse(Cause::UnknownNoteType, self.break_glass);
        };
        self.settle(*cell, Some(relation))
            .unwrap_or_else(|cause| refuse(cause, self.break_glass))
    }

    /// Decides `action` on content of the note type named `note_type`.
    pub fn decide(&self, note_type: &str, action: FieldAction, relation: Relation) -> Decision {
        self.decide_index(self.policy.note_types.index(note_type), action, relation)
    }

    /// Applies scope and step-up to a folded allowance.
    fn settle(&self, cell: Cell, relation: Option<Relation>) -> Result<Decision, Cause> {
        let scope = cell.scope.ok_or(Cause::NotPermitted)?;
        if let Some(relation) = relation {
            if !covers(scope, relation) {
                return Err(Cause::OutOfScope);
            }
        }
        if let Some(rule) = cell.step_up.and_then(|i| self.policy.doc().step_up.get(i)) {
            return Ok(Decision::StepUp {
                auth_strength: rule.auth_strength.clone(),
                max_age_minutes: rule.max_age_minutes,
            });
        }
        Ok(Decision::Allow)
    }

    /// A draft for this session with actor, session and policy filled in.
    pub fn draft(&self, action: Action, outcome: Outcome) -> EventDraft {
        let mut d = EventDraft::new(self.session.actor(), action, outcome);
        d.session = Some(self.session.session_ref());
        d.policy = Some(self.policy.hash().to_owned());
        d
    }
}

/// A refusal together with the event that records it: refusals are
/// evidence too, so the caller logs `draft` before reporting `error`.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused<E> {
    /// Why.
    pub error: E,
    /// The event to log (outcome `denied`, or `error`); boxed to keep
    /// `Result`s small.
    pub draft: Box<EventDraft>,
}

/// Whether an allowance of `scope` reaches a record the user stands to as `relation`.
pub fn covers(scope: Scope, relation: Relation) -> bool {
    match scope {
        Scope::All => true,
        Scope::Team => matches!(relation, Relation::Caseload | Relation::Team),
        Scope::Caseload => relation == Relation::Caseload,
    }
}

/// Whether grant `g` is for this session's user or role and in force at `now`.
pub fn grant_applies(g: &Grant, session: &Session, now: Timestamp) -> bool {
    let who = g.user.as_deref() == Some(session.user_id.as_str())
        || g.role.as_deref() == Some(session.role.as_str());
    who && g.not_before.is_none_or(|nb| nb <= now) && now < g.expires_at
}

/// The first step-up rule covering `op` (on `note_type`) that the session does not meet.
fn unmet_step_up(
    policy: &Policy,
    session: &Session,
    now: Timestamp,
    op: Operation,
    note_type: Option<&str>,
) -> Option<usize> {
    let have = policy.auth_rank(&session.auth_strength);
    policy.doc().step_up.iter().position(|rule| {
        let covers_op = rule.actions.contains(&op);
        let covers_type = match (&rule.note_types, note_type) {
            (None, _) => true,
            (Some(list), Some(nt)) => list.iter().any(|x| x == nt),
            (Some(_), None) => false,
        };
        let strong = have >= policy.auth_rank(&rule.auth_strength) && have.is_some();
        let recent = now
            < session
                .auth_time
                .plus_millis(i64::from(rule.max_age_minutes).saturating_mul(60_000));
        covers_op && covers_type && !(strong && recent)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_reach_relations() {
        use Relation::*;
        let table = [
            (Scope::Caseload, [true, false, false]),
            (Scope::Team, [true, true, false]),
            (Scope::All, [true, true, true]),
        ];
        for (scope, expected) in table {
            let got = [Caseload, Team, Unassigned].map(|r| covers(scope, r));
            assert_eq!(got, expected, "{scope:?}");
        }
    }

    #[test]
    fn grants_apply_to_their_user_or_role_within_their_window() {
        let t = |s: &str| Timestamp::parse(s).unwrap();
        let session = Session {
            user_id: "u1".into(),
            name: "U".into(),
            role: "nurse".into(),
            caseload: vec![],
            team: None,
            auth_strength: "mfa".into(),
            auth_time: t("2026-11-23T10:00:00.000Z"),
            expires_at: t("2026-11-23T20:00:00.000Z"),
            session_id: "s".into(),
            client: "c".into(),
            ip: None,
        };
        let grant = Grant {
            id: "g".into(),
            user: Some("u1".into()),
            role: None,
            note_types: Default::default(),
            host_actions: Default::default(),
            not_before: Some(t("2026-11-23T11:00:00.000Z")),
            expires_at: t("2026-11-23T12:00:00.000Z"),
            reason: None,
        };
        assert!(!grant_applies(
            &grant,
            &session,
            t("2026-11-23T10:59:59.999Z")
        ));
        assert!(grant_applies(
            &grant,
            &session,
            t("2026-11-23T11:00:00.000Z")
        ));
        assert!(grant_applies(
            &grant,
            &session,
            t("2026-11-23T11:59:59.999Z")
        ));
        assert!(!grant_applies(
            &grant,
            &session,
            t("2026-11-23T12:00:00.000Z")
        ));
        let other_user = Grant {
            user: Some("u2".into()),
            ..grant.clone()
        };
        assert!(!grant_applies(
            &other_user,
            &session,
            t("2026-11-23T11:30:00.000Z")
        ));
        let for_role = Grant {
            user: None,
            role: Some("nurse".into()),
            ..grant
        };
        assert!(grant_applies(
            &for_role,
            &session,
            t("2026-11-23T11:30:00.000Z")
        ));
    }
}
