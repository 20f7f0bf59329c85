//! Seed 000's record integrity review and its related-records concern:
//! `key-field-edits`, `note-deleted`, `backdated-entry` and `related-record`.
//!
//! They read what the page session writes when the host logs an edit or a
//! deletion (`docs/protocol.md`): the edited `fields` (JSON Pointers),
//! `detail.effectiveAt` (the date the user gave the entry) and
//! `detail.notes` (how many notes a deletion removed), and the
//! `subject.related` flag of an access to a record the staff member declared
//! a link to.

use std::collections::{HashMap, VecDeque};

use serde_json::Value;

use super::{Candidate, EventRef, Finding, Held, RuleId, StaffRef, MAX_EVIDENCE};
use crate::event::{Action, Event, Outcome};
use crate::policy::{Pattern, RecordIntegrity};
use crate::Timestamp;

/// A related-record access is reported once per staff member and record
/// within this many minutes, so one visit is one finding, not one per click.
const RELATED_GROUP_MINUTES: u32 = 60;

/// One key-field edit in a window.
#[derive(Debug, Clone)]
struct Edit {
    ts: Timestamp,
    actor: StaffRef,
    at: EventRef,
}

/// The rules' state: key-field edits per (record, key field).
#[derive(Debug, Clone)]
pub(super) struct Integrity {
    cfg: RecordIntegrity,
    key_fields: Vec<Pattern>,
    edits: HashMap<(String, usize), VecDeque<Edit>>,
}

impl Integrity {
    /// The rules with `cfg`, whose key fields were checked by
    /// [`crate::policy::AlertConfig::validate`] (a pattern that does not
    /// parse is left out rather than failing later).
    pub(super) fn new(cfg: RecordIntegrity) -> Self {
        let key_fields = cfg
            .key_fields
            .iter()
            .filter_map(|p| Pattern::parse(p).ok())
            .collect();
        Self {
            cfg,
            key_fields,
            edits: HashMap::new(),
        }
    }

    fn window_ms(&self) -> i64 {
        i64::from(self.cfg.key_field_window_days) * 86_400_000
    }

    /// Judges an event on `record`.
    pub(super) fn access(
        &mut self,
        e: &Event,
        ts: Timestamp,
        record: &str,
        actor: &StaffRef,
        held: Held<'_>,
    ) -> Vec<Candidate> {
        let at = EventRef {
            chain: e.chain.clone(),
            seq: e.seq,
        };
        let single = |rule: RuleId, summary: String| {
            Finding::new(
                rule,
                vec![actor.clone()],
                vec![record.to_owned()],
                vec![at.clone()],
                ts,
                summary,
            )
        };
        let mut out = Vec::new();
        let related = e.body.subject.as_ref().is_some_and(|s| s.related);
        if related {
            out.push(Candidate::once_per(
                single(
                    RuleId::RelatedRecord,
                    format!(
                        "`{}` accessed record `{record}`, which they declared a link to",
                        actor.id
                    ),
                ),
                format!("{}\u{0}{record}", actor.id),
                RELATED_GROUP_MINUTES,
            ));
        }
        let detail = &e.body.detail;
        if e.body.action == Action::Delete {
            let notes = detail.get("notes").and_then(Value::as_u64).unwrap_or(0);
            if notes > 0 {
                let done = if e.body.outcome == Outcome::Success {
                    "deleted"
                } else {
                    "tried to delete"
                };
                out.push(Candidate::always(single(
                    RuleId::NoteDeleted,
                    format!(
                        "`{}` {done} {notes} note{} of record `{record}`",
                        actor.id,
                        if notes == 1 { "" } else { "s" }
                    ),
                )));
            }
        }
        if e.body.action != Action::Edit || e.body.outcome != Outcome::Success {
            return out;
        }
        let effective = detail
            .get("effectiveAt")
            .and_then(Value::as_str)
            .and_then(|s| Timestamp::parse(s).ok());
        let allowed = i64::from(self.cfg.max_backdate_hours) * 3_600_000;
        if let Some(effective) = effective.filter(|t| *t < ts.plus_millis(-allowed)) {
            let hours = (ts.millis() - effective.millis()) / 3_600_000;
            out.push(Candidate::always(single(
                RuleId::BackdatedEntry,
                format!(
                    "`{}` made an entry on record `{record}` effective {effective}, \
                         {hours} hours before it was made (more than {} allowed)",
                    actor.id, self.cfg.max_backdate_hours
                ),
            )));
        }
        out.extend(self.key_field_edits(e, ts, record, actor, at, held));
        out
    }

    /// Counts a successful edit against every key field it touched.
    fn key_field_edits(
        &mut self,
        e: &Event,
        ts: Timestamp,
        record: &str,
        actor: &StaffRef,
        at: EventRef,
        held: Held<'_>,
    ) -> Vec<Candidate> {
        let window = self.window_ms();
        let floor = ts.plus_millis(-window);
        let count = usize::try_from(self.cfg.key_field_edits).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        for (i, p) in self.key_fields.iter().enumerate() {
            if !e.body.fields.iter().any(|f| p.covers(f)) {
                continue;
            }
            let q = self.edits.entry((record.to_owned(), i)).or_default();
            q.push_back(Edit {
                ts,
                actor: actor.clone(),
                at: at.clone(),
            });
            while q.front().is_some_and(|x| x.ts < floor) {
                q.pop_front();
            }
            let key = format!("{record}\u{0}{p}");
            let minutes = self.cfg.key_field_window_days.saturating_mul(24 * 60);
            if held(RuleId::KeyFieldEdits, &key, minutes) {
                continue;
            }
            let within: Vec<&Edit> = q.iter().filter(|x| x.ts >= floor && x.ts <= ts).collect();
            if within.len() < count {
                continue;
            }
            let actors = crate::ordered::set(within.iter().map(|x| &x.actor));
            let events = within
                .iter()
                .skip(within.len().saturating_sub(MAX_EVIDENCE))
                .map(|x| x.at.clone())
                .collect();
            out.push(Candidate::once_per(
                Finding::new(
                    RuleId::KeyFieldEdits,
                    actors.into_iter().cloned().collect(),
                    vec![record.to_owned()],
                    events,
                    ts,
                    format!(
                        "key field `{p}` of record `{record}` was edited {} times within {} days",
                        within.len(),
                        self.cfg.key_field_window_days
                    ),
                ),
                key,
                minutes,
            ));
        }
        out
    }

    /// Drops windows no future in-order event can reach.
    pub(super) fn sweep(&mut self, newest: Timestamp) {
        let floor = newest.plus_millis(-self.window_ms());
        self.edits.retain(|_, q| q.iter().any(|x| x.ts >= floor));
    }
}
