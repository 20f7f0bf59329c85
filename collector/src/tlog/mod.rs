//! The collector's transparency log: every event it acknowledges, across all
//! chains, appended as a leaf `(chain, seq, hash)` to an RFC 9162 Merkle tree
//! ([`sealtrail::tlog`]), whose signed heads (checkpoints) browsers,
//! witnesses and the CLI hold the collector to.
//!
//! A batch's leaves are stored in the transaction that stores its events
//! ([`store::append_in`], called by the ingest writer), so a crash keeps
//! both or neither, and leaf order is commit order. Once committed, the
//! batch hands its leaves to one sequencer task, which pushes them onto the
//! tree in index order (batches committed in parallel on PostgreSQL may
//! arrive out of order: they wait for the ones before them, and after
//! 100 ms the sequencer reads what is missing from the database),
//! signs a checkpoint of the new size, and answers each batch with an
//! inclusion proof in it. A batch whose commit reported an error yet went
//! through is never handed over: its client's retry hands its last leaf
//! over itself ([`Log::find`]), so the proof never waits on another
//! upload. Signing takes no write transaction; the newest checkpoint is
//! stored by a task of its own, at once after a quiet spell and then at
//! most once a second, and when the collector stops. At start the tree is
//! rebuilt from `tlog_leaves` and checked against the stored checkpoint: a
//! leaf changed or removed by hand stops the collector.

pub mod http;
pub mod witnesses;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use sealtrail::entropy::OsEntropy;
use sealtrail::tlog::ed25519::{self, SigningKey};
use sealtrail::tlog::proof_file::ProofFile;
use sealtrail::tlog::{Checkpoint, KeyType, Leaf, Tree, Trust};
use sealtrail::Digest;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::Instant;

use crate::store::tlog as store;
use crate::store::Store;

/// Most batches one sequencer step appends together.
const STEP_MAX: usize = 256;

/// How long committed leaves wait for the batches before theirs to be
/// handed over, before the sequencer reads those from the database (a
/// batch whose commit reported an error yet went through is never handed).
const GAP_WAIT: Duration = Duration::from_millis(100);

/// How long a batch waits for leaves before its own that the database does
/// not hold either, before it gets an error (fail closed rather than hang).
const GAP_GIVE_UP: Duration = Duration::from_secs(30);

/// The newest checkpoint is stored at most this often (and at once after a
/// quiet spell): what the next start checks the tree against.
const SAVE_EVERY: Duration = Duration::from_secs(1);

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
    /// Signing a checkpoint failed after the tree moved: nothing more is
    /// answered until a restart rebuilds the tree from the database.
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

/// A batch's committed leaves, from index `first` on.
struct Job {
    first: u64,
    leaves: Vec<Leaf>,
    done: oneshot::Sender<Result<Logged, LogError>>,
}

/// The batches handed over and not yet on the tree, by first leaf index
/// (a retry may hand over a leaf a batch still waiting holds too: each
/// gets its answer).
#[derive(Default)]
struct Waiting {
    jobs: BTreeMap<(u64, u64), Job>,
    handed: u64,
}

impl Waiting {
    fn add(&mut self, job: Job) {
        self.handed += 1;
        self.jobs.insert((job.first, self.handed), job);
    }

    /// The first leaf index any waiting batch holds.
    fn first(&self) -> Option<u64> {
        self.jobs.keys().next().map(|k| k.0)
    }

    fn len(&self) -> usize {
        self.jobs.len()
    }

    fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    fn take(&mut self) -> Vec<Job> {
        std::mem::take(&mut self.jobs).into_values().collect()
    }
}

struct State {
    tree: Tree,
    /// Leaves covered by `latest` (the tree holds committed leaves only).
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
    /// Wakes the task that stores the newest checkpoint.
    signed: Arc<Notify>,
    /// The size of the newest checkpoint stored; held while one is stored,
    /// so the stored checkpoint never goes back to an older one.
    saved: tokio::sync::Mutex<u64>,
    /// Off only for the ingest benchmark's peer.
    enabled: bool,
}

impl Log {
    /// Opens the log: the key (from `key_file`, else kept in the database,
    /// made on first start with `origin` as its name), the tree rebuilt and
    /// checked against the stored checkpoint, events an older collector
    /// left unsequenced appended, a checkpoint of it all signed and stored;
    /// then starts the sequencer and the task that stores checkpoints.
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
            signed: Arc::new(Notify::new()),
            saved: tokio::sync::Mutex::new(0),
            enabled,
        });
        if !enabled {
            return Ok(log);
        }
        let pending = store::unsequenced(store).await?;
        let (first, size, note) = {
            let mut s = log.write();
            let first = s.tree.size();
            for leaf in &pending {
                s.tree.push(leaf.hash());
            }
            let size = s.tree.size();
            (first, size, sign(&log.key, &s.tree, size)?)
        };
        store::append(store, first, &pending, size, &note).await?;
        *log.saved.lock().await = size;
        {
            let mut s = log.write();
            s.size = size;
            s.latest = note.clone();
            s.published = note;
        }
        tokio::spawn(sequencer(Arc::clone(&log), rx));
        tokio::spawn(save(Arc::downgrade(&log), Arc::clone(&log.signed)));
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

    /// Hands over a batch's leaves (its fresh events, in `seq` order),
    /// committed with the events from index `first` on
    /// ([`store::append_in`]); answers once the tree holds them under a
    /// signed checkpoint.
    pub async fn sequence(&self, first: u64, leaves: Vec<Leaf>) -> Result<Logged, LogError> {
        let (done, answer) = oneshot::channel();
        let stopped = || LogError::Stopped("the sequencer has stopped".into());
        self.jobs
            .send(Job {
                first,
                leaves,
                done,
            })
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

    /// Where an already logged event is, with a proof in the latest
    /// checkpoint; a committed leaf the tree does not hold yet is handed
    /// to the sequencer here, and answered once it is on the tree.
    pub async fn find(
        &self,
        chain: &sealtrail::event::ChainId,
        seq: u64,
    ) -> Result<Option<Logged>, LogError> {
        let Some(index) = store::index_of(&self.store, chain, seq).await? else {
            return Ok(None);
        };
        {
            let s = self.read();
            if index < s.size {
                return Ok(Some(Logged {
                    first: None,
                    index,
                    proof: proof_file(&s.tree, index, s.size, &s.latest)?,
                }));
            }
        }
        // Committed but never handed over (its commit reported an error
        // yet went through): the retry hands its leaf over itself, so its
        // proof never waits on some other batch arriving.
        let leaves = store::range(&self.store, index, index + 1).await?;
        if leaves.is_empty() {
            return Ok(None);
        }
        let logged = self.sequence(index, leaves).await?;
        Ok(Some(Logged {
            first: None,
            ..logged
        }))
    }

    /// Stores the newest signed checkpoint unless it is stored already
    /// (the task that stores checkpoints, and a collector stopping).
    pub async fn save_latest(&self) -> Result<(), LogError> {
        let mut saved = self.saved.lock().await;
        let (size, note) = self.latest();
        if self.enabled && size > *saved {
            store::save(&self.store, size, &note).await?;
            *saved = size;
        }
        Ok(())
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

    /// One sequencer step: the waiting batches that follow the tree's end
    /// pushed onto it (those it holds already, read from the database,
    /// checked against it), a checkpoint signed, each answered. Whether
    /// any batch was taken.
    fn step(&self, waiting: &mut Waiting) -> bool {
        let mut s = self.write();
        if let Some(why) = &s.stopped {
            for job in waiting.take() {
                let _ = job.done.send(Err(LogError::Stopped(why.clone())));
            }
            return true;
        }
        let before = waiting.len();
        let mut ready = Vec::new();
        while let Some(entry) = waiting.jobs.first_entry() {
            if entry.key().0 > s.tree.size() {
                break;
            }
            let job = entry.remove();
            match push(&mut s.tree, &job) {
                Ok(()) => ready.push(job),
                Err(e) => {
                    let _ = job.done.send(Err(e));
                }
            }
        }
        let size = s.tree.size();
        if size != s.size || s.latest.is_empty() {
            match sign(&self.key, &s.tree, size) {
                Ok(note) => {
                    s.size = size;
                    s.latest = note.clone();
                    if !self.witnessed || s.published.is_empty() {
                        s.published = note;
                    }
                    self.signed.notify_one();
                }
                Err(e) => {
                    drop(s);
                    self.stop(ready, e.to_string());
                    return true;
                }
            }
        }
        for job in ready {
            let answer = match (job.leaves.len() as u64).checked_sub(1) {
                Some(n) => {
                    let last = job.first + n;
                    proof_file(&s.tree, last, s.size, &s.latest).map(|proof| Logged {
                        first: Some(job.first),
                        index: last,
                        proof,
                    })
                }
                None => Err(LogError::Corrupt(
                    "a batch with no fresh events reached the sequencer".into(),
                )),
            };
            let _ = job.done.send(answer);
        }
        waiting.len() < before
    }

    /// Reads the leaves between the tree's end and the first waiting batch
    /// from the database (batches committed but not handed over), as a
    /// batch nobody waits for; fails the waiting batches after
    /// [`GAP_GIVE_UP`] without them.
    async fn fill(&self, waiting: &mut Waiting, since: Instant) {
        let Some(until) = waiting.first() else {
            return;
        };
        let from = self.read().tree.size();
        match store::range(&self.store, from, until).await {
            Ok(leaves) if !leaves.is_empty() => {
                waiting.add(Job {
                    first: from,
                    leaves,
                    done: oneshot::channel().0,
                });
                return;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reading committed log leaves"),
        }
        if since.elapsed() >= GAP_GIVE_UP {
            for job in waiting.take() {
                let _ = job.done.send(Err(LogError::Corrupt(format!(
                    "leaf {from} never reached the log though leaf {} was committed",
                    job.first
                ))));
            }
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
    let mut waiting = Waiting::default();
    // Since when the first waiting batch has waited for the ones before
    // it, and when to look for those in the database next.
    let mut stalled: Option<(Instant, Instant)> = None;
    loop {
        let received = match stalled {
            None => rx.recv().await,
            Some((since, next)) => match tokio::time::timeout_at(next, rx.recv()).await {
                Ok(received) => received,
                Err(_) => {
                    log.fill(&mut waiting, since).await;
                    let moved = log.step(&mut waiting);
                    let now = Instant::now();
                    let since = if moved { now } else { since };
                    stalled = (!waiting.is_empty()).then_some((since, now + GAP_WAIT));
                    continue;
                }
            },
        };
        let Some(job) = received else {
            return;
        };
        waiting.add(job);
        while waiting.len() < STEP_MAX {
            match rx.try_recv() {
                Ok(j) => {
                    waiting.add(j);
                }
                Err(_) => break,
            }
        }
        let moved = log.step(&mut waiting);
        stalled = match stalled {
            _ if waiting.is_empty() => None,
            Some(s) if !moved => Some(s),
            _ => {
                let now = Instant::now();
                Some((now, now + GAP_WAIT))
            }
        };
    }
}

/// Stores the newest checkpoint when one is signed: at once after a quiet
/// spell, then at most every [`SAVE_EVERY`] (one write transaction, never
/// one per batch). Ends with the log or its database.
async fn save(log: Weak<Log>, signed: Arc<Notify>) {
    loop {
        signed.notified().await;
        let Some(log) = log.upgrade() else {
            return;
        };
        if log.store.pool().is_closed() {
            return;
        }
        if let Err(e) = log.save_latest().await {
            tracing::warn!(error = %e, "storing the log's checkpoint; retrying");
            signed.notify_one();
        }
        drop(log);
        tokio::time::sleep(SAVE_EVERY).await;
    }
}

/// Pushes a batch's leaves onto the tree; those it holds already (read
/// from the database meanwhile) must be the same.
fn push(tree: &mut Tree, job: &Job) -> Result<(), LogError> {
    for (index, leaf) in (job.first..).zip(&job.leaves) {
        let hash = leaf.hash();
        if index == tree.size() {
            tree.push(hash);
        } else if tree.leaf(index).ok() != Some(hash) {
            return Err(LogError::Corrupt(format!(
                "leaf {index} of a committed batch differs from the one the database holds"
            )));
        }
    }
    Ok(())
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
