//! The collector's clock. The core never reads one; the collector does, here only.

use std::time::{SystemTime, UNIX_EPOCH};

use sealtrail::{Timestamp, TimestampError};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Now, as the core's time stamp (an error only for a clock beyond year 262143).
pub fn now() -> Result<Timestamp, TimestampError> {
    Timestamp::from_millis(now_ms())
}

/// RFC 3339 text of a millisecond time (empty when out of range).
pub fn rfc3339(ms: i64) -> String {
    Timestamp::from_millis(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}
