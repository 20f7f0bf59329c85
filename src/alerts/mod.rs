//! Alert rules of seed 003 over verified events, from one chain or many,
//! with the thresholds and business hours of the policy's `alerts` member
//! ([`crate::policy::AlertConfig`]).
//!
//! One engine serves every host: the browser raises the break-glass and
//! bulk-access alerts locally as it appends, the collector recomputes
//! incrementally as batches arrive, and the CLI scans whole files. Feed it
//! events that already passed [`crate::verify`]: the engine trusts what it
//! is given and only judges behaviour.
//!
//! | rule id | severity | fires on |
//! |---|---|---|
//! | `outside-caseload` | medium | an access to a record the actor is not assigned to, without a break-glass justification |
//! | `repeated-unassigned` | high | [`crate::policy::RepeatedUnassigned::count`] such accesses by one actor to one record within its window |
//! | `bulk-access` | high | one actor touching more than [`crate::policy::BulkAccess::distinct_records`] distinct records within its window |
//! | `off-hours` | medium | an access outside [`crate::policy::BusinessHours`] (needs the `tz` feature) |
//! | `break-glass-unauthorised` | high | a break-glass attempt, any outcome, by a role not in the authorised list |
//! | `export` | critical | any export or download attempt, any outcome |
//! | `role-escalation` | critical | a role change on oneself, or one that was refused |
//! | `concurrent-access` | critical | [`crate::policy::ConcurrentAccess::staff`] distinct staff without a care reason on one record within its window |
//! | `off-hours-spike` | high | a staff member's off-hours accesses in the window far above what their own and their team's baselines predict ([`crate::policy::OffHoursSpike`], needs `tz`) |
//! | `demographic-targeting` | critical, requires safeguarding review | a staff member's distinct records (or break-glass attempts) concentrated on one demographic group beyond the caseload's makeup ([`crate::policy::DemographicTargeting`]) |
//! | `key-field-edits` | high | [`crate::policy::RecordIntegrity::key_field_edits`] successful edits of one key field of one record within its window |
//! | `note-deleted` | high | a deletion that removed notes (`detail.notes` of at least 1), any outcome |
//! | `backdated-entry` | high | an edit whose `detail.effectiveAt` lies before its `ts` by more than [`crate::policy::RecordIntegrity::max_backdate_hours`] |
//! | `related-record` | high | an access to a record the staff member declared a link to (`subject.related`) |
//! | `clock-drift` | high | a chain whose event times run ahead of the collector's receive time, or lie further behind it than any offline upload ([`crate::policy::ClockDrift`]; the collector only, once per chain and cause) |
//!
//! A role change names the staff member whose role changes in `detail.user`
//! (as [`crate::decision::HostAction`] writes it); without it the change is
//! taken to be the actor's own.
//!
//! An *access* is any event naming a `subject` record, whatever its outcome:
//! attempts count. A *care reason* is a relation of `caseload` or `team`, a
//! break-glass `reason`, or a `purposeOfUse` listed in
//! [`crate::policy::AlertConfig::care_purposes`] (default `BTG`).
//!
//! The statistics of `off-hours-spike` and `demographic-targeting` (a
//! one-sided Poisson and a one-sided binomial test, with their minimum
//! counts) are stated in `pkg-config/policy.md`. Both judge one person
//! against many (a team's baseline, the caseload's makeup), which only the
//! collector and the CLI see: they are built with the `population` feature
//! (a default; not in the browser module, whose engine sees one person's
//! accesses and stays smaller without them); a finding's evidence names
//! at most [`MAX_EVIDENCE`] events, the latest.
//!
//! Windows are trailing: an event is judged with the events of the window
//! that ends at its `ts`. The engine expects events in roughly time order;
//! [`scan`] sorts a batch by (`ts`, chain, seq) first, so its answer does not
//! depend on how chains were interleaved.

mod drift;
mod engine;
mod hours;
mod integrity;
#[cfg(feature = "population")]
mod spike;
#[cfg(feature = "population")]
mod stats;
#[cfg(feature = "population")]
mod targeting;
mod window;

pub use engine::{bounded_time, scan, scan_values, AlertEngine, AlertInputError};

use serde::{Deserialize, Serialize};

use crate::event::ChainId;
use crate::Timestamp;

/// Most events a pattern finding names as evidence (the latest ones).
pub const MAX_EVIDENCE: usize = 100;

/// How urgently a finding needs a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    /// Review in the routine audit.
    Medium,
    /// Review soon; tell the facility director.
    High,
    /// Review now.
    Critical,
}

impl Severity {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Which rule a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleId {
    /// Access outside the actor's caseload without authorisation.
    OutsideCaseload,
    /// Repeated unassigned access to the same record.
    RepeatedUnassigned,
    /// Access to many distinct records in a short time.
    BulkAccess,
    /// Access outside business hours.
    OffHours,
    /// Break-glass attempted by a role not authorised for it.
    BreakGlassUnauthorised,
    /// An export or download attempt.
    Export,
    /// A role or permission escalation attempt.
    RoleEscalation,
    /// Several staff on one record at once without a care reason.
    ConcurrentAccess,
    /// Off-hours accesses far above the staff member's and their team's baseline.
    OffHoursSpike,
    /// Accesses concentrated on one demographic group.
    DemographicTargeting,
    /// Repeated edits of one key field of one record.
    KeyFieldEdits,
    /// Notes deleted.
    NoteDeleted,
    /// An edit effective well before it was made.
    BackdatedEntry,
    /// An access to a record the staff member declared a link to.
    RelatedRecord,
    /// A chain whose clock disagrees with the collector's.
    ClockDrift,
}

impl RuleId {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::OutsideCaseload => "outside-caseload",
            RuleId::RepeatedUnassigned => "repeated-unassigned",
            RuleId::BulkAccess => "bulk-access",
            RuleId::OffHours => "off-hours",
            RuleId::BreakGlassUnauthorised => "break-glass-unauthorised",
            RuleId::Export => "export",
            RuleId::RoleEscalation => "role-escalation",
            RuleId::ConcurrentAccess => "concurrent-access",
            RuleId::OffHoursSpike => "off-hours-spike",
            RuleId::DemographicTargeting => "demographic-targeting",
            RuleId::KeyFieldEdits => "key-field-edits",
            RuleId::NoteDeleted => "note-deleted",
            RuleId::BackdatedEntry => "backdated-entry",
            RuleId::RelatedRecord => "related-record",
            RuleId::ClockDrift => "clock-drift",
        }
    }

    /// The severity seed 003 gives the rule.
    pub fn severity(self) -> Severity {
        match self {
            RuleId::OutsideCaseload | RuleId::OffHours => Severity::Medium,
            RuleId::RepeatedUnassigned
            | RuleId::BulkAccess
            | RuleId::BreakGlassUnauthorised
            | RuleId::OffHoursSpike
            | RuleId::KeyFieldEdits
            | RuleId::NoteDeleted
            | RuleId::BackdatedEntry
            | RuleId::RelatedRecord
            | RuleId::ClockDrift => Severity::High,
            RuleId::Export
            | RuleId::RoleEscalation
            | RuleId::ConcurrentAccess
            | RuleId::DemographicTargeting => Severity::Critical,
        }
    }

    /// Whether seed 003 sends its findings to a safeguarding review (a
    /// pattern that may be discrimination is for a person to judge).
    pub fn requires_safeguarding_review(self) -> bool {
        self == RuleId::DemographicTargeting
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event named as evidence: its chain and `seq`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventRef {
    /// The event's chain.
    pub chain: ChainId,
    /// The event's `seq` in that chain.
    pub seq: u64,
}

/// A staff member named in a finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StaffRef {
    /// Staff id.
    pub id: String,
    /// Role at the time.
    pub role: String,
}

/// One alert: the rule, who, which records, and the events that prove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The rule that fired.
    pub rule: RuleId,
    /// Its severity.
    pub severity: Severity,
    /// The staff concerned: one, or several for `concurrent-access`.
    pub actors: Vec<StaffRef>,
    /// The records concerned, sorted.
    pub records: Vec<String>,
    /// The events that prove it, in the order they were judged.
    pub events: Vec<EventRef>,
    /// The time of the event that made the rule fire.
    pub at: Timestamp,
    /// One sentence for the reviewer.
    pub summary: String,
    /// Seed 003's "requires safeguarding review": written (`true`) only on
    /// the rules that need it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub safeguarding_review: bool,
    /// What made a rule reported once per cause fire (`clock-drift`:
    /// `ahead` or `behind`); absent on the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// Whether a rule's finding under a key is held back at the time being
/// judged (it fired less than the minutes given before). A rule module asks
/// before it builds a [`Candidate::once_per`] that could not fire: walking
/// a window of thousands of accesses again on each of a burst made the
/// burst cost the square of its size.
pub(crate) type Held<'a> = &'a dyn Fn(RuleId, &str, u32) -> bool;

/// A finding a rule module proposes, and when it may fire again: at most
/// once per `(rule, key)` within the minutes given, or every time.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    finding: Finding,
    once_per: Option<(String, u32)>,
}

impl Candidate {
    /// Reported every time.
    fn always(finding: Finding) -> Self {
        Self {
            finding,
            once_per: None,
        }
    }

    /// Reported once per `key` within `minutes`.
    fn once_per(finding: Finding, key: String, minutes: u32) -> Self {
        Self {
            finding,
            once_per: Some((key, minutes)),
        }
    }
}

impl Finding {
    /// A finding of `rule`, with the rule's severity and review flag.
    pub fn new(
        rule: RuleId,
        actors: Vec<StaffRef>,
        records: Vec<String>,
        events: Vec<EventRef>,
        at: Timestamp,
        summary: String,
    ) -> Self {
        Self {
            rule,
            severity: rule.severity(),
            actors,
            records,
            events,
            at,
            summary,
            safeguarding_review: rule.requires_safeguarding_review(),
            cause: None,
        }
    }
}
