//! Retention: events received longer ago than the retention period (the
//! collector's receive time, never the client's `ts`) move to `events_archive`
//! (same columns, plus when they moved) in one transaction; nothing is
//! silently deleted. Runs at start and then hourly.

use std::time::Duration;

use crate::store::Store;

pub use crate::store::events::archive_before;

/// Starts the hourly retention task.
pub fn spawn(store: Store, retention_days: u32) {
    tokio::spawn(async move {
        let period = i64::from(retention_days) * 86_400_000;
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let now = crate::clock::now_ms();
            match archive_before(&store, now.saturating_sub(period), now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "archived events past the retention period"),
                Err(e) => tracing::error!(error = %e, "retention run failed"),
            }
        }
    });
}
