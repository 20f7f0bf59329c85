//! Who did what: the break-glass audit log, access histories by record and
//! by staff member, and the collector's own log of reads.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::params::{FromParams, Params, Segment};
use super::{member, parse_line, since_days, Ask};
use crate::auth;
use crate::error::ApiError;
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
    let entries: Vec<Value> = page.rows.iter().map(break_glass_entry).collect();
    Ok(Json(json!({
        "days": q.days, "limit": q.limit, "offset": q.offset, "total": page.total, "entries": entries,
    })))
}

fn break_glass_entry(r: &Found) -> Value {
    let e = parse_line(&r.line);
    json!({
        "staffId": member(&e, "/actor/id"),
        "name": member(&e, "/actor/name"),
        "role": member(&e, "/actor/role"),
        "time": member(&e, "/ts"),
        "ip": member(&e, "/session/ip"),
        "sessionId": member(&e, "/session/id"),
        "client": member(&e, "/session/client"),
        "reasonCode": member(&e, "/reason/code"),
        "reasonText": member(&e, "/reason/text"),
        "context": member(&e, "/reason/context"),
        "incidentRef": member(&e, "/reason/incidentRef"),
        "recordId": member(&e, "/subject/recordId"),
        "recordType": member(&e, "/subject/type"),
        "relation": member(&e, "/subject/relation"),
        "fields": member(&e, "/fields"),
        "outcome": member(&e, "/outcome"),
        "purposeOfUse": member(&e, "/purposeOfUse"),
        "chain": r.chain,
        "seq": r.seq,
    })
}

/// One access as the history APIs list it.
fn access_entry(r: &Found) -> Value {
    let e = parse_line(&r.line);
    json!({
        "time": member(&e, "/ts"),
        "staffId": member(&e, "/actor/id"),
        "name": member(&e, "/actor/name"),
        "role": member(&e, "/actor/role"),
        "action": member(&e, "/action"),
        "outcome": member(&e, "/outcome"),
        "recordId": member(&e, "/subject/recordId"),
        "recordType": member(&e, "/subject/type"),
        "relation": member(&e, "/subject/relation"),
        "fields": member(&e, "/fields"),
        "purposeOfUse": member(&e, "/purposeOfUse"),
        "reasonCode": member(&e, "/reason/code"),
        "reasonText": member(&e, "/reason/text"),
        "ip": member(&e, "/session/ip"),
        "chain": r.chain,
        "seq": r.seq,
    })
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
    let entries: Vec<Value> = page.rows.iter().map(access_entry).collect();
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
