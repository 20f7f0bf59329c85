//! The policy's local time: weekday and time of day in its business-hours
//! zone, for the `time.*` attributes of conditions.
//!
//! The IANA zone database is behind the `tz` feature (left out of the
//! browser build); without it there is no local time, so a condition on
//! `time.weekday`, `time.localTime` or `time.businessHours` is unknown and
//! denies rather than guessing at an offset.

use super::alert_config::{BusinessHours, LocalTime, Weekday};
use crate::Timestamp;

/// A moment as the policy's zone reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocalClock {
    pub(crate) weekday: Weekday,
    pub(crate) time: LocalTime,
    /// Within the business hours.
    pub(crate) business: bool,
}

impl LocalClock {
    /// `now` in `hours`' zone; `None` without the zone database or for an unknown zone.
    pub(crate) fn at(hours: &BusinessHours, now: Timestamp) -> Option<Self> {
        #[cfg(feature = "tz")]
        {
            use chrono::{Datelike, Timelike};
            let zone = hours.time_zone.parse::<chrono_tz::Tz>().ok()?;
            let local = now.to_datetime().with_timezone(&zone);
            let weekday = match local.weekday() {
                chrono::Weekday::Mon => Weekday::Mon,
                chrono::Weekday::Tue => Weekday::Tue,
                chrono::Weekday::Wed => Weekday::Wed,
                chrono::Weekday::Thu => Weekday::Thu,
                chrono::Weekday::Fri => Weekday::Fri,
                chrono::Weekday::Sat => Weekday::Sat,
                chrono::Weekday::Sun => Weekday::Sun,
            };
            let time = LocalTime::new(
                u8::try_from(local.hour()).unwrap_or(24),
                u8::try_from(local.minute()).unwrap_or(59),
            );
            let business = hours.days.contains(&weekday) && time >= hours.start && time < hours.end;
            Some(Self {
                weekday,
                time,
                business,
            })
        }
        #[cfg(not(feature = "tz"))]
        {
            let _ = (hours, now);
            None
        }
    }
}
