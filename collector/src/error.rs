//! The error every handler answers with, as JSON
//! `{"error": code, "message": text}`: a [`Refusal`] of the wire protocol.

use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sealtrail::wire::Refusal;

use crate::ingest::IngestError;
use crate::readlog::ReadLogError;

/// Every failure a handler answers with, as `{"error": code, "message": text}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `400`.
    #[error("{0}")]
    BadRequest(String),
    /// `400` naming the verification rule an event or the body breaks.
    #[error("{message}")]
    Rule {
        /// The rule.
        rule: String,
        /// What a person reads.
        message: String,
    },
    /// `401`.
    #[error("{0}")]
    Unauthorized(String),
    /// `403`.
    #[error("{0}")]
    Forbidden(String),
    /// `404`.
    #[error("{0}")]
    NotFound(String),
    /// `409`: the request does not fit the current state (a case already resolved).
    #[error("{0}")]
    Conflict(String),
    /// `405`.
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    /// `413` (or another status the body reader chose).
    #[error("{message}")]
    Body {
        /// The status.
        status: StatusCode,
        /// Why.
        message: String,
    },
    /// `413`: a batch over a limit of this collector (events, bytes of a string).
    #[error("{0}")]
    TooLarge(String),
    /// `429` (a rate, a chain's batches in flight) or `503` (all batches
    /// in flight), with `Retry-After`.
    #[error("{message}")]
    Limited {
        /// `503 busy` rather than `429 rate-limited`.
        busy: bool,
        /// What a person reads (names the limit).
        message: String,
        /// Seconds until a retry can pass.
        retry_after_secs: u64,
    },
    /// `408`: the request took longer than the collector allows.
    #[error("{0}")]
    Timeout(String),
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
            IngestError::Unauthorized(m) => ApiError::Unauthorized(m),
            IngestError::Rule { rule, message } => ApiError::Rule { rule, message },
            IngestError::TooLarge(m) => ApiError::TooLarge(m),
            IngestError::Store(e) => e.into(),
            e @ (IngestError::Inconsistent { .. } | IngestError::Commit(_)) => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

impl From<ReadLogError> for ApiError {
    fn from(e: ReadLogError) -> Self {
        ApiError::Internal(e.to_string())
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
        let message = self.to_string();
        let retry_after = match &self {
            ApiError::Limited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        let refusal = match self {
            ApiError::BadRequest(_) => Refusal::BadRequest {
                message,
                rule: None,
            },
            ApiError::Rule { rule, .. } => Refusal::BadRequest {
                message,
                rule: Some(rule),
            },
            ApiError::Unauthorized(_) => Refusal::Unauthorized { message },
            ApiError::Forbidden(_) => Refusal::Forbidden { message, seq: None },
            ApiError::NotFound(_) => Refusal::NotFound { message },
            ApiError::Conflict(_) => Refusal::Conflict { message },
            ApiError::MethodNotAllowed => Refusal::MethodNotAllowed { message },
            ApiError::Body { status, .. } if status == StatusCode::PAYLOAD_TOO_LARGE => {
                Refusal::TooLarge { message }
            }
            ApiError::Body { .. } => Refusal::BadRequest {
                message,
                rule: None,
            },
            ApiError::TooLarge(_) => Refusal::TooLarge { message },
            ApiError::Limited { busy: true, .. } => Refusal::Busy { message },
            ApiError::Limited { busy: false, .. } => Refusal::RateLimited { message },
            ApiError::Timeout(_) => Refusal::Timeout { message },
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "request failed");
                Refusal::Internal {
                    message: "the collector failed; see its log".to_owned(),
                }
            }
        };
        let mut resp = refused(&refusal);
        if let Some(secs) = retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// A refusal as its status and JSON body (`401` adds `WWW-Authenticate`).
pub fn refused(refusal: &Refusal) -> Response {
    let status =
        StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, Json(refusal)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    resp
}
