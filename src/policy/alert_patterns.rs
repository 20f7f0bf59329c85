//! Settings of the alert rules that judge patterns over days rather than
//! single events: off-hours spikes, demographic targeting and record
//! integrity (seed 003's high and critical alerts, seed 000's record
//! integrity review). Each is a member of the policy's `alerts` object with
//! documented defaults; `pkg-config/policy.md` states the statistics.

use serde::{Deserialize, Serialize};

/// Seed 003: "Access spikes during nights/weekends" (high alert). A staff
/// member's off-hours accesses in the trailing window are tested against
/// the count their own baseline, and their team's, predict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct OffHoursSpike {
    /// The window whose off-hours accesses are judged, in days.
    pub window_days: u32,
    /// The period before the window the baselines are taken from, in days.
    pub baseline_days: u32,
    /// How long a staff member must have been seen before the window for
    /// their own baseline to count; before that the rule says nothing.
    pub min_baseline_days: u32,
    /// Fewest off-hours accesses in the window before the rule judges at all.
    pub min_count: u32,
    /// The rule fires when a count this high has a chance below
    /// `1 / significanceOneIn` under each baseline (one-sided Poisson test).
    pub significance_one_in: u32,
}

impl Default for OffHoursSpike {
    fn default() -> Self {
        Self {
            window_days: 7,
            baseline_days: 28,
            min_baseline_days: 14,
            min_count: 10,
            significance_one_in: 1000,
        }
    }
}

/// Seed 003: "Apparent pattern of targeting specific demographic group
/// (requires safeguarding review)" (critical alert). A staff member's
/// distinct records in one demographic group are tested against the
/// group's share of every record seen in the same window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DemographicTargeting {
    /// The trailing window, in days, for the staff member's records and
    /// for the caseload's makeup alike.
    pub window_days: u32,
    /// Fewest distinct records carrying the attribute that the staff member
    /// accessed in the window before their accesses are judged.
    pub min_records: u32,
    /// Fewest of those in the one group before it can be called a target.
    pub min_group_records: u32,
    /// The same two floors for break-glass attempts alone, judged
    /// separately (break-glass on a group is the sharper signal).
    pub break_glass_min_records: u32,
    /// See [`DemographicTargeting::break_glass_min_records`].
    pub break_glass_min_group_records: u32,
    /// Fewest distinct records carrying the attribute seen by everyone in
    /// the window: below it the caseload's makeup is not known well enough.
    pub min_population: u32,
    /// The rule fires when the one-sided binomial chance of so many records
    /// in the group is below `1 / significanceOneIn`, divided by the number
    /// of groups of the attribute (Bonferroni).
    pub significance_one_in: u32,
}

impl Default for DemographicTargeting {
    fn default() -> Self {
        Self {
            window_days: 30,
            min_records: 20,
            min_group_records: 10,
            break_glass_min_records: 5,
            break_glass_min_group_records: 4,
            min_population: 50,
            significance_one_in: 1000,
        }
    }
}

/// Seed 000's record integrity review: "repeated changes to key fields
/// (address, legal status, consent fields), deletion of notes, or
/// back-dated entries" (high alerts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RecordIntegrity {
    /// Pointer patterns of the key fields (`*` matches one member or
    /// index); an edit of the field or of anything inside it counts.
    pub key_fields: Vec<String>,
    /// Edits of one key field of one record, by anyone, within the window
    /// that raise the alert.
    pub key_field_edits: u32,
    /// That window, in days.
    pub key_field_window_days: u32,
    /// Hours an edit's effective date may lie before the time it was made;
    /// more is a back-dated entry.
    pub max_backdate_hours: u32,
}

impl Default for RecordIntegrity {
    fn default() -> Self {
        Self {
            key_fields: vec!["/address".into(), "/legalStatus".into(), "/consent".into()],
            key_field_edits: 3,
            key_field_window_days: 7,
            max_backdate_hours: 24,
        }
    }
}

/// Issue 9's clock drift: a chain whose event times disagree with the
/// collector's clock beyond what an honest device can explain (high
/// alert, judged by the collector only: it needs the receive time).
///
/// An offline shift, events written hours or days before they are
/// uploaded, is legitimate and never fires: an event's `ts` behind its
/// receive time counts only when it is more than `maxOfflineDays` behind,
/// longer than any upload the collector accepts under a credential.
/// `pkg-config/policy.md` states the rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ClockDrift {
    /// An event stamped more than this many minutes after the collector
    /// received it was written by a clock running ahead.
    pub ahead_minutes: u32,
    /// An event stamped more than this many days before the collector
    /// received it was not held offline: no credential window covers it.
    pub max_offline_days: u32,
}

impl Default for ClockDrift {
    fn default() -> Self {
        Self {
            ahead_minutes: 1,
            max_offline_days: 45,
        }
    }
}
