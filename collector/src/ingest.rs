//! Ingest: the upload protocol of `shared/spec/audit-chain.md`, verified with
//! the core ([`sealtrail::verify::inspect_line`] and [`Verifier`]), never with a
//! second implementation.
//!
//! A batch is handled in two phases. First, outside any lock, every event is
//! inspected alone (shape and recomputed hash): the CPU-heavy part, which runs
//! for many chains at once. Then, in one write transaction that holds the
//! chain's row, the batch is checked against what is stored (idempotent
//! overlap, fork, gap), linked event by event from the stored predecessor,
//! checked against every anchored head, and stored. Anything refused leaves
//! the store as it was, except the finding that records it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use sealtrail::chain::ChainId;
use sealtrail::verify::{inspect_line, Failure, Inspected, Options, Verifier};
use sealtrail::{Digest, Timestamp};

use crate::findings::{NewFinding, CRITICAL};
use crate::store::{Backend, Store, WriteTx};

/// The answer to an upload, as the spec words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `200`: everything up to `acked_seq` is stored and verified.
    Acked {
        /// The chain.
        chain: ChainId,
        /// The last stored `seq`.
        acked_seq: u64,
        /// Its hash.
        head: Digest,
    },
    /// `409 gap`: resend from `expected_seq`.
    Gap {
        /// The next `seq` the collector expects.
        expected_seq: u64,
    },
    /// `409 fork`: the event at `seq` differs from the stored one.
    Fork {
        /// Where.
        seq: u64,
    },
    /// `409 tamper`: the event at `seq` breaks the chain or an anchor.
    Tamper {
        /// Where.
        seq: u64,
    },
}

/// Why a batch or anchor was not even looked at.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Not a batch of events (`400`).
    #[error("{0}")]
    BadRequest(String),
    /// The store failed (`500`).
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    /// The transaction that held the batch did not commit (`500`: retry).
    #[error("the batch was not stored: {0}")]
    Commit(String),
    /// The store disagrees with itself, e.g. a stored head without its event
    /// (`500`; never answered as a chain fault, the browser keeps its events).
    #[error("the store is inconsistent for chain `{chain}`: {detail}")]
    Inconsistent {
        /// The chain.
        chain: String,
        /// What is missing or malformed.
        detail: String,
    },
}

/// Where ingest time goes, for the benchmark: verification vs storage.
#[derive(Debug, Default)]
pub struct Timings {
    /// Nanoseconds spent inspecting and linking events with the core.
    pub verify_ns: AtomicU64,
    /// Nanoseconds spent in the store (reads, inserts, commit).
    pub store_ns: AtomicU64,
    /// Nanoseconds spent waiting for a write transaction (SQLite's writer turn).
    pub wait_ns: AtomicU64,
    /// Events stored.
    pub events: AtomicU64,
    /// Transactions committed (SQLite groups several batches in one).
    pub commits: AtomicU64,
}

impl Timings {
    fn add(counter: &AtomicU64, since: Instant) {
        let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        counter.fetch_add(ns, Ordering::Relaxed);
    }
}

#[derive(Deserialize)]
struct Batch {
    events: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Anchor {
    seq: u64,
    hash: String,
}

/// One uploaded event after inspection: the core's view, its canonical line
/// (the evidence stored) and the columns the review APIs search by.
struct Prepared {
    ins: Inspected,
    line: String,
    actor_id: String,
    actor_name: Option<String>,
    actor_role: String,
    action: String,
    outcome: String,
    record_id: Option<String>,
    record_type: Option<String>,
    ip: Option<String>,
    demographics: Option<String>,
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn prepare(events: &[Value]) -> Result<Vec<Prepared>, IngestError> {
    let mut out = Vec::with_capacity(events.len());
    for (i, ev) in events.iter().enumerate() {
        let position = u64::try_from(i).unwrap_or(u64::MAX);
        // The canonical line is what is stored; the core inspects it on its
        // fast path for canonical text (one canonicalization per event).
        let line = sealtrail::canon::to_string(ev).map_err(|e| {
            IngestError::BadRequest(format!("`/events/{i}` cannot be canonicalized: {e}"))
        })?;
        let ins = inspect_line(line.as_bytes(), position).map_err(|f| {
            IngestError::BadRequest(format!("`/events/{i}` is not an event: {}", f.detail))
        })?;
        let demographics = ev
            .pointer("/subject/demographics")
            .filter(|d| d.as_object().is_some_and(|m| !m.is_empty()))
            .and_then(|d| sealtrail::canon::to_string(d).ok());
        out.push(Prepared {
            line,
            // INVARIANT: `inspect` checked these members are strings.
            actor_id: text(ev, "/actor/id").unwrap_or_default(),
            actor_name: text(ev, "/actor/name"),
            actor_role: text(ev, "/actor/role").unwrap_or_default(),
            action: text(ev, "/action").unwrap_or_default(),
            outcome: text(ev, "/outcome").unwrap_or_default(),
            record_id: text(ev, "/subject/recordId"),
            record_type: text(ev, "/subject/type"),
            ip: text(ev, "/session/ip"),
            demographics,
            ins,
        });
    }
    Ok(out)
}

fn seq_i64(seq: u64) -> Result<i64, IngestError> {
    i64::try_from(seq).map_err(|_| IngestError::BadRequest(format!("seq {seq} is too large")))
}

/// The stored state of one chain, read under its lock.
struct ChainRow {
    last_seq: Option<u64>,
    head: Option<Digest>,
    last_ts: Option<Timestamp>,
    anchor_seq: Option<u64>,
}

async fn lock_chain(
    store: &Store,
    tx: &mut WriteTx,
    chain: &ChainId,
    now_ms: i64,
) -> Result<ChainRow, IngestError> {
    sqlx::query(
        "INSERT INTO chains (id, first_seen_ms, updated_ms) VALUES ($1, $2, $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(chain.as_str())
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    let sql = format!(
        "SELECT last_seq, head, last_ts_ms, anchor_seq FROM chains WHERE id = $1{}",
        store.lock_clause()
    );
    let row = sqlx::query(&sql)
        .bind(chain.as_str())
        .fetch_one(tx.conn())
        .await?;
    let last_seq: Option<i64> = row.try_get("last_seq")?;
    let head: Option<String> = row.try_get("head")?;
    let last_ts: Option<i64> = row.try_get("last_ts_ms")?;
    let anchor_seq: Option<i64> = row.try_get("anchor_seq")?;
    Ok(ChainRow {
        last_seq: last_seq.and_then(|s| u64::try_from(s).ok()),
        head: head.and_then(|h| Digest::parse(&h).ok()),
        last_ts: last_ts.and_then(|t| Timestamp::from_millis(t).ok()),
        anchor_seq: anchor_seq.and_then(|s| u64::try_from(s).ok()),
    })
}

/// Stored events (live or archived) with `seq` in `from..=to`: seq → (line, hash, ts).
async fn stored_range(
    tx: &mut WriteTx,
    chain: &ChainId,
    from: u64,
    to: u64,
) -> Result<HashMap<u64, (String, String, i64)>, IngestError> {
    let rows = sqlx::query(
        "SELECT seq, line, hash, ts_ms FROM events WHERE chain = $1 AND seq BETWEEN $2 AND $3 \
         UNION ALL \
         SELECT seq, line, hash, ts_ms FROM events_archive WHERE chain = $1 AND seq BETWEEN $2 AND $3",
    )
    .bind(chain.as_str())
    .bind(seq_i64(from)?)
    .bind(seq_i64(to)?)
    .fetch_all(tx.conn())
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let seq: i64 = r.try_get("seq")?;
        out.insert(
            u64::try_from(seq).unwrap_or_default(),
            (r.try_get("line")?, r.try_get("hash")?, r.try_get("ts_ms")?),
        );
    }
    Ok(out)
}

/// Anchored `(seq, hash)` pairs with `seq` in `from..=to`.
async fn anchors_in(
    tx: &mut WriteTx,
    chain: &ChainId,
    from: u64,
    to: u64,
) -> Result<Vec<(u64, String)>, IngestError> {
    let rows = sqlx::query(
        "SELECT seq, hash FROM anchors WHERE chain = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq",
    )
    .bind(chain.as_str())
    .bind(seq_i64(from)?)
    .bind(seq_i64(to)?)
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter()
        .map(|r| {
            let seq: i64 = r.try_get("seq")?;
            Ok((u64::try_from(seq).unwrap_or_default(), r.try_get("hash")?))
        })
        .collect()
}

/// What a batch amounts to once checked against the store.
enum Checked {
    /// Commit; events from this `seq` on were stored.
    Store(Reply, Option<u64>),
    Refused(Reply, Box<NewFinding>),
}

/// What an upload did: the answer, and the events it newly stored (for the alert rules).
#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    /// The answer.
    pub reply: Reply,
    /// Events stored by this batch, in order (none unless `reply` is `Acked`).
    pub stored: Vec<Value>,
}

/// Most batches one SQLite transaction commits together.
const GROUP_MAX: usize = 64;

/// One batch waiting for SQLite's group commit.
struct Job {
    chain: ChainId,
    prepared: Vec<Prepared>,
    now_ms: i64,
    done: oneshot::Sender<Result<Checked, IngestError>>,
}

/// Runs uploads against the store.
///
/// On PostgreSQL each batch is its own transaction, holding its chain's row:
/// chains ingest in parallel. SQLite has one writer and pays one fsync per
/// commit, so there batches queue for a single writer task that commits
/// every batch waiting (up to [`GROUP_MAX`]) in one transaction, each inside
/// its own savepoint: a refused batch rolls back to its savepoint and leaves
/// the others alone, and no batch is acknowledged before the commit that
/// holds it succeeded.
pub struct Ingestor {
    store: Store,
    timings: Arc<Timings>,
    group: Option<mpsc::Sender<Job>>,
}

impl Ingestor {
    /// An ingestor over `store`; on SQLite this starts the writer task.
    pub fn new(store: Store, timings: Arc<Timings>) -> Self {
        let group = (store.backend() == Backend::Sqlite).then(|| {
            let (tx, rx) = mpsc::channel(1024);
            tokio::spawn(group_writer(store.clone(), Arc::clone(&timings), rx));
            tx
        });
        Self {
            store,
            timings,
            group,
        }
    }

    /// Handles `POST /chains/{chain}/events`.
    pub async fn events(&self, chain: &ChainId, body: &[u8]) -> Result<Ingested, IngestError> {
        let batch: Batch = serde_json::from_slice(body).map_err(|e| {
            IngestError::BadRequest(format!(
                "the body is not a batch of events `{{\"events\": [...]}}`: {e}"
            ))
        })?;
        if batch.events.is_empty() {
            return Err(IngestError::BadRequest(
                "the batch `/events` holds no events".into(),
            ));
        }
        let started = Instant::now();
        let prepared = prepare(&batch.events)?;
        Timings::add(&self.timings.verify_ns, started);
        let seqs: Vec<u64> = prepared.iter().map(|p| p.ins.seq).collect();

        let now_ms = crate::clock::now_ms();
        let checked = match &self.group {
            Some(group) => {
                let (done, answer) = oneshot::channel();
                group
                    .send(Job {
                        chain: chain.clone(),
                        prepared,
                        now_ms,
                        done,
                    })
                    .await
                    .map_err(|_| IngestError::Commit("the writer task has stopped".into()))?;
                answer
                    .await
                    .map_err(|_| IngestError::Commit("the writer task has stopped".into()))??
            }
            None => self.one_transaction(chain, &prepared, now_ms).await?,
        };
        match checked {
            Checked::Store(reply, first_fresh) => {
                let stored = match first_fresh {
                    Some(from) => batch
                        .events
                        .into_iter()
                        .zip(seqs)
                        .filter(|(_, seq)| *seq >= from)
                        .map(|(v, _)| v)
                        .collect(),
                    None => Vec::new(),
                };
                Ok(Ingested { reply, stored })
            }
            Checked::Refused(reply, finding) => {
                finding.record(&self.store, now_ms).await?;
                Ok(Ingested {
                    reply,
                    stored: Vec::new(),
                })
            }
        }
    }

    /// One batch, one transaction (PostgreSQL).
    async fn one_transaction(
        &self,
        chain: &ChainId,
        prepared: &[Prepared],
        now_ms: i64,
    ) -> Result<Checked, IngestError> {
        let waited = Instant::now();
        let mut tx = self.store.begin_write().await?;
        Timings::add(&self.timings.wait_ns, waited);
        let started = Instant::now();
        let checked =
            check_and_store(&self.store, &self.timings, &mut tx, chain, prepared, now_ms).await;
        match checked {
            Ok(c @ Checked::Store(Reply::Acked { .. }, _)) => {
                tx.commit().await?;
                Timings::add(&self.timings.store_ns, started);
                self.timings.commits.fetch_add(1, Ordering::Relaxed);
                Ok(c)
            }
            Ok(c) => {
                tx.rollback().await?;
                Ok(c)
            }
            Err(e) => {
                tx.rollback().await?;
                Err(e)
            }
        }
    }
}

/// SQLite's writer: takes every batch waiting and commits them together.
async fn group_writer(store: Store, timings: Arc<Timings>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let results = commit_group(&store, &timings, &jobs).await;
        for (job, result) in jobs.into_iter().zip(results) {
            // A client that went away no longer needs its answer.
            let _ = job.done.send(result);
        }
    }
}

/// Runs `jobs` in one transaction, each in a savepoint; every result is an
/// error if the commit fails.
async fn commit_group(
    store: &Store,
    timings: &Timings,
    jobs: &[Job],
) -> Vec<Result<Checked, IngestError>> {
    let failed = |why: String| -> Vec<Result<Checked, IngestError>> {
        jobs.iter()
            .map(|_| Err(IngestError::Commit(why.clone())))
            .collect()
    };
    let waited = Instant::now();
    let mut tx = match store.begin_write().await {
        Ok(tx) => tx,
        Err(e) => return failed(e.to_string()),
    };
    Timings::add(&timings.wait_ns, waited);
    let started = Instant::now();
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        if let Err(e) = sqlx::query("SAVEPOINT batch").execute(tx.conn()).await {
            let _ = tx.rollback().await;
            return failed(e.to_string());
        }
        let result = check_and_store(
            store,
            timings,
            &mut tx,
            &job.chain,
            &job.prepared,
            job.now_ms,
        )
        .await;
        // Only acknowledged batches leave a trace: a gap or a refusal rolls
        // back (a gap to an unknown chain must not create it).
        let keep = matches!(result, Ok(Checked::Store(Reply::Acked { .. }, _)));
        if !keep {
            if let Err(e) = sqlx::query("ROLLBACK TO batch").execute(tx.conn()).await {
                let _ = tx.rollback().await;
                return failed(e.to_string());
            }
        }
        if let Err(e) = sqlx::query("RELEASE batch").execute(tx.conn()).await {
            let _ = tx.rollback().await;
            return failed(e.to_string());
        }
        results.push(result);
    }
    if let Err(e) = tx.commit().await {
        return failed(e.to_string());
    }
    Timings::add(&timings.store_ns, started);
    timings.commits.fetch_add(1, Ordering::Relaxed);
    results
}

async fn check_and_store(
    store: &Store,
    timings: &Timings,
    tx: &mut WriteTx,
    chain: &ChainId,
    prepared: &[Prepared],
    now_ms: i64,
) -> Result<Checked, IngestError> {
    let row = lock_chain(store, tx, chain, now_ms).await?;
    let next_expected = row.last_seq.map_or(0, |s| s.saturating_add(1));
    let (Some(first), Some(last_in_batch)) = (prepared.first(), prepared.last()) else {
        return Err(IngestError::BadRequest("the batch holds no events".into()));
    };
    let first_seq = first.ins.seq;
    if first_seq > next_expected {
        return Ok(Checked::Store(
            Reply::Gap {
                expected_seq: next_expected,
            },
            None,
        ));
    }
    let batch_end = first_seq.saturating_add(u64::try_from(prepared.len()).unwrap_or(u64::MAX) - 1);
    let batch_end = batch_end.max(last_in_batch.ins.seq);

    // The stored predecessor of the batch, and the stored events it overlaps.
    let lookup_from = first_seq.saturating_sub(1);
    let lookup_to = batch_end.min(row.last_seq.unwrap_or(0));
    // Read only when the batch overlaps what is stored (a retry); a batch that
    // continues the chain links to the head kept in the chain's row.
    let stored = match row.last_seq {
        Some(last) if first_seq <= last => stored_range(tx, chain, lookup_from, lookup_to).await?,
        _ => HashMap::new(),
    };
    let anchors = anchors_in(tx, chain, first_seq, batch_end).await?;

    let verify_started = Instant::now();
    let options = Options::default();
    let mut verifier = if first_seq == 0 {
        Verifier::new(options)
    } else if Some(first_seq - 1) == row.last_seq {
        match (row.head, row.last_ts) {
            (Some(head), Some(ts)) => {
                Verifier::resume(options, chain.clone(), first_seq - 1, head, ts)
            }
            _ => {
                return Err(IngestError::Inconsistent {
                    chain: chain.to_string(),
                    detail: format!("seq {} is stored but not its head or time", first_seq - 1),
                })
            }
        }
    } else {
        let Some((_, hash, ts)) = stored.get(&(first_seq - 1)) else {
            return Err(IngestError::Inconsistent {
                chain: chain.to_string(),
                detail: format!("event seq {} is missing", first_seq - 1),
            });
        };
        let head = Digest::parse(hash).map_err(|e| IngestError::Inconsistent {
            chain: chain.to_string(),
            detail: e.to_string(),
        })?;
        let ts = Timestamp::from_millis(*ts).map_err(|e| IngestError::Inconsistent {
            chain: chain.to_string(),
            detail: e.to_string(),
        })?;
        Verifier::resume(options, chain.clone(), first_seq - 1, head, ts)
    };

    let mut fresh: Vec<&Prepared> = Vec::new();
    for p in prepared {
        let seq = p.ins.seq;
        let refuse = |kind: &'static str, rule: &str, message: String, evidence: Value| {
            let finding = NewFinding {
                kind,
                severity: CRITICAL.into(),
                rule: rule.into(),
                chain: Some(chain.to_string()),
                seq: Some(seq),
                actor_id: Some(p.actor_id.clone()),
                record_id: p.record_id.clone(),
                message,
                evidence,
            };
            let reply = if kind == "fork" {
                Reply::Fork { seq }
            } else {
                Reply::Tamper { seq }
            };
            Ok(Checked::Refused(reply, Box::new(finding)))
        };
        if p.ins.chain != chain.as_str() {
            return refuse(
                "tamper",
                "chain",
                format!(
                    "event seq {seq} names chain `{}` but was uploaded to chain `{chain}`",
                    p.ins.chain
                ),
                json!({ "uploaded": raw(&p.line) }),
            );
        }
        if seq < next_expected {
            if let Some((line, _, _)) = stored.get(&seq) {
                if *line != p.line {
                    return refuse(
                        "fork",
                        "fork",
                        format!("event seq {seq} differs from the stored event at that seq"),
                        json!({ "stored": raw(line), "uploaded": raw(&p.line) }),
                    );
                }
            }
        }
        if let Err(failure) = verifier.link(&p.ins) {
            let predecessor = seq
                .checked_sub(1)
                .and_then(|s| stored.get(&s))
                .map(|(l, _, _)| raw(l));
            return refuse(
                "tamper",
                failure.rule.as_str(),
                describe(&failure),
                json!({ "uploaded": raw(&p.line), "storedPredecessor": predecessor }),
            );
        }
        for (anchored_seq, anchored_hash) in &anchors {
            if *anchored_seq == seq && *anchored_hash != p.ins.computed.to_hex() {
                return refuse(
                    "tamper",
                    "anchor",
                    format!(
                        "event seq {seq} has hash `{}` but the anchored head at that seq is `{anchored_hash}`",
                        p.ins.computed
                    ),
                    json!({ "uploaded": raw(&p.line), "anchor": { "seq": seq, "hash": anchored_hash } }),
                );
            }
        }
        if seq >= next_expected {
            fresh.push(p);
        }
    }
    Timings::add(&timings.verify_ns, verify_started);

    let summary = verifier.summary();
    let (Some(last_seq), Some(head)) = (summary.last_seq, summary.head) else {
        return Err(IngestError::BadRequest("the batch holds no events".into()));
    };
    if fresh.is_empty() {
        // An idempotent retry of stored events: acknowledge what is stored.
        let acked = row.last_seq.unwrap_or(last_seq);
        return Ok(Checked::Store(
            Reply::Acked {
                chain: chain.clone(),
                acked_seq: acked,
                head: row.head.unwrap_or(head),
            },
            None,
        ));
    }
    insert_events(tx, chain, &fresh, now_ms).await?;
    let last_ts = summary.last_ts.map(Timestamp::millis);
    sqlx::query(
        "UPDATE chains SET last_seq = $2, head = $3, last_ts_ms = $4, updated_ms = $5 WHERE id = $1",
    )
    .bind(chain.as_str())
    .bind(seq_i64(last_seq)?)
    .bind(head.to_hex())
    .bind(last_ts)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    timings
        .events
        .fetch_add(u64::try_from(fresh.len()).unwrap_or(0), Ordering::Relaxed);
    Ok(Checked::Store(
        Reply::Acked {
            chain: chain.clone(),
            acked_seq: last_seq,
            head,
        },
        Some(next_expected),
    ))
}

/// A stored line back as JSON, for evidence (never fails: lines are canonical JSON).
fn raw(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|_| Value::String(line.to_owned()))
}

fn describe(f: &Failure) -> String {
    let seq = f.seq.map_or("unknown".to_string(), |s| s.to_string());
    format!("event seq {seq} breaks the `{}` rule: {}", f.rule, f.detail)
}

/// Rows per INSERT statement: 15 parameters each, well under both stores' limits.
const INSERT_CHUNK: usize = 200;

async fn insert_events(
    tx: &mut WriteTx,
    chain: &ChainId,
    events: &[&Prepared],
    now_ms: i64,
) -> Result<(), IngestError> {
    for chunk in events.chunks(INSERT_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO events (chain, seq, ts_ms, hash, actor_id, actor_name, actor_role, action, outcome, \
             record_id, record_type, ip, demographics, line, received_ms) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            let b = i * 15;
            sql.push('(');
            for c in 1..=15 {
                if c > 1 {
                    sql.push(',');
                }
                sql.push('$');
                sql.push_str(&(b + c).to_string());
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for p in chunk {
            q = q
                .bind(chain.as_str())
                .bind(seq_i64(p.ins.seq)?)
                .bind(p.ins.ts.millis())
                .bind(p.ins.computed.to_hex())
                .bind(p.actor_id.as_str())
                .bind(p.actor_name.clone())
                .bind(p.actor_role.as_str())
                .bind(p.action.as_str())
                .bind(p.outcome.as_str())
                .bind(p.record_id.clone())
                .bind(p.record_type.clone())
                .bind(p.ip.clone())
                .bind(p.demographics.clone())
                .bind(p.line.as_str())
                .bind(now_ms);
        }
        q.execute(tx.conn()).await?;
    }
    Ok(())
}

/// Handles `POST /chains/{chain}/head`: records the anchor, keeps the highest,
/// and checks it against what is stored. Returns the stored highest anchor.
pub async fn head(store: &Store, chain: &ChainId, body: &[u8]) -> Result<AnchorReply, IngestError> {
    let anchor: Anchor = serde_json::from_slice(body).map_err(|e| {
        IngestError::BadRequest(format!(
            "the body is not a head anchor `{{\"seq\": N, \"hash\": H}}`: {e}"
        ))
    })?;
    let hash = Digest::parse(&anchor.hash)
        .map_err(|e| IngestError::BadRequest(format!("`/hash`: {e}")))?;
    let seq = seq_i64(anchor.seq)?;
    let now_ms = crate::clock::now_ms();
    let mut tx = store.begin_write().await?;
    let row = lock_chain(store, &mut tx, chain, now_ms).await?;
    sqlx::query(
        "INSERT INTO anchors (chain, seq, hash, received_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (chain, seq, hash) DO NOTHING",
    )
    .bind(chain.as_str())
    .bind(seq)
    .bind(hash.to_hex())
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    if row.anchor_seq.is_none_or(|s| anchor.seq > s) {
        sqlx::query(
            "UPDATE chains SET anchor_seq = $2, anchor_hash = $3, anchor_ms = $4 WHERE id = $1",
        )
        .bind(chain.as_str())
        .bind(seq)
        .bind(hash.to_hex())
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
    }
    // Another anchor at the same seq, or a stored event there, that disagrees.
    let others =
        sqlx::query("SELECT hash FROM anchors WHERE chain = $1 AND seq = $2 AND hash <> $3")
            .bind(chain.as_str())
            .bind(seq)
            .bind(hash.to_hex())
            .fetch_all(tx.conn())
            .await?;
    let stored = stored_range(&mut tx, chain, anchor.seq, anchor.seq).await?;
    tx.commit().await?;

    let anchor_json = json!({ "seq": anchor.seq, "hash": hash.to_hex() });
    let mut finding = None;
    if let Some((line, stored_hash, _)) = stored.get(&anchor.seq) {
        if *stored_hash != hash.to_hex() {
            finding = Some((
                format!("the head anchored at seq {} is `{hash}` but the stored event there has hash `{stored_hash}`", anchor.seq),
                json!({ "stored": raw(line), "anchor": anchor_json }),
            ));
        }
    }
    if finding.is_none() {
        if let Some(other) = others.first() {
            let other: String = other.try_get("hash")?;
            finding = Some((
                format!("two different heads were anchored at seq {}", anchor.seq),
                json!({ "anchor": anchor_json, "otherAnchor": { "seq": anchor.seq, "hash": other } }),
            ));
        }
    }
    if let Some((message, evidence)) = finding {
        NewFinding {
            kind: "tamper",
            severity: CRITICAL.into(),
            rule: "anchor".into(),
            chain: Some(chain.to_string()),
            seq: Some(anchor.seq),
            actor_id: None,
            record_id: None,
            message,
            evidence,
        }
        .record(store, now_ms)
        .await?;
        return Ok(AnchorReply::Tamper { seq: anchor.seq });
    }
    Ok(AnchorReply::Anchored {
        chain: chain.clone(),
        seq: anchor.seq.max(row.anchor_seq.unwrap_or(0)),
    })
}

/// The answer to a head anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorReply {
    /// `200`: recorded; `seq` is the highest anchored seq now.
    Anchored {
        /// The chain.
        chain: ChainId,
        /// The highest anchored seq.
        seq: u64,
    },
    /// `409 tamper`: the anchor disagrees with a stored event or another anchor.
    Tamper {
        /// Where.
        seq: u64,
    },
}
