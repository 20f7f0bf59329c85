//! The `case_events` table: what reviewers did with each case, append-only
//! (the store's triggers refuse updates and deletes). A case's state is
//! derived from its rows in `n` order ([`crate::cases`]). `note` is sealed
//! under the data key `key_id` names when the collector encrypts at rest.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::{Store, WriteTx};
use crate::at_rest::{self, Column};

/// One stored step of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Position in the case, from 0.
    pub n: i64,
    /// When, by the collector's clock.
    pub ts_ms: i64,
    /// `assign`, `acknowledge`, `investigate`, `comment` or `resolve`.
    pub op: String,
    /// The reviewer's staff id.
    pub actor_id: String,
    /// The reviewer's role.
    pub actor_role: String,
    /// The reviewer's name.
    pub actor_name: Option<String>,
    /// Whom an `assign` names.
    pub assignee: Option<String>,
    /// The outcome a `resolve` chose.
    pub outcome: Option<String>,
    /// The reviewer's note.
    pub note: Option<String>,
    /// The `seq` of the read-log event that recorded this step.
    pub log_seq: i64,
}

const COLUMNS: &str =
    "case_id, n, ts_ms, op, actor_id, actor_role, actor_name, assignee, outcome, note, log_seq, key_id";

fn step(r: &AnyRow) -> Result<(String, Step), sqlx::Error> {
    Ok((
        r.try_get("case_id")?,
        Step {
            n: r.try_get("n")?,
            ts_ms: r.try_get("ts_ms")?,
            op: r.try_get("op")?,
            actor_id: r.try_get("actor_id")?,
            actor_role: r.try_get("actor_role")?,
            actor_name: r.try_get("actor_name")?,
            assignee: r.try_get("assignee")?,
            outcome: r.try_get("outcome")?,
            note: at_rest::open_optional(r, "note", Column::Note)?,
            log_seq: r.try_get("log_seq")?,
        },
    ))
}

/// The steps of one case, in order.
pub async fn of<'e>(
    conn: impl Executor<'e, Database = Any>,
    case_id: &str,
) -> Result<Vec<Step>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM case_events WHERE case_id = $1 ORDER BY n"
    ))
    .bind(case_id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| step(r).map(|(_, s)| s))
    .collect()
}

/// Every case's steps, in order, by case id.
pub async fn all(store: &Store) -> Result<HashMap<String, Vec<Step>>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM case_events ORDER BY case_id, n"
    ))
    .fetch_all(store.pool())
    .await?;
    let mut out: HashMap<String, Vec<Step>> = HashMap::new();
    for r in &rows {
        let (case, s) = step(r)?;
        out.entry(case).or_default().push(s);
    }
    Ok(out)
}

/// Appends a step (its `n` must be the case's next: a concurrent step with
/// the same `n` fails on the primary key).
pub async fn append(tx: &mut WriteTx, case_id: &str, s: &Step) -> Result<(), sqlx::Error> {
    let note = s
        .note
        .as_deref()
        .map(|n| at_rest::seal(tx.sealing(), Column::Note, n))
        .transpose()?;
    let note_key = note.as_ref().and_then(|(_, key)| key.clone());
    sqlx::query(&format!(
        "INSERT INTO case_events ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(case_id)
    .bind(s.n)
    .bind(s.ts_ms)
    .bind(s.op.as_str())
    .bind(s.actor_id.as_str())
    .bind(s.actor_role.as_str())
    .bind(s.actor_name.as_deref())
    .bind(s.assignee.as_deref())
    .bind(s.outcome.as_deref())
    .bind(note.map(|(sealed, _)| sealed))
    .bind(s.log_seq)
    .bind(note_key)
    .execute(tx.conn())
    .await
    .map(drop)
}
