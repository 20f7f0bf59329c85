//! Event time stamps: RFC 3339 UTC with milliseconds (`2026-11-23T06:00:00.123Z`).
//!
//! There is exactly one written form, `YYYY-MM-DDTHH:MM:SS.mmmZ` (what
//! ECMAScript's `Date.prototype.toISOString` writes for years 0000 to 9999):
//! a time has one text, so two producers never hash the same instant
//! differently and verifiers agree on what is valid. No other RFC 3339 form
//! (an offset, fewer or more fraction digits, a leap second `:60`) is read.
//!
//! The core never reads a clock: callers pass the current time in, so the same
//! code runs natively, in the browser (from `Date.now()`) and in tests.

use std::fmt;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant with millisecond precision, in milliseconds since the Unix epoch.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why a string is not a sealtrail time stamp.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TimestampError {
    /// Not of the form `YYYY-MM-DDTHH:MM:SS.mmmZ`, or not a date and time.
    #[error(
        "expected a UTC time of the form `YYYY-MM-DDTHH:MM:SS.mmmZ` such as `2026-11-23T06:00:00.123Z`, found `{0}`"
    )]
    Malformed(String),
    /// Outside the years 0000 to 9999.
    #[error("expected a time from year 0000 to 9999, found {0} ms since the epoch")]
    OutOfRange(i64),
}

/// `0000-01-01T00:00:00.000Z` and `9999-12-31T23:59:59.999Z` in
/// milliseconds since the epoch: the times the one written form can hold.
const MIN_MS: i64 = -62_167_219_200_000;
const MAX_MS: i64 = 253_402_300_799_999;

impl Timestamp {
    /// From milliseconds since the Unix epoch (what `Date.now()` returns),
    /// within the years 0000 to 9999.
    pub fn from_millis(ms: i64) -> Result<Self, TimestampError> {
        if (MIN_MS..=MAX_MS).contains(&ms) {
            Ok(Self(ms))
        } else {
            Err(TimestampError::OutOfRange(ms))
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Parses the one form, `YYYY-MM-DDTHH:MM:SS.mmmZ`: a real calendar
    /// date, hours 00 to 23, minutes and seconds 00 to 59.
    pub fn parse(s: &str) -> Result<Self, TimestampError> {
        let malformed = || TimestampError::Malformed(s.to_owned());
        let b = s.as_bytes();
        let shape = b.len() == 24
            && b.iter().enumerate().all(|(i, &c)| match i {
                4 | 7 => c == b'-',
                10 => c == b'T',
                13 | 16 => c == b':',
                19 => c == b'.',
                23 => c == b'Z',
                _ => c.is_ascii_digit(),
            });
        if !shape {
            return Err(malformed());
        }
        let num = |from: usize, to: usize| -> u32 {
            b.get(from..to)
                .unwrap_or_default()
                .iter()
                .fold(0, |n, &c| n * 10 + u32::from(c - b'0'))
        };
        // Years 0000 to 9999 fit an i32.
        let year = i32::try_from(num(0, 4)).map_err(|_| malformed())?;
        let (hour, minute, second) = (num(11, 13), num(14, 16), num(17, 19));
        // Seconds below 60: chrono would read `:60` as a leap second.
        let at = NaiveDate::from_ymd_opt(year, num(5, 7), num(8, 10))
            .filter(|_| second < 60)
            .and_then(|d| d.and_hms_milli_opt(hour, minute, second, num(20, 23)))
            .ok_or_else(malformed)?;
        Ok(Self(at.and_utc().timestamp_millis()))
    }

    /// This instant plus `ms` milliseconds (saturating).
    pub fn plus_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// The chrono form, for calendar arithmetic (business hours, days).
    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp_millis(self.0).unwrap_or_default()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            &self
                .to_datetime()
                .to_rfc3339_opts(SecondsFormat::Millis, true),
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_milliseconds() {
        let t = Timestamp::parse("2026-11-23T06:00:00.123Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-23T06:00:00.123Z");
        assert_eq!(
            Timestamp::from_millis(0).unwrap().to_string(),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn rejects_every_other_form() {
        for s in [
            "2026-11-23T06:00:00.123+01:00",
            "2026-11-23T06:00:00.123+00:00",
            "2026-11-23T06:00:00Z",
            "2026-11-23T06:00:00.12Z",
            "2026-11-23T06:00:00.1234Z",
            "2026-11-23t06:00:00.123z",
            "2026-11-23 06:00:00.123Z",
            "2016-12-31T23:59:60.000Z",
            "2026-02-29T06:00:00.000Z",
            "2026-13-01T06:00:00.000Z",
            "2026-11-31T06:00:00.000Z",
            "2026-11-23T24:00:00.000Z",
            "2026-11-23T06:60:00.000Z",
            "+2026-11-23T06:00:00.000Z",
            "2026-11-23T06:00:00.12\u{663}Z",
            "yesterday",
            "",
        ] {
            assert!(
                matches!(Timestamp::parse(s), Err(TimestampError::Malformed(_))),
                "{s}"
            );
        }
        assert!(Timestamp::parse("2024-02-29T23:59:59.999Z").is_ok());
    }

    #[test]
    fn holds_exactly_the_years_of_the_written_form() {
        for s in ["0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z"] {
            let t = Timestamp::parse(s).unwrap();
            assert_eq!(t.to_string(), s);
            assert_eq!(Timestamp::from_millis(t.millis()), Ok(t));
        }
        assert_eq!(
            Timestamp::from_millis(MAX_MS + 1),
            Err(TimestampError::OutOfRange(MAX_MS + 1))
        );
        assert_eq!(
            Timestamp::from_millis(MIN_MS - 1),
            Err(TimestampError::OutOfRange(MIN_MS - 1))
        );
    }
}
