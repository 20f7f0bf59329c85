//! The quarterly review report (seed 003's five questions for one period):
//! `GET /api/report?from=&to=&format=json|csv`, read by the review roles
//! and logged like every review read. Break-glass reason text and context
//! are redacted but for safeguarding staff, as on every read path. The
//! figures are built by [`build`] (pure), the CSV by [`csv`]; the printable
//! page is `www/report.html`.

mod build;
mod csv;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use crate::auth;
use crate::cases::queue;
use crate::error::ApiError;
use crate::reads::params::{FromParams, Params, MAX_DAYS};
use crate::reads::{redact_for, Ask};
use crate::state::AppState;
use crate::store::events;

const DAY_MS: i64 = 86_400_000;
/// The period when `from` is not given: the 91 days before `to`.
const DEFAULT_DAYS: i64 = 91;

/// The report's route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/report", get(report))
}

/// `?from=&to=&format=`: the period `[from, to)` in RFC 3339 (by the
/// collector's receive time), the answer's format.
struct ReportQuery {
    from: i64,
    to: i64,
    csv: bool,
}

impl FromParams for ReportQuery {
    fn from_params(p: &mut Params) -> Result<Self, ApiError> {
        let to = p.time("to", crate::clock::now_ms().saturating_add(1))?;
        let from = p.time("from", to.saturating_sub(DEFAULT_DAYS * DAY_MS))?;
        if from >= to {
            return Err(ApiError::BadRequest(format!(
                "parameter `from`: expected a time before `to` ({}), found {}",
                crate::clock::rfc3339(to),
                crate::clock::rfc3339(from)
            )));
        }
        if to.saturating_sub(from) > MAX_DAYS * DAY_MS {
            return Err(ApiError::BadRequest(format!(
                "parameter `from`: expected a period of at most {MAX_DAYS} days"
            )));
        }
        let csv = p.choice("format", "json", &["json", "csv"])? == "csv";
        Ok(Self { from, to, csv })
    }
}

/// `GET /api/report`: the report as JSON, or as CSV to download.
async fn report(ask: Ask) -> Result<Response, ApiError> {
    let q: ReportQuery = ask.admit(auth::REVIEW, None).await?;
    let state = &ask.state;
    let now = state.clock.now_ms();
    let break_glass = events::break_glass_received(&state.store, q.from, q.to).await?;
    let groups = events::groups_received(&state.store, q.from, q.to).await?;
    let cases =
        queue::opened_between(&state.store, &state.review, q.from, q.to, &break_glass, now).await?;
    let break_glass: Vec<_> = break_glass
        .into_iter()
        .map(|e| {
            let mut event: Value = serde_json::from_str(&e.line).unwrap_or(Value::Null);
            redact_for(&ask.reviewer, &mut event);
            (e, event)
        })
        .collect();
    let r = build::build(&build::Sources {
        from_ms: q.from,
        to_ms: q.to,
        now_ms: now,
        break_glass: &break_glass,
        groups: &groups,
        cases: &cases,
        outcomes: &state.review.outcomes,
    });
    if !q.csv {
        return Ok(Json(r).into_response());
    }
    let name = format!(
        "attachment; filename=\"sealtrail-review-{}-{}.csv\"",
        day(&r.period.from),
        day(&r.period.to)
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        csv::render(&r),
    )
        .into_response())
}

/// `2026-07-01` of an RFC 3339 time (digits and `-` only, so the file name
/// needs no escaping).
fn day(rfc3339: &str) -> String {
    rfc3339
        .chars()
        .take(10)
        .filter(|c| c.is_ascii_digit() || *c == '-')
        .collect()
}
