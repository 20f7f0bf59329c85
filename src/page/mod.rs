//! The engine of one page session: what the browser package does between
//! `start` and `close`, without the browser.
//!
//! A [`PageSession`] holds the policy, the host's login session, the vaults
//! of the records it sealed, the grants it issued and the local alert
//! engine. Each call takes parsed inputs, the time and (when it draws salts
//! or grant ids) an [`Entropy`], and returns a [`Pending`]: the event drafts
//! to store and the typed answer ([`SealedRecord`], [`BreakGlassResult`],
//! [`Revealed`], [`HostResult`]) they unlock. The web layer
//! (`src/web/`) only converts JS values, stores the drafts in IndexedDB and
//! commits; everything decided here is tested natively (`tests/page.rs`).

mod answer;
mod credential;
mod error;
mod input;
mod pending;
mod pseudonym;
mod sealing;
mod start;
mod strings;

use std::collections::HashMap;

use serde_json::Value;

pub use answer::{
    Alert, BreakGlassResult, ChainProgress, CollectorNotice, EventRef, Head, HostResult,
    RefusalReport, Revealed, SealedRecord, Status,
};
pub use credential::{owner_changes, ChainCredential, Held};
pub use error::{ErrorCode, ErrorReport, PageError, StartError};
pub use input::{parse, HeadlessRequest};
pub use pending::{BreakGlassStep, HostStep, Pending, Revealing, Sealing, Step};
pub use pseudonym::{hmac_sha256, RecordKey, RecordKeyError};
pub use sealing::{named, SealProgress, SealRun};
pub use start::{StartConfig, StartOptions};
pub use strings::DialogStrings;

use crate::alerts::AlertEngine;
use crate::bounded::Bounded;
use crate::breakglass::{BreakGlassRequest, Exemption, Refusal};
use crate::decision::BreakGlassGrant;
use crate::decision::{Access, HostAction};
use crate::entropy::Entropy;
use crate::event::{Event, EventDraft, Subject};
use crate::policy::Policy;
use crate::seal::Vault;
use crate::session::Session;
use crate::Timestamp;
use pending::Verdict;

/// One page's session: policy, login, sealed records, issued grants, alerts.
#[derive(Debug)]
pub struct PageSession {
    policy: Policy,
    session: Session,
    /// The sealed values of the last sealing of each record, by record id.
    vaults: HashMap<String, Vault>,
    /// Grants issued by this session, by id: a reveal accepts no other.
    grants: HashMap<String, BreakGlassGrant>,
    alerts: AlertEngine,
    /// Given, events name records by pseudonym ([`RecordKey::pseudonym`]).
    record_key: Option<RecordKey>,
}

/// What the break-glass dialog shows for one record and this session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassForm {
    /// Whether this session may break the glass now.
    pub authorised: bool,
    /// The session's role.
    pub role: String,
    /// Reason codes and their labels, in display order.
    pub reason_codes: Vec<(String, String)>,
    /// Fewest characters of reason text, after trimming.
    pub reason_min: u32,
    /// Most characters of reason text, after trimming.
    pub reason_max: u32,
    /// Most characters of context.
    pub context_max: u32,
    /// Set when the policy spares the prompt: the dialog is not shown, and
    /// a blank request is granted under this exemption.
    pub exemption: Option<Exemption>,
}

impl PageSession {
    /// A session of `session` under `policy`, with the policy's alert rules.
    pub fn new(policy: Policy, session: Session) -> Result<Self, StartError> {
        let alerts = AlertEngine::new(
            policy.doc().alerts.clone(),
            policy.doc().break_glass.roles.iter().cloned(),
        )
        .map_err(StartError::Alerts)?;
        Ok(Self {
            policy,
            session,
            vaults: HashMap::new(),
            grants: HashMap::new(),
            alerts,
            record_key: None,
        })
    }

    /// This session, writing record pseudonyms under `key` into its events
    /// instead of record ids (none: record ids as they are).
    pub fn with_record_key(self, key: Option<RecordKey>) -> Self {
        Self {
            record_key: key,
            ..self
        }
    }

    /// `drafts` to store, with their records named as this session names
    /// them (pseudonyms under its key) and bounded to the policy's event
    /// size cap, and the step they unlock: every
    /// trace a call leaves goes out through here.
    fn pending<S: Step>(&self, drafts: Vec<EventDraft>, step: S) -> Result<Pending<S>, PageError> {
        let drafts = drafts.into_iter().map(|d| (d, Bounded::default()));
        self.pending_bounded(drafts.collect(), step)
    }

    /// [`PageSession::pending`] for drafts whose producer shortened some of
    /// them already (what, beside each).
    fn pending_bounded<S: Step>(
        &self,
        mut drafts: Vec<(EventDraft, Bounded)>,
        step: S,
    ) -> Result<Pending<S>, PageError> {
        drafts.iter_mut().for_each(|(d, _)| self.name_record(d));
        Pending::new(drafts, step, self.policy.limits().event_max_bytes)
    }

    /// Names `draft`'s record as this session does: its pseudonym under
    /// the session's key, or its id.
    fn name_record(&self, draft: &mut EventDraft) {
        if let (Some(key), Some(subject)) = (&self.record_key, draft.subject.as_mut()) {
            subject.record_id = key.pseudonym(&subject.record_id);
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The login session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Replaces the login session (a new login or role) with `session`,
    /// checked against the policy at `now`; the policy, the vaults and the
    /// grants stay (a grant still opens only for its user). Returns whether
    /// the owner changed (user, login session or role): then the page
    /// writes a new chain ([`owner_changes`]).
    pub fn set_session(&mut self, session: &Value, now: Timestamp) -> Result<bool, PageError> {
        let session =
            Session::from_value(session, &self.policy, now).map_err(PageError::Session)?;
        let changed = owner_changes(&self.session, &session);
        self.session = session;
        Ok(changed)
    }

    /// The policy folded for this session at `now`.
    pub(super) fn access(&self, now: Timestamp) -> Access<'_> {
        Access::new(&self.policy, &self.session, now, &[])
    }

    /// The record a break-glass or reveal names, as sealed by this session.
    fn vault(&self, record_id: &str) -> Result<&Vault, PageError> {
        self.vaults
            .get(record_id)
            .ok_or_else(|| PageError::NotSealed(record_id.to_owned()))
    }

    fn subject(&self, record_id: &str) -> Result<Subject, PageError> {
        self.vault(record_id).map(|v| v.subject().clone())
    }

    /// The exemption from the prompt for `record_id` at `now`, if the
    /// policy grants one: the treating team, or the user's latest grant on
    /// the record (issued by this page, or one of the session's
    /// `priorGrants`) within the re-prompt window.
    fn exemption(&self, subject: &Subject, now: Timestamp) -> Option<Exemption> {
        let user = &self.session.user_id;
        let issued_here = self
            .grants
            .values()
            .filter(|g| g.user_id == *user && g.record_id == subject.record_id)
            .map(|g| g.issued_at);
        let earlier = self
            .session
            .prior_grants
            .iter()
            .filter(|g| g.record_id == subject.record_id)
            .map(|g| g.issued_at);
        let latest = issued_here.chain(earlier).filter(|t| *t <= now).max();
        self.access(now).exemption(subject, latest)
    }

    /// What the break-glass dialog for `record_id` shows, at `now`.
    pub fn break_glass_form(
        &self,
        record_id: &str,
        now: Timestamp,
    ) -> Result<BreakGlassForm, PageError> {
        let subject = self.subject(record_id)?;
        let rules = &self.policy.doc().break_glass;
        Ok(BreakGlassForm {
            exemption: self.exemption(&subject, now),
            authorised: self.access(now).may_break_glass(),
            role: self.session.role.clone(),
            reason_codes: rules
                .reason_codes
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            reason_min: rules.reason_min_chars,
            reason_max: rules.reason_max_chars,
            context_max: rules.context_max_chars,
        })
    }

    /// Every problem with `request` at `now`, for live feedback (nothing logged).
    pub fn check_break_glass(&self, request: &BreakGlassRequest, now: Timestamp) -> Vec<Refusal> {
        self.access(now).check_break_glass(request)
    }

    /// Decides a break-glass `request` on `record_id`: a grant (remembered
    /// once logged) or the refusals, either way one `break-glass` event. A
    /// blank request (nothing typed) is granted without a reason when the
    /// policy spares the prompt ([`BreakGlassForm::exemption`]); its event
    /// says why.
    pub fn break_glass(
        &self,
        record_id: &str,
        request: &BreakGlassRequest,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<Pending<BreakGlassStep>, PageError> {
        let subject = self.subject(record_id)?;
        let access = self.access(now);
        let exemption = self.exemption(&subject, now).filter(|_| request.is_blank());
        let decided = match exemption {
            Some(e) => access.grant_without_prompt(&subject, e, entropy),
            None => access.break_glass(&subject, request, entropy),
        };
        match decided {
            Ok(granted) => self.pending(
                vec![granted.draft],
                BreakGlassStep(Verdict::Granted(granted.grant, exemption)),
            ),
            Err(refused) => self.pending(
                vec![*refused.draft],
                BreakGlassStep(Verdict::Denied(refused.error)),
            ),
        }
    }

    /// The user closed the break-glass dialog on `record_id` without asking.
    pub fn break_glass_cancelled(
        &self,
        record_id: &str,
        now: Timestamp,
    ) -> Result<Pending<BreakGlassStep>, PageError> {
        let subject = self.subject(record_id)?;
        let draft = self.access(now).break_glass_cancelled(&subject);
        self.pending(vec![draft], BreakGlassStep(Verdict::Cancelled))
    }

    /// Opens the value sealed at `pointer` of `record_id` under `grant`,
    /// which must be one this session issued, unaltered. The answer comes
    /// with its `unseal` event; a refusal is an `unseal` event too (outcome
    /// `denied`), and committing it answers with the refusal.
    pub fn reveal(
        &self,
        record_id: &str,
        pointer: &str,
        grant: &BreakGlassGrant,
        now: Timestamp,
    ) -> Result<Pending<Revealing>, PageError> {
        if self.grants.get(&grant.id) != Some(grant) {
            return Err(PageError::UnknownGrant(grant.id.clone()));
        }
        let vault = self.vault(record_id)?;
        match vault.prepare_unseal(&self.access(now), grant, pointer) {
            Ok(pending) => {
                // The unseal checks the logged event against its own draft: named once, here.
                let pending = pending.renamed(|d| self.name_record(d));
                Pending::new(
                    vec![(pending.draft().clone(), Bounded::default())],
                    Revealing(Ok(pending)),
                    self.policy.limits().event_max_bytes,
                )
            }
            Err(refused) => self.pending(vec![*refused.draft], Revealing(Err(refused.error))),
        }
    }

    /// Decides a host `action`, on `record` when it concerns one.
    pub fn host_action(
        &self,
        action: &HostAction,
        record: Option<&Value>,
        now: Timestamp,
    ) -> Result<Pending<HostStep>, PageError> {
        let decided = self
            .access(now)
            .decide_host(action, record)
            .map_err(PageError::from)?;
        self.pending(vec![decided.draft], HostStep(decided.decision, decided.why))
    }

    /// Runs the local alert rules over newly stored `events`.
    pub fn observe(&mut self, events: &[Event]) -> Vec<Alert> {
        events
            .iter()
            .flat_map(|e| self.alerts.push(e))
            .map(Alert::Local)
            .collect()
    }
}
