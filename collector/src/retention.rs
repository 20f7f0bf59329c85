//! Retention: events older than the retention period move to `events_archive`
//! (same columns, plus when they moved) in one transaction; nothing is
//! silently deleted. Runs at start and then hourly.

use std::time::Duration;

use crate::server::AppState;
use crate::store::Store;

/// Moves events with `ts` before `cutoff_ms` to the archive. Returns how many moved.
pub async fn archive_before(
    store: &Store,
    cutoff_ms: i64,
    now_ms: i64,
) -> Result<u64, sqlx::Error> {
    let mut tx = store.begin_write().await?;
    let copied = sqlx::query(
        "INSERT INTO events_archive (chain, seq, ts_ms, hash, actor_id, actor_name, actor_role, action, outcome, \
         record_id, record_type, ip, demographics, line, received_ms, archived_ms) \
         SELECT chain, seq, ts_ms, hash, actor_id, actor_name, actor_role, action, outcome, \
         record_id, record_type, ip, demographics, line, received_ms, $2 FROM events WHERE ts_ms < $1 \
         ON CONFLICT (chain, seq) DO NOTHING",
    )
    .bind(cutoff_ms)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    // The store's trigger refuses to delete any event not already in the archive.
    let moved = sqlx::query("DELETE FROM events WHERE ts_ms < $1")
        .bind(cutoff_ms)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    if copied.rows_affected() != moved.rows_affected() {
        tracing::warn!(
            copied = copied.rows_affected(),
            moved = moved.rows_affected(),
            "archive and live table disagreed; nothing was lost"
        );
    }
    Ok(moved.rows_affected())
}

/// Starts the hourly retention task.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let period = i64::from(state.retention_days) * 86_400_000;
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let now = crate::clock::now_ms();
            match archive_before(&state.store, now.saturating_sub(period), now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "archived events past the retention period"),
                Err(e) => tracing::error!(error = %e, "retention run failed"),
            }
        }
    });
}
