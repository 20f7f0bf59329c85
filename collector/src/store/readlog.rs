//! The `read_log` table (the collector's own chain of audit reads, append-only)
//! and the `meta` table (the row naming that chain, the notifier's cursor).

use sqlx::Row;

use super::{signed, Store, WriteTx};

/// The `meta` key of the read log's chain id.
const CHAIN_KEY: &str = "read_log_chain";

/// The last line of the read log, if any.
pub async fn last(store: &Store) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT line FROM read_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(store.pool())
        .await?
        .map(|r| r.try_get("line"))
        .transpose()
}

/// The read log's chain id, once chosen.
pub async fn chain(store: &Store) -> Result<Option<String>, sqlx::Error> {
    meta(store, CHAIN_KEY).await
}

/// A `meta` value.
pub async fn meta(store: &Store, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT value FROM meta WHERE key = $1")
        .bind(key)
        .fetch_optional(store.pool())
        .await?
        .map(|r| r.try_get("value"))
        .transpose()
}

/// Sets a `meta` value (the notifier's cursor), replacing the one before.
pub async fn set_meta(store: &Store, key: &str, value: &str) -> Result<(), sqlx::Error> {
    let mut tx = store.begin_write().await?;
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(tx.conn())
    .await?;
    tx.commit().await
}

/// Records the read log's chain id (the first one chosen stays).
pub async fn set_chain(store: &Store, chain: &str) -> Result<(), sqlx::Error> {
    set_meta_once(store, CHAIN_KEY, chain).await
}

/// Sets a `meta` value unless one is set (the first one written stays).
pub async fn set_meta_once(store: &Store, key: &str, value: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .bind(value)
        .execute(store.pool())
        .await
        .map(drop)
}

/// Appends one line inside a write transaction.
pub async fn append(
    tx: &mut WriteTx,
    seq: u64,
    ts_ms: i64,
    actor_id: &str,
    line: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO read_log (seq, ts_ms, actor_id, line) VALUES ($1, $2, $3, $4)")
        .bind(signed(seq)?)
        .bind(ts_ms)
        .bind(actor_id)
        .bind(line)
        .execute(tx.conn())
        .await
        .map(drop)
}

/// Lines in order, from `offset`, at most `limit`.
pub async fn lines(store: &Store, offset: i64, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query("SELECT line FROM read_log ORDER BY seq LIMIT $1 OFFSET $2")
        .bind(limit)
        .bind(offset)
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| r.try_get("line"))
        .collect()
}
