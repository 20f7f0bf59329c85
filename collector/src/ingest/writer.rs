//! The second phase of ingest, in one write transaction holding the chain's
//! row: read what the decision needs, decide, store the events, the
//! findings the alert rules draw from them and the events' leaves in the
//! transparency log. On SQLite one writer task
//! commits every batch waiting together (group commit), each in its own
//! savepoint; on PostgreSQL each batch is its own transaction.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use sealtrail::credential::Claims;
use sealtrail::event::ChainId;
use sealtrail::tlog::Leaf;
use sealtrail::wire::{Acknowledged, Refusal};

use super::attribution::{self, Claimed};
use super::decide::{self, Decision, Stored};
use super::prepare::Batch;
use super::{fault_finding, refusal_finding, IngestError, Reply, Timings};
use crate::alerting::Alerting;
use crate::store::credentials::{self, Seen};
use crate::store::findings::{self, NewFinding};
use crate::store::{anchors, chains, events, tlog, Store, WriteTx};

/// Most batches one SQLite transaction commits together.
const GROUP_MAX: usize = 64;

/// What a batch amounts to once checked against the store.
pub(super) enum Checked {
    /// Answer `reply` (an acknowledgement, stored, or a gap).
    Stored(Reply),
    /// Refused: answer `reply` and record the finding (after the rollback).
    Refused(Reply, Box<NewFinding>),
}

impl Checked {
    /// Only acknowledged batches leave a trace: a gap or a refusal rolls
    /// back (a gap to an unknown chain must not create it).
    fn keeps(&self) -> bool {
        matches!(self, Checked::Stored(Reply::Acked { .. }))
    }
}

/// One batch waiting for SQLite's group commit.
pub(super) struct Job {
    chain: ChainId,
    batch: Batch,
    claims: Option<Claims>,
    now_ms: i64,
    done: oneshot::Sender<Result<Checked, IngestError>>,
}

/// Queues a batch for the group writer and waits for its commit.
pub(super) async fn queue(
    group: &mpsc::Sender<Job>,
    chain: &ChainId,
    batch: Batch,
    claims: Option<Claims>,
    now_ms: i64,
) -> Result<Checked, IngestError> {
    let stopped = || IngestError::Commit("the writer task has stopped".into());
    let (done, answer) = oneshot::channel();
    let job = Job {
        chain: chain.clone(),
        batch,
        claims,
        now_ms,
        done,
    };
    group.send(job).await.map_err(|_| stopped())?;
    answer.await.map_err(|_| stopped())?
}

/// What writing a batch needs.
#[derive(Clone)]
pub(super) struct Writer {
    pub(super) store: Store,
    pub(super) timings: Arc<Timings>,
    pub(super) alerting: Arc<Alerting>,
    /// The clock skew credentials allow, in milliseconds.
    pub(super) skew_ms: i64,
    /// Fresh events get their transparency log leaves in their transaction
    /// (off only for the ingest benchmark's peer).
    pub(super) log: bool,
}

impl Writer {
    /// One batch, one transaction (PostgreSQL).
    pub(super) async fn one_transaction(
        &self,
        chain: &ChainId,
        batch: &Batch,
        claims: Option<&Claims>,
        now_ms: i64,
    ) -> Result<Checked, IngestError> {
        let waited = Instant::now();
        let mut tx = self.store.begin_write().await?;
        Timings::add(&self.timings.wait_ns, waited);
        let started = Instant::now();
        let result = match self
            .check_and_store(&mut tx, chain, batch, claims, now_ms)
            .await
        {
            Ok(c) if c.keeps() => tx.commit().await.map(|()| c).map_err(IngestError::from),
            Ok(c) => tx.rollback().await.map(|()| c).map_err(IngestError::from),
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        };
        match &result {
            Ok(c) if c.keeps() => {
                Timings::add(&self.timings.store_ns, started);
                self.timings.commits.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => {}
            // The alert rules may have judged events that were not stored.
            Err(_) => self.alerting.forget(),
        }
        result
    }

    /// SQLite's writer: takes every batch waiting and commits them together.
    pub(super) async fn group(self, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            while jobs.len() < GROUP_MAX {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            let results = self.commit_group(&jobs).await;
            if results.iter().any(Result::is_err) {
                // The alert rules may have judged events that were not stored.
                self.alerting.forget();
            }
            for (job, result) in jobs.into_iter().zip(results) {
                // A client that went away no longer needs its answer.
                let _ = job.done.send(result);
            }
        }
    }

    /// Runs `jobs` in one transaction, each in a savepoint; every result is an
    /// error if the commit fails.
    async fn commit_group(&self, jobs: &[Job]) -> Vec<Result<Checked, IngestError>> {
        let failed = |why: String| -> Vec<Result<Checked, IngestError>> {
            jobs.iter()
                .map(|_| Err(IngestError::Commit(why.clone())))
                .collect()
        };
        let waited = Instant::now();
        let mut tx = match self.store.begin_write().await {
            Ok(tx) => tx,
            Err(e) => return failed(e.to_string()),
        };
        Timings::add(&self.timings.wait_ns, waited);
        let started = Instant::now();
        let mut results = Vec::with_capacity(jobs.len());
        for job in jobs {
            if let Err(e) = tx.savepoint().await {
                let _ = tx.rollback().await;
                return failed(e.to_string());
            }
            let result = self
                .check_and_store(
                    &mut tx,
                    &job.chain,
                    &job.batch,
                    job.claims.as_ref(),
                    job.now_ms,
                )
                .await;
            let keep = matches!(&result, Ok(c) if c.keeps());
            if !keep {
                if let Err(e) = tx.rollback_to_savepoint().await {
                    let _ = tx.rollback().await;
                    return failed(e.to_string());
                }
            }
            if let Err(e) = tx.release_savepoint().await {
                let _ = tx.rollback().await;
                return failed(e.to_string());
            }
            results.push(result);
        }
        if let Err(e) = tx.commit().await {
            return failed(e.to_string());
        }
        Timings::add(&self.timings.store_ns, started);
        self.timings.commits.fetch_add(1, Ordering::Relaxed);
        results
    }

    /// Reads what the decision needs, decides, and stores an append with
    /// the findings it raises.
    async fn check_and_store(
        &self,
        tx: &mut WriteTx,
        chain: &ChainId,
        batch: &Batch,
        claims: Option<&Claims>,
        now_ms: i64,
    ) -> Result<Checked, IngestError> {
        let row = chains::lock(&self.store, tx, chain, now_ms).await?;
        let credential = match claims {
            Some(claims) => match self.attribute(tx, chain, batch, claims, now_ms).await? {
                Ok(new) => new,
                Err(refused) => return Ok(refused),
            },
            None => None,
        };
        let wanted = decide::reads(row.last_seq, &batch.uploaded)
            .map_err(|e| IngestError::decide(chain, e))?;
        let stored_events = match wanted.stored {
            Some((from, to)) => events::range(tx.conn(), chain, from, to).await?,
            None => Vec::new(),
        };
        let (from, to) = wanted.anchors;
        let anchors = anchors::range(tx.conn(), chain, from, to).await?;
        let stored = Stored {
            last_seq: row.last_seq,
            head: row.head,
            events: stored_events.into_iter().map(|e| (e.seq, e)).collect(),
        };

        let verify_started = Instant::now();
        let decision = decide::decide(chain, &stored, &anchors, &batch.uploaded)
            .map_err(|e| IngestError::decide(chain, e))?;
        Timings::add(&self.timings.verify_ns, verify_started);

        let (from, head) = match decision {
            Decision::Gap { expected_seq } => {
                return Ok(Checked::Stored(Reply::Refused(Refusal::Gap {
                    expected_seq,
                    message: format!(
                        "the next seq this collector expects is {expected_seq}: resend from there"
                    ),
                })))
            }
            Decision::Known { acked_seq, head } => {
                if let Some(seen) = &credential {
                    credentials::insert(tx, chain, seen, now_ms).await?;
                }
                return Ok(Checked::Stored(Reply::Acked {
                    ack: Acknowledged {
                        chain: chain.clone(),
                        acked_seq,
                        head,
                        log: None,
                    },
                    fresh: Vec::new(),
                    first_leaf: None,
                }));
            }
            Decision::Refuse(r) => {
                let (seq, message) = (r.seq, r.message.clone());
                let reply = if r.fork {
                    Refusal::Fork { seq, message }
                } else {
                    Refusal::Tamper { seq, message }
                };
                let finding = refusal_finding(chain, batch, *r);
                return Ok(Checked::Refused(Reply::Refused(reply), Box::new(finding)));
            }
            Decision::Append { from, head } => (from, head),
        };
        let hashes: Vec<String> = batch
            .uploaded
            .iter()
            .skip(from)
            .map(|u| u.ins.computed.to_hex())
            .collect();
        let fresh: Vec<events::NewEvent<'_>> = batch
            .uploaded
            .iter()
            .zip(&batch.columns)
            .skip(from)
            .zip(&hashes)
            .map(|((u, columns), hash)| events::NewEvent {
                seq: u.ins.seq,
                ts_ms: u.ins.ts.millis(),
                hash,
                line: &u.line,
                columns,
                peer_ip: batch.peer_ip.as_deref(),
            })
            .collect();
        // Judged before the insert, so a stale engine rebuilt inside `judge`
        // reads the committed events only; stored with them either way.
        let raised = self
            .alerting
            .judge(tx, batch.events.get(from..).unwrap_or_default(), now_ms)
            .await?;
        events::insert(tx, chain, &fresh, now_ms).await?;
        if let Some(seen) = &credential {
            credentials::insert(tx, chain, seen, now_ms).await?;
        }
        chains::advance(tx, chain, &head, batch.guarantees, now_ms).await?;
        findings::insert_all(tx, &raised, now_ms).await?;
        let appended: Vec<(u64, sealtrail::Digest)> = batch
            .uploaded
            .iter()
            .skip(from)
            .map(|u| (u.ins.seq, u.ins.computed))
            .collect();
        // Last: on PostgreSQL this locks the log's leaves until the commit.
        let first_leaf = if self.log && !appended.is_empty() {
            let leaves: Vec<Leaf> = appended
                .iter()
                .map(|(seq, hash)| Leaf {
                    chain: chain.clone(),
                    seq: *seq,
                    hash: *hash,
                })
                .collect();
            Some(tlog::append_in(&self.store, tx, &leaves).await?)
        } else {
            None
        };
        self.timings
            .events
            .fetch_add(u64::try_from(fresh.len()).unwrap_or(0), Ordering::Relaxed);
        Ok(Checked::Stored(Reply::Acked {
            ack: Acknowledged {
                chain: chain.clone(),
                acked_seq: head.seq,
                head: head.hash,
                log: None,
            },
            fresh: appended,
            first_leaf,
        }))
    }

    /// Judges whether `claims` may write `batch` ([`attribution::judge`]):
    /// a refusal with its finding, or the credential to record with the
    /// batch when the chain has not seen its window yet.
    async fn attribute(
        &self,
        tx: &mut WriteTx,
        chain: &ChainId,
        batch: &Batch,
        claims: &Claims,
        now_ms: i64,
    ) -> Result<Result<Option<Seen>, Checked>, IngestError> {
        let seen = credentials::seen(tx, chain).await?;
        let claimed: Vec<Claimed<'_>> = batch
            .uploaded
            .iter()
            .zip(&batch.columns)
            .zip(&batch.sessions)
            .map(|((u, c), session)| Claimed {
                seq: u.ins.seq,
                ts_ms: u.ins.ts.millis(),
                actor_id: &c.actor_id,
                session_id: session,
                role: &c.actor_role,
            })
            .collect();
        if let Err(fault) = attribution::judge(claims, &seen, &claimed, now_ms, self.skew_ms) {
            let finding = fault_finding(chain, claims, &fault);
            return Ok(Err(Checked::Refused(
                Reply::Refused(fault.refusal()),
                Box::new(finding),
            )));
        }
        let this = Seen::of(claims);
        Ok(Ok((!seen.contains(&this)).then_some(this)))
    }
}
