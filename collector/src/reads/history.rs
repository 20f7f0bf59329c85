//! Who did what: the break-glass audit log, access histories by record and
//! by staff member, and the collector's own log of reads.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::params::{FromParams, Params};
use super::{member, parse_line, redact_for, since_days, Ask};
use crate::auth::{self, Reviewer};
use crate::error::ApiError;
use crate::request::Segment;
use crate::store;
use crate::store::events::{self, Filter, Found};

/// Most read-log lines one answer holds.
const READ_LOG_MAX: i64 = 100_000;

/// `?days=&limit=&offset=` of a history, with its endpoint's largest `limit`.
struct Page<const MAX: i64, const DEFAULT: i64> {
    days: i64,
    limit: i64,
    offset: i64,
}

impl<const MAX: i64, const DEFAULT: i64> FromParams for Page<MAX, DEFAULT> {
    fn from_params(p: &mut Params) -> Result<Self, ApiError> {
        Ok(Self {
            days: p.days(30)?,
            limit: p.int("limit", DEFAULT, 1..=MAX)?,
            offset: p.offset()?,
        })
    }
}

/// The break-glass log: `limit` 1..=100, default 100.
type BreakGlassQuery = Page<100, 100>;
/// Access histories: `limit` 1..=1000, default 500.
type AccessQuery = Page<1000, 500>;

/// `GET /api/break-glass/audit-log?days=30&limit=100&offset=0`: seed 003's
/// audit log, safeguarding staff only. `limit` above 100 is a `400`.
pub(super) async fn break_glass_log(ask: Ask) -> Result<Json<Value>, ApiError> {
    let q: BreakGlassQuery = ask.admit(auth::BREAK_GLASS_LOG, None).await?;
    let page = events::page(
        &ask.state.store,
        Filter::BreakGlass,
        since_days(q.days),
        q.limit,
        q.offset,
    )
    .await?;
    let entries: Vec<Value> = page
        .rows
        .iter()
        .map(|r| entry(r, BREAK_GLASS_MEMBERS, &ask.reviewer))
        .collect();
    Ok(Json(json!({
        "days": q.days, "limit": q.limit, "offset": q.offset, "total": page.total, "entries": entries,
    })))
}

/// What a break-glass log entry shows: name, JSON Pointer into the event.
const BREAK_GLASS_MEMBERS: &[(&str, &str)] = &[
    ("staffId", "/actor/id"),
    ("name", "/actor/name"),
    ("role", "/actor/role"),
    ("time", "/ts"),
    ("ip", "/session/ip"),
    ("sessionId", "/session/id"),
    ("client", "/session/client"),
    ("reasonCode", "/reason/code"),
    ("reasonText", "/reason/text"),
    ("context", "/reason/context"),
    ("incidentRef", "/reason/incidentRef"),
    ("recordId", "/subject/recordId"),
    ("recordType", "/subject/type"),
    ("relation", "/subject/relation"),
    ("fields", "/fields"),
    ("outcome", "/outcome"),
    ("purposeOfUse", "/purposeOfUse"),
];

/// What an access history entry shows.
const ACCESS_MEMBERS: &[(&str, &str)] = &[
    ("time", "/ts"),
    ("staffId", "/actor/id"),
    ("name", "/actor/name"),
    ("role", "/actor/role"),
    ("action", "/action"),
    ("outcome", "/outcome"),
    ("recordId", "/subject/recordId"),
    ("recordType", "/subject/type"),
    ("relation", "/subject/relation"),
    ("fields", "/fields"),
    ("purposeOfUse", "/purposeOfUse"),
    ("reasonCode", "/reason/code"),
    ("reasonText", "/reason/text"),
    ("ip", "/session/ip"),
];

/// One listed event: the `members` taken from it (safeguarding-only text
/// redacted for `reviewer`'s role), where its batch came from (`uploadIp`,
/// kept beside the event, not in it) and where it is.
fn entry(r: &Found, members: &[(&str, &str)], reviewer: &Reviewer) -> Value {
    let mut e = parse_line(&r.line);
    redact_for(reviewer, &mut e);
    let mut out: Map<String, Value> = members
        .iter()
        .map(|(name, pointer)| ((*name).to_owned(), member(&e, pointer)))
        .collect();
    out.insert("uploadIp".into(), json!(r.peer_ip));
    out.insert("chain".into(), json!(r.chain));
    out.insert("seq".into(), json!(r.seq));
    Value::Object(out)
}

async fn access_history(
    ask: &Ask,
    filter: Filter<'_>,
    id: &str,
    q: AccessQuery,
) -> Result<Json<Value>, ApiError> {
    let page = events::page(
        &ask.state.store,
        filter,
        since_days(q.days),
        q.limit,
        q.offset,
    )
    .await?;
    let entries: Vec<Value> = page
        .rows
        .iter()
        .map(|r| entry(r, ACCESS_MEMBERS, &ask.reviewer))
        .collect();
    Ok(Json(json!({
        "id": id, "days": q.days, "limit": q.limit, "offset": q.offset, "total": page.total, "entries": entries,
    })))
}

/// `GET /api/records/{id}/access`: who saw this record, newest first.
pub(super) async fn record_access(ask: Ask, Segment(id): Segment) -> Result<Json<Value>, ApiError> {
    let q = ask.admit(auth::REVIEW, Some(&id)).await?;
    access_history(&ask, Filter::Record(&id), &id, q).await
}

/// `GET /api/staff/{id}/access`: what this staff member looked at, newest first.
pub(super) async fn staff_access(ask: Ask, Segment(id): Segment) -> Result<Json<Value>, ApiError> {
    let q = ask.admit(auth::REVIEW, None).await?;
    access_history(&ask, Filter::Actor(&id), &id, q).await
}

/// `?offset=0&limit=1000&format=json|jsonl` of the read log.
struct ReadLogQuery {
    offset: i64,
    limit: i64,
    jsonl: bool,
}

impl FromParams for ReadLogQuery {
    fn from_params(p: &mut Params) -> Result<Self, ApiError> {
        Ok(Self {
            offset: p.offset()?,
            limit: p.int("limit", 1000, 1..=READ_LOG_MAX)?,
            jsonl: p.choice("format", "json", &["json", "jsonl"])? == "jsonl",
        })
    }
}

/// `GET /api/read-log?offset=0&limit=1000&format=json|jsonl`: the collector's
/// own chain of audit reads (who looked at the evidence). JSONL verifies
/// with `sealtrail verify` from offset 0.
pub(super) async fn read_log(ask: Ask) -> Result<Response, ApiError> {
    let q: ReadLogQuery = ask.admit(auth::REVIEW, None).await?;
    let state = ask.state;
    if q.jsonl {
        // Stored lines are the canonical events, as written.
        let mut body = String::new();
        for line in store::readlog::lines(&state.store, q.offset, q.limit).await? {
            body.push_str(&line);
            body.push('\n');
        }
        return Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            )],
            body,
        )
            .into_response());
    }
    let entries = crate::readlog::lines(&state.store, q.offset, q.limit).await?;
    let chain = state.read_log.chain().await;
    Ok(Json(json!({ "chain": chain, "offset": q.offset, "entries": entries })).into_response())
}
