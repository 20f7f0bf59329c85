//! The log's public endpoints (C2SP `tlog-tiles`), under the upload endpoint
//! (`/api`): `checkpoint`, `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`,
//! and two conveniences computed from the same tree, `tlog/proof?index=I`
//! or `?chain=C&seq=N` (a `tlog-proof` in the published checkpoint) and
//! `tlog/consistency?old=N&new=M` (base64 hashes, one a line). Public and
//! unauthenticated: leaves are hashes, never event content.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use sealtrail::event::ChainId;
use sealtrail::tlog::checkpoint::encode_hash;
use sealtrail::tlog::leaf::bundle;
use sealtrail::tlog::proof_file::ProofFile;
use sealtrail::tlog::{Checkpoint, Note, TileKind, TilePath};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::tlog as store;

/// Tiles never change once served.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The log's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/checkpoint", get(checkpoint))
        .route("/api/tile/{*path}", get(tile))
        .route("/api/tlog/proof", get(proof))
        .route("/api/tlog/consistency", get(consistency))
}

fn text(body: String, cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

/// `GET /api/checkpoint`: the published checkpoint (mutable: not cached).
async fn checkpoint(State(state): State<AppState>) -> Response {
    text(state.log.published(), "no-cache")
}

/// `GET /api/tile/...`: hashes from the tree, entries from the store, both
/// only within the latest signed size.
async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let t =
        TilePath::parse(&format!("tile/{path}")).map_err(|e| ApiError::NotFound(e.to_string()))?;
    let (size, _) = state.log.latest();
    let level = match t.kind {
        TileKind::Hashes(l) => l,
        TileKind::Entries => 0,
    };
    let have = size.checked_shr(8 * u32::from(level)).unwrap_or(0);
    let end = t
        .index
        .checked_mul(256)
        .and_then(|s| s.checked_add(u64::from(t.width)));
    if end.is_none_or(|end| end > have) {
        return Err(ApiError::NotFound(format!(
            "`tile/{path}` is beyond the log's size {size}"
        )));
    }
    let body = match t.kind {
        TileKind::Hashes(l) => state.log.tile(l, t.index, t.width),
        TileKind::Entries => {
            let from = t.index * 256;
            let leaves = store::range(&state.store, from, from + u64::from(t.width))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            (leaves.len() == usize::from(t.width)).then(|| bundle(&leaves))
        }
    }
    .ok_or_else(|| ApiError::Internal(format!("`tile/{path}` is missing below the log's size")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofQuery {
    index: Option<u64>,
    chain: Option<String>,
    seq: Option<u64>,
}

/// `GET /api/tlog/proof?index=I` or `?chain=C&seq=N`: a leaf in the
/// published checkpoint, as a `tlog-proof` (an evidence export's head proof).
async fn proof(
    State(state): State<AppState>,
    Query(q): Query<ProofQuery>,
) -> Result<Response, ApiError> {
    let index = match (q.index, q.chain, q.seq) {
        (Some(i), None, None) => i,
        (None, Some(chain), Some(seq)) => {
            let chain = ChainId::parse(&chain)
                .map_err(|e| ApiError::BadRequest(format!("`chain`: {e}")))?;
            state
                .log
                .index_of(&chain, seq)
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?
                .ok_or_else(|| {
                    ApiError::NotFound(format!("event {chain} #{seq} is not in the log"))
                })?
        }
        _ => {
            return Err(ApiError::BadRequest(
                "give `index`, or `chain` and `seq`".into(),
            ))
        }
    };
    let published = state.log.published();
    let size = Note::parse(&published)
        .ok()
        .and_then(|n| Checkpoint::parse(n.text()).ok())
        .map_or(0, |c| c.size);
    if index >= size {
        return Err(ApiError::NotFound(format!(
            "leaf `{index}` is not in the published checkpoint of size {size} yet"
        )));
    }
    let proof = state
        .log
        .inclusion(index, size)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let file = ProofFile {
        extra: None,
        index,
        proof,
        checkpoint: published,
    };
    Ok(text(file.to_string(), "no-cache"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    old: u64,
    new: u64,
}

/// `GET /api/tlog/consistency?old=N&new=M`.
async fn consistency(
    State(state): State<AppState>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Response, ApiError> {
    let (size, _) = state.log.latest();
    if q.old > q.new || q.new > size {
        return Err(ApiError::BadRequest(format!(
            "expected `old` ≤ `new` ≤ {size} (the log's size), found {} and {}",
            q.old, q.new
        )));
    }
    let hashes = state
        .log
        .consistency(q.old, q.new)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let body: String = hashes.iter().map(|h| encode_hash(h) + "\n").collect();
    // Both sizes are signed already: the proof between them never changes.
    Ok(text(body, IMMUTABLE))
}
