//! Folding a policy for one session: role, grants in force, step-up and
//! break-glass into a small table per note type and operation, conditions
//! that read only the session and the time decided here, once.

use super::condition::{Facts, Truth};
use super::host::{self, HostAction};
use super::{grant_applies, Access, FieldAction};
use crate::policy::clock::LocalClock;
use crate::policy::condition::CondId;
use crate::policy::rules::RuleId;
use crate::policy::{Grant, HostPermissions, Operation, Policy, Scope};
use crate::session::Session;
use crate::Timestamp;

/// The allowance for one operation after folding role and grants.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Cell {
    /// The widest scope allowed whatever the record, and the rule that allows it.
    pub(super) scope: Option<Scope>,
    pub(super) rule: Option<RuleId>,
    /// Index of the first step-up rule the session does not satisfy.
    pub(super) step_up: Option<usize>,
    /// The first rule whose condition refused this session.
    pub(super) refused: Option<(RuleId, Truth)>,
    /// Allowances whose conditions read the record: `pending[start..end]`.
    pub(super) pending: (u32, u32),
}

/// An allowance decided per record: its rule and the slot of its condition
/// in [`Standing`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Pending {
    pub(super) scope: Scope,
    pub(super) rule: RuleId,
    pub(super) slot: usize,
}

/// Builds the table of an [`Access`].
struct Fold<'p> {
    policy: &'p Policy,
    facts: Facts<'p>,
    pending: Vec<Pending>,
    record_conditions: Vec<CondId>,
}

impl Fold<'_> {
    /// Folds candidate allowances `(scope, rule, condition)` into a cell.
    fn cell(
        &mut self,
        candidates: impl Iterator<Item = (Scope, Option<RuleId>, Option<CondId>)>,
        step_up: Option<usize>,
    ) -> Cell {
        let conditions = &self.policy.rules.conditions;
        let start = self.pending.len();
        let mut cell = Cell {
            step_up,
            ..Cell::default()
        };
        for (scope, rule, when) in candidates {
            let truth = match (when, rule) {
                (None, _) => Truth::Yes,
                // A grant passed at run time has no compiled condition: it never applies.
                (Some(c), None) => Truth::No(c),
                (Some(c), Some(rule)) if conditions.of_record(c) => {
                    let slot = match self.record_conditions.iter().position(|x| *x == c) {
                        Some(i) => i,
                        None => {
                            self.record_conditions.push(c);
                            self.record_conditions.len() - 1
                        }
                    };
                    self.pending.push(Pending { scope, rule, slot });
                    continue;
                }
                (Some(c), Some(_)) => self.facts.eval(conditions, c),
            };
            match (truth, rule) {
                (Truth::Yes, _) if cell.scope.is_none_or(|s| scope > s) => {
                    cell.scope = Some(scope);
                    cell.rule = rule;
                }
                (Truth::Yes, _) => {}
                (refusal, Some(rule)) => {
                    cell.refused.get_or_insert((rule, refusal));
                }
                (_, None) => {}
            }
        }
        let end = self.pending.len();
        cell.pending = (
            u32::try_from(start).unwrap_or(u32::MAX),
            u32::try_from(end).unwrap_or(u32::MAX),
        );
        cell
    }
}

impl<'a> Access<'a> {
    /// Evaluates `policy` for `session` at `now`, with the policy's own grants
    /// and `extra_grants` (issued by the host at run time) that are in force.
    /// Conditions that read only the session and the time are decided here,
    /// once; those that read the record once per record ([`Access::standing`]).
    pub fn new(
        policy: &'a Policy,
        session: &'a Session,
        now: Timestamp,
        extra_grants: &[Grant],
    ) -> Self {
        let doc = policy.doc();
        let rules = &policy.rules;
        let role = doc.roles.get(&session.role);
        let holder = rules.roles.get(&session.role);
        let live = session.is_live(now, doc.session.max_age_minutes);
        let clock = LocalClock::at(&doc.alerts.business_hours, now);
        let facts = Facts {
            session,
            now,
            clock,
            record: None,
        };
        // Grants in force with their rules (none for grants passed at run time).
        let grants: Vec<(&Grant, Option<&crate::policy::rules::Holder>)> = doc
            .grants
            .iter()
            .zip(rules.grants.iter().map(Some))
            .chain(extra_grants.iter().map(|g| (g, None)))
            .filter(|(g, _)| grant_applies(g, session, now))
            .collect();
        let unmet = unmet_step_ups(policy, &facts);
        let mut fold = Fold {
            policy,
            facts,
            pending: Vec::new(),
            record_conditions: Vec::new(),
        };
        let when_of = |r: Option<RuleId>| r.and_then(|r| rules.rule(r)).and_then(|r| r.when);
        let mut fields = vec![[Cell::default(); 5]; policy.note_types.len()];
        for (i, row) in fields.iter_mut().enumerate() {
            let id = policy.note_types.id(i);
            for op in FieldAction::ALL {
                let from_role = role
                    .and_then(|r| r.note_types.get(id))
                    .and_then(|p| op.allowance(p))
                    .map(|scope| {
                        let rule = holder.and_then(|h| h.note_types.get(id)).copied();
                        (scope, rule, when_of(rule))
                    });
                let from_grants = grants.iter().filter_map(|(g, h)| {
                    let scope = g.note_types.get(id).and_then(|p| op.allowance(p))?;
                    let rule = h.and_then(|h| h.note_types.get(id)).copied();
                    Some((scope, rule, grant_when(g, when_of(rule))))
                });
                let step_up = first_step_up(policy, &unmet, op.operation(), Some(id));
                if let Some(cell) = row.get_mut(op.slot()) {
                    *cell = fold.cell(from_role.into_iter().chain(from_grants), step_up);
                }
            }
        }
        let mut host = [Cell::default(); 6];
        for (slot, op) in HostAction::OPERATIONS.iter().enumerate() {
            let pick = |p: &HostPermissions| host::allowance(*op, p);
            let from_role = role.and_then(|r| pick(&r.host_actions)).map(|scope| {
                let rule = holder.map(|h| h.host);
                (scope, rule, when_of(rule))
            });
            let from_grants = grants.iter().filter_map(|(g, h)| {
                let scope = pick(&g.host_actions)?;
                let rule = h.map(|h| h.host);
                Some((scope, rule, grant_when(g, when_of(rule))))
            });
            let step_up = first_step_up(policy, &unmet, *op, None);
            if let Some(cell) = host.get_mut(slot) {
                *cell = fold.cell(from_role.into_iter().chain(from_grants), step_up);
            }
        }
        let break_glass_when = rules.rule(rules.break_glass).and_then(|r| r.when);
        let break_glass = live
            && doc.break_glass.roles.contains(&session.role)
            && break_glass_when.is_none_or(|c| fold.facts.eval(&rules.conditions, c) == Truth::Yes);
        Self {
            policy,
            session,
            now,
            clock,
            live,
            role_known: role.is_some(),
            break_glass,
            caseload: session.caseload.iter().map(String::as_str).collect(),
            related: session.related_records.iter().map(String::as_str).collect(),
            fields,
            host,
            pending: fold.pending,
            record_conditions: fold.record_conditions,
        }
    }
}

/// A grant passed at run time carries no compiled condition: one that has
/// a `when` anywhere never applies (the sentinel condition is never met).
fn grant_when(g: &Grant, compiled: Option<CondId>) -> Option<CondId> {
    let conditional = g.when.is_some()
        || g.host_actions.when.is_some()
        || g.note_types.values().any(|p| p.when.is_some());
    compiled.or(conditional.then_some(CondId::MAX))
}

/// Which of the policy's step-up rules this session does not meet at
/// `facts`' time (too weak or too old a login) and whose condition holds:
/// worked out once per fold, not once per note type and operation.
fn unmet_step_ups(policy: &Policy, facts: &Facts<'_>) -> Vec<bool> {
    let rules = &policy.rules;
    let session = facts.session;
    let have = policy.auth_rank(&session.auth_strength);
    policy
        .doc()
        .step_up
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let strong = have >= policy.auth_rank(&rule.auth_strength) && have.is_some();
            let recent = facts.now
                < session
                    .auth_time
                    .plus_millis(i64::from(rule.max_age_minutes).saturating_mul(60_000));
            // Unknown applies the rule: a step-up is the careful side.
            let applies = || {
                rules
                    .step_up
                    .get(i)
                    .and_then(|r| rules.rule(*r))
                    .and_then(|r| r.when)
                    .is_none_or(|c| !matches!(facts.eval(&rules.conditions, c), Truth::No(_)))
            };
            !(strong && recent) && applies()
        })
        .collect()
}

/// The first step-up rule covering `op` (on `note_type`) among those
/// `unmet` marks ([`unmet_step_ups`]).
fn first_step_up(
    policy: &Policy,
    unmet: &[bool],
    op: Operation,
    note_type: Option<&str>,
) -> Option<usize> {
    if !unmet.contains(&true) {
        return None;
    }
    policy
        .doc()
        .step_up
        .iter()
        .zip(unmet)
        .position(|(rule, unmet)| {
            let covers_type = match (&rule.note_types, note_type) {
                (None, _) => true,
                (Some(list), Some(nt)) => list.iter().any(|x| x == nt),
                (Some(_), None) => false,
            };
            *unmet && rule.actions.contains(&op) && covers_type
        })
}
