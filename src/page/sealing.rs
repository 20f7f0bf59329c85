//! Sealing records for a page, a budget of work at a time: the browser's
//! main thread seals a large record in steps and lets the page run between
//! them (see `crate::seal::SealJob`). Calling [`PageSession::seal`] is the
//! same with no limit.

use serde_json::Value;

use super::error::PageError;
use super::pending::{Pending, SealedPart, Sealing};
use super::PageSession;
use crate::bounded::Bounded;
use crate::decision::FieldAction;
use crate::entropy::Entropy;
use crate::event::EventDraft;
use crate::seal::{SealJob, Step};
use crate::Timestamp;

/// Records being sealed: start with [`PageSession::start_seal`], go on
/// with [`PageSession::seal_step`].
#[derive(Debug)]
pub struct SealRun {
    /// Records not started yet, each with its pointer among the arguments.
    todo: std::vec::IntoIter<(String, Value)>,
    /// The record being sealed.
    current: Option<(String, SealJob)>,
    action: FieldAction,
    now: Timestamp,
    drafts: Vec<(EventDraft, Bounded)>,
    parts: Vec<SealedPart>,
}

/// Where a [`SealRun`] stands after a step.
#[derive(Debug)]
pub enum SealProgress {
    /// More to do: step again.
    More(SealRun),
    /// Every record sealed: store the drafts, then commit.
    Done(Pending<Sealing>),
}

impl PageSession {
    /// Seals `record` for `action`: one `view`/`view-sealed` (or action)
    /// event; errors name `/record`.
    pub fn seal(
        &self,
        record: Value,
        action: FieldAction,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<Pending<Sealing>, PageError> {
        let run = self.start_seal(vec![("/record".to_owned(), record)], action, now);
        self.seal_all(run, entropy)
    }

    /// Seals each of `records` for `action`, one event each; errors name
    /// `/records/{i}`.
    pub fn seal_many(
        &self,
        records: Vec<Value>,
        action: FieldAction,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<Pending<Sealing>, PageError> {
        let run = self.start_seal(named(records), action, now);
        self.seal_all(run, entropy)
    }

    /// Starts sealing `records` (each with its pointer among the call's
    /// arguments, `/record` or `/records/{i}`) for `action` at `now`.
    pub fn start_seal(
        &self,
        records: Vec<(String, Value)>,
        action: FieldAction,
        now: Timestamp,
    ) -> SealRun {
        SealRun {
            drafts: Vec::with_capacity(records.len()),
            parts: Vec::with_capacity(records.len()),
            todo: records.into_iter(),
            current: None,
            action,
            now,
        }
    }

    /// Does about `budget` units of work on `run` (see `crate::seal::SealJob`).
    /// A step after the session changed fails (`SealError::Changed`).
    pub fn seal_step(
        &self,
        mut run: SealRun,
        budget: usize,
        entropy: &mut dyn Entropy,
    ) -> Result<SealProgress, PageError> {
        let access = self.access(run.now);
        let mut budget = budget.max(1);
        loop {
            let (at, job) = match run.current.take() {
                Some(current) => current,
                None => match run.todo.next() {
                    Some((at, record)) => {
                        let job = access.start_seal(record, run.action).map_err(|source| {
                            PageError::Seal {
                                at: at.clone(),
                                source,
                            }
                        })?;
                        (at, job)
                    }
                    None => {
                        let step = Sealing(std::mem::take(&mut run.parts));
                        return self
                            .pending_bounded(std::mem::take(&mut run.drafts), step)
                            .map(SealProgress::Done);
                    }
                },
            };
            match job.step(&access, &mut budget, entropy) {
                Ok(Step::More(job)) => {
                    run.current = Some((at, job));
                    return Ok(SealProgress::More(run));
                }
                Ok(Step::Done(s)) => {
                    run.drafts.push((s.draft, s.bounded));
                    run.parts.push(SealedPart {
                        view: s.view,
                        decisions: s.decisions,
                        vault: s.vault,
                    });
                    if budget == 0 {
                        return Ok(SealProgress::More(run));
                    }
                }
                Err(source) => return Err(PageError::Seal { at, source }),
            }
        }
    }

    fn seal_all(
        &self,
        mut run: SealRun,
        entropy: &mut dyn Entropy,
    ) -> Result<Pending<Sealing>, PageError> {
        loop {
            match self.seal_step(run, usize::MAX, entropy)? {
                SealProgress::More(r) => run = r,
                SealProgress::Done(p) => return Ok(p),
            }
        }
    }
}

/// `records` with their pointers among `sealMany`'s arguments.
pub fn named(records: Vec<Value>) -> Vec<(String, Value)> {
    records
        .into_iter()
        .enumerate()
        .map(|(i, r)| (format!("/records/{i}"), r))
        .collect()
}
