//! `off-hours-spike`: a staff member's off-hours accesses in the trailing
//! window against the count their own baseline, and their team's, predict.
//!
//! For an off-hours access at `ts`, with window `W` and baseline `B` days:
//!
//! - `k`: the staff member's off-hours accesses in `(ts - W, ts]`;
//! - own rate: their off-hours accesses in the baseline `[ts - W - B, ts - W]`,
//!   plus one, per day of that baseline they were seen in (from their first
//!   access, at most `B` days): the "plus one" keeps a baseline of zero from
//!   predicting zero;
//! - team rate: the same over their peers (staff of the same `actor.team`,
//!   or of the same role when events carry no team, the staff member
//!   excluded), pooled: their off-hours accesses plus one, per peer-day;
//! - each rate times `W` is the count it predicts, `λ`, and the rule fires
//!   when `P(X ≥ k)` for `X ~ Poisson(λ)` is below `1 / significanceOneIn`
//!   for the own baseline and for the team's (when the team has peers with
//!   at least `minBaselineDays` peer-days).
//!
//! It says nothing while `k < minCount`, or while the staff member has been
//! seen for less than `minBaselineDays` before the window: a new starter
//! has no baseline to deviate from.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::stats::poisson_upper;
use super::{Candidate, EventRef, Finding, Held, RuleId, StaffRef, MAX_EVIDENCE};
use crate::event::Event;
use crate::policy::OffHoursSpike;
use crate::Timestamp;

const DAY_MS: f64 = 86_400_000.0;

/// What the rule remembers of one staff member.
#[derive(Debug, Clone)]
struct History {
    team: String,
    first_seen: Timestamp,
    last_seen: Timestamp,
    /// Off-hours accesses within window and baseline: time, record, event.
    off: VecDeque<(Timestamp, String, EventRef)>,
    /// The times of `off`, sorted: counting a range takes two binary
    /// searches instead of a walk of `off` on every off-hours access (a
    /// burst of them cost the square of its size).
    times: VecDeque<Timestamp>,
}

impl History {
    /// How many off-hours accesses lie in `range`.
    fn count(&self, range: impl std::ops::RangeBounds<Timestamp>) -> usize {
        use std::ops::Bound;
        let from = match range.start_bound() {
            Bound::Included(t) => self.times.partition_point(|x| x < t),
            Bound::Excluded(t) => self.times.partition_point(|x| x <= t),
            Bound::Unbounded => 0,
        };
        let to = match range.end_bound() {
            Bound::Included(t) => self.times.partition_point(|x| x <= t),
            Bound::Excluded(t) => self.times.partition_point(|x| x < t),
            Bound::Unbounded => self.times.len(),
        };
        to.saturating_sub(from)
    }
}

/// The rule's state: per staff member, their team and off-hours accesses.
#[derive(Debug, Clone)]
pub(super) struct Spikes {
    cfg: OffHoursSpike,
    staff: HashMap<String, History>,
}

impl Spikes {
    pub(super) fn new(cfg: OffHoursSpike) -> Self {
        Self {
            cfg,
            staff: HashMap::new(),
        }
    }

    fn window_ms(&self) -> i64 {
        i64::from(self.cfg.window_days) * 86_400_000
    }

    fn span_ms(&self) -> i64 {
        i64::from(self.cfg.window_days.saturating_add(self.cfg.baseline_days)) * 86_400_000
    }

    /// Notes an access by `e`'s actor at `ts` (in hours or not: being
    /// seen is what makes a baseline) and, when it is `off_hours`, judges:
    /// one finding per staff member per window.
    pub(super) fn access(
        &mut self,
        e: &Event,
        ts: Timestamp,
        record: &str,
        actor: &StaffRef,
        off_hours: bool,
        held: Held<'_>,
    ) -> Option<Candidate> {
        let team = match &e.body.actor.team {
            Some(t) => format!("team {t}"),
            None => format!("role {}", actor.role),
        };
        let span = self.span_ms();
        let h = self
            .staff
            .entry(actor.id.clone())
            .or_insert_with(|| History {
                team: team.clone(),
                first_seen: ts,
                last_seen: ts,
                off: VecDeque::new(),
                times: VecDeque::new(),
            });
        h.team = team;
        h.first_seen = h.first_seen.min(ts);
        h.last_seen = h.last_seen.max(ts);
        if !off_hours {
            return None;
        }
        let at = EventRef {
            chain: e.chain.clone(),
            seq: e.seq,
        };
        h.off.push_back((ts, record.to_owned(), at));
        let place = h.times.partition_point(|x| *x <= ts);
        h.times.insert(place, ts);
        let floor = ts.plus_millis(-span);
        while h.off.front().is_some_and(|x| x.0 < floor) {
            if let Some((gone, _, _)) = h.off.pop_front() {
                let place = h.times.partition_point(|x| *x < gone);
                h.times.remove(place);
            }
        }
        let minutes = self.cfg.window_days.saturating_mul(24 * 60);
        if held(RuleId::OffHoursSpike, &actor.id, minutes) {
            return None;
        }
        self.judge(actor, ts)
            .map(|f| Candidate::once_per(f, actor.id.clone(), minutes))
    }

    /// The test for `actor` at `ts`, their access just recorded.
    fn judge(&self, actor: &StaffRef, ts: Timestamp) -> Option<Finding> {
        let cfg = &self.cfg;
        let h = self.staff.get(&actor.id)?;
        let window_start = ts.plus_millis(-self.window_ms());
        let baseline_start = ts.plus_millis(-self.span_ms());
        use std::ops::Bound::{Excluded, Included};
        let k = h.count((Excluded(window_start), Included(ts))) as u64;
        if k < u64::from(cfg.min_count) {
            return None;
        }
        let min_days = f64::from(cfg.min_baseline_days);
        let own_days = days_seen(h, baseline_start, window_start);
        if own_days < min_days || own_days <= 0.0 {
            return None;
        }
        let window_days = f64::from(cfg.window_days);
        let alpha = 1.0 / f64::from(cfg.significance_one_in);
        let own_lambda =
            (baseline_count(h, baseline_start, window_start) + 1.0) / own_days * window_days;
        let own_p = poisson_upper(k, own_lambda);
        if own_p >= alpha {
            return None;
        }
        let (mut peer_count, mut peer_days) = (0.0, 0.0);
        for (id, p) in &self.staff {
            if *id == actor.id || p.team != h.team {
                continue;
            }
            let d = days_seen(p, baseline_start, window_start);
            if d > 0.0 {
                peer_days += d;
                peer_count += baseline_count(p, baseline_start, window_start);
            }
        }
        let team = if peer_days >= min_days && peer_days > 0.0 {
            let lambda = (peer_count + 1.0) / peer_days * window_days;
            let p = poisson_upper(k, lambda);
            if p >= alpha {
                return None;
            }
            Some((lambda, p))
        } else {
            None
        };
        let team_words = match team {
            Some((lambda, p)) => {
                format!("their {}'s peers predict {lambda:.1} (p = {p:.1e})", h.team)
            }
            None => format!("their {} has no established peers to compare", h.team),
        };
        let in_window: Vec<&(Timestamp, String, EventRef)> = h
            .off
            .iter()
            .filter(|x| x.0 > window_start && x.0 <= ts)
            .collect();
        let evidence = in_window
            .iter()
            .skip(in_window.len().saturating_sub(MAX_EVIDENCE));
        let records: BTreeSet<String> = evidence.clone().map(|x| x.1.clone()).collect();
        Some(Finding::new(
            RuleId::OffHoursSpike,
            vec![actor.clone()],
            records.into_iter().collect(),
            evidence.map(|x| x.2.clone()).collect(),
            ts,
            format!(
                "`{}` made {k} off-hours accesses in {} days: their own baseline predicts \
                 {own_lambda:.1} (one-sided Poisson p = {own_p:.1e}, below 1/{}) and {team_words}",
                actor.id, cfg.window_days, cfg.significance_one_in
            ),
        ))
    }

    /// Drops staff not seen since `horizon`.
    pub(super) fn sweep(&mut self, newest: Timestamp) {
        let horizon = newest.plus_millis(-self.span_ms());
        self.staff.retain(|_, h| h.last_seen >= horizon);
    }
}

/// Days of `[from, to]` after `h` was first seen (0 when first seen later).
fn days_seen(h: &History, from: Timestamp, to: Timestamp) -> f64 {
    let start = h.first_seen.max(from);
    if start >= to || h.last_seen < from {
        return 0.0;
    }
    (to.millis() - start.millis()) as f64 / DAY_MS
}

/// `h`'s off-hours accesses in `[from, to]`.
fn baseline_count(h: &History, from: Timestamp, to: Timestamp) -> f64 {
    h.count(from..=to) as f64
}
