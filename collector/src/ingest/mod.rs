//! Ingest: the upload protocol of `docs/protocol.md`, verified with
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

mod anchor;
pub mod attribution;
pub mod decide;
mod prepare;
mod writer;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;

use sealtrail::credential::Claims;
use sealtrail::event::ChainId;
use sealtrail::wire::{Acknowledged, Refusal};
use sealtrail::Digest;

pub use anchor::{head, AnchorReply};
use decide::DecideError;
use prepare::Batch;
use writer::{Checked, Job, Writer};

use crate::alerting::Alerting;

use crate::store::findings::{NewFinding, CRITICAL, HIGH};
use crate::store::{Backend, Store};

/// The answer to an upload: the protocol's own types ([`sealtrail::wire`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `200`: everything up to `ackedSeq` is stored and verified.
    Acked {
        /// The acknowledgement (its `log` is added once the events are logged).
        ack: Acknowledged,
        /// The events this batch stored, `(seq, hash)` in order (none for a
        /// retry of stored events): the transparency log's new leaves.
        fresh: Vec<(u64, Digest)>,
        /// The index of the first of those leaves, stored with the events
        /// (none: nothing fresh, or no log).
        first_leaf: Option<u64>,
    },
    /// `409 gap`, `fork` or `tamper`.
    Refused(Refusal),
}

/// Why a batch or anchor was not even looked at.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Not a batch of events (`400`).
    #[error("{0}")]
    BadRequest(String),
    /// An event, or the body, breaks a verification rule (`400` naming it).
    #[error("{message}")]
    Rule {
        /// The rule (`format`, `version`, ...).
        rule: String,
        /// What a person reads.
        message: String,
    },
    /// Over a limit of this collector (`413`): events per batch, bytes per string.
    #[error("{0}")]
    TooLarge(String),
    /// No valid credential for the chain (`401`).
    #[error("{0}")]
    Unauthorized(String),
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

impl IngestError {
    fn decide(chain: &ChainId, e: DecideError) -> Self {
        match e {
            DecideError::Empty | DecideError::Foreign { .. } => {
                IngestError::BadRequest(e.to_string())
            }
            DecideError::Inconsistent(detail) => IngestError::Inconsistent {
                chain: chain.to_string(),
                detail,
            },
        }
    }
}

impl Timings {
    fn add(counter: &AtomicU64, since: Instant) {
        let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        counter.fetch_add(ns, Ordering::Relaxed);
    }
}

/// Runs uploads against the store.
///
/// On PostgreSQL each batch is its own transaction, holding its chain's row:
/// chains ingest in parallel. SQLite has one writer and pays one fsync per
/// commit, so there batches queue for a single writer task that commits
/// every batch waiting in one transaction, each inside its own savepoint: a
/// refused batch rolls back to its savepoint and leaves the others alone,
/// and no batch is acknowledged before the commit that holds it succeeded.
/// Either way the alert rules judge a batch inside its transaction, so its
/// findings are stored with its events.
pub struct Ingestor {
    writer: Writer,
    group: Option<mpsc::Sender<Job>>,
    shape: prepare::Shape,
    /// Fingerprints of refusal findings this process has stored: a repeat
    /// costs no write transaction (a flood of refused batches, no fsync each).
    recorded: Mutex<HashSet<String>>,
}

/// Most fingerprints [`Ingestor`] remembers before it starts afresh (a
/// forgotten one is only stored again as the no-op it is).
const RECORDED_MAX: usize = 10_000;

impl Ingestor {
    /// An ingestor over `store`; on SQLite this starts the writer task.
    /// `skew_ms` is the clock skew credentials allow; `limits` bound a
    /// batch's events and the bytes of each string in them; `log`: fresh
    /// events get transparency log leaves in their transaction.
    pub fn new(
        store: Store,
        timings: Arc<Timings>,
        alerting: Arc<Alerting>,
        skew_ms: i64,
        limits: &crate::limits::Limits,
        log: bool,
    ) -> Self {
        let writer = Writer {
            store,
            timings,
            alerting,
            skew_ms,
            log,
        };
        let group = (writer.store.backend() == Backend::Sqlite).then(|| {
            let (tx, rx) = mpsc::channel(1024);
            tokio::spawn(writer.clone().group(rx));
            tx
        });
        let shape = prepare::Shape {
            max_events: limits.max_batch_events,
            max_string_bytes: limits.max_string_bytes,
        };
        Self {
            writer,
            group,
            shape,
            recorded: Mutex::new(HashSet::new()),
        }
    }

    /// Handles `POST /chains/{chain}/events` from `peer_ip`, written under
    /// the verified credential `claims` (none: a collector run with
    /// `--insecure-open-ingest`).
    pub async fn events(
        &self,
        chain: &ChainId,
        body: &[u8],
        peer_ip: Option<String>,
        claims: Option<Claims>,
    ) -> Result<Reply, IngestError> {
        let started = Instant::now();
        let batch = Batch::parse(chain, body, peer_ip, self.shape)?;
        Timings::add(&self.writer.timings.verify_ns, started);
        let now_ms = crate::clock::now_ms();
        let checked = match &self.group {
            Some(group) => writer::queue(group, chain, batch, claims, now_ms).await?,
            None => {
                self.writer
                    .one_transaction(chain, &batch, claims.as_ref(), now_ms)
                    .await?
            }
        };
        match checked {
            Checked::Stored(reply) => Ok(reply),
            Checked::Refused(reply, finding) => {
                let id = finding.fingerprint()?;
                if !self.known(&id) {
                    finding.record(&self.writer.store, now_ms).await?;
                    let mut recorded = self.recorded.lock().unwrap_or_else(|e| e.into_inner());
                    if recorded.len() >= RECORDED_MAX {
                        recorded.clear();
                    }
                    recorded.insert(id);
                }
                Ok(reply)
            }
        }
    }
}

impl Ingestor {
    /// Whether the finding `id` is stored already (as far as this process knows).
    fn known(&self, id: &str) -> bool {
        self.recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(id)
    }
}

/// The finding a refusal records: critical, with both versions.
fn refusal_finding(chain: &ChainId, batch: &Batch, r: decide::Refusal) -> NewFinding {
    let columns = batch.columns.get(r.index);
    NewFinding {
        kind: if r.fork { "fork" } else { "tamper" },
        severity: CRITICAL.into(),
        rule: r.rule,
        chain: Some(chain.to_string()),
        seq: Some(r.seq),
        actor_id: columns.map(|c| c.actor_id.clone()),
        record_id: columns.and_then(|c| c.record_id.clone()),
        message: r.message,
        evidence: r.evidence,
        once_per: None,
    }
}

/// The finding a credential's refused write records: one per chain, cause
/// and credential holder, however many batches repeat it (so a flood of
/// refused batches cannot bury anything).
fn fault_finding(chain: &ChainId, claims: &Claims, fault: &attribution::Fault) -> NewFinding {
    NewFinding {
        kind: if fault.clock { "clock" } else { "credential" },
        severity: HIGH.into(),
        rule: fault.cause.into(),
        chain: Some(chain.to_string()),
        seq: None,
        actor_id: Some(claims.sub.clone()),
        record_id: None,
        message: fault.message.clone(),
        evidence: serde_json::json!({
            "cause": fault.cause,
            "credential": { "sub": claims.sub, "sid": claims.sid, "role": claims.role },
        }),
        once_per: None,
    }
}
