//! The case APIs: the queue, one case with its evidence and history, and
//! the five review actions. Reads are logged like every review read; each
//! action is appended to the collector's own chain in the transaction that
//! stores it (refused actions are logged as `denied`), so "who decided what
//! about which evidence" verifies like any chain.

use axum::body::Bytes;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use sealtrail::event::{Action, Outcome};
use sealtrail::Digest;

use super::body::{self, Fields};
use super::model::{fold, Case, CaseId, CaseState, Op};
use super::queue;
use crate::auth::{self, Reviewer};
use crate::error::ApiError;
use crate::reads::params::{self, FromParams, NoParams, Params};
use crate::reads::{redact_for, Ask};
use crate::request::Segment;
use crate::state::AppState;
use crate::store::case_events::{self, Step};

/// The case routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/cases", get(list))
        .route("/api/cases/{id}", get(one))
        .route("/api/cases/{id}/assign", post(assign))
        .route("/api/cases/{id}/acknowledge", post(acknowledge))
        .route("/api/cases/{id}/investigate", post(investigate))
        .route("/api/cases/{id}/comment", post(comment))
        .route("/api/cases/{id}/resolve", post(resolve))
}

/// State filter values.
const STATES: &[&str] = &["new", "acknowledged", "underInvestigation", "resolved"];
/// Severity filter values.
const SEVERITIES: &[&str] = &["critical", "high", "medium"];

/// `?days=90&state=&severity=&assignee=&overdue=&source=&limit=100&offset=0`.
struct CasesQuery {
    days: i64,
    states: Vec<&'static str>,
    severities: Vec<&'static str>,
    assignee: Option<String>,
    overdue: Option<bool>,
    source: Option<&'static str>,
    limit: usize,
    offset: usize,
}

impl FromParams for CasesQuery {
    fn from_params(p: &mut Params) -> Result<Self, ApiError> {
        let count = |v: i64| usize::try_from(v).unwrap_or(usize::MAX);
        Ok(Self {
            days: p.days(90)?,
            states: p.choices("state", STATES)?,
            severities: p.choices("severity", SEVERITIES)?,
            assignee: p.text("assignee"),
            overdue: p
                .opt_choice("overdue", &["true", "false"])?
                .map(|v| v == "true"),
            source: p.opt_choice("source", &["finding", "break-glass"])?,
            limit: count(p.int("limit", 100, 1..=1000)?),
            offset: count(p.offset()?),
        })
    }
}

impl CasesQuery {
    fn keeps(&self, c: &Case, me: &str) -> bool {
        let assignee_ok = match self.assignee.as_deref() {
            None => true,
            Some("none") => c.assignee.is_none(),
            Some("me") => c.assignee.as_deref() == Some(me),
            Some(id) => c.assignee.as_deref() == Some(id),
        };
        let source_ok = match self.source {
            None => true,
            Some("break-glass") => c.source.kind == "break-glass",
            Some(_) => c.source.kind != "break-glass",
        };
        (self.states.is_empty() || self.states.contains(&c.state.as_str()))
            && (self.severities.is_empty() || self.severities.contains(&c.source.severity.as_str()))
            && self.overdue.is_none_or(|o| o == c.overdue)
            && assignee_ok
            && source_ok
    }
}

/// The queue's order: open before resolved, overdue first, most severe
/// first, oldest first (resolved: newest first).
fn queue_order(a: &Case, b: &Case) -> std::cmp::Ordering {
    let resolved = |c: &Case| c.state == CaseState::Resolved;
    resolved(a)
        .cmp(&resolved(b))
        .then(b.overdue.cmp(&a.overdue))
        .then(b.source.severity.cmp(&a.source.severity))
        .then_with(|| {
            if resolved(a) {
                b.source.opened_ms.cmp(&a.source.opened_ms)
            } else {
                a.source.opened_ms.cmp(&b.source.opened_ms)
            }
        })
        .then_with(|| a.source.id.to_string().cmp(&b.source.id.to_string()))
}

/// `GET /api/cases`: the case queue. Counts are over every case the
/// reviewer may see in the period, before the filters; `cases` is the
/// filtered page. Break-glass reviews are listed to safeguarding staff only.
async fn list(ask: Ask) -> Result<Json<Value>, ApiError> {
    let q: CasesQuery = ask.admit(auth::ALERTS, None).await?;
    let state = &ask.state;
    let now = state.clock.now_ms();
    let since = now.saturating_sub(q.days.saturating_mul(86_400_000));
    let break_glass = sees_break_glass(&ask.reviewer);
    let mut all = queue::all(&state.store, &state.review, since, break_glass, now).await?;
    let mut counts: Map<String, Value> = CaseState::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), json!(0)))
        .collect();
    let mut overdue = 0u64;
    for c in &all {
        if let Some(Value::Number(n)) = counts.get_mut(c.state.as_str()) {
            *n = (n.as_u64().unwrap_or(0) + 1).into();
        }
        overdue += u64::from(c.overdue);
    }
    counts.insert("overdue".into(), json!(overdue));
    all.retain(|c| q.keeps(c, &ask.reviewer.user_id));
    all.sort_by(queue_order);
    let total = all.len();
    let page: Vec<Case> = all.into_iter().skip(q.offset).take(q.limit).collect();
    Ok(Json(json!({
        "days": q.days,
        "limit": q.limit,
        "offset": q.offset,
        "total": total,
        "counts": counts,
        "outcomes": state.review.outcomes,
        "cases": page,
    })))
}

/// `GET /api/cases/{id}`: one case, its evidence, every step with its note,
/// the policy's outcomes and what this reviewer may do now.
async fn one(ask: Ask, Segment(id): Segment) -> Result<Json<Value>, ApiError> {
    let case_id = CaseId::parse(&id);
    let roles = match &case_id {
        Ok(c) if c.is_break_glass() => auth::BREAK_GLASS_LOG,
        _ => auth::ALERTS,
    };
    let NoParams = ask.admit(roles, None).await?;
    let case_id =
        case_id.map_err(|e| ApiError::BadRequest(format!("path segment `{{id}}`: {e}")))?;
    Ok(Json(view(&ask.state, &ask.reviewer, &case_id).await?))
}

/// The detail answer of a case.
async fn view(state: &AppState, reviewer: &Reviewer, id: &CaseId) -> Result<Value, ApiError> {
    let (source, mut evidence) = queue::find(state.store.pool(), id, &state.review)
        .await?
        .ok_or_else(|| not_found(id))?;
    // Break-glass reason text, context and demographics: safeguarding staff only.
    redact_for(reviewer, &mut evidence);
    let steps = case_events::of(state.store.pool(), &id.to_string()).await?;
    let own = source.actor_id.as_deref() == Some(reviewer.user_id.as_str());
    let case = Case::new(source, &steps, &state.review, state.clock.now_ms());
    let may: Map<String, Value> = Op::ALL
        .into_iter()
        .map(|op| {
            let ok = allowed(reviewer, id, op).is_ok() && !own && op.apply(case.state).is_ok();
            (op.as_str().to_owned(), json!(ok))
        })
        .collect();
    let steps: Vec<Value> = steps.iter().map(step_json).collect();
    Ok(json!({
        "case": case,
        "evidence": evidence,
        "steps": steps,
        "outcomes": state.review.outcomes,
        "may": may,
    }))
}

fn step_json(s: &Step) -> Value {
    json!({
        "n": s.n,
        "time": crate::clock::rfc3339(s.ts_ms),
        "op": s.op,
        "by": { "id": s.actor_id, "role": s.actor_role, "name": s.actor_name },
        "assignee": s.assignee,
        "outcome": s.outcome,
        "note": s.note,
        "logSeq": s.log_seq,
    })
}

fn not_found(id: &CaseId) -> ApiError {
    ApiError::NotFound(format!(
        "no case `{id}`: no such finding or break-glass is stored"
    ))
}

fn sees_break_glass(r: &Reviewer) -> bool {
    auth::BREAK_GLASS_LOG.contains(&r.role.as_str())
}

/// Whether the reviewer's role may do `op` on case `id`.
fn allowed(r: &Reviewer, id: &CaseId, op: Op) -> Result<(), ApiError> {
    let roles = match op {
        Op::Assign | Op::Acknowledge | Op::Investigate => auth::TRIAGE,
        Op::Comment => auth::COMMENT,
        Op::Resolve => auth::RESOLVE,
    };
    let ok = roles.contains(&r.role.as_str()) && (!id.is_break_glass() || sees_break_glass(r));
    if ok {
        Ok(())
    } else {
        let who = if id.is_break_glass() {
            auth::BREAK_GLASS_LOG.join(", ")
        } else {
            roles.join(", ")
        };
        Err(ApiError::Forbidden(format!(
            "role `{}` may not {} this case; allowed: {who}",
            r.role,
            op.as_str()
        )))
    }
}

async fn assign(ask: Ask, Segment(id): Segment, body: Bytes) -> Result<Json<Value>, ApiError> {
    act(ask, &id, &body, Op::Assign).await
}

async fn acknowledge(ask: Ask, Segment(id): Segment, body: Bytes) -> Result<Json<Value>, ApiError> {
    act(ask, &id, &body, Op::Acknowledge).await
}

async fn investigate(ask: Ask, Segment(id): Segment, body: Bytes) -> Result<Json<Value>, ApiError> {
    act(ask, &id, &body, Op::Investigate).await
}

async fn comment(ask: Ask, Segment(id): Segment, body: Bytes) -> Result<Json<Value>, ApiError> {
    act(ask, &id, &body, Op::Comment).await
}

async fn resolve(ask: Ask, Segment(id): Segment, body: Bytes) -> Result<Json<Value>, ApiError> {
    act(ask, &id, &body, Op::Resolve).await
}

/// `POST /api/cases/{id}/{op}`: one review action. Refused (`400`, `403`,
/// `404`, `409`) after a `denied` entry in the collector's chain; done, it
/// answers the case as `GET /api/cases/{id}` would.
async fn act(ask: Ask, id: &str, body: &[u8], op: Op) -> Result<Json<Value>, ApiError> {
    match perform(&ask, id, body, op).await {
        Ok(case_id) => Ok(Json(view(&ask.state, &ask.reviewer, &case_id).await?)),
        Err(e @ ApiError::Internal(_)) => Err(e),
        Err(refusal) => {
            let mut detail = Map::new();
            detail.insert("op".into(), json!(op.as_str()));
            let entry = ask.entry(None, Outcome::Denied, case_action(op), detail);
            ask.state.read_log.record(&ask.state.store, entry).await?;
            Err(refusal)
        }
    }
}

fn case_action(op: Op) -> Action {
    Action::Other(format!("case-{}", op.as_str()))
}

/// Checks and stores one action with its read-log entry, in one transaction.
async fn perform(ask: &Ask, id: &str, body: &[u8], op: Op) -> Result<CaseId, ApiError> {
    let state = &ask.state;
    let case_id = CaseId::parse(id)
        .map_err(|e| ApiError::BadRequest(format!("path segment `{{id}}`: {e}")))?;
    allowed(&ask.reviewer, &case_id, op)?;
    let NoParams = params::parse(ask.uri.query())?;
    let fields: Fields = body::parse(op, body, &state.review)?;
    let mut turn = state.read_log.begin(&state.store).await?;
    let (source, _) = queue::find(turn.tx().conn(), &case_id, &state.review)
        .await?
        .ok_or_else(|| not_found(&case_id))?;
    if source.actor_id.as_deref() == Some(ask.reviewer.user_id.as_str()) {
        return Err(ApiError::Forbidden(
            "a reviewer may not triage a case about their own access".into(),
        ));
    }
    let key = case_id.to_string();
    let mut steps = case_events::of(turn.tx().conn(), &key).await?;
    let primary = state.review.route(source.severity).primary.clone();
    let progress = fold(primary.as_deref(), &steps);
    let next = op.apply(progress.state).map_err(ApiError::Conflict)?;
    let mut detail = Map::new();
    detail.insert("case".into(), json!(key));
    detail.insert("op".into(), json!(op.as_str()));
    detail.insert("state".into(), json!(next.as_str()));
    if let Some(a) = &fields.assignee {
        detail.insert("assignee".into(), json!(a));
    }
    if let Some(o) = &fields.outcome {
        detail.insert("outcome".into(), json!(o));
    }
    if let Some(n) = &fields.note {
        // The chain commits to the note without holding its text.
        detail.insert(
            "noteSha256".into(),
            json!(Digest::of(n.as_bytes()).to_hex()),
        );
    }
    let entry = ask.entry(
        source.record_id.as_deref(),
        Outcome::Success,
        case_action(op),
        detail,
    );
    let logged = turn.append(entry).await?;
    let step = Step {
        n: i64::try_from(steps.len()).unwrap_or(i64::MAX),
        ts_ms: logged.ts.millis(),
        op: op.as_str().to_owned(),
        actor_id: ask.reviewer.user_id.clone(),
        actor_role: ask.reviewer.role.clone(),
        actor_name: ask.reviewer.name.clone(),
        assignee: fields.assignee,
        outcome: fields.outcome,
        note: fields.note,
        log_seq: i64::try_from(logged.seq).unwrap_or(i64::MAX),
    };
    case_events::append(turn.tx(), &key, &step).await?;
    if op == Op::Assign {
        steps.push(step);
        let now = state.clock.now_ms();
        let case = Case::new(source, &steps, &state.review, now);
        state.notifier.assigned(turn.tx(), &case, now).await?;
    }
    turn.commit().await?;
    Ok(case_id)
}
