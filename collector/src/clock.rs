//! The collector's clock. The core never reads one; the collector does, here only.
//!
//! [`Clock`] is the clock the case workflow, the read log and the
//! notifier read: the system clock plus a shift that only tests move
//! ([`Clock::advance`]), so a test can let a response time pass without
//! waiting for it, and everything the collector writes stays in order.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sealtrail::{Timestamp, TimestampError};

/// Milliseconds since the Unix epoch, now, by the system clock.
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

/// The system clock, shifted forward by what tests asked for (nothing, in
/// a running collector). Clones share the shift.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    shift_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Milliseconds since the Unix epoch, now.
    pub fn now_ms(&self) -> i64 {
        now_ms().saturating_add(self.shift_ms.load(Ordering::Acquire))
    }

    /// Now, as the core's time stamp.
    pub fn now(&self) -> Result<Timestamp, TimestampError> {
        Timestamp::from_millis(self.now_ms())
    }

    /// Moves this clock (and its clones) `ms` milliseconds forward; a
    /// negative `ms` is ignored, so time never runs backwards.
    pub fn advance(&self, ms: i64) {
        if ms > 0 {
            self.shift_ms.fetch_add(ms, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone_forward_only() {
        let clock = Clock::default();
        let other = clock.clone();
        let before = other.now_ms();
        clock.advance(3_600_000);
        assert!(other.now_ms() >= before + 3_600_000);
        clock.advance(-7_200_000);
        assert!(other.now_ms() >= before + 3_600_000);
    }
}
