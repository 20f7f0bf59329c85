//! The `chains` table: one row per chain, its verified head and its highest
//! anchored head. Ingest holds a chain's row for the length of a batch.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use sealtrail::event::ChainId;
use sealtrail::guarantees::Guarantees;
use sealtrail::{Digest, Timestamp};

use super::{signed, unsigned, Store, WriteTx};

/// A chain's last stored event: where the next batch links from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Its `seq`.
    pub seq: u64,
    /// Its hash.
    pub hash: Digest,
    /// Its `ts`.
    pub ts: Timestamp,
}

/// A chain's row as ingest reads it, under its lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    /// The last stored `seq` (none before the first batch).
    pub last_seq: Option<u64>,
    /// The head at `last_seq`; none when nothing is stored, or when the row
    /// is damaged (a `seq` without a readable hash or time).
    pub head: Option<Head>,
    /// The highest anchored `seq`.
    pub anchor_seq: Option<u64>,
}

/// A chain as the review APIs list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The chain id.
    pub id: String,
    /// When its first batch or anchor arrived.
    pub first_seen_ms: i64,
    /// When it last changed.
    pub updated_ms: i64,
    /// The last stored `seq`.
    pub last_seq: Option<i64>,
    /// The head's hash.
    pub head: Option<String>,
    /// The head's `ts`.
    pub last_ts_ms: Option<i64>,
    /// The highest anchor: `(seq, hash, received)`.
    pub anchor: Option<(i64, Option<String>, Option<i64>)>,
    /// The weakest durability its uploads reported (`strict`, `bestEffort`).
    pub durability: Option<String>,
    /// The weakest storage its uploads reported (`persistent`, `evictable`).
    pub storage: Option<String>,
}

/// Creates the chain's row if missing, then reads it, locked (PostgreSQL:
/// `FOR UPDATE`; SQLite: the write transaction is the lock).
pub async fn lock(
    store: &Store,
    tx: &mut WriteTx,
    chain: &ChainId,
    now_ms: i64,
) -> Result<Locked, sqlx::Error> {
    ensure(tx.conn(), chain.as_str(), now_ms).await?;
    let sql = format!(
        "SELECT last_seq, head, last_ts_ms, anchor_seq FROM chains WHERE id = $1{}",
        store.lock_clause()
    );
    let row = sqlx::query(&sql)
        .bind(chain.as_str())
        .fetch_one(tx.conn())
        .await?;
    let last_seq = row.try_get::<Option<i64>, _>("last_seq")?.map(unsigned);
    let hash = row
        .try_get::<Option<String>, _>("head")?
        .and_then(|h| Digest::parse(&h).ok());
    let ts = row
        .try_get::<Option<i64>, _>("last_ts_ms")?
        .and_then(|t| Timestamp::from_millis(t).ok());
    let head = match (last_seq, hash, ts) {
        (Some(seq), Some(hash), Some(ts)) => Some(Head { seq, hash, ts }),
        _ => None,
    };
    Ok(Locked {
        last_seq,
        head,
        anchor_seq: row.try_get::<Option<i64>, _>("anchor_seq")?.map(unsigned),
    })
}

/// Creates the chain's row if missing.
pub async fn ensure<'e>(
    conn: impl Executor<'e, Database = Any>,
    chain: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO chains (id, first_seen_ms, updated_ms) VALUES ($1, $2, $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(chain)
    .bind(now_ms)
    .execute(conn)
    .await
    .map(drop)
}

/// Moves the chain's head to `head` (events up to it were just stored), and
/// lowers its recorded guarantees to `said` where `said` is weaker: a chain
/// is only as safe as the weakest browser state any of its batches came from.
pub async fn advance(
    tx: &mut WriteTx,
    chain: &ChainId,
    head: &Head,
    said: Option<Guarantees>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE chains SET last_seq = $2, head = $3, last_ts_ms = $4, updated_ms = $5, \
         durability = CASE WHEN durability = 'bestEffort' THEN durability ELSE COALESCE(CAST($6 AS TEXT), durability) END, \
         storage = CASE WHEN storage = 'evictable' THEN storage ELSE COALESCE(CAST($7 AS TEXT), storage) END \
         WHERE id = $1",
    )
    .bind(chain.as_str())
    .bind(signed(head.seq)?)
    .bind(head.hash.to_hex())
    .bind(head.ts.millis())
    .bind(now_ms)
    .bind(said.map(|g| g.durability.as_str()))
    .bind(said.map(|g| g.storage.as_str()))
    .execute(tx.conn())
    .await
    .map(drop)
}

/// Records `(seq, hash)` as the chain's highest anchor.
pub async fn raise_anchor(
    tx: &mut WriteTx,
    chain: &ChainId,
    seq: u64,
    hash: &Digest,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE chains SET anchor_seq = $2, anchor_hash = $3, anchor_ms = $4 WHERE id = $1")
        .bind(chain.as_str())
        .bind(signed(seq)?)
        .bind(hash.to_hex())
        .bind(now_ms)
        .execute(tx.conn())
        .await
        .map(drop)
}

/// The stored head of a chain: `None` for an unknown chain, `Some((None, _))`
/// for a chain with nothing stored yet.
pub async fn find(
    store: &Store,
    chain: &ChainId,
) -> Result<Option<(Option<i64>, Option<String>)>, sqlx::Error> {
    sqlx::query("SELECT last_seq, head FROM chains WHERE id = $1")
        .bind(chain.as_str())
        .fetch_optional(store.pool())
        .await?
        .map(|r| Ok((r.try_get("last_seq")?, r.try_get("head")?)))
        .transpose()
}

/// Chains, most recently changed first.
pub async fn list(store: &Store, limit: i64, offset: i64) -> Result<Vec<Listed>, sqlx::Error> {
    sqlx::query(
        "SELECT id, first_seen_ms, updated_ms, last_seq, head, last_ts_ms, anchor_seq, anchor_hash, anchor_ms, \
         durability, storage FROM chains ORDER BY updated_ms DESC, id LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(listed)
    .collect()
}

fn listed(r: &AnyRow) -> Result<Listed, sqlx::Error> {
    let anchor_seq: Option<i64> = r.try_get("anchor_seq")?;
    Ok(Listed {
        id: r.try_get("id")?,
        first_seen_ms: r.try_get("first_seen_ms")?,
        updated_ms: r.try_get("updated_ms")?,
        last_seq: r.try_get("last_seq")?,
        head: r.try_get("head")?,
        last_ts_ms: r.try_get("last_ts_ms")?,
        anchor: match anchor_seq {
            Some(seq) => Some((seq, r.try_get("anchor_hash")?, r.try_get("anchor_ms")?)),
            None => None,
        },
        durability: r.try_get("durability")?,
        storage: r.try_get("storage")?,
    })
}
