//! The `anchors` table: every head anchor received, `(chain, seq, hash)`
//! (the highest is also kept in `chains`).

use sqlx::{Any, Executor, Row};

use sealtrail::event::ChainId;
use sealtrail::Digest;

use super::{signed, unsigned, WriteTx};

/// An anchored head: the browser said its chain's event at `seq` has `hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The anchored `seq`.
    pub seq: u64,
    /// The anchored hash, hex as received (a stored anchor always parsed).
    pub hash: String,
}

/// Records an anchor (once however often it is sent).
pub async fn insert(
    tx: &mut WriteTx,
    chain: &ChainId,
    seq: u64,
    hash: &Digest,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO anchors (chain, seq, hash, received_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (chain, seq, hash) DO NOTHING",
    )
    .bind(chain.as_str())
    .bind(signed(seq)?)
    .bind(hash.to_hex())
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .map(drop)
}

/// Anchors of a chain with `seq` in `from..=to` (every one when `to` is
/// `u64::MAX`), in order.
pub async fn range<'e>(
    conn: impl Executor<'e, Database = Any>,
    chain: &ChainId,
    from: u64,
    to: u64,
) -> Result<Vec<Anchor>, sqlx::Error> {
    sqlx::query(
        "SELECT seq, hash FROM anchors WHERE chain = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq, hash",
    )
    .bind(chain.as_str())
    .bind(signed(from)?)
    .bind(i64::try_from(to).unwrap_or(i64::MAX))
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Anchor {
            seq: unsigned(r.try_get("seq")?),
            hash: r.try_get("hash")?,
        })
    })
    .collect()
}
