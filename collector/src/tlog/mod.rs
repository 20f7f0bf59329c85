//! The collector's transparency log: every event it acknowledges, across all
//! chains, appended as a leaf `(chain, seq, hash)` to an RFC 9162 Merkle tree
//! ([`sealtrail::tlog`]), whose signed heads (checkpoints) browsers,
//! witnesses and the CLI hold the collector to.
//!
//! One sequencer task appends: it takes the fresh events of every batch
//! acknowledged meanwhile, pushes them onto the tree, signs a checkpoint of
//! the new size, stores leaves and checkpoint in one transaction, and only
//! then answers each batch with its leaf indexes and an inclusion proof. A
//! crash between an event's commit and its leaf's leaves the event
//! unsequenced: [`Log::open`] appends such events before serving. At start
//! the tree is rebuilt from `tlog_leaves` and checked against the last
//! checkpoint the log signed: a leaf changed or removed by hand stops the
//! collector.

pub mod http;
pub mod witnesses;

use std::sync::{Arc, RwLock};

use sealtrail::entropy::OsEntropy;
use sealtrail::tlog::ed25519::{self, SigningKey};
use sealtrail::tlog::proof_file::ProofFile;
use sealtrail::tlog::{Checkpoint, KeyType, Leaf, Tree, Trust};
use sealtrail::Digest;
use tokio::sync::{mpsc, oneshot};

use crate::store::tlog as store;
use crate::store::Store;

/// Most batches one sequencer step appends together.
const STEP_MAX: usize = 256;

/// Why the log cannot open or append.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The database failed.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// The log key file or the stored key.
    #[error("log key: {0}")]
    Key(String),
    /// What is stored contradicts itself or what the log signed.
    #[error("the transparency log is not intact: {0}")]
    Corrupt(String),
    /// An earlier append failed after the tree moved: nothing more is
    /// appended until a restart rebuilds the tree from the database.
    #[error("the transparency log stopped after a failed write: {0}; restart the collector")]
    Stopped(String),
}

/// What a batch's events got in the log.
#[derive(Debug, Clone)]
pub struct Logged {
    /// The leaf index of the batch's first fresh event, if any was fresh.
    pub first: Option<u64>,
    /// The leaf index of its last event.
    pub index: u64,
    /// A C2SP `tlog-proof` of that event in a signed checkpoint.
    pub proof: String,
}

struct Job {
    leaves: Vec<Leaf>,
    done: oneshot::Sender<Result<Logged, LogError>>,
}

struct State {
    tree: Tree,
    /// Leaves committed and covered by `latest` (tiles stop here).
    size: u64,
    /// The newest signed checkpoint.
    latest: String,
    /// What `GET checkpoint` serves: `latest`, or with witnesses configured,
    /// the newest checkpoint that went through them, with their cosignatures.
    published: String,
    stopped: Option<String>,
}

/// The log: its key, its tree, and the sequencer's queue.
pub struct Log {
    key: SigningKey,
    state: RwLock<State>,
    jobs: mpsc::Sender<Job>,
    store: Store,
    /// Witnesses are configured: they decide what is published.
    witnessed: bool,
    /// Off only for the ingest benchmark's peer.
    enabled: bool,
}

impl Log {
    /// Opens the log: the key (from `key_file`, else kept in the database,
    /// made on first start with `origin` as its name), the tree rebuilt and
    /// checked against the last signed checkpoint, unsequenced events
    /// appended; then starts the sequencer.
    pub async fn open(
        store: &Store,
        key_file: Option<&std::path::Path>,
        origin: &str,
        witnessed: bool,
        enabled: bool,
    ) -> Result<Arc<Self>, LogError> {
        let key = match key_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| LogError::Key(format!("cannot read `{}`: {e}", path.display())))?;
                SigningKey::parse(&text)
                    .map_err(|e| LogError::Key(format!("`{}`: {e}", path.display())))?
            }
            None => {
                let fresh = new_key(origin)?;
                let kept = store::key_or(store, &fresh.to_private()).await?;
                SigningKey::parse(&kept).map_err(|e| LogError::Key(format!("stored key: {e}")))?
            }
        };
        if key.verifier().kind() != KeyType::Ed25519 {
            return Err(LogError::Key(
                "a log key has type 0x01 (Ed25519), found a witness key".into(),
            ));
        }
        let mut tree = Tree::new();
        let stored = if enabled {
            store::leaves(store).await?
        } else {
            Vec::new()
        };
        for (idx, leaf) in stored {
            if u64::try_from(idx).ok() != Some(tree.size()) {
                return Err(LogError::Corrupt(format!(
                    "leaf index {idx} where {} was expected: leaves were removed",
                    tree.size()
                )));
            }
            tree.push(leaf.hash());
        }
        if let Some(signed) = store::checkpoint(store).await? {
            check_stored(&key, &tree, &signed)?;
        }
        let (jobs, rx) = mpsc::channel(1024);
        let log = Arc::new(Self {
            key,
            state: RwLock::new(State {
                tree,
                size: 0,
                latest: String::new(),
                published: String::new(),
                stopped: None,
            }),
            jobs,
            store: store.clone(),
            witnessed,
            enabled,
        });
        if !enabled {
            return Ok(log);
        }
        let pending = store::unsequenced(store).await?;
        log.step(vec![Job {
            leaves: pending,
            done: oneshot::channel().0,
        }])
        .await;
        if let Some(why) = log.read().stopped.clone() {
            return Err(LogError::Stopped(why));
        }
        tokio::spawn(sequencer(Arc::clone(&log), rx));
        Ok(log)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether acknowledged events are logged (always, but in the benchmark's peer).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The log's public key (`<origin>+<id>+<base64>`).
    pub fn public_key(&self) -> String {
        self.key.verifier().to_string()
    }

    /// The trust policy of this log alone (no witnesses).
    pub fn trust(&self) -> Trust {
        Trust {
            log: self.key.verifier().clone(),
            witnesses: Vec::new(),
            quorum: 0,
        }
    }

    /// Appends a batch's fresh events (in `seq` order); answers once they are
    /// stored under a signed checkpoint.
    pub async fn append(&self, leaves: Vec<Leaf>) -> Result<Logged, LogError> {
        let (done, answer) = oneshot::channel();
        let stopped = || LogError::Stopped("the sequencer has stopped".into());
        self.jobs
            .send(Job { leaves, done })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// The leaf index of a logged event.
    pub async fn index_of(
        &self,
        chain: &sealtrail::event::ChainId,
        seq: u64,
    ) -> Result<Option<u64>, LogError> {
        Ok(store::index_of(&self.store, chain, seq).await?)
    }

    /// Where an already logged event is, with a proof in the latest checkpoint.
    pub async fn find(
        &self,
        chain: &sealtrail::event::ChainId,
        seq: u64,
    ) -> Result<Option<Logged>, LogError> {
        let Some(index) = store::index_of(&self.store, chain, seq).await? else {
            return Ok(None);
        };
        let s = self.read();
        if index >= s.size {
            return Ok(None);
        }
        Ok(Some(Logged {
            first: None,
            index,
            proof: proof_file(&s.tree, index, s.size, &s.latest)?,
        }))
    }

    /// The newest signed checkpoint and its size.
    pub fn latest(&self) -> (u64, String) {
        let s = self.read();
        (s.size, s.latest.clone())
    }

    /// What `GET checkpoint` serves.
    pub fn published(&self) -> String {
        self.read().published.clone()
    }

    /// Publishes a checkpoint the witnesses cosigned.
    pub fn publish(&self, cosigned: String) {
        self.write().published = cosigned;
    }

    /// The consistency proof between two committed sizes.
    pub fn consistency(&self, old: u64, new: u64) -> Result<Vec<Digest>, LogError> {
        self.committed(new, |tree| tree.consistency(old, new))
    }

    /// Asks the tree about a committed size (never about leaves not yet stored).
    fn committed<T>(
        &self,
        size: u64,
        ask: impl FnOnce(&Tree) -> Result<T, sealtrail::tlog::TreeError>,
    ) -> Result<T, LogError> {
        let s = self.read();
        if size > s.size {
            return Err(LogError::Corrupt(format!(
                "size {size} is beyond the log's {}",
                s.size
            )));
        }
        ask(&s.tree).map_err(|e| LogError::Corrupt(e.to_string()))
    }

    /// A tile's bytes (`width` hashes at tile level `level`), if committed.
    pub fn tile(&self, level: u8, index: u64, width: u16) -> Option<Vec<u8>> {
        self.read().tree.tile(level, index, width)
    }

    /// The inclusion proof of leaf `index` in the committed tree of `size`.
    pub fn inclusion(&self, index: u64, size: u64) -> Result<Vec<Digest>, LogError> {
        self.committed(size, |tree| tree.inclusion(index, size))
    }

    /// One sequencer step: push, sign, store, answer.
    async fn step(&self, jobs: Vec<Job>) {
        let prepared = {
            let mut s = self.write();
            if let Some(why) = &s.stopped {
                let why = why.clone();
                drop(s);
                for j in jobs {
                    let _ = j.done.send(Err(LogError::Stopped(why.clone())));
                }
                return;
            }
            let first = s.tree.size();
            let mut ranges = Vec::with_capacity(jobs.len());
            for j in &jobs {
                let start = s.tree.size();
                for leaf in &j.leaves {
                    s.tree.push(leaf.hash());
                }
                ranges.push(start..s.tree.size());
            }
            let size = s.tree.size();
            let signed = if size == s.size && !s.latest.is_empty() {
                Ok(s.latest.clone())
            } else {
                sign(&self.key, &s.tree, size)
            };
            signed.map(|note| (first, size, note, ranges))
        };
        let (first, size, note, ranges) = match prepared {
            Ok(p) => p,
            Err(e) => return self.stop(jobs, e.to_string()),
        };
        let leaves: Vec<Leaf> = jobs.iter().flat_map(|j| j.leaves.iter().cloned()).collect();
        if !leaves.is_empty() || self.read().latest.is_empty() {
            if let Err(e) = store::append(&self.store, first, &leaves, size, &note).await {
                return self.stop(jobs, e.to_string());
            }
        }
        let mut s = self.write();
        s.size = size;
        s.latest = note.clone();
        if !self.witnessed || s.published.is_empty() {
            s.published = note.clone();
        }
        for (job, range) in jobs.into_iter().zip(ranges) {
            let answer = match range.end.checked_sub(1) {
                Some(last) if !range.is_empty() => {
                    proof_file(&s.tree, last, size, &note).map(|proof| Logged {
                        first: Some(range.start),
                        index: last,
                        proof,
                    })
                }
                _ => Err(LogError::Corrupt(
                    "a batch with no fresh events reached the sequencer".into(),
                )),
            };
            let _ = job.done.send(answer);
        }
    }

    fn stop(&self, jobs: Vec<Job>, why: String) {
        tracing::error!(error = %why, "the transparency log stopped");
        self.write().stopped = Some(why.clone());
        for j in jobs {
            let _ = j.done.send(Err(LogError::Stopped(why.clone())));
        }
    }
}

async fn sequencer(log: Arc<Log>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < STEP_MAX {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        log.step(jobs).await;
    }
}

fn new_key(origin: &str) -> Result<SigningKey, LogError> {
    SigningKey::generate(origin, KeyType::Ed25519, &mut OsEntropy)
        .map_err(|e| LogError::Key(e.to_string()))?
        .map_err(|e| LogError::Key(format!("`--log-origin`: {e}")))
}

/// Signs the checkpoint of the tree's first `size` leaves.
fn sign(key: &SigningKey, tree: &Tree, size: u64) -> Result<String, LogError> {
    let root = tree
        .root(size)
        .map_err(|e| LogError::Corrupt(e.to_string()))?;
    let cp = Checkpoint {
        origin: key.verifier().name().to_owned(),
        size,
        root,
        extensions: Vec::new(),
    };
    key.sign(&cp)
        .map(|n| n.to_string())
        .map_err(|e| LogError::Corrupt(e.to_string()))
}

/// A `tlog-proof` of leaf `index` in the signed checkpoint `note` of `size`.
fn proof_file(tree: &Tree, index: u64, size: u64, note: &str) -> Result<String, LogError> {
    let proof = tree
        .inclusion(index, size)
        .map_err(|e| LogError::Corrupt(e.to_string()))?;
    Ok(ProofFile {
        extra: None,
        index,
        proof,
        checkpoint: note.to_owned(),
    }
    .to_string())
}

/// The stored checkpoint must be this log's, and the rebuilt tree must
/// reach its root at its size: else leaves were changed or removed.
fn check_stored(key: &SigningKey, tree: &Tree, signed: &str) -> Result<(), LogError> {
    let trust = Trust {
        log: key.verifier().clone(),
        witnesses: Vec::new(),
        quorum: 0,
    };
    let v = trust
        .verify(signed, ed25519::verify)
        .map_err(|e| LogError::Corrupt(format!("the stored checkpoint: {e}")))?;
    let cp = v.checkpoint;
    let root = tree.root(cp.size).map_err(|_| {
        LogError::Corrupt(format!(
            "the log signed a checkpoint of {} leaves but the database holds {}",
            cp.size,
            tree.size()
        ))
    })?;
    if root != cp.root {
        return Err(LogError::Corrupt(format!(
            "the stored leaves do not reach the root the log signed at size {}: leaves were changed",
            cp.size
        )));
    }
    Ok(())
}
