//! The `at_rest_keys` table: data keys sealed under a master key
//! ([`crate::at_rest`]); rows are only ever re-sealed, never deleted.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::{Store, WriteTx};

/// A stored data key, still sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedKey {
    /// Its id, as rows name it.
    pub id: String,
    /// The master key it is sealed under.
    pub master_id: String,
    /// The key, sealed.
    pub sealed: String,
}

const ALL: &str = "SELECT id, master_id, sealed FROM at_rest_keys ORDER BY created_ms, id";

fn sealed_key(r: &AnyRow) -> Result<SealedKey, sqlx::Error> {
    Ok(SealedKey {
        id: r.try_get("id")?,
        master_id: r.try_get("master_id")?,
        sealed: r.try_get("sealed")?,
    })
}

async fn all_on<'e>(
    conn: impl Executor<'e, Database = Any>,
) -> Result<Vec<SealedKey>, sqlx::Error> {
    sqlx::query(ALL)
        .fetch_all(conn)
        .await?
        .iter()
        .map(sealed_key)
        .collect()
}

/// Every data key, oldest first.
pub async fn all(store: &Store) -> Result<Vec<SealedKey>, sqlx::Error> {
    all_on(store.pool()).await
}

/// Every data key, oldest first, inside a write transaction.
pub async fn all_in(tx: &mut WriteTx) -> Result<Vec<SealedKey>, sqlx::Error> {
    all_on(tx.conn()).await
}

/// Stores a new data key.
pub async fn insert(
    tx: &mut WriteTx,
    id: &str,
    master_id: &str,
    sealed: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO at_rest_keys (id, master_id, sealed, created_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(master_id)
    .bind(sealed)
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .map(drop)
}

/// Re-seals data key `id` under master key `master_id`.
pub async fn reseal(
    tx: &mut WriteTx,
    id: &str,
    master_id: &str,
    sealed: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE at_rest_keys SET master_id = $2, sealed = $3 WHERE id = $1")
        .bind(id)
        .bind(master_id)
        .bind(sealed)
        .execute(tx.conn())
        .await
        .map(drop)
}
