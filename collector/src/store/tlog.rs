//! The transparency log's tables: `tlog_leaves` (append-only, written in
//! the transaction of the events they name), `tlog_state` (a recent signed
//! checkpoint), `tlog_key` (the key when no file is given).

use sealtrail::event::ChainId;
use sealtrail::tlog::Leaf;
use sealtrail::Digest;
use sqlx::{AnyConnection, Row};

use super::{Backend, Store, WriteTx};

/// Rows per INSERT: 4 parameters each.
const CHUNK: usize = 500;

/// A stored value that does not read (a leaf edited into nonsense).
fn corrupt(e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(e.to_string().into())
}

fn leaf_of(chain: &str, seq: i64, hash: &str) -> Result<Leaf, sqlx::Error> {
    Ok(Leaf {
        chain: ChainId::parse(chain).map_err(corrupt)?,
        seq: u64::try_from(seq).map_err(|_| corrupt(format!("seq {seq} is negative")))?,
        hash: Digest::parse(hash).map_err(corrupt)?,
    })
}

/// Every leaf with its index, in log order.
pub async fn leaves(store: &Store) -> Result<Vec<(i64, Leaf)>, sqlx::Error> {
    let rows = sqlx::query("SELECT idx, chain, seq, hash FROM tlog_leaves ORDER BY idx")
        .fetch_all(store.pool())
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let idx: i64 = r.try_get(0)?;
        let chain: String = r.try_get(1)?;
        let hash: String = r.try_get(3)?;
        out.push((idx, leaf_of(&chain, r.try_get(2)?, &hash)?));
    }
    Ok(out)
}

/// Leaves `[from, to)`, for an entry bundle.
pub async fn range(store: &Store, from: u64, to: u64) -> Result<Vec<Leaf>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT chain, seq, hash FROM tlog_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
    )
    .bind(i64::try_from(from).map_err(corrupt)?)
    .bind(i64::try_from(to).map_err(corrupt)?)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let chain: String = r.try_get(0)?;
            let hash: String = r.try_get(2)?;
            leaf_of(&chain, r.try_get(1)?, &hash)
        })
        .collect()
}

/// The leaf index of an event, if it is in the log.
pub async fn index_of(
    store: &Store,
    chain: &ChainId,
    seq: u64,
) -> Result<Option<u64>, sqlx::Error> {
    let row = sqlx::query("SELECT idx FROM tlog_leaves WHERE chain = $1 AND seq = $2")
        .bind(chain.as_str())
        .bind(i64::try_from(seq).map_err(corrupt)?)
        .fetch_optional(store.pool())
        .await?;
    match row {
        Some(r) => {
            let idx: i64 = r.try_get(0)?;
            Ok(u64::try_from(idx).ok())
        }
        None => Ok(None),
    }
}

/// Stored events not in the log, in the order they were received: none
/// since leaves are stored with their events ([`append_in`]), but a
/// database from an older collector (which stored them after) may have some.
pub async fn unsequenced(store: &Store) -> Result<Vec<Leaf>, sqlx::Error> {
    let mut out = Vec::new();
    for table in ["events", "events_archive"] {
        let sql = format!(
            "SELECT e.chain, e.seq, e.hash FROM {table} e WHERE NOT EXISTS \
             (SELECT 1 FROM tlog_leaves l WHERE l.chain = e.chain AND l.seq = e.seq) \
             ORDER BY e.received_ms, e.chain, e.seq"
        );
        let rows = sqlx::query(&sql).fetch_all(store.pool()).await?;
        for r in &rows {
            let chain: String = r.try_get(0)?;
            let hash: String = r.try_get(2)?;
            out.push(leaf_of(&chain, r.try_get(1)?, &hash)?);
        }
    }
    Ok(out)
}

/// Appends leaves from index `first` and records the checkpoint that covers
/// them, in one transaction: at start, for events stored by a collector
/// older than leaves in the events' transaction ([`append_in`]).
pub async fn append(
    store: &Store,
    first: u64,
    leaves: &[Leaf],
    size: u64,
    checkpoint: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = store.begin_write().await?;
    insert(tx.conn(), i64::try_from(first).map_err(corrupt)?, leaves).await?;
    save_checkpoint(tx.conn(), size, checkpoint).await?;
    tx.commit().await
}

/// Appends a batch's leaves at the end of the log inside `tx`, the
/// transaction that stores their events, and gives the index of the first:
/// a crash keeps both or neither. On PostgreSQL, where batches commit in
/// parallel, the table is locked until the commit (`EXCLUSIVE`: reads go
/// on), so indexes are handed out in commit order and none is skipped by a
/// rollback. Call it last in the transaction: the lock is then held for the
/// least time, and never while waiting for another batch's rows. SQLite's
/// one writer needs no lock.
pub async fn append_in(
    store: &Store,
    tx: &mut WriteTx,
    leaves: &[Leaf],
) -> Result<u64, sqlx::Error> {
    if store.backend() == Backend::Postgres {
        sqlx::query("LOCK TABLE tlog_leaves IN EXCLUSIVE MODE")
            .execute(tx.conn())
            .await?;
    }
    let next: i64 = sqlx::query("SELECT COALESCE(MAX(idx) + 1, 0) FROM tlog_leaves")
        .fetch_one(tx.conn())
        .await?
        .try_get(0)?;
    insert(tx.conn(), next, leaves).await?;
    u64::try_from(next).map_err(corrupt)
}

/// Inserts leaves from index `first` on.
async fn insert(conn: &mut AnyConnection, first: i64, leaves: &[Leaf]) -> Result<(), sqlx::Error> {
    let mut idx = first;
    for chunk in leaves.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                format!(
                    "(${}, ${}, ${}, ${})",
                    4 * i + 1,
                    4 * i + 2,
                    4 * i + 3,
                    4 * i + 4
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO tlog_leaves (idx, chain, seq, hash) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for leaf in chunk {
            q = q
                .bind(idx)
                .bind(leaf.chain.as_str().to_owned())
                .bind(i64::try_from(leaf.seq).map_err(corrupt)?)
                .bind(leaf.hash.to_hex());
            idx += 1;
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Records the newest checkpoint the log signed (what the tree is checked
/// against at the next start), in a transaction of its own.
pub async fn save(store: &Store, size: u64, checkpoint: &str) -> Result<(), sqlx::Error> {
    let mut tx = store.begin_write().await?;
    save_checkpoint(tx.conn(), size, checkpoint).await?;
    tx.commit().await
}

async fn save_checkpoint(
    conn: &mut AnyConnection,
    size: u64,
    note: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO tlog_state (id, size, checkpoint) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET size = excluded.size, checkpoint = excluded.checkpoint",
    )
    .bind(i64::try_from(size).map_err(corrupt)?)
    .bind(note.to_owned())
    .execute(conn)
    .await
    .map(|_| ())
    .map_err(corrupt)
}

/// The latest checkpoint the log signed, if any.
pub async fn checkpoint(store: &Store) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT checkpoint FROM tlog_state WHERE id = 1")
        .fetch_optional(store.pool())
        .await?;
    row.map(|r| r.try_get::<String, _>(0).map_err(corrupt))
        .transpose()
}

/// The private key kept in the database, storing `fresh` first if none is.
pub async fn key_or(store: &Store, fresh: &str) -> Result<String, sqlx::Error> {
    let mut tx = store.begin_write().await?;
    sqlx::query("INSERT INTO tlog_key (id, private) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
        .bind(fresh.to_owned())
        .execute(tx.conn())
        .await?;
    let row = sqlx::query("SELECT private FROM tlog_key WHERE id = 1")
        .fetch_one(tx.conn())
        .await?;
    let key: String = row.try_get(0)?;
    tx.commit().await?;
    Ok(key)
}
