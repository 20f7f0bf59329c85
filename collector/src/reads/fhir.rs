//! FHIR R4: stored events as a searchset Bundle of `AuditEvent`s (the
//! core's mapping).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use serde_json::json;

use sealtrail::event::Event;
use sealtrail::fhir::{self, BundleType};
use sealtrail::Timestamp;

use super::params::{FromParams, Params};
use super::{parse_line, redact_for, Ask};
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

impl FhirQuery {
    /// This search at `offset`, with `from` and `to` fixed (so later pages
    /// are the same search, however much time has passed).
    fn url(&self, offset: i64) -> String {
        let at = |ms: i64| Timestamp::from_millis(ms).map(|t| t.to_string());
        match (at(self.from), at(self.to)) {
            (Ok(from), Ok(to)) => format!(
                "{PATH}?from={from}&to={to}&limit={}&offset={offset}",
                self.limit
            ),
            _ => format!("{PATH}?limit={}&offset={offset}", self.limit),
        }
    }
}

/// Where this search is served.
const PATH: &str = "/api/fhir/AuditEvent";

/// `GET /api/fhir/AuditEvent?from=&to=&limit=&offset=`: a FHIR R4 searchset
/// Bundle of `AuditEvent`s for events with `ts` in `[from, to)`, oldest
/// first. Defaults: the last 24 hours; `limit` at most 1000. `total` counts
/// every match; `link` holds `self` and, when more match, `next`.
pub(super) async fn audit_events(ask: Ask) -> Result<Response, ApiError> {
    let q: FhirQuery = ask.admit(auth::REVIEW, None).await?;
    let store = &ask.state.store;
    let total = events::count_between(store, q.from, q.to).await?;
    let lines = events::between(store, q.from, q.to, q.limit, q.offset).await?;
    let mut found = Vec::with_capacity(lines.len());
    for line in lines {
        let mut e = parse_line(&line);
        redact_for(&ask.reviewer, &mut e);
        match serde_json::from_value::<Event>(e) {
            Ok(e) => found.push(e),
            Err(e) => tracing::warn!(error = %e, "stored event not representable as FHIR"),
        }
    }
    let mut links = vec![json!({ "relation": "self", "url": q.url(q.offset) })];
    let next = q.offset.saturating_add(q.limit);
    if next < total {
        links.push(json!({ "relation": "next", "url": q.url(next) }));
    }
    let mut bundle = fhir::bundle(&found, BundleType::Searchset);
    if let Some(b) = bundle.as_object_mut() {
        b.insert("total".into(), total.into());
        b.insert("link".into(), links.into());
    }
    let mut resp = Json(bundle).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    Ok(resp)
}
