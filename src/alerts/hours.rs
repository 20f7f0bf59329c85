//! Business hours in the facility's time zone.
//!
//! The IANA zone database (`chrono-tz`) is behind the `tz` feature and left
//! out of the browser build, which raises no business-hours alerts: without
//! the feature [`Hours::is_off_hours`] always answers `false`, so the rule is
//! silent rather than guessing at an offset. The collector and the CLI build
//! with `tz` and evaluate it.

use crate::policy::{AlertConfigError, BusinessHours};
use crate::Timestamp;

/// Business hours resolved for evaluation.
#[derive(Debug, Clone)]
pub(super) struct Hours {
    #[cfg(feature = "tz")]
    zone: chrono_tz::Tz,
    #[cfg(feature = "tz")]
    days: Vec<chrono::Weekday>,
    #[cfg(feature = "tz")]
    start: u32,
    #[cfg(feature = "tz")]
    end: u32,
}

impl Hours {
    /// Resolves the zone name (with `tz`).
    pub(super) fn new(bh: &BusinessHours) -> Result<Self, AlertConfigError> {
        #[cfg(feature = "tz")]
        {
            let zone =
                bh.time_zone
                    .parse::<chrono_tz::Tz>()
                    .map_err(|_| AlertConfigError::TimeZone {
                        pointer: "/businessHours/timeZone".into(),
                        zone: bh.time_zone.clone(),
                    })?;
            Ok(Self {
                zone,
                days: bh.days.iter().map(|d| d.to_chrono()).collect(),
                start: bh.start.minutes(),
                end: bh.end.minutes(),
            })
        }
        #[cfg(not(feature = "tz"))]
        {
            let _ = bh;
            Ok(Self {})
        }
    }

    /// True when `ts` falls outside business hours (never without `tz`).
    pub(super) fn is_off_hours(&self, ts: Timestamp) -> bool {
        #[cfg(feature = "tz")]
        {
            use chrono::{Datelike, Timelike};
            let local = ts.to_datetime().with_timezone(&self.zone);
            let minute = local.hour() * 60 + local.minute();
            !(self.days.contains(&local.weekday()) && minute >= self.start && minute < self.end)
        }
        #[cfg(not(feature = "tz"))]
        {
            let _ = ts;
            false
        }
    }
}
