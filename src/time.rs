//! Event time stamps: RFC 3339 UTC with milliseconds (`2026-11-23T06:00:00.123Z`).
//!
//! The core never reads a clock: callers pass the current time in, so the same
//! code runs natively, in the browser (from `Date.now()`) and in tests.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant with millisecond precision, in milliseconds since the Unix epoch.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why a string is not a sealtrail time stamp.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TimestampError {
    /// Not RFC 3339, or not in UTC.
    #[error("expected an RFC 3339 UTC time such as `2026-11-23T06:00:00.123Z`, found `{0}`")]
    Malformed(String),
    /// Outside the range a time stamp can hold.
    #[error("time {0} ms since the epoch is out of range")]
    OutOfRange(i64),
}

impl Timestamp {
    /// From milliseconds since the Unix epoch (what `Date.now()` returns).
    pub fn from_millis(ms: i64) -> Result<Self, TimestampError> {
        DateTime::<Utc>::from_timestamp_millis(ms)
            .map(|_| Self(ms))
            .ok_or(TimestampError::OutOfRange(ms))
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Parses RFC 3339. Verifiers accept any offset-`Z` RFC 3339 time; producers
    /// always write exactly three fraction digits.
    pub fn parse(s: &str) -> Result<Self, TimestampError> {
        if !s.ends_with('Z') {
            return Err(TimestampError::Malformed(s.to_owned()));
        }
        DateTime::parse_from_rfc3339(s)
            .map(|t| Self(t.timestamp_millis()))
            .map_err(|_| TimestampError::Malformed(s.to_owned()))
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
    fn rejects_offsets_and_garbage() {
        assert!(Timestamp::parse("2026-11-23T06:00:00.123+01:00").is_err());
        assert!(Timestamp::parse("yesterday").is_err());
    }
}
