//! Sealing in steps: a [`SealJob`] walks the record, then decides and seals
//! its units, a budget of work at a time, so a caller on a single thread
//! (the browser's) can let other work run between steps.
//!
//! A unit of work is one JSON value visited by the walk, or one field
//! decided and, when refused, committed and replaced. One value is always
//! handled whole, whatever the budget. Stepping with any budgets gives the
//! same view, decisions and event as sealing in one go: salts are drawn in
//! field order, 32 bytes each, whatever the steps.

use std::collections::BTreeSet;

use serde_json::Value;

use super::commitment::{self, commit, Salt};
use super::vault::{Vault, VaultEntry};
use super::walk::{Units, Walk};
use super::{placeholder, Decided, Decisions, SealError, Sealed};
use crate::bounded::{canonical_str_len, write_bounded, Bounded, ListDigest, ListDigester};
use crate::canon::CanonError;
use crate::decision::{Access, FieldAction, RecordFacts, Standing};
use crate::entropy::{Entropy, EntropyError};
use crate::event::{Action, Outcome, Relation};
use crate::session::Session;
use crate::Timestamp;

/// A sealing in progress; see [`Access::start_seal`]. Small to move: the
/// state lives on the heap.
#[derive(Debug)]
pub struct SealJob(Box<State>);

#[derive(Debug)]
struct State {
    view: Value,
    action: FieldAction,
    facts: RecordFacts,
    relation: Relation,
    /// How the session stands to the record: conditions reading the record
    /// are decided once, when the job starts.
    standing: Standing,
    /// What the job was started under: every step must be given the same.
    started: Started,
    /// `Some` while the record is being walked.
    walk: Option<Walk>,
    /// The units walked (their pointers move to `decisions` once walked).
    units: Units,
    /// Units decided so far.
    cursor: usize,
    /// The record's size, once walked, when it is past the policy's cap.
    too_large: Option<u64>,
    decisions: Decisions,
    /// The decisions made so far, by note types (for the rest of the record).
    decided: Decided,
    entries: Vec<VaultEntry>,
    /// The event's `fields` and `detail.sealed`, note types and labels,
    /// gathered as units are decided.
    fields: Listed,
    sealed: Listed,
    note_types: BTreeSet<String>,
    labels: BTreeSet<String>,
}

/// A list of pointers for the event: kept while it could still fit in one;
/// past that, digested as it grows ([`crate::bounded`]), so a view of
/// 100,000 notes never builds a list it would only digest.
#[derive(Debug)]
struct Listed {
    list: Vec<String>,
    /// Canonical bytes of `list`.
    bytes: u64,
    /// Set once the list grew past the cap.
    digest: Option<ListDigester>,
    cap: u64,
}

impl Listed {
    fn new(cap: u32) -> Self {
        Self {
            list: Vec::new(),
            bytes: 2,
            digest: None,
            cap: u64::from(cap),
        }
    }

    fn push(&mut self, pointer: &str) -> Result<(), CanonError> {
        if let Some(d) = &mut self.digest {
            return d.push(pointer);
        }
        self.bytes += canonical_str_len(pointer) + u64::from(!self.list.is_empty());
        self.list.push(pointer.to_owned());
        if self.bytes > self.cap {
            let mut d = ListDigester::default();
            for p in self.list.drain(..) {
                d.push(&p)?;
            }
            self.digest = Some(d);
        }
        Ok(())
    }

    /// The list, or (when it grew past the cap) `None` and its digest in `b`.
    fn finish(self, b: &mut Option<ListDigest>) -> Option<Vec<String>> {
        match self.digest {
            Some(d) => {
                *b = Some(d.finish());
                None
            }
            None => Some(self.list),
        }
    }
}

/// The result of one step.
#[derive(Debug)]
pub enum Step {
    /// More to do: step again.
    More(SealJob),
    /// Done.
    Done(Box<Sealed>),
}

impl Access<'_> {
    /// Starts sealing `record` for `action`; nothing is sealed until
    /// [`SealJob::step`]. Refuses a record without what the policy needs
    /// (an object with an id) at once.
    pub fn start_seal(&self, record: Value, action: FieldAction) -> Result<SealJob, SealError> {
        let facts = RecordFacts::read(self.policy(), &record)?;
        let relation = self.relation(&facts.id, facts.team.as_deref());
        let standing = self.standing(Some(&facts));
        let walk = Walk::new(self.policy(), &record);
        Ok(SealJob(Box::new(State {
            view: record,
            action,
            facts,
            relation,
            standing,
            started: Started::of(self),
            walk: Some(walk),
            units: Units::default(),
            cursor: 0,
            too_large: None,
            decisions: Decisions::default(),
            decided: Decided::default(),
            entries: Vec::new(),
            fields: Listed::new(self.policy().limits().event_max_bytes),
            sealed: Listed::new(self.policy().limits().event_max_bytes),
            note_types: BTreeSet::new(),
            labels: BTreeSet::new(),
        })))
    }

    /// Seals `record` for `action` in one go: every field not allowed is
    /// replaced by a placeholder and its value moved to the vault with a
    /// fresh salt.
    pub fn seal(
        &self,
        record: Value,
        action: FieldAction,
        entropy: &mut dyn Entropy,
    ) -> Result<Sealed, SealError> {
        let mut job = self.start_seal(record, action)?;
        loop {
            let mut budget = usize::MAX;
            match job.step(self, &mut budget, entropy)? {
                Step::More(j) => job = j,
                Step::Done(s) => return Ok(*s),
            }
        }
    }

    /// Decides `action` on every field of `record`, without changing it.
    pub fn decide_record(
        &self,
        record: &Value,
        action: FieldAction,
    ) -> Result<(RecordFacts, Decisions), crate::decision::RecordError> {
        let facts = RecordFacts::read(self.policy(), record)?;
        let standing = self.standing(Some(&facts));
        let mut walk = Walk::new(self.policy(), record);
        let mut units = Units::default();
        let mut budget = usize::MAX;
        walk.step(self.policy(), record, &mut budget, &mut units);
        let too_large = too_large(self, walk.size()).is_some();
        let mut decided = Decided::default();
        let mut decisions = Decisions::new(units.pointers);
        decisions.fields.reserve_exact(units.list.len());
        for u in units.list {
            self.field_decision(
                u,
                action,
                &standing,
                too_large,
                &mut decided,
                &mut decisions,
            );
        }
        Ok((facts, decisions))
    }
}

impl SealJob {
    /// Does about `budget` units of work, taking them from it (a value is
    /// handled whole, so a step may overdraw it to zero); the sealed record
    /// once everything is done. `access` must be for the policy, session and
    /// time the job was started with.
    pub fn step(
        mut self,
        access: &Access<'_>,
        budget: &mut usize,
        entropy: &mut dyn Entropy,
    ) -> Result<Step, SealError> {
        match self.0.step(access, budget, entropy)? {
            true => Ok(Step::Done(Box::new((*self.0).finish(access)))),
            false => Ok(Step::More(self)),
        }
    }
}

impl State {
    /// Works on; true once everything is sealed.
    fn step(
        &mut self,
        access: &Access<'_>,
        budget: &mut usize,
        entropy: &mut dyn Entropy,
    ) -> Result<bool, SealError> {
        if Started::of(access) != self.started {
            return Err(SealError::Changed);
        }
        if let Some(walk) = &mut self.walk {
            if !walk.step(access.policy(), &self.view, budget, &mut self.units) {
                return Ok(false);
            }
            self.too_large = too_large(access, walk.size());
            self.walk = None;
            self.decisions = Decisions::new(std::mem::take(&mut self.units.pointers));
        }
        let n = self.units.list.len();
        while *budget > 0 && self.cursor < n {
            let end = n.min(self.cursor.saturating_add(*budget));
            self.seal_units(access, end, entropy)?;
            *budget -= end - self.cursor;
            self.cursor = end;
        }
        Ok(self.cursor == n)
    }

    /// Decides units `cursor..end`, then seals the refused ones.
    fn seal_units(
        &mut self,
        access: &Access<'_>,
        end: usize,
        entropy: &mut dyn Entropy,
    ) -> Result<(), SealError> {
        let first = self.decisions.len();
        let units = self
            .units
            .list
            .get_mut(self.cursor..end)
            .unwrap_or_default();
        for u in units {
            access.field_decision(
                std::mem::take(u),
                self.action,
                &self.standing,
                self.too_large.is_some(),
                &mut self.decided,
                &mut self.decisions,
            );
        }
        let fresh = || self.decisions.from(first);
        let policy = access.policy();
        let default = policy.note_types.id(policy.default_note_type);
        for d in fresh().filter(|d| *d.note_type != *default) {
            self.fields.push(d.pointer)?;
            if !self.note_types.contains(d.note_type) {
                self.note_types.insert(d.note_type.to_owned());
            }
            for l in d.labels.iter() {
                if !self.labels.contains(l) {
                    self.labels.insert(l.clone());
                }
            }
        }
        // One draw of entropy for the salts of the step: a system call per
        // field would dominate the cost of sealing a caseload.
        let refused = fresh().filter(|d| !d.decision.is_allow()).count();
        let mut salt_bytes = vec![0u8; refused * commitment::SALT_LEN];
        if refused > 0 {
            entropy.fill(&mut salt_bytes)?;
        }
        let mut salts = salt_bytes
            .chunks_exact(commitment::SALT_LEN)
            .filter_map(|c| <[u8; commitment::SALT_LEN]>::try_from(c).ok())
            .map(Salt::from_bytes);
        for d in fresh().filter(|d| !d.decision.is_allow()) {
            let Some(slot) = crate::pointer::get_mut(&mut self.view, d.pointer) else {
                continue;
            };
            // INVARIANT: one salt was drawn per decision that is not `Allow`.
            let Some(salt) = salts.next() else {
                return Err(SealError::Entropy(EntropyError::Unavailable(
                    "too few random bytes for the sealed fields".to_owned(),
                )));
            };
            let commitment = commit(&salt, slot)?;
            let wrapped = placeholder(d, &commitment);
            let value = std::mem::replace(slot, wrapped);
            self.sealed.push(d.pointer)?;
            self.entries.push(VaultEntry {
                pointer: d.pointer.to_owned(),
                note_type: d.note_type.to_owned(),
                labels: d.labels.to_vec(),
                value,
                salt,
                commitment,
            });
        }
        Ok(())
    }

    /// The view, the vault and the event.
    fn finish(self, access: &Access<'_>) -> Sealed {
        let policy = access.policy();
        let action_name = match self.action {
            FieldAction::View if self.entries.is_empty() => Action::View,
            FieldAction::View => Action::ViewSealed,
            FieldAction::Edit => Action::Edit,
            FieldAction::Export => Action::Export,
            FieldAction::Print => Action::Print,
            FieldAction::Delete => Action::Delete,
        };
        let subject = access.subject(&self.facts, self.relation);
        let mut draft = access.draft(action_name, Outcome::Success);
        draft.subject = Some(subject.clone());
        let mut bounded = Bounded::default();
        draft.fields = self.fields.finish(&mut bounded.fields).unwrap_or_default();
        draft.note_types = self.note_types.into_iter().collect();
        draft.labels = self.labels.into_iter().collect();
        draft.purpose_of_use = Some("TREAT".to_owned());
        // The rules that decided (allowing, or refusing by a condition), by
        // their pointers in the policy; never an attribute's value.
        let rules = crate::ordered::set(
            self.decisions
                .explanations()
                .filter_map(|why| why.rule.as_deref()),
        );
        if !rules.is_empty() {
            draft.detail.insert(
                "rules".to_owned(),
                rules.into_iter().map(serde_json::Value::from).collect(),
            );
        }
        if let Some(sealed) = self.sealed.finish(&mut bounded.sealed) {
            if !sealed.is_empty() {
                draft.detail.insert("sealed".to_owned(), sealed.into());
            }
        }
        if bounded != Bounded::default() {
            // INVARIANT: a `Bounded` of strings and integers always serialises.
            let _ = write_bounded(&mut draft, &bounded);
        }
        if let Some(bytes) = self.too_large {
            draft.detail.insert(
                "recordTooLarge".to_owned(),
                serde_json::json!({
                    "bytes": bytes,
                    "maxBytes": policy.limits().record_max_bytes,
                }),
            );
        }
        let State {
            view,
            decisions,
            entries,
            ..
        } = self;
        Sealed {
            view,
            decisions,
            vault: Vault::new(subject, entries),
            draft,
            bounded,
        }
    }
}

/// The policy, session and time of an [`Access`], told apart cheaply: the
/// time, and a hash of the policy's hash and the session's identity (not
/// its caseload, which may be long).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Started {
    now: Timestamp,
    key: u64,
}

impl Started {
    fn of(access: &Access<'_>) -> Self {
        use std::hash::{Hash, Hasher};
        let s: &Session = access.session();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (access.policy().hash(), &s.user_id, &s.session_id, &s.role).hash(&mut h);
        (&s.team, &s.auth_strength, s.auth_time, s.expires_at).hash(&mut h);
        s.caseload.len().hash(&mut h);
        Self {
            now: access.now(),
            key: h.finish(),
        }
    }
}

/// `Some(size)` when a record of `size` bytes is past the policy's cap.
fn too_large(access: &Access<'_>, size: u64) -> Option<u64> {
    (size > u64::from(access.policy().limits().record_max_bytes)).then_some(size)
}
