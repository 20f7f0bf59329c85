//! The streaming alert engine and its batch helpers.

use std::collections::{BTreeSet, HashMap};

use serde::Deserialize;
use serde_json::Value;

use super::drift::Drift;
use super::hours::Hours;
use super::integrity::Integrity;
#[cfg(feature = "population")]
use super::spike::Spikes;
#[cfg(feature = "population")]
use super::targeting::Targeting;
use super::window::{Stamped, Window};
use super::{Candidate, EventRef, Finding, RuleId, StaffRef};
use crate::event::{Action, Event, Relation, PURPOSE_BTG};
use crate::ordered::set;
use crate::policy::{AlertConfig, AlertConfigError};
use crate::Timestamp;

/// Off-hours findings for one actor are grouped: after one, the next comes
/// no sooner than this many minutes later, so a night shift is one finding
/// per hour rather than one per click.
const OFF_HOURS_GROUP_MINUTES: u32 = 60;

/// How many pushes between sweeps of idle window state.
const SWEEP_EVERY: u64 = 4096;

/// Why events could not be judged.
#[derive(Debug, thiserror::Error)]
pub enum AlertInputError {
    /// The configuration is unusable.
    #[error("alert settings: {0}")]
    Config(#[from] AlertConfigError),
    /// An input value is not a sealtrail event.
    #[error("event {position} is not a sealtrail event: {detail}")]
    Event {
        /// Position of the value in the input, from 0.
        position: usize,
        /// What serde found wrong.
        detail: String,
    },
}

/// One access in a window.
#[derive(Debug, Clone)]
struct Access {
    ts: Timestamp,
    record: String,
    actor: StaffRef,
    care: bool,
    at: EventRef,
}

impl Stamped for Access {
    fn ts(&self) -> Timestamp {
        self.ts
    }
}

/// The streaming engine: push events one at a time, get the findings each
/// one completes. Windowed state is kept per actor and per record and
/// dropped once it falls out of every window.
#[derive(Debug, Clone)]
pub struct AlertEngine {
    config: AlertConfig,
    break_glass_roles: BTreeSet<String>,
    hours: Hours,
    /// Per actor id: their accesses within the bulk window.
    by_actor: HashMap<String, Window<Access>>,
    /// Per (actor id, record): unassigned accesses within the repeat window.
    unassigned: HashMap<(String, String), Window<Access>>,
    /// Per record: accesses within the concurrency window.
    by_record: HashMap<String, Window<Access>>,
    /// Off-hours accesses against baselines.
    #[cfg(feature = "population")]
    spikes: Spikes,
    /// Records by demographic group, per staff member and overall.
    #[cfg(feature = "population")]
    targeting: Targeting,
    /// Key-field edits, deletions, back-dating, related records.
    integrity: Integrity,
    /// Chains whose clocks drift from the collector's (judged with a receive time only).
    drift: Drift,
    /// When each (rule, key) last fired, to report a burst once per window.
    fired: HashMap<(RuleId, String), Timestamp>,
    newest: Option<Timestamp>,
    pushed: u64,
}

impl AlertEngine {
    /// An engine with `config` and the roles allowed to break the glass (the
    /// policy's break-glass roles; seed 003 says admin and safeguarding).
    pub fn new<S: Into<String>>(
        config: AlertConfig,
        break_glass_roles: impl IntoIterator<Item = S>,
    ) -> Result<Self, AlertConfigError> {
        config.validate()?;
        let hours = Hours::new(&config.business_hours)?;
        Ok(Self {
            #[cfg(feature = "population")]
            spikes: Spikes::new(config.off_hours_spike.clone()),
            #[cfg(feature = "population")]
            targeting: Targeting::new(config.demographic_targeting.clone()),
            integrity: Integrity::new(config.record_integrity.clone()),
            drift: Drift::new(config.clock_drift.clone()),
            config,
            break_glass_roles: set(break_glass_roles.into_iter().map(Into::into)),
            hours,
            by_actor: HashMap::new(),
            unassigned: HashMap::new(),
            by_record: HashMap::new(),
            fired: HashMap::new(),
            newest: None,
            pushed: 0,
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &AlertConfig {
        &self.config
    }

    /// Judges one event at its own `ts` and returns the findings it
    /// completes (the browser and the CLI, which have no other clock).
    pub fn push(&mut self, e: &Event) -> Vec<Finding> {
        self.push_at(e, e.ts)
    }

    /// Judges one event a collector received at `received_ms` (its clock,
    /// milliseconds since the epoch), at [`bounded_time`]: its own `ts`
    /// (rules such as off-hours and the baselines need when the access
    /// happened), but never later than the receive time plus `skew_ms`, so no event stamped in the future can
    /// advance or reset the windows for everyone else.
    /// The same event also judges its chain's clock (`clock-drift`).
    pub fn push_received(&mut self, e: &Event, received_ms: i64, skew_ms: i64) -> Vec<Finding> {
        let at = bounded_time(e.ts, received_ms, skew_ms);
        let mut out = self.push_at(e, at);
        out.extend(self.drift.judge(e, at, received_ms));
        out
    }

    /// Judges one event as if it happened at `ts` (its time in every
    /// window, baseline and finding).
    fn push_at(&mut self, e: &Event, ts: Timestamp) -> Vec<Finding> {
        let mut out = Vec::new();
        let at = EventRef {
            chain: e.chain.clone(),
            seq: e.seq,
        };
        let actor = StaffRef {
            id: e.body.actor.id.clone(),
            role: e.body.actor.role.clone(),
        };
        // A refused step-up names the action it held back in `detail.requested`
        // (see `crate::decision`): an export that still needed a fresh MFA is an
        // export attempt all the same.
        let action = match e.body.action {
            Action::StepUpRequired => e
                .body
                .detail
                .get("requested")
                .and_then(Value::as_str)
                .unwrap_or(e.body.action.as_str()),
            _ => e.body.action.as_str(),
        };
        let single = |rule: RuleId, records: Vec<String>, summary: String| {
            Finding::new(
                rule,
                vec![actor.clone()],
                records,
                vec![at.clone()],
                ts,
                summary,
            )
        };
        let record = e.body.subject.as_ref().map(|s| s.record_id.clone());
        let records = || record.iter().cloned().collect::<Vec<_>>();

        if e.body.action == Action::BreakGlass && !self.break_glass_roles.contains(&actor.role) {
            out.push(single(
                RuleId::BreakGlassUnauthorised,
                records(),
                format!(
                    "`{}` with role `{}`, which may not break the glass, attempted it ({})",
                    actor.id,
                    actor.role,
                    outcome_word(e)
                ),
            ));
        }
        if self.config.export_actions.iter().any(|a| a == action) {
            out.push(single(
                RuleId::Export,
                records(),
                format!("`{}` attempted `{action}` ({})", actor.id, outcome_word(e)),
            ));
        }
        if self.config.role_change_actions.iter().any(|a| a == action) {
            let target = e
                .body
                .detail
                .get("user")
                .and_then(Value::as_str)
                .unwrap_or(&actor.id);
            let own = target == actor.id;
            let refused = e.body.outcome != crate::event::Outcome::Success;
            if own || refused {
                let what = match (own, refused) {
                    (true, true) => "tried to change their own role and was refused",
                    (true, false) => "changed their own role",
                    _ => "attempted a role change that was refused",
                };
                out.push(single(
                    RuleId::RoleEscalation,
                    Vec::new(),
                    format!("`{}` {what}", actor.id),
                ));
            }
        }

        if let Some(record) = &record {
            let relation = e.body.subject.as_ref().and_then(|s| s.relation);
            let justified =
                e.body.reason.is_some() || e.body.purpose_of_use.as_deref() == Some(PURPOSE_BTG);
            let care = matches!(relation, Some(Relation::Caseload | Relation::Team))
                || e.body.reason.is_some()
                || e.body
                    .purpose_of_use
                    .as_ref()
                    .is_some_and(|p| self.config.care_purposes.contains(p));
            let access = Access {
                ts,
                record: record.clone(),
                actor: actor.clone(),
                care,
                at: at.clone(),
            };
            if relation == Some(Relation::Unassigned) && !justified {
                out.push(single(
                    RuleId::OutsideCaseload,
                    records(),
                    format!(
                        "`{}` accessed record `{record}`, which is not on their caseload",
                        actor.id
                    ),
                ));
                if let Some(f) = self.repeated_unassigned(&access) {
                    out.push(f);
                }
            }
            let off_hours = self.hours.is_off_hours(ts);
            if off_hours && self.arm(RuleId::OffHours, &actor.id, ts, OFF_HOURS_GROUP_MINUTES) {
                out.push(single(
                    RuleId::OffHours,
                    records(),
                    format!(
                        "`{}` accessed record `{record}` outside business hours",
                        actor.id
                    ),
                ));
            }
            if let Some(f) = self.bulk(&access) {
                out.push(f);
            }
            if let Some(f) = self.concurrent(&access) {
                out.push(f);
            }
            let fired = &self.fired;
            let held =
                |rule: RuleId, key: &str, minutes: u32| is_held(fired, rule, key, ts, minutes);
            // The rules that judge one person against many (off-hours
            // spike, demographic targeting) are not in the browser module.
            #[cfg(feature = "population")]
            let mut candidates: Vec<Candidate> = {
                let mut out: Vec<Candidate> = self
                    .spikes
                    .access(e, ts, record, &actor, off_hours, &held)
                    .into_iter()
                    .collect();
                out.extend(self.targeting.access(e, ts, record, &actor, &held));
                out
            };
            #[cfg(not(feature = "population"))]
            let mut candidates: Vec<Candidate> = Vec::new();
            candidates.extend(self.integrity.access(e, ts, record, &actor, &held));
            for c in candidates {
                let fire = match &c.once_per {
                    None => true,
                    Some((key, minutes)) => self.arm(c.finding.rule, key, ts, *minutes),
                };
                if fire {
                    out.push(c.finding);
                }
            }
        }

        self.newest = Some(self.newest.map_or(ts, |n| n.max(ts)));
        self.pushed = self.pushed.wrapping_add(1);
        if self.pushed % SWEEP_EVERY == 0 {
            self.sweep();
        }
        out
    }

    /// Judges a JSON value as an event (the form chains are stored in).
    pub fn push_value(&mut self, value: &Value) -> Result<Vec<Finding>, AlertInputError> {
        let e = Event::deserialize(value).map_err(|err| AlertInputError::Event {
            position: usize::try_from(self.pushed).unwrap_or(usize::MAX),
            detail: err.to_string(),
        })?;
        Ok(self.push(&e))
    }

    /// Repeated unassigned access by one actor to one record.
    fn repeated_unassigned(&mut self, a: &Access) -> Option<Finding> {
        let cfg = self.config.repeated_unassigned.clone();
        let span = window_ms(cfg.window_minutes);
        let key = (a.actor.id.clone(), a.record.clone());
        self.unassigned
            .entry(key.clone())
            .or_default()
            .push(a.clone(), None, span);
        let fire_key = format!("{}\u{0}{}", a.actor.id, a.record);
        if self.held(
            RuleId::RepeatedUnassigned,
            &fire_key,
            a.ts,
            cfg.window_minutes,
        ) {
            return None;
        }
        let within: Vec<&Access> = self.unassigned.get(&key)?.within(a.ts, span).collect();
        if within.len() < count(cfg.count) {
            return None;
        }
        let events = within.iter().map(|x| x.at.clone()).collect();
        self.remember(RuleId::RepeatedUnassigned, &fire_key, a.ts);
        Some(Finding::new(
            RuleId::RepeatedUnassigned,
            vec![a.actor.clone()],
            vec![a.record.clone()],
            events,
            a.ts,
            format!(
                "`{}` accessed unassigned record `{}` {} times within {} minutes",
                a.actor.id, a.record, cfg.count, cfg.window_minutes
            ),
        ))
    }

    /// More than N distinct records by one actor within the window.
    fn bulk(&mut self, a: &Access) -> Option<Finding> {
        let cfg = self.config.bulk_access.clone();
        let span = window_ms(cfg.window_minutes);
        self.by_actor.entry(a.actor.id.clone()).or_default().push(
            a.clone(),
            Some(a.record.clone()),
            span,
        );
        if self.held(RuleId::BulkAccess, &a.actor.id, a.ts, cfg.window_minutes) {
            return None;
        }
        let w = self.by_actor.get(&a.actor.id)?;
        let distinct = || set(w.within(a.ts, span).map(|x| x.record.as_str()));
        let n = w.distinct().unwrap_or_else(|| distinct().len());
        if n <= count(cfg.distinct_records) {
            return None;
        }
        let within: Vec<&Access> = w.within(a.ts, span).collect();
        let records: Vec<String> = distinct().into_iter().map(str::to_owned).collect();
        let events = within.iter().map(|x| x.at.clone()).collect();
        self.remember(RuleId::BulkAccess, &a.actor.id, a.ts);
        let summary = format!(
            "`{}` accessed {} distinct records within {} minutes (more than {})",
            a.actor.id,
            records.len(),
            cfg.window_minutes,
            cfg.distinct_records
        );
        Some(Finding::new(
            RuleId::BulkAccess,
            vec![a.actor.clone()],
            records,
            events,
            a.ts,
            summary,
        ))
    }

    /// Several distinct staff without a care reason on one record at once.
    fn concurrent(&mut self, a: &Access) -> Option<Finding> {
        let cfg = self.config.concurrent_access.clone();
        let span = window_ms(cfg.window_minutes);
        self.by_record.entry(a.record.clone()).or_default().push(
            a.clone(),
            (!a.care).then(|| a.actor.id.clone()),
            span,
        );
        if a.care
            || self.held(
                RuleId::ConcurrentAccess,
                &a.record,
                a.ts,
                cfg.window_minutes,
            )
        {
            return None;
        }
        let w = self.by_record.get(&a.record)?;
        let careless = || w.within(a.ts, span).filter(|x| !x.care);
        let n = w
            .distinct()
            .unwrap_or_else(|| set(careless().map(|x| x.actor.id.as_str())).len());
        if n < count(cfg.staff) {
            return None;
        }
        let careless: Vec<&Access> = careless().collect();
        let staff = set(careless.iter().map(|x| &x.actor));
        let actors: Vec<StaffRef> = staff.into_iter().cloned().collect();
        let events = careless.iter().map(|x| x.at.clone()).collect();
        self.remember(RuleId::ConcurrentAccess, &a.record, a.ts);
        Some(Finding::new(
            RuleId::ConcurrentAccess,
            actors,
            vec![a.record.clone()],
            events,
            a.ts,
            format!(
                "{} staff accessed record `{}` within {} minutes without a care reason",
                n, a.record, cfg.window_minutes
            ),
        ))
    }

    /// True (and remembers `ts`) unless `(rule, key)` fired less than
    /// `minutes` before `ts`: one finding per burst.
    fn arm(&mut self, rule: RuleId, key: &str, ts: Timestamp, minutes: u32) -> bool {
        if self.held(rule, key, ts, minutes) {
            return false;
        }
        self.remember(rule, key, ts);
        true
    }

    /// Notes that `(rule, key)` fires at `ts`. The latest firing stays: an
    /// event stamped far in the past fires on its own but does not re-arm
    /// the rule for the events after it.
    fn remember(&mut self, rule: RuleId, key: &str, ts: Timestamp) {
        let k = (rule, key.to_owned());
        let last = self.fired.get(&k).map_or(ts, |l| (*l).max(ts));
        self.fired.insert(k, last);
    }

    /// Whether `(rule, key)` fired less than `minutes` before `ts`, which
    /// holds it back ([`Self::arm`] would refuse). The windowed rules ask
    /// this before they look at their window: a burst fires once, and
    /// counting a window of thousands of accesses again on each of them
    /// made a burst cost the square of its size (a 1,000-record caseload
    /// sealed at once spent a third of its time here).
    fn held(&self, rule: RuleId, key: &str, ts: Timestamp, minutes: u32) -> bool {
        is_held(&self.fired, rule, key, ts, minutes)
    }

    /// Drops window state no future in-order event can reach.
    fn sweep(&mut self) {
        let Some(newest) = self.newest else { return };
        let horizon = |minutes: u32| newest.plus_millis(-window_ms(minutes));
        let bulk = horizon(self.config.bulk_access.window_minutes);
        let rep = horizon(self.config.repeated_unassigned.window_minutes);
        let conc = horizon(self.config.concurrent_access.window_minutes);
        let fired = newest.plus_millis(
            -self
                .config
                .longest_window_ms()
                .max(window_ms(OFF_HOURS_GROUP_MINUTES)),
        );
        self.by_actor.retain(|_, w| w.reaches(bulk));
        self.unassigned.retain(|_, w| w.reaches(rep));
        self.by_record.retain(|_, w| w.reaches(conc));
        #[cfg(feature = "population")]
        self.spikes.sweep(newest);
        #[cfg(feature = "population")]
        self.targeting.sweep(newest);
        self.integrity.sweep(newest);
        self.fired.retain(|_, t| *t >= fired);
    }
}

/// How the attempt ended, for summaries.
fn outcome_word(e: &Event) -> &'static str {
    match e.body.outcome {
        crate::event::Outcome::Success => "succeeded",
        crate::event::Outcome::Denied => "denied",
        crate::event::Outcome::Cancelled => "cancelled",
        crate::event::Outcome::Error => "failed",
    }
}

/// The time the collector's engine judges an event received at
/// `received_ms` by: `min(ts, received + skew_ms)`. An event stamped in the
/// past keeps its time (offline upload is legitimate); one stamped beyond
/// the collector's clock and its skew counts as written at that bound.
pub fn bounded_time(ts: Timestamp, received_ms: i64, skew_ms: i64) -> Timestamp {
    let bound = received_ms.saturating_add(skew_ms.max(0));
    if ts.millis() <= bound {
        return ts;
    }
    // A bound below `ts` is at most year 9999, so in range; were it not,
    // `ts` itself is the nearest time there is.
    Timestamp::from_millis(bound).unwrap_or(ts)
}

/// Whether `(rule, key)` fired (per `fired`) less than `minutes` before `ts`.
fn is_held(
    fired: &HashMap<(RuleId, String), Timestamp>,
    rule: RuleId,
    key: &str,
    ts: Timestamp,
    minutes: u32,
) -> bool {
    fired
        .get(&(rule, key.to_owned()))
        .is_some_and(|last| ts >= *last && ts < last.plus_millis(window_ms(minutes)))
}

fn window_ms(minutes: u32) -> i64 {
    i64::from(minutes) * 60_000
}

fn count(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Judges a batch of events, from one chain or many, in (`ts`, chain, seq)
/// order, and returns every finding.
pub fn scan<'a, S: Into<String>>(
    config: AlertConfig,
    break_glass_roles: impl IntoIterator<Item = S>,
    events: impl IntoIterator<Item = &'a Event>,
) -> Result<Vec<Finding>, AlertConfigError> {
    let mut engine = AlertEngine::new(config, break_glass_roles)?;
    let mut sorted: Vec<&Event> = events.into_iter().collect();
    sorted.sort_by(|a, b| (a.ts, &a.chain, a.seq).cmp(&(b.ts, &b.chain, b.seq)));
    Ok(sorted.into_iter().flat_map(|e| engine.push(e)).collect())
}

/// [`scan`] over JSON values (events as stored or uploaded).
pub fn scan_values<'a, S: Into<String>>(
    config: AlertConfig,
    break_glass_roles: impl IntoIterator<Item = S>,
    values: impl IntoIterator<Item = &'a Value>,
) -> Result<Vec<Finding>, AlertInputError> {
    let events = values
        .into_iter()
        .enumerate()
        .map(|(position, v)| {
            Event::deserialize(v).map_err(|err| AlertInputError::Event {
                position,
                detail: err.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(scan(config, break_glass_roles, &events)?)
}
