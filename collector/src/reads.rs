//! The review APIs. Every one needs a bearer token whose role may read it
//! (`401` without a known token, `403` for another role), and every read,
//! answered or refused, is first appended to the collector's own audit chain
//! ([`crate::readlog`]): log first, then reveal.
//!
//! Limits (a larger value is a `400` naming the parameter, never clamped, so
//! a reviewer never believes they saw everything when they did not):
//! `days` 1..=3650; break-glass `limit` 1..=100; access histories `limit`
//! 1..=1000; FHIR `limit` 1..=1000; evidence at most 100 000 events per export.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{Datelike, TimeZone, Timelike};
use serde_json::{json, Value};
use sqlx::Row;

use sealtrail::chain::ChainId;
use sealtrail::event::{Event, Outcome};
use sealtrail::fhir::{self, BundleType};
use sealtrail::verify::{Options, Verifier};
use sealtrail::Timestamp;

use crate::api::ApiError;
use crate::auth::{self, Reviewer};
use crate::readlog::ReadEntry;
use crate::server::AppState;

/// The spec version evidence exports follow.
pub const SPEC: &str = "sealtrail-audit-chain/1";

/// The read routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/whoami", get(whoami))
        .route("/api/break-glass/audit-log", get(break_glass_log))
        .route("/api/alerts", get(alerts))
        .route("/api/records/{id}/access", get(record_access))
        .route("/api/staff/{id}/access", get(staff_access))
        .route("/api/chains", get(chains))
        .route("/api/chains/{chain}/verify", get(verify_chain))
        .route("/api/fhir/AuditEvent", get(fhir_audit_events))
        .route("/api/evidence/{chain}", get(evidence))
        .route("/api/stats/hours", get(hours))
        .route("/api/stats/demographics", get(demographics))
        .route("/api/read-log", get(read_log))
}

type Params = Query<HashMap<String, String>>;

/// What every read handler gets: who, what was asked, from where. Extracted
/// in the order the handlers used to list them (token, then peer address),
/// so a missing token is still a `401` before anything else is looked at.
struct Ask {
    state: AppState,
    reviewer: Reviewer,
    uri: Uri,
    peer: SocketAddr,
}

impl FromRequestParts<AppState> for Ask {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let reviewer = Reviewer::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            state: state.clone(),
            reviewer,
            uri: parts.uri.clone(),
            peer,
        })
    }
}

impl Ask {
    /// Checks the role and logs the read (refused reads too) before any data is read.
    async fn admit(&self, roles: &[&str], record_id: Option<&str>) -> Result<(), ApiError> {
        let allowed = self.reviewer.require(roles);
        let entry = ReadEntry {
            reviewer: &self.reviewer,
            endpoint: self.uri.path(),
            query: self.uri.query().unwrap_or(""),
            record_id,
            outcome: if allowed.is_ok() {
                Outcome::Success
            } else {
                Outcome::Denied
            },
            ip: Some(self.peer.ip().to_string()),
        };
        self.state
            .read_log
            .record(&self.state.store, entry)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        allowed
    }
}

/// An integer parameter within `range`, or its default.
fn int_param(
    q: &HashMap<String, String>,
    name: &str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, ApiError> {
    let Some(text) = q.get(name) else {
        return Ok(default);
    };
    let v: i64 = text.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "parameter `{name}` must be an integer, found `{text}`"
        ))
    })?;
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(ApiError::BadRequest(format!(
            "parameter `{name}` must be between {} and {}, found {v}",
            range.start(),
            range.end()
        )))
    }
}

/// A time parameter (RFC 3339 UTC), or its default.
fn time_param(q: &HashMap<String, String>, name: &str, default: i64) -> Result<i64, ApiError> {
    match q.get(name) {
        None => Ok(default),
        Some(t) => Timestamp::parse(t)
            .map(Timestamp::millis)
            .map_err(|e| ApiError::BadRequest(format!("parameter `{name}`: {e}"))),
    }
}

fn since_days(days: i64) -> i64 {
    crate::clock::now_ms().saturating_sub(days.saturating_mul(86_400_000))
}

fn parse_line(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or(Value::Null)
}

fn member(v: &Value, pointer: &str) -> Value {
    v.pointer(pointer).cloned().unwrap_or(Value::Null)
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

/// `GET /api/break-glass/audit-log?days=30&limit=100&offset=0`: seed 003's
/// audit log, safeguarding staff only. `limit` above 100 is a `400`.
async fn break_glass_log(ask: Ask, Query(q): Params) -> Result<Json<Value>, ApiError> {
    ask.admit(auth::BREAK_GLASS_LOG, None).await?;
    let state = ask.state;
    let days = int_param(&q, "days", 30, 1..=3650)?;
    let limit = int_param(&q, "limit", 100, 1..=100)?;
    let offset = int_param(&q, "offset", 0, 0..=i64::MAX)?;
    let since = since_days(days);
    let total: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM events WHERE action = 'break-glass' AND ts_ms >= $1",
    )
    .bind(since)
    .fetch_one(state.store.pool())
    .await?
    .try_get("n")?;
    let rows = sqlx::query(
        "SELECT chain, seq, line FROM events WHERE action = 'break-glass' AND ts_ms >= $1 \
         ORDER BY ts_ms DESC, chain, seq LIMIT $2 OFFSET $3",
    )
    .bind(since)
    .bind(limit)
    .bind(offset)
    .fetch_all(state.store.pool())
    .await?;
    let mut entries = Vec::with_capacity(rows.len());
    for r in rows {
        let line: String = r.try_get("line")?;
        let e = parse_line(&line);
        entries.push(json!({
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
            "chain": r.try_get::<String, _>("chain")?,
            "seq": r.try_get::<i64, _>("seq")?,
        }));
    }
    Ok(Json(json!({
        "days": days, "limit": limit, "offset": offset, "total": total, "entries": entries,
    })))
}

/// `GET /api/alerts?severity=critical,high&kind=alert`: alert, fork and tamper findings.
async fn alerts(ask: Ask, Query(q): Params) -> Result<Json<Value>, ApiError> {
    ask.admit(auth::ALERTS, None).await?;
    let state = ask.state;
    let mut severities = Vec::new();
    if let Some(list) = q.get("severity") {
        for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !["critical", "high", "medium"].contains(&s) {
                return Err(ApiError::BadRequest(format!(
                    "parameter `severity`: `{s}` is not one of critical, high, medium"
                )));
            }
            severities.push(s.to_owned());
        }
    }
    let limit = int_param(&q, "limit", 1000, 1..=10_000)?;
    let found = crate::findings::list(
        &state.store,
        &severities,
        q.get("kind").map(String::as_str),
        limit,
    )
    .await?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for f in &found {
        *counts.entry(f.severity.clone()).or_default() += 1;
    }
    Ok(Json(json!({ "counts": counts, "findings": found })))
}

/// One access as the history APIs list it.
fn access_entry(chain: String, seq: i64, line: &str) -> Value {
    let e = parse_line(line);
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
        "chain": chain,
        "seq": seq,
    })
}

async fn access_history(
    state: &AppState,
    column: &str,
    id: &str,
    q: &HashMap<String, String>,
) -> Result<Json<Value>, ApiError> {
    let days = int_param(q, "days", 30, 1..=3650)?;
    let limit = int_param(q, "limit", 500, 1..=1000)?;
    let offset = int_param(q, "offset", 0, 0..=i64::MAX)?;
    let since = since_days(days);
    // `column` is one of two constants, never user input.
    let total: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM events WHERE {column} = $1 AND ts_ms >= $2"
    ))
    .bind(id)
    .bind(since)
    .fetch_one(state.store.pool())
    .await?
    .try_get("n")?;
    let rows = sqlx::query(&format!(
        "SELECT chain, seq, line FROM events WHERE {column} = $1 AND ts_ms >= $2 \
         ORDER BY ts_ms DESC, chain, seq LIMIT $3 OFFSET $4"
    ))
    .bind(id)
    .bind(since)
    .bind(limit)
    .bind(offset)
    .fetch_all(state.store.pool())
    .await?;
    let mut entries = Vec::with_capacity(rows.len());
    for r in rows {
        let line: String = r.try_get("line")?;
        entries.push(access_entry(r.try_get("chain")?, r.try_get("seq")?, &line));
    }
    Ok(Json(json!({
        "id": id, "days": days, "limit": limit, "offset": offset, "total": total, "entries": entries,
    })))
}

/// `GET /api/records/{id}/access`: who saw this record, newest first.
async fn record_access(
    ask: Ask,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Json<Value>, ApiError> {
    ask.admit(auth::REVIEW, Some(&id)).await?;
    let state = ask.state;
    access_history(&state, "record_id", &id, &q).await
}

/// `GET /api/staff/{id}/access`: what this staff member looked at, newest first.
async fn staff_access(
    ask: Ask,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Json<Value>, ApiError> {
    ask.admit(auth::REVIEW, None).await?;
    let state = ask.state;
    access_history(&state, "actor_id", &id, &q).await
}

/// `GET /api/chains`: every chain with its head, highest anchor and status:
/// `verified` (every stored event passed ingest), `tampered` (a fork or
/// tamper finding names it) or `anchor-ahead` (a head was anchored past
/// what was uploaded: events may still be on their way, or withheld).
async fn chains(ask: Ask, Query(q): Params) -> Result<Json<Value>, ApiError> {
    ask.admit(auth::REVIEW, None).await?;
    let state = ask.state;
    let limit = int_param(&q, "limit", 1000, 1..=10_000)?;
    let offset = int_param(&q, "offset", 0, 0..=i64::MAX)?;
    let bad_rows = sqlx::query(
        "SELECT chain, COUNT(*) AS n FROM findings WHERE kind IN ('fork', 'tamper') GROUP BY chain",
    )
    .fetch_all(state.store.pool())
    .await?;
    let mut bad: HashMap<String, i64> = HashMap::new();
    for r in bad_rows {
        if let Some(c) = r.try_get::<Option<String>, _>("chain")? {
            bad.insert(c, r.try_get("n")?);
        }
    }
    let rows = sqlx::query(
        "SELECT id, first_seen_ms, updated_ms, last_seq, head, last_ts_ms, anchor_seq, anchor_hash, anchor_ms \
         FROM chains ORDER BY updated_ms DESC, id LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(state.store.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut summary: BTreeMap<&str, u64> = BTreeMap::new();
    for r in rows {
        let id: String = r.try_get("id")?;
        let last_seq: Option<i64> = r.try_get("last_seq")?;
        let anchor_seq: Option<i64> = r.try_get("anchor_seq")?;
        let findings = bad.get(&id).copied().unwrap_or(0);
        let status = if findings > 0 {
            "tampered"
        } else if anchor_seq > last_seq {
            "anchor-ahead"
        } else if last_seq.is_none() {
            "empty"
        } else {
            "verified"
        };
        *summary.entry(status).or_default() += 1;
        out.push(json!({
            "chain": id,
            "status": status,
            "findings": findings,
            "events": last_seq.map(|s| s.saturating_add(1)).unwrap_or(0),
            "lastSeq": last_seq,
            "head": r.try_get::<Option<String>, _>("head")?,
            "lastTime": r.try_get::<Option<i64>, _>("last_ts_ms")?.map(crate::clock::rfc3339),
            "firstSeen": crate::clock::rfc3339(r.try_get("first_seen_ms")?),
            "updated": crate::clock::rfc3339(r.try_get("updated_ms")?),
            "anchor": anchor_seq.map(|s| json!({
                "seq": s,
                "hash": r.try_get::<Option<String>, _>("anchor_hash").ok().flatten(),
                "received": r.try_get::<Option<i64>, _>("anchor_ms").ok().flatten().map(crate::clock::rfc3339),
            })),
        }));
    }
    let read_log = state.read_log.chain().await;
    Ok(Json(
        json!({ "summary": summary, "chains": out, "readLogChain": read_log }),
    ))
}

/// Stored lines of a chain (live and archived) with `seq` in `from..=to`, in order.
async fn stored_lines(
    state: &AppState,
    chain: &ChainId,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, String)>, ApiError> {
    let rows = sqlx::query(
        "SELECT seq, line FROM events WHERE chain = $1 AND seq BETWEEN $2 AND $3 \
         UNION ALL SELECT seq, line FROM events_archive WHERE chain = $1 AND seq BETWEEN $2 AND $3 \
         ORDER BY seq",
    )
    .bind(chain.as_str())
    .bind(from)
    .bind(to)
    .fetch_all(state.store.pool())
    .await?;
    rows.into_iter()
        .map(|r| Ok((r.try_get("seq")?, r.try_get("line")?)))
        .collect()
}

fn chain_param(s: &str) -> Result<ChainId, ApiError> {
    ChainId::parse(s).map_err(|e| ApiError::BadRequest(format!("path segment `{{chain}}`: {e}")))
}

/// `GET /api/chains/{chain}/verify`: re-verifies the stored chain with the
/// core, from seq 0, and checks it against the stored head and every anchor:
/// proof that nothing was changed in the database behind the APIs' back.
async fn verify_chain(ask: Ask, Path(chain): Path<String>) -> Result<Json<Value>, ApiError> {
    ask.admit(auth::REVIEW, None).await?;
    let state = ask.state;
    let chain = chain_param(&chain)?;
    let row = sqlx::query("SELECT head, last_seq FROM chains WHERE id = $1")
        .bind(chain.as_str())
        .fetch_optional(state.store.pool())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no chain `{chain}` is stored")))?;
    let head: Option<String> = row.try_get("head")?;
    let mut verifier = Verifier::new(Options::default());
    let mut hashes: HashMap<i64, String> = HashMap::new();
    let mut failure = Value::Null;
    let mut from = 0i64;
    const PAGE: i64 = 5000;
    'pages: loop {
        let lines = stored_lines(&state, &chain, from, from.saturating_add(PAGE - 1)).await?;
        if lines.is_empty() {
            break;
        }
        for (seq, line) in &lines {
            match verifier.push_line(line.as_bytes()) {
                Ok(h) => {
                    hashes.insert(*seq, h.to_hex());
                }
                Err(f) => {
                    failure = json!({ "seq": f.seq, "rule": f.rule, "detail": f.detail });
                    break 'pages;
                }
            }
        }
        from = from.saturating_add(PAGE);
    }
    let summary = verifier.finish();
    if failure.is_null() && summary.head.map(|h| h.to_hex()) != head {
        failure = json!({ "seq": summary.last_seq, "rule": "head", "detail": "the stored chain does not end at the recorded head" });
    }
    if failure.is_null() {
        let anchors = sqlx::query("SELECT seq, hash FROM anchors WHERE chain = $1 ORDER BY seq")
            .bind(chain.as_str())
            .fetch_all(state.store.pool())
            .await?;
        for a in anchors {
            let seq: i64 = a.try_get("seq")?;
            let hash: String = a.try_get("hash")?;
            if let Some(h) = hashes.get(&seq) {
                if *h != hash {
                    failure = json!({ "seq": seq, "rule": "anchor", "detail": format!("anchored `{hash}`, stored `{h}`") });
                    break;
                }
            }
        }
    }
    Ok(Json(json!({
        "chain": chain,
        "valid": failure.is_null(),
        "events": summary.events,
        "head": summary.head,
        "failure": failure,
    })))
}

/// `GET /api/fhir/AuditEvent?from=&to=&limit=`: a FHIR R4 searchset Bundle of
/// `AuditEvent`s (the core's mapping) for events with `ts` in `[from, to)`,
/// oldest first. Defaults: the last 24 hours; `limit` at most 1000.
async fn fhir_audit_events(ask: Ask, Query(q): Params) -> Result<Response, ApiError> {
    ask.admit(auth::REVIEW, None).await?;
    let state = ask.state;
    let now = crate::clock::now_ms();
    let from = time_param(&q, "from", now.saturating_sub(86_400_000))?;
    let to = time_param(&q, "to", now.saturating_add(1))?;
    let limit = int_param(&q, "limit", 1000, 1..=1000)?;
    let offset = int_param(&q, "offset", 0, 0..=i64::MAX)?;
    let rows = sqlx::query(
        "SELECT line FROM events WHERE ts_ms >= $1 AND ts_ms < $2 ORDER BY ts_ms, chain, seq LIMIT $3 OFFSET $4",
    )
    .bind(from)
    .bind(to)
    .bind(limit)
    .bind(offset)
    .fetch_all(state.store.pool())
    .await?;
    let mut events = Vec::with_capacity(rows.len());
    for r in rows {
        let line: String = r.try_get("line")?;
        match serde_json::from_str::<Event>(&line) {
            Ok(e) => events.push(e),
            Err(e) => tracing::warn!(error = %e, "stored event not representable as FHIR"),
        }
    }
    let bundle = fhir::bundle(&events, BundleType::Searchset);
    let mut resp = Json(bundle).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    Ok(resp)
}

/// Most events one evidence export holds.
const EVIDENCE_MAX: i64 = 100_000;

/// `GET /api/evidence/{chain}?from=&to=&format=jsonl|json`: the stored chain
/// from seq `from` (default 0) to `to` (default the head), for offline
/// verification. JSONL (default) is one canonical event per line, exactly as
/// uploaded: from seq 0 it verifies as is with `sealtrail verify`. A range
/// starting later carries its starting point, the hash and time of event
/// `from - 1`, in the `Sealtrail-Prev`, `Sealtrail-Prev-Seq` and
/// `Sealtrail-Prev-Ts` headers, so a verifier can resume there (and the
/// `json` format holds the same in a `prev` member, plus the anchors).
async fn evidence(
    ask: Ask,
    Path(chain): Path<String>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    ask.admit(auth::REVIEW, None).await?;
    let state = ask.state;
    let chain = chain_param(&chain)?;
    let row = sqlx::query("SELECT last_seq FROM chains WHERE id = $1")
        .bind(chain.as_str())
        .fetch_optional(state.store.pool())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no chain `{chain}` is stored")))?;
    let last: Option<i64> = row.try_get("last_seq")?;
    let last = last.unwrap_or(-1);
    let from = int_param(&q, "from", 0, 0..=i64::MAX)?;
    let to = int_param(&q, "to", last, 0..=i64::MAX)?.min(last);
    if to >= from && to - from >= EVIDENCE_MAX {
        return Err(ApiError::BadRequest(format!(
            "a range holds at most {EVIDENCE_MAX} events: narrow `from` and `to`"
        )));
    }
    let format = q.get("format").map_or("jsonl", String::as_str);
    if !["jsonl", "json"].contains(&format) {
        return Err(ApiError::BadRequest(format!(
            "parameter `format` must be `jsonl` or `json`, found `{format}`"
        )));
    }
    let lines = stored_lines(&state, &chain, from, to).await?;
    let prev = if from == 0 {
        json!({ "seq": Value::Null, "hash": chain.genesis(), "ts": Value::Null })
    } else {
        let p = stored_lines(&state, &chain, from - 1, from - 1).await?;
        let e = p.first().map(|(_, l)| parse_line(l)).unwrap_or(Value::Null);
        json!({ "seq": from - 1, "hash": member(&e, "/hash"), "ts": member(&e, "/ts") })
    };
    let anchors = sqlx::query("SELECT seq, hash FROM anchors WHERE chain = $1 ORDER BY seq")
        .bind(chain.as_str())
        .fetch_all(state.store.pool())
        .await?
        .into_iter()
        .map(|r| Ok(json!({ "seq": r.try_get::<i64, _>("seq")?, "hash": r.try_get::<String, _>("hash")? })))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let mut headers = HeaderMap::new();
    let put = |h: &mut HeaderMap, name: &'static str, v: &Value| {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Null => return,
            other => other.to_string(),
        };
        if let Ok(value) = HeaderValue::from_str(&text) {
            h.insert(HeaderName::from_static(name), value);
        }
    };
    put(&mut headers, "sealtrail-spec", &json!(SPEC));
    put(&mut headers, "sealtrail-chain", &json!(chain.as_str()));
    put(&mut headers, "sealtrail-prev", &member(&prev, "/hash"));
    put(&mut headers, "sealtrail-prev-seq", &member(&prev, "/seq"));
    put(&mut headers, "sealtrail-prev-ts", &member(&prev, "/ts"));
    if format == "json" {
        let events: Vec<Value> = lines.iter().map(|(_, l)| parse_line(l)).collect();
        return Ok((
            headers,
            Json(json!({
                "spec": SPEC,
                "chain": chain,
                "from": from,
                "to": to,
                "prev": prev,
                "anchors": anchors,
                "events": events,
            })),
        )
            .into_response());
    }
    let mut body = String::new();
    for (_, l) in &lines {
        body.push_str(l);
        body.push('\n');
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"sealtrail-{chain}-{from}-{to}.jsonl\""
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((headers, body).into_response())
}

fn time_zone(state: &AppState, q: &HashMap<String, String>) -> Result<chrono_tz::Tz, ApiError> {
    let name = q.get("tz").cloned().unwrap_or_else(|| {
        state
            .alerting
            .settings()
            .config
            .business_hours
            .time_zone
            .clone()
    });
    name.parse::<chrono_tz::Tz>().map_err(|_| {
        ApiError::BadRequest(format!("parameter `tz`: `{name}` is not an IANA time zone"))
    })
}

/// `GET /api/stats/hours?days=90&tz=...&action=...`: accesses by local
/// weekday (Monday first) and hour, for the after-hours heat map. The zone
/// defaults to the policy's business-hours zone.
async fn hours(ask: Ask, Query(q): Params) -> Result<Json<Value>, ApiError> {
    ask.admit(auth::REVIEW, None).await?;
    let state = ask.state;
    let days = int_param(&q, "days", 90, 1..=3650)?;
    let tz = time_zone(&state, &q)?;
    let rows = match q.get("action") {
        Some(action) => sqlx::query(
            "SELECT ts_ms FROM events WHERE ts_ms >= $1 AND record_id IS NOT NULL AND action = $2",
        )
        .bind(since_days(days))
        .bind(action.as_str())
        .fetch_all(state.store.pool())
        .await?,
        None => {
            sqlx::query("SELECT ts_ms FROM events WHERE ts_ms >= $1 AND record_id IS NOT NULL")
                .bind(since_days(days))
                .fetch_all(state.store.pool())
                .await?
        }
    };
    let mut grid = [[0u64; 24]; 7];
    for r in rows {
        let ms: i64 = r.try_get("ts_ms")?;
        if let Some(t) = tz.timestamp_millis_opt(ms).single() {
            let d = t.weekday().num_days_from_monday() as usize;
            let h = t.hour() as usize;
            if let Some(cell) = grid.get_mut(d).and_then(|row| row.get_mut(h)) {
                *cell += 1;
            }
        }
    }
    let bh = &state.alerting.settings().config.business_hours;
    Ok(Json(json!({
        "days": days,
        "timeZone": tz.name(),
        "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "counts": grid,
        "businessHours": bh,
    })))
}

/// `GET /api/stats/demographics?days=90`: accesses by demographic group where
/// events carry `subject.demographics`, for the quarterly bias review: all
/// accesses, break-glass accesses, unassigned accesses, distinct staff and records.
async fn demographics(ask: Ask, Query(q): Params) -> Result<Json<Value>, ApiError> {
    ask.admit(auth::REVIEW, None).await?;
    let state = ask.state;
    let days = int_param(&q, "days", 90, 1..=3650)?;
    let rows = sqlx::query(
        "SELECT action, actor_id, record_id, demographics, line FROM events \
         WHERE ts_ms >= $1 AND demographics IS NOT NULL",
    )
    .bind(since_days(days))
    .fetch_all(state.store.pool())
    .await?;
    #[derive(Default)]
    struct Group {
        accesses: u64,
        break_glass: u64,
        unassigned: u64,
        staff: HashSet<String>,
        records: HashSet<String>,
    }
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    let mut total = 0u64;
    for r in rows {
        let demo: String = r.try_get("demographics")?;
        let action: String = r.try_get("action")?;
        let actor: String = r.try_get("actor_id")?;
        let record: Option<String> = r.try_get("record_id")?;
        let line: String = r.try_get("line")?;
        let unassigned =
            parse_line(&line).pointer("/subject/relation") == Some(&json!("unassigned"));
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&demo) else {
            continue;
        };
        total += 1;
        for (attr, value) in map {
            let value = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let g = groups.entry((attr, value)).or_default();
            g.accesses += 1;
            if action == "break-glass" {
                g.break_glass += 1;
            }
            if unassigned {
                g.unassigned += 1;
            }
            g.staff.insert(actor.clone());
            if let Some(rec) = &record {
                g.records.insert(rec.clone());
            }
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|((attribute, value), g)| {
            json!({
                "attribute": attribute,
                "value": value,
                "accesses": g.accesses,
                "breakGlass": g.break_glass,
                "unassigned": g.unassigned,
                "staff": g.staff.len(),
                "records": g.records.len(),
            })
        })
        .collect();
    Ok(Json(
        json!({ "days": days, "events": total, "groups": groups }),
    ))
}

/// `GET /api/read-log?offset=0&limit=1000&format=json|jsonl`: the collector's
/// own chain of audit reads (who looked at the evidence). JSONL verifies
/// with `sealtrail verify` from offset 0.
async fn read_log(ask: Ask, Query(q): Params) -> Result<Response, ApiError> {
    ask.admit(auth::REVIEW, None).await?;
    let state = ask.state;
    let offset = int_param(&q, "offset", 0, 0..=i64::MAX)?;
    let limit = int_param(&q, "limit", 1000, 1..=EVIDENCE_MAX)?;
    let entries = crate::readlog::lines(&state.store, offset, limit).await?;
    if q.get("format").map(String::as_str) == Some("jsonl") {
        let mut body = String::new();
        for e in &entries {
            body.push_str(&sealtrail::canon::to_string(e).unwrap_or_default());
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
    let chain = state.read_log.chain().await;
    Ok(Json(json!({ "chain": chain, "offset": offset, "entries": entries })).into_response())
}
