//! Alert thresholds and business hours: the `alerts` member of a policy.
//!
//! Every number here comes from seed 003 ("Safeguarding Monitoring &
//! Accountability") or is a documented default a facility is expected to
//! tune. The whole struct has defaults, so `"alerts": {}` is a valid policy
//! member and a facility only writes what it changes. The alert engine
//! ([`crate::alerts`]) reads it from the policy.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::alert_patterns::{ClockDrift, DemographicTargeting, OffHoursSpike, RecordIntegrity};
use super::pattern::Pattern;

/// The most that `significanceOneIn` may be below: a test at more than 5%
/// would accuse one staff member in twenty by chance alone.
pub const MIN_SIGNIFICANCE_ONE_IN: u32 = 20;

/// Alert rule settings, embedded in a policy as its `alerts` member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AlertConfig {
    /// When access is "in hours" (medium alert outside them).
    pub business_hours: BusinessHours,
    /// Access to many distinct records in a short time (high alert).
    pub bulk_access: BulkAccess,
    /// Unassigned access to the same record again and again (high alert).
    pub repeated_unassigned: RepeatedUnassigned,
    /// Several staff on the same record at once without a care reason (critical alert).
    pub concurrent_access: ConcurrentAccess,
    /// Actions that count as an export or download attempt (critical alert),
    /// whatever their outcome.
    pub export_actions: Vec<String>,
    /// Actions that count as a role or permission change attempt (critical
    /// alert when the actor changes their own role or the change is refused).
    pub role_change_actions: Vec<String>,
    /// `purposeOfUse` codes that, on their own, document a care reason for
    /// the concurrent-access rule. A relation of `caseload` or `team`, or a
    /// break-glass `reason`, always does.
    pub care_purposes: Vec<String>,
    /// A staff member's off-hours accesses well above their own and their
    /// team's baseline (high alert).
    pub off_hours_spike: OffHoursSpike,
    /// A staff member's accesses concentrated on one demographic group
    /// (critical alert, requires safeguarding review).
    pub demographic_targeting: DemographicTargeting,
    /// Repeated key-field edits, deleted notes, back-dated entries (high alerts).
    pub record_integrity: RecordIntegrity,
    /// A chain whose clock disagrees with the collector's (high alert, collector only).
    pub clock_drift: ClockDrift,
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self {
            business_hours: BusinessHours::default(),
            bulk_access: BulkAccess::default(),
            repeated_unassigned: RepeatedUnassigned::default(),
            concurrent_access: ConcurrentAccess::default(),
            export_actions: vec!["export".into(), "download".into()],
            role_change_actions: vec!["role-change".into()],
            care_purposes: vec!["BTG".into()],
            off_hours_spike: OffHoursSpike::default(),
            demographic_targeting: DemographicTargeting::default(),
            record_integrity: RecordIntegrity::default(),
            clock_drift: ClockDrift::default(),
        }
    }
}

/// The facility's working hours, in its own time zone.
///
/// An access is in hours when its local day is one of `days` and its local
/// time is at or after `start` and before `end`. Evaluating this needs the
/// IANA zone database, which is behind the crate's `tz` feature: without it
/// (the browser build) the business-hours rule raises nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct BusinessHours {
    /// IANA time zone name, such as `America/New_York` or `Europe/London`.
    pub time_zone: String,
    /// Working days.
    pub days: Vec<Weekday>,
    /// Local opening time, `HH:MM`.
    pub start: LocalTime,
    /// Local closing time, `HH:MM` (exclusive); later than `start`.
    pub end: LocalTime,
}

impl Default for BusinessHours {
    fn default() -> Self {
        Self {
            time_zone: "America/New_York".into(),
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            start: LocalTime::new(8, 0),
            end: LocalTime::new(18, 0),
        }
    }
}

/// Seed 003: "Bulk access across many youth records (>5 in 1 hour)".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct BulkAccess {
    /// The alert fires when one actor touches *more than* this many distinct
    /// records within the window (exactly this many is fine).
    pub distinct_records: u32,
    /// Sliding window length in minutes.
    pub window_minutes: u32,
}

impl Default for BulkAccess {
    fn default() -> Self {
        Self {
            distinct_records: 5,
            window_minutes: 60,
        }
    }
}

/// Seed 003: "Repeated unassigned access attempts to same youth" (a single
/// one is the medium "outside caseload" alert).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RepeatedUnassigned {
    /// The alert fires when one actor's unassigned accesses to one record
    /// within the window reach this count.
    pub count: u32,
    /// Sliding window length in minutes.
    pub window_minutes: u32,
}

impl Default for RepeatedUnassigned {
    fn default() -> Self {
        Self {
            count: 3,
            window_minutes: 24 * 60,
        }
    }
}

/// Seed 003: "Multiple staff accessing same youth concurrently without care reason".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ConcurrentAccess {
    /// The alert fires when this many distinct staff without a care reason
    /// access one record within the window.
    pub staff: u32,
    /// What "at once" means, in minutes.
    pub window_minutes: u32,
}

impl Default for ConcurrentAccess {
    fn default() -> Self {
        Self {
            staff: 2,
            window_minutes: 15,
        }
    }
}

/// A day of the week, written `mon` to `sun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Weekday {
    /// The chrono day.
    pub fn to_chrono(self) -> chrono::Weekday {
        match self {
            Weekday::Mon => chrono::Weekday::Mon,
            Weekday::Tue => chrono::Weekday::Tue,
            Weekday::Wed => chrono::Weekday::Wed,
            Weekday::Thu => chrono::Weekday::Thu,
            Weekday::Fri => chrono::Weekday::Fri,
            Weekday::Sat => chrono::Weekday::Sat,
            Weekday::Sun => chrono::Weekday::Sun,
        }
    }
}

/// A local wall-clock time of day, written `HH:MM` (24-hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime {
    minutes: u16,
}

impl LocalTime {
    /// `hour:minute`; out-of-range values saturate to `24:00`, the end of the day.
    pub fn new(hour: u8, minute: u8) -> Self {
        Self {
            minutes: (u16::from(hour) * 60 + u16::from(minute.min(59))).min(24 * 60),
        }
    }

    /// Parses `HH:MM`, from `00:00` to `24:00` (the end of the day, so a
    /// facility open around the clock writes `00:00` to `24:00`).
    pub fn parse(s: &str) -> Result<Self, AlertConfigError> {
        let bad = || AlertConfigError::Time(s.to_owned());
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u8 = h.parse().map_err(|_| bad())?;
        let m: u8 = m.parse().map_err(|_| bad())?;
        if h > 24 || m > 59 || (h == 24 && m > 0) {
            return Err(bad());
        }
        Ok(Self::new(h, m))
    }

    /// Minutes since local midnight.
    pub fn minutes(self) -> u32 {
        u32::from(self.minutes)
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

impl Serialize for LocalTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why an alert configuration cannot be used. Each variant names the JSON
/// Pointer of the offending value, relative to the `alerts` member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertConfigError {
    /// A time of day is not `HH:MM`.
    #[error("expected a 24-hour time such as `08:30`, found `{0}`")]
    Time(String),
    /// The time zone is not an IANA name known to this build.
    #[error("`{pointer}`: unknown IANA time zone `{zone}`")]
    TimeZone {
        /// Where.
        pointer: String,
        /// What was found.
        zone: String,
    },
    /// Business hours close at or before they open.
    #[error("`{pointer}`: business hours end at {end}, not after their start at {start}")]
    Hours {
        /// Where.
        pointer: String,
        /// Opening time.
        start: LocalTime,
        /// Closing time.
        end: LocalTime,
    },
    /// A threshold or window is zero, which would alert on everything or nothing.
    #[error("`{pointer}`: must be at least 1, found 0")]
    Zero {
        /// Where.
        pointer: String,
    },
    /// A value is out of its range (a significance level that would accuse
    /// by chance, a floor above the count it floors).
    #[error("`{pointer}`: {message}")]
    Range {
        /// Where.
        pointer: String,
        /// What is expected, and what was found.
        message: String,
    },
    /// A key field is not a pointer pattern.
    #[error("`{pointer}`: {message}")]
    Pattern {
        /// Where.
        pointer: String,
        /// The pattern's error.
        message: String,
    },
}

impl AlertConfig {
    /// Checks what serde cannot: zero thresholds, hours that close before
    /// they open, and (with the `tz` feature) the time zone name. Pointers in
    /// errors are relative to this object; a policy prefixes `/alerts`.
    pub fn validate(&self) -> Result<(), AlertConfigError> {
        let zero = |v: u32, p: &str| {
            if v == 0 {
                Err(AlertConfigError::Zero { pointer: p.into() })
            } else {
                Ok(())
            }
        };
        zero(
            self.bulk_access.distinct_records,
            "/bulkAccess/distinctRecords",
        )?;
        zero(self.bulk_access.window_minutes, "/bulkAccess/windowMinutes")?;
        zero(self.repeated_unassigned.count, "/repeatedUnassigned/count")?;
        zero(
            self.repeated_unassigned.window_minutes,
            "/repeatedUnassigned/windowMinutes",
        )?;
        zero(self.concurrent_access.staff, "/concurrentAccess/staff")?;
        zero(
            self.concurrent_access.window_minutes,
            "/concurrentAccess/windowMinutes",
        )?;
        self.validate_patterns()?;
        let bh = &self.business_hours;
        if bh.end <= bh.start {
            return Err(AlertConfigError::Hours {
                pointer: "/businessHours/end".into(),
                start: bh.start,
                end: bh.end,
            });
        }
        if bh.time_zone.is_empty() || !zone_known(&bh.time_zone) {
            return Err(AlertConfigError::TimeZone {
                pointer: "/businessHours/timeZone".into(),
                zone: bh.time_zone.clone(),
            });
        }
        Ok(())
    }
}

impl AlertConfig {
    /// The checks of the pattern rules' settings.
    fn validate_patterns(&self) -> Result<(), AlertConfigError> {
        let zero = |v: u32, p: &str| {
            if v == 0 {
                Err(AlertConfigError::Zero { pointer: p.into() })
            } else {
                Ok(())
            }
        };
        let significance = |v: u32, p: &str| {
            if v < MIN_SIGNIFICANCE_ONE_IN {
                Err(AlertConfigError::Range {
                    pointer: p.into(),
                    message: format!(
                        "expected at least {MIN_SIGNIFICANCE_ONE_IN} (a 5% test), found {v}"
                    ),
                })
            } else {
                Ok(())
            }
        };
        let floor = |group: u32, all: u32, p: &str, of: &str| {
            if group > all {
                Err(AlertConfigError::Range {
                    pointer: p.into(),
                    message: format!("expected at most `{of}` ({all}), found {group}"),
                })
            } else {
                Ok(())
            }
        };
        let s = &self.off_hours_spike;
        zero(s.window_days, "/offHoursSpike/windowDays")?;
        zero(s.baseline_days, "/offHoursSpike/baselineDays")?;
        zero(s.min_count, "/offHoursSpike/minCount")?;
        significance(s.significance_one_in, "/offHoursSpike/significanceOneIn")?;
        floor(
            s.min_baseline_days,
            s.baseline_days,
            "/offHoursSpike/minBaselineDays",
            "baselineDays",
        )?;
        let d = &self.demographic_targeting;
        zero(d.window_days, "/demographicTargeting/windowDays")?;
        zero(d.min_group_records, "/demographicTargeting/minGroupRecords")?;
        zero(
            d.break_glass_min_group_records,
            "/demographicTargeting/breakGlassMinGroupRecords",
        )?;
        zero(d.min_population, "/demographicTargeting/minPopulation")?;
        significance(
            d.significance_one_in,
            "/demographicTargeting/significanceOneIn",
        )?;
        floor(
            d.min_group_records,
            d.min_records,
            "/demographicTargeting/minGroupRecords",
            "minRecords",
        )?;
        floor(
            d.break_glass_min_group_records,
            d.break_glass_min_records,
            "/demographicTargeting/breakGlassMinGroupRecords",
            "breakGlassMinRecords",
        )?;
        let r = &self.record_integrity;
        zero(r.key_field_edits, "/recordIntegrity/keyFieldEdits")?;
        zero(
            r.key_field_window_days,
            "/recordIntegrity/keyFieldWindowDays",
        )?;
        zero(self.clock_drift.ahead_minutes, "/clockDrift/aheadMinutes")?;
        zero(
            self.clock_drift.max_offline_days,
            "/clockDrift/maxOfflineDays",
        )?;
        for (i, text) in r.key_fields.iter().enumerate() {
            Pattern::parse(text).map_err(|e| AlertConfigError::Pattern {
                pointer: format!("/recordIntegrity/keyFields/{i}"),
                message: e.to_string(),
            })?;
        }
        Ok(())
    }

    /// The longest any rule looks back, in milliseconds: how much history
    /// a host replays to warm a new engine (the collector at start).
    pub fn longest_window_ms(&self) -> i64 {
        let minutes = [
            self.bulk_access.window_minutes,
            self.repeated_unassigned.window_minutes,
            self.concurrent_access.window_minutes,
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        let days = [
            self.off_hours_spike
                .window_days
                .saturating_add(self.off_hours_spike.baseline_days),
            self.demographic_targeting.window_days,
            self.record_integrity.key_field_window_days,
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        (i64::from(minutes) * 60_000).max(i64::from(days) * 86_400_000)
    }
}

/// With the zone database, the name must be in it; without it, any
/// non-empty name passes (the build cannot tell, and evaluates no hours).
#[cfg(feature = "tz")]
fn zone_known(name: &str) -> bool {
    name.parse::<chrono_tz::Tz>().is_ok()
}

#[cfg(not(feature = "tz"))]
fn zone_known(_name: &str) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_is_the_defaults() {
        let c: AlertConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, AlertConfig::default());
        assert_eq!(c.bulk_access.distinct_records, 5);
        assert_eq!(c.bulk_access.window_minutes, 60);
        c.validate().unwrap();
    }

    #[test]
    fn round_trips_camel_case() {
        let v = serde_json::to_value(AlertConfig::default()).unwrap();
        assert_eq!(v["businessHours"]["start"], "08:00");
        assert_eq!(v["businessHours"]["days"][0], "mon");
        assert_eq!(v["bulkAccess"]["distinctRecords"], 5);
        let back: AlertConfig = serde_json::from_value(v).unwrap();
        assert_eq!(back, AlertConfig::default());
    }

    #[test]
    fn rejects_unknown_members_and_bad_times() {
        assert!(serde_json::from_str::<AlertConfig>(r#"{"bulk":{}}"#).is_err());
        assert!(serde_json::from_str::<AlertConfig>(r#"{"bulkAccess":{"records":3}}"#).is_err());
        assert!(
            serde_json::from_str::<AlertConfig>(r#"{"businessHours":{"start":"8:00"}}"#).is_err()
        );
        assert!(
            serde_json::from_str::<AlertConfig>(r#"{"businessHours":{"end":"24:01"}}"#).is_err()
        );
        let c: AlertConfig = serde_json::from_str(r#"{"businessHours":{"end":"24:00"}}"#).unwrap();
        assert_eq!(c.business_hours.end.minutes(), 1440);
    }

    #[test]
    fn validate_names_the_pointer() {
        let mut c = AlertConfig::default();
        c.bulk_access.window_minutes = 0;
        let e = c.validate().unwrap_err();
        assert_eq!(
            e,
            AlertConfigError::Zero {
                pointer: "/bulkAccess/windowMinutes".into()
            }
        );
        let mut c = AlertConfig::default();
        c.business_hours.end = LocalTime::new(7, 0);
        assert!(matches!(c.validate(), Err(AlertConfigError::Hours { .. })));
    }

    #[cfg(feature = "tz")]
    #[test]
    fn validate_rejects_unknown_zone() {
        let mut c = AlertConfig::default();
        c.business_hours.time_zone = "Mars/Olympus".into();
        assert!(matches!(
            c.validate(),
            Err(AlertConfigError::TimeZone { .. })
        ));
    }
}
