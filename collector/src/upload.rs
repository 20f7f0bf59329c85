//! The upload handlers: `POST /api/chains/{chain}/events` and `/head`, each
//! written under the chain owner's upload credential ([`crate::credentials`]):
//! events send it as `Authorization: Bearer`, an anchor in its body.

use std::future::Future;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;

use sealtrail::event::ChainId;
use sealtrail::tlog::Leaf;
use sealtrail::wire::{Anchored, LogReceipt, Refusal};
use sealtrail::Digest;

use crate::auth::bearer;
use crate::error::{refused, ApiError};
use crate::ingest::{self, AnchorReply, IngestError, Reply};
use crate::request::{ClientIp, Segment};
use crate::state::AppState;
use crate::tlog::{LogError, Logged};

/// The `{chain}` path segment as a chain id.
fn chain_id(s: &str) -> Result<ChainId, ApiError> {
    ChainId::parse(s).map_err(|e| ApiError::BadRequest(format!("path segment `{{chain}}`: {e}")))
}

/// Runs `work` on its own task, to completion even if the client goes away:
/// a transaction is never abandoned half way, and the acknowledgement state
/// stays consistent.
async fn to_completion<T: Send + 'static>(
    work: impl Future<Output = Result<T, IngestError>> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::spawn(work)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::from)
}

/// `POST /api/chains/{chain}/events`. Any content type: `sendBeacon` and
/// `fetch` with `keepalive` send `text/plain` or none.
pub async fn post_events(
    State(state): State<AppState>,
    Segment(chain): Segment,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let chain = chain_id(&chain)?;
    // The credential first: nothing of a stranger's body is even parsed.
    let claims = match &state.credentials {
        Some(v) => Some(
            v.verify(
                bearer(&headers).unwrap_or_default(),
                &chain,
                crate::clock::now_ms(),
            )
            .map_err(|e| ApiError::Unauthorized(e.to_string()))?,
        ),
        None => None,
    };
    let body = body?;
    let reply = to_completion(async move {
        let done = state
            .ingest
            .events(&chain, &body, Some(peer.to_string()), claims)
            .await?;
        Ok(match done {
            Reply::Acked { mut ack, fresh } => {
                if state.log.enabled() {
                    let log = log_batch(&state, &ack.chain, ack.acked_seq, &fresh).await?;
                    ack.log = Some(LogReceipt {
                        index: log.index,
                        first_index: log.first,
                        proof: log.proof,
                    });
                }
                Json(ack).into_response()
            }
            Reply::Refused(refusal) => refused(&refusal),
        })
    })
    .await?;
    Ok(reply)
}

/// Appends a batch's fresh events to the transparency log, or for a retry
/// with nothing fresh finds its last event there.
async fn log_batch(
    state: &AppState,
    chain: &ChainId,
    acked_seq: u64,
    fresh: &[(u64, Digest)],
) -> Result<Logged, IngestError> {
    let broken = |e: LogError| IngestError::Commit(e.to_string());
    if fresh.is_empty() {
        return state
            .log
            .find(chain, acked_seq)
            .await
            .map_err(broken)?
            .ok_or_else(|| {
                IngestError::Commit("the events are stored but not logged yet; retry".into())
            });
    }
    let leaves = fresh
        .iter()
        .map(|(seq, hash)| Leaf {
            chain: chain.clone(),
            seq: *seq,
            hash: *hash,
        })
        .collect();
    state.log.append(leaves).await.map_err(broken)
}

/// `POST /api/chains/{chain}/head`: a head anchor (often a `sendBeacon`).
pub async fn post_head(
    State(state): State<AppState>,
    Segment(chain): Segment,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let chain = chain_id(&chain)?;
    let reply = to_completion(async move {
        ingest::head(&state.store, &chain, &body, state.credentials.as_deref()).await
    })
    .await?;
    Ok(match reply {
        AnchorReply::Anchored { chain, seq } => Json(Anchored {
            chain,
            anchored_seq: seq,
        })
        .into_response(),
        AnchorReply::Tamper { seq } => refused(&Refusal::Tamper {
            seq,
            message: format!(
                "the head anchored at seq {seq} contradicts what this collector holds for the chain"
            ),
        }),
        AnchorReply::Forbidden { message } => refused(&Refusal::Forbidden { message, seq: None }),
    })
}
