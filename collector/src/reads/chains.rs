//! Chains: their status, re-verification of what is stored, and evidence
//! exports for offline verification.

use std::collections::{BTreeMap, HashMap};

use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use sealtrail::event::ChainId;
use sealtrail::verify::{Options, Verifier};

use super::params::{FromParams, NoParams, Params};
use super::{chain_param, member, parse_line, redact_for, Ask, SPEC};
use crate::auth;
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::request::Segment;
use crate::store::{anchors, chains as chain_rows, events, findings, Store};

/// Most events one evidence export holds.
const EVIDENCE_MAX: i64 = 100_000;
/// Events read at a time when re-verifying a chain.
const VERIFY_PAGE: u64 = 5000;

/// `?limit=1000&offset=0` of the chain list.
struct ChainsQuery {
    limit: i64,
    offset: i64,
}

impl FromParams for ChainsQuery {
    fn from_params(p: &mut Params) -> Result<Self, ApiError> {
        Ok(Self {
            limit: p.int("limit", 1000, 1..=10_000)?,
            offset: p.offset()?,
        })
    }
}

/// `GET /api/chains`: every chain with its head, highest anchor and status:
/// `verified` (every stored event passed ingest), `tampered` (a fork or
/// tamper finding names it) or `anchor-ahead` (a head was anchored past
/// what was uploaded: events may still be on their way, or withheld); and
/// `guarantees`, the weakest its browser reported (`null` members: never
/// said), with `couldLose` when that browser could have lost events before
/// uploading them (best-effort durability or evictable storage).
pub(super) async fn chains(ask: Ask) -> Result<Json<Value>, ApiError> {
    let q: ChainsQuery = ask.admit(auth::REVIEW, None).await?;
    let state = ask.state;
    let bad = findings::tampered(&state.store).await?;
    let rows = chain_rows::list(&state.store, q.limit, q.offset).await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut summary: BTreeMap<&str, u64> = BTreeMap::new();
    for r in rows {
        let findings = bad.get(&r.id).copied().unwrap_or(0);
        let anchor_seq = r.anchor.as_ref().map(|a| a.0);
        let status = if findings > 0 {
            "tampered"
        } else if anchor_seq > r.last_seq {
            "anchor-ahead"
        } else if r.last_seq.is_none() {
            "empty"
        } else {
            "verified"
        };
        *summary.entry(status).or_default() += 1;
        out.push(json!({
            "chain": r.id,
            "status": status,
            "findings": findings,
            "events": r.last_seq.map(|s| s.saturating_add(1)).unwrap_or(0),
            "lastSeq": r.last_seq,
            "head": r.head,
            "lastTime": r.last_ts_ms.map(rfc3339),
            "firstSeen": rfc3339(r.first_seen_ms),
            "updated": rfc3339(r.updated_ms),
            "couldLose": r.durability.as_deref() == Some("bestEffort")
                || r.storage.as_deref() == Some("evictable"),
            "guarantees": { "durability": r.durability, "storage": r.storage },
            "anchor": r.anchor.map(|(seq, hash, received)| json!({
                "seq": seq,
                "hash": hash,
                "received": received.map(rfc3339),
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
    store: &Store,
    chain: &ChainId,
    from: u64,
    to: u64,
) -> Result<Vec<(u64, String)>, ApiError> {
    Ok(events::range(store.pool(), chain, from, to)
        .await?
        .into_iter()
        .map(|e| (e.seq, e.line))
        .collect())
}

/// `GET /api/chains/{chain}/verify`: re-verifies the stored chain with the
/// core, from seq 0, and checks it against the stored head and every anchor:
/// proof that nothing was changed in the database behind the APIs' back.
pub(super) async fn verify_chain(
    ask: Ask,
    Segment(chain): Segment,
) -> Result<Json<Value>, ApiError> {
    let NoParams = ask.admit(auth::REVIEW, None).await?;
    let state = ask.state;
    let chain = chain_param(&chain)?;
    let (_, head) = chain_rows::find(&state.store, &chain)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no chain `{chain}` is stored")))?;
    let mut verifier = Verifier::new(Options::default());
    let mut hashes: HashMap<u64, String> = HashMap::new();
    let mut failure = Value::Null;
    let mut from = 0u64;
    'pages: loop {
        let lines = stored_lines(
            &state.store,
            &chain,
            from,
            from.saturating_add(VERIFY_PAGE - 1),
        )
        .await?;
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
        from = from.saturating_add(VERIFY_PAGE);
    }
    let summary = verifier.finish();
    if failure.is_null() && summary.head.map(|h| h.to_hex()) != head {
        failure = json!({ "seq": summary.last_seq, "rule": "head", "detail": "the stored chain does not end at the recorded head" });
    }
    if failure.is_null() {
        for a in anchors::range(state.store.pool(), &chain, 0, u64::MAX).await? {
            if let Some(h) = hashes.get(&a.seq) {
                if *h != a.hash {
                    failure = json!({ "seq": a.seq, "rule": "anchor", "detail": format!("anchored `{}`, stored `{h}`", a.hash) });
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

/// `?from=0&to=HEAD&format=jsonl|json` of an evidence export.
struct EvidenceQuery {
    from: i64,
    to: Option<i64>,
    json: bool,
}

impl FromParams for EvidenceQuery {
    fn from_params(p: &mut Params) -> Result<Self, ApiError> {
        Ok(Self {
            from: p.int("from", 0, 0..=i64::MAX)?,
            to: p.opt_int("to", 0..=i64::MAX)?,
            json: p.choice("format", "jsonl", &["jsonl", "json"])? == "json",
        })
    }
}

/// `GET /api/evidence/{chain}?from=&to=&format=jsonl|json`: the stored chain
/// from seq `from` (default 0) to `to` (default the head), for offline
/// verification. JSONL (default) is one canonical event per line, exactly as
/// uploaded: from seq 0 it verifies as is with `sealtrail verify`. A range
/// starting later carries its starting point, the hash and time of event
/// `from - 1`, in the `Sealtrail-Prev`, `Sealtrail-Prev-Seq` and
/// `Sealtrail-Prev-Ts` headers, so a verifier can resume there (and the
/// `json` format holds the same in a `prev` member, plus the anchors). The
/// last event's `tlog-proof` rides along: base64 in `Sealtrail-Log-Proof`,
/// as text in `logProof`.
pub(super) async fn evidence(ask: Ask, Segment(chain): Segment) -> Result<Response, ApiError> {
    let q: EvidenceQuery = ask.admit(auth::REVIEW, None).await?;
    let state = ask.state;
    let chain = chain_param(&chain)?;
    let (last, _) = chain_rows::find(&state.store, &chain)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no chain `{chain}` is stored")))?;
    let last = last.unwrap_or(-1);
    let from = q.from;
    let to = q.to.unwrap_or(last).min(last);
    if to >= from && to - from >= EVIDENCE_MAX {
        return Err(ApiError::BadRequest(format!(
            "a range holds at most {EVIDENCE_MAX} events: narrow `from` and `to`"
        )));
    }
    let lines = match (u64::try_from(from), u64::try_from(to)) {
        (Ok(f), Ok(t)) if f <= t => stored_lines(&state.store, &chain, f, t).await?,
        _ => Vec::new(),
    };
    // Evidence is exported whole (it must verify), so what holds
    // break-glass content leaves only with the safeguarding role (seed 003).
    if lines
        .iter()
        .any(|(_, l)| redact_for(&ask.reviewer, &mut parse_line(l)))
    {
        return Err(ApiError::Forbidden(
            "this evidence holds break-glass reason text, context or demographics: exporting it needs the safeguarding role".into(),
        ));
    }
    let prev = match u64::try_from(from - 1) {
        Err(_) => json!({ "seq": Value::Null, "hash": chain.genesis(), "ts": Value::Null }),
        Ok(p) => {
            let before = stored_lines(&state.store, &chain, p, p).await?;
            let e = before
                .first()
                .map(|(_, l)| parse_line(l))
                .unwrap_or(Value::Null);
            json!({ "seq": p, "hash": member(&e, "/hash"), "ts": member(&e, "/ts") })
        }
    };
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
    // The range's last event in the transparency log: a `tlog-proof` in the
    // latest signed checkpoint (`verify --proof`), once it is logged.
    let log_proof = match u64::try_from(to) {
        Ok(head) if !lines.is_empty() && state.log.enabled() => state
            .log
            .find(&chain, head)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map(|l| l.proof),
        _ => None,
    };
    if let Some(p) = &log_proof {
        put(
            &mut headers,
            "sealtrail-log-proof",
            &json!(STANDARD.encode(p)),
        );
    }
    if q.json {
        let anchors: Vec<Value> = anchors::range(state.store.pool(), &chain, 0, u64::MAX)
            .await?
            .into_iter()
            .map(|a| json!({ "seq": a.seq, "hash": a.hash }))
            .collect();
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
                "logProof": log_proof,
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
