//! Decisions: what one session may do, now, to one piece of content.
//!
//! [`Access`] evaluates a [`Policy`] for a [`Session`] at a given time once:
//! the role's allowances, every time-bound grant in force, step-up
//! requirements and break-glass eligibility are folded into a small table,
//! so each field decision is a lookup. Deny by default: an operation nobody
//! allowed, an unknown role, an unknown note type or a session past its
//! lifetime never yields [`Decision::Allow`].

mod condition;
mod explain;
mod fold;
mod grant;
mod host;
mod record;
pub mod selftest;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

pub use explain::Explanation;
pub use grant::BreakGlassGrant;
pub use host::{HostAction, HostActionError, HostDecision};
pub(crate) use record::kind as kind_of;
pub use record::{RecordError, RecordFacts};

use crate::event::{Action, EventDraft, Outcome, Relation, Subject};
use crate::policy::clock::LocalClock;
use crate::policy::condition::CondId;
use crate::policy::{FieldPermissions, Grant, Operation, Policy, Scope};
use crate::session::Session;
use crate::Timestamp;
use condition::{Facts, Truth};
use fold::{Cell, Pending};

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
    /// The record is larger than the policy's `limits.recordMaxBytes`: only
    /// content of the default note type is shown.
    TooLarge,
    /// A rule would allow it, but its condition does not hold or cannot
    /// be evaluated (an attribute is missing).
    Condition,
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
            Self::TooLarge => "tooLarge",
            Self::Condition => "condition",
        }
    }
}

/// How the user stands to one record: the relation, and the truth of every
/// condition of this session's rules that reads the record, evaluated once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// The user's relation to the record (none for a bulk action).
    pub relation: Option<Relation>,
    truths: Vec<Truth>,
}

/// A policy evaluated for one session at one time.
#[derive(Debug)]
pub struct Access<'a> {
    policy: &'a Policy,
    session: &'a Session,
    now: Timestamp,
    clock: Option<LocalClock>,
    live: bool,
    role_known: bool,
    break_glass: bool,
    caseload: HashSet<&'a str>,
    related: HashSet<&'a str>,
    fields: Vec<[Cell; 5]>,
    host: [Cell; 6],
    pending: Vec<Pending>,
    /// The conditions that read the record, by slot.
    record_conditions: Vec<CondId>,
}

impl<'a> Access<'a> {
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

    /// How the user stands to `record` (none: a bulk action): the relation,
    /// and every condition of this session's rules that reads the record,
    /// evaluated once for all its fields.
    pub fn standing(&self, record: Option<&RecordFacts>) -> Standing {
        let facts = Facts {
            session: self.session,
            now: self.now,
            clock: self.clock,
            record: record.map(|r| r.attributes.as_slice()),
        };
        let conditions = &self.policy.rules.conditions;
        Standing {
            relation: record.map(|r| self.relation(&r.id, r.team.as_deref())),
            truths: self
                .record_conditions
                .iter()
                .map(|c| facts.eval(conditions, *c))
                .collect(),
        }
    }

    /// The event subject of the record `facts` describe, for a user who
    /// stands to it as `relation`; `related` when the session declares a
    /// link to it (the link itself is never written).
    pub fn subject(&self, facts: &RecordFacts, relation: Relation) -> Subject {
        facts.subject(relation, self.related.contains(facts.id.as_str()))
    }

    /// Decides `action` on content of note type `note_type` (an index into
    /// the policy's note types; `None` when the type is unknown), and why.
    pub(crate) fn decide_index(
        &self,
        note_type: Option<usize>,
        action: FieldAction,
        standing: &Standing,
    ) -> (Decision, Explanation) {
        let refuse = |cause: Cause, bg: bool| match action {
            FieldAction::View => Decision::Seal {
                break_glass: bg,
                cause,
            },
            _ => Decision::Deny { cause },
        };
        if !self.live {
            return (refuse(Cause::SessionExpired, false), Explanation::default());
        }
        if !self.role_known {
            return (refuse(Cause::UnknownRole, false), Explanation::default());
        }
        let Some(cell) = note_type
            .and_then(|i| self.fields.get(i))
            .and_then(|row| row.get(action.slot()))
        else {
            return (
                refuse(Cause::UnknownNoteType, self.break_glass),
                Explanation::default(),
            );
        };
        let (decision, why) = self.settle(cell, standing);
        (
            decision.unwrap_or_else(|cause| refuse(cause, self.break_glass)),
            why,
        )
    }

    /// Decides `action` on content of the note type named `note_type`, and why.
    pub fn decide(
        &self,
        note_type: &str,
        action: FieldAction,
        standing: &Standing,
    ) -> (Decision, Explanation) {
        self.decide_index(self.policy.note_types.index(note_type), action, standing)
    }

    /// Applies the record's conditions, scope and step-up to a folded
    /// allowance: the decision (or why not) and its explanation.
    fn settle(&self, cell: &Cell, standing: &Standing) -> (Result<Decision, Cause>, Explanation) {
        let mut best = cell.scope.map(|s| (s, cell.rule));
        let mut refused = cell.refused;
        let (start, end) = cell.pending;
        let pending = self
            .pending
            .get(start as usize..end as usize)
            .unwrap_or_default();
        for p in pending {
            match standing.truths.get(p.slot).copied() {
                Some(Truth::Yes) if best.is_none_or(|(s, _)| p.scope > s) => {
                    best = Some((p.scope, Some(p.rule)));
                }
                Some(Truth::Yes) => {}
                Some(other) => {
                    refused.get_or_insert((p.rule, other));
                }
                None => {
                    refused.get_or_insert((p.rule, Truth::No(CondId::MAX)));
                }
            }
        }
        let Some((scope, rule)) = best else {
            return match refused {
                Some((rule, truth)) => (
                    Err(Cause::Condition),
                    Explanation::refused(self.policy, rule, truth),
                ),
                None => (Err(Cause::NotPermitted), Explanation::default()),
            };
        };
        let why = Explanation::allowed(self.policy, rule);
        if let Some(relation) = standing.relation {
            if !covers(scope, relation) {
                return (Err(Cause::OutOfScope), why);
            }
        }
        if let Some(step) = cell.step_up.and_then(|i| self.policy.doc().step_up.get(i)) {
            let decision = Decision::StepUp {
                auth_strength: step.auth_strength.clone(),
                max_age_minutes: step.max_age_minutes,
            };
            return (Ok(decision), why);
        }
        (Ok(Decision::Allow), why)
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
            related_records: vec![],
            prior_grants: vec![],
            team: None,
            auth_strength: "mfa".into(),
            auth_time: t("2026-11-23T10:00:00.000Z"),
            expires_at: t("2026-11-23T20:00:00.000Z"),
            session_id: "s".into(),
            client: "c".into(),
            ip: None,
            facility: None,
            unit: None,
            network: None,
            device: None,
            sign_in_method: None,
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
            when: None,
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
