//! HTTP answers: the error type every handler returns, and the upload handlers.

use std::future::Future;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use sealtrail::chain::ChainId;

use crate::ingest::{self, AnchorReply, IngestError, Reply};
use crate::server::AppState;

/// Every failure a handler answers with, as `{"error": code, "message": text}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `400`.
    #[error("{0}")]
    BadRequest(String),
    /// `401`.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// `403`.
    #[error("{0}")]
    Forbidden(String),
    /// `404`.
    #[error("{0}")]
    NotFound(String),
    /// `413` (or another status the body reader chose).
    #[error("{message}")]
    Body {
        /// The status.
        status: StatusCode,
        /// Why.
        message: String,
    },
    /// `500`: logged, not shown in detail.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::BadRequest(m) => ApiError::BadRequest(m),
            IngestError::Store(e) => e.into(),
            e @ (IngestError::Inconsistent { .. } | IngestError::Commit(_)) => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        let status = r.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "the body is larger than this collector accepts: send smaller batches".to_owned()
        } else {
            r.body_text()
        };
        ApiError::Body { status, message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found"),
            ApiError::Body { status, .. } if *status == StatusCode::PAYLOAD_TOO_LARGE => {
                (*status, "too-large")
            }
            ApiError::Body { status, .. } => (*status, "bad-request"),
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        let message = match &self {
            ApiError::Internal(_) => "the collector failed; see its log".to_owned(),
            other => other.to_string(),
        };
        let mut resp = (status, Json(json!({ "error": code, "message": message }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

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
    Path(chain): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let chain = chain_id(&chain)?;
    let reply = to_completion(async move {
        let done = state.ingest.events(&chain, &body).await?;
        if !done.stored.is_empty() {
            // The batch is stored and acknowledged whatever happens here: a
            // failure to store findings is logged, not turned into a retry.
            if let Err(e) = state
                .alerting
                .judge_and_store(&state.store, &done.stored)
                .await
            {
                tracing::error!(error = %e, "alert findings were not stored");
            }
        }
        Ok(done.reply)
    })
    .await?;
    Ok(match reply {
        Reply::Acked {
            chain,
            acked_seq,
            head,
        } => Json(json!({ "chain": chain, "ackedSeq": acked_seq, "head": head })).into_response(),
        Reply::Gap { expected_seq } => (
            StatusCode::CONFLICT,
            Json(json!({ "error": "gap", "expectedSeq": expected_seq })),
        )
            .into_response(),
        Reply::Fork { seq } => (
            StatusCode::CONFLICT,
            Json(json!({ "error": "fork", "seq": seq })),
        )
            .into_response(),
        Reply::Tamper { seq } => (
            StatusCode::CONFLICT,
            Json(json!({ "error": "tamper", "seq": seq })),
        )
            .into_response(),
    })
}

/// `POST /api/chains/{chain}/head`: a head anchor (often a `sendBeacon`).
pub async fn post_head(
    State(state): State<AppState>,
    Path(chain): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let chain = chain_id(&chain)?;
    let reply =
        to_completion(async move { ingest::head(&state.store, &chain, &body).await }).await?;
    Ok(match reply {
        AnchorReply::Anchored { chain, seq } => {
            Json(json!({ "chain": chain, "anchoredSeq": seq })).into_response()
        }
        AnchorReply::Tamper { seq } => (
            StatusCode::CONFLICT,
            Json(json!({ "error": "tamper", "seq": seq })),
        )
            .into_response(),
    })
}
