//! The `events` table (verified events, append-only) and `events_archive`
//! (events past the retention period). `line` is the event's canonical JSON,
//! hash included: the evidence itself; the other columns index into it.
//! `line` is sealed under the data key `key_id` names when the collector
//! encrypts at rest ([`crate::at_rest`]); every query here opens it, so
//! callers only ever see the canonical line.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use sealtrail::event::ChainId;

use super::{signed, unsigned, Store, WriteTx};
use crate::at_rest::{self, Column};

/// The searchable columns of one event, taken from the event at ingest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// `actor.id`.
    pub actor_id: String,
    /// `actor.name`.
    pub actor_name: Option<String>,
    /// `actor.role`.
    pub actor_role: String,
    /// `action`.
    pub action: String,
    /// `outcome`.
    pub outcome: String,
    /// `subject.recordId`.
    pub record_id: Option<String>,
    /// `subject.type`.
    pub record_type: Option<String>,
    /// `session.ip`, as the browser wrote it.
    pub ip: Option<String>,
    /// `subject.demographics` as canonical JSON, when not empty.
    pub demographics: Option<String>,
}

/// One event to insert.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    /// Its `seq`.
    pub seq: u64,
    /// Its `ts`, in milliseconds.
    pub ts_ms: i64,
    /// Its hash, hex.
    pub hash: &'a str,
    /// Its canonical line.
    pub line: &'a str,
    /// Its searchable columns.
    pub columns: &'a Columns,
    /// Where its batch came from.
    pub peer_ip: Option<&'a str>,
}

/// A stored event of one chain, live or archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its `seq`.
    pub seq: u64,
    /// Its canonical line.
    pub line: String,
    /// Its hash, hex.
    pub hash: String,
    /// Its `ts`, in milliseconds.
    pub ts_ms: i64,
}

/// A stored event found by a review query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its chain.
    pub chain: String,
    /// Its `seq`.
    pub seq: i64,
    /// Its canonical line.
    pub line: String,
    /// Where its batch came from (none before this was recorded).
    pub peer_ip: Option<String>,
}

/// Which events a review list holds (live events only, newest first).
#[derive(Debug, Clone, Copy)]
pub enum Filter<'a> {
    /// Every break-glass.
    BreakGlass,
    /// Every access to this record.
    Record(&'a str),
    /// Every access by this staff member.
    Actor(&'a str),
}

/// One page of a review list and the number of events matching in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Matching events in all pages.
    pub total: i64,
    /// This page.
    pub rows: Vec<Found>,
}

/// Rows per INSERT statement: 17 parameters each, well under both stores' limits.
const INSERT_CHUNK: usize = 200;
/// The inserted columns, in the order bound below.
const INSERT_COLUMNS: usize = 17;

/// Inserts events (the caller checked they continue the chain).
pub async fn insert(
    tx: &mut WriteTx,
    chain: &ChainId,
    events: &[NewEvent<'_>],
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    for chunk in events.chunks(INSERT_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO events (chain, seq, ts_ms, hash, actor_id, actor_name, actor_role, action, outcome, \
             record_id, record_type, ip, demographics, line, key_id, received_ms, peer_ip) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 1..=INSERT_COLUMNS {
                if c > 1 {
                    sql.push(',');
                }
                sql.push('$');
                sql.push_str(&(i * INSERT_COLUMNS + c).to_string());
            }
            sql.push(')');
        }
        let sealed = chunk
            .iter()
            .map(|e| at_rest::seal(tx.sealing(), Column::EventLine, e.line))
            .collect::<Result<Vec<_>, _>>()?;
        let mut q = sqlx::query(&sql);
        for (e, (line, key_id)) in chunk.iter().zip(sealed) {
            let c = e.columns;
            q = q
                .bind(chain.as_str())
                .bind(signed(e.seq)?)
                .bind(e.ts_ms)
                .bind(e.hash)
                .bind(c.actor_id.as_str())
                .bind(c.actor_name.as_deref())
                .bind(c.actor_role.as_str())
                .bind(c.action.as_str())
                .bind(c.outcome.as_str())
                .bind(c.record_id.as_deref())
                .bind(c.record_type.as_deref())
                .bind(c.ip.as_deref())
                .bind(c.demographics.as_deref())
                .bind(line)
                .bind(key_id)
                .bind(now_ms)
                .bind(e.peer_ip);
        }
        q.execute(tx.conn()).await?;
    }
    Ok(())
}

/// Stored events (live or archived) of a chain with `seq` in `from..=to`, in order.
pub async fn range<'e>(
    conn: impl Executor<'e, Database = Any>,
    chain: &ChainId,
    from: u64,
    to: u64,
) -> Result<Vec<Stored>, sqlx::Error> {
    sqlx::query(
        "SELECT seq, line, key_id, hash, ts_ms FROM events WHERE chain = $1 AND seq BETWEEN $2 AND $3 \
         UNION ALL \
         SELECT seq, line, key_id, hash, ts_ms FROM events_archive WHERE chain = $1 AND seq BETWEEN $2 AND $3 \
         ORDER BY seq",
    )
    .bind(chain.as_str())
    .bind(signed(from)?)
    .bind(signed(to)?)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Stored {
            seq: unsigned(r.try_get("seq")?),
            line: line(r)?,
            hash: r.try_get("hash")?,
            ts_ms: r.try_get("ts_ms")?,
        })
    })
    .collect()
}

/// A page of live events matching `filter` with `ts` at or after `since_ms`,
/// newest first.
pub async fn page(
    store: &Store,
    filter: Filter<'_>,
    since_ms: i64,
    limit: i64,
    offset: i64,
) -> Result<Page, sqlx::Error> {
    // The condition is one of three constants, never input; `$1` is the
    // filter's value (a constant for break-glass).
    let (condition, value) = match filter {
        Filter::BreakGlass => ("action = $1", "break-glass"),
        Filter::Record(id) => ("record_id = $1", id),
        Filter::Actor(id) => ("actor_id = $1", id),
    };
    let total: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM events WHERE {condition} AND ts_ms >= $2"
    ))
    .bind(value)
    .bind(since_ms)
    .fetch_one(store.pool())
    .await?
    .try_get("n")?;
    let rows = sqlx::query(&format!(
        "SELECT chain, seq, line, key_id, peer_ip FROM events WHERE {condition} AND ts_ms >= $2 \
         ORDER BY ts_ms DESC, chain, seq LIMIT $3 OFFSET $4"
    ))
    .bind(value)
    .bind(since_ms)
    .bind(limit)
    .bind(offset)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(found)
    .collect::<Result<_, _>>()?;
    Ok(Page { total, rows })
}

fn found(r: &AnyRow) -> Result<Found, sqlx::Error> {
    Ok(Found {
        chain: r.try_get("chain")?,
        seq: r.try_get("seq")?,
        line: line(r)?,
        peer_ip: r.try_get("peer_ip")?,
    })
}

/// The canonical line of a row that selected `line` and `key_id`.
fn line(r: &AnyRow) -> Result<String, sqlx::Error> {
    at_rest::open_column(r, "line", Column::EventLine)
}

/// Lines of live events with `ts` in `[from_ms, to_ms)`, oldest first, a page of them.
pub async fn between(
    store: &Store,
    from_ms: i64,
    to_ms: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query(
        "SELECT line, key_id FROM events WHERE ts_ms >= $1 AND ts_ms < $2 ORDER BY ts_ms, chain, seq LIMIT $3 OFFSET $4",
    )
    .bind(from_ms)
    .bind(to_ms)
    .bind(limit)
    .bind(offset)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(line)
    .collect()
}

/// How many live events have `ts` in `[from_ms, to_ms)`.
pub async fn count_between(store: &Store, from_ms: i64, to_ms: i64) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM events WHERE ts_ms >= $1 AND ts_ms < $2")
        .bind(from_ms)
        .bind(to_ms)
        .fetch_one(store.pool())
        .await?
        .try_get("n")
}

/// Lines of live events, with their receive times, to warm the alert
/// windows: those judged in the last `span_ms` before the newest event not
/// later than `now_ms` plus `skew_ms`, in the order of the time the engine
/// judges them at, `min(ts, received + skew)`
/// ([`sealtrail::alerts::bounded_time`]). What the engine held when the
/// last batch came, however long ago that was; an event dated in the future
/// neither empties the window nor comes back at its own date.
pub async fn latest<'e>(
    conn: impl Executor<'e, Database = Any>,
    span_ms: i64,
    now_ms: i64,
    skew_ms: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    // Placeholders first appear in order ($1, $2, $3): SQLite numbers them so.
    sqlx::query(
        "WITH w AS (SELECT COALESCE(MAX(ts_ms), 0) - $1 AS floor FROM events WHERE ts_ms <= $2 + $3) \
         SELECT line, key_id, received_ms FROM events, w \
         WHERE ts_ms >= w.floor AND received_ms + $3 >= w.floor \
         ORDER BY CASE WHEN ts_ms < received_ms + $3 THEN ts_ms ELSE received_ms + $3 END, chain, seq",
    )
    .bind(span_ms)
    .bind(now_ms)
    .bind(skew_ms)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| Ok((line(r)?, r.try_get("received_ms")?)))
    .collect()
}

/// Times of record accesses since `since_ms`, of one action or all.
pub async fn access_times(
    store: &Store,
    since_ms: i64,
    action: Option<&str>,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows = match action {
        Some(action) => sqlx::query(
            "SELECT ts_ms FROM events WHERE ts_ms >= $1 AND record_id IS NOT NULL AND action = $2",
        )
        .bind(since_ms)
        .bind(action)
        .fetch_all(store.pool())
        .await?,
        None => {
            sqlx::query("SELECT ts_ms FROM events WHERE ts_ms >= $1 AND record_id IS NOT NULL")
                .bind(since_ms)
                .fetch_all(store.pool())
                .await?
        }
    };
    rows.iter().map(|r| r.try_get("ts_ms")).collect()
}

/// One access to a record whose event carries demographics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demographic {
    /// `action`.
    pub action: String,
    /// `actor.id`.
    pub actor_id: String,
    /// `subject.recordId`.
    pub record_id: Option<String>,
    /// `subject.demographics`, canonical JSON.
    pub demographics: String,
    /// The whole event.
    pub line: String,
}

/// Accesses carrying demographics since `since_ms`.
pub async fn demographics(store: &Store, since_ms: i64) -> Result<Vec<Demographic>, sqlx::Error> {
    sqlx::query(
        "SELECT action, actor_id, record_id, demographics, line, key_id FROM events \
         WHERE ts_ms >= $1 AND demographics IS NOT NULL",
    )
    .bind(since_ms)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(Demographic {
            action: r.try_get("action")?,
            actor_id: r.try_get("actor_id")?,
            record_id: r.try_get("record_id")?,
            demographics: r.try_get("demographics")?,
            line: line(r)?,
        })
    })
    .collect()
}

/// Moves events received before `cutoff_ms` to the archive, in one
/// transaction (the collector's receive time: a client's clock never
/// decides retention). Returns how many moved.
pub async fn archive_before(
    store: &Store,
    cutoff_ms: i64,
    now_ms: i64,
) -> Result<u64, sqlx::Error> {
    let mut tx = store.begin_write().await?;
    let copied = sqlx::query(
        "INSERT INTO events_archive (chain, seq, ts_ms, hash, actor_id, actor_name, actor_role, action, outcome, \
         record_id, record_type, ip, demographics, line, key_id, received_ms, peer_ip, archived_ms) \
         SELECT chain, seq, ts_ms, hash, actor_id, actor_name, actor_role, action, outcome, \
         record_id, record_type, ip, demographics, line, key_id, received_ms, peer_ip, $2 FROM events WHERE received_ms < $1 \
         ON CONFLICT (chain, seq) DO NOTHING",
    )
    .bind(cutoff_ms)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    // The store's trigger refuses to delete any event not already in the archive.
    let moved = sqlx::query("DELETE FROM events WHERE received_ms < $1")
        .bind(cutoff_ms)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    if copied.rows_affected() != moved.rows_affected() {
        tracing::warn!(
            copied = copied.rows_affected(),
            moved = moved.rows_affected(),
            "archive and live table disagreed; nothing was lost"
        );
    }
    Ok(moved.rows_affected())
}

/// A stored break-glass event, for its review case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlass {
    /// Its chain.
    pub chain: String,
    /// Its `seq`.
    pub seq: i64,
    /// When the collector stored it.
    pub received_ms: i64,
    /// `actor.id`.
    pub actor_id: String,
    /// `actor.name`.
    pub actor_name: Option<String>,
    /// `actor.role`.
    pub actor_role: String,
    /// `subject.recordId`.
    pub record_id: Option<String>,
    /// `outcome`.
    pub outcome: String,
    /// The whole event.
    pub line: String,
    /// Where its batch came from.
    pub peer_ip: Option<String>,
}

const BREAK_GLASS: &str =
    "chain, seq, received_ms, actor_id, actor_name, actor_role, record_id, outcome, line, key_id, peer_ip";

fn break_glass(r: &AnyRow) -> Result<BreakGlass, sqlx::Error> {
    Ok(BreakGlass {
        chain: r.try_get("chain")?,
        seq: r.try_get("seq")?,
        received_ms: r.try_get("received_ms")?,
        actor_id: r.try_get("actor_id")?,
        actor_name: r.try_get("actor_name")?,
        actor_role: r.try_get("actor_role")?,
        record_id: r.try_get("record_id")?,
        outcome: r.try_get("outcome")?,
        line: line(r)?,
        peer_ip: r.try_get("peer_ip")?,
    })
}

/// Live break-glass events with `ts` at or after `since_ms` (the
/// `(action, ts_ms)` index), in the order they were received.
pub async fn break_glass_since(
    store: &Store,
    since_ms: i64,
) -> Result<Vec<BreakGlass>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {BREAK_GLASS} FROM events WHERE action = 'break-glass' AND ts_ms >= $1 \
         ORDER BY received_ms, chain, seq"
    ))
    .bind(since_ms)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(break_glass)
    .collect()
}

/// Live break-glass events the collector received in `[from_ms, to_ms)`
/// (the `received_ms` index), in the order they were received.
pub async fn break_glass_received(
    store: &Store,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<BreakGlass>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {BREAK_GLASS} FROM events \
         WHERE received_ms >= $1 AND received_ms < $2 AND action = 'break-glass' \
         ORDER BY received_ms, chain, seq"
    ))
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(break_glass)
    .collect()
}

/// One access to a record whose event carries demographics, by columns only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupAccess {
    /// `action`.
    pub action: String,
    /// `subject.recordId`.
    pub record_id: Option<String>,
    /// `subject.demographics`, canonical JSON.
    pub demographics: String,
}

/// Live accesses carrying demographics that the collector received in
/// `[from_ms, to_ms)`.
pub async fn groups_received(
    store: &Store,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<GroupAccess>, sqlx::Error> {
    sqlx::query(
        "SELECT action, record_id, demographics FROM events \
         WHERE received_ms >= $1 AND received_ms < $2 AND demographics IS NOT NULL",
    )
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(GroupAccess {
            action: r.try_get("action")?,
            record_id: r.try_get("record_id")?,
            demographics: r.try_get("demographics")?,
        })
    })
    .collect()
}

/// The live break-glass event at `(chain, seq)`, if that is one.
pub async fn break_glass_at<'e>(
    conn: impl Executor<'e, Database = Any>,
    chain: &ChainId,
    seq: u64,
) -> Result<Option<BreakGlass>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {BREAK_GLASS} FROM events WHERE action = 'break-glass' AND chain = $1 AND seq = $2"
    ))
    .bind(chain.as_str())
    .bind(signed(seq)?)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(break_glass)
    .transpose()
}
