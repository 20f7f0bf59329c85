//! FHIR R4: stored events as a searchset Bundle of `AuditEvent`s (the
//! core's mapping).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use sealtrail::event::Event;
use sealtrail::fhir::{self, BundleType};

use super::params::{FromParams, Params};
use super::Ask;
use crate::auth;
use crate::error::ApiError;
use crate::store::events;

/// `?from=&to=&limit=1000&offset=0`: `ts` in `[from, to)`, default the last 24 hours.
struct FhirQuery {
    from: i64,
    to: i64,
    limit: i64,
    offset: i64,
}

impl FromParams for FhirQuery {
    fn from_params(p: &mut Params) -> Result<Self, ApiError> {
        let now = crate::clock::now_ms();
        Ok(Self {
            from: p.time("from", now.saturating_sub(86_400_000))?,
            to: p.time("to", now.saturating_add(1))?,
            limit: p.int("limit", 1000, 1..=1000)?,
            offset: p.offset()?,
        })
    }
}

/// `GET /api/fhir/AuditEvent?from=&to=&limit=`: a FHIR R4 searchset Bundle of
/// `AuditEvent`s for events with `ts` in `[from, to)`, oldest first.
/// Defaults: the last 24 hours; `limit` at most 1000.
pub(super) async fn audit_events(ask: Ask) -> Result<Response, ApiError> {
    let q: FhirQuery = ask.admit(auth::REVIEW, None).await?;
    let lines = events::between(&ask.state.store, q.from, q.to, q.limit, q.offset).await?;
    let mut found = Vec::with_capacity(lines.len());
    for line in lines {
        match serde_json::from_str::<Event>(&line) {
            Ok(e) => found.push(e),
            Err(e) => tracing::warn!(error = %e, "stored event not representable as FHIR"),
        }
    }
    let bundle = fhir::bundle(&found, BundleType::Searchset);
    let mut resp = Json(bundle).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    Ok(resp)
}
