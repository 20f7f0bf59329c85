//! The collector's own audit chain: every read of the review APIs (who looked
//! at the evidence, and what they asked for) is appended with the core's
//! [`ChainWriter`] before the answer leaves, so the read log verifies with
//! `sealtrail verify` like any browser chain.

use serde_json::{json, Value};
use tokio::sync::Mutex;

use sealtrail::chain::{to_line, ChainWriter};
use sealtrail::entropy::OsEntropy;
use sealtrail::event::ChainId;
use sealtrail::event::{Action, Actor, Event, EventDraft, Outcome, SessionRef, Subject};

use crate::auth::Reviewer;
use crate::store::{self, Store};

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

/// The writer, behind a lock: one read is appended at a time.
pub struct ReadLog {
    writer: Mutex<ChainWriter>,
}

/// What one read was.
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
}

impl ReadLog {
    /// Resumes the stored log, or starts one with a fresh chain id.
    pub async fn open(store: &Store) -> Result<Self, ReadLogError> {
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
        })
    }

    /// The log's chain id.
    pub async fn chain(&self) -> ChainId {
        self.writer.lock().await.chain().clone()
    }

    /// Appends one read and stores it; the writer advances only once stored.
    pub async fn record(&self, store: &Store, entry: ReadEntry<'_>) -> Result<(), ReadLogError> {
        let r = entry.reviewer;
        let mut draft = EventDraft::new(
            Actor {
                id: r.user_id.clone(),
                role: r.role.clone(),
                name: r.name.clone(),
                auth_strength: Some("bearer-token".into()),
            },
            Action::AuditRead,
            entry.outcome,
        );
        draft.subject = entry.record_id.map(|id| Subject {
            record_id: id.to_owned(),
            record_type: None,
            relation: None,
            demographics: Default::default(),
        });
        draft.session = Some(SessionRef {
            id: "collector".into(),
            ip: entry.ip,
            client: None,
        });
        draft
            .detail
            .insert("endpoint".into(), json!(entry.endpoint));
        if !entry.query.is_empty() {
            draft.detail.insert("query".into(), json!(entry.query));
        }
        let now = crate::clock::now().map_err(|e| ReadLogError::Append(e.to_string()))?;
        let mut writer = self.writer.lock().await;
        let mut next = writer.clone();
        let event = next
            .append(draft, now)
            .map_err(|e| ReadLogError::Append(e.to_string()))?;
        let line = to_line(&event).map_err(|e| ReadLogError::Append(e.to_string()))?;
        store::readlog::append(store, event.seq, event.ts.millis(), &r.user_id, &line).await?;
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
