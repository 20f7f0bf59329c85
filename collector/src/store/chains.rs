//! The `chains` table, insert-only: one row per chain (its id and when it
//! was first seen), which ingest holds for the length of a batch. What
//! changes is derived from append-only rows (migration 0010): the verified
//! head from `chain_heads` (one row per stored batch), the highest anchored
//! head from `anchors`, the guarantees as the weakest any batch reported.

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

/// Creates the chain's row if missing, locks it (PostgreSQL: `FOR UPDATE`;
/// SQLite: the write transaction is the lock), then reads its head and
/// highest anchor.
pub async fn lock(
    store: &Store,
    tx: &mut WriteTx,
    chain: &ChainId,
    now_ms: i64,
) -> Result<Locked, sqlx::Error> {
    ensure(tx.conn(), chain.as_str(), now_ms).await?;
    let sql = format!("SELECT id FROM chains WHERE id = $1{}", store.lock_clause());
    sqlx::query(&sql)
        .bind(chain.as_str())
        .fetch_one(tx.conn())
        .await?;
    let row = sqlx::query(
        "SELECT seq, head, ts_ms FROM chain_heads WHERE chain = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(chain.as_str())
    .fetch_optional(tx.conn())
    .await?;
    let (last_seq, head) = match row {
        Some(row) => {
            let seq = unsigned(row.try_get::<i64, _>("seq")?);
            let hash = Digest::parse(&row.try_get::<String, _>("head")?).ok();
            let ts = Timestamp::from_millis(row.try_get::<i64, _>("ts_ms")?).ok();
            let head = match (hash, ts) {
                (Some(hash), Some(ts)) => Some(Head { seq, hash, ts }),
                _ => None,
            };
            (Some(seq), head)
        }
        None => (None, None),
    };
    let anchor_seq = sqlx::query("SELECT MAX(seq) AS seq FROM anchors WHERE chain = $1")
        .bind(chain.as_str())
        .fetch_one(tx.conn())
        .await?
        .try_get::<Option<i64>, _>("seq")?
        .map(unsigned);
    Ok(Locked {
        last_seq,
        head,
        anchor_seq,
    })
}

/// Creates the chain's row if missing.
pub async fn ensure<'e>(
    conn: impl Executor<'e, Database = Any>,
    chain: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO chains (id, first_seen_ms) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(chain)
    .bind(now_ms)
    .execute(conn)
    .await
    .map(drop)
}

/// Moves the chain's head to `head` (events up to it were just stored) by
/// appending it to `chain_heads`, with the guarantees `said` this upload
/// reported: a chain is only as safe as the weakest browser state any of
/// its batches came from, so readers take the weakest of them.
pub async fn advance(
    tx: &mut WriteTx,
    chain: &ChainId,
    head: &Head,
    said: Option<Guarantees>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO chain_heads (chain, seq, head, ts_ms, received_ms, durability, storage) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
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

/// The stored head of a chain: `None` for an unknown chain, `Some((None, _))`
/// for a chain with nothing stored yet.
pub async fn find(
    store: &Store,
    chain: &ChainId,
) -> Result<Option<(Option<i64>, Option<String>)>, sqlx::Error> {
    let known = sqlx::query("SELECT id FROM chains WHERE id = $1")
        .bind(chain.as_str())
        .fetch_optional(store.pool())
        .await?;
    if known.is_none() {
        return Ok(None);
    }
    let head =
        sqlx::query("SELECT seq, head FROM chain_heads WHERE chain = $1 ORDER BY seq DESC LIMIT 1")
            .bind(chain.as_str())
            .fetch_optional(store.pool())
            .await?;
    Ok(Some(match head {
        Some(r) => (Some(r.try_get("seq")?), Some(r.try_get("head")?)),
        None => (None, None),
    }))
}

/// Chains, most recently changed first.
pub async fn list(store: &Store, limit: i64, offset: i64) -> Result<Vec<Listed>, sqlx::Error> {
    // The weakest guarantee is the least by name: `bestEffort` < `strict`,
    // `evictable` < `persistent`.
    sqlx::query(
        "SELECT c.id, c.first_seen_ms, \
         COALESCE((SELECT MAX(received_ms) FROM chain_heads x WHERE x.chain = c.id), c.first_seen_ms) AS updated_ms, \
         h.seq AS last_seq, h.head, h.ts_ms AS last_ts_ms, \
         a.seq AS anchor_seq, a.hash AS anchor_hash, a.received_ms AS anchor_ms, \
         (SELECT MIN(durability) FROM chain_heads x WHERE x.chain = c.id) AS durability, \
         (SELECT MIN(storage) FROM chain_heads x WHERE x.chain = c.id) AS storage \
         FROM chains c \
         LEFT JOIN chain_heads h ON h.chain = c.id \
           AND h.seq = (SELECT MAX(seq) FROM chain_heads x WHERE x.chain = c.id) \
         LEFT JOIN anchors a ON a.chain = c.id \
           AND a.seq = (SELECT MAX(seq) FROM anchors x WHERE x.chain = c.id) \
         ORDER BY updated_ms DESC, c.id LIMIT $1 OFFSET $2",
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
