//! The `credentials` table: every upload credential a chain's writes came
//! with, once per window. The first binds the chain to its owner; the
//! windows are the times its events may be stamped with.

use sqlx::Row;

use sealtrail::credential::Claims;
use sealtrail::event::ChainId;

use super::WriteTx;

/// A credential seen for a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Its `sub`.
    pub sub: String,
    /// Its `sid`.
    pub sid: String,
    /// Its `role`.
    pub role: String,
    /// Its `iat`, in milliseconds.
    pub iat_ms: i64,
    /// Its `exp`, in milliseconds.
    pub exp_ms: i64,
}

impl Seen {
    /// What `claims` add when they are accepted.
    pub fn of(claims: &Claims) -> Self {
        Self {
            sub: claims.sub.clone(),
            sid: claims.sid.clone(),
            role: claims.role.clone(),
            iat_ms: claims.iat.saturating_mul(1000),
            exp_ms: claims.exp.saturating_mul(1000),
        }
    }
}

/// The credentials seen for `chain`, oldest first.
pub async fn seen(tx: &mut WriteTx, chain: &ChainId) -> Result<Vec<Seen>, sqlx::Error> {
    sqlx::query(
        "SELECT sub, sid, role, iat_ms, exp_ms FROM credentials WHERE chain = $1 ORDER BY received_ms, iat_ms",
    )
    .bind(chain.as_str())
    .fetch_all(tx.conn())
    .await?
    .iter()
    .map(|r| {
        Ok(Seen {
            sub: r.try_get("sub")?,
            sid: r.try_get("sid")?,
            role: r.try_get("role")?,
            iat_ms: r.try_get("iat_ms")?,
            exp_ms: r.try_get("exp_ms")?,
        })
    })
    .collect()
}

/// Records a credential the chain's write was accepted with (once per window).
pub async fn insert(
    tx: &mut WriteTx,
    chain: &ChainId,
    seen: &Seen,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO credentials (chain, sub, sid, role, iat_ms, exp_ms, received_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (chain, iat_ms, exp_ms) DO NOTHING",
    )
    .bind(chain.as_str())
    .bind(seen.sub.as_str())
    .bind(seen.sid.as_str())
    .bind(seen.role.as_str())
    .bind(seen.iat_ms)
    .bind(seen.exp_ms)
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .map(drop)
}
