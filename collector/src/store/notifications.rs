//! The `notifications` table: the notification hook's outbox. A message is
//! queued in the transaction that decides it (its id, kind and case, makes
//! a second queueing a no-op) and delivered later, with retries; unlike the
//! evidence tables, its delivery columns change.

use sqlx::Row;

use super::{Store, WriteTx};

/// One queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// `KIND:CASE`.
    pub id: String,
    /// The JSON body, exactly as signed and sent.
    pub body: String,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// A message to queue.
#[derive(Debug, Clone, Copy)]
pub struct New<'a> {
    /// `KIND:CASE`: the same message is queued once.
    pub id: &'a str,
    /// The case.
    pub case_id: &'a str,
    /// `case.opened`, `case.escalated`, `case.assigned`.
    pub kind: &'a str,
    /// The JSON body.
    pub body: &'a str,
}

/// Queues a message unless it was queued before. Returns whether it is new.
pub async fn queue(tx: &mut WriteTx, m: New<'_>, now_ms: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO notifications (id, case_id, kind, body, created_ms, attempts, next_ms) \
         VALUES ($1, $2, $3, $4, $5, 0, $5) ON CONFLICT (id) DO NOTHING",
    )
    .bind(m.id)
    .bind(m.case_id)
    .bind(m.kind)
    .bind(m.body)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Undelivered messages due at `now_ms` with fewer than `max_attempts` failures, oldest first.
pub async fn due(
    store: &Store,
    now_ms: i64,
    max_attempts: i64,
) -> Result<Vec<Queued>, sqlx::Error> {
    sqlx::query(
        "SELECT id, body, attempts FROM notifications \
         WHERE delivered_ms IS NULL AND next_ms <= $1 AND attempts < $2 ORDER BY created_ms, id",
    )
    .bind(now_ms)
    .bind(max_attempts)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(Queued {
            id: r.try_get("id")?,
            body: r.try_get("body")?,
            attempts: r.try_get("attempts")?,
        })
    })
    .collect()
}

/// Marks a message delivered.
pub async fn delivered(store: &Store, id: &str, now_ms: i64) -> Result<(), sqlx::Error> {
    let mut tx = store.begin_write().await?;
    sqlx::query("UPDATE notifications SET delivered_ms = $2, last_error = NULL WHERE id = $1")
        .bind(id)
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
    tx.commit().await
}

/// Records a failed attempt and when to try again.
pub async fn failed(store: &Store, id: &str, error: &str, next_ms: i64) -> Result<(), sqlx::Error> {
    let mut tx = store.begin_write().await?;
    sqlx::query(
        "UPDATE notifications SET attempts = attempts + 1, last_error = $2, next_ms = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(next_ms)
    .execute(tx.conn())
    .await?;
    tx.commit().await
}
