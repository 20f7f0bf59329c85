//! `demographic-targeting`: a staff member's records concentrated on one
//! demographic group beyond what the caseload's makeup predicts.
//!
//! Records carry coarse attributes in `subject.demographics` (the policy's
//! `record.demographics`: `ageBand`, `gender`, ...). Over the trailing
//! window, for one attribute `a` and one group `g` of it:
//!
//! - `n`: distinct records with `a` the staff member accessed, `k` of them in `g`;
//! - `N`: distinct records with `a` anyone accessed, `K` of them in `g`;
//!   `p = K / N` is the group's share of the caseload seen;
//! - `G`: the groups of `a` among those `N` records.
//!
//! The rule fires when `P(X ≥ k)` for `X ~ Binomial(n, p)` is below
//! `1 / (significanceOneIn · G)` (one-sided, Bonferroni over the groups), and
//! only when `n ≥ minRecords`, `k ≥ minGroupRecords`, `N ≥ minPopulation`,
//! `G ≥ 2` and `k > n·p`. Break-glass attempts are judged again on their own
//! (`n` and `k` counting only records the staff member broke the glass on,
//! with their own floors). Small numbers therefore never accuse anyone: below
//! the floors the rule is silent, whatever the shares.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::stats::binomial_upper;
use super::{Candidate, EventRef, Finding, Held, RuleId, StaffRef, MAX_EVIDENCE};
use crate::event::{Action, Event};
use crate::policy::DemographicTargeting;
use crate::Timestamp;

/// One record last seen in a window.
#[derive(Debug, Clone)]
struct Seen {
    ts: Timestamp,
    groups: BTreeMap<String, String>,
    at: EventRef,
}

/// The distinct records seen in a trailing window, counted by group.
#[derive(Debug, Clone, Default)]
struct Distinct {
    records: HashMap<String, Seen>,
    order: VecDeque<(Timestamp, String)>,
    /// Records per (attribute, group).
    counts: HashMap<(String, String), u64>,
    /// Records per attribute.
    totals: HashMap<String, u64>,
}

impl Distinct {
    /// Adds `record` at `ts`; true when it is new to the window or its
    /// groups changed (so the counts moved).
    fn insert(
        &mut self,
        record: &str,
        groups: &BTreeMap<String, String>,
        ts: Timestamp,
        at: &EventRef,
    ) -> bool {
        self.order.push_back((ts, record.to_owned()));
        let moved = match self.records.get_mut(record) {
            Some(seen) => {
                seen.ts = seen.ts.max(ts);
                seen.at = at.clone();
                if seen.groups == *groups {
                    return false;
                }
                let old = std::mem::replace(&mut seen.groups, groups.clone());
                self.count(&old, false);
                true
            }
            None => {
                self.records.insert(
                    record.to_owned(),
                    Seen {
                        ts,
                        groups: groups.clone(),
                        at: at.clone(),
                    },
                );
                true
            }
        };
        self.count(groups, true);
        moved
    }

    fn count(&mut self, groups: &BTreeMap<String, String>, up: bool) {
        for (a, g) in groups {
            for n in [
                self.counts.entry((a.clone(), g.clone())).or_default(),
                self.totals.entry(a.clone()).or_default(),
            ] {
                *n = if up {
                    n.saturating_add(1)
                } else {
                    n.saturating_sub(1)
                };
            }
        }
        self.counts.retain(|_, n| *n > 0);
        self.totals.retain(|_, n| *n > 0);
    }

    /// Forgets records last seen before `floor`.
    fn evict(&mut self, floor: Timestamp) {
        while let Some((ts, record)) = self.order.front().cloned() {
            if ts >= floor {
                break;
            }
            self.order.pop_front();
            if self.records.get(&record).is_some_and(|s| s.ts <= ts) {
                if let Some(seen) = self.records.remove(&record) {
                    self.count(&seen.groups, false);
                }
            }
        }
    }

    fn group(&self, a: &str, g: &str) -> u64 {
        self.counts
            .get(&(a.to_owned(), g.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    fn total(&self, a: &str) -> u64 {
        self.totals.get(a).copied().unwrap_or(0)
    }

    fn groups_of(&self, a: &str) -> u64 {
        self.counts.keys().filter(|(x, _)| x == a).count() as u64
    }
}

/// A staff member's two streams.
#[derive(Debug, Clone, Default)]
struct Staff {
    accesses: Distinct,
    break_glass: Distinct,
}

/// The rule's state.
#[derive(Debug, Clone)]
pub(super) struct Targeting {
    cfg: DemographicTargeting,
    population: Distinct,
    staff: HashMap<String, Staff>,
}

impl Targeting {
    pub(super) fn new(cfg: DemographicTargeting) -> Self {
        Self {
            cfg,
            population: Distinct::default(),
            staff: HashMap::new(),
        }
    }

    fn floor(&self, ts: Timestamp) -> Timestamp {
        ts.plus_millis(-i64::from(self.cfg.window_days) * 86_400_000)
    }

    /// Notes an access to `record` and judges the attributes it moved: one
    /// finding per staff member, attribute, group and stream per window.
    pub(super) fn access(
        &mut self,
        e: &Event,
        ts: Timestamp,
        record: &str,
        actor: &StaffRef,
        held: Held<'_>,
    ) -> Vec<Candidate> {
        let Some(groups) = e.body.subject.as_ref().map(|s| &s.demographics) else {
            return Vec::new();
        };
        if groups.is_empty() {
            return Vec::new();
        }
        let at = EventRef {
            chain: e.chain.clone(),
            seq: e.seq,
        };
        let floor = self.floor(ts);
        self.population.insert(record, groups, ts, &at);
        self.population.evict(floor);
        let staff = self.staff.entry(actor.id.clone()).or_default();
        let mut moved = vec![(false, staff.accesses.insert(record, groups, ts, &at))];
        staff.accesses.evict(floor);
        if e.body.action == Action::BreakGlass {
            moved.push((true, staff.break_glass.insert(record, groups, ts, &at)));
            staff.break_glass.evict(floor);
        }
        let mut out = Vec::new();
        for (bg, changed) in moved {
            if !changed {
                continue;
            }
            // A new record moves `n` for every group of its attributes, not
            // only its own: judge them all (there are few).
            let mut judged: Vec<(String, String)> = self
                .staff
                .get(&actor.id)
                .map(|s| if bg { &s.break_glass } else { &s.accesses })
                .map(|stream| {
                    stream
                        .counts
                        .keys()
                        .filter(|(a, _)| groups.contains_key(a))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            judged.sort();
            let minutes = self.cfg.window_days.saturating_mul(24 * 60);
            for (a, g) in &judged {
                let key = format!("{}\u{0}{a}\u{0}{g}\u{0}{bg}", actor.id);
                if held(RuleId::DemographicTargeting, &key, minutes) {
                    continue;
                }
                if let Some(f) = self.judge(actor, a, g, bg, ts) {
                    out.push(Candidate::once_per(f, key, minutes));
                }
            }
        }
        out
    }

    fn judge(
        &self,
        actor: &StaffRef,
        a: &str,
        g: &str,
        break_glass: bool,
        ts: Timestamp,
    ) -> Option<Finding> {
        let cfg = &self.cfg;
        let staff = self.staff.get(&actor.id)?;
        let (stream, min_n, min_k) = if break_glass {
            (
                &staff.break_glass,
                cfg.break_glass_min_records,
                cfg.break_glass_min_group_records,
            )
        } else {
            (&staff.accesses, cfg.min_records, cfg.min_group_records)
        };
        let (n, k) = (stream.total(a), stream.group(a, g));
        let (big_n, big_k) = (self.population.total(a), self.population.group(a, g));
        let groups = self.population.groups_of(a);
        if n < u64::from(min_n)
            || k < u64::from(min_k)
            || big_n < u64::from(cfg.min_population)
            || groups < 2
        {
            return None;
        }
        let p = big_k as f64 / big_n as f64;
        let expected = n as f64 * p;
        if k as f64 <= expected {
            return None;
        }
        let p_value = binomial_upper(k, n, p);
        if p_value >= 1.0 / (f64::from(cfg.significance_one_in) * groups as f64) {
            return None;
        }
        let mut evidence: Vec<(&String, &Seen)> = stream
            .records
            .iter()
            .filter(|(_, s)| s.groups.get(a).is_some_and(|x| x == g))
            .collect();
        evidence.sort_by(|x, y| (x.1.ts, &x.1.at).cmp(&(y.1.ts, &y.1.at)));
        let evidence = evidence
            .iter()
            .skip(evidence.len().saturating_sub(MAX_EVIDENCE));
        let mut records: Vec<String> = evidence.clone().map(|(r, _)| (*r).clone()).collect();
        records.sort();
        let verb = if break_glass {
            "broke the glass on"
        } else {
            "accessed"
        };
        Some(Finding::new(
            RuleId::DemographicTargeting,
            vec![actor.clone()],
            records,
            evidence.map(|(_, s)| s.at.clone()).collect(),
            ts,
            format!(
                "`{}` {verb} {k} of {n} records with `{a}` = `{g}` in {} days, where the \
                 caseload's makeup ({big_k} of {big_n} records, {:.0}%) predicts {expected:.1} \
                 (one-sided binomial p = {p_value:.1e}, below 1/{} over {groups} groups); \
                 requires safeguarding review",
                actor.id,
                cfg.window_days,
                p * 100.0,
                cfg.significance_one_in
            ),
        ))
    }

    /// Drops staff with nothing left in the window.
    pub(super) fn sweep(&mut self, newest: Timestamp) {
        let floor = self.floor(newest);
        self.population.evict(floor);
        self.staff.retain(|_, s| {
            s.accesses.evict(floor);
            s.break_glass.evict(floor);
            !s.accesses.records.is_empty() || !s.break_glass.records.is_empty()
        });
    }
}
