//! Log before answering, by construction.
//!
//! Every call of a [`PageSession`] that leaves a trace returns a
//! [`Pending`]: the event drafts to store and, sealed inside, what the
//! session will answer. The answer (a view, a grant, a revealed value) comes
//! out only through [`Pending::commit`], which takes the events as the chain
//! appended them and checks that each is its draft. A caller that stores
//! events before appending them (the browser's IndexedDB journal) therefore
//! cannot reveal first and log later: it has nothing to reveal until it holds
//! the stored events. The session's own state (the vaults a view opens, the
//! grants a reveal accepts) changes at commit too, so a view whose event was
//! never stored leaves nothing behind to break the glass on.

use super::answer::{
    BreakGlassResult, EventRef, HostResult, RefusalReport, Revealed, SealedRecord,
};
use super::error::PageError;
use super::PageSession;
use crate::bounded::{bound, Bounded};
use crate::breakglass::{Exemption, Refusal};
use crate::decision::BreakGlassGrant;
use crate::decision::{Decision, Explanation};
use crate::event::{Event, EventDraft};
use crate::seal::{Decisions, PendingUnseal, UnsealError, Vault};
use serde_json::Value;

/// Event drafts to store, and the answer they unlock.
#[must_use = "store the drafts, then commit: nothing is answered otherwise"]
#[derive(Debug)]
pub struct Pending<S> {
    drafts: Vec<EventDraft>,
    /// What bounding shortened in each draft.
    bounded: Vec<Option<Bounded>>,
    step: S,
}

impl<S: Step> Pending<S> {
    /// `drafts`, each shortened to fit in `max_bytes` ([`crate::bounded`])
    /// from what its producer shortened already, and the answer they unlock.
    pub(super) fn new(
        drafts: Vec<(EventDraft, Bounded)>,
        step: S,
        max_bytes: u32,
    ) -> Result<Self, PageError> {
        let (mut drafts, prior): (Vec<EventDraft>, Vec<Bounded>) = drafts.into_iter().unzip();
        let bounded = drafts
            .iter_mut()
            .zip(prior)
            .map(|(d, prior)| bound(d, prior, max_bytes))
            .collect::<Result<_, _>>()
            .map_err(PageError::Bound)?;
        Ok(Self {
            drafts,
            bounded,
            step,
        })
    }

    /// The events to append and store, in order, before [`Pending::commit`].
    pub fn drafts(&self) -> &[EventDraft] {
        &self.drafts
    }

    /// The answer, once `events` (as appended, in order) show every draft is
    /// in the chain. Any other events: [`PageError::NotLogged`], and nothing
    /// is answered or remembered.
    pub fn commit(self, page: &mut PageSession, events: &[Event]) -> Result<S::Answer, PageError> {
        let logged = events.len() == self.drafts.len()
            && events.iter().zip(&self.drafts).all(|(e, d)| e.body == *d);
        if !logged {
            return Err(PageError::NotLogged);
        }
        self.step.finish(page, events, self.bounded)
    }
}

/// What a [`Pending`] does once its events are stored. Implemented here
/// only, by types nobody outside can build: the one way to run a step is
/// [`Pending::commit`].
pub trait Step: sealed::Sealed {
    /// What the caller gets.
    type Answer;
    /// Finishes with the stored `events` (one per draft, checked) and what
    /// bounding shortened in each.
    fn finish(
        self,
        page: &mut PageSession,
        events: &[Event],
        bounded: Vec<Option<Bounded>>,
    ) -> Result<Self::Answer, PageError>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Sealing {}
    impl Sealed for super::BreakGlassStep {}
    impl Sealed for super::Revealing {}
    impl Sealed for super::HostStep {}
}

/// One sealed record waiting for its event.
#[derive(Debug)]
pub(super) struct SealedPart {
    pub(super) view: Value,
    pub(super) decisions: Decisions,
    pub(super) vault: Vault,
}

/// Sealed records: their views, and their vaults kept for break-glass.
#[derive(Debug)]
pub struct Sealing(pub(super) Vec<SealedPart>);

impl Step for Sealing {
    type Answer = Vec<SealedRecord>;

    fn finish(
        self,
        page: &mut PageSession,
        events: &[Event],
        bounded: Vec<Option<Bounded>>,
    ) -> Result<Self::Answer, PageError> {
        let mut out = Vec::with_capacity(self.0.len());
        for ((part, event), bounded) in self.0.into_iter().zip(events).zip(bounded) {
            let record_id = part.vault.record_id().to_owned();
            out.push(SealedRecord {
                record_id: record_id.clone(),
                view: part.view,
                decisions: part.decisions,
                event: EventRef::of(event),
                bounded,
            });
            page.vaults.insert(record_id, part.vault);
        }
        Ok(out)
    }
}

/// A break-glass verdict: a grant to remember, refusals, or a cancel.
#[derive(Debug)]
pub struct BreakGlassStep(pub(super) Verdict);

/// What a break-glass request came to.
#[derive(Debug)]
pub(super) enum Verdict {
    /// Granted (without the prompt under the exemption, if any): the grant
    /// is remembered once logged.
    Granted(BreakGlassGrant, Option<Exemption>),
    /// Refused.
    Denied(Vec<Refusal>),
    /// The dialog was closed.
    Cancelled,
}

impl Step for BreakGlassStep {
    type Answer = BreakGlassResult;

    fn finish(
        self,
        page: &mut PageSession,
        events: &[Event],
        _bounded: Vec<Option<Bounded>>,
    ) -> Result<Self::Answer, PageError> {
        let event = first(events)?;
        Ok(match self.0 {
            Verdict::Granted(grant, exemption) => {
                page.grants.insert(grant.id.clone(), grant.clone());
                BreakGlassResult::Granted {
                    grant,
                    event,
                    exemption,
                }
            }
            Verdict::Denied(refusals) => BreakGlassResult::Denied {
                refusals: refusals.iter().map(RefusalReport::from).collect(),
                event,
            },
            Verdict::Cancelled => BreakGlassResult::Cancelled { event },
        })
    }
}

/// An unseal: the value waiting for its event, or the refusal logged as `denied`.
#[derive(Debug)]
pub struct Revealing(pub(super) Result<PendingUnseal, UnsealError>);

impl Step for Revealing {
    type Answer = Revealed;

    fn finish(
        self,
        _page: &mut PageSession,
        events: &[Event],
        _bounded: Vec<Option<Bounded>>,
    ) -> Result<Self::Answer, PageError> {
        let logged = events.first().ok_or(PageError::NotLogged)?;
        let pending = self.0.map_err(PageError::Unseal)?;
        Ok(Revealed {
            opening: pending.reveal(logged).map_err(PageError::Unseal)?,
            event: EventRef::of(logged),
        })
    }
}

/// A decided host action.
#[derive(Debug)]
pub struct HostStep(pub(super) Decision, pub(super) Explanation);

impl Step for HostStep {
    type Answer = HostResult;

    fn finish(
        self,
        _page: &mut PageSession,
        events: &[Event],
        bounded: Vec<Option<Bounded>>,
    ) -> Result<Self::Answer, PageError> {
        Ok(HostResult {
            decision: self.0,
            why: self.1,
            event: first(events)?,
            bounded: bounded.into_iter().next().flatten(),
        })
    }
}

/// The reference to the one event of a single-event answer.
fn first(events: &[Event]) -> Result<EventRef, PageError> {
    events.first().map(EventRef::of).ok_or(PageError::NotLogged)
}
