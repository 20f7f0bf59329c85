//! Chain heads against the transparency log, for the review page: each
//! stored head as the events table holds it (the evidence a reviewer would
//! export), with the leaf index the log gave that event and an inclusion
//! proof in the published checkpoint. The proofs come from the log's tree,
//! the heads from the store: a head edited in the database no longer leads
//! to the signed root, and the reviewer's browser, checking every proof
//! itself, sees it.

use axum::Json;
use serde_json::{json, Value};

use sealtrail::event::ChainId;
use sealtrail::tlog::checkpoint::encode_hash;
use sealtrail::tlog::{Checkpoint, Note};

use super::params::{FromParams, Params};
use super::{parse_line, Ask};
use crate::auth;
use crate::error::ApiError;
use crate::store::{chains as chain_rows, events};

/// `?limit=1000&offset=0`, as the chain list.
struct HeadsQuery {
    limit: i64,
    offset: i64,
}

impl FromParams for HeadsQuery {
    fn from_params(p: &mut Params) -> Result<Self, ApiError> {
        Ok(Self {
            limit: p.int("limit", 1000, 1..=10_000)?,
            offset: p.offset()?,
        })
    }
}

/// `GET /api/tlog/heads`: the published checkpoint, the log's key, and per
/// chain its stored head (`seq`, `hash`), the head's leaf `index` (`null`:
/// the log never logged that event) and `proof`, the inclusion proof in the
/// checkpoint (base64 hashes; `null` while the leaf is beyond its size).
pub(super) async fn heads(ask: Ask) -> Result<Json<Value>, ApiError> {
    let q: HeadsQuery = ask.admit(auth::REVIEW, None).await?;
    let state = ask.state;
    if !state.log.enabled() {
        return Err(ApiError::NotFound(
            "this collector keeps no transparency log".into(),
        ));
    }
    // One checkpoint for every proof of the answer.
    let published = state.log.published();
    let size = Note::parse(&published)
        .ok()
        .and_then(|n| Checkpoint::parse(n.text()).ok())
        .map_or(0, |c| c.size);
    let rows = chain_rows::list(&state.store, q.limit, q.offset).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (Some(last), Ok(chain)) = (r.last_seq, ChainId::parse(&r.id)) else {
            continue;
        };
        let seq = u64::try_from(last)
            .map_err(|_| ApiError::Internal(format!("chain `{}` has seq {last}", r.id)))?;
        let stored = events::range(state.store.pool(), &chain, seq, seq).await?;
        // The head as an export hands it out: the stored line's own `hash`.
        let hash = stored
            .first()
            .and_then(|e| parse_line(&e.line).get("hash").cloned())
            .unwrap_or(Value::Null);
        let index = state
            .log
            .index_of(&chain, seq)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let proof = match index {
            Some(i) if i < size => Some(
                state
                    .log
                    .inclusion(i, size)
                    .map_err(|e| ApiError::Internal(e.to_string()))?
                    .iter()
                    .map(encode_hash)
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        };
        out.push(json!({
            "chain": r.id,
            "seq": seq,
            "hash": hash,
            "index": index,
            "proof": proof,
        }));
    }
    Ok(Json(json!({
        "key": state.log.public_key(),
        "checkpoint": published,
        "size": size,
        "heads": out,
    })))
}
