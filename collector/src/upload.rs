//! The upload handlers: `POST /api/chains/{chain}/events` and `/head`, each
//! written under the chain owner's upload credential ([`crate::credentials`]):
//! events send it as `Authorization: Bearer`, an anchor in its body.

use std::future::Future;
use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
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
use crate::limits::{Full, Slot};
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
/// `fetch` with `keepalive` send `text/plain` or none. Checked cheapest
/// first, before the body is read ([`crate::limits`]): the address's rate,
/// the credential (a failure counts against the address), the credential's
/// rate, the batches in flight; then the body.
pub async fn post_events(
    State(state): State<AppState>,
    Segment(chain): Segment,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, ApiError> {
    let chain = chain_id(&chain)?;
    address_rate(&state, peer)?;
    // The credential first: nothing of a stranger's body is even parsed.
    let claims = match &state.credentials {
        Some(v) => {
            let verified = v.verify(
                bearer(&headers).unwrap_or_default(),
                &chain,
                crate::clock::now_ms(),
            );
            match verified {
                Ok(claims) => Some(claims),
                Err(e) => {
                    return Err(failed_credential(
                        &state,
                        peer,
                        request.uri().path(),
                        e.to_string(),
                    )
                    .await)
                }
            }
        }
        None => None,
    };
    if let Some(c) = &claims {
        let key = (c.chain.to_string(), c.sub.clone(), c.sid.clone());
        state.limiter.credentials.take(&key).map_err(|secs| {
            limited(
                secs,
                format!(
                    "over this credential's upload rate ({} a minute, bursts of {}; `credential-per-minute`, `credential-burst`): retry after {secs} s",
                    state.limiter.limits.credential_per_minute, state.limiter.limits.credential_burst
                ),
            )
        })?;
    }
    let slot = enter(&state, &chain)?;
    let body = Bytes::from_request(request, &state).await?;
    let reply = to_completion(async move {
        // Held until the batch is done, even if the client went away.
        let _slot = slot;
        let done = state
            .ingest
            .events(&chain, &body, Some(peer.to_string()), claims)
            .await?;
        Ok(match done {
            Reply::Acked {
                mut ack,
                fresh,
                first_leaf,
            } => {
                if state.log.enabled() {
                    let log =
                        log_batch(&state, &ack.chain, ack.acked_seq, &fresh, first_leaf).await?;
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

/// `429` with `Retry-After`.
fn limited(retry_after_secs: u64, message: String) -> ApiError {
    ApiError::Limited {
        busy: false,
        message,
        retry_after_secs,
    }
}

/// `429` when `peer` is over its upload rate.
fn address_rate(state: &AppState, peer: IpAddr) -> Result<(), ApiError> {
    state.limiter.addresses.take(&peer).map_err(|secs| {
        limited(
            secs,
            format!(
                "over this address's upload rate ({} a minute, bursts of {}; `address-per-minute`, `address-burst`): retry after {secs} s",
                state.limiter.limits.address_per_minute, state.limiter.limits.address_burst
            ),
        )
    })?;
    // An address over its failed authentications is not heard until they refill.
    crate::request::failures_allow(state, peer)
}

/// A place among the upload requests being handled: `503 busy` when all
/// are taken, `429` when the chain's are.
fn enter(state: &AppState, chain: &ChainId) -> Result<Slot, ApiError> {
    state.limiter.in_flight.enter(chain.as_str()).map_err(|full| match full {
        Full::Overall(n) => ApiError::Limited {
            busy: true,
            message: format!(
                "this collector is handling {n} uploads already (`max-in-flight`): retry shortly"
            ),
            retry_after_secs: 1,
        },
        Full::Key(n) => limited(
            1,
            format!(
                "chain `{chain}` has {n} uploads being handled already (`max-in-flight-per-chain`): send one at a time"
            ),
        ),
    })
}

/// The `401` of a credential that did not verify, recorded as a failed
/// authentication of `peer` ([`crate::request::failed`]).
async fn failed_credential(state: &AppState, peer: IpAddr, path: &str, why: String) -> ApiError {
    crate::request::failed(state, peer, path, "upload-credential", &why).await;
    ApiError::Unauthorized(why)
}

/// Hands a batch's fresh events, committed as leaves from `first_leaf` on,
/// to the transparency log for a proof in a signed checkpoint, or for a
/// retry with nothing fresh finds its last event there.
async fn log_batch(
    state: &AppState,
    chain: &ChainId,
    acked_seq: u64,
    fresh: &[(u64, Digest)],
    first_leaf: Option<u64>,
) -> Result<Logged, IngestError> {
    let broken = |e: LogError| IngestError::Commit(e.to_string());
    let Some(first) = first_leaf.filter(|_| !fresh.is_empty()) else {
        return state
            .log
            .find(chain, acked_seq)
            .await
            .map_err(broken)?
            .ok_or_else(|| {
                IngestError::Commit("the events are stored but not logged yet; retry".into())
            });
    };
    let leaves = fresh
        .iter()
        .map(|(seq, hash)| Leaf {
            chain: chain.clone(),
            seq: *seq,
            hash: *hash,
        })
        .collect();
    state.log.sequence(first, leaves).await.map_err(broken)
}

/// `POST /api/chains/{chain}/head`: a head anchor (often a `sendBeacon`),
/// under the address's rate and the batches in flight like a batch.
pub async fn post_head(
    State(state): State<AppState>,
    Segment(chain): Segment,
    ClientIp(peer): ClientIp,
    request: Request,
) -> Result<Response, ApiError> {
    let chain = chain_id(&chain)?;
    address_rate(&state, peer)?;
    let slot = enter(&state, &chain)?;
    let path = request.uri().path().to_owned();
    let body = Bytes::from_request(request, &state).await?;
    let worker = state.clone();
    let reply = to_completion(async move {
        let _slot = slot;
        ingest::head(&worker.store, &chain, &body, worker.credentials.as_deref()).await
    })
    .await;
    let reply = match reply {
        Err(ApiError::Unauthorized(why)) => {
            return Err(failed_credential(&state, peer, &path, why).await)
        }
        r => r?,
    };
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
