//! The collector's own audit chain: every read of the review APIs (who looked
//! at the evidence, and what they asked for) is appended with the core's
//! [`ChainWriter`] before the answer leaves, so the read log verifies with
//! `sealtrail verify` like any browser chain. Review actions on cases
//! (assign, acknowledge, comment, resolve) are appended to the same chain, in
//! the transaction that stores them ([`ReadLog::begin`]).

use serde_json::{json, Map, Value};
use tokio::sync::{Mutex, MutexGuard};

use sealtrail::chain::{to_line, ChainWriter};
use sealtrail::entropy::OsEntropy;
use sealtrail::event::ChainId;
use sealtrail::event::{Action, Actor, Event, EventDraft, Outcome, SessionRef, Subject};

use crate::auth::Reviewer;
use crate::clock::Clock;
use crate::store::{self, Store, WriteTx};

/// Why a read could not be logged (and so is not answered).
#[derive(Debug, thiserror::Error)]
pub enum ReadLogError {
    /// The store failed.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// The stored log is unreadable.
    #[error("the stored read log is corrupt: {0}")]
    Corrupt(String),
    /// The core refused the event.
    #[error("cannot append to the read log: {0}")]
    Append(String),
}

/// The writer, behind a lock: one entry is appended at a time.
pub struct ReadLog {
    writer: Mutex<ChainWriter>,
    clock: Clock,
}

/// What one read (or one review action) was.
pub struct ReadEntry<'a> {
    /// Who.
    pub reviewer: &'a Reviewer,
    /// The path asked for.
    pub endpoint: &'a str,
    /// Its query string.
    pub query: &'a str,
    /// The record concerned, if any.
    pub record_id: Option<&'a str>,
    /// Whether it was answered (`success`) or refused (`denied`).
    pub outcome: Outcome,
    /// The client address.
    pub ip: Option<String>,
    /// `audit-read` for a read; a review action names itself (`case-resolve`).
    pub action: Action,
    /// What the action did (the case, the outcome chosen, the note's digest).
    pub detail: Map<String, Value>,
}

/// One turn at the log: the writer's lock and a write transaction, so what
/// the caller stores in [`Turn::tx`] commits with the log entries appended
/// meanwhile, or neither does. Dropped without [`Turn::commit`], it rolls
/// back and the log is as it was.
pub struct Turn<'a> {
    writer: MutexGuard<'a, ChainWriter>,
    next: ChainWriter,
    tx: WriteTx,
    clock: &'a Clock,
}

impl ReadLog {
    /// Resumes the stored log, or starts one with a fresh chain id.
    pub async fn open(store: &Store, clock: Clock) -> Result<Self, ReadLogError> {
        let writer = match store::readlog::last(store).await? {
            Some(line) => {
                let event: Event = serde_json::from_str(&line)
                    .map_err(|e| ReadLogError::Corrupt(e.to_string()))?;
                ChainWriter::resume(&event)
            }
            None => {
                let chain = match store::readlog::chain(store).await? {
                    Some(v) => {
                        ChainId::parse(&v).map_err(|e| ReadLogError::Corrupt(e.to_string()))?
                    }
                    None => {
                        let c = ChainId::random(&mut OsEntropy)
                            .map_err(|e| ReadLogError::Append(e.to_string()))?;
                        store::readlog::set_chain(store, c.as_str()).await?;
                        c
                    }
                };
                ChainWriter::new(chain)
            }
        };
        Ok(Self {
            writer: Mutex::new(writer),
            clock,
        })
    }

    /// The log's chain id.
    pub async fn chain(&self) -> ChainId {
        self.writer.lock().await.chain().clone()
    }

    /// Appends one entry and stores it; the writer advances only once stored.
    pub async fn record(&self, store: &Store, entry: ReadEntry<'_>) -> Result<(), ReadLogError> {
        let mut turn = self.begin(store).await?;
        turn.append(entry).await?;
        turn.commit().await
    }

    /// Takes the writer (the lock first, then the store's write turn: every
    /// caller takes them in this order) for entries stored with other rows.
    pub async fn begin(&self, store: &Store) -> Result<Turn<'_>, ReadLogError> {
        let writer = self.writer.lock().await;
        let next = writer.clone();
        let tx = store.begin_write().await?;
        Ok(Turn {
            writer,
            next,
            tx,
            clock: &self.clock,
        })
    }
}

impl Turn<'_> {
    /// The transaction, for the rows stored with the entries.
    pub fn tx(&mut self) -> &mut WriteTx {
        &mut self.tx
    }

    /// Appends one entry inside the transaction; returns the event written.
    pub async fn append(&mut self, entry: ReadEntry<'_>) -> Result<Event, ReadLogError> {
        let r = entry.reviewer;
        let mut draft = EventDraft::new(
            Actor {
                id: r.user_id.clone(),
                role: r.role.clone(),
                name: r.name.clone(),
                auth_strength: Some("bearer-token".into()),
                team: None,
            },
            entry.action,
            entry.outcome,
        );
        draft.subject = entry.record_id.map(|id| Subject {
            record_id: id.to_owned(),
            record_type: None,
            relation: None,
            demographics: Default::default(),
            related: false,
        });
        draft.session = Some(SessionRef {
            id: "collector".into(),
            ip: entry.ip,
            client: None,
        });
        draft.detail = entry.detail;
        draft
            .detail
            .insert("endpoint".into(), json!(entry.endpoint));
        if !entry.query.is_empty() {
            draft.detail.insert("query".into(), json!(entry.query));
        }
        let now = self
            .clock
            .now()
            .map_err(|e| ReadLogError::Append(e.to_string()))?;
        let event = self
            .next
            .append(draft, now)
            .map_err(|e| ReadLogError::Append(e.to_string()))?;
        let line = to_line(&event).map_err(|e| ReadLogError::Append(e.to_string()))?;
        store::readlog::append(
            &mut self.tx,
            event.seq,
            event.ts.millis(),
            &r.user_id,
            &line,
        )
        .await?;
        Ok(event)
    }

    /// Commits, then advances the writer past the entries appended.
    pub async fn commit(self) -> Result<(), ReadLogError> {
        let Turn {
            mut writer,
            next,
            tx,
            ..
        } = self;
        tx.commit().await?;
        *writer = next;
        Ok(())
    }
}

/// The stored read log lines, in order, from `offset`, at most `limit`.
pub async fn lines(store: &Store, offset: i64, limit: i64) -> Result<Vec<Value>, sqlx::Error> {
    Ok(store::readlog::lines(store, offset, limit)
        .await?
        .into_iter()
        .map(|line| serde_json::from_str(&line).unwrap_or(Value::String(line)))
        .collect())
}
