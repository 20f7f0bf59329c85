//! Cases from what the store holds: every finding and every break-glass
//! event is a case, so nothing is copied into a table of cases and nothing
//! can be missing from one; what reviewers did is joined from
//! `case_events`.

use serde_json::{json, Value};
use sqlx::{Any, Executor};

use sealtrail::event::ChainId;
use sealtrail::policy::{CaseSeverity, ReviewConfig};

use super::model::{Case, CaseId, Source};
use crate::store::events::BreakGlass;
use crate::store::findings::Listed;
use crate::store::{case_events, events, findings, Store};

/// Every case opened at or after `since_ms` (break-glass reviews only when
/// `break_glass`), as of `now_ms`.
pub async fn all(
    store: &Store,
    config: &ReviewConfig,
    since_ms: i64,
    break_glass: bool,
    now_ms: i64,
) -> Result<Vec<Case>, sqlx::Error> {
    let mut sources: Vec<Source> = findings::since(store, since_ms)
        .await?
        .into_iter()
        .map(finding_source)
        .collect();
    if break_glass {
        sources.extend(
            events::break_glass_since(store, since_ms)
                .await?
                .iter()
                .filter_map(|e| break_glass_source(e, config)),
        );
    }
    with_steps(store, sources, config, now_ms).await
}

/// Every case opened in `[from_ms, to_ms)` by the collector's clock: the
/// findings stored then, and `break_glass` (the break-glass events received
/// then, as the caller read them), as of `now_ms`.
pub async fn opened_between(
    store: &Store,
    config: &ReviewConfig,
    from_ms: i64,
    to_ms: i64,
    break_glass: &[BreakGlass],
    now_ms: i64,
) -> Result<Vec<Case>, sqlx::Error> {
    let mut sources: Vec<Source> = findings::since(store, from_ms)
        .await?
        .into_iter()
        .filter(|f| f.created_ms < to_ms)
        .map(finding_source)
        .collect();
    sources.extend(
        break_glass
            .iter()
            .filter_map(|e| break_glass_source(e, config)),
    );
    with_steps(store, sources, config, now_ms).await
}

/// The cases of `sources`, each with the steps reviewers took.
async fn with_steps(
    store: &Store,
    sources: Vec<Source>,
    config: &ReviewConfig,
    now_ms: i64,
) -> Result<Vec<Case>, sqlx::Error> {
    let mut steps = case_events::all(store).await?;
    Ok(sources
        .into_iter()
        .map(|s| {
            let own = steps.remove(&s.id.to_string()).unwrap_or_default();
            Case::new(s, &own, config, now_ms)
        })
        .collect())
}

/// A case's source and evidence, if the finding or break-glass exists.
pub async fn find<'e>(
    conn: impl Executor<'e, Database = Any>,
    id: &CaseId,
    config: &ReviewConfig,
) -> Result<Option<(Source, Value)>, sqlx::Error> {
    Ok(match id {
        CaseId::Finding(f) => findings::find(conn, f).await?.map(|found| {
            let evidence = json!({ "message": found.finding.message, "evidence": found.evidence });
            (finding_source(found.finding), evidence)
        }),
        CaseId::BreakGlass { chain, seq } => events::break_glass_at(conn, chain, *seq)
            .await?
            .and_then(|e| {
                let event: Value = serde_json::from_str(&e.line).unwrap_or(Value::Null);
                let evidence = json!({ "event": event, "uploadIp": e.peer_ip });
                break_glass_source(&e, config).map(|s| (s, evidence))
            }),
    })
}

fn finding_source(f: Listed) -> Source {
    Source {
        id: CaseId::Finding(f.id),
        kind: f.kind,
        // A severity this build does not know is routed as the most urgent.
        severity: CaseSeverity::parse(&f.severity).unwrap_or(CaseSeverity::Critical),
        rule: f.rule,
        summary: f.message,
        actor_id: f.actor_id,
        record_id: f.record_id,
        chain: f.chain,
        seq: f.seq,
        opened_ms: f.created_ms,
    }
}

/// The review case of a stored break-glass (none for a chain id or seq the
/// store could not have accepted).
fn break_glass_source(e: &BreakGlass, config: &ReviewConfig) -> Option<Source> {
    let event: Value = serde_json::from_str(&e.line).unwrap_or(Value::Null);
    let code = event
        .pointer("/reason/code")
        .and_then(Value::as_str)
        .unwrap_or("no reason code");
    let who = e.actor_name.as_deref().unwrap_or(&e.actor_id);
    let record = e.record_id.as_deref().unwrap_or("no record");
    Some(Source {
        id: CaseId::BreakGlass {
            chain: ChainId::parse(&e.chain).ok()?,
            seq: u64::try_from(e.seq).ok()?,
        },
        kind: "break-glass".into(),
        severity: config.break_glass_severity,
        rule: "break-glass".into(),
        summary: format!(
            "{who} ({}) broke the glass on `{record}` ({}): {code}",
            e.actor_role, e.outcome
        ),
        actor_id: Some(e.actor_id.clone()),
        record_id: e.record_id.clone(),
        chain: Some(e.chain.clone()),
        seq: Some(e.seq),
        opened_ms: e.received_ms,
    })
}
