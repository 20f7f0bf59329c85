//! The review APIs. Every one needs a bearer token whose role may read it
//! (`401` without a known token, `403` for another role), and every read,
//! answered or refused, is first appended to the collector's own audit chain
//! ([`crate::readlog`]): log first, then reveal. Handlers only parse,
//! authorise, call the store and render; their queries are typed
//! ([`params`]), so a bad parameter is a `400` naming it.
//!
//! Limits (a larger value is a `400` naming the parameter, never clamped):
//! `days` 1..=3650; break-glass `limit` 1..=100; access histories `limit`
//! 1..=1000; FHIR `limit` 1..=1000; evidence at most 100 000 events per export.

mod access_report;
mod chains;
mod fhir;
mod history;
mod log_heads;
pub mod params;
mod stats;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use sealtrail::event::ChainId;
use sealtrail::event::{Action, Outcome};

use crate::auth::{self, Reviewer};
use crate::error::ApiError;
use crate::readlog::ReadEntry;
use crate::request::ClientIp;
use crate::state::AppState;
use params::FromParams;

/// The spec version evidence exports follow.
pub const SPEC: &str = "sealtrail-audit-chain/1";

/// The read routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/whoami", get(whoami))
        .route("/api/break-glass/audit-log", get(history::break_glass_log))
        .route("/api/alerts", get(stats::alerts))
        .route("/api/records/{id}/access", get(history::record_access))
        .route(
            "/api/records/{id}/report",
            get(access_report::access_report),
        )
        .route("/api/staff/{id}/access", get(history::staff_access))
        .route("/api/chains", get(chains::chains))
        .route("/api/chains/{chain}/verify", get(chains::verify_chain))
        .route("/api/fhir/AuditEvent", get(fhir::audit_events))
        .route("/api/evidence/{chain}", get(chains::evidence))
        .route("/api/stats/hours", get(stats::hours))
        .route("/api/stats/demographics", get(stats::demographics))
        .route("/api/read-log", get(history::read_log))
        .route("/api/tlog/heads", get(log_heads::heads))
}

/// What every read handler gets: who, what was asked, from where. Extracted
/// token first, then peer address, so a missing token is a `401` before
/// anything else is looked at.
pub(crate) struct Ask {
    pub(crate) state: AppState,
    pub(crate) reviewer: Reviewer,
    pub(crate) uri: Uri,
    pub(crate) client: ClientIp,
}

impl FromRequestParts<AppState> for Ask {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let reviewer = Reviewer::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let client = ClientIp::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            state: state.clone(),
            reviewer,
            uri: parts.uri.clone(),
            client,
        })
    }
}

impl Ask {
    /// Checks the role and logs the read (refused reads too) before any data
    /// is read, then parses the query.
    pub(crate) async fn admit<Q: FromParams>(
        &self,
        roles: &[&str],
        record_id: Option<&str>,
    ) -> Result<Q, ApiError> {
        let allowed = self.reviewer.require(roles);
        let outcome = if allowed.is_ok() {
            Outcome::Success
        } else {
            Outcome::Denied
        };
        let entry = self.entry(record_id, outcome, Action::AuditRead, Map::new());
        self.state.read_log.record(&self.state.store, entry).await?;
        allowed?;
        params::parse(self.uri.query())
    }

    /// The read-log entry of this request.
    pub(crate) fn entry<'a>(
        &'a self,
        record_id: Option<&'a str>,
        outcome: Outcome,
        action: Action,
        detail: Map<String, Value>,
    ) -> ReadEntry<'a> {
        ReadEntry {
            reviewer: &self.reviewer,
            endpoint: self.uri.path(),
            query: self.uri.query().unwrap_or(""),
            record_id,
            outcome,
            ip: Some(self.client.0.to_string()),
            action,
            detail,
        }
    }
}

/// Milliseconds `days` days before now.
fn since_days(days: i64) -> i64 {
    crate::clock::now_ms().saturating_sub(days.saturating_mul(86_400_000))
}

/// A stored line as JSON (`null` if it is not: lines are canonical JSON).
fn parse_line(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or(Value::Null)
}

/// What stands for a safeguarding-only text a reviewer of another role may not read.
pub const REDACTED: &str = "[redacted: safeguarding only]";

/// Whether `reviewer` reads break-glass reason text, context and
/// demographics (seed 003: safeguarding staff only).
fn sees_safeguarding(reviewer: &Reviewer) -> bool {
    auth::BREAK_GLASS_LOG.contains(&reviewer.role.as_str())
}

/// Redacts, anywhere in `v` (an event, or a finding's evidence holding
/// events), break-glass reason text and context and subject demographics,
/// unless `reviewer` is safeguarding staff. Returns whether anything was.
pub(crate) fn redact_for(reviewer: &Reviewer, v: &mut Value) -> bool {
    !sees_safeguarding(reviewer) && redact(v)
}

fn redact(v: &mut Value) -> bool {
    let mut any = false;
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(reason)) = m.get_mut("reason") {
                if let Some(text) = reason.get_mut("text") {
                    *text = Value::String(REDACTED.into());
                    any = true;
                }
                any |= reason.remove("context").is_some();
            }
            if let Some(Value::Object(subject)) = m.get_mut("subject") {
                any |= subject.remove("demographics").is_some();
            }
            for child in m.values_mut() {
                any |= redact(child);
            }
        }
        Value::Array(items) => {
            for child in items {
                any |= redact(child);
            }
        }
        _ => {}
    }
    any
}

/// The member at `pointer`, or `null`.
fn member(v: &Value, pointer: &str) -> Value {
    v.pointer(pointer).cloned().unwrap_or(Value::Null)
}

/// A `{chain}` path segment as a chain id.
fn chain_param(s: &str) -> Result<ChainId, ApiError> {
    ChainId::parse(s).map_err(|e| ApiError::BadRequest(format!("path segment `{{chain}}`: {e}")))
}

/// `GET /api/whoami`: the token's holder (not audit data, so not logged).
async fn whoami(reviewer: Reviewer) -> Json<Value> {
    Json(json!({
        "userId": reviewer.user_id,
        "role": reviewer.role,
        "name": reviewer.name,
        "canReadBreakGlassLog": auth::BREAK_GLASS_LOG.contains(&reviewer.role.as_str()),
        "canReadAlerts": auth::ALERTS.contains(&reviewer.role.as_str()),
        "canReview": auth::REVIEW.contains(&reviewer.role.as_str()),
    }))
}
