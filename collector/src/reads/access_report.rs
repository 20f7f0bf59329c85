//! The patient access report: for one record, who accessed it, when, what
//! kind of content and with what purpose, as JSON for the printable page
//! (`www/access-report.html`) or as a FHIR R4 `AuditEvent` Bundle.
//!
//! The report is written for the patient (and the integrator answering
//! them), not for a reviewer: each event is cut down to what a patient may
//! read whatever the reviewer's role (no session, address or device, no
//! break-glass reason text or context, no demographics, no rule details),
//! and staff are named as the policy's `review.staffNames` says: by name,
//! by role only, or by a stable pseudonym (a keyed hash of the staff id
//! under a key the collector keeps in its database, so the same person has
//! the same pseudonym in every report and nobody can test a guessed id
//! against it).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use sealtrail::entropy::{Entropy, OsEntropy};
use sealtrail::event::Event;
use sealtrail::fhir::{self, BundleType};
use sealtrail::policy::StaffNames;

use super::params::{FromParams, Params};
use super::{parse_line, since_days, Ask};
use crate::auth;
use crate::error::ApiError;
use crate::request::Segment;
use crate::store::events::{self, Filter};
use crate::store::{readlog, Store};

/// `?days=365&limit=1000&offset=0&format=json|fhir`.
struct ReportQuery {
    days: i64,
    limit: i64,
    offset: i64,
    fhir: bool,
}

impl FromParams for ReportQuery {
    fn from_params(p: &mut Params) -> Result<Self, ApiError> {
        Ok(Self {
            days: p.days(365)?,
            limit: p.int("limit", 1000, 1..=1000)?,
            offset: p.offset()?,
            fhir: p.choice("format", "json", &["json", "fhir"])? == "fhir",
        })
    }
}

/// `GET /api/records/{id}/report?days=365&limit=1000&offset=0&format=json|fhir`:
/// every event about record `id` in the last `days` days, newest first, cut
/// down for the patient and with staff named per the policy.
pub(super) async fn access_report(ask: Ask, Segment(id): Segment) -> Result<Response, ApiError> {
    let q: ReportQuery = ask.admit(auth::REVIEW, Some(&id)).await?;
    let store = &ask.state.store;
    let naming = ask.state.review.staff_names;
    let namer = Namer::new(store, naming).await?;
    let page = events::page(
        store,
        Filter::Record(&id),
        since_days(q.days),
        q.limit,
        q.offset,
    )
    .await?;
    let mut shown = Vec::with_capacity(page.rows.len());
    for row in &page.rows {
        match serde_json::from_value::<Event>(parse_line(&row.line)) {
            Ok(e) => shown.push(for_patient(e, &namer)),
            Err(e) => {
                tracing::warn!(error = %e, chain = %row.chain, seq = row.seq, "stored event unreadable")
            }
        }
    }
    if q.fhir {
        let mut bundle = fhir::bundle(&shown, BundleType::Searchset);
        if let Some(b) = bundle.as_object_mut() {
            b.insert("total".into(), page.total.into());
        }
        if naming != StaffNames::Names {
            rename_agents(&mut bundle, &shown);
        }
        let mut resp = Json(bundle).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/fhir+json"),
        );
        return Ok(resp);
    }
    let entries: Vec<Value> = shown.iter().map(|e| entry(e, naming)).collect();
    Ok(Json(json!({
        "recordId": id,
        "staffNames": naming,
        "days": q.days, "limit": q.limit, "offset": q.offset, "total": page.total,
        "entries": entries,
    }))
    .into_response())
}

/// What stands for a staff member in a report.
struct Namer {
    naming: StaffNames,
    /// The pseudonym key (pseudonyms only).
    key: Vec<u8>,
}

/// The `meta` key of the staff pseudonym key (hex, made on first use).
const PSEUDONYM_KEY: &str = "staff_pseudonym_key";

impl Namer {
    async fn new(store: &Store, naming: StaffNames) -> Result<Self, ApiError> {
        let key = match naming {
            StaffNames::Pseudonyms => pseudonym_key(store).await?,
            StaffNames::Names | StaffNames::Roles => Vec::new(),
        };
        Ok(Self { naming, key })
    }

    /// `staff-` and the first 40 bits of HMAC-SHA256(key, staff id), in hex.
    fn pseudonym(&self, staff_id: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            // HMAC takes a key of any length.
            return String::from("staff");
        };
        mac.update(staff_id.as_bytes());
        let tag = mac.finalize().into_bytes();
        format!("staff-{}", hex::encode(tag.get(..5).unwrap_or_default()))
    }
}

/// The collector's staff pseudonym key: the stored one, or a new random one
/// stored first (the first one written stays, whoever races).
async fn pseudonym_key(store: &Store) -> Result<Vec<u8>, ApiError> {
    if let Some(kept) = readlog::meta(store, PSEUDONYM_KEY).await? {
        return hex::decode(kept.trim())
            .map_err(|e| ApiError::Internal(format!("stored staff pseudonym key: {e}")));
    }
    let mut key = [0u8; 32];
    OsEntropy
        .fill(&mut key)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    readlog::set_meta_once(store, PSEUDONYM_KEY, &hex::encode(key)).await?;
    match readlog::meta(store, PSEUDONYM_KEY).await? {
        Some(kept) => hex::decode(kept.trim())
            .map_err(|e| ApiError::Internal(format!("stored staff pseudonym key: {e}"))),
        None => Err(ApiError::Internal("staff pseudonym key not kept".into())),
    }
}

/// `e` as a patient may read it: the record, the action, the content kinds,
/// the purpose and the reason code, with the staff member named per policy.
/// The chain link stays, so an integrator can find the verified event.
fn for_patient(mut e: Event, namer: &Namer) -> Event {
    let d = &mut e.body;
    d.session = None;
    d.detail.clear();
    d.actor.auth_strength = None;
    if let Some(s) = &mut d.subject {
        s.demographics.clear();
    }
    if let Some(r) = &mut d.reason {
        r.text.clear();
        r.context = None;
        r.incident_ref = None;
    }
    match namer.naming {
        StaffNames::Names => {}
        StaffNames::Roles => {
            d.actor.id.clear();
            d.actor.name = None;
        }
        StaffNames::Pseudonyms => {
            d.actor.id = namer.pseudonym(&d.actor.id);
            d.actor.name = None;
        }
    }
    e
}

/// A report entry of an event [`for_patient`] cut down.
fn entry(e: &Event, naming: StaffNames) -> Value {
    let d = &e.body;
    let staff = match naming {
        StaffNames::Names => {
            json!({ "id": d.actor.id, "name": d.actor.name, "role": d.actor.role })
        }
        StaffNames::Roles => json!({ "role": d.actor.role }),
        StaffNames::Pseudonyms => json!({ "pseudonym": d.actor.id, "role": d.actor.role }),
    };
    let subject = d.subject.as_ref();
    json!({
        "time": e.ts.to_string(),
        "staff": staff,
        "action": d.action.as_str(),
        "outcome": d.outcome,
        "recordType": subject.and_then(|s| s.record_type.as_deref()),
        "relation": subject.and_then(|s| s.relation),
        "fields": d.fields,
        "noteTypes": d.note_types,
        "labels": d.labels,
        "purposeOfUse": d.purpose_of_use,
        "reasonCode": d.reason.as_ref().map(|r| r.code.as_str()),
        "chain": e.chain.as_str(),
        "seq": e.seq,
    })
}

/// The FHIR mapping names the agent by staff id (and name): without names,
/// each agent is the role (`roles`) or the pseudonym under its own system
/// (`pseudonyms`) instead.
fn rename_agents(bundle: &mut Value, shown: &[Event]) {
    let Some(entries) = bundle.get_mut("entry").and_then(Value::as_array_mut) else {
        return;
    };
    for (entry, e) in entries.iter_mut().zip(shown) {
        let actor = &e.body.actor;
        let who = if actor.id.is_empty() {
            json!({ "display": actor.role })
        } else {
            json!({
                "identifier": { "system": STAFF_PSEUDONYM, "value": actor.id },
                "display": actor.id,
            })
        };
        if let Some(agents) = entry
            .pointer_mut("/resource/agent")
            .and_then(Value::as_array_mut)
        {
            for agent in agents.iter_mut().filter_map(Value::as_object_mut) {
                agent.insert("who".into(), who.clone());
            }
        }
    }
}

/// The identifier system of staff pseudonyms.
const STAFF_PSEUDONYM: &str = "urn:sealtrail:staff-pseudonym";
