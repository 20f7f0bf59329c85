//! Findings and statistics: alert, fork and tamper findings; accesses by
//! local weekday and hour; accesses by demographic group.

use std::collections::{BTreeMap, HashSet};

use axum::Json;
use chrono::{Datelike, TimeZone, Timelike};
use serde_json::{json, Value};

use super::params::{FromParams, Params};
use super::{parse_line, redact_for, since_days, Ask};
use crate::auth;
use crate::error::ApiError;
use crate::store::{events, findings};

/// Finding severities a reviewer may filter by.
const SEVERITIES: &[&str] = &["critical", "high", "medium"];
/// Finding kinds.
const KINDS: &[&str] = &["alert", "fork", "tamper", "credential", "clock"];

/// `?severity=critical,high&kind=...&from=&to=&offset=0&limit=1000`: findings
/// created in `[from, to)` (the collector's clock), a page at a time, so
/// nothing is ever pushed out of view.
struct AlertsQuery {
    severities: Vec<String>,
    kind: Option<&'static str>,
    from: i64,
    to: i64,
    offset: i64,
    limit: i64,
}

impl FromParams for AlertsQuery {
    fn from_params(p: &mut Params) -> Result<Self, ApiError> {
        let severities = p
            .choices("severity", SEVERITIES)?
            .into_iter()
            .map(str::to_owned)
            .collect();
        let kind = p.opt_choice("kind", KINDS)?;
        Ok(Self {
            severities,
            kind,
            from: p.time("from", 0)?,
            to: p.time("to", crate::clock::now_ms().saturating_add(1))?,
            offset: p.offset()?,
            limit: p.int("limit", 1000, 1..=10_000)?,
        })
    }
}

/// `GET /api/alerts?severity=critical,high&kind=alert&from=&to=&offset=&limit=`:
/// findings, newest first, a page at a time; `total` counts every match,
/// `counts` those of the page by severity.
pub(super) async fn alerts(ask: Ask) -> Result<Json<Value>, ApiError> {
    let q: AlertsQuery = ask.admit(auth::ALERTS, None).await?;
    let filter = findings::Filter {
        severities: &q.severities,
        kind: q.kind,
        from_ms: q.from,
        to_ms: q.to,
    };
    let (mut found, total) = findings::list(&ask.state.store, &filter, q.offset, q.limit).await?;
    for f in &mut found {
        redact_for(&ask.reviewer, &mut f.evidence);
    }
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for f in &found {
        *counts.entry(f.finding.severity.clone()).or_default() += 1;
    }
    Ok(Json(json!({
        "counts": counts,
        "findings": found,
        "total": total,
        "offset": q.offset,
        "limit": q.limit,
        "from": crate::clock::rfc3339(q.from),
        "to": crate::clock::rfc3339(q.to),
    })))
}

/// `?days=90&tz=ZONE&action=` of the heat map.
struct HoursQuery {
    days: i64,
    tz: Option<String>,
    action: Option<String>,
}

impl FromParams for HoursQuery {
    fn from_params(p: &mut Params) -> Result<Self, ApiError> {
        Ok(Self {
            days: p.days(90)?,
            tz: p.text("tz"),
            action: p.text("action"),
        })
    }
}

/// `GET /api/stats/hours?days=90&tz=...&action=...`: accesses by local
/// weekday (Monday first) and hour, for the after-hours heat map. The zone
/// defaults to the policy's business-hours zone.
pub(super) async fn hours(ask: Ask) -> Result<Json<Value>, ApiError> {
    let q: HoursQuery = ask.admit(auth::REVIEW, None).await?;
    let state = ask.state;
    let bh = &state.alerting.settings().config.business_hours;
    let name = q.tz.unwrap_or_else(|| bh.time_zone.clone());
    let tz = name.parse::<chrono_tz::Tz>().map_err(|_| {
        ApiError::BadRequest(format!("parameter `tz`: `{name}` is not an IANA time zone"))
    })?;
    let times = events::access_times(&state.store, since_days(q.days), q.action.as_deref()).await?;
    let mut grid = [[0u64; 24]; 7];
    for ms in times {
        if let Some(t) = tz.timestamp_millis_opt(ms).single() {
            let d = t.weekday().num_days_from_monday() as usize;
            let h = t.hour() as usize;
            if let Some(cell) = grid.get_mut(d).and_then(|row| row.get_mut(h)) {
                *cell += 1;
            }
        }
    }
    Ok(Json(json!({
        "days": q.days,
        "timeZone": tz.name(),
        "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "counts": grid,
        "businessHours": bh,
    })))
}

/// `?days=90`.
struct DaysQuery {
    days: i64,
}

impl FromParams for DaysQuery {
    fn from_params(p: &mut Params) -> Result<Self, ApiError> {
        Ok(Self { days: p.days(90)? })
    }
}

/// One demographic group's counts.
#[derive(Default)]
struct Group {
    accesses: u64,
    break_glass: u64,
    unassigned: u64,
    staff: HashSet<String>,
    records: HashSet<String>,
}

/// `GET /api/stats/demographics?days=90`: accesses by demographic group where
/// events carry `subject.demographics`, for the quarterly bias review: all
/// accesses, break-glass accesses, unassigned accesses, distinct staff and records.
pub(super) async fn demographics(ask: Ask) -> Result<Json<Value>, ApiError> {
    let q: DaysQuery = ask.admit(auth::REVIEW, None).await?;
    let rows = events::demographics(&ask.state.store, since_days(q.days)).await?;
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    let mut total = 0u64;
    for r in rows {
        let unassigned =
            parse_line(&r.line).pointer("/subject/relation") == Some(&json!("unassigned"));
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&r.demographics) else {
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
            if r.action == "break-glass" {
                g.break_glass += 1;
            }
            if unassigned {
                g.unassigned += 1;
            }
            g.staff.insert(r.actor_id.clone());
            if let Some(rec) = &r.record_id {
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
        json!({ "days": q.days, "events": total, "groups": groups }),
    ))
}
