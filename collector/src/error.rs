//! The error every handler answers with, as JSON
//! `{"error": code, "message": text}`.

use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::ingest::IngestError;

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
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed"),
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
