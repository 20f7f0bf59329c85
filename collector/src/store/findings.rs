//! The `findings` table: forks and tampering seen on ingest or on a head
//! anchor, and the alert rules' findings. Each is stored once (its id is a
//! fingerprint of what was seen), with both versions of what disagreed or
//! the events that prove it. `evidence` is sealed under the data key
//! `key_id` names when the collector encrypts at rest ([`crate::at_rest`]).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use sealtrail::Digest;

use super::{Store, WriteTx};
use crate::at_rest::{self, Column, DataKey};

/// Fork and tamper findings are always critical (the spec: "raised as a critical alert").
pub const CRITICAL: &str = "critical";
/// A write refused for its credential or its clock: high, one per cause.
pub const HIGH: &str = "high";

/// One finding to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFinding {
    /// `fork`, `tamper`, `credential`, `clock` or `alert`.
    pub kind: &'static str,
    /// `critical`, `high`, `medium` or `low`.
    pub severity: String,
    /// The rule broken (`prev`, `hash`, `anchor`, ...) or the alert rule.
    pub rule: String,
    /// The chain concerned.
    pub chain: Option<String>,
    /// The event's `seq`.
    pub seq: Option<u64>,
    /// The staff member concerned, when known.
    pub actor_id: Option<String>,
    /// The record concerned, when known.
    pub record_id: Option<String>,
    /// What a reviewer reads first.
    pub message: String,
    /// Both versions (`stored`, `uploaded`, `anchor`) or the proving events.
    pub evidence: Value,
    /// For a finding reported once per chain and cause (`clock-drift`): the
    /// cause. Its fingerprint is then kind, rule, chain and cause only, so
    /// the same cause seen again on another event, or after a restart, is
    /// the finding already stored.
    pub once_per: Option<String>,
}

impl NewFinding {
    /// The evidence as stored: its canonical text. A value that has no
    /// canonical form is an encoding error, never an empty string.
    fn evidence_text(&self) -> Result<String, sqlx::Error> {
        sealtrail::canon::to_string(&self.evidence).map_err(|e| sqlx::Error::Encode(Box::new(e)))
    }

    /// The fingerprint that makes a retried bad batch one finding, not many.
    /// A refused write (`fork`, `tamper`) is one finding per chain, kind and
    /// rule, whatever its `seq` and evidence (which whoever sends the batch
    /// chooses): the first is kept, so a flood of refused batches cannot
    /// bury anything. (`credential` and `clock` are one per chain, cause and
    /// credential holder: their evidence holds only those; `clock-drift`
    /// one per chain and cause, see `once_per`.)
    fn id(&self, evidence: &str) -> String {
        if let Some(cause) = &self.once_per {
            return Digest::of_parts(&[
                self.kind.as_bytes(),
                b"\0",
                self.rule.as_bytes(),
                b"\0",
                self.chain.as_deref().unwrap_or("").as_bytes(),
                b"\0once\0",
                cause.as_bytes(),
            ])
            .to_hex();
        }
        if matches!(self.kind, "fork" | "tamper") {
            return Digest::of_parts(&[
                b"refused\0",
                self.kind.as_bytes(),
                b"\0",
                self.rule.as_bytes(),
                b"\0",
                self.chain.as_deref().unwrap_or("").as_bytes(),
            ])
            .to_hex();
        }
        Digest::of_parts(&[
            self.kind.as_bytes(),
            b"\0",
            self.rule.as_bytes(),
            b"\0",
            self.chain.as_deref().unwrap_or("").as_bytes(),
            b"\0",
            self.seq
                .map(|s| s.to_string())
                .unwrap_or_default()
                .as_bytes(),
            b"\0",
            evidence.as_bytes(),
        ])
        .to_hex()
    }

    /// Its fingerprint: the same for every repeat of what it records
    /// (a retried batch, another refused batch of the same cause).
    pub fn fingerprint(&self) -> Result<String, sqlx::Error> {
        Ok(self.id(&self.evidence_text()?))
    }

    /// Stores it unless the same finding is already there. Returns whether it was new.
    pub async fn record(&self, store: &Store, now_ms: i64) -> Result<bool, sqlx::Error> {
        Ok(record_all(std::slice::from_ref(self), store, now_ms).await? > 0)
    }

    async fn insert(
        &self,
        conn: &mut AnyConnection,
        sealing: Option<&DataKey>,
        now_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let evidence = self.evidence_text()?;
        let (sealed, key_id) = at_rest::seal(sealing, Column::Evidence, &evidence)?;
        let seq = self.seq.and_then(|s| i64::try_from(s).ok());
        if let Some(chain) = &self.chain {
            // A chain refused on its first batch is still listed, as tampered.
            super::chains::ensure(&mut *conn, chain, now_ms).await?;
        }
        let done = sqlx::query(
            "INSERT INTO findings (id, created_ms, kind, severity, rule, chain, seq, actor_id, record_id, message, evidence, key_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING",
        )
        .bind(self.id(&evidence))
        .bind(now_ms)
        .bind(self.kind)
        .bind(self.severity.as_str())
        .bind(self.rule.as_str())
        .bind(self.chain.clone())
        .bind(seq)
        .bind(self.actor_id.clone())
        .bind(self.record_id.clone())
        .bind(self.message.as_str())
        .bind(sealed)
        .bind(key_id)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// Stores findings in one write transaction (on SQLite it queues with the
/// ingest writer instead of polling its lock). Returns how many were new.
pub async fn record_all(
    findings: &[NewFinding],
    store: &Store,
    now_ms: i64,
) -> Result<usize, sqlx::Error> {
    if findings.is_empty() {
        return Ok(0);
    }
    let mut tx = store.begin_write().await?;
    let new = insert_all(&mut tx, findings, now_ms).await?;
    tx.commit().await?;
    Ok(new)
}

/// Stores findings inside a write transaction. Returns how many were new.
pub async fn insert_all(
    tx: &mut WriteTx,
    findings: &[NewFinding],
    now_ms: i64,
) -> Result<usize, sqlx::Error> {
    let mut new = 0;
    let sealing = tx.sealing.clone();
    for f in findings {
        if f.insert(tx.conn(), sealing.as_deref(), now_ms).await? {
            new += 1;
        }
    }
    Ok(new)
}

/// Fork and tamper findings per chain.
pub async fn tampered(store: &Store) -> Result<HashMap<String, i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT chain, COUNT(*) AS n FROM findings WHERE kind IN ('fork', 'tamper') GROUP BY chain",
    )
    .fetch_all(store.pool())
    .await?;
    let mut bad = HashMap::new();
    for r in rows {
        if let Some(c) = r.try_get::<Option<String>, _>("chain")? {
            bad.insert(c, r.try_get("n")?);
        }
    }
    Ok(bad)
}

/// A stored finding with its evidence, as the review APIs return it.
#[derive(Debug, Clone, Serialize)]
pub struct StoredFinding {
    /// What the finding is.
    #[serde(flatten)]
    pub finding: Listed,
    /// Evidence (JSON).
    pub evidence: Value,
}

impl StoredFinding {
    fn of(r: &AnyRow) -> Result<Self, sqlx::Error> {
        let evidence = at_rest::open_column(r, "evidence", Column::Evidence)?;
        Ok(Self {
            finding: listed(r)?,
            evidence: serde_json::from_str(&evidence).unwrap_or(Value::Null),
        })
    }
}

/// Which findings [`list`] selects.
pub struct Filter<'a> {
    /// Severities (all when empty).
    pub severities: &'a [String],
    /// A kind, or all.
    pub kind: Option<&'a str>,
    /// Created at or after (milliseconds, the collector's clock).
    pub from_ms: i64,
    /// Created before.
    pub to_ms: i64,
}

impl Filter<'_> {
    /// The `WHERE` clause, its placeholders numbered from `$3` (`$1` and
    /// `$2` are the page's), and the query with its values bound.
    fn bind<'q>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let mut query = sqlx::query(sql).bind(self.from_ms).bind(self.to_ms);
        for s in self.severities {
            query = query.bind(s.as_str());
        }
        if let Some(k) = self.kind {
            query = query.bind(k);
        }
        query
    }

    fn clause(&self) -> String {
        let mut conditions = vec!["created_ms >= $1".to_owned(), "created_ms < $2".to_owned()];
        if !self.severities.is_empty() {
            let marks: Vec<String> = (0..self.severities.len())
                .map(|i| format!("${}", i + 3))
                .collect();
            conditions.push(format!("severity IN ({})", marks.join(", ")));
        }
        if self.kind.is_some() {
            conditions.push(format!("kind = ${}", self.severities.len() + 3));
        }
        format!("WHERE {}", conditions.join(" AND "))
    }
}

/// A page of the stored findings `filter` selects, newest first, and how
/// many it selects in all.
pub async fn list(
    store: &Store,
    filter: &Filter<'_>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<StoredFinding>, i64), sqlx::Error> {
    // The filter is in SQL so the page counts matching findings only; the
    // placeholders are numbered here, the values always bound.
    let clause = filter.clause();
    let count_sql = format!("SELECT COUNT(*) AS n FROM findings {clause}");
    let total: i64 = filter
        .bind(&count_sql)
        .fetch_one(store.pool())
        .await?
        .try_get("n")?;
    let bound = 2 + filter.severities.len() + usize::from(filter.kind.is_some());
    let sql = format!(
        "SELECT {LISTED}, evidence, key_id FROM findings {clause} ORDER BY created_ms DESC, id LIMIT ${} OFFSET ${}",
        bound + 1,
        bound + 2
    );
    let rows = filter
        .bind(&sql)
        .bind(limit)
        .bind(offset)
        .fetch_all(store.pool())
        .await?;
    let out = rows
        .iter()
        .map(StoredFinding::of)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((out, total))
}

/// A finding without its evidence (the case queue reads only these).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// Fingerprint.
    pub id: String,
    /// When the collector stored it (shown in RFC 3339 as `created`).
    #[serde(rename = "created", serialize_with = "as_rfc3339")]
    pub created_ms: i64,
    /// `fork`, `tamper`, `credential`, `clock` or `alert`.
    pub kind: String,
    /// Severity.
    pub severity: String,
    /// Rule.
    pub rule: String,
    /// Chain.
    pub chain: Option<String>,
    /// Seq.
    pub seq: Option<i64>,
    /// Staff member.
    pub actor_id: Option<String>,
    /// Record.
    pub record_id: Option<String>,
    /// Message.
    pub message: String,
}

const LISTED: &str =
    "id, created_ms, kind, severity, rule, chain, seq, actor_id, record_id, message";

fn as_rfc3339<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::clock::rfc3339(*ms))
}

fn listed(r: &AnyRow) -> Result<Listed, sqlx::Error> {
    Ok(Listed {
        id: r.try_get("id")?,
        created_ms: r.try_get("created_ms")?,
        kind: r.try_get("kind")?,
        severity: r.try_get("severity")?,
        rule: r.try_get("rule")?,
        chain: r.try_get("chain")?,
        seq: r.try_get("seq")?,
        actor_id: r.try_get("actor_id")?,
        record_id: r.try_get("record_id")?,
        message: r.try_get("message")?,
    })
}

/// Findings stored at or after `since_ms`, oldest first.
pub async fn since(store: &Store, since_ms: i64) -> Result<Vec<Listed>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {LISTED} FROM findings WHERE created_ms >= $1 ORDER BY created_ms, id"
    ))
    .bind(since_ms)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(listed)
    .collect()
}

/// One finding and its evidence.
pub async fn find<'e>(
    conn: impl sqlx::Executor<'e, Database = sqlx::Any>,
    id: &str,
) -> Result<Option<StoredFinding>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {LISTED}, evidence, key_id FROM findings WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(StoredFinding::of)
    .transpose()
}
